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
  std::size_t max_request_bytes = 64u << 20;  // one body, whatever its encoding: 10,000 full Node objects fit
  // Request bodies held in memory at once across all connections; a body that would pass it waits
  // (its connection is not read) until others are answered. At least max_request_bytes.
  std::size_t max_inflight_request_bytes = 256u << 20;
  std::size_t max_header_bytes = 16u << 10;  // request line plus every header
  int max_headers = 100;
  // Threads that run the event loop and decide requests. Waiting binds, idle and slow connections
  // hold none, so this is sized for CPU, not for gangs.
  int workers = 2;
  // At the cap the oldest idle connection is closed for a new one. kube-scheduler binds each member
  // of a gang on its own connection, all at once, so the cap must exceed the largest gang.
  int max_connections = 10000;
  int keep_alive_max_count = 100000;
  // Idle keep-alive: 5 s beyond the 90 s IdleConnTimeout that kube-scheduler's extender client
  // inherits from Go's http.DefaultTransport, so the client closes first and never sends into a
  // connection the server is closing.
  int keep_alive_timeout_seconds = 95;
  int read_timeout_seconds = 10;   // one request's header and body, from its first byte
  int write_timeout_seconds = 10;  // one answer
  int tls_handshake_timeout_seconds = 10;
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
