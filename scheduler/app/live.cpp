// Live mode: reflectors -> engine events; engine actions -> API calls; quota reload; the ticker.
#include "scheduler/app/live.h"

#include <system_error>

#include "config/k8s_json.h"
#include "config/kueue_manifests.h"
#include "scheduler/extender/log.h"

namespace platoon::app {

namespace {
constexpr std::string_view kPodGroupApi = "scheduling.x-k8s.io/v1alpha1";
// NodeResourceTopology as NFD's topology-updater and the resource-topology-exporter publish it; the
// newest served version wins.
constexpr std::string_view kNodeTopologyApis[] = {"topology.node.k8s.io/v1alpha2", "topology.node.k8s.io/v1alpha1"};
}  // namespace

LiveCluster::LiveCluster(kube::ApiClient& client, extender::ExtenderService& service, config::PlatoonConfig cfg,
                         std::function<double()> clock, LiveOptions options)
    : client_(client), service_(service), cfg_(std::move(cfg)), clock_(std::move(clock)), options_(options) {}

LiveCluster::~LiveCluster() { Stop(); }

void LiveCluster::Start(std::function<void()> on_synced) {
  PollQuota(true);
  sync_thread_ = std::thread([this, on_synced = std::move(on_synced)] { Sync(on_synced); });
  tick_thread_ = std::thread([this] {
    auto last_quota = std::chrono::steady_clock::now();
    while (!stop_) {
      {
        std::unique_lock lock(stop_mutex_);
        stop_cv_.wait_for(lock, options_.tick, [this] { return stop_.load(); });
      }
      if (stop_) break;
      if (std::chrono::steady_clock::now() - last_quota >= options_.quota_poll) {
        PollQuota(false);
        last_quota = std::chrono::steady_clock::now();
      }
      Tick();
    }
  });
}

void LiveCluster::Stop() {
  stop_ = true;
  stop_cv_.notify_all();
  // The sync thread adds reflectors: join it before touching them. Shutting the client down ends
  // the lists and watches it may be waiting on.
  {
    std::lock_guard lock(reflectors_mutex_);
    for (auto& r : reflectors_) r->RequestStop();
  }
  client_.Shutdown();
  if (sync_thread_.joinable()) sync_thread_.join();
  for (auto& r : reflectors_) r->Stop();
  if (tick_thread_.joinable()) tick_thread_.join();
}

bool LiveCluster::Served(std::string_view api, std::string_view resource) {
  auto backoff = std::chrono::milliseconds(500);
  const std::string quoted = "\"" + std::string(resource) + "\"";
  while (!stop_) {
    kube::Response r = client_.Get("/apis/" + std::string(api));
    if (r.ok()) return r.body.find(quoted) != std::string::npos;
    if (r.status == 404) return false;
    log::Warn("cannot ask whether a CRD is installed; retrying", {{"api", std::string(api)}, {"error", r.Describe()}});
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait_for(lock, backoff, [this] { return stop_.load(); });
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
  }
  return false;
}

void LiveCluster::Sync(std::function<void()> on_synced) {
  auto start = [this](kube::ResourceKind kind, kube::ChangeHandler handler) -> bool {
    kube::ReflectorOptions options;
    options.observe = [this, name = kind.name](std::string_view outcome) { service_.CountWatch(name, outcome); };
    auto r = std::make_unique<kube::Reflector>(client_, std::move(kind), std::move(handler), options);
    kube::Reflector& ref = *r;
    {
      std::lock_guard lock(reflectors_mutex_);
      if (stop_) return false;
      reflectors_.push_back(std::move(r));
    }
    ref.Start();
    while (!stop_ && !ref.WaitSynced(std::chrono::seconds(1))) {
    }
    return !stop_;
  };
  const auto t0 = std::chrono::steady_clock::now();
  if (!start({"nodes", "/api/v1/nodes", ""}, [this](const kube::Change& c, const simdjson::dom::element* o) { OnNode(c, o); }))
    return;
  if (!start({"namespaces", "/api/v1/namespaces", ""},
             [this](const kube::Change& c, const simdjson::dom::element* o) { OnNamespace(c, o); }))
    return;
  const bool pod_groups = Served(kPodGroupApi, "podgroups");
  if (stop_) return;
  if (pod_groups) {
    if (!start({"podgroups", "/apis/" + std::string(kPodGroupApi) + "/podgroups", ""},
               [this](const kube::Change& c, const simdjson::dom::element* o) { OnPodGroup(c, o); }))
      return;
  } else {
    log::Info("the PodGroup CRD (scheduling.x-k8s.io/v1alpha1) is not installed: gangs come from Kueue pod-group labels only");
  }
  std::string_view node_topology_api;
  for (auto api : kNodeTopologyApis) {
    if (Served(api, "noderesourcetopologies")) {
      node_topology_api = api;
      break;
    }
    if (stop_) return;
  }
  if (!node_topology_api.empty()) {
    if (!start({"noderesourcetopologies", "/apis/" + std::string(node_topology_api) + "/noderesourcetopologies", ""},
               [this](const kube::Change& c, const simdjson::dom::element* o) { OnNodeTopology(c, o); }))
      return;
  } else {
    log::Info("the NodeResourceTopology CRD (topology.node.k8s.io) is not installed: NUMA layouts come from node labels");
  }
  // Finished pods hold nothing; the selector turns a pod's finishing into a DELETED event.
  if (!start({"pods", "/api/v1/pods", "status.phase!=Succeeded,status.phase!=Failed"},
             [this](const kube::Change& c, const simdjson::dom::element* o) { OnPod(c, o); }))
    return;
  // Decisions start with the next tick (and only where this pod's kube-scheduler leads).
  auto counts = service_.WithEngine([](engine::Engine& e) { return e.Counts(); });
  log::Info("synced with the API server",
            {{"seconds", std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count())},
             {"nodes", std::to_string(counts.nodes)}, {"pods", std::to_string(counts.pods)},
             {"gangs", std::to_string(counts.gangs)}, {"running", std::to_string(counts.running)}});
  synced_ = true;
  on_synced();
}

void LiveCluster::OnNode(const kube::Change& change, const simdjson::dom::element* object) {
  const double now = clock_();
  if (change.kind == kube::Change::Kind::Delete) {
    service_.WithEngine([&](engine::Engine& e) { e.RemoveNode(change.meta.name, now); });
    service_.WithState([&](ClusterState& s) { s.RemoveNode(change.meta.name); });
    return;
  }
  auto node = config::DecodeNode(*object);
  if (!node) {
    log::Warn("node not understood; ignored", {{"node", change.meta.name}, {"error", node.error().ToString()}});
    return;
  }
  service_.WithEngine([&](engine::Engine& e) { e.UpsertNode(*node, now); });
  service_.WithState([&](ClusterState& s) { s.UpsertNode(std::move(*node)); });
}

void LiveCluster::OnNamespace(const kube::Change& change, const simdjson::dom::element* object) {
  std::map<std::string, std::string> labels;
  if (object) {
    simdjson::dom::object map;
    if ((*object)["metadata"]["labels"].get(map) == simdjson::SUCCESS) {
      for (auto field : map) {
        std::string_view value;
        if (field.value.get(value) == simdjson::SUCCESS) labels.emplace(std::string(field.key), std::string(value));
      }
    }
  }
  const double now = clock_();
  service_.WithEngine([&](engine::Engine& e) { e.SetNamespaceLabels(change.meta.name, std::move(labels), now); });
}

void LiveCluster::OnNodeTopology(const kube::Change& change, const simdjson::dom::element* object) {
  const double now = clock_();
  if (change.kind == kube::Change::Kind::Delete) {
    if (service_.WithEngine([&](engine::Engine& e) { return e.SetNodeZones(change.meta.name, {}, now); })) {
      log::Info("NodeResourceTopology deleted: the node's NUMA layout comes from its labels", {{"node", change.meta.name}});
    }
    return;
  }
  auto nrt = config::DecodeNodeResourceTopology(*object);
  if (!nrt) {
    log::Warn("NodeResourceTopology not understood; ignored (the node keeps its last NUMA layout)",
              {{"node", change.meta.name}, {"error", nrt.error().ToString()}});
    return;
  }
  std::string layout;
  for (const auto& z : nrt->zones) {
    if (z.type != "Node") continue;
    if (!layout.empty()) layout += ',';
    layout += z.name + ":" + std::to_string(z.capacity.Get("cpu") / 1000) + "cpu/" +
              std::to_string(z.capacity.Get("nvidia.com/gpu")) + "gpu";
  }
  const std::string node = nrt->name;
  if (service_.WithEngine([&](engine::Engine& e) { return e.SetNodeZones(node, std::move(nrt->zones), now); })) {
    log::Info("NUMA layout from NodeResourceTopology", {{"node", node}, {"zones", layout}});
  }
}

void LiveCluster::OnPodGroup(const kube::Change& change, const simdjson::dom::element* object) {
  const double now = clock_();
  if (change.kind == kube::Change::Kind::Delete) {
    {
      std::lock_guard lock(mutex_);
      pod_groups_.erase(change.meta.Key());
    }
    service_.WithEngine([&](engine::Engine& e) { e.RemovePodGroup(change.meta.namespace_, change.meta.name, now); });
    return;
  }
  auto group = config::DecodePodGroup(*object);
  if (!group) {
    log::Warn("PodGroup not understood; ignored", {{"podgroup", change.meta.Key()}, {"error", group.error().ToString()}});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    pod_groups_[change.meta.Key()] = change.meta.uid;
  }
  service_.WithEngine([&](engine::Engine& e) { e.UpsertPodGroup(std::move(*group), now); });
}

void LiveCluster::OnPod(const kube::Change& change, const simdjson::dom::element* object) {
  const double now = clock_();
  auto forget = [&](const std::string& uid) {
    bool known = false;
    {
      std::lock_guard lock(mutex_);
      if (auto it = pods_.find(uid); it != pods_.end()) {
        known = true;
        if (auto g = gangs_.find(it->second.gang); g != gangs_.end()) {
          g->second.erase(uid);
          if (g->second.empty()) gangs_.erase(g);
        }
        pods_.erase(it);
      }
    }
    if (!known) return;
    service_.WithEngine([&](engine::Engine& e) { e.RemovePod(uid, now); });
    service_.WithState([&](ClusterState& s) { s.RemovePod(uid); });
  };
  if (change.kind == kube::Change::Kind::Delete) {
    forget(change.meta.uid);
    return;
  }
  auto pod = config::DecodePod(*object);
  if (!pod) {
    log::Warn("pod not understood; ignored", {{"pod", change.meta.Key()}, {"error", pod.error().ToString()}});
    return;
  }
  // Another scheduler's pending pods are not platoon's to place; bound pods of any scheduler hold capacity.
  if (pod->node_name.empty() && pod->scheduler_name != cfg_.scheduler_name) {
    forget(pod->uid);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    std::string gang = engine::Engine::GangKeyFor(*pod);
    auto& entry = pods_[pod->uid];
    if (!entry.gang.empty() && entry.gang != gang) gangs_[entry.gang].erase(pod->uid);
    entry = PodEntry{pod->namespace_, pod->name, gang, !pod->node_name.empty()};
    gangs_[gang].insert(pod->uid);
  }
  service_.WithEngine([&](engine::Engine& e) { e.UpsertPod(*pod, now); });
  service_.WithState([&](ClusterState& s) { s.UpsertPod(std::move(*pod)); });
}

void LiveCluster::PollQuota(bool initial) {
  if (cfg_.kueue_files.empty()) return;
  bool changed = false;
  for (const auto& file : cfg_.kueue_files) {
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(file, ec);  // follows the ConfigMap's ..data symlinks
    if (ec) continue;
    auto& seen = quota_mtimes_[file];
    if (seen != mtime) changed = true;
    seen = mtime;
  }
  if (initial || !changed) return;
  auto quota = config::LoadKueueManifestFiles(cfg_.kueue_files);
  if (!quota) {
    log::Error("Kueue quota files changed but do not load; keeping the previous quota",
               {{"errors", config::FormatManifestErrors(quota.error())}});
    return;
  }
  const double now = clock_();
  auto replaced = service_.WithEngine([&](engine::Engine& e) { return e.ReplaceQuota(*quota, now); });
  if (!replaced) {
    log::Error("Kueue quota files changed but do not resolve; keeping the previous quota", {{"error", replaced.error()}});
    return;
  }
  log::Info("Kueue quota reloaded", {{"files", std::to_string(cfg_.kueue_files.size())}});
}

bool HeldBy(std::string_view holder_identity, std::string_view identity_prefix) {
  return !identity_prefix.empty() && holder_identity.starts_with(identity_prefix);
}

bool LiveCluster::Leading() {
  if (options_.leader_lease.empty()) return true;
  const auto slash = options_.leader_lease.find('/');
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/" + options_.leader_lease.substr(0, slash) +
                           "/leases/" + options_.leader_lease.substr(slash + 1);
  kube::Response r = client_.Get(path);
  std::string holder;
  if (r.ok()) {
    simdjson::dom::parser parser;
    simdjson::dom::element lease;
    std::string_view id;
    if (parser.parse(r.body).get(lease) == simdjson::SUCCESS && lease["spec"]["holderIdentity"].get(id) == simdjson::SUCCESS)
      holder = std::string(id);
    else
      log::Warn("lease not understood", {{"lease", options_.leader_lease}, {"body", r.body.substr(0, 300)}});
  } else if (r.status != 404) {
    // Unknown: keep the last answer rather than flap on a failed read.
    log::Warn("cannot read the scheduler lease", {{"lease", options_.leader_lease}, {"error", r.Describe()}});
    return leading_ == 1;
  }
  const int leading = HeldBy(holder, options_.identity_prefix) ? 1 : 0;
  if (leading != leading_) {
    if (leading) log::Info("acting: this pod's kube-scheduler holds the lease", {{"lease", options_.leader_lease}, {"holder", holder}});
    else log::Info("standing by: the lease is held elsewhere", {{"lease", options_.leader_lease}, {"holder", holder.empty() ? "nobody" : holder}});
    leading_ = leading;
  }
  return leading;
}

void LiveCluster::Tick() {
  // A standby engine mirrors the cluster but makes no decisions: no time advances, so no admission,
  // preemption or timeout happens there, and it has no actions to carry out.
  if (!synced_ || !Leading()) return;
  const double now = clock_();
  engine::Actions actions = service_.WithEngine([&](engine::Engine& e) {
    e.AdvanceTime(now);
    return e.TakeActions();
  });
  if (!actions.Empty()) Execute(actions);
  RetryEvictions();
}

void LiveCluster::Report(const std::string& gang, const std::string& condition, const std::string& message) {
  const std::string time = kube::NowRfc3339();
  const bool warning = condition == "BarrierTimeout" || condition == "Preempted" || condition == "Evicted";
  kube::ObjectReference object;
  std::string pod_group_uid;
  bool has_pod_group = false;
  {
    std::lock_guard lock(mutex_);
    if (auto pg = pod_groups_.find(gang); pg != pod_groups_.end()) {
      has_pod_group = true;
      pod_group_uid = pg->second;
    } else if (auto g = gangs_.find(gang); g != gangs_.end() && !g->second.empty()) {
      const PodEntry& pod = pods_.at(*g->second.begin());
      object = {"v1", "Pod", pod.namespace_, pod.name, *g->second.begin()};
    }
  }
  if (has_pod_group) {
    auto slash = gang.find('/');
    object = {std::string(kPodGroupApi), "PodGroup", gang.substr(0, slash), gang.substr(slash + 1), pod_group_uid};
    auto r = kube::PatchPodGroupStatus(client_, object.namespace_, object.name,
                                       kube::PodGroupStatusPatch(kube::PodGroupPhaseFor(condition), condition, message, time));
    service_.CountApiCall("podgroup_status", r.status);
    if (!r.ok()) log::Warn("PodGroup status not updated", {{"podgroup", gang}, {"error", r.Describe()}});
  }
  if (object.name.empty()) return;
  auto r = kube::PostEvent(client_, object, kube::EventJson(object, warning ? "Warning" : "Normal", condition, message, time));
  service_.CountApiCall("event", r.status);
  if (!r.ok()) log::Warn("event not posted", {{"object", object.namespace_ + "/" + object.name}, {"error", r.Describe()}});
}

void LiveCluster::Nudge(const std::string& gang) {
  std::vector<PodEntry> pending;
  std::string value;
  {
    std::lock_guard lock(mutex_);
    auto g = gangs_.find(gang);
    if (g == gangs_.end()) return;
    for (const auto& uid : g->second) {
      const PodEntry& pod = pods_.at(uid);
      if (!pod.bound) pending.push_back(pod);
    }
    value = kube::NowRfc3339() + "#" + std::to_string(++nudges_);  // always a change, so always an update
  }
  for (const auto& pod : pending) {
    auto r = kube::AnnotatePod(client_, pod.namespace_, pod.name, kube::kAdmittedAnnotation, value);
    service_.CountApiCall("requeue_annotation", r.status);
    if (!r.ok() && r.status != 404)
      log::Warn("could not requeue an admitted gang's pod", {{"pod", pod.namespace_ + "/" + pod.name}, {"error", r.Describe()}});
  }
}

void LiveCluster::Execute(const engine::Actions& actions) {
  // Bindings are posted by the bind calls themselves; here the gang's status says it is placed.
  std::map<std::string, int> bound_gangs;
  for (const auto& b : actions.binds) {
    std::lock_guard lock(mutex_);
    if (auto p = pods_.find(b.binding.pod_uid); p != pods_.end()) bound_gangs[p->second.gang]++;
  }
  for (const auto& s : actions.statuses) {
    log::Info("gang status", {{"gang", s.gang}, {"condition", s.condition}, {"message", s.message}});
    // kube-scheduler parked the members it filtered before the gang was complete; wake them now.
    if (s.condition == "Admitted") Nudge(s.gang);
    Report(s.gang, s.condition, s.message);
  }
  for (const auto& [gang, n] : bound_gangs) Report(gang, "Scheduled", std::to_string(n) + " member(s) bound by platoon");
  for (const auto& e : actions.evictions) {
    log::Info("evicting gang", {{"gang", e.gang}, {"pods", std::to_string(e.pod_uids.size())}, {"reason", e.reason}});
    for (const auto& uid : e.pod_uids) {
      PendingEviction pending{uid, e.reason, 0, std::chrono::steady_clock::now()};
      Evict(pending);
      if (pending.attempts > 0) {
        std::lock_guard lock(mutex_);
        evictions_.push_back(std::move(pending));
      }
    }
  }
}

// One eviction attempt; leaves attempts > 0 when it should be retried.
void LiveCluster::Evict(PendingEviction& e) {
  PodEntry pod;
  {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(e.uid);
    if (it == pods_.end()) {
      e.attempts = 0;  // gone already
      return;
    }
    pod = it->second;
  }
  auto outcome = kube::EvictPod(client_, pod.namespace_, pod.name, e.uid);
  service_.CountApiCall("eviction", outcome.status);
  const std::string key = pod.namespace_ + "/" + pod.name;
  switch (outcome.kind) {
    case kube::EvictOutcome::Kind::Evicted: {
      log::Info("evicted pod", {{"pod", key}, {"reason", e.reason}});
      kube::ObjectReference object{"v1", "Pod", pod.namespace_, pod.name, e.uid};
      auto r = kube::PostEvent(client_, object, kube::EventJson(object, "Warning", "Preempted", e.reason, kube::NowRfc3339()));
      service_.CountApiCall("event", r.status);
      if (!r.ok()) log::Warn("event not posted", {{"pod", key}, {"error", r.Describe()}});
      e.attempts = 0;
      return;
    }
    case kube::EvictOutcome::Kind::Gone: e.attempts = 0; return;
    case kube::EvictOutcome::Kind::Blocked:
      log::Warn("eviction blocked by a PodDisruptionBudget; retrying", {{"pod", key}, {"error", outcome.message}});
      break;
    case kube::EvictOutcome::Kind::Failed:
      log::Warn("eviction failed; retrying", {{"pod", key}, {"error", outcome.message}});
      break;
  }
  ++e.attempts;
  e.next_try = std::chrono::steady_clock::now() + options_.eviction_retry * std::min(e.attempts, 3);
}

void LiveCluster::RetryEvictions() {
  std::vector<PendingEviction> due;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = evictions_.begin(); it != evictions_.end();) {
      if (it->next_try <= now) {
        due.push_back(std::move(*it));
        it = evictions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& e : due) {
    Evict(e);
    if (e.attempts > 0) {
      std::lock_guard lock(mutex_);
      evictions_.push_back(std::move(e));
    }
  }
}

}  // namespace platoon::app
