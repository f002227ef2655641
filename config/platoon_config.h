// platoon's own configuration file (kind: PlatoonConfig): cluster source, scoring, extender endpoint.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "config/fabric_levels.h"
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

// Gang behaviour (DESIGN.md section 5).
struct GangSettings {
  // How long binds of a gang wait at the co-bind barrier for the rest of the members; below the
  // extender's httpTimeout so platoon fails the binds itself.
  std::int64_t bind_barrier_timeout_ms = 20'000;
  // For PodGroups without spec.scheduleTimeoutSeconds.
  std::int64_t default_schedule_timeout_ms = 300'000;
};

struct PlatoonConfig {
  std::string path;            // the file it came from ("" for defaults)
  std::string scheduler_name = "platoon";  // the kube-scheduler profile platoon serves
  std::string cluster_file;    // standalone node cache, resolved against the config's folder
  std::vector<std::string> kueue_files;  // Kueue manifests with the quota, resolved likewise
  GangSettings gang;
  TopologySettings topology;  // fabric levels (config/fabric_levels.h)
  ScoringSettings scoring;
  ExtenderSettings extender;
};

// Loads and validates a PlatoonConfig. Unknown fields are errors (typos must not pass silently).
// Errors: "FILE:LINE: field: what is wrong and what to write instead".
// Go-style durations: "20s", "1m30s", "250ms", "2h" (units h, m, s, ms). Result in milliseconds.
std::expected<std::int64_t, std::string> ParseDurationMs(std::string_view text);

std::expected<PlatoonConfig, std::string> LoadPlatoonConfig(const std::string& path);
std::expected<PlatoonConfig, std::string> ParsePlatoonConfig(std::string_view text, std::string_view file,
                                                              std::string_view base_dir);

}  // namespace platoon::config
