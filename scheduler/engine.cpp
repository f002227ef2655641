// The gang engine: workloads, the admission cycle, plans and reservations, co-bind barrier, preemption.
#include "scheduler/engine.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "topology/text.h"

namespace platoon::engine {
namespace {

using topology::DeviceAssignment;
using topology::NodeId;
using topology::Format;

std::string JoinInts(const std::vector<int>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  return out;
}

std::optional<std::int64_t> ParseI64(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::vector<int>> ParseInts(std::string_view s) {
  std::vector<int> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    auto v = ParseI64(s.substr(0, comma));
    if (!v) return std::nullopt;
    out.push_back(static_cast<int>(*v));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

bool TaintTolerated(const Taint& taint, const std::vector<Toleration>& tolerations) {
  for (const auto& t : tolerations) {
    if (t.effect && *t.effect != taint.effect) continue;
    switch (t.op) {
      case Toleration::Operator::Exists:
        if (t.key.empty() || t.key == taint.key) return true;
        break;
      case Toleration::Operator::Equal:
        if (t.key == taint.key && t.value == taint.value) return true;
        break;
      case Toleration::Operator::Unknown:
        break;
    }
  }
  return false;
}

bool RequirementMatches(const NodeSelectorRequirement& r, const Labels& labels) {
  auto it = labels.find(r.key);
  const bool has = it != labels.end();
  switch (r.op) {
    case NodeSelectorRequirement::Operator::In:
      return has && std::ranges::find(r.values, it->second) != r.values.end();
    case NodeSelectorRequirement::Operator::NotIn:
      return !has || std::ranges::find(r.values, it->second) == r.values.end();
    case NodeSelectorRequirement::Operator::Exists:
      return has;
    case NodeSelectorRequirement::Operator::DoesNotExist:
      return !has;
    case NodeSelectorRequirement::Operator::Gt:
    case NodeSelectorRequirement::Operator::Lt: {
      if (!has || r.values.size() != 1) return false;
      auto a = ParseI64(it->second);
      auto b = ParseI64(r.values[0]);
      if (!a || !b) return false;
      return r.op == NodeSelectorRequirement::Operator::Gt ? *a > *b : *a < *b;
    }
    case NodeSelectorRequirement::Operator::Unknown:
      return false;
  }
  return false;
}

// Whether two pods have the same node constraints (so one eligibility check serves both).
bool SameConstraints(const Pod& a, const Pod& b) {
  return a.node_selector == b.node_selector && a.required_node_affinity == b.required_node_affinity &&
         a.tolerations == b.tolerations;
}

}  // namespace

std::string EncodeDevices(const DeviceAssignment& d) {
  std::string out;
  auto part = [&](std::string_view key, const std::string& value) {
    if (!out.empty()) out += ';';
    out += key;
    out += '=';
    out += value;
  };
  if (!d.gpus.empty()) part("gpus", JoinInts(d.gpus));
  if (!d.shared_gpus.empty()) {
    part("shared", JoinInts(d.shared_gpus));
    part("milli", std::to_string(d.gpu_milli));
  }
  if (!d.mig.empty()) {
    std::string m;
    for (const auto& ref : d.mig) {
      if (!m.empty()) m += ',';
      m += Format("{}:{}", ref.gpu, ref.instance);
    }
    part("mig", m);
  }
  if (d.numa >= 0) part("numa", std::to_string(d.numa));
  if (d.cpu_milli) part("cpu", std::to_string(d.cpu_milli));
  if (d.memory_bytes) part("mem", std::to_string(d.memory_bytes));
  return out;
}

std::optional<DeviceAssignment> DecodeDevices(std::string_view text) {
  DeviceAssignment d;
  while (!text.empty()) {
    auto semi = text.find(';');
    std::string_view item = text.substr(0, semi);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    if (key == "gpus" || key == "shared") {
      auto v = ParseInts(value);
      if (!v) return std::nullopt;
      (key == "gpus" ? d.gpus : d.shared_gpus) = *v;
    } else if (key == "mig") {
      while (!value.empty()) {
        auto comma = value.find(',');
        std::string_view ref = value.substr(0, comma);
        auto colon = ref.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        auto g = ParseI64(ref.substr(0, colon));
        auto i = ParseI64(ref.substr(colon + 1));
        if (!g || !i) return std::nullopt;
        d.mig.push_back({static_cast<int>(*g), static_cast<int>(*i)});
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
      }
    } else {
      auto v = ParseI64(value);
      if (!v) return std::nullopt;
      if (key == "milli") d.gpu_milli = static_cast<int>(*v);
      else if (key == "numa") d.numa = static_cast<int>(*v);
      else if (key == "cpu") d.cpu_milli = *v;
      else if (key == "mem") d.memory_bytes = *v;
      else return std::nullopt;
    }
    if (semi == std::string_view::npos) break;
    text.remove_prefix(semi + 1);
  }
  return d;
}

// The pod's device request, with the GPU models its node selector or required affinity allows on
// GPU Feature Discovery's nvidia.com/gpu.product label (so placement policies see the constraint).
std::expected<topology::DeviceRequest, std::string> DeviceRequestOf(const Pod& pod) {
  constexpr std::string_view kGpuProduct = "nvidia.com/gpu.product";
  auto req = topology::DeviceRequestFromPod(pod.requests, pod.annotations);
  if (!req) return req;
  if (auto it = pod.node_selector.find(std::string(kGpuProduct)); it != pod.node_selector.end()) {
    req->gpu_models = {it->second};
  } else if (pod.required_node_affinity.size() == 1) {
    for (const auto& r : pod.required_node_affinity.front()) {
      if (r.key == kGpuProduct && r.op == NodeSelectorRequirement::Operator::In) req->gpu_models = r.values;
    }
  }
  return req;
}

namespace {

// kube-scheduler's node eligibility checks; the reason is written only when asked for (filters call
// this for every node, and a reason costs an allocation).
bool Eligible(const Pod& pod, const Node& node, std::string* reason) {
  auto fail = [&](auto&& make) {
    if (reason != nullptr) *reason = make();
    return false;
  };
  if (node.unschedulable) return fail([] { return std::string("node is cordoned (unschedulable)"); });
  if (!node.ready) return fail([] { return std::string("node is not ready"); });
  for (const auto& taint : node.taints) {
    if (taint.effect == TaintEffect::PreferNoSchedule) continue;
    if (!TaintTolerated(taint, pod.tolerations)) {
      return fail([&] { return Format("node has taint {}={} that the pod does not tolerate", taint.key, taint.value); });
    }
  }
  for (const auto& [key, value] : pod.node_selector) {
    auto it = node.labels.find(key);
    if (it == node.labels.end() || it->second != value) {
      return fail([&] { return Format("node does not match nodeSelector {}={}", key, value); });
    }
  }
  if (!pod.required_node_affinity.empty()) {
    bool any = false;
    for (const auto& term : pod.required_node_affinity) {
      if (term.empty()) continue;  // an empty term matches nothing
      bool all = true;
      for (const auto& r : term) {
        if (!RequirementMatches(r, node.labels)) {
          all = false;
          break;
        }
      }
      if (all) {
        any = true;
        break;
      }
    }
    if (!any) return fail([] { return std::string("node does not match the pod's required node affinity"); });
  }
  return true;
}

}  // namespace

std::string NodeIneligibility(const Pod& pod, const Node& node) {
  std::string reason;
  Eligible(pod, node, &reason);
  return reason;
}

bool NodeEligible(const Pod& pod, const Node& node) { return Eligible(pod, node, nullptr); }

std::string_view ToString(GangPhase phase) {
  switch (phase) {
    case GangPhase::Collecting: return "Collecting";
    case GangPhase::Queued: return "Queued";
    case GangPhase::Preempting: return "Preempting";
    case GangPhase::Planned: return "Planned";
    case GangPhase::Running: return "Running";
  }
  return "Unknown";
}

std::string DescribePending(const PendingView& view) {
  std::string out;
  if (view.queues.empty()) return "no pending gangs\n";
  for (const auto& q : view.queues) {
    out += q.cluster_queue.empty() ? std::string("(no ClusterQueue)") : "ClusterQueue " + q.cluster_queue;
    out += Format(": {} pending\n", q.gangs.size());
    for (const auto& g : q.gangs) {
      out += Format("  {}. {} [{}, {}/{} members, priority {}]: {}\n", g.position, g.gang, ToString(g.phase), g.members,
                    g.min_member, g.priority, g.reason);
      if (!g.unblock.empty()) out += "     unblocked by: " + g.unblock + "\n";
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

struct Held {
  std::string node;
  DeviceAssignment devices;
};

struct Gang {
  std::string key;
  std::string namespace_;
  std::string pod_group;  // scheduler-plugins PodGroup name, when the gang needs one
  int min_member = 1;
  std::optional<Seconds> timeout;
  std::set<std::string> members;  // live (not finished) pod UIDs
  GangPhase phase = GangPhase::Collecting;
  bool uses_quota = false;
  std::string cluster_queue;
  std::string queue_error;
  std::int32_t priority = 0;
  Seconds created = 0;
  bool quota_admitted = false;
  std::vector<std::string> planned;  // UIDs with a reservation from this gang's plan, not yet bound
  std::set<std::string> at_barrier;
  Seconds deadline = 0;
  Seconds first_bind = -1;  // when the first member reached the barrier (-1: none yet)
  Seconds queued_since = 0; // when it last entered its queue
  std::set<std::string> bound;
  int failures = 0;
  Seconds backoff_until = 0;
  std::set<std::string> excluded_nodes;
  std::uint64_t blocked_epoch = 0;  // the epoch its last admission attempt failed in (0: none)
  std::string reason;
  std::string unblock;
  std::set<std::string> victims;     // running gangs being evicted for this one
  std::set<std::string> held_nodes;  // nodes of the held plan while victims terminate
  bool evicted = false;              // evicted: waits for its pods to go
  std::map<std::string, std::string> failed_binds;  // UID -> why its bind failed
};

struct Engine::State {
  EngineOptions options;
  std::map<std::string, Node, std::less<>> nodes;
  std::map<std::string, std::vector<topology::NrtZone>, std::less<>> zones;  // NodeResourceTopology by node
  std::map<std::string, topology::NodeHardware, std::less<>> file_hardware;  // from a topology file, by node
  std::optional<topology::Topology> topo;
  bool topo_dirty = true;
  std::vector<const Node*> node_by_id;
  std::unordered_map<std::string, Pod> pods;                      // by UID
  std::unordered_map<std::string, std::string> gang_of;           // UID -> gang key
  std::map<std::string, Held> held;                               // UID -> reservation on the topology
  std::map<std::string, Gang, std::less<>> gangs;
  std::map<std::string, PodGroup, std::less<>> pod_groups;        // by ns/name
  std::map<std::string, std::map<std::string, std::string>> namespace_labels;
  std::optional<quota::QuotaState> quota;
  bool cycle_dirty = true;
  // Bumped whenever capacity or quota may have been freed or preemption candidates changed, so a gang
  // that failed admission is not retried (placement is the costly part) until something changed.
  std::uint64_t epoch = 1;
  Actions actions;
  MetricsSink* metrics = nullptr;
  // Gangs that may need the cycle or a timer: every gang but those running with every member bound.
  // The cycle, timeouts and wake-ups walk these instead of every gang.
  // Keyed by gang key (a stable order); the pointers are into `gangs`, whose nodes do not move, and
  // a gang leaves this map before it leaves `gangs`.
  std::map<std::string, Gang*, std::less<>> unsettled;

  void Mark(Gang& g) { unsettled.try_emplace(g.key, &g); }

  // Calls f for each unsettled gang (f may mark gangs; it must not erase gangs).
  template <typename F>
  void ForUnsettled(F&& f) {
    for (auto& [key, g] : unsettled) f(*g);
  }

  void PruneSettled() {
    std::erase_if(unsettled, [&](const auto& entry) {
      const Gang& g = *entry.second;
      return g.phase == GangPhase::Running && !g.evicted && UnboundMembers(g) == 0;
    });
  }
  Seconds latest = 0;  // the latest `now` seen (times in state are stamped with it)

  void See(Seconds now) { latest = std::max(latest, now); }

  // --- topology and reservations ---

  // A node's hardware: its labels and allocatable; then the topology file's description of it (which
  // wins on structure), else the NUMA layout of its NodeResourceTopology.
  topology::NodeHardware HardwareOf(const std::string& name, const Node& node,
                                    const std::vector<topology::FabricLevel>& levels) const {
    auto hw = topology::HardwareFromLabels(name, node.labels, node.allocatable, levels);
    if (auto f = file_hardware.find(name); f != file_hardware.end()) return topology::MergeFileAndLabels(f->second, hw);
    if (auto z = zones.find(name); z != zones.end() && hw.usable()) topology::ApplyNodeResourceTopology(hw, z->second);
    return hw;
  }

  // Applies a changed description of a node (labels, allocatable, zones): in place when its shape is
  // kept (reservations kept); otherwise, or for a node the topology does not hold yet, the topology
  // is rebuilt on next use.
  void RefreshHardware(const std::string& name, const Node& node) {
    if (topo && !topo_dirty) {
      if (auto id = topo->FindNode(name); id && topo->UpdateNode(*id, HardwareOf(name, node, options.levels))) return;
    }
    topo_dirty = true;
  }

  void EnsureTopology() {
    if (!topo_dirty && topo) return;
    topo_dirty = false;
    std::vector<topology::NodeHardware> hw;
    hw.reserve(nodes.size());
    for (const auto& [name, node] : nodes) hw.push_back(HardwareOf(name, node, options.levels));
    auto built = topology::Topology::Build(options.levels, std::move(hw));
    if (!built) {
      // Inconsistent fabric labels: fall back to no fabric levels so placement still works per node.
      std::vector<topology::NodeHardware> flat;
      for (const auto& [name, node] : nodes) flat.push_back(HardwareOf(name, node, {}));
      built = topology::Topology::Build({}, std::move(flat));
    }
    topo = std::move(*built);
    ++epoch;
    node_by_id.assign(topo->node_count(), nullptr);
    for (NodeId n = 0; n < topo->node_count(); ++n) {
      auto it = nodes.find(topo->node(n).name);
      node_by_id[n] = it == nodes.end() ? nullptr : &it->second;
    }
    // Re-reserve: bound pods first, then plans. A plan that no longer fits is broken whole.
    std::set<std::string> broken;
    std::vector<std::string> lost;
    for (int pass = 0; pass < 2; ++pass) {
      for (auto& [uid, h] : held) {
        const Pod& pod = pods.at(uid);
        const bool is_bound = !pod.node_name.empty();
        if (is_bound != (pass == 0)) continue;
        auto n = topo->FindNode(h.node);
        if (!n || !topo->Reserve(*n, h.devices)) {
          if (is_bound) lost.push_back(uid);
          else broken.insert(gang_of.at(uid));
          h.node.clear();  // not reserved
        }
      }
    }
    for (const auto& uid : lost) held.erase(uid);
    for (const auto& key : broken) {
      auto it = gangs.find(key);
      if (it != gangs.end()) BreakPlan(it->second, "a planned node changed or went away; re-planning the whole gang");
    }
  }

  bool ReserveHeld(const std::string& uid, const std::string& node, const DeviceAssignment& devices) {
    auto n = topo->FindNode(node);
    if (!n || !topo->Reserve(*n, devices)) return false;
    held[uid] = Held{node, devices};
    return true;
  }

  void ReleaseHeld(const std::string& uid) {
    auto it = held.find(uid);
    if (it == held.end()) return;
    if (topo && !topo_dirty && !it->second.node.empty()) {
      if (auto n = topo->FindNode(it->second.node)) (void)topo->Release(*n, it->second.devices);
    }
    held.erase(it);
    ++epoch;
  }

  // A pod bound outside a plan (restart, another scheduler): its devices from the annotation, else
  // chosen now, so the capacity is counted.
  void AccountBound(const Pod& pod) {
    EnsureTopology();
    auto n = topo->FindNode(pod.node_name);
    if (!n) return;
    std::optional<DeviceAssignment> devices;
    if (auto a = pod.annotations.find(kDevicesAnnotation); a != pod.annotations.end()) devices = DecodeDevices(a->second);
    if (!devices) {
      auto req = topology::DeviceRequestFromPod(pod.requests, pod.annotations);
      if (!req) return;
      auto chosen = topology::ChooseDevices(topo->node(*n), topo->state(*n), *req);
      if (!chosen) return;
      devices = std::move(*chosen);
    }
    ReserveHeld(pod.uid, pod.node_name, *devices);
  }

  // --- gangs ---

  void ReleaseQuota(Gang& g) {
    if (g.quota_admitted && quota) {
      quota->Release(g.key);
      ++epoch;
    }
    g.quota_admitted = false;
  }

  // Drops a plan that has not bound: reservations and quota released, the gang back in its queue.
  void BreakPlan(Gang& g, const std::string& why) {
    Mark(g);
    for (const auto& uid : g.planned) {
      if (g.at_barrier.contains(uid)) g.failed_binds[uid] = why;
      ReleaseHeld(uid);
    }
    g.planned.clear();
    g.at_barrier.clear();
    g.deadline = 0;
    g.first_bind = -1;
    g.held_nodes.clear();
    g.victims.clear();
    g.blocked_epoch = 0;
    if (g.phase == GangPhase::Planned || g.phase == GangPhase::Preempting) {
      ReleaseQuota(g);
      g.phase = GangPhase::Queued;
      g.queued_since = latest;
      g.reason = why;
    }
    cycle_dirty = true;
  }

  const Pod* FirstMember(const Gang& g) const {
    for (const auto& uid : g.members) {
      auto it = pods.find(uid);
      if (it != pods.end()) return &it->second;
    }
    return nullptr;
  }

  int UnboundMembers(const Gang& g) const {
    int n = 0;
    for (const auto& uid : g.members) n += g.bound.contains(uid) ? 0 : 1;
    return n;
  }

  // Recomputes what a gang's members and PodGroup say: size, timeout, queue, priority, phase.
  void Refresh(Gang& g) {
    Mark(g);
    g.blocked_epoch = 0;
    const Pod* first = FirstMember(g);
    if (first == nullptr) return;
    if (!g.pod_group.empty()) {
      auto pg = pod_groups.find(g.namespace_ + "/" + g.pod_group);
      if (pg != pod_groups.end()) {
        g.min_member = std::max(1, pg->second.min_member);
        if (pg->second.schedule_timeout_seconds) g.timeout = *pg->second.schedule_timeout_seconds;
      }
    } else if (auto a = first->annotations.find(kPodGroupTotalCountAnnotation); a != first->annotations.end()) {
      auto v = ParseI64(a->second);
      g.min_member = v && *v > 0 ? static_cast<int>(*v) : 1;
    }
    g.priority = first->priority;
    g.uses_quota = false;
    g.queue_error.clear();
    g.cluster_queue.clear();
    if (auto q = first->labels.find(kQueueNameLabel); q != first->labels.end()) {
      g.uses_quota = true;
      if (!quota) {
        g.queue_error = "no Kueue configuration is loaded";
      } else {
        static const std::map<std::string, std::string> kNoLabels;
        auto nl = namespace_labels.find(g.namespace_);
        auto cq = quota->ResolveLocalQueue(g.namespace_, q->second, nl == namespace_labels.end() ? kNoLabels : nl->second);
        if (cq) g.cluster_queue = *cq;
        else g.queue_error = cq.error();
      }
    }
    if (auto pc = first->labels.find(kPriorityClassLabel); pc != first->labels.end() && quota) {
      if (auto v = quota->PriorityClassValue(pc->second)) g.priority = *v;
    }
    if (g.phase == GangPhase::Collecting || g.phase == GangPhase::Queued) {
      const bool pg_missing = !g.pod_group.empty() && !pod_groups.contains(g.namespace_ + "/" + g.pod_group);
      const int present = static_cast<int>(g.members.size());
      if (pg_missing) {
        g.phase = GangPhase::Collecting;
        g.reason = Format("waiting for PodGroup {}/{}", g.namespace_, g.pod_group);
        g.unblock = Format("create PodGroup {}/{}", g.namespace_, g.pod_group);
      } else if (present < g.min_member) {
        g.phase = GangPhase::Collecting;
        g.reason = Format("waiting for {} of {} members ({} present)", g.min_member - present, g.min_member, present);
        g.unblock = Format("{} more member pod(s) of {}", g.min_member - present, g.key);
      } else if (g.phase == GangPhase::Collecting) {
        g.phase = GangPhase::Queued;
        g.queued_since = latest;
        g.reason = "queued for admission";
        g.unblock.clear();
      }
    }
  }

  quota::Workload WorkloadOf(const Gang& g, const std::vector<std::string>& uids) const {
    quota::Workload w;
    w.name = g.key;
    w.cluster_queue = g.cluster_queue;
    w.priority = g.priority;
    w.creation_time = static_cast<std::int64_t>(g.created * 1000.0);
    // Members with equal requests form one pod set, so the quota sees counts as Kueue does.
    std::vector<quota::PodSet> merged_sets;
    std::vector<ResourceList> per;
    for (const auto& uid : uids) {
      ResourceList r = pods.at(uid).requests;
      r.Set(kResourcePods, 0);
      bool found = false;
      for (std::size_t i = 0; i < merged_sets.size(); ++i) {
        if (per[i] == r) {
          merged_sets[i].count++;
          merged_sets[i].requests += r;
          found = true;
          break;
        }
      }
      if (!found) {
        quota::PodSet ps;
        ps.name = "set-" + std::to_string(merged_sets.size());
        ps.count = 1;
        ps.requests = r;
        per.push_back(std::move(r));
        merged_sets.push_back(std::move(ps));
      }
    }
    w.pod_sets = std::move(merged_sets);
    return w;
  }

  // The nodes a gang may use: every member's constraints, not excluded, not held for a preemptor.
  std::function<bool(NodeId)> NodeFilter(const Gang& g, const std::vector<std::string>& uids) const {
    std::vector<const Pod*> distinct;
    for (const auto& uid : uids) {
      const Pod* p = &pods.at(uid);
      if (std::ranges::none_of(distinct, [&](const Pod* d) { return SameConstraints(*d, *p); })) distinct.push_back(p);
    }
    std::set<std::string> held_by_others;
    for (const auto& [key, other] : unsettled) {
      if (other == &g || other->phase != GangPhase::Preempting) continue;
      held_by_others.insert(other->held_nodes.begin(), other->held_nodes.end());
    }
    return [this, distinct = std::move(distinct), excluded = g.excluded_nodes,
            held_by_others = std::move(held_by_others)](NodeId n) {
      const Node* node = node_by_id[n];
      if (node == nullptr) return false;
      if (!excluded.empty() && excluded.contains(node->name)) return false;
      if (!held_by_others.empty() && held_by_others.contains(node->name)) return false;
      for (const Pod* p : distinct) {
        if (!NodeEligible(*p, *node)) return false;
      }
      return true;
    };
  }

  // The unbound members to plan (all of them: the whole gang is planned at once).
  std::vector<std::string> PlanMembers(const Gang& g) const {
    std::vector<std::string> uids;
    for (const auto& uid : g.members) {
      if (!g.bound.contains(uid)) uids.push_back(uid);
    }
    return uids;
  }

  using PlanResult = std::expected<std::vector<std::pair<std::string, topology::MemberPlacement>>, std::string>;

  PlanResult PlanOn(const topology::Topology& t, const Gang& g, const std::vector<std::string>& uids) const {
    std::vector<topology::PodSetRequest> sets;
    std::vector<std::vector<std::string>> set_uids;
    for (const auto& uid : uids) {
      const Pod& pod = pods.at(uid);
      auto req = DeviceRequestOf(pod);
      if (!req) return std::unexpected(Format("pod {}: {}", pod.Key(), req.error()));
      bool found = false;
      for (std::size_t i = 0; i < sets.size(); ++i) {
        if (sets[i].member == *req) {
          sets[i].count++;
          set_uids[i].push_back(uid);
          found = true;
          break;
        }
      }
      if (!found) {
        sets.push_back({"set-" + std::to_string(sets.size()), 1, *req});
        set_uids.push_back({uid});
      }
    }
    if (sets.empty()) return std::unexpected(std::string("no member to place"));
    const Pod& first = pods.at(uids.front());
    auto filter = NodeFilter(g, uids);
    std::vector<std::pair<std::string, topology::MemberPlacement>> out;
    if (sets.size() == 1) {
      topology::GangRequest req;
      req.members = sets[0].count;
      req.member = sets[0].member;
      topology::ApplyTopologyAnnotations(req, first.annotations);
      req.node_filter = std::move(filter);
      if (options.placement) {
        req.node_cost = [&t, &req, policy = options.placement.get()](NodeId n) {
          return policy->Cost(n, t.StateVersion(n), t.node(n), t.state(n), req.member, req.members);
        };
      }
      auto plan = topology::PlaceGang(t, req);
      if (!plan) return std::unexpected(plan.error().reason);
      for (std::size_t i = 0; i < plan->members.size(); ++i) out.emplace_back(set_uids[0][i], plan->members[i]);
      return out;
    }
    topology::GroupRequest req;
    req.pod_sets = sets;
    topology::GangRequest levels;
    topology::ApplyTopologyAnnotations(levels, first.annotations);
    req.required_level = levels.required_level;
    req.preferred_level = levels.preferred_level;
    req.node_filter = std::move(filter);
    auto plan = topology::PlaceGroup(t, req);
    if (!plan) return std::unexpected(plan.error().reason);
    for (std::size_t s = 0; s < plan->pod_sets.size(); ++s) {
      for (std::size_t i = 0; i < plan->pod_sets[s].members.size(); ++i) out.emplace_back(set_uids[s][i], plan->pod_sets[s].members[i]);
    }
    return out;
  }

  // Reserves a plan on the live topology, all or nothing.
  bool Reserve(Gang& g, const std::vector<std::pair<std::string, topology::MemberPlacement>>& plan) {
    std::vector<std::string> done;
    for (const auto& [uid, m] : plan) {
      if (!ReserveHeld(uid, topo->node(m.node).name, m.devices)) {
        for (const auto& u : done) ReleaseHeld(u);
        return false;
      }
      done.push_back(uid);
    }
    g.planned = std::move(done);
    return true;
  }

  Seconds TimeoutOf(const Gang& g) const { return g.timeout.value_or(options.default_bind_timeout); }

  void Admitted(Gang& g, Seconds now) {
    if (metrics) metrics->WorkloadAdmitted(g.cluster_queue, std::max<Seconds>(0, now - g.queued_since));
    g.phase = GangPhase::Planned;
    Mark(g);
    ++epoch;
    g.deadline = now + TimeoutOf(g);
    g.failed_binds.clear();
    g.reason = Format("admitted; {} member(s) planned, waiting for their binds", g.planned.size());
    g.unblock.clear();
    actions.statuses.push_back({g.key, "Admitted", g.reason});
  }

  std::vector<std::string> LiveUids(const Gang& g) const {
    std::vector<std::string> out;
    for (const auto& uid : g.members) out.push_back(uid);
    return out;
  }

  // Tries to admit one queued gang now. Returns true when admitted (or preempting for it).
  bool TryAdmit(Gang& g, Seconds now) {
    if (g.blocked_epoch == epoch) return false;
    if (TryAdmitNow(g, now)) return true;
    g.blocked_epoch = epoch;
    return false;
  }

  bool TryAdmitNow(Gang& g, Seconds now) {
    auto uids = PlanMembers(g);
    if (uids.empty()) return false;
    std::optional<quota::Workload> workload;
    std::optional<quota::Assignment> assignment;
    if (g.uses_quota) {
      if (!g.queue_error.empty()) {
        g.reason = "queue: " + g.queue_error;
        if (metrics) metrics->PlanFailure("queue");
        g.unblock = "fix the kueue.x-k8s.io/queue-name label or create the LocalQueue";
        return false;
      }
      workload = WorkloadOf(g, uids);
      assignment = quota->Assign(*workload);
      if (assignment->mode == quota::FitMode::NoFit) {
        g.reason = "quota: " + assignment->Message();
        g.unblock = Format("free quota in ClusterQueue {} (or raise its nominalQuota/borrowingLimit)", g.cluster_queue);
        if (metrics) metrics->PlanFailure("quota");
        return false;
      }
    }
    std::string place_reason;
    if (!assignment || assignment->mode == quota::FitMode::Fit) {
      auto plan = PlanOn(*topo, g, uids);
      if (!plan && !g.excluded_nodes.empty()) {
        // Nodes kube-scheduler once did not offer are a hint, not a ban: never preempt to avoid them.
        g.excluded_nodes.clear();
        plan = PlanOn(*topo, g, uids);
      }
      if (plan) {
        if (!Reserve(g, *plan)) return false;
        if (assignment) {
          g.quota_admitted = quota->Admit(*workload, *assignment).has_value();
        }
        Admitted(g, now);
        return true;
      }
      place_reason = plan.error();
      if (metrics) metrics->PlanFailure("capacity");
      g.reason = "capacity: " + place_reason;
      g.unblock = "free capacity in a domain that can hold the whole gang (workloads finishing, nodes added)";
    } else {
      g.reason = "quota: " + assignment->Message();
      g.unblock = Format("preemption in ClusterQueue {} or its cohort", g.cluster_queue);
      if (metrics) metrics->PlanFailure("quota");
    }
    if (!options.preemption) return false;
    return TryPreempt(g, uids, workload, assignment, now);
  }

  bool Preemptible(const Gang& v) const {
    return (v.phase == GangPhase::Running || v.phase == GangPhase::Planned) && !v.evicted;
  }

  void ReleaseOn(topology::Topology& t, const Gang& v) const {
    for (const auto& [uid, h] : held) {
      if (h.node.empty() || gang_of.at(uid) != v.key) continue;
      if (auto n = t.FindNode(h.node)) (void)t.Release(*n, h.devices);
    }
  }
  void ReserveOn(topology::Topology& t, const Gang& v) const {
    for (const auto& [uid, h] : held) {
      if (h.node.empty() || gang_of.at(uid) != v.key) continue;
      if (auto n = t.FindNode(h.node)) (void)t.Reserve(*n, h.devices);
    }
  }

  bool TryPreempt(Gang& g, const std::vector<std::string>& uids, const std::optional<quota::Workload>& workload,
                  const std::optional<quota::Assignment>& assignment, Seconds now) {
    std::vector<std::string> quota_victims;
    if (assignment && assignment->mode == quota::FitMode::Preempt) {
      auto result = quota->FindPreemptionTargets(*workload, *assignment);
      if (result.targets.empty()) {
        g.reason = "quota: " + assignment->Message() + "; no preemption possible: " + result.Message();
        return false;
      }
      for (const auto& t : result.targets) {
        auto it = gangs.find(t.workload);
        if (it == gangs.end() || !Preemptible(it->second)) {
          g.reason = "quota: waiting for earlier preemptions to finish";
          return false;
        }
        quota_victims.push_back(t.workload);
      }
    }
    topology::Topology trial = *topo;
    for (const auto& key : quota_victims) ReleaseOn(trial, gangs.at(key));
    auto plan = PlanOn(trial, g, uids);
    std::vector<std::string> capacity_victims;
    if (!plan) {
      // A preemptor that borrows quota never takes capacity from another ClusterQueue's workload
      // that its queue's nominal quota guarantees (Kueue's promise to lenders): it could otherwise
      // evict the very workload whose queue then reclaims the borrowed quota from it, in a cycle.
      const bool borrowing = assignment && assignment->borrows;
      std::vector<const Gang*> candidates;
      int guaranteed = 0;
      for (const auto& [key, v] : gangs) {
        if (&v == &g || !Preemptible(v) || v.priority >= g.priority) continue;
        if (std::ranges::find(quota_victims, key) != quota_victims.end()) continue;
        if (borrowing && v.quota_admitted && v.cluster_queue != g.cluster_queue && !quota->ReleaseKeepsNominal(v.key)) {
          ++guaranteed;
          continue;
        }
        candidates.push_back(&v);
      }
      std::ranges::sort(candidates, [](const Gang* a, const Gang* b) {
        if (a->priority != b->priority) return a->priority < b->priority;
        if (a->created != b->created) return a->created > b->created;
        return a->key < b->key;
      });
      for (const Gang* v : candidates) {
        ReleaseOn(trial, *v);
        capacity_victims.push_back(v->key);
        plan = PlanOn(trial, g, uids);
        if (plan) break;
      }
      if (!plan) {
        g.reason = Format("capacity: {}; preempting every lower-priority workload would not make room", plan.error());
        if (guaranteed > 0) {
          g.reason += Format(" ({} workload(s) of other ClusterQueues within their nominal quota are not taken by a "
                             "gang that borrows)", guaranteed);
        }
        return false;
      }
      // Minimise: give back each victim (latest first) whose removal is not needed.
      for (std::size_t i = capacity_victims.size(); i-- > 0;) {
        const Gang& v = gangs.at(capacity_victims[i]);
        ReserveOn(trial, v);
        if (auto again = PlanOn(trial, g, uids)) {
          plan = std::move(again);
          capacity_victims.erase(capacity_victims.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ReleaseOn(trial, v);
        }
      }
      plan = PlanOn(trial, g, uids);
      if (!plan) return false;
    }
    // Evict the victims: running ones through eviction, planned ones simply lose their plan.
    std::vector<std::string> victims = quota_victims;
    victims.insert(victims.end(), capacity_victims.begin(), capacity_victims.end());
    std::set<std::string> waiting;
    for (const auto& key : victims) {
      Gang& v = gangs.at(key);
      const bool by_quota = std::ranges::find(quota_victims, key) != quota_victims.end();
      const std::string why = Format("preempted by {} (priority {} vs {}): {}", g.key, g.priority, v.priority,
                                          by_quota ? "quota" : "capacity");
      if (metrics) metrics->WorkloadPreempted(by_quota ? "quota" : "capacity");
      if (v.phase == GangPhase::Planned) {
        BreakPlan(v, why);
        actions.statuses.push_back({v.key, "Preempted", why});
        continue;
      }
      ReleaseQuota(v);
      v.evicted = true;
      Mark(v);
      actions.evictions.push_back({v.key, LiveUids(v), why});
      actions.statuses.push_back({v.key, "Evicted", why});
      waiting.insert(key);
    }
    if (workload) {
      auto again = quota->Assign(*workload);
      g.quota_admitted = quota->Admit(*workload, again).has_value();
    }
    if (waiting.empty()) {
      auto live = PlanOn(*topo, g, uids);
      if (live && Reserve(g, *live)) {
        Admitted(g, now);
        return true;
      }
    }
    g.phase = GangPhase::Preempting;
    Mark(g);
    g.victims = std::move(waiting);
    g.held_nodes.clear();
    for (const auto& [uid, m] : *plan) g.held_nodes.insert(trial.node(m.node).name);
    g.reason = Format("waiting for {} preempted workload(s) to terminate", g.victims.size());
    g.unblock = "the preempted pods terminating";
    actions.statuses.push_back({g.key, "Preempting", g.reason});
    return true;
  }

  // Moves a planned gang (no member at the barrier yet) off `node`, which kube-scheduler did not
  // offer, onto free capacity elsewhere. Placement only: no quota change and never a preemption, as
  // kube-scheduler's snapshot often just lags (pods still terminating or assumed there). Returns false,
  // keeping the plan, when the gang fits nowhere else.
  bool ReplanWithout(Gang& g, const std::string& node, Seconds now) {
    if (g.planned.empty()) return false;
    topology::Topology trial = *topo;
    std::vector<std::pair<std::string, Held>> old;
    for (const auto& uid : g.planned) {
      auto h = held.find(uid);
      if (h == held.end()) return false;
      old.emplace_back(uid, h->second);
      if (auto n = trial.FindNode(h->second.node)) (void)trial.Release(*n, h->second.devices);
    }
    g.excluded_nodes.insert(node);
    auto plan = PlanOn(trial, g, g.planned);
    if (!plan) {
      g.excluded_nodes.erase(node);
      return false;
    }
    for (const auto& [uid, h] : old) ReleaseHeld(uid);
    g.planned.clear();
    if (!Reserve(g, *plan)) {
      for (const auto& [uid, h] : old) {
        if (ReserveHeld(uid, h.node, h.devices)) g.planned.push_back(uid);
      }
      return false;
    }
    Mark(g);
    ++epoch;
    cycle_dirty = true;
    g.deadline = now + TimeoutOf(g);
    g.reason = Format("admitted; re-planned without {} (not offered by kube-scheduler); {} member(s) planned, waiting for their binds",
                      node, g.planned.size());
    return true;
  }

  // A preemptor whose victims are gone takes its place (its held nodes are free of other claims).
  void AdvancePreemptor(Gang& g, Seconds now) {
    std::erase_if(g.victims, [&](const std::string& key) {
      auto it = gangs.find(key);
      if (it == gangs.end() || !it->second.evicted) return true;
      return std::ranges::none_of(it->second.members, [&](const std::string& uid) { return held.contains(uid); });
    });
    if (!g.victims.empty()) return;
    auto uids = PlanMembers(g);
    if (!uids.empty()) {
      auto plan = PlanOn(*topo, g, uids);
      if (plan && Reserve(g, *plan)) {
        g.held_nodes.clear();
        Admitted(g, now);
        return;
      }
    }
    ReleaseQuota(g);
    g.held_nodes.clear();
    g.phase = GangPhase::Queued;
    g.reason = "victims terminated but the plan no longer fits; re-queued";
  }

  // Extra members of a running gang (a replaced pod): planned one by one, bound without a barrier.
  void PlanExtras(Gang& g) {
    for (const auto& uid : g.members) {
      if (g.bound.contains(uid) || held.contains(uid)) continue;
      std::vector<std::string> one{uid};
      auto plan = PlanOn(*topo, g, one);
      if (!plan) continue;
      if (ReserveHeld(uid, topo->node(plan->front().second.node).name, plan->front().second.devices)) g.planned.push_back(uid);
    }
  }

  void Timeouts(Seconds now) {
    ForUnsettled([&](Gang& g) {
      if (g.phase != GangPhase::Planned || now <= g.deadline) return;
      const std::string why = Format("bind barrier timed out: {} of {} members reached bind", g.at_barrier.size(),
                                          g.planned.size());
      g.failures++;
      if (metrics) {
        if (g.first_bind >= 0) metrics->BindBarrier(now - g.first_bind, false);
        metrics->PlanFailure("barrier_timeout");
      }
      const double delay = std::min(options.backoff_max, options.backoff_initial * std::pow(2.0, g.failures - 1));
      g.backoff_until = now + delay;
      BreakPlan(g, why);
      g.reason = Format("{}; retrying after {}s of backoff", why, delay);
      g.unblock = "every member reaching bind within the timeout";
      actions.statuses.push_back({g.key, "BarrierTimeout", g.reason});
    });
  }

  void Cycle(Seconds now) {
    EnsureTopology();
    cycle_dirty = false;
    ForUnsettled([&](Gang& g) {
      if (g.phase == GangPhase::Preempting) AdvancePreemptor(g, now);
      else if (g.phase == GangPhase::Running) PlanExtras(g);
    });
    PruneSettled();
    // Queue order per ClusterQueue; gangs outside Kueue form the "" queue.
    std::map<std::string, std::vector<Gang*>> queues;
    ForUnsettled([&](Gang& g) {
      if (g.phase != GangPhase::Queued || g.evicted) return;
      if (g.backoff_until > now) return;
      queues[g.cluster_queue].push_back(&g);
    });
    for (auto& [cq, list] : queues) {
      std::ranges::sort(list, [](const Gang* a, const Gang* b) {
        if (a->priority != b->priority) return a->priority > b->priority;
        if (a->created != b->created) return a->created < b->created;
        return a->key < b->key;
      });
      bool strict = false;
      if (quota && !cq.empty()) {
        for (const auto& c : quota->config().cluster_queues) {
          if (c.name == cq) strict = c.queueing_strategy == quota::QueueingStrategy::StrictFIFO;
        }
      }
      for (Gang* g : list) {
        if (!TryAdmit(*g, now) && strict) break;
      }
    }
  }

  Seconds NextWakeup() const {
    Seconds next = std::numeric_limits<Seconds>::infinity();
    for (const auto& [key, gang] : unsettled) {
      const Gang& g = *gang;
      if (g.phase == GangPhase::Queued && g.backoff_until > 0) next = std::min(next, g.backoff_until);
      if (g.phase == GangPhase::Planned) next = std::min(next, g.deadline);
    }
    return next;
  }

  Seconds last_wakeup_check = -std::numeric_limits<Seconds>::infinity();

  void Advance(Seconds now) {
    EnsureTopology();
    Timeouts(now);
    bool backoff_expired = false;
    ForUnsettled([&](const Gang& g) {
      if (g.phase == GangPhase::Queued && g.backoff_until > last_wakeup_check && g.backoff_until <= now) backoff_expired = true;
    });
    last_wakeup_check = now;
    if (cycle_dirty || backoff_expired) Cycle(now);
  }

  // --- pods ---

  void DropMember(const std::string& uid, Seconds now) {
    auto gi = gang_of.find(uid);
    if (gi == gang_of.end()) return;
    auto it = gangs.find(gi->second);
    ReleaseHeld(uid);
    if (it == gangs.end()) return;
    Gang& g = it->second;
    if (!g.members.contains(uid)) return;  // already dropped (finished, then deleted)
    const bool was_planned = std::ranges::find(g.planned, uid) != g.planned.end();
    g.members.erase(uid);
    g.bound.erase(uid);
    std::erase(g.planned, uid);
    g.at_barrier.erase(uid);
    if ((g.phase == GangPhase::Planned || g.phase == GangPhase::Preempting) && (was_planned || g.phase == GangPhase::Preempting)) {
      BreakPlan(g, Format("member pod {} went away before binding; re-planning", pods.count(uid) ? pods.at(uid).Key() : uid));
    }
    const bool holds = std::ranges::any_of(g.members, [&](const std::string& u) { return held.contains(u); });
    if (g.phase == GangPhase::Running && !holds) {
      ReleaseQuota(g);
      g.phase = GangPhase::Collecting;
      g.bound.clear();
      g.planned.clear();
    }
    if (g.evicted && !holds) {
      g.evicted = false;
      g.phase = GangPhase::Collecting;
      g.bound.clear();
      g.planned.clear();
    }
    if (g.members.empty()) {
      ReleaseQuota(g);
      unsettled.erase(g.key);
      gangs.erase(it);  // after leaving `unsettled`, which points into it
    } else {
      Refresh(g);
    }
    (void)now;
    cycle_dirty = true;
  }

  Gang& GangFor(const Pod& pod, Seconds now) {
    const std::string key = Engine::GangKeyFor(pod);
    auto it = gangs.find(key);
    if (it == gangs.end()) {
      Gang g;
      g.key = key;
      g.namespace_ = pod.namespace_;
      if (auto l = pod.labels.find(kPodGroupLabel); l != pod.labels.end() && !l->second.empty()) g.pod_group = l->second;
      g.created = now;
      it = gangs.emplace(key, std::move(g)).first;
    }
    return it->second;
  }

  void Upsert(Pod pod, Seconds now) {
    EnsureTopology();
    const std::string uid = pod.uid;
    auto existing = pods.find(uid);
    if (pod.Finished()) {
      if (existing != pods.end()) {
        DropMember(uid, now);
        existing->second = std::move(pod);
      }
      return;
    }
    const bool now_bound = !pod.node_name.empty();
    if (existing == pods.end()) {
      if (options.placement) {
        if (auto req = DeviceRequestOf(pod)) options.placement->Observe(*req);
      }
      pods.emplace(uid, pod);
      Gang& g = GangFor(pod, now);
      gang_of[uid] = g.key;
      g.members.insert(uid);
      if (now_bound) {
        AccountBound(pod);
        g.bound.insert(uid);
        if (g.phase == GangPhase::Collecting || g.phase == GangPhase::Queued) {
          // Found bound (restart or another scheduler): when the whole gang is bound it runs.
          Refresh(g);
          if (UnboundMembers(g) == 0 && static_cast<int>(g.members.size()) >= g.min_member) {
            g.phase = GangPhase::Running;
            if (g.uses_quota && g.queue_error.empty() && quota) {
              auto w = WorkloadOf(g, LiveUids(g));
              g.quota_admitted = quota->Admit(w, quota->Assign(w)).has_value();
            }
          }
        }
      } else if (g.phase == GangPhase::Planned) {
        BreakPlan(g, Format("new member {} joined; re-planning the whole gang", pod.Key()));
      }
      Refresh(g);
      cycle_dirty = true;
      return;
    }
    Pod& rec = existing->second;
    const bool was_bound = !rec.node_name.empty();
    rec = std::move(pod);
    auto gi = gangs.find(gang_of[uid]);
    if (now_bound && !was_bound && gi != gangs.end()) {
      Gang& g = gi->second;
      auto h = held.find(uid);
      if (h == held.end() || h->second.node != rec.node_name) {
        ReleaseHeld(uid);
        AccountBound(rec);
      }
      g.bound.insert(uid);
      std::erase(g.planned, uid);
      cycle_dirty = true;
    }
    if (gi != gangs.end()) Refresh(gi->second);
  }

  Binding BindingFor(const std::string& uid) const {
    const Pod& pod = pods.at(uid);
    Binding b{uid, pod.namespace_, pod.name, {}, {}};
    if (auto h = held.find(uid); h != held.end()) {
      b.node = h->second.node;
      b.annotations[std::string(kDevicesAnnotation)] = EncodeDevices(h->second.devices);
    } else {
      b.node = pod.node_name;
    }
    return b;
  }
};

// ---------------------------------------------------------------------------------------------------

Engine::Engine(EngineOptions options) : s_(std::make_unique<State>()) { s_->options = std::move(options); }
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

std::string Engine::GangKeyFor(const Pod& pod) {
  if (auto key = GangKeyOf(pod)) return *key;
  return "pod/" + pod.Key();
}

void Engine::UpsertNode(Node node, Seconds now) {
  s_->See(now);
  auto it = s_->nodes.find(node.name);
  const bool existed = it != s_->nodes.end();
  if (existed && it->second == node) return;
  std::string name = node.name;
  s_->nodes.insert_or_assign(name, std::move(node));
  s_->cycle_dirty = true;
  ++s_->epoch;
  const Node& stored = s_->nodes.at(name);
  s_->RefreshHardware(name, stored);
  // Plans whose members may no longer go there (cordoned, tainted, relabelled) are re-planned whole.
  std::set<std::string> broken;
  for (const auto& [uid, h] : s_->held) {
    if (h.node != name) continue;
    const Pod& pod = s_->pods.at(uid);
    if (!pod.node_name.empty()) continue;
    if (!NodeIneligibility(pod, stored).empty()) broken.insert(s_->gang_of.at(uid));
  }
  for (const auto& key : broken) {
    auto g = s_->gangs.find(key);
    if (g != s_->gangs.end() && g->second.phase == GangPhase::Planned && g->second.at_barrier.empty()) {
      s_->EnsureTopology();
      s_->BreakPlan(g->second, Format("planned node {} changed and no longer accepts the gang; re-planning", name));
    }
  }
}

void Engine::SetFileHardware(std::vector<topology::NodeHardware> nodes) {
  s_->file_hardware.clear();
  for (auto& hw : nodes) {
    std::string name = hw.name;
    s_->file_hardware.insert_or_assign(std::move(name), std::move(hw));
  }
  s_->topo_dirty = true;
  s_->cycle_dirty = true;
  ++s_->epoch;
}

bool Engine::SetNodeZones(std::string node, std::vector<topology::NrtZone> zones, Seconds now) {
  s_->See(now);
  auto it = s_->zones.find(node);
  if (zones.empty()) {
    if (it == s_->zones.end()) return false;
    s_->zones.erase(it);
  } else {
    if (it != s_->zones.end() && it->second == zones) return false;
    s_->zones.insert_or_assign(node, std::move(zones));
  }
  auto n = s_->nodes.find(node);
  if (n == s_->nodes.end()) return true;  // applied when the node arrives
  s_->RefreshHardware(node, n->second);
  s_->cycle_dirty = true;
  ++s_->epoch;
  return true;
}

void Engine::RemoveNode(std::string_view name, Seconds now) {
  s_->See(now);
  auto it = s_->nodes.find(name);
  if (it == s_->nodes.end()) return;
  s_->nodes.erase(it);
  s_->topo_dirty = true;
  s_->cycle_dirty = true;
  ++s_->epoch;
  (void)now;
}

void Engine::UpsertPod(Pod pod, Seconds now) {
  s_->See(now);
  s_->Upsert(std::move(pod), now);
}

void Engine::RemovePod(std::string_view uid, Seconds now) {
  s_->See(now);
  std::string key(uid);
  if (!s_->pods.contains(key)) return;
  s_->EnsureTopology();
  s_->DropMember(key, now);
  s_->pods.erase(key);
  s_->gang_of.erase(key);
}

void Engine::UpsertPodGroup(PodGroup group, Seconds now) {
  s_->See(now);
  std::string key = group.Key();
  s_->pod_groups.insert_or_assign(key, std::move(group));
  if (auto it = s_->gangs.find(key); it != s_->gangs.end()) s_->Refresh(it->second);
  s_->cycle_dirty = true;
  ++s_->epoch;
  (void)now;
}

void Engine::RemovePodGroup(std::string_view namespace_name, std::string_view name, Seconds now) {
  std::string key = std::string(namespace_name) + "/" + std::string(name);
  s_->pod_groups.erase(key);
  if (auto it = s_->gangs.find(key); it != s_->gangs.end()) s_->Refresh(it->second);
  (void)now;
}

void Engine::SetNamespaceLabels(std::string name, std::map<std::string, std::string> labels, Seconds now) {
  s_->namespace_labels[std::move(name)] = std::move(labels);
  for (auto& [key, g] : s_->gangs) s_->Refresh(g);
  s_->cycle_dirty = true;
  ++s_->epoch;
  (void)now;
}

std::expected<void, std::string> Engine::ReplaceQuota(const quota::QuotaConfig& config, Seconds now,
                                                      quota::QuotaOptions options) {
  auto built = quota::QuotaState::Build(config, std::move(options));
  if (!built) return std::unexpected(built.error());
  s_->quota = std::move(*built);
  for (auto& [key, g] : s_->gangs) {
    s_->Refresh(g);
    if (!g.quota_admitted) continue;
    g.quota_admitted = false;
    if (!g.uses_quota || !g.queue_error.empty()) continue;
    std::vector<std::string> uids(g.members.begin(), g.members.end());
    auto w = s_->WorkloadOf(g, uids);
    g.quota_admitted = s_->quota->Admit(w, s_->quota->Assign(w)).has_value();
  }
  s_->cycle_dirty = true;
  ++s_->epoch;
  (void)now;
  return {};
}

void Engine::AdvanceTime(Seconds now) {
  s_->See(now);
  s_->Advance(now);
}

std::vector<NodeVerdict> Engine::Filter(const Pod& pod, const std::vector<std::string_view>& candidates, Seconds now) {
  FilterDecision decision = Decide(pod, candidates, now);
  std::vector<NodeVerdict> out(candidates.size(), NodeVerdict{decision.others, decision.reason});
  for (std::size_t i : decision.fits) out[i] = NodeVerdict{};
  return out;
}

FilterDecision Engine::Decide(const Pod& pod, const std::vector<std::string_view>& candidates, Seconds now) {
  s_->See(now);
  if (!s_->pods.contains(pod.uid)) s_->Upsert(pod, now);
  s_->Advance(now);
  FilterDecision out;
  auto gi = s_->gang_of.find(pod.uid);
  if (gi == s_->gang_of.end()) {
    out.reason = "pod is finished or unknown to platoon";
    return out;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto git = s_->gangs.find(gi->second);
    if (git == s_->gangs.end()) break;
    Gang& g = git->second;
    std::string_view target;
    if (g.bound.contains(pod.uid)) {
      target = s_->pods.at(pod.uid).node_name;
    } else if (auto h = s_->held.find(pod.uid); h != s_->held.end()) {
      target = h->second.node;
    }
    if (target.empty()) {
      out.reason = Format("gang {}: {}", g.key, g.reason);
      return out;
    }
    auto offered = std::ranges::find(candidates, target);
    if (offered != candidates.end()) {
      out.fits.push_back(static_cast<std::size_t>(offered - candidates.begin()));
      out.reason = Format("gang {} places this member on {}", g.key, target);
      return out;
    }
    // The planned node was not offered: move the whole gang off it (before any bind) if it fits
    // elsewhere as it is; otherwise keep the plan until kube-scheduler's view catches up.
    if (attempt == 0 && g.phase == GangPhase::Planned && g.at_barrier.empty()) {
      if (s_->ReplanWithout(g, std::string(target), now)) continue;
      out.reason = Format("gang {}: planned on {}, which kube-scheduler did not offer (its view may lag: pods still "
                          "terminating or assumed there); the plan is kept as no other node holds the gang",
                          g.key, target);
      return out;
    }
    out.reason = Format("gang {}: planned node {} was not offered", g.key, target);
    return out;
  }
  out.reason = "gang is being re-planned";
  return out;
}

std::vector<int> Engine::Score(const Pod& pod, const std::vector<std::string_view>& candidates) const {
  std::vector<int> out(candidates.size(), 0);
  auto h = s_->held.find(pod.uid);
  if (h == s_->held.end()) return out;
  for (std::size_t i = 0; i < candidates.size(); ++i) out[i] = candidates[i] == h->second.node ? 100 : 0;
  return out;
}

BindOutcome Engine::Bind(std::string_view pod_uid, std::string_view node, Seconds now) {
  s_->See(now);
  s_->EnsureTopology();
  s_->Timeouts(now);
  const std::string uid(pod_uid);
  auto gi = s_->gang_of.find(uid);
  if (gi == s_->gang_of.end()) return {BindOutcome::Kind::Error, {}, "pod is unknown to platoon"};
  auto git = s_->gangs.find(gi->second);
  if (git == s_->gangs.end()) return {BindOutcome::Kind::Error, {}, "pod's gang is gone"};
  Gang& g = git->second;
  if (g.bound.contains(uid)) {
    Binding b = s_->BindingFor(uid);
    if (b.node != node) return {BindOutcome::Kind::Error, {}, Format("pod is already bound to {}", b.node)};
    return {BindOutcome::Kind::BindNow, {b}, "already bound"};
  }
  auto h = s_->held.find(uid);
  if (h == s_->held.end() || std::ranges::find(g.planned, uid) == g.planned.end()) {
    if (auto f = g.failed_binds.find(uid); f != g.failed_binds.end()) return {BindOutcome::Kind::Error, {}, f->second};
    return {BindOutcome::Kind::Error, {}, Format("pod is not planned: {}", g.reason)};
  }
  if (h->second.node != node) {
    return {BindOutcome::Kind::Error, {}, Format("pod is planned on {}, not {}", h->second.node, node)};
  }
  auto release = [&](const std::vector<std::string>& uids) {
    BindOutcome out{BindOutcome::Kind::BindNow, {}, {}};
    for (const auto& u : uids) {
      Binding b = s_->BindingFor(u);
      Pod& rec = s_->pods.at(u);
      rec.node_name = b.node;
      rec.annotations[std::string(kDevicesAnnotation)] = b.annotations[std::string(kDevicesAnnotation)];
      g.bound.insert(u);
      g.at_barrier.erase(u);
      out.bindings.push_back(b);
      s_->actions.binds.push_back({b});
    }
    std::erase_if(g.planned, [&](const std::string& u) { return g.bound.contains(u); });
    return out;
  };
  if (g.phase == GangPhase::Running) return release({uid});
  g.at_barrier.insert(uid);
  if (g.first_bind < 0) g.first_bind = now;
  if (g.at_barrier.size() < g.planned.size()) {
    return {BindOutcome::Kind::Wait, {}, Format("gang {}: {} of {} members at the bind barrier", g.key,
                                                      g.at_barrier.size(), g.planned.size())};
  }
  std::vector<std::string> all = g.planned;
  if (s_->metrics) s_->metrics->BindBarrier(now - g.first_bind, true);
  g.phase = GangPhase::Running;
  g.failures = 0;
  g.excluded_nodes.clear();
  g.reason = "running";
  auto out = release(all);
  out.message = Format("gang {}: all {} members bound together", g.key, all.size());
  return out;
}

void Engine::SetMetricsSink(MetricsSink* sink) { s_->metrics = sink; }

Actions Engine::TakeActions() { return std::exchange(s_->actions, Actions{}); }

PendingView Engine::Pending(Seconds now) const {
  std::map<std::string, std::vector<const Gang*>> queues;
  for (const auto& [key, g] : s_->gangs) {
    if (g.phase == GangPhase::Running) continue;
    queues[g.cluster_queue].push_back(&g);
  }
  PendingView view;
  for (auto& [cq, list] : queues) {
    std::ranges::sort(list, [](const Gang* a, const Gang* b) {
      if (a->priority != b->priority) return a->priority > b->priority;
      if (a->created != b->created) return a->created < b->created;
      return a->key < b->key;
    });
    PendingQueue q{cq, {}};
    int position = 0;
    for (const Gang* g : list) {
      PendingGang p;
      p.gang = g->key;
      p.cluster_queue = cq;
      p.position = ++position;
      p.phase = g->phase;
      p.members = static_cast<int>(g->members.size());
      p.min_member = g->min_member;
      p.priority = g->priority;
      p.reason = g->reason;
      p.unblock = g->unblock;
      if (g->phase == GangPhase::Queued && g->backoff_until > now) {
        p.unblock = Format("backoff ends at t={}s", g->backoff_until);
      }
      q.gangs.push_back(std::move(p));
    }
    view.queues.push_back(std::move(q));
  }
  return view;
}

EngineCounts Engine::Counts() const {
  EngineCounts c;
  c.nodes = s_->nodes.size();
  c.pods = s_->pods.size();
  c.gangs = s_->gangs.size();
  for (const auto& [key, g] : s_->gangs) {
    c.running += g.phase == GangPhase::Running;
    c.planned += g.phase == GangPhase::Planned;
    c.queued += g.phase == GangPhase::Queued;
  }
  return c;
}

GangPhase Engine::PhaseOf(std::string_view gang) const {
  auto it = s_->gangs.find(gang);
  return it == s_->gangs.end() ? GangPhase::Collecting : it->second.phase;
}

const topology::Topology& Engine::Topology() {
  s_->EnsureTopology();
  return *s_->topo;
}

const quota::QuotaState* Engine::Quota() const { return s_->quota ? &*s_->quota : nullptr; }

}  // namespace platoon::engine
