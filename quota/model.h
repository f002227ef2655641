// Kueue's quota objects as plain values: ResourceFlavor, ClusterQueue, Cohort, LocalQueue, priorities.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace platoon::quota {

// A node taint or a pod toleration, as core/v1 writes them.
struct Taint {
  std::string key;
  std::string value;
  std::string effect;  // NoSchedule, PreferNoSchedule, NoExecute
  friend bool operator==(const Taint&, const Taint&) = default;
};

struct Toleration {
  std::string key;  // empty with operator Exists: tolerates everything
  std::string op = "Equal";  // Equal or Exists
  std::string value;
  std::string effect;  // empty: every effect
  friend bool operator==(const Toleration&, const Toleration&) = default;
};

// True when the toleration tolerates the taint (core/v1 ToleratesTaint).
bool Tolerates(const Toleration& toleration, const Taint& taint);

struct ResourceFlavor {
  std::string name;
  std::map<std::string, std::string> node_labels;
  std::vector<Taint> node_taints;
  std::vector<Toleration> tolerations;
  std::string topology_name;
  friend bool operator==(const ResourceFlavor&, const ResourceFlavor&) = default;
};

// Quota of one resource in one flavor. Amounts are in the resource's accounting unit (ResourceList).
struct ResourceQuota {
  std::string name;
  std::int64_t nominal_quota = 0;
  std::optional<std::int64_t> borrowing_limit;  // absent: unlimited
  std::optional<std::int64_t> lending_limit;    // absent: everything unused may be lent
  friend bool operator==(const ResourceQuota&, const ResourceQuota&) = default;
};

struct FlavorQuotas {
  std::string name;                      // a ResourceFlavor
  std::vector<ResourceQuota> resources;  // same order as the group's coveredResources
  friend bool operator==(const FlavorQuotas&, const FlavorQuotas&) = default;
};

// A set of resources that are assigned the same flavor, flavors tried in the order written.
struct ResourceGroup {
  std::vector<std::string> covered_resources;
  std::vector<FlavorQuotas> flavors;
  friend bool operator==(const ResourceGroup&, const ResourceGroup&) = default;
};

enum class QueueingStrategy { BestEffortFIFO, StrictFIFO };
enum class WithinClusterQueuePolicy { Never, LowerPriority, LowerOrNewerEqualPriority };
enum class ReclaimWithinCohortPolicy { Never, LowerPriority, Any };
enum class BorrowWithinCohortPolicy { Never, LowerPriority };
// v1beta1 Borrow / Preempt and v1beta2 MayStopSearch all mean "stop at this flavor".
enum class WhenCanBorrow { MayStopSearch, TryNextFlavor };
enum class WhenCanPreempt { MayStopSearch, TryNextFlavor };
enum class StopPolicy { None, Hold, HoldAndDrain };

struct BorrowWithinCohort {
  BorrowWithinCohortPolicy policy = BorrowWithinCohortPolicy::Never;
  std::optional<std::int32_t> max_priority_threshold;
  friend bool operator==(const BorrowWithinCohort&, const BorrowWithinCohort&) = default;
};

// Kueue's defaults: nothing is preempted unless asked for.
struct PreemptionPolicy {
  WithinClusterQueuePolicy within_cluster_queue = WithinClusterQueuePolicy::Never;
  ReclaimWithinCohortPolicy reclaim_within_cohort = ReclaimWithinCohortPolicy::Never;
  BorrowWithinCohort borrow_within_cohort;
  friend bool operator==(const PreemptionPolicy&, const PreemptionPolicy&) = default;
};

// Kueue's defaults: borrow in the first flavor that fits by borrowing; try the next flavor rather
// than preempt.
struct FlavorFungibility {
  WhenCanBorrow when_can_borrow = WhenCanBorrow::MayStopSearch;
  WhenCanPreempt when_can_preempt = WhenCanPreempt::TryNextFlavor;
  friend bool operator==(const FlavorFungibility&, const FlavorFungibility&) = default;
};

// A label selector requirement (matchExpressions entry); matchLabels become In with one value.
struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
  friend bool operator==(const LabelSelectorRequirement&, const LabelSelectorRequirement&) = default;
};

struct LabelSelector {
  bool present = false;  // absent selector in Kueue matches nothing; {} matches everything
  std::vector<LabelSelectorRequirement> requirements;
  bool Matches(const std::map<std::string, std::string>& labels) const;
  friend bool operator==(const LabelSelector&, const LabelSelector&) = default;
};

struct ClusterQueue {
  std::string name;
  std::string cohort;  // v1beta1 spec.cohort, v1beta2 spec.cohortName; empty: none
  std::vector<ResourceGroup> resource_groups;
  QueueingStrategy queueing_strategy = QueueingStrategy::BestEffortFIFO;
  LabelSelector namespace_selector;
  PreemptionPolicy preemption;
  FlavorFungibility flavor_fungibility;
  std::int64_t fair_sharing_weight_milli = 1000;  // fairSharing.weight, default 1
  StopPolicy stop_policy = StopPolicy::None;
  friend bool operator==(const ClusterQueue&, const ClusterQueue&) = default;
};

struct Cohort {
  std::string name;
  std::string parent_name;  // empty: a root
  std::vector<ResourceGroup> resource_groups;
  std::int64_t fair_sharing_weight_milli = 1000;
  friend bool operator==(const Cohort&, const Cohort&) = default;
};

struct LocalQueue {
  std::string namespace_name;
  std::string name;
  std::string cluster_queue;
  friend bool operator==(const LocalQueue&, const LocalQueue&) = default;
};

struct WorkloadPriorityClass {
  std::string name;
  std::int32_t value = 0;
  std::string description;
  friend bool operator==(const WorkloadPriorityClass&, const WorkloadPriorityClass&) = default;
};

// Everything a set of Kueue manifests describes. Cohorts named by a ClusterQueue but without a Cohort
// object exist implicitly with no quota of their own, as in Kueue.
// A Kueue Topology (kind Topology): the node labels of its levels, top to bottom. Quota ignores it;
// platoon's engine takes its fabric levels from it (config/fabric_levels.h).
struct KueueTopology {
  std::string name;
  std::vector<std::string> node_labels;
  friend bool operator==(const KueueTopology&, const KueueTopology&) = default;
};

struct QuotaConfig {
  std::vector<ResourceFlavor> resource_flavors;
  std::vector<ClusterQueue> cluster_queues;
  std::vector<Cohort> cohorts;
  std::vector<LocalQueue> local_queues;
  std::vector<WorkloadPriorityClass> priority_classes;
  std::vector<KueueTopology> topologies;
  friend bool operator==(const QuotaConfig&, const QuotaConfig&) = default;
};

}  // namespace platoon::quota
