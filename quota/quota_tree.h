// Internal to quota/: the resolved cohort tree and Kueue's resource-node arithmetic over it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "quota/quota_state.h"

namespace platoon::quota {

inline constexpr std::int64_t kNoLimit = -1;

// Flavors and resources are numbered; a flavor-resource ("fr") is flavor * resource_count + resource.
// ClusterQueues and cohorts are nodes of one forest. Quotas are fixed once built; usage lives apart
// (QuotaState::usage_) so that simulations copy only a flat vector.
struct QuotaState::Tree {
  struct Node {
    std::string name;
    bool is_cq = false;
    int parent = -1;
    int root = -1;
    int depth = 0;
    int cq_index = -1;  // index into config.cluster_queues for ClusterQueues
    std::vector<int> children;
    std::vector<std::int64_t> nominal;         // own nominalQuota
    std::vector<std::int64_t> subtree;         // own nominal + what children put in (Kueue SubtreeQuota)
    std::vector<std::int64_t> guaranteed;      // kept back from the parent because of lendingLimit
    std::vector<std::int64_t> borrowing_limit;  // kNoLimit when absent
    std::vector<std::int64_t> lending_limit;    // kNoLimit when absent
    std::vector<char> has_quota;                // the object lists this flavor/resource
    std::int64_t weight_milli = 1000;
  };
  struct Group {
    std::vector<int> resources;
    std::vector<int> flavors;
  };
  struct CqInfo {
    int node = -1;
    std::vector<Group> groups;
    std::vector<int> group_of_resource;  // resource id -> group, -1 when not covered
    bool covers_pods = false;
  };

  std::vector<std::string> flavors;
  std::unordered_map<std::string, int> flavor_index;
  std::vector<std::string> resources;
  std::unordered_map<std::string, int> resource_index;
  int fr_count = 0;
  std::vector<Node> nodes;
  std::unordered_map<std::string, int> cq_node;
  std::unordered_map<std::string, int> cohort_node;
  std::vector<CqInfo> cqs;                     // same order as config.cluster_queues
  std::vector<std::vector<int>> subtree_cqs;   // node -> ClusterQueue nodes below it (itself for a CQ)
  QuotaConfig config;  // the objects the tree was built from

  int Fr(int flavor, int resource) const { return flavor * static_cast<int>(resources.size()) + resource; }
  int FlavorOf(int fr) const { return fr / static_cast<int>(resources.size()); }
  int ResourceOf(int fr) const { return fr % static_cast<int>(resources.size()); }
  int FindResource(std::string_view name) const {
    auto it = resource_index.find(std::string(name));
    return it == resource_index.end() ? -1 : it->second;
  }
  int FindFlavor(std::string_view name) const {
    auto it = flavor_index.find(std::string(name));
    return it == flavor_index.end() ? -1 : it->second;
  }
  int FindNode(std::string_view name) const;

  std::int64_t U(const std::vector<std::int64_t>& usage, int node, int fr) const {
    return usage[static_cast<std::size_t>(node) * fr_count + fr];
  }
  // Kueue's available(): unused guaranteed quota plus what the parent can give, capped by the
  // borrowing limit.
  std::int64_t Available(const std::vector<std::int64_t>& usage, int node, int fr) const;
  std::int64_t PotentialAvailable(int node, int fr) const;
  // Adds delta (either sign) to a ClusterQueue and carries to each ancestor the part that is above
  // the child's guaranteed quota.
  void AddUsage(std::vector<std::int64_t>& usage, int node, int fr, std::int64_t delta) const;
  bool Borrowing(const std::vector<std::int64_t>& usage, int node, int fr) const {
    return U(usage, node, fr) > nodes[node].subtree[fr];
  }
  // Weighted dominant resource share of a node with `extra` added to its usage (per mille).
  std::int64_t Share(const std::vector<std::int64_t>& usage, int node,
                     const std::vector<std::pair<int, std::int64_t>>* extra = nullptr) const;
  std::string FrName(int fr) const { return resources[ResourceOf(fr)] + " in flavor " + flavors[FlavorOf(fr)]; }
};

// The engine's algorithms, friends of QuotaState, split over quota_state.cpp, preemption.cpp,
// admission_pass.cpp and describe.cpp.
class QuotaEngine {
 public:
  using FrAmounts = std::vector<std::pair<int, std::int64_t>>;
  static Assignment Assign(const QuotaState& s, const Workload& wl, const std::vector<std::int64_t>& usage);
  static PreemptionResult FindTargets(const QuotaState& s, const Workload& wl, const Assignment& a);
  static FrAmounts ToFr(const QuotaState::Tree& t, const Assignment& a);
};

}  // namespace platoon::quota
