// The extender's HTTP edge: cpp-httplib servers, prometheus-cpp metrics, logfmt logs.
#include "scheduler/extender/server.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "scheduler/extender/log.h"
#include "scheduler/extender/wire.h"

namespace platoon::extender {

// The extender's Prometheus registry; also the gang engine's metrics sink (Kueue-style names).
struct ExtenderService::Metrics : engine::MetricsSink {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("platoon_extender_requests_total")
          .Help("Extender requests by verb and HTTP status code.")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& duration =
      prometheus::BuildHistogram()
          .Name("platoon_extender_request_duration_seconds")
          .Help("Server-side time to answer an extender request, by verb.")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& errors =
      prometheus::BuildCounter()
          .Name("platoon_extender_request_errors_total")
          .Help("Refused extender requests by verb and kind (malformed_json, wrong_type, too_large, unknown_path, ...).")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& binds =
      prometheus::BuildCounter().Name("platoon_binds_total").Help("Bind calls by result.").Register(registry);
  prometheus::Family<prometheus::Gauge>& cache =
      prometheus::BuildGauge().Name("platoon_cache_objects").Help("Objects in platoon's cache, by kind.").Register(registry);
  prometheus::Family<prometheus::Counter>& admitted =
      prometheus::BuildCounter().Name("platoon_admitted_workloads_total").Help("Gangs admitted, by ClusterQueue.").Register(registry);
  prometheus::Family<prometheus::Histogram>& admission_wait =
      prometheus::BuildHistogram()
          .Name("platoon_admission_wait_time_seconds")
          .Help("Time from entering the queue to admission, by ClusterQueue.")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& preempted =
      prometheus::BuildCounter().Name("platoon_preempted_workloads_total").Help("Gangs preempted, by reason.").Register(registry);
  prometheus::Family<prometheus::Histogram>& barrier =
      prometheus::BuildHistogram()
          .Name("platoon_gang_bind_barrier_seconds")
          .Help("Time from a gang's first bind to its release (result=released) or timeout.")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& plan_failures =
      prometheus::BuildCounter().Name("platoon_plan_failures_total").Help("Failed admission attempts, by reason.").Register(registry);
  prometheus::Family<prometheus::Gauge>& pending =
      prometheus::BuildGauge().Name("platoon_pending_workloads").Help("Pending gangs by ClusterQueue and status.").Register(registry);
  prometheus::Family<prometheus::Counter>& api_calls =
      prometheus::BuildCounter()
          .Name("platoon_api_requests_total")
          .Help("Live mode: API-server requests platoon made for its actions, by call and HTTP code (\"error\": no answer).")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& watches =
      prometheus::BuildCounter()
          .Name("platoon_watch_total")
          .Help("Live mode: list and watch outcomes by kind (listed, list_failed, watch_closed, watch_gone, watch_failed).")
          .Register(registry);
  prometheus::Gauge& binds_waiting = prometheus::BuildGauge()
                                         .Name("platoon_bind_barrier_waiting_binds")
                                         .Help("Bind calls waiting at the co-bind barrier, each holding a server thread.")
                                         .Register(registry)
                                         .Add({});
  prometheus::Counter& thread_warnings =
      prometheus::BuildCounter()
          .Name("platoon_bind_barrier_thread_warnings_total")
          .Help("Times waiting binds left at most one spare server thread (raise extender.threads).")
          .Register(registry)
          .Add({});
  std::mutex mutex;  // prometheus-cpp's Family::Add is thread-safe; this guards our lookups of label sets

  static inline const prometheus::Histogram::BucketBoundaries kWaitBuckets = {0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
  void WorkloadAdmitted(std::string_view cluster_queue, engine::Seconds wait) override {
    admitted.Add({{"cluster_queue", std::string(cluster_queue)}}).Increment();
    admission_wait.Add({{"cluster_queue", std::string(cluster_queue)}}, kWaitBuckets).Observe(wait);
  }
  void WorkloadPreempted(std::string_view reason) override { preempted.Add({{"reason", std::string(reason)}}).Increment(); }
  void BindBarrier(engine::Seconds waited, bool released) override {
    barrier.Add({{"result", released ? "released" : "timeout"}}, kWaitBuckets).Observe(waited);
  }
  void PlanFailure(std::string_view reason) override { plan_failures.Add({{"reason", std::string(reason)}}).Increment(); }
};

namespace {
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                                  0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                                  1,      2.5,     5};
thread_local WireDecoder t_decoder;

int ToExtenderScore(int score) {
  // 0..100 -> 0..10 (extender/v1 MaxExtenderPriority); kube-scheduler multiplies by weight and does not clamp.
  return std::clamp((score * 10 + 50) / 100, 0, 10);
}
}  // namespace

ExtenderService::ExtenderService(config::ExtenderSettings settings, std::unique_ptr<ClusterState> state)
    : settings_(std::move(settings)), state_(std::move(state)), metrics_(std::make_unique<Metrics>()) {}

ExtenderService::~ExtenderService() = default;

Reply ExtenderService::Refuse(std::string_view verb, std::string_view kind, std::string message) {
  CountError(verb, kind, 400);
  log::Warn("refused extender request", {{"verb", std::string(verb)}, {"kind", std::string(kind)}, {"error", message}});
  return {400, EncodeError(message)};
}

void ExtenderService::CountError(std::string_view verb, std::string_view kind, int) {
  metrics_->errors.Add({{"verb", std::string(verb)}, {"kind", std::string(kind)}}).Increment();
}

void ExtenderService::CountApiCall(std::string_view call, int status) {
  metrics_->api_calls.Add({{"call", std::string(call)}, {"code", status > 0 ? std::to_string(status) : "error"}}).Increment();
}

void ExtenderService::CountWatch(std::string_view kind, std::string_view outcome) {
  metrics_->watches.Add({{"kind", std::string(kind)}, {"outcome", std::string(outcome)}}).Increment();
}

void ExtenderService::CountRequest(std::string_view verb, int status) {
  metrics_->requests.Add({{"verb", std::string(verb)}, {"code", std::to_string(status)}}).Increment();
}

void ExtenderService::Observe(std::string_view verb, int status, double seconds) {
  CountRequest(verb, status);
  metrics_->duration.Add({{"verb", std::string(verb)}}, kLatencyBuckets).Observe(seconds);
}

std::string ExtenderService::MetricsText() {
  {
    std::lock_guard lock(mutex_);
    const ClusterCounts counts = state_->Counts();
    metrics_->cache.Add({{"kind", "node"}}).Set(static_cast<double>(counts.nodes));
    metrics_->cache.Add({{"kind", "bound_pod"}}).Set(static_cast<double>(counts.bound_pods));
    metrics_->cache.Add({{"kind", "pending_pod"}}).Set(static_cast<double>(counts.pending_pods));
    if (engine_) {
      std::map<std::pair<std::string, std::string>, int> pending;
      for (const auto& q : engine_->Pending(clock_()).queues) {
        for (const auto& g : q.gangs) pending[{q.cluster_queue, std::string(engine::ToString(g.phase))}]++;
      }
      for (auto& [key, gauge] : pending_seen_) gauge->Set(0);
      for (const auto& [key, n] : pending) {
        auto& gauge = pending_seen_[key];
        if (gauge == nullptr) gauge = &metrics_->pending.Add({{"cluster_queue", key.first}, {"status", key.second}});
        gauge->Set(n);
      }
    }
  }
  return prometheus::TextSerializer().Serialize(metrics_->registry.Collect());
}

void ExtenderService::AttachEngine(std::unique_ptr<engine::Engine> engine, std::function<double()> clock) {
  std::lock_guard lock(mutex_);
  engine_ = std::move(engine);
  clock_ = std::move(clock);
  if (engine_) {
    engine_->SetMetricsSink(metrics_.get());
    // Each bind waiting at the barrier holds one server thread until its gang releases, and every
    // kube-scheduler keep-alive connection holds one too: say so once, with the numbers.
    log::Info("gang engine attached: a bind waiting at the co-bind barrier holds a server thread",
              {{"threads", std::to_string(settings_.threads)},
               {"largest_gang", std::to_string(std::max(1, settings_.threads - 2))},
               {"fix", "raise extender.threads above the largest gang plus the gangs binding at once"}});
  }
}

namespace {
void AppendField(std::string& out, std::string_view key, std::string_view value, bool comma = true) {
  if (comma) out += ',';
  AppendJsonString(out, key);
  out += ':';
  AppendJsonString(out, value);
}
void AppendNumber(std::string& out, std::string_view key, std::int64_t value) {
  out += ',';
  AppendJsonString(out, key);
  out += ':';
  out += std::to_string(value);
}
}  // namespace

Reply ExtenderService::DebugPending() {
  engine::PendingView view;
  {
    std::lock_guard lock(mutex_);
    if (!engine_) return {404, EncodeError("no gang engine is attached")};
    view = engine_->Pending(clock_());
  }
  std::string out = "{\"queues\":[";
  for (std::size_t q = 0; q < view.queues.size(); ++q) {
    if (q) out += ',';
    out += '{';
    AppendField(out, "clusterQueue", view.queues[q].cluster_queue, false);
    out += ",\"gangs\":[";
    for (std::size_t i = 0; i < view.queues[q].gangs.size(); ++i) {
      const auto& g = view.queues[q].gangs[i];
      if (i) out += ',';
      out += '{';
      AppendField(out, "gang", g.gang, false);
      AppendNumber(out, "position", g.position);
      AppendField(out, "phase", engine::ToString(g.phase));
      AppendNumber(out, "members", g.members);
      AppendNumber(out, "minMember", g.min_member);
      AppendNumber(out, "priority", g.priority);
      AppendField(out, "reason", g.reason);
      AppendField(out, "unblock", g.unblock);
      out += '}';
    }
    out += "]}";
  }
  out += "]}";
  return {200, std::move(out)};
}

namespace {
const Reply kSyncing{503, EncodeError("platoon is still syncing with the API server; retry shortly")};
}  // namespace

Reply ExtenderService::Filter(std::string_view body) {
  if (!accepting_) return kSyncing;
  auto args = t_decoder.DecodeFilterArgs(body);
  if (!args) return Refuse("filter", WireErrorKindName(args.error().kind), args.error().message);
  if (engine_) {
    engine::FilterDecision decision;
    {
      std::lock_guard lock(mutex_);
      decision = engine_->Decide(args->pod, args->node_names, clock_());
      EngineChangedLocked();  // a filter may admit or re-plan a gang
    }
    FilterResult result;
    if (!decision.fits.empty()) {
      // A planned member: its node passes and kube-scheduler keeps only NodeNames (the failed maps
      // feed its diagnosis and preemption, which run only when no node passes). Listing the other
      // 4,999 nodes of a 5,000-node cluster with a reason each was ~350 KB and ~1 ms per call.
      std::vector<std::size_t> fits = decision.fits;
      std::ranges::sort(fits);
      for (std::size_t i : fits) result.passed.push_back(args->node_names[i]);
      return {200, EncodeFilterResult(result, *args)};
    }
    for (std::size_t i = 0; i < args->node_names.size(); ++i) {
      if (decision.others == NodeVerdictKind::Failed) result.failed.emplace_back(args->node_names[i], decision.reason);
      else result.unresolvable.emplace_back(args->node_names[i], decision.reason);
    }
    return {200, EncodeFilterResult(result, *args)};
  }
  std::vector<NodeVerdict> verdicts;
  {
    std::lock_guard lock(mutex_);
    if (!args->pod.uid.empty() && args->pod.node_name.empty()) state_->UpsertPod(args->pod);
    verdicts = state_->Filter(args->pod, args->node_names);
  }
  FilterResult result;
  result.passed.reserve(verdicts.size());
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    switch (verdicts[i].kind) {
      case NodeVerdictKind::Fits: result.passed.push_back(args->node_names[i]); break;
      case NodeVerdictKind::Failed: result.failed.emplace_back(args->node_names[i], std::move(verdicts[i].reason)); break;
      case NodeVerdictKind::Unresolvable:
        result.unresolvable.emplace_back(args->node_names[i], std::move(verdicts[i].reason));
        break;
    }
  }
  return {200, EncodeFilterResult(result, *args)};
}

Reply ExtenderService::Prioritize(std::string_view body) {
  if (!accepting_) return kSyncing;
  auto args = t_decoder.DecodeFilterArgs(body);
  if (!args) return Refuse("prioritize", WireErrorKindName(args.error().kind), args.error().message);
  std::vector<int> scores;
  {
    std::lock_guard lock(mutex_);
    scores = engine_ ? engine_->Score(args->pod, args->node_names) : state_->Score(args->pod, args->node_names);
  }
  std::vector<std::int64_t> extender_scores(scores.size());
  std::transform(scores.begin(), scores.end(), extender_scores.begin(), ToExtenderScore);
  return {200, EncodeHostPriorityList(args->node_names, extender_scores)};
}

Reply ExtenderService::Bind(std::string_view body) {
  if (!accepting_) return kSyncing;
  auto req = t_decoder.DecodeBindingArgs(body);
  if (!req) return Refuse("bind", WireErrorKindName(req.error().kind), req.error().message);
  std::expected<void, std::string> result;
  if (engine_) {
    // The co-bind barrier: wait until the whole gang reached bind (or the engine fails this bind).
    std::unique_lock lock(mutex_);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    const std::uint64_t serial = next_bind_++;
    engine::BindOutcome out;
    for (;;) {
      if (stop_waiting_) {
        out = {engine::BindOutcome::Kind::Error, {}, "bind barrier: the extender is shutting down"};
        break;
      }
      out = engine_->Bind(req->pod_uid, req->node, clock_());
      if (out.kind != engine::BindOutcome::Kind::Wait) break;
      if (std::chrono::steady_clock::now() > give_up) {
        out = {engine::BindOutcome::Kind::Error, {}, "bind barrier: gave up after 10 minutes"};
        break;
      }
      if (waiting_binds_.insert_or_assign(serial, engine_version_).second) BindStartedWaitingLocked(out.message);
      bind_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    if (waiting_binds_.erase(serial)) {
      metrics_->binds_waiting.Decrement();
      if (waiting_binds_.size() + 2 < static_cast<std::size_t>(settings_.threads)) thread_warning_armed_ = true;
    }
    // A release binds the other members; a failure may have released the gang's reservation.
    EngineChangedLocked();
    if (out.kind != engine::BindOutcome::Kind::BindNow) {
      result = std::unexpected(out.message);
    } else if (binder_) {
      // Live mode: post this pod's Binding (outside the lock: an API round trip).
      lock.unlock();
      auto own = std::ranges::find(out.bindings, req->pod_uid, &engine::Binding::pod_uid);
      if (own == out.bindings.end()) result = std::unexpected(std::string("the engine released no binding for this pod"));
      else result = binder_(*own);
    }
  } else {
    std::lock_guard lock(mutex_);
    result = state_->Bind(*req);
  }
  const std::string pod = req->pod_namespace + "/" + req->pod_name;
  if (!result) {
    metrics_->binds.Add({{"result", "error"}}).Increment();
    log::Warn("bind refused", {{"pod", pod}, {"uid", req->pod_uid}, {"node", req->node}, {"reason", result.error()}});
    return {200, EncodeBindingResult(result.error())};
  }
  metrics_->binds.Add({{"result", "bound"}}).Increment();
  log::Info("bound pod", {{"pod", pod}, {"uid", req->pod_uid}, {"node", req->node}});
  return {200, EncodeBindingResult("")};
}

void ExtenderService::BindStartedWaitingLocked(const std::string& barrier) {
  metrics_->binds_waiting.Increment();
  // Warn while one spare thread is left: one more waiting bind and filter calls or the gang's last
  // bind find no thread, so the barrier can only time out.
  if (!thread_warning_armed_ || waiting_binds_.size() + 2 < static_cast<std::size_t>(settings_.threads)) return;
  thread_warning_armed_ = false;
  metrics_->thread_warnings.Increment();
  log::Warn("binds waiting at the co-bind barrier hold nearly every server thread",
            {{"waiting", std::to_string(waiting_binds_.size())},
             {"threads", std::to_string(settings_.threads)},
             {"barrier", barrier},
             {"fix", "raise extender.threads above the largest gang plus the gangs binding at once"}});
}

void ExtenderService::EngineChangedLocked() {
  ++engine_version_;
  if (!waiting_binds_.empty()) bind_cv_.notify_all();
}

ExtenderService::BarrierWaiters ExtenderService::Waiters() {
  std::lock_guard lock(mutex_);
  BarrierWaiters w{waiting_binds_.size(), 0};
  for (const auto& [serial, version] : waiting_binds_) w.up_to_date += version == engine_version_ ? 1 : 0;
  return w;
}

void ExtenderService::StopWaiting() {
  std::lock_guard lock(mutex_);
  stop_waiting_ = true;
  bind_cv_.notify_all();
}

Reply ExtenderService::Preempt(std::string_view body) {
  auto args = t_decoder.DecodePreemptionArgs(body);
  if (!args) return Refuse("preempt", WireErrorKindName(args.error().kind), args.error().message);
  std::map<std::string, NodeVictims> accepted;
  {
    std::lock_guard lock(mutex_);
    accepted = state_->VetVictims(args->victims);
  }
  if (accepted.size() != args->victims.size())
    log::Info("preemption candidates narrowed",
              {{"pod", args->pod.Key()}, {"proposed", std::to_string(args->victims.size())},
               {"accepted", std::to_string(accepted.size())}});
  return {200, EncodePreemptionResult(accepted)};
}

struct ExtenderServer::Impl {
  std::unique_ptr<httplib::Server> protocol;
  std::unique_ptr<httplib::Server> admin;
  std::thread protocol_thread;
  std::thread admin_thread;
};

ExtenderServer::ExtenderServer(ExtenderService& service, TlsSettings tls)
    : service_(service), tls_(std::move(tls)), impl_(std::make_unique<Impl>()) {}

ExtenderServer::~ExtenderServer() { Stop(); }

namespace {

void JsonReply(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  // The charset keeps cpp-httplib from gzipping answers for Go clients (measured +0.1..1.7 ms).
  res.set_content(body, "application/json; charset=utf-8");
}

// cpp-httplib 0.11 as Debian builds it listens with a backlog of 5, so the burst of connections
// kube-scheduler opens to bind a large gang overflows it and clients stall a second per SYN retry
// (seen in the concurrent-bind test). Linux lets listen() on a listening socket raise the backlog;
// find ours by its port, since httplib does not expose the descriptor.
void RaiseListenBacklog(int port) {
  // The open descriptors from /proc/self/fd (a few dozen) rather than 4,096 getsockopt calls, which
  // cost a couple of milliseconds per start.
  std::vector<int> fds;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9') fds.push_back(std::atoi(entry->d_name));
    }
    ::closedir(dir);
  } else {
    for (int fd = 0; fd < 4096; ++fd) fds.push_back(fd);
  }
  for (int fd : fds) {
    int accepting = 0;
    socklen_t len = sizeof accepting;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting) continue;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) continue;
    int bound = -1;
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
}

std::expected<int, std::string> BindServer(httplib::Server& server, const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
    if (bound < 0) return std::unexpected("cannot listen on " + host + ":0");
  } else if (!server.bind_to_port(host, port)) {
    return std::unexpected("cannot listen on " + host + ":" + std::to_string(port) +
                           " (address in use, or not an address of this machine)");
  }
  RaiseListenBacklog(bound);
  return bound;
}

}  // namespace

std::expected<void, std::string> ExtenderServer::Start(const std::string& host, int port, const std::string& admin_host,
                                                       int admin_port) {
  const auto& s = service_.settings();
  if (tls_.enabled()) {
    auto ssl = std::make_unique<httplib::SSLServer>(tls_.cert_file.c_str(), tls_.key_file.c_str(),
                                                    tls_.client_ca_file.empty() ? nullptr : tls_.client_ca_file.c_str());
    if (!ssl->is_valid())
      return std::unexpected("cannot start TLS: check --tls-cert " + tls_.cert_file + ", --tls-key " + tls_.key_file +
                             (tls_.client_ca_file.empty() ? "" : " and --client-ca " + tls_.client_ca_file) +
                             " (readable PEM files, key matching the certificate)");
    impl_->protocol = std::move(ssl);
  } else {
    impl_->protocol = std::make_unique<httplib::Server>();
  }
  auto& server = *impl_->protocol;
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(static_cast<std::size_t>(s.keep_alive_max_count));
  server.set_keep_alive_timeout(s.keep_alive_timeout_seconds);
  server.set_payload_max_length(s.max_request_bytes);
  server.set_read_timeout(30, 0);
  server.set_write_timeout(30, 0);
  const int threads = s.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };

  struct Route {
    std::string verb_name;
    std::string path;
    Reply (ExtenderService::*call)(std::string_view);
  };
  const Route routes[] = {
      {"filter", s.url_prefix + "/" + s.filter_verb, &ExtenderService::Filter},
      {"prioritize", s.url_prefix + "/" + s.prioritize_verb, &ExtenderService::Prioritize},
      {"bind", s.url_prefix + "/" + s.bind_verb, &ExtenderService::Bind},
      {"preempt", s.url_prefix + "/" + s.preempt_verb, &ExtenderService::Preempt},
  };
  for (const auto& route : routes) {
    server.Post(route.path, [this, route](const httplib::Request& req, httplib::Response& res) {
      const auto start = std::chrono::steady_clock::now();
      Reply reply = (service_.*route.call)(req.body);
      JsonReply(res, reply.status, reply.body);
      service_.Observe(route.verb_name,
                       reply.status,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    });
  }
  // Anything else that ends in a 4xx/5xx (unknown path, wrong method, body over the limit, a
  // malformed request line) gets a JSON body, a log line and a metric.
  server.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a verb handler already answered with its own JSON error
    std::string kind = res.status == 404 ? "unknown_path" : res.status == 413 ? "too_large" : "http_" + std::to_string(res.status);
    std::string message = res.status == 404   ? "no extender verb at " + req.method + " " + req.path +
                                                  " (POST to <urlPrefix>/filter, prioritize, bind or preempt)"
                          : res.status == 413 ? "request body is larger than extender.maxRequestBytes (" +
                                                    std::to_string(service_.settings().max_request_bytes) + " bytes)"
                                              : "request refused with HTTP " + std::to_string(res.status);
    service_.CountError("none", kind, res.status);
    service_.CountRequest("none", res.status);
    log::Warn("refused HTTP request", {{"method", req.method}, {"path", req.path}, {"status", std::to_string(res.status)},
                                       {"kind", kind}, {"remote", req.remote_addr}});
    JsonReply(res, res.status, EncodeError(message));
  });
  server.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    service_.CountError("none", "internal", 500);
    log::Error("request handler failed", {{"path", req.path}, {"error", what}});
    JsonReply(res, 500, EncodeError("internal error: " + what));
  });

  impl_->admin = std::make_unique<httplib::Server>();
  auto& admin = *impl_->admin;
  admin.set_tcp_nodelay(true);
  admin.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  admin.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    res.status = ready_ ? 200 : 503;
    res.set_content(ready_ ? "ready\n" : "not ready: the node cache is not loaded yet\n", "text/plain");
  });
  admin.Get("/debug/pending", [this](const httplib::Request&, httplib::Response& res) {
    auto reply = service_.DebugPending();
    JsonReply(res, reply.status, reply.body);
  });
  admin.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(service_.MetricsText(), "text/plain; version=0.0.4; charset=utf-8");
  });

  auto bound = BindServer(server, host, port);
  if (!bound) return std::unexpected(bound.error());
  port_ = *bound;
  auto admin_bound = BindServer(admin, admin_host, admin_port);
  if (!admin_bound) {
    server.stop();
    return std::unexpected(admin_bound.error());
  }
  admin_port_ = *admin_bound;
  impl_->protocol_thread = std::thread([&server] { server.listen_after_bind(); });
  impl_->admin_thread = std::thread([&admin] { admin.listen_after_bind(); });
  for (int i = 0; i < 5000 && !(server.is_running() && admin.is_running()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return {};
}

void ExtenderServer::Stop() {
  if (!impl_) return;
  if (impl_->protocol) service_.StopWaiting();  // binds at the barrier would hold the pool's threads
  if (impl_->protocol) impl_->protocol->stop();
  if (impl_->admin) impl_->admin->stop();
  if (impl_->protocol_thread.joinable()) impl_->protocol_thread.join();
  if (impl_->admin_thread.joinable()) impl_->admin_thread.join();
}

}  // namespace platoon::extender
