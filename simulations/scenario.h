// Scenario files (simulations/scenarios/*.yaml): what to simulate, read into plain values with file:line errors.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <utility>
#include <vector>

#include "simulations/csv.h"
#include "simulations/trace.h"

namespace platoon::sim {

// Schema (every path relative to the scenario file; unknown keys are errors):
//
//   name: openb-default-fgd            # required
//   description: text
//   cluster:                           # exactly one of:
//     trace_nodes: {format: openb, path: .../openb_node_list_gpu_node.csv}
//     philly_vcs: {path: .../philly_vc.csv, gpus_per_node: 8}   # one 8-GPU node per VC node
//     topology: path                   # a platoon topology file
//     kubectl_nodes: path              # `kubectl get nodes -o json`
//   quota:                             # optional
//     kueue: path                      # Kueue manifests (ResourceFlavor, ClusterQueue, Cohort, ...)
//     philly_vcs: path                 # one ClusterQueue per VC, nominal quota = VC GPUs
//     unknown_queue_nominal_gpus: 0    # for trace queues without a size (may only borrow)
//   workload:                          # exactly one of:
//     trace: {format: openb|philly, path: file or directory, skip_bad_rows: false}
//     jobs: path                       # a YAML job list (LoadJobList)
//     kubectl_pods: path               # `kubectl get pods -o json`
//   policies:                          # required, at least one; a name or a map
//     - fgd
//     - {name: cohort-borrowing, options: {borrowing: "true", reclaim: "true"}}
//   seeds: [42, 43]  or  {from: 42, to: 51}      # default [42]
//   protocol:
//     kind: fgd | replay               # fgd: FGD workload protocol; replay: trace times
//     tune_ratio: 1.3                  # fgd only
//     sample_interval_s: 3600          # replay: utilisation sampling
//   references:                        # published figures to put beside platoon's
//     fgd_unallocated: .../SUMMARY_unallocated_gpu_pct_at_arrived100.csv
//     fgd_alloc: .../SUMMARY_alloc_ratio_by_arrived.csv
//     fgd_frag: .../SUMMARY_frag_amount_pct_of_total_by_arrived.csv
//     fgd_workload: openb_pod_list_default   # default: the pod list's file name
//     helios_queue_delay: ...csv
//     helios_jct: ...csv

enum class ClusterSource { TraceNodes, PhillyVcs, Topology, KubectlNodes };
enum class WorkloadSource { Trace, JobList, KubectlPods };
enum class ProtocolKind { Fgd, Replay };

struct ScenarioPolicy {
  std::string name;
  std::vector<std::pair<std::string, std::string>> options;  // in file order
  friend bool operator==(const ScenarioPolicy&, const ScenarioPolicy&) = default;
};

struct Scenario {
  std::string file;  // the scenario file
  std::string name;
  std::string description;

  ClusterSource cluster = ClusterSource::TraceNodes;
  std::string cluster_path;          // resolved
  std::string cluster_format;        // trace_nodes: "openb"
  std::int32_t gpus_per_node = 8;    // philly_vcs

  std::string quota_kueue;           // resolved, "" if none
  std::string quota_philly_vcs;      // resolved, "" if none
  std::int64_t unknown_queue_nominal_gpus = 0;

  WorkloadSource workload = WorkloadSource::Trace;
  std::string workload_path;         // resolved
  std::string workload_format;       // trace: "openb" | "philly"
  bool skip_bad_rows = false;

  std::vector<ScenarioPolicy> policies;
  std::vector<std::uint64_t> seeds;
  ProtocolKind protocol = ProtocolKind::Replay;
  double tune_ratio = 1.3;
  std::int64_t sample_interval_s = 3600;

  std::string ref_fgd_unallocated;
  std::string ref_fgd_alloc;
  std::string ref_fgd_frag;
  std::string ref_fgd_workload;
  std::string ref_helios_queue_delay;
  std::string ref_helios_jct;
};

// Reads and validates a scenario; with check_paths, every named file must exist.
std::expected<Scenario, LoadError> LoadScenario(const std::string& path, bool check_paths = true);
// `file` names the text in errors; relative paths resolve against `base_dir`.
std::expected<Scenario, LoadError> ParseScenario(const std::string& text, const std::string& file,
                                                 const std::string& base_dir, bool check_paths);

// A YAML job list:
//   jobs:
//     - name: train-a            # required, unique
//       queue: team-a
//       arrival_s: 0             # default 0
//       duration_s: 3600         # default: never departs
//       pods: 4                  # default 1
//       gpus: 8                  # per pod, default 0
//       gpu_milli: 1000          # share of each GPU, default 1000
//       cpu: "32"                # Kubernetes quantities, per pod
//       memory: 128Gi
//       gpu_models: [A100]
std::expected<std::vector<TraceJob>, LoadError> LoadJobList(const std::string& path);
std::expected<std::vector<TraceJob>, LoadError> ParseJobList(const std::string& text, const std::string& file);

}  // namespace platoon::sim
