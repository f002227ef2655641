// The extender HTTP service: kube-scheduler's filter/prioritize/bind/preempt verbs on one port,
// /healthz, /readyz, /metrics and /debug/pending on an admin port, both on the event-driven edge.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "config/platoon_config.h"
#include "scheduler/extender/http_edge.h"
#include "scheduler/cluster_state.h"
#include "scheduler/engine.h"

namespace prometheus {
class Registry;
class Gauge;
}

namespace platoon::extender {

// An HTTP answer: status code and JSON body.
struct Reply {
  int status = 200;
  std::string body;
};

struct TlsSettings {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // set: clients must present a certificate signed by it
  bool enabled() const { return !cert_file.empty(); }
};

// The protocol logic behind the HTTP routes, independent of the transport so the same calls can be
// benchmarked in process. Thread-safe: requests decode in parallel; the cluster state is guarded.
class ExtenderService {
 public:
  ExtenderService(config::ExtenderSettings settings, std::unique_ptr<ClusterState> state);
  ~ExtenderService();

  Reply Filter(std::string_view body);
  Reply Prioritize(std::string_view body);
  // Answers through `done`, exactly once, from any thread: at once when the bind is decided, later
  // when it waits at the co-bind barrier. A waiting bind is parked (memory, no thread) until its
  // gang's barrier releases, times out or the plan breaks (see ReviewParkedBinds). In live mode the
  // released pod's Binding is posted from a small pool, off the serving threads.
  void Bind(std::string_view body, std::function<void(Reply)> done);
  Reply Preempt(std::string_view body);

  // Counts a refused request (4xx) by kind, for transport-level refusals as well.
  void CountError(std::string_view verb, std::string_view kind, int status);
  void Observe(std::string_view verb, int status, double seconds);
  void CountRequest(std::string_view verb, int status);
  // Refreshes the gauges that read the engine (pending gangs, cache sizes) and renders every
  // metric: for tests and in-process callers. The /metrics route serves RenderedMetrics instead.
  std::string MetricsText();
  // The metrics as of the last RefreshGauges, rendered at most once a second however many scrape:
  // a scrape never takes the engine's lock.
  std::string RenderedMetrics();
  // Reads the engine under its lock for the gauges /metrics serves; the server calls it every second
  // with `wait` false, so a busy engine leaves the last figures in place instead of blocking.
  void RefreshGauges(bool wait = true);
  // The serving edge's own figures (connections open and idle, answers pending, body bytes held).
  void SetEdgeGauges(std::size_t connections, std::size_t idle, std::size_t answers_pending, std::size_t body_bytes);
  // Live mode's API traffic: platoon_api_requests_total{call,code} ("binding", "eviction", ...; code
  // "error" when no answer came) and platoon_watch_total{kind,outcome} (list/watch outcomes per kind).
  void CountApiCall(std::string_view call, int status);
  void CountWatch(std::string_view kind, std::string_view outcome);

  // Hands filter, prioritize and bind to the gang engine (preempt stays with the node cache). `clock`
  // gives the engine's `now` in seconds. Call before serving.
  void AttachEngine(std::unique_ptr<engine::Engine> engine, std::function<double()> clock);
  bool has_engine() const { return engine_ != nullptr; }
  // Live mode: posts a released pod's Binding to the API server (kube-scheduler's bindVerb makes
  // platoon the binder). Called from the posting pool once its gang's barrier released; its error
  // fails that bind. Unset (standalone): binds succeed without posting.
  using Binder = std::function<std::expected<void, std::string>(const engine::Binding&)>;
  void SetBinder(Binder binder);
  // How the service asks for ReviewParkedBinds soon after the engine changed (the server posts it
  // onto its event loop; calls are coalesced). Called with the engine's lock held: must not block.
  void SetWake(std::function<void()> wake);
  // Asks the engine again for every parked bind and answers those it decided. The server calls it
  // after each engine change (through the wake) and every 50 ms (time passing times barriers out);
  // the timer's calls pass `wait` false and skip a round while the engine is busy.
  void ReviewParkedBinds(bool wait = true);
  // While false, filter, prioritize and bind answer HTTP 503 (live mode before the first full sync,
  // so no decision is made on a partial view of the cluster). Default true.
  void SetAccepting(bool accepting) { accepting_ = accepting; }
  // GET /debug/pending: the engine's pending gangs per ClusterQueue as JSON; 404 without an engine.
  Reply DebugPending();
  // False when one holder has kept the engine's lock longer than `limit` (a stuck decision): the
  // liveness probe turns red so the pod is restarted.
  bool EngineResponsive(std::chrono::seconds limit) const;
  // Runs f with exclusive access to the engine (loaders feed it nodes, pods, PodGroups, quota). What
  // f changed may decide parked binds (a node gone breaks a plan, time passing times a barrier out),
  // so they are reviewed.
  template <typename F>
  auto WithEngine(F&& f) {
    Locked lock(*this);
    struct Wake {
      ExtenderService& s;
      ~Wake() { s.EngineChangedLocked(); }
    } wake{*this};
    return f(*engine_);
  }

  // Binds parked at the co-bind barrier: how many, and how many have asked the engine since its
  // last change (filter, WithEngine, a bind that released or failed). When the two are equal every
  // parked bind has seen the current state, so nothing changes until the next call: a quiescent
  // point for drivers and tests.
  struct BarrierWaiters {
    std::size_t waiting = 0;
    std::size_t up_to_date = 0;
  };
  BarrierWaiters Waiters();
  // Fails every parked bind and every bind that arrives later ("shutting down"), and waits for
  // Bindings being posted. Called by ExtenderServer::Stop.
  void StopWaiting();

  const config::ExtenderSettings& settings() const { return settings_; }
  // Runs f with exclusive access to the state (for loaders and debug views).
  template <typename F>
  auto WithState(F&& f) {
    Locked lock(*this);
    return f(*state_);
  }

 private:
  struct Metrics;
  struct Posting;
  // What a bind's answer and log line need, kept while it is parked or posted.
  struct BindInfo {
    std::string pod;  // namespace/name
    std::string pod_uid;
    std::string node;
  };
  struct Parked {
    BindInfo info;
    std::uint64_t seen_version = 0;  // engine_version_ when it last asked the engine
    std::chrono::steady_clock::time_point give_up;
    std::function<void(Reply)> done;
  };
  // The engine's lock, and when its current holder took it (the liveness watchdog reads that).
  // With std::try_to_lock it does not wait: owns() says whether it got the lock (housekeeping on the
  // event loop skips a round rather than block a worker behind a long decision).
  class Locked {
   public:
    explicit Locked(ExtenderService& s) : s_(s), lock_(s.mutex_) { s_.held_since_ = NowNanos(); }
    Locked(ExtenderService& s, std::try_to_lock_t) : s_(s), lock_(s.mutex_, std::try_to_lock) {
      if (lock_.owns_lock()) s_.held_since_ = NowNanos();
    }
    ~Locked() {
      if (lock_.owns_lock()) s_.held_since_ = 0;
    }
    bool owns() const { return lock_.owns_lock(); }
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;

   private:
    ExtenderService& s_;
    std::unique_lock<std::mutex> lock_;
  };
  static std::int64_t NowNanos();
  Reply Refuse(std::string_view verb, std::string_view kind, std::string message);
  void CompleteBind(const BindInfo& info, engine::BindOutcome out, std::function<void(Reply)> done);
  void FinishBind(const BindInfo& info, const std::expected<void, std::string>& result, const std::function<void(Reply)>& done);
  void EngineChangedLocked();  // mutex_ held

  config::ExtenderSettings settings_;
  std::mutex mutex_;
  std::atomic<std::int64_t> held_since_{0};
  std::unique_ptr<ClusterState> state_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<engine::Engine> engine_;
  std::function<double()> clock_;
  Binder binder_;
  std::unique_ptr<Posting> posting_;
  std::function<void()> wake_;
  std::atomic<bool> review_scheduled_{false};
  std::atomic<bool> accepting_{true};
  std::uint64_t engine_version_ = 0;
  std::uint64_t next_bind_ = 0;
  std::map<std::uint64_t, Parked> parked_;  // by arrival
  std::atomic<std::size_t> parked_count_{0};  // parked_.size(), read without the lock
  bool stop_waiting_ = false;
  std::map<std::pair<std::string, std::string>, prometheus::Gauge*> pending_seen_;  // (queue, status)
  std::mutex rendered_mutex_;
  std::string rendered_;
  std::chrono::steady_clock::time_point rendered_at_{};
};

// The admin port (/healthz, /readyz, /metrics, /debug/pending): TLS and client certificates as on
// the extender port. Probes (/healthz, /readyz) are always open; with a client CA, /metrics and
// /debug/pending need a certificate it signed. /debug/pending (tenants' namespaces, gangs, free
// capacity) is otherwise served only to loopback clients unless `debug_pending_open`.
struct AdminSettings {
  TlsSettings tls;
  bool debug_pending_open = false;
  // /healthz turns red when one decision has held the engine this long (kube-scheduler would have
  // timed every extender call out long before).
  std::chrono::seconds liveness_stall{30};
};

// Owns the event-driven edge with its two ports. Start() binds both (port 0 picks a free port, see
// ports()), then serves until Stop(). Never throws for a client's input.
class ExtenderServer {
 public:
  ExtenderServer(ExtenderService& service, TlsSettings tls, AdminSettings admin = {});
  ~ExtenderServer();

  // Errors are sentences ("cannot listen on 127.0.0.1:8888: address already in use ...").
  std::expected<void, std::string> Start(const std::string& host, int port, const std::string& admin_host, int admin_port);
  void Stop();
  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  void SetReady(bool ready) { ready_ = ready; }

 private:
  struct Impl;
  void HandleExtender(HttpRequest&& request, Respond respond);
  void HandleAdmin(HttpRequest&& request, Respond respond);
  ExtenderService& service_;
  TlsSettings tls_;
  AdminSettings admin_;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> ready_{false};
  int port_ = 0;
  int admin_port_ = 0;
};

}  // namespace platoon::extender
