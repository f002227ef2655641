// The simulation loop's side of the engine: plays kube-scheduler (default filters, filter -> bind) and
// the API server (bound pods, completions, evictions) around the one engine `serve` runs.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "quota/model.h"
#include "scheduler/engine.h"
#include "scheduler/model.h"
#include "simulations/scenario.h"
#include "simulations/trace.h"

namespace platoon::sim {

// Namespace of the pods of a job without a queue (queued jobs live in a namespace named after their
// queue, with a LocalQueue of the same name).
inline constexpr std::string_view kSimNamespace = "sim";

// The Kubernetes objects of a trace: a Node per TraceNode (allocatable = capacity, GPU model as GPU
// Feature Discovery labels it), and per job its pods (PodGroup when it has more than one). GPU model
// constraints become required node affinity on nvidia.com/gpu.product, shares the gpu-fraction
// annotation, the queue the kueue.x-k8s.io/queue-name label.
Node NodeOf(const TraceNode& node);
std::vector<Pod> PodsOf(const TraceJob& job, std::size_t index, int attempt);
std::optional<PodGroup> PodGroupOf(const TraceJob& job, std::size_t index, int attempt);

// kube-scheduler's default filters before the extender: NodeResourcesFit against allocatable minus
// the pods bound there (assumed at bind), plus the engine's node eligibility (unschedulable,
// taints, node selector, required affinity).
class KubeSchedulerModel {
 public:
  void AddNode(const Node& node);
  // Nodes that pass, as kube-scheduler hands them to a nodeCacheCapable extender (names only).
  std::vector<std::string_view> Filter(const Pod& pod) const;
  void Assume(const std::string& node, const ResourceList& requests);
  void Forget(const std::string& node, const ResourceList& requests);

 private:
  // Resources by index (names interned as nodes bring them), so the per-node check is array reads.
  struct Entry {
    Node node;
    std::vector<std::int64_t> allocatable;
    std::vector<std::int64_t> requested;
  };
  std::size_t ResourceIndex(std::string_view name);
  void Change(const std::string& node, const ResourceList& requests, int sign);
  std::vector<Entry> nodes_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::size_t, std::less<>> resources_;
};

// A scenario policy read into engine settings. Options (all optional):
//   placement: a policies::PlacementPolicyNames() name (default: the policy's name when it is one,
//              else the engine's tightest-fit placement)
//   cohort, borrowing, reclaim: "true"/"false" (quota built from the trace's queues, or the Kueue
//              file changed accordingly); preemption: none | gang-aware; queueing: StrictFIFO |
//              BestEffortFIFO
struct PolicySettings {
  std::string placement;  // "" = tightest
  bool cohort = true;
  bool borrowing = true;
  bool reclaim = true;
  bool preemption = false;
  std::optional<quota::QueueingStrategy> queueing;  // unset: the Kueue file's (BestEffortFIFO for trace queues)
};
std::expected<PolicySettings, std::string> ReadPolicy(const ScenarioPolicy& policy);

// The quota a replay runs under: one ClusterQueue per trace queue (nominal = its GPUs, one flavor
// covering nvidia.com/gpu) or the scenario's Kueue manifests, changed by the policy's settings.
std::expected<quota::QuotaConfig, std::string> ReplayQuota(const std::optional<quota::QuotaConfig>& kueue,
                                                           const std::vector<TraceQueue>& queues,
                                                           const std::vector<TraceJob>& jobs,
                                                           std::int64_t unknown_queue_nominal_gpus,
                                                           const PolicySettings& settings);

// One binding the engine released, as the API server recorded it.
struct BoundPod {
  std::string uid;
  std::string node;
  std::string devices;  // the platoon.dev/devices annotation
  friend bool operator==(const BoundPod&, const BoundPod&) = default;
};

// The engine with kube-scheduler and the API server around it, on a virtual clock (seconds).
class EngineDriver {
 public:
  EngineDriver(engine::EngineOptions options, std::optional<quota::QuotaConfig> quota);
  std::expected<void, std::string> Init();  // applies the quota

  // `zones`: the node's NodeResourceTopology zones, if any.
  void AddNode(const Node& node, double now, const std::vector<topology::NrtZone>& zones = {});
  void AddPodGroup(const PodGroup& group, double now);
  void AddPod(const Pod& pod, double now);
  // Runs the engine's cycle, then plays kube-scheduler for every pending pod of a planned gang:
  // default filters, the extender filter, bind at the barrier. Returns the pods bound, in order.
  std::vector<BoundPod> Schedule(double now);
  // A bound pod finished (Succeeded) or was deleted (evicted).
  void FinishPod(const std::string& uid, double now);
  void DeletePod(const std::string& uid, double now);
  // Evictions the engine asked for since the last call (gang key, pod UIDs).
  std::vector<engine::EvictAction> TakeEvictions();

  engine::Engine& engine() { return engine_; }
  std::int64_t BoundGpuMilli() const { return bound_gpu_milli_; }
  const std::map<std::string, Pod>& pods() const { return pods_; }

 private:
  void Apply(const engine::Binding& b, double now, std::vector<BoundPod>& out);
  void Drain();  // takes the engine's actions: evictions kept, admitted gangs noted
  static std::int64_t GpuMilliOf(const Pod& pod);

  engine::Engine engine_;
  std::optional<quota::QuotaConfig> quota_;
  KubeSchedulerModel kube_;
  std::map<std::string, Pod> pods_;           // by UID, as the API server holds them
  std::map<std::string, std::vector<std::string>> pending_;  // gang -> unbound pod UIDs, arrival order
  std::set<std::string> admitted_;            // gangs admitted since the last scheduling pass
  std::vector<engine::EvictAction> evictions_;
  std::int64_t bound_gpu_milli_ = 0;
};

}  // namespace platoon::sim
