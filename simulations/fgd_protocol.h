// The FGD paper's workload protocol on openb: pods shuffled per seed, topped up to 130 % of GPU capacity.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "simulations/trace.h"

namespace platoon::sim {

// The protocol of hkust-adsl/kubernetes-scheduler-simulator as the ATC'23 runs used it (facts read
// from its Simulate, SortClusterPods, TunePodsByNodeTotalResource and syncClusterResourceList):
//  1. pods sorted by name, then shuffled with the run's seed (42..51 in the paper);
//  2. workload tuned to tune_ratio x cluster GPU capacity (1.3): while below, a pod drawn uniformly
//     from the name-sorted original list is appended as "<name>-tuned-<i>"; the loop stops at the
//     first draw whose per-GPU share (gpu_milli, not gpu_milli x num_gpu: the artifact's check)
//     would pass the target. If the list starts above it (multigpu lists), uniformly drawn pods are
//     removed until it is at or below, and nothing is appended;
//  3. nodes are added in a random order (the artifact prefixes name-sorted nodes with rand.Perm);
//  4. pods arrive one at a time in that order and never depart; each pod is one pod, so a
//     multi-GPU pod needs all its GPUs on one node.
// The random numbers come from Prng, not Go's math/rand, so runs match the paper's in
// distribution, not pod for pod.
struct FgdProtocolOptions {
  std::uint64_t seed = 42;
  double tune_ratio = 1.3;  // <= 0: no tuning
};

struct FgdWorkload {
  std::uint64_t seed = 0;
  std::vector<TraceJob> pods;          // arrival order; arrival_ms = position, never depart
  std::vector<std::size_t> node_order; // indices into the node list, in the order to add them
  std::int64_t cluster_gpu_milli = 0;  // sum of node GPUs x 1000
  std::int64_t workload_gpu_milli = 0; // sum of the pods' GPU milli after tuning
  std::size_t original_pods = 0;       // pods kept from the trace
  std::size_t resampled_pods = 0;      // "-tuned-" copies appended
  std::size_t removed_pods = 0;        // pods removed to tune down
};

// Errors: an empty node or pod list, or a cluster without GPUs.
std::expected<FgdWorkload, std::string> GenerateFgdWorkload(const std::vector<TraceNode>& nodes,
                                                            const std::vector<TraceJob>& pods,
                                                            const FgdProtocolOptions& options);

}  // namespace platoon::sim
