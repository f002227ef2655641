// The gang engine: the one deterministic decision maker that `serve` and `simulate` drive.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "policies/placement.h"
#include "quota/quota_state.h"
#include "scheduler/cluster_state.h"
#include "scheduler/model.h"
#include "topology/gang.h"
#include "topology/topology.h"

namespace platoon::engine {

// Time as a value (seconds since any fixed origin); the engine never reads a clock.
using Seconds = double;

inline constexpr std::string_view kQueueNameLabel = "kueue.x-k8s.io/queue-name";
inline constexpr std::string_view kPriorityClassLabel = "kueue.x-k8s.io/priority-class";
inline constexpr std::string_view kPodGroupTotalCountAnnotation = "kueue.x-k8s.io/pod-group-total-count";
// The devices platoon chose for a pod; travels on the Binding so a restarted platoon rebuilds them.
inline constexpr std::string_view kDevicesAnnotation = "platoon.dev/devices";

// "gpus=0,1;shared=2;milli=500;numa=0;cpu=1000;mem=1073741824" (only the parts that are set).
std::string EncodeDevices(const topology::DeviceAssignment& devices);
std::optional<topology::DeviceAssignment> DecodeDevices(std::string_view text);

// A pod's device request (topology::DeviceRequestFromPod) with the GPU models its node selector or its
// one required node-affinity term allows on nvidia.com/gpu.product, as the engine places it.
std::expected<topology::DeviceRequest, std::string> DeviceRequestOf(const Pod& pod);

// Node eligibility as kube-scheduler's default filters see it (no resources): unschedulable and
// not-ready nodes, NoSchedule/NoExecute taints without toleration, nodeSelector, required affinity.
// Returns the reason a node is not eligible, or empty.
std::string NodeIneligibility(const Pod& pod, const Node& node);
// The same check without the reason (no allocation), for filters over every node.
bool NodeEligible(const Pod& pod, const Node& node);

struct EngineOptions {
  std::vector<topology::FabricLevel> levels;      // fabric levels for the topology built from nodes
  Seconds default_bind_timeout = 60;              // barrier timeout when the PodGroup gives none
  Seconds backoff_initial = 1;                    // first requeue delay after a barrier timeout
  Seconds backoff_max = 300;
  bool preemption = true;
  // Chooses the node for a gang that fits on one node (nullptr: the tightest node). It sees every
  // pod the engine learns of (Observe) and is called only from engine calls.
  std::shared_ptr<policies::PlacementPolicy> placement;
};

enum class GangPhase {
  Collecting,  // fewer members than minMember (or its PodGroup not seen yet)
  Queued,      // in its ClusterQueue, waiting for quota or capacity (or backing off)
  Preempting,  // quota held, victims terminating; its nodes are held from others
  Planned,     // admitted: quota and devices reserved, binds at the barrier
  Running,     // every planned member bound
};
std::string_view ToString(GangPhase phase);

// One binding to post: the device assignment goes onto the Binding as an annotation.
struct Binding {
  std::string pod_uid;
  std::string pod_namespace;
  std::string pod_name;
  std::string node;
  std::map<std::string, std::string> annotations;
  friend bool operator==(const Binding&, const Binding&) = default;
};

struct BindOutcome {
  enum class Kind {
    Wait,          // at the barrier: call again (or wait for the gang's BindNow)
    BindNow,       // post every binding listed (the whole gang, or this pod again when repeated)
    Error,         // this bind fails; `message` says why
  };
  Kind kind = Kind::Error;
  std::vector<Binding> bindings;
  std::string message;
};

// Filter's answer in compact form: the candidates (by index) that pass, and one reason for the rest.
struct FilterDecision {
  std::vector<std::size_t> fits;
  NodeVerdictKind others = NodeVerdictKind::Unresolvable;
  std::string reason;
};

// Actions the edge carries out, as values.
struct BindAction {
  Binding binding;
};
struct EvictAction {
  std::string gang;
  std::vector<std::string> pod_uids;
  std::string reason;  // "preempted by ns/job-b (priority 100 > 10): capacity"
};
struct StatusAction {
  std::string gang;
  std::string condition;  // Admitted, BarrierTimeout, Preempting, Evicted, Pending
  std::string message;
};
struct Actions {
  std::vector<BindAction> binds;
  std::vector<EvictAction> evictions;
  std::vector<StatusAction> statuses;
  bool Empty() const { return binds.empty() && evictions.empty() && statuses.empty(); }
};

// The pending view for `platoon explain` and GET /debug/pending.
struct PendingGang {
  std::string gang;
  std::string cluster_queue;  // empty: no queue label (not subject to quota)
  int position = 0;           // 1-based, in queue order
  GangPhase phase = GangPhase::Collecting;
  int members = 0;
  int min_member = 1;
  std::int32_t priority = 0;
  std::string reason;   // the blocking reason, with numbers
  std::string unblock;  // what would unblock it
};
struct PendingQueue {
  std::string cluster_queue;
  std::vector<PendingGang> gangs;
};
struct PendingView {
  std::vector<PendingQueue> queues;  // by ClusterQueue name ("" first)
};

// The view as `platoon explain` prints it: one block per ClusterQueue, one line per gang with its
// position, members, phase, reason and what would unblock it.
std::string DescribePending(const PendingView& view);

// Where the engine's metrics leave it; the edge implements this (Prometheus in `serve`, tallies in
// `simulate`). Named after Kueue's metrics. Calls happen inside engine calls, on the caller's thread.
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // platoon_admitted_workloads_total and platoon_admission_wait_time_seconds{cluster_queue}.
  virtual void WorkloadAdmitted(std::string_view cluster_queue, Seconds wait) = 0;
  // platoon_preempted_workloads_total{reason}: "quota" or "capacity".
  virtual void WorkloadPreempted(std::string_view reason) = 0;
  // platoon_gang_bind_barrier_seconds: first bind of a gang to its release (or timeout).
  virtual void BindBarrier(Seconds waited, bool released) = 0;
  // platoon_plan_failures_total{reason}: "quota", "capacity", "queue", "barrier_timeout".
  virtual void PlanFailure(std::string_view reason) = 0;
};

struct EngineCounts {
  std::size_t nodes = 0;
  std::size_t pods = 0;
  std::size_t gangs = 0;
  std::size_t running = 0;
  std::size_t planned = 0;
  std::size_t queued = 0;
};

// Not thread-safe: the edge serialises calls. Every call that may change decisions takes `now`.
class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  // --- Events ---
  void UpsertNode(Node node, Seconds now);
  void RemoveNode(std::string_view name, Seconds now);
  // The NUMA zones of a node's NodeResourceTopology object (empty: the object is gone; the layout
  // falls back to the node's labels). Zones may arrive before their node. Returns whether the layout
  // changed (NFD republishes the objects as availability changes; capacity is what counts).
  bool SetNodeZones(std::string node, std::vector<topology::NrtZone> zones, Seconds now);
  // Hardware from a topology file (NUMA layout, NICs, NVLink matrix, MIG, fabric path) for the nodes
  // it names, merged with each node's labels as they arrive (topology::MergeFileAndLabels). Replaces
  // any earlier file; a node the file does not name keeps its labels' view. Call before the first node.
  void SetFileHardware(std::vector<topology::NodeHardware> nodes);
  // Added or changed: unbound pods join their gang; a pod with node_name set holds its devices; a
  // finished pod releases them. Idempotent per UID.
  void UpsertPod(Pod pod, Seconds now);
  void RemovePod(std::string_view uid, Seconds now);
  void UpsertPodGroup(PodGroup group, Seconds now);
  void RemovePodGroup(std::string_view namespace_name, std::string_view name, Seconds now);
  void SetNamespaceLabels(std::string name, std::map<std::string, std::string> labels, Seconds now);
  // Replaces the Kueue configuration; admitted gangs keep their quota (re-admitted into the new state).
  // Fails, changing nothing, when the configuration does not resolve.
  std::expected<void, std::string> ReplaceQuota(const quota::QuotaConfig& config, Seconds now,
                                                quota::QuotaOptions options = {});
  // Runs barrier timeouts and the admission cycle.
  void AdvanceTime(Seconds now);

  // --- Queries ---
  // One verdict per candidate: a planned member's node fits when offered; every other node is
  // unresolvable with the gang's reason. A planned node not offered re-plans the whole gang.
  std::vector<NodeVerdict> Filter(const Pod& pod, const std::vector<std::string_view>& candidates, Seconds now);
  // The same decision without one string per node: the edge writes `reason` for every candidate
  // not in `fits` (what a wire encoder does anyway), so the engine's cost does not grow with it.
  FilterDecision Decide(const Pod& pod, const std::vector<std::string_view>& candidates, Seconds now);
  // 100 for the planned node, 0 elsewhere.
  std::vector<int> Score(const Pod& pod, const std::vector<std::string_view>& candidates) const;
  // The co-bind barrier. Idempotent per pod UID.
  BindOutcome Bind(std::string_view pod_uid, std::string_view node, Seconds now);

  // Lends a metrics sink (nullptr: none). It must outlive the engine or be reset first.
  void SetMetricsSink(MetricsSink* sink);

  // Drains the actions produced since the last call.
  Actions TakeActions();

  PendingView Pending(Seconds now) const;
  EngineCounts Counts() const;
  GangPhase PhaseOf(std::string_view gang) const;
  // The gang key of a pod ("ns/group", or "pod/ns/name" for a gang of one).
  static std::string GangKeyFor(const Pod& pod);
  const topology::Topology& Topology();
  const quota::QuotaState* Quota() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace platoon::engine
