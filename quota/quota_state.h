// The quota engine: ClusterQueues and the cohort tree with usage; fit, admission, preemption, fair share.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "quota/model.h"
#include "quota/resources.h"

namespace platoon::quota {

// Pods that share a shape. `requests` is the total over all `count` pods; the reserved resource
// `pods` is added as `count` when the ClusterQueue covers it, as Kueue does.
struct PodSet {
  std::string name = "main";
  std::int32_t count = 1;
  ResourceList requests;
  std::map<std::string, std::string> node_selector;
  std::vector<Toleration> tolerations;
};

// A unit of admission: always admitted, preempted and released whole.
struct Workload {
  std::string name;           // unique key, e.g. "namespace/name"
  std::string cluster_queue;  // resolved through the LocalQueue by the caller
  std::int32_t priority = 0;
  std::int64_t creation_time = 0;  // queue-ordering timestamp (any monotonic unit)
  std::vector<PodSet> pod_sets;
};

// Kueue's granular modes: a flavor cannot take the request, could after preemption, or takes it now.
enum class FitMode { NoFit = 0, Preempt = 1, Fit = 2 };
std::string_view ToString(FitMode mode);

struct FlavorResourceAmount {
  std::string flavor;
  std::string resource;
  std::int64_t amount = 0;
  friend bool operator==(const FlavorResourceAmount&, const FlavorResourceAmount&) = default;
};

struct PodSetAssignment {
  std::string pod_set;
  std::map<std::string, std::string> flavors;  // resource -> flavor
  ResourceList requests;                       // including `pods` when covered
};

// The outcome of trying a workload against its ClusterQueue. `reasons` explain, with numbers, every
// flavor or resource that could not take the request now.
struct Assignment {
  FitMode mode = FitMode::NoFit;
  bool borrows = false;  // admitting it takes the ClusterQueue above nominal in some flavor/resource
  std::string cluster_queue;
  std::vector<PodSetAssignment> pod_sets;
  std::vector<FlavorResourceAmount> usage;  // total per flavor/resource, sorted
  std::vector<std::string> reasons;
  std::string Message() const;  // reasons joined with "; "
};

enum class PreemptionReason { InClusterQueue, InCohortReclamation, InCohortReclaimWhileBorrowing, InCohortFairSharing };
std::string_view ToString(PreemptionReason reason);

struct PreemptionTarget {
  std::string workload;
  std::string cluster_queue;
  PreemptionReason reason = PreemptionReason::InClusterQueue;
  friend bool operator==(const PreemptionTarget&, const PreemptionTarget&) = default;
};

struct PreemptionResult {
  std::vector<PreemptionTarget> targets;  // minimised: none can be dropped and still let it fit
  std::vector<std::string> reasons;        // why there are no targets
  // Whether the targets were chosen so that the preemptor may borrow once they are gone (false:
  // it must then fit within its nominal quota). Meaningful only with targets.
  bool allow_borrowing = true;
  std::string Message() const;
};

enum class FairPreemptionStrategy { LessThanOrEqualToFinalShare, LessThanInitialShare };

// Where platoon departs from Kueue, each switchable so Kueue's exact behaviour can be reproduced.
struct QuotaOptions {
  bool fair_sharing = false;
  std::vector<FairPreemptionStrategy> fair_sharing_strategies = {
      FairPreemptionStrategy::LessThanOrEqualToFinalShare, FairPreemptionStrategy::LessThanInitialShare};
  // kueue#10171/#3405: a borrowing preemptor may only take workloads whose removal leaves their
  // ClusterQueue at or above nominal in every contested flavor/resource.
  bool protect_nominal_from_borrowing_preemption = true;
  // kueue#4809: in Kueue a head that needs preemption holds its quota against the rest of the
  // cohort for the cycle even when nothing can be preempted; under StrictFIFO it stays the head, so
  // it holds that quota for good and borrowers starve. platoon holds quota only for a head whose
  // preemptions are under way. true reproduces Kueue.
  bool waiting_head_blocks_borrowing = false;
};

struct AdmissionPassOptions {
  bool preempt = true;  // look for preemption targets for heads that need them
};

struct AdmissionPassResult {
  struct Admitted {
    std::string workload;
    Assignment assignment;
  };
  struct Preemption {
    std::string preemptor;
    std::vector<PreemptionTarget> targets;
  };
  struct Pending {
    std::string workload;
    std::string cluster_queue;
    std::string reason;
  };
  std::vector<Admitted> admitted;       // in admission order
  std::vector<Preemption> preemptions;  // targets already released from the state
  std::vector<Pending> pending;         // left pending, with why
  int cycles = 0;
};

// Queue order inside a ClusterQueue: higher priority first, then older, then name.
bool QueueOrderLess(const Workload& a, const Workload& b);

// Holds the resolved cohort tree and the usage of every ClusterQueue per flavor and resource.
// Regular value type; copying it is how callers simulate "what if".
class QuotaState {
 public:
  // Resolves the tree. Fails (with a sentence) on unknown flavors, unknown ClusterQueues or cycles;
  // config/ reports those with file:line first, this is the core's own guard.
  static std::expected<QuotaState, std::string> Build(const QuotaConfig& config, QuotaOptions options = {});

  const QuotaConfig& config() const;
  const QuotaOptions& options() const { return options_; }
  bool HasClusterQueue(std::string_view name) const;

  // The ClusterQueue a workload of `namespace_name` submitted to LocalQueue `local_queue` goes to, or
  // why it cannot go anywhere (no such LocalQueue, no such ClusterQueue, or the ClusterQueue's
  // namespaceSelector does not match the namespace's labels; a missing selector matches nothing).
  std::expected<std::string, std::string> ResolveLocalQueue(
      std::string_view namespace_name, std::string_view local_queue,
      const std::map<std::string, std::string>& namespace_labels) const;
  // The value of a WorkloadPriorityClass, if defined.
  std::optional<std::int32_t> PriorityClassValue(std::string_view name) const;

  // Which flavors the workload would get now and whether that fits, needs preemption or cannot fit.
  // Does not change the state.
  Assignment Assign(const Workload& workload) const;

  // Records an admitted workload's usage. Fails if the name is already admitted or the assignment is
  // for another ClusterQueue. Admit does not re-check quota: the caller decided (possibly after
  // preemption) and the state follows.
  std::expected<void, std::string> Admit(const Workload& workload, const Assignment& assignment);
  // Removes an admitted workload's usage (finished, evicted or preempted). False if not admitted.
  bool Release(std::string_view workload);
  bool IsAdmitted(std::string_view workload) const;
  // Whether releasing admitted `workload` leaves its ClusterQueue at or above nominal in every
  // flavor/resource the workload uses (it only gives back borrowed quota). False if not admitted.
  bool ReleaseKeepsNominal(std::string_view workload) const;
  std::size_t AdmittedCount() const { return admitted_index_.size(); }

  // Kueue's preemption target selection for a workload whose assignment is in mode Preempt,
  // against the workloads admitted in this state, followed by the minimisation pass.
  PreemptionResult FindPreemptionTargets(const Workload& preemptor, const Assignment& assignment) const;

  // One admission pass over the pending workloads (Kueue's scheduling cycles until nothing moves):
  // heads of every ClusterQueue in entry order, StrictFIFO/BestEffortFIFO, optional preemption.
  // Admitted workloads and preempted targets are applied to this state.
  AdmissionPassResult RunAdmissionPass(std::vector<Workload> pending, AdmissionPassOptions options = {});

  // Amounts per ClusterQueue (or cohort), flavor and resource. Unknown names give 0.
  std::int64_t Usage(std::string_view node, std::string_view flavor, std::string_view resource) const;
  std::int64_t Nominal(std::string_view node, std::string_view flavor, std::string_view resource) const;
  // What the node could take now (its unused guaranteed quota plus what its ancestors can lend).
  std::int64_t Available(std::string_view node, std::string_view flavor, std::string_view resource) const;
  // What the node could take if nothing else were admitted.
  std::int64_t PotentialAvailable(std::string_view node, std::string_view flavor, std::string_view resource) const;
  // Weighted dominant resource share (per mille) of a ClusterQueue or cohort; 0 when not borrowing.
  std::int64_t DominantResourceShare(std::string_view node) const;

  // The resolved cohort tree with nominal, borrowable and lendable amounts per flavor and resource.
  std::string DescribeCohortTree() const;

  // Implementation details, public only for the algorithms in the .cpp files.
  struct Tree;
  struct AdmittedWorkload {
    Workload workload;
    Assignment assignment;
    std::vector<std::pair<int, std::int64_t>> usage;  // flavor-resource id -> amount
    std::int64_t sequence = 0;                         // admission order, later = newer
  };

 private:

  QuotaOptions options_;
  std::shared_ptr<const Tree> tree_;
  std::vector<std::int64_t> usage_;  // node * fr_count + fr
  std::vector<std::vector<AdmittedWorkload>> admitted_by_cq_;  // cq index -> its admitted workloads
  std::unordered_map<std::string, std::pair<int, std::size_t>> admitted_index_;  // name -> (cq, slot)
  std::int64_t next_sequence_ = 1;
  std::vector<std::uint64_t> root_version_;  // node's root -> bumped on every usage change below it

  friend class QuotaEngine;
};

}  // namespace platoon::quota
