// A scripted kube-scheduler (and API server) that drives the real extender over loopback HTTP.
//
// The driver plays three parts against one ExtenderServer on 127.0.0.1:0 with the gang engine attached:
// - the informer: every event (node, PodGroup, pod created/completed/deleted, quota) reaches the engine
//   through ExtenderService::WithEngine, as the live watch will;
// - kube-scheduler 1.36 with one extender (`nodeCacheCapable: true`, `managedResources:
//   nvidia.com/gpu`, `bindVerb` set, `percentageOfNodesToScore: 100`): a scheduling queue ordered by
//   priority then arrival, one scheduling cycle at a time (its own NodeResourcesFit with assumed pods,
//   then POST filter with node names, POST prioritize when more than one node passed, select host with
//   seeded tie-breaking, assume), and the binding cycle on its own thread (POST bind), as kube-scheduler's
//   binding goroutines; a failed filter or bind puts the pod back with backoff (1 s doubling to 10 s);
// - the API server: the Bindings platoon posts (the engine's BindActions, with the devices annotation)
//   set the pods' nodes, evictions delete pods, pods on a removed node are deleted (pod GC).
//
// Determinism: the only concurrency is in binds, and the driver waits after each call until every bind
// in flight has answered or is waiting at the barrier having seen the engine's current state
// (ExtenderService::Waiters), so the order of engine calls, and hence every decision, is a function
// of the events and the seed. The same `Event` list can be fed to the engine in process and the
// `Decision` lists compared (Transport::InProcess does exactly that, and a test holds the two equal).
//
// Debugging: PLATOON_TRACE=1 prints every filter that passed no node, with the extender's answer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "config/platoon_config.h"
#include "quota/model.h"
#include "scheduler/engine.h"
#include "scheduler/extender/server.h"
#include "scheduler/model.h"

namespace platoon::testing::kube {

using Seconds = engine::Seconds;

// --- Events (what the informers deliver). Each is applied at the driver's current time. ---
struct NodeAdded {  // added or changed
  Node node;
};
struct NodeRemoved {  // pods bound to it are deleted, as the pod garbage collector does
  std::string name;
};
struct PodGroupAdded {
  PodGroup group;
};
struct PodCreated {  // an unbound pod; it enters kube-scheduler's queue if schedulerName matches
  Pod pod;
};
struct PodCompleted {  // a bound pod reached Succeeded: its resources are free
  std::string uid;
};
struct PodDeleted {
  std::string uid;
};
struct QuotaReplaced {
  quota::QuotaConfig config;
  std::map<std::string, std::map<std::string, std::string>> namespace_labels;
};
struct TimeAdvanced {  // the clock moves forward; backoffs expire and barriers may time out on the way
  Seconds by = 0;
};
using Event = std::variant<NodeAdded, NodeRemoved, PodGroupAdded, PodCreated, PodCompleted, PodDeleted, QuotaReplaced,
                           TimeAdvanced>;
std::string Describe(const Event& event);

// --- Records, in the order the API server saw them. ---
struct Decision {
  std::size_t event = 0;  // index in events() of the event during whose scheduling it was posted
  Seconds at = 0;
  std::string pod_uid;
  std::string pod;  // namespace/name
  std::string node;
  std::string devices;  // the platoon.dev/devices annotation of the Binding
  friend bool operator==(const Decision&, const Decision&) = default;
};
struct Eviction {
  std::size_t event = 0;
  Seconds at = 0;
  std::string gang;
  std::vector<std::string> pod_uids;
  std::string reason;
  friend bool operator==(const Eviction&, const Eviction&) = default;
};

// How kube-scheduler reaches platoon. InProcess calls the engine directly (Decide, Score, Bind, with a
// waiting bind asked again after every change, as the server does) with the same queue, cycles and
// informer: the simulator's way. The two must post the same decisions for the same events.
enum class Transport { Http, InProcess };

struct DriverOptions {
  Transport transport = Transport::Http;
  engine::EngineOptions engine;
  std::uint32_t seed = 1;              // selectHost tie-breaking
  std::string scheduler_name = "platoon";
  std::vector<std::string> managed_resources = {"nvidia.com/gpu"};
  int server_workers = 2;              // extender.workers: binds parked at the barrier hold none
  Seconds initial_backoff = 1;         // kube-scheduler podInitialBackoffSeconds
  Seconds max_backoff = 10;            // podMaxBackoffSeconds
  Seconds step = 1;                    // TimeAdvanced moves the clock in steps of at most this
  int http_timeout_seconds = 30;       // the extender's httpTimeout
};

// Counters of what kube-scheduler did, for tests and reports.
struct DriverCounts {
  std::size_t filter_calls = 0;
  std::size_t prioritize_calls = 0;
  std::size_t bind_calls = 0;
  std::size_t bind_errors = 0;
  std::size_t unschedulable = 0;  // scheduling cycles that ended with no node
};

class KubeSchedulerDriver {
 public:
  explicit KubeSchedulerDriver(DriverOptions options = {});
  ~KubeSchedulerDriver();
  KubeSchedulerDriver(const KubeSchedulerDriver&) = delete;
  KubeSchedulerDriver& operator=(const KubeSchedulerDriver&) = delete;

  // Delivers one event, then runs scheduling cycles for every pod whose backoff has expired until the
  // queue is empty, and lets binds settle. Returns when nothing more happens without another event.
  void Apply(const Event& event);
  void Run(const std::vector<Event>& scenario);

  const std::vector<Event>& events() const { return events_; }
  const std::vector<Decision>& decisions() const { return decisions_; }
  const std::vector<Eviction>& evictions() const { return evictions_; }
  // Inconsistencies between HTTP answers and the Bindings posted (a bind answered OK whose Binding
  // never came, a Binding for a pod whose bind failed). Empty when the edge is sound.
  const std::vector<std::string>& anomalies() const { return anomalies_; }
  const DriverCounts& counts() const { return counts_; }

  Seconds now() const;
  // The API server's objects: pods not deleted (bound ones carry node name and devices annotation;
  // completed ones have phase Succeeded), and nodes.
  const std::map<std::string, Pod>& pods() const { return pods_; }
  const std::map<std::string, Node>& nodes() const { return nodes_; }
  // Pods waiting in kube-scheduler's queue (active or backing off), and binds in flight.
  std::size_t queued() const { return queue_.size(); }
  std::size_t binds_in_flight() const;
  // The extender under test (service().WithEngine(...) for pending views and phases), and its port.
  extender::ExtenderService& service();
  int port() const;

 private:
  struct Impl;
  struct QueuedPod {
    std::string uid;
    Seconds ready_at = 0;
    Seconds backoff = 0;
    std::uint64_t seq = 0;
  };
  void Deliver(const Event& event);
  void ScheduleDue();
  void ScheduleOne(const std::string& uid);
  void Requeue(const std::string& uid, const std::string& why);
  void Settle();
  void AskBinds();
  void Collect();
  void DeletePodObject(const std::string& uid);
  bool Interested(const Pod& pod) const;
  std::vector<std::string> FeasibleNodes(const Pod& pod) const;

  DriverOptions options_;
  std::unique_ptr<Impl> impl_;
  std::mt19937 rng_;
  std::vector<Event> events_;
  std::vector<Decision> decisions_;
  std::vector<Eviction> evictions_;
  std::vector<std::string> anomalies_;
  DriverCounts counts_;
  std::map<std::string, Pod> pods_;
  std::map<std::string, Node> nodes_;
  std::map<std::string, std::string> assumed_;  // uid -> node: kube-scheduler's assumed pods
  std::map<std::string, QueuedPod> queue_;      // uid -> queue entry
  std::map<std::string, Seconds> backoff_;      // uid -> last backoff (kept across attempts)
  std::set<std::string> bind_ok_;               // binds answered OK, Binding not yet seen
  std::uint64_t seq_ = 0;
  std::string last_filter_;
};

}  // namespace platoon::testing::kube
