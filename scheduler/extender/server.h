// The extender HTTP service: kube-scheduler's filter/prioritize/bind/preempt verbs on one port,
// /healthz, /readyz and /metrics on a plain admin port.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "config/platoon_config.h"
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
  Reply Bind(std::string_view body);
  Reply Preempt(std::string_view body);

  // Counts a refused request (4xx) by kind, for transport-level refusals as well.
  void CountError(std::string_view verb, std::string_view kind, int status);
  void Observe(std::string_view verb, int status, double seconds);
  void CountRequest(std::string_view verb, int status);
  std::string MetricsText();
  // Live mode's API traffic: platoon_api_requests_total{call,code} ("binding", "eviction", ...; code
  // "error" when no answer came) and platoon_watch_total{kind,outcome} (list/watch outcomes per kind).
  void CountApiCall(std::string_view call, int status);
  void CountWatch(std::string_view kind, std::string_view outcome);

  // Hands filter, prioritize and bind to the gang engine (preempt stays with the node cache). `clock`
  // gives the engine's `now` in seconds. Call before serving. A bind then waits (holding one server
  // thread) until its whole gang reached bind, the barrier times out, or the plan breaks, so
  // extender.threads must exceed the largest gang plus the gangs binding at once: attaching logs the
  // limit, and a warning (and platoon_bind_barrier_thread_warnings_total) says when waiting binds
  // leave at most one spare thread.
  void AttachEngine(std::unique_ptr<engine::Engine> engine, std::function<double()> clock);
  bool has_engine() const { return engine_ != nullptr; }
  // Live mode: posts a released pod's Binding to the API server (kube-scheduler's bindVerb makes
  // platoon the binder). Called by the bind call of that pod, outside the lock, once its gang's
  // barrier released; its error fails that bind. Unset (standalone): binds succeed without posting.
  using Binder = std::function<std::expected<void, std::string>(const engine::Binding&)>;
  void SetBinder(Binder binder) { binder_ = std::move(binder); }
  // While false, filter, prioritize and bind answer HTTP 503 (live mode before the first full sync,
  // so no decision is made on a partial view of the cluster). Default true.
  void SetAccepting(bool accepting) { accepting_ = accepting; }
  // GET /debug/pending: the engine's pending gangs per ClusterQueue as JSON; 404 without an engine.
  Reply DebugPending();
  // Runs f with exclusive access to the engine (loaders feed it nodes, pods, PodGroups, quota). What
  // f changed may decide waiting binds (a node gone breaks a plan, time passing times a barrier out),
  // so they are woken to ask the engine again.
  template <typename F>
  auto WithEngine(F&& f) {
    std::lock_guard lock(mutex_);
    struct Wake {
      ExtenderService& s;
      ~Wake() { s.EngineChangedLocked(); }
    } wake{*this};
    return f(*engine_);
  }

  // Binds waiting at the co-bind barrier: how many, and how many have asked the engine since its
  // last change (filter, WithEngine, a bind that released or failed). When the two are equal every
  // waiting bind has seen the current state, so nothing changes until the next call: a quiescent
  // point for drivers and tests.
  struct BarrierWaiters {
    std::size_t waiting = 0;
    std::size_t up_to_date = 0;
  };
  BarrierWaiters Waiters();
  // Fails every waiting bind and every bind that arrives later ("shutting down"), so server threads
  // return before the server stops. Called by ExtenderServer::Stop.
  void StopWaiting();

  const config::ExtenderSettings& settings() const { return settings_; }
  // Runs f with exclusive access to the state (for loaders and debug views).
  template <typename F>
  auto WithState(F&& f) {
    std::lock_guard lock(mutex_);
    return f(*state_);
  }

 private:
  struct Metrics;
  Reply Refuse(std::string_view verb, std::string_view kind, std::string message);

  config::ExtenderSettings settings_;
  std::mutex mutex_;
  std::unique_ptr<ClusterState> state_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<engine::Engine> engine_;
  std::function<double()> clock_;
  Binder binder_;
  std::atomic<bool> accepting_{true};
  void EngineChangedLocked();  // mutex_ held
  void BindStartedWaitingLocked(const std::string& barrier);  // mutex_ held
  bool thread_warning_armed_ = true;
  std::condition_variable bind_cv_;  // woken when the engine changed (a barrier may have released)
  std::uint64_t engine_version_ = 0;
  std::uint64_t next_bind_ = 0;
  std::map<std::uint64_t, std::uint64_t> waiting_binds_;  // bind serial -> engine version it last saw
  bool stop_waiting_ = false;
  std::map<std::pair<std::string, std::string>, prometheus::Gauge*> pending_seen_;  // (queue, status)
};

// Owns the two listening servers and their threads. Start() binds both (port 0 picks a free port,
// see ports()), then serves until Stop(). Never throws for a client's input.
class ExtenderServer {
 public:
  ExtenderServer(ExtenderService& service, TlsSettings tls);
  ~ExtenderServer();

  // Errors are sentences ("cannot listen on 127.0.0.1:8888: address in use").
  std::expected<void, std::string> Start(const std::string& host, int port, const std::string& admin_host, int admin_port);
  void Stop();
  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  void SetReady(bool ready) { ready_ = ready; }

 private:
  struct Impl;
  ExtenderService& service_;
  TlsSettings tls_;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> ready_{false};
  int port_ = 0;
  int admin_port_ = 0;
};

}  // namespace platoon::extender
