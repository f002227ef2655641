// The extender service behind the event-driven edge: routes, parked binds, prometheus-cpp metrics,
// logfmt logs.
#include "scheduler/extender/server.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
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
                                         .Help("Bind calls parked at the co-bind barrier (memory only, no thread).")
                                         .Register(registry)
                                         .Add({});
  prometheus::Family<prometheus::Gauge>& connections =
      prometheus::BuildGauge()
          .Name("platoon_extender_connections")
          .Help("Open connections on both ports, by state (idle: between requests; busy: reading, deciding or writing).")
          .Register(registry);
  prometheus::Gauge& answers_pending = prometheus::BuildGauge()
                                           .Name("platoon_extender_answers_pending")
                                           .Help("Requests read whose answer is not ready yet (parked binds among them).")
                                           .Register(registry)
                                           .Add({});
  prometheus::Gauge& body_bytes = prometheus::BuildGauge()
                                      .Name("platoon_extender_inflight_body_bytes")
                                      .Help("Request body bytes held in memory now (bounded by extender.maxInflightRequestBytes).")
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

// The pool that posts released Bindings to the API server: blocking calls, off the event loop, many
// at once so a big gang's release lands together.
struct ExtenderService::Posting {
  static constexpr int kThreads = 32;
  boost::asio::thread_pool pool{kThreads};
};

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

void ExtenderService::RefreshGauges(bool wait) {
  Locked lock = wait ? Locked(*this) : Locked(*this, std::try_to_lock);
  if (!lock.owns()) return;
  const ClusterCounts counts = state_->Counts();
  metrics_->cache.Add({{"kind", "node"}}).Set(static_cast<double>(counts.nodes));
  metrics_->cache.Add({{"kind", "bound_pod"}}).Set(static_cast<double>(counts.bound_pods));
  metrics_->cache.Add({{"kind", "pending_pod"}}).Set(static_cast<double>(counts.pending_pods));
  if (!engine_) return;
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

void ExtenderService::SetEdgeGauges(std::size_t connections, std::size_t idle, std::size_t answers_pending, std::size_t body_bytes) {
  metrics_->connections.Add({{"state", "idle"}}).Set(static_cast<double>(idle));
  metrics_->connections.Add({{"state", "busy"}}).Set(static_cast<double>(connections - std::min(idle, connections)));
  metrics_->answers_pending.Set(static_cast<double>(answers_pending));
  metrics_->body_bytes.Set(static_cast<double>(body_bytes));
}

std::string ExtenderService::MetricsText() {
  RefreshGauges();
  return prometheus::TextSerializer().Serialize(metrics_->registry.Collect());
}

std::string ExtenderService::RenderedMetrics() {
  std::lock_guard lock(rendered_mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (rendered_.empty() || now - rendered_at_ >= std::chrono::seconds(1)) {
    rendered_ = prometheus::TextSerializer().Serialize(metrics_->registry.Collect());
    rendered_at_ = now;
  }
  return rendered_;
}

std::int64_t ExtenderService::NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool ExtenderService::EngineResponsive(std::chrono::seconds limit) const {
  const std::int64_t since = held_since_.load();
  return since == 0 || NowNanos() - since < std::chrono::duration_cast<std::chrono::nanoseconds>(limit).count();
}

void ExtenderService::AttachEngine(std::unique_ptr<engine::Engine> engine, std::function<double()> clock) {
  Locked lock(*this);
  engine_ = std::move(engine);
  clock_ = std::move(clock);
  if (engine_) engine_->SetMetricsSink(metrics_.get());
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
    Locked lock(*this);
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

// The decoder's buffers grow to the largest body seen; give them back after a big one so a burst of
// 30 MB NodeLists does not stay resident. Declared before the decoded arguments, so it runs after
// they (which point into those buffers) are gone.
struct TrimDecoder {
  ~TrimDecoder() { t_decoder.Trim(); }
};
}  // namespace

Reply ExtenderService::Filter(std::string_view body) {
  if (!accepting_) return kSyncing;
  TrimDecoder trim;
  auto args = t_decoder.DecodeFilterArgs(body);
  if (!args) return Refuse("filter", WireErrorKindName(args.error().kind), args.error().message);
  if (engine_) {
    engine::FilterDecision decision;
    {
      Locked lock(*this);
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
    Locked lock(*this);
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
  TrimDecoder trim;
  auto args = t_decoder.DecodeFilterArgs(body);
  if (!args) return Refuse("prioritize", WireErrorKindName(args.error().kind), args.error().message);
  std::vector<int> scores;
  {
    Locked lock(*this);
    scores = engine_ ? engine_->Score(args->pod, args->node_names) : state_->Score(args->pod, args->node_names);
  }
  std::vector<std::int64_t> extender_scores(scores.size());
  std::transform(scores.begin(), scores.end(), extender_scores.begin(), ToExtenderScore);
  return {200, EncodeHostPriorityList(args->node_names, extender_scores)};
}

void ExtenderService::SetBinder(Binder binder) {
  binder_ = std::move(binder);
  if (binder_ && !posting_) posting_ = std::make_unique<Posting>();
}

void ExtenderService::SetWake(std::function<void()> wake) {
  Locked lock(*this);
  wake_ = std::move(wake);
}

namespace {
// A bind parked this long is answered with an error whatever the engine says (the engine's own
// barrier timeout, default 20 s, normally decides long before).
constexpr auto kParkedGiveUp = std::chrono::minutes(10);
}  // namespace

void ExtenderService::Bind(std::string_view body, std::function<void(Reply)> done) {
  if (!accepting_) return done(kSyncing);
  BindInfo info;
  std::expected<void, std::string> result;
  {
    TrimDecoder trim;
    auto req = t_decoder.DecodeBindingArgs(body);
    if (!req) return done(Refuse("bind", WireErrorKindName(req.error().kind), req.error().message));
    info = {req->pod_namespace + "/" + req->pod_name, req->pod_uid, req->node};
    if (!engine_) {
      Locked lock(*this);
      result = state_->Bind(*req);
    }
  }
  if (!engine_) return FinishBind(info, result, done);
  engine::BindOutcome out;
  {
    Locked lock(*this);
    if (stop_waiting_) {
      out = {engine::BindOutcome::Kind::Error, {}, "bind barrier: the extender is shutting down"};
    } else {
      out = engine_->Bind(info.pod_uid, info.node, clock_());
      if (out.kind == engine::BindOutcome::Kind::Wait) {
        // The co-bind barrier: park until the whole gang reached bind (or the engine fails this bind).
        parked_.emplace(next_bind_++, Parked{std::move(info), engine_version_, std::chrono::steady_clock::now() + kParkedGiveUp,
                                             std::move(done)});
        ++parked_count_;
        metrics_->binds_waiting.Increment();
        return;
      }
    }
    // A release binds the other members; a failure may have released the gang's reservation.
    EngineChangedLocked();
  }
  CompleteBind(info, std::move(out), std::move(done));
}

void ExtenderService::ReviewParkedBinds(bool wait) {
  if (parked_count_ == 0 && !wait) return;
  std::vector<std::pair<Parked, engine::BindOutcome>> decided;
  {
    Locked lock = wait ? Locked(*this) : Locked(*this, std::try_to_lock);
    if (!lock.owns()) return;  // the holder's change will wake a review
    if (wait) review_scheduled_ = false;
    if (parked_.empty()) return;
    const double now = clock_();
    const auto steady_now = std::chrono::steady_clock::now();
    for (auto it = parked_.begin(); it != parked_.end();) {
      engine::BindOutcome out;
      if (stop_waiting_) out = {engine::BindOutcome::Kind::Error, {}, "bind barrier: the extender is shutting down"};
      else if (steady_now > it->second.give_up) out = {engine::BindOutcome::Kind::Error, {}, "bind barrier: gave up after 10 minutes"};
      else out = engine_->Bind(it->second.info.pod_uid, it->second.info.node, now);
      if (out.kind == engine::BindOutcome::Kind::Wait) {
        it->second.seen_version = engine_version_;
        ++it;
        continue;
      }
      decided.emplace_back(std::move(it->second), std::move(out));
      it = parked_.erase(it);
      --parked_count_;
      metrics_->binds_waiting.Decrement();
    }
    // A release or failure changed the engine: the binds still parked ask again.
    if (!decided.empty()) EngineChangedLocked();
  }
  for (auto& [parked, out] : decided) CompleteBind(parked.info, std::move(out), std::move(parked.done));
}

void ExtenderService::CompleteBind(const BindInfo& info, engine::BindOutcome out, std::function<void(Reply)> done) {
  if (out.kind != engine::BindOutcome::Kind::BindNow) return FinishBind(info, std::unexpected(out.message), done);
  if (!binder_) return FinishBind(info, {}, done);
  auto own = std::ranges::find(out.bindings, info.pod_uid, &engine::Binding::pod_uid);
  if (own == out.bindings.end()) return FinishBind(info, std::unexpected(std::string("the engine released no binding for this pod")), done);
  // Live mode: post this pod's Binding from the pool (an API round trip).
  boost::asio::post(posting_->pool, [this, info, binding = *own, done = std::move(done)] { FinishBind(info, binder_(binding), done); });
}

void ExtenderService::FinishBind(const BindInfo& info, const std::expected<void, std::string>& result,
                                 const std::function<void(Reply)>& done) {
  if (!result) {
    metrics_->binds.Add({{"result", "error"}}).Increment();
    log::Warn("bind refused", {{"pod", info.pod}, {"uid", info.pod_uid}, {"node", info.node}, {"reason", result.error()}});
    return done({200, EncodeBindingResult(result.error())});
  }
  metrics_->binds.Add({{"result", "bound"}}).Increment();
  log::Info("bound pod", {{"pod", info.pod}, {"uid", info.pod_uid}, {"node", info.node}});
  done({200, EncodeBindingResult("")});
}

void ExtenderService::EngineChangedLocked() {
  ++engine_version_;
  if (!parked_.empty() && wake_ && !review_scheduled_.exchange(true)) wake_();
}

ExtenderService::BarrierWaiters ExtenderService::Waiters() {
  Locked lock(*this);
  BarrierWaiters w{parked_.size(), 0};
  for (const auto& [serial, parked] : parked_) w.up_to_date += parked.seen_version == engine_version_ ? 1 : 0;
  return w;
}

void ExtenderService::StopWaiting() {
  {
    Locked lock(*this);
    stop_waiting_ = true;
    wake_ = nullptr;
  }
  ReviewParkedBinds();  // answers every parked bind with "shutting down"
  if (posting_) posting_->pool.join();
}

Reply ExtenderService::Preempt(std::string_view body) {
  TrimDecoder trim;
  auto args = t_decoder.DecodePreemptionArgs(body);
  if (!args) return Refuse("preempt", WireErrorKindName(args.error().kind), args.error().message);
  std::map<std::string, NodeVictims> accepted;
  {
    Locked lock(*this);
    accepted = state_->VetVictims(args->victims);
  }
  if (accepted.size() != args->victims.size())
    log::Info("preemption candidates narrowed",
              {{"pod", args->pod.Key()}, {"proposed", std::to_string(args->victims.size())},
               {"accepted", std::to_string(accepted.size())}});
  return {200, EncodePreemptionResult(accepted)};
}

struct ExtenderServer::Impl {
  std::unique_ptr<HttpEdge> edge;
};

ExtenderServer::ExtenderServer(ExtenderService& service, TlsSettings tls, AdminSettings admin)
    : service_(service), tls_(std::move(tls)), admin_(std::move(admin)), impl_(std::make_unique<Impl>()) {}

ExtenderServer::~ExtenderServer() { Stop(); }

namespace {

constexpr auto kParkedReview = std::chrono::milliseconds(50);
constexpr auto kGaugeRefresh = std::chrono::seconds(1);

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

HttpAnswer Json(int status, std::string body) { return {status, std::move(body), "application/json"}; }
HttpAnswer Text(int status, std::string body) { return {status, std::move(body), "text/plain; charset=utf-8"}; }

EdgeLimits ExtenderLimits(const config::ExtenderSettings& s) {
  EdgeLimits l;
  l.max_body_bytes = s.max_request_bytes;
  l.max_header_bytes = s.max_header_bytes;
  l.max_headers = s.max_headers;
  l.max_connections = s.max_connections;
  l.keep_alive_max_requests = s.keep_alive_max_count;
  l.keep_alive_timeout = std::chrono::seconds(s.keep_alive_timeout_seconds);
  l.read_timeout = std::chrono::seconds(s.read_timeout_seconds);
  l.write_timeout = std::chrono::seconds(s.write_timeout_seconds);
  l.handshake_timeout = std::chrono::seconds(s.tls_handshake_timeout_seconds);
  return l;
}

// The admin port reads no bodies; its connections are probes and scrapers.
EdgeLimits AdminLimits(const config::ExtenderSettings& s) {
  EdgeLimits l = ExtenderLimits(s);
  l.max_body_bytes = 64u << 10;
  l.max_connections = std::min(s.max_connections, 256);
  return l;
}

std::optional<TlsFiles> Files(const TlsSettings& tls, bool require_client_cert) {
  if (!tls.enabled()) return std::nullopt;
  return TlsFiles{tls.cert_file, tls.key_file, tls.client_ca_file, require_client_cert};
}

}  // namespace

void ExtenderServer::HandleExtender(HttpRequest&& request, Respond respond) {
  const auto& s = service_.settings();
  struct Route {
    std::string_view verb;
    std::string path;
  };
  const Route routes[] = {{"filter", s.url_prefix + "/" + s.filter_verb},
                          {"prioritize", s.url_prefix + "/" + s.prioritize_verb},
                          {"bind", s.url_prefix + "/" + s.bind_verb},
                          {"preempt", s.url_prefix + "/" + s.preempt_verb}};
  const std::string_view path = PathOf(request.target);
  const Route* route = nullptr;
  for (const auto& r : routes) route = r.path == path ? &r : route;
  if (route == nullptr || request.method != "POST") {
    // Anything else gets a JSON body, a log line and a metric.
    const int status = route == nullptr ? 404 : 405;
    const std::string kind = route == nullptr ? "unknown_path" : "wrong_method";
    const std::string message = route == nullptr ? "no extender verb at " + request.method + " " + std::string(path) +
                                                       " (POST to <urlPrefix>/filter, prioritize, bind or preempt)"
                                                 : std::string(route->verb) + " takes POST, not " + request.method;
    service_.CountError("none", kind, status);
    service_.CountRequest("none", status);
    log::Warn("refused HTTP request", {{"method", request.method}, {"path", std::string(path)}, {"status", std::to_string(status)},
                                       {"kind", kind}, {"remote", request.remote}});
    return respond(Json(status, EncodeError(message)));
  }
  const auto start = std::chrono::steady_clock::now();
  auto answer = [this, verb = route->verb, start, respond = std::move(respond)](Reply reply) {
    service_.Observe(verb, reply.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    respond(Json(reply.status, std::move(reply.body)));
  };
  try {
    if (route->verb == "filter") return answer(service_.Filter(request.body));
    if (route->verb == "prioritize") return answer(service_.Prioritize(request.body));
    if (route->verb == "preempt") return answer(service_.Preempt(request.body));
    service_.Bind(request.body, std::move(answer));
  } catch (const std::exception& e) {
    // The core does not throw for bad input; this is a bug, answered and logged, never a crash.
    service_.CountError(route->verb, "internal", 500);
    log::Error("request handler failed", {{"verb", std::string(route->verb)}, {"error", e.what()}});
    respond(Json(500, EncodeError(std::string("internal error: ") + e.what())));
  }
}

void ExtenderServer::HandleAdmin(HttpRequest&& request, Respond respond) {
  const std::string_view path = PathOf(request.target);
  if (request.method != "GET" && request.method != "HEAD") return respond(Text(405, "the admin port answers GET\n"));
  if (path == "/healthz") {
    // Served by the same loop and workers as the extender port: when they cannot answer, neither
    // does this. A stuck engine lock turns it red even while the loop runs.
    if (!service_.EngineResponsive(admin_.liveness_stall))
      return respond(Text(503, "unhealthy: the engine has been busy on one decision for over " +
                                   std::to_string(admin_.liveness_stall.count()) + " s\n"));
    return respond(Text(200, "ok\n"));
  }
  if (path == "/readyz") return respond(ready_ ? Text(200, "ready\n") : Text(503, "not ready: the node cache is not loaded yet\n"));
  const bool needs_cert = !admin_.tls.client_ca_file.empty();
  if (needs_cert && !request.client_verified && (path == "/metrics" || path == "/debug/pending"))
    return respond(Text(403, "forbidden: " + std::string(path) + " needs a client certificate signed by --admin-client-ca\n"));
  if (path == "/metrics") return respond(Text(200, service_.RenderedMetrics()));
  if (path == "/debug/pending") {
    if (!needs_cert && !request.loopback && !admin_.debug_pending_open)
      return respond(Json(403, EncodeError("/debug/pending shows tenants' gangs and free capacity: it is served to loopback "
                                           "clients, to clients with a certificate (--admin-client-ca), or to everyone with "
                                           "--debug-pending")));
    auto reply = service_.DebugPending();
    return respond(Json(reply.status, std::move(reply.body)));
  }
  respond(Text(404, "not found: the admin port serves /healthz, /readyz, /metrics and /debug/pending\n"));
}

std::expected<void, std::string> ExtenderServer::Start(const std::string& host, int port, const std::string& admin_host,
                                                       int admin_port) {
  const auto& s = service_.settings();
  impl_->edge = std::make_unique<HttpEdge>(s.workers, s.max_inflight_request_bytes, [this](const EdgeEvent& e) {
    service_.CountError("none", e.kind, e.status);
    if (e.status != 0) service_.CountRequest("none", e.status);
    // A connection dropped without an answer (a failed handshake, a read deadline) is counted but
    // logged at debug: a port scan must not flood the log. Refusals with a 4xx are warnings.
    log::Write(e.status != 0 ? log::Level::Warn : log::Level::Debug, e.status != 0 ? "refused HTTP request" : "dropped connection", {{"port", std::string(e.port)}, {"kind", std::string(e.kind)},
                                       {"status", std::to_string(e.status)}, {"remote", e.remote},
                                       {"method", e.method}, {"path", e.target}});
  });
  auto& edge = *impl_->edge;
  auto bound = edge.Listen("extender", host, port, ExtenderLimits(s), Files(tls_, true),
                           [this](HttpRequest&& r, Respond respond) { HandleExtender(std::move(r), std::move(respond)); });
  if (!bound)
    return std::unexpected(bound.error() + (tls_.enabled() ? " (check --tls-cert, --tls-key and --client-ca: readable PEM "
                                                             "files, the key matching the certificate)"
                                                           : ""));
  auto admin_bound = edge.Listen("admin", admin_host, admin_port, AdminLimits(s), Files(admin_.tls, false),
                                 [this](HttpRequest&& r, Respond respond) { HandleAdmin(std::move(r), std::move(respond)); });
  if (!admin_bound)
    return std::unexpected(admin_bound.error() + (admin_.tls.enabled() ? " (check --admin-tls-cert, --admin-tls-key and "
                                                                         "--admin-client-ca)"
                                                                       : ""));
  port_ = *bound;
  admin_port_ = *admin_bound;
  service_.SetWake([&edge, this] { edge.Post([this] { service_.ReviewParkedBinds(); }); });
  edge.Every(kParkedReview, [this] { service_.ReviewParkedBinds(false); });
  edge.Every(kGaugeRefresh, [this, &edge] {
    const EdgeGauges g = edge.Gauges();
    service_.SetEdgeGauges(g.connections, g.idle_connections, g.answers_pending, g.inflight_body_bytes);
    service_.RefreshGauges(false);
  });
  service_.SetEdgeGauges(0, 0, 0, 0);
  service_.RefreshGauges();
  edge.Start();
  return {};
}

void ExtenderServer::Stop() {
  if (!impl_ || !impl_->edge) return;
  service_.StopWaiting();  // answers parked binds and waits for Bindings being posted
  impl_->edge->Stop();
  impl_->edge.reset();
}

}  // namespace platoon::extender
