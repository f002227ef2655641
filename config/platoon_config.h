// platoon's own configuration file (kind: PlatoonConfig): cluster source, scoring, extender endpoint.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "policies/score_policy.h"

namespace platoon::config {

inline constexpr std::string_view kPlatoonApiVersion = "platoon.dev/v1alpha1";

struct ExtenderSettings {
  std::string url_prefix = "/platoon";  // kube-scheduler's extender urlPrefix path
  std::string filter_verb = "filter";
  std::string prioritize_verb = "prioritize";
  std::string bind_verb = "bind";
  std::string preempt_verb = "preempt";
  std::size_t max_request_bytes = 64u << 20;  // 10,000 full Node objects fit
  int threads = 32;                           // concurrent connections (binds of a gang arrive together)
  int keep_alive_max_count = 100000;
  int keep_alive_timeout_seconds = 300;
  friend bool operator==(const ExtenderSettings&, const ExtenderSettings&) = default;
};

struct ScoringSettings {
  std::string policy = "LeastAllocated";
  std::vector<policies::ResourceWeight> resources = policies::DefaultResourceWeights();
};

struct PlatoonConfig {
  std::string path;          // the file it came from ("" for defaults)
  std::string cluster_file;  // standalone node cache, resolved against the config's folder
  ScoringSettings scoring;
  ExtenderSettings extender;
};

// Loads and validates a PlatoonConfig. Unknown fields are errors (typos must not pass silently).
// Errors: "FILE:LINE: field: what is wrong and what to write instead".
std::expected<PlatoonConfig, std::string> LoadPlatoonConfig(const std::string& path);
std::expected<PlatoonConfig, std::string> ParsePlatoonConfig(std::string_view text, std::string_view file,
                                                              std::string_view base_dir);

}  // namespace platoon::config
