// The engine driven as kube-scheduler and the API server would drive it, on a virtual clock.
#include "simulations/engine_driver.h"

#include <algorithm>
#include "simulations/text_format.h"
#include <set>

#include "policies/placement.h"
#include "topology/devices.h"

namespace platoon::sim {

namespace {

constexpr std::string_view kGpuProductLabel = "nvidia.com/gpu.product";
constexpr std::string_view kGpuCountLabel = "nvidia.com/gpu.count";

std::string JobNamespace(const TraceJob& job) { return job.queue.empty() ? std::string(kSimNamespace) : job.queue; }

std::string GroupName(const TraceJob& job, int attempt) {
  return attempt == 0 ? job.name : Format("{}-r{}", job.name, attempt);
}

// "0.25" for 250 milli: the KAI gpu-fraction annotation, exact for whole milli.
std::string FractionText(std::int32_t milli) {
  std::string s = Format("0.{:03}", milli);
  while (s.back() == '0') s.pop_back();
  return s;
}

bool ParseBool(const std::string& key, const std::string& value, bool& out, std::string& error) {
  if (value == "true") out = true;
  else if (value == "false") out = false;
  else error = Format("option {}: expected \"true\" or \"false\", got \"{}\"", key, value);
  return error.empty();
}

}  // namespace

Node NodeOf(const TraceNode& t) {
  if (t.snapshot) return *t.snapshot;
  Node n;
  n.name = t.name;
  n.uid = "node-" + t.name;
  for (const auto& [k, v] : t.labels) n.labels[k] = v;
  if (t.gpus > 0) {
    n.labels[std::string(kGpuCountLabel)] = std::to_string(t.gpus);
    if (!t.gpu_model.empty()) n.labels[std::string(kGpuProductLabel)] = t.gpu_model;
  }
  n.capacity = t.capacity;
  n.allocatable = t.capacity;
  return n;
}

std::vector<Pod> PodsOf(const TraceJob& job, std::size_t index, int attempt) {
  std::vector<Pod> pods;
  const std::string group = GroupName(job, attempt);
  if (!job.snapshot_pods.empty()) {
    int i = 0;
    for (Pod p : job.snapshot_pods) {
      p.uid = Format("j{}-a{}-p{}", index, attempt, i++);
      if (attempt > 0) {  // a restart: new pods, pending, in a renamed group
        p.name = Format("{}-r{}", p.name, attempt);
        p.node_name.clear();
        p.phase = "Pending";
        p.annotations.erase(std::string(engine::kDevicesAnnotation));
        if (auto l = p.labels.find(std::string(kPodGroupLabel)); l != p.labels.end()) l->second = group;
      }
      pods.push_back(std::move(p));
    }
    return pods;
  }
  const bool gang = job.IsGang();
  int i = 0;
  for (const auto& set : job.pod_sets) {
    for (std::int32_t k = 0; k < set.count; ++k, ++i) {
      Pod p;
      p.namespace_ = JobNamespace(job);
      p.name = gang ? Format("{}-{}", group, i) : group;
      p.uid = Format("j{}-a{}-p{}", index, attempt, i);
      p.scheduler_name = "platoon";
      p.phase = "Pending";
      p.requests = set.request;
      if (set.gpus > 0 && set.gpu_milli < kWholeGpuMilli) {
        p.annotations[std::string(topology::kGpuFractionAnnotation)] = FractionText(set.gpu_milli);
        if (set.gpus > 1) p.annotations[std::string(topology::kGpuFractionDevicesAnnotation)] = std::to_string(set.gpus);
      }
      if (!job.queue.empty()) p.labels[std::string(engine::kQueueNameLabel)] = job.queue;
      if (gang) p.labels[std::string(kPodGroupLabel)] = group;
      if (!job.gpu_models.empty()) {
        p.required_node_affinity.push_back({NodeSelectorRequirement{std::string(kGpuProductLabel), NodeSelectorRequirement::Operator::In, job.gpu_models}});
      }
      pods.push_back(std::move(p));
    }
  }
  return pods;
}

std::optional<PodGroup> PodGroupOf(const TraceJob& job, std::size_t /*index*/, int attempt) {
  if (!job.IsGang()) return std::nullopt;
  PodGroup g;
  g.namespace_ = job.snapshot_pods.empty() ? JobNamespace(job) : job.snapshot_pods.front().namespace_;
  g.name = GroupName(job, attempt);
  g.min_member = job.TotalPods();
  return g;
}

// --- kube-scheduler's default filters ---

std::size_t KubeSchedulerModel::ResourceIndex(std::string_view name) {
  auto it = resources_.find(name);
  if (it != resources_.end()) return it->second;
  const std::size_t i = resources_.size();
  resources_.emplace(std::string(name), i);
  for (auto& e : nodes_) {
    e.allocatable.resize(i + 1, 0);
    e.requested.resize(i + 1, 0);
  }
  return i;
}

void KubeSchedulerModel::AddNode(const Node& node) {
  for (const auto& [name, amount] : node.allocatable) ResourceIndex(name);
  auto [it, added] = index_.try_emplace(node.name, nodes_.size());
  if (added) nodes_.push_back({node, std::vector<std::int64_t>(resources_.size(), 0), std::vector<std::int64_t>(resources_.size(), 0)});
  Entry& e = nodes_[it->second];
  e.node = node;
  std::fill(e.allocatable.begin(), e.allocatable.end(), 0);
  for (const auto& [name, amount] : node.allocatable) e.allocatable[resources_.at(name)] = amount;
}

std::vector<std::string_view> KubeSchedulerModel::Filter(const Pod& pod) const {
  std::vector<std::pair<std::size_t, std::int64_t>> wants;
  for (const auto& [name, amount] : pod.requests) {
    auto it = resources_.find(name);
    if (it == resources_.end()) {
      if (amount > 0) return {};  // no node has it
      continue;
    }
    wants.emplace_back(it->second, amount);
  }
  std::vector<std::string_view> out;
  for (const auto& e : nodes_) {
    bool fits = true;
    for (const auto& [i, amount] : wants) {
      if (e.requested[i] + amount > e.allocatable[i]) {
        fits = false;
        break;
      }
    }
    if (fits && engine::NodeEligible(pod, e.node)) out.push_back(e.node.name);
  }
  return out;
}

void KubeSchedulerModel::Change(const std::string& node, const ResourceList& requests, int sign) {
  auto it = index_.find(node);
  if (it == index_.end()) return;
  Entry& e = nodes_[it->second];
  for (const auto& [name, amount] : requests) {
    const std::size_t i = ResourceIndex(name);
    e.requested[i] += sign * amount;
  }
}

void KubeSchedulerModel::Assume(const std::string& node, const ResourceList& requests) { Change(node, requests, +1); }
void KubeSchedulerModel::Forget(const std::string& node, const ResourceList& requests) { Change(node, requests, -1); }

// --- policies and quota ---

std::expected<PolicySettings, std::string> ReadPolicy(const ScenarioPolicy& policy) {
  PolicySettings s;
  const auto names = policies::PlacementPolicyNames();
  if (std::ranges::find(names, policy.name) != names.end()) s.placement = policy.name;
  std::string error;
  for (const auto& [key, value] : policy.options) {
    if (key == "placement") {
      if (value != "tightest" && std::ranges::find(names, value) == names.end()) {
        std::string known = "tightest";
        for (const auto& n : names) known += ", " + n;
        return std::unexpected(Format("policy {}: option placement: unknown \"{}\" (known: {})", policy.name, value, known));
      }
      s.placement = value == "tightest" ? "" : value;
    } else if (key == "cohort") {
      ParseBool(key, value, s.cohort, error);
    } else if (key == "borrowing") {
      ParseBool(key, value, s.borrowing, error);
    } else if (key == "reclaim") {
      ParseBool(key, value, s.reclaim, error);
    } else if (key == "preemption") {
      if (value == "none") s.preemption = false;
      else if (value == "gang-aware") s.preemption = true;
      else error = Format("option preemption: expected none or gang-aware, got \"{}\"", value);
    } else if (key == "queueing") {
      if (value == "StrictFIFO") s.queueing = quota::QueueingStrategy::StrictFIFO;
      else if (value == "BestEffortFIFO") s.queueing = quota::QueueingStrategy::BestEffortFIFO;
      else error = Format("option queueing: expected StrictFIFO or BestEffortFIFO, got \"{}\"", value);
    } else {
      error = Format("unknown option \"{}\" (known: placement, cohort, borrowing, reclaim, preemption, queueing)", key);
    }
    if (!error.empty()) return std::unexpected(Format("policy {}: {}", policy.name, error));
  }
  return s;
}

namespace {

void ApplySettings(quota::ClusterQueue& cq, const PolicySettings& s, const std::string& cohort) {
  cq.cohort = s.cohort ? cohort : std::string();
  if (s.queueing) cq.queueing_strategy = *s.queueing;
  cq.preemption = {};
  if (s.preemption) {
    cq.preemption.within_cluster_queue = quota::WithinClusterQueuePolicy::LowerPriority;
    cq.preemption.reclaim_within_cohort = s.reclaim ? quota::ReclaimWithinCohortPolicy::Any : quota::ReclaimWithinCohortPolicy::Never;
  }
  for (auto& group : cq.resource_groups) {
    for (auto& flavor : group.flavors) {
      for (auto& r : flavor.resources) {
        if (!s.borrowing || !s.cohort) r.borrowing_limit = 0;
      }
    }
  }
}

}  // namespace

std::expected<quota::QuotaConfig, std::string> ReplayQuota(const std::optional<quota::QuotaConfig>& kueue,
                                                           const std::vector<TraceQueue>& queues,
                                                           const std::vector<TraceJob>& jobs,
                                                           std::int64_t unknown_queue_nominal_gpus,
                                                           const PolicySettings& settings) {
  if (kueue) {
    quota::QuotaConfig cfg = *kueue;
    for (auto& cq : cfg.cluster_queues) {
      const std::string cohort = cq.cohort.empty() ? "simulated-cohort" : cq.cohort;
      ApplySettings(cq, settings, cohort);
    }
    return cfg;
  }
  quota::QuotaConfig cfg;
  cfg.resource_flavors.push_back({.name = "default-flavor"});
  std::vector<std::pair<std::string, std::int64_t>> sizes;
  std::set<std::string> seen;
  for (const auto& q : queues) {
    if (seen.insert(q.name).second) sizes.emplace_back(q.name, q.gpus);
  }
  for (const auto& j : jobs) {
    if (!j.queue.empty() && seen.insert(j.queue).second) sizes.emplace_back(j.queue, unknown_queue_nominal_gpus);
  }
  for (const auto& [name, gpus] : sizes) {
    quota::ClusterQueue cq;
    cq.name = name;
    cq.namespace_selector.present = true;  // {}: every namespace
    quota::ResourceGroup group;
    group.covered_resources = {std::string(kResourceGPU)};
    group.flavors.push_back({"default-flavor", {{std::string(kResourceGPU), gpus, std::nullopt, std::nullopt}}});
    cq.resource_groups.push_back(std::move(group));
    ApplySettings(cq, settings, "all-vcs");
    cfg.cluster_queues.push_back(std::move(cq));
    cfg.local_queues.push_back({name, name, name});
  }
  return cfg;
}

// --- the driver ---

EngineDriver::EngineDriver(engine::EngineOptions options, std::optional<quota::QuotaConfig> quota)
    : engine_(std::move(options)), quota_(std::move(quota)) {}

std::expected<void, std::string> EngineDriver::Init() {
  if (!quota_) return {};
  return engine_.ReplaceQuota(*quota_, 0);
}

void EngineDriver::AddNode(const Node& node, double now, const std::vector<topology::NrtZone>& zones) {
  kube_.AddNode(node);
  engine_.UpsertNode(node, now);
  if (!zones.empty()) engine_.SetNodeZones(node.name, zones, now);
}

void EngineDriver::AddPodGroup(const PodGroup& group, double now) { engine_.UpsertPodGroup(group, now); }

void EngineDriver::AddPod(const Pod& pod, double now) {
  pods_[pod.uid] = pod;
  if (!pod.node_name.empty()) {  // already running (a snapshot): it holds its node's capacity
    kube_.Assume(pod.node_name, pod.requests);
    bound_gpu_milli_ += GpuMilliOf(pod);
    engine_.UpsertPod(pod, now);
    return;
  }
  pending_[engine::Engine::GangKeyFor(pod)].push_back(pod.uid);
  engine_.UpsertPod(pod, now);
}

std::int64_t EngineDriver::GpuMilliOf(const Pod& pod) {
  auto req = topology::DeviceRequestFromPod(pod.requests, pod.annotations);
  if (!req) return 0;
  return std::int64_t{req->gpus} * topology::kMilliPerGpu + std::int64_t{req->gpu_milli} * std::max(1, req->fraction_devices);
}

void EngineDriver::Apply(const engine::Binding& b, double now, std::vector<BoundPod>& out) {
  auto it = pods_.find(b.pod_uid);
  if (it == pods_.end() || !it->second.node_name.empty()) return;
  Pod& pod = it->second;
  pod.node_name = b.node;
  pod.phase = "Running";
  for (const auto& [k, v] : b.annotations) pod.annotations[k] = v;
  kube_.Assume(b.node, pod.requests);
  bound_gpu_milli_ += GpuMilliOf(pod);
  engine_.UpsertPod(pod, now);
  auto devices = b.annotations.find(std::string(engine::kDevicesAnnotation));
  out.push_back({pod.uid, b.node, devices == b.annotations.end() ? std::string() : devices->second});
}

void EngineDriver::Drain() {
  engine::Actions actions = engine_.TakeActions();
  for (auto& e : actions.evictions) evictions_.push_back(std::move(e));
  for (const auto& st : actions.statuses) {
    if (st.condition == "Admitted") admitted_.insert(st.gang);
    else admitted_.erase(st.gang);
  }
}

std::vector<BoundPod> EngineDriver::Schedule(double now) {
  std::vector<BoundPod> out;
  engine_.AdvanceTime(now);
  for (int round = 0; round < 4; ++round) {
    Drain();
    if (admitted_.empty()) break;
    // kube-scheduler's scheduling cycle for each pending member of an admitted gang, in arrival order.
    for (const auto& gang : std::exchange(admitted_, {})) {
      auto members = pending_.find(gang);
      if (members == pending_.end()) continue;
      for (const auto& uid : members->second) {
        auto it = pods_.find(uid);
        if (it == pods_.end() || !it->second.node_name.empty()) continue;
        const Pod& pod = it->second;
        const auto candidates = kube_.Filter(pod);
        const auto decision = engine_.Decide(pod, candidates, now);
        if (decision.fits.empty()) continue;
        const std::string node(candidates[decision.fits.front()]);
        auto outcome = engine_.Bind(uid, node, now);
        if (outcome.kind == engine::BindOutcome::Kind::BindNow) {
          for (const auto& b : outcome.bindings) Apply(b, now, out);
        }
      }
      std::erase_if(members->second, [&](const std::string& uid) {
        auto it = pods_.find(uid);
        return it == pods_.end() || !it->second.node_name.empty();
      });
      if (members->second.empty()) pending_.erase(members);
    }
    engine_.AdvanceTime(now);
  }
  return out;
}

void EngineDriver::FinishPod(const std::string& uid, double now) {
  auto it = pods_.find(uid);
  if (it == pods_.end()) return;
  Pod pod = it->second;
  if (!pod.node_name.empty()) {
    kube_.Forget(pod.node_name, pod.requests);
    bound_gpu_milli_ -= GpuMilliOf(pod);
  }
  pods_.erase(it);
  pod.phase = "Succeeded";
  engine_.UpsertPod(pod, now);
  engine_.RemovePod(uid, now);
}

void EngineDriver::DeletePod(const std::string& uid, double now) {
  auto it = pods_.find(uid);
  if (it == pods_.end()) return;
  if (!it->second.node_name.empty()) {
    kube_.Forget(it->second.node_name, it->second.requests);
    bound_gpu_milli_ -= GpuMilliOf(it->second);
  }
  if (auto members = pending_.find(engine::Engine::GangKeyFor(it->second)); members != pending_.end()) {
    std::erase(members->second, uid);
    if (members->second.empty()) pending_.erase(members);
  }
  pods_.erase(it);
  engine_.RemovePod(uid, now);
}

std::vector<engine::EvictAction> EngineDriver::TakeEvictions() {
  Drain();
  return std::exchange(evictions_, {});
}

}  // namespace platoon::sim
