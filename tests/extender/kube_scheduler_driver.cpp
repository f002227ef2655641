// The scripted kube-scheduler: scheduling queue, scheduling and binding cycles over loopback HTTP.
#include "tests/extender/kube_scheduler_driver.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstdlib>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "quota/resources.h"

namespace platoon::testing::kube {
namespace {

using ordered_json = nlohmann::ordered_json;
using json = nlohmann::json;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

// A pod as kube-scheduler 1.36 marshals it into ExtenderArgs: compact, Go struct field order, the
// defaults the API server fills in, no kind/apiVersion.
std::string PodJson(const Pod& pod) {
  ordered_json metadata;
  metadata["name"] = pod.name;
  metadata["namespace"] = pod.namespace_;
  metadata["uid"] = pod.uid;
  metadata["resourceVersion"] = "1";
  metadata["creationTimestamp"] = pod.creation_timestamp.empty() ? "2026-11-22T07:00:00Z" : pod.creation_timestamp;
  if (!pod.labels.empty()) metadata["labels"] = ordered_json(pod.labels);
  if (!pod.annotations.empty()) metadata["annotations"] = ordered_json(pod.annotations);
  ordered_json requests = ordered_json::object();
  ordered_json limits = ordered_json::object();
  for (const auto& [name, amount] : pod.requests) {
    if (name == "pods") continue;
    requests[name] = FormatAmount(name, amount);
    if (name.find('/') != std::string::npos) limits[name] = FormatAmount(name, amount);  // extended: limit = request
  }
  ordered_json resources;
  if (!limits.empty()) resources["limits"] = limits;
  if (!requests.empty()) resources["requests"] = requests;
  ordered_json container;
  container["name"] = "main";
  container["image"] = "registry.example.com/trainer:1.0";
  container["resources"] = resources;
  container["terminationMessagePath"] = "/dev/termination-log";
  container["terminationMessagePolicy"] = "File";
  container["imagePullPolicy"] = "IfNotPresent";
  ordered_json spec;
  spec["containers"] = ordered_json::array({container});
  spec["restartPolicy"] = "Never";
  spec["terminationGracePeriodSeconds"] = 30;
  spec["dnsPolicy"] = "ClusterFirst";
  if (!pod.node_selector.empty()) spec["nodeSelector"] = ordered_json(pod.node_selector);
  spec["serviceAccountName"] = "default";
  spec["serviceAccount"] = "default";
  spec["securityContext"] = ordered_json::object();
  spec["schedulerName"] = pod.scheduler_name;
  spec["tolerations"] = ordered_json::array(
      {ordered_json{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"}, {"effect", "NoExecute"}, {"tolerationSeconds", 300}},
       ordered_json{{"key", "node.kubernetes.io/unreachable"}, {"operator", "Exists"}, {"effect", "NoExecute"}, {"tolerationSeconds", 300}}});
  if (!pod.priority_class_name.empty()) spec["priorityClassName"] = pod.priority_class_name;
  spec["priority"] = pod.priority;
  spec["enableServiceLinks"] = true;
  spec["preemptionPolicy"] = "PreemptLowerPriority";
  ordered_json status;
  status["phase"] = "Pending";
  status["qosClass"] = "Burstable";
  ordered_json out;
  out["metadata"] = std::move(metadata);
  out["spec"] = std::move(spec);
  out["status"] = std::move(status);
  return out.dump();
}

// ExtenderArgs with nodeCacheCapable: true (extender.go sends Nodes: nil and the names).
std::string ExtenderArgs(const std::string& pod_json, const std::vector<std::string>& names) {
  std::string out = "{\"Pod\":" + pod_json + ",\"Nodes\":null,\"NodeNames\":";
  out += json(names).dump();
  out += '}';
  return out;
}

bool Bound(const Pod& pod) { return !pod.node_name.empty(); }

}  // namespace

std::string Describe(const Event& event) {
  return std::visit(Overloaded{
                        [](const NodeAdded& e) { return "node added " + e.node.name; },
                        [](const NodeRemoved& e) { return "node removed " + e.name; },
                        [](const PodGroupAdded& e) { return "podgroup " + e.group.Key() + " minMember " + std::to_string(e.group.min_member); },
                        [](const PodCreated& e) { return "pod created " + e.pod.Key(); },
                        [](const PodCompleted& e) { return "pod completed " + e.uid; },
                        [](const PodDeleted& e) { return "pod deleted " + e.uid; },
                        [](const QuotaReplaced&) { return std::string("quota replaced"); },
                        [](const TimeAdvanced& e) { return "time +" + std::to_string(e.by); },
                    },
                    event);
}

// One bind call in flight on its own thread (kube-scheduler's binding goroutine).
struct Flight {
  std::string uid;
  std::string node;
  std::thread thread;
  std::atomic<bool> done{false};
  bool transport_failed = false;
  std::string error;
};

struct KubeSchedulerDriver::Impl {
  Impl(const DriverOptions& options)
      : service(Settings(options), std::make_unique<ClusterState>(std::move(*policies::MakeScorePolicy("LeastAllocated")))),
        server(service, {}) {}
  static config::ExtenderSettings Settings(const DriverOptions& options) {
    config::ExtenderSettings s;
    s.workers = options.server_workers;
    return s;
  }
  extender::ExtenderService service;
  extender::ExtenderServer server;
  std::atomic<double> now{0};
  std::unique_ptr<httplib::Client> client;  // the scheduling cycle's keep-alive connection
  std::vector<std::unique_ptr<Flight>> flights;
};

KubeSchedulerDriver::KubeSchedulerDriver(DriverOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)), rng_(options_.seed) {
  impl_->service.AttachEngine(std::make_unique<engine::Engine>(options_.engine), [impl = impl_.get()] { return impl->now.load(); });
  if (options_.transport == Transport::InProcess) return;
  auto started = impl_->server.Start("127.0.0.1", 0, "127.0.0.1", 0);
  if (!started) throw std::runtime_error(started.error());
  impl_->server.SetReady(true);
  impl_->client = std::make_unique<httplib::Client>("127.0.0.1", impl_->server.port());
  impl_->client->set_tcp_nodelay(true);
  impl_->client->set_keep_alive(true);
  impl_->client->set_read_timeout(options_.http_timeout_seconds, 0);
}

KubeSchedulerDriver::~KubeSchedulerDriver() {
  impl_->service.StopWaiting();
  for (auto& f : impl_->flights) {
    if (f->thread.joinable()) f->thread.join();
  }
  impl_->client.reset();
  if (options_.transport == Transport::Http) impl_->server.Stop();
}

extender::ExtenderService& KubeSchedulerDriver::service() { return impl_->service; }
int KubeSchedulerDriver::port() const { return impl_->server.port(); }
Seconds KubeSchedulerDriver::now() const { return impl_->now.load(); }
std::size_t KubeSchedulerDriver::binds_in_flight() const { return impl_->flights.size(); }

void KubeSchedulerDriver::Run(const std::vector<Event>& scenario) {
  for (const auto& e : scenario) Apply(e);
}

void KubeSchedulerDriver::Apply(const Event& event) {
  events_.push_back(event);
  if (const auto* t = std::get_if<TimeAdvanced>(&event)) {
    // Move in steps, stopping wherever a backoff expires, so retries happen when they are due.
    const Seconds target = now() + t->by;
    while (now() < target) {
      Seconds next = std::min(target, now() + options_.step);
      for (const auto& [uid, q] : queue_) {
        if (q.ready_at > now()) next = std::min(next, q.ready_at);
      }
      impl_->now = next;
      impl_->service.WithEngine([&](engine::Engine& e) { e.AdvanceTime(next); });
      Settle();
      ScheduleDue();
    }
    return;
  }
  Deliver(event);
  Settle();
  ScheduleDue();
}

void KubeSchedulerDriver::Deliver(const Event& event) {
  const Seconds t = now();
  auto& service = impl_->service;
  std::visit(Overloaded{
                 [&](const NodeAdded& e) {
                   nodes_[e.node.name] = e.node;
                   service.WithEngine([&](engine::Engine& en) { en.UpsertNode(e.node, t); });
                 },
                 [&](const NodeRemoved& e) {
                   nodes_.erase(e.name);
                   service.WithEngine([&](engine::Engine& en) { en.RemoveNode(e.name, t); });
                   std::vector<std::string> orphans;
                   for (const auto& [uid, pod] : pods_) {
                     if (pod.node_name == e.name) orphans.push_back(uid);
                   }
                   for (const auto& uid : orphans) DeletePodObject(uid);
                 },
                 [&](const PodGroupAdded& e) { service.WithEngine([&](engine::Engine& en) { en.UpsertPodGroup(e.group, t); }); },
                 [&](const PodCreated& e) {
                   Pod pod = e.pod;
                   if (pod.scheduler_name.empty()) pod.scheduler_name = options_.scheduler_name;
                   if (pod.phase.empty()) pod.phase = "Pending";
                   pods_[pod.uid] = pod;
                   service.WithEngine([&](engine::Engine& en) { en.UpsertPod(pod, t); });
                   if (!Bound(pod) && pod.scheduler_name == options_.scheduler_name) {
                     queue_[pod.uid] = {pod.uid, t, 0, ++seq_};
                   }
                 },
                 [&](const PodCompleted& e) {
                   auto it = pods_.find(e.uid);
                   if (it == pods_.end() || !Bound(it->second) || it->second.Finished()) return;
                   it->second.phase = "Succeeded";
                   service.WithEngine([&](engine::Engine& en) { en.UpsertPod(it->second, t); });
                 },
                 [&](const PodDeleted& e) { DeletePodObject(e.uid); },
                 [&](const QuotaReplaced& e) {
                   service.WithEngine([&](engine::Engine& en) {
                     for (const auto& [name, labels] : e.namespace_labels) en.SetNamespaceLabels(name, labels, t);
                     if (auto r = en.ReplaceQuota(e.config, t); !r) anomalies_.push_back("quota rejected: " + r.error());
                   });
                 },
                 [&](const TimeAdvanced&) {},
             },
             event);
}

void KubeSchedulerDriver::DeletePodObject(const std::string& uid) {
  if (!pods_.erase(uid)) return;
  queue_.erase(uid);
  assumed_.erase(uid);
  backoff_.erase(uid);
  impl_->service.WithEngine([&](engine::Engine& en) { en.RemovePod(uid, now()); });
}

bool KubeSchedulerDriver::Interested(const Pod& pod) const {
  return std::ranges::any_of(options_.managed_resources, [&](const std::string& r) { return pod.requests.Get(r) > 0; });
}

// kube-scheduler's own filters before the extender: the node is schedulable and NodeResourcesFit
// passes against bound (not finished) and assumed pods.
std::vector<std::string> KubeSchedulerDriver::FeasibleNodes(const Pod& pod) const {
  std::map<std::string, ResourceList> used;
  for (const auto& [uid, p] : pods_) {
    if (Bound(p) && !p.Finished()) used[p.node_name] += p.requests;
  }
  for (const auto& [uid, node] : assumed_) {
    auto it = pods_.find(uid);
    if (it != pods_.end() && !Bound(it->second)) used[node] += it->second.requests;
  }
  std::vector<std::string> out;
  for (const auto& [name, node] : nodes_) {
    if (node.unschedulable || !node.ready) continue;
    if (Fits(pod.requests, used[name], node.allocatable).empty()) out.push_back(name);
  }
  return out;
}

void KubeSchedulerDriver::Requeue(const std::string& uid, const std::string&) {
  auto it = pods_.find(uid);
  if (it == pods_.end() || Bound(it->second)) return;
  Seconds& b = backoff_[uid];
  b = b == 0 ? options_.initial_backoff : std::min(b * 2, options_.max_backoff);
  queue_[uid] = {uid, now() + b, b, ++seq_};
}

void KubeSchedulerDriver::ScheduleDue() {
  for (;;) {
    // activeQ order (PrioritySort): higher priority first, then earlier (re)queue time.
    const QueuedPod* best = nullptr;
    for (const auto& [uid, q] : queue_) {
      if (q.ready_at > now()) continue;
      if (best == nullptr) {
        best = &q;
        continue;
      }
      const int pa = pods_.at(q.uid).priority;
      const int pb = pods_.at(best->uid).priority;
      if (pa > pb || (pa == pb && q.seq < best->seq)) best = &q;
    }
    if (best == nullptr) return;
    const std::string uid = best->uid;
    queue_.erase(uid);
    ScheduleOne(uid);
  }
}

void KubeSchedulerDriver::ScheduleOne(const std::string& uid) {
  auto it = pods_.find(uid);
  if (it == pods_.end() || Bound(it->second)) return;
  const Pod pod = it->second;
  const std::vector<std::string> feasible = FeasibleNodes(pod);
  if (feasible.empty()) {
    counts_.unschedulable++;
    Requeue(uid, "no node fits");
    return;
  }
  const bool interested = Interested(pod);
  std::vector<std::string> passed = feasible;
  std::string pod_json;
  if (interested && options_.transport == Transport::InProcess) {
    counts_.filter_calls++;
    const std::vector<std::string_view> names(feasible.begin(), feasible.end());
    auto d = impl_->service.WithEngine([&](engine::Engine& e) { return e.Decide(pod, names, now()); });
    std::ranges::sort(d.fits);
    passed.clear();
    for (std::size_t i : d.fits) passed.push_back(feasible[i]);
    Settle();
  } else if (interested) {
    pod_json = PodJson(pod);
    counts_.filter_calls++;
    auto res = impl_->client->Post("/platoon/filter", ExtenderArgs(pod_json, feasible), "application/json");
    Settle();
    if (!res || res->status != 200) {
      anomalies_.push_back("filter of " + pod.Key() + " failed at the transport: " +
                           (res ? std::to_string(res->status) + " " + res->body : httplib::to_string(res.error())));
      Requeue(uid, "filter error");
      return;
    }
    const json body = json::parse(res->body);
    if (!body.value("Error", std::string()).empty()) {
      Requeue(uid, body["Error"]);
      return;
    }
    passed.clear();
    last_filter_ = body.dump();
    if (body.contains("NodeNames") && body["NodeNames"].is_array()) {
      for (const auto& n : body["NodeNames"]) passed.push_back(n.get<std::string>());
    }
  }
  if (passed.empty()) {
    if (std::getenv("PLATOON_TRACE")) {
      std::string f;
      for (auto& n : feasible) f += n + ",";
      std::fprintf(stderr, "t=%g filter %s offered [%s]: none: %s\n", now(), pod.Key().c_str(), f.c_str(), last_filter_.c_str());
    }
    counts_.unschedulable++;
    Requeue(uid, "filtered out");
    return;
  }
  std::string host = passed.front();
  if (passed.size() > 1) {
    std::vector<std::int64_t> scores(passed.size(), 0);
    if (interested && options_.transport == Transport::InProcess) {
      counts_.prioritize_calls++;
      const std::vector<std::string_view> names(passed.begin(), passed.end());
      auto s = impl_->service.WithEngine([&](engine::Engine& e) { return e.Score(pod, names); });
      for (std::size_t i = 0; i < s.size(); ++i) scores[i] = std::clamp((s[i] * 10 + 50) / 100, 0, 10);  // as the server
    } else if (interested) {
      counts_.prioritize_calls++;
      auto res = impl_->client->Post("/platoon/prioritize", ExtenderArgs(pod_json, passed), "application/json");
      if (res && res->status == 200) {
        const json list = json::parse(res->body);
        for (const auto& hp : list) {
          auto at = std::ranges::find(passed, hp["Host"].get<std::string>());
          if (at != passed.end()) scores[static_cast<std::size_t>(at - passed.begin())] += hp["Score"].get<std::int64_t>();
        }
      }
    }
    // selectHost: the highest score, ties broken uniformly at random (reservoir sampling).
    std::int64_t best = -1;
    int ties = 0;
    for (std::size_t i = 0; i < passed.size(); ++i) {
      if (scores[i] > best) {
        best = scores[i];
        host = passed[i];
        ties = 1;
      } else if (scores[i] == best && std::uniform_int_distribution<int>(0, ties++)(rng_) == 0) {
        host = passed[i];
      }
    }
  }
  assumed_[uid] = host;
  if (!interested) {
    // The default binder posts the Binding itself.
    assumed_.erase(uid);
    Pod& p = pods_.at(uid);
    p.node_name = host;
    p.phase = "Running";
    decisions_.push_back({events_.size() - 1, now(), uid, p.Key(), host, ""});
    impl_->service.WithEngine([&](engine::Engine& en) { en.UpsertPod(p, now()); });
    Settle();
    return;
  }
  counts_.bind_calls++;
  auto flight = std::make_unique<Flight>();
  flight->uid = uid;
  flight->node = host;
  const std::string body =
      json{{"PodName", pod.name}, {"PodNamespace", pod.namespace_}, {"PodUID", pod.uid}, {"Node", host}}.dump();
  if (options_.transport == Transport::InProcess) {
    impl_->flights.push_back(std::move(flight));
    AskBinds();
    Settle();
    return;
  }
  Flight* f = flight.get();
  const int port = impl_->server.port();
  const int timeout = options_.http_timeout_seconds;
  flight->thread = std::thread([f, body, port, timeout] {
    httplib::Client c("127.0.0.1", port);
    c.set_tcp_nodelay(true);
    c.set_read_timeout(timeout, 0);
    auto res = c.Post("/platoon/bind", body, "application/json");
    if (!res || res->status != 200) {
      f->transport_failed = true;
      f->error = res ? "HTTP " + std::to_string(res->status) : "transport: " + httplib::to_string(res.error());
    } else {
      f->error = json::parse(res->body).value("Error", std::string());
    }
    f->done = true;
  });
  impl_->flights.push_back(std::move(flight));
  Settle();
}

// Waits until every bind in flight has answered or waits at the barrier having seen the engine's
// current state, then collects answers and the Bindings posted; repeats while that changed anything.
void KubeSchedulerDriver::AskBinds() {
  // The server's waiting loop, in process: ask the engine again for every bind not answered yet.
  for (auto& f : impl_->flights) {
    if (f->done) continue;
    auto out = impl_->service.WithEngine([&](engine::Engine& e) { return e.Bind(f->uid, f->node, now()); });
    if (out.kind == engine::BindOutcome::Kind::Wait) continue;
    f->error = out.kind == engine::BindOutcome::Kind::BindNow ? "" : out.message;
    f->done = true;
  }
}

void KubeSchedulerDriver::Settle() {
  for (;;) {
    if (options_.transport == Transport::InProcess) {
      // Until no answer changes: a release or failure may decide the others.
      for (std::size_t answered = 0;;) {
        AskBinds();
        const auto now_answered = static_cast<std::size_t>(std::ranges::count_if(impl_->flights, [](const auto& f) { return f->done.load(); }));
        if (now_answered == answered) break;
        answered = now_answered;
      }
      const std::size_t before = decisions_.size() + evictions_.size();
      const bool any_answer = std::ranges::any_of(impl_->flights, [](const auto& f) { return f->done.load(); });
      Collect();
      if (!any_answer && decisions_.size() + evictions_.size() == before) return;
      continue;
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(options_.http_timeout_seconds + 5);
    for (;;) {
      std::size_t unanswered = 0;
      for (const auto& f : impl_->flights) unanswered += f->done ? 0 : 1;
      if (unanswered == 0) break;
      const auto w = impl_->service.Waiters();
      if (w.waiting == unanswered && w.up_to_date == unanswered) break;
      if (std::chrono::steady_clock::now() > give_up) {
        anomalies_.push_back("binds did not settle");
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    const std::size_t before = decisions_.size() + evictions_.size();
    const bool any_answer = std::ranges::any_of(impl_->flights, [](const auto& f) { return f->done.load(); });
    Collect();
    if (!any_answer && decisions_.size() + evictions_.size() == before) return;
  }
}

void KubeSchedulerDriver::Collect() {
  // Answers of the binding cycles.
  std::set<std::string> failed;
  for (auto it = impl_->flights.begin(); it != impl_->flights.end();) {
    Flight& f = **it;
    if (!f.done) {
      ++it;
      continue;
    }
    if (f.thread.joinable()) f.thread.join();
    if (f.error.empty()) {
      bind_ok_.insert(f.uid);
    } else {
      counts_.bind_errors++;
      failed.insert(f.uid);
      assumed_.erase(f.uid);  // ForgetPod
      Requeue(f.uid, f.error);
    }
    it = impl_->flights.erase(it);
  }
  // What platoon posted to the API server.
  auto actions = impl_->service.WithEngine([](engine::Engine& en) { return en.TakeActions(); });
  for (const auto& b : actions.binds) {
    const auto& binding = b.binding;
    if (failed.contains(binding.pod_uid)) anomalies_.push_back("Binding posted for " + binding.pod_uid + " whose bind failed");
    bind_ok_.erase(binding.pod_uid);
    auto it = pods_.find(binding.pod_uid);
    if (it == pods_.end()) {
      anomalies_.push_back("Binding posted for deleted pod " + binding.pod_uid);
      continue;
    }
    Pod& pod = it->second;
    if (Bound(pod)) {
      if (pod.node_name != binding.node) anomalies_.push_back("pod " + pod.Key() + " bound twice");
      continue;
    }
    pod.node_name = binding.node;
    pod.phase = "Running";
    for (const auto& [k, v] : binding.annotations) pod.annotations[k] = v;
    assumed_.erase(pod.uid);
    queue_.erase(pod.uid);
    backoff_.erase(pod.uid);
    auto devices = binding.annotations.find(std::string(engine::kDevicesAnnotation));
    decisions_.push_back({events_.size() - 1, now(), pod.uid, pod.Key(), binding.node,
                          devices == binding.annotations.end() ? "" : devices->second});
    impl_->service.WithEngine([&](engine::Engine& en) { en.UpsertPod(pod, now()); });
  }
  for (const auto& e : actions.evictions) {
    evictions_.push_back({events_.size() - 1, now(), e.gang, e.pod_uids, e.reason});
    for (const auto& uid : e.pod_uids) DeletePodObject(uid);
  }
  if (impl_->flights.empty()) {
    for (const auto& uid : bind_ok_) anomalies_.push_back("bind of " + uid + " answered OK but no Binding was posted");
    bind_ok_.clear();
  }
}

}  // namespace platoon::testing::kube
