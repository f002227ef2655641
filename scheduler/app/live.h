// Live mode of `platoon serve`: the gang engine fed from API-server watches, its actions carried out
// against the API server, quota re-read when its files change, and time advanced by a ticker.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/platoon_config.h"
#include "scheduler/extender/server.h"
#include "scheduler/kube/actions.h"
#include "scheduler/kube/client.h"
#include "scheduler/kube/reflector.h"

namespace platoon::app {

struct LiveOptions {
  std::chrono::milliseconds tick{1000};          // AdvanceTime and action draining
  std::chrono::milliseconds quota_poll{3000};    // mtime check of the Kueue files
  std::chrono::milliseconds eviction_retry{5000};  // after a 429 (PodDisruptionBudget) or an error
  // The kube-scheduler lease of this pod's scheduler ("namespace/name"; empty: always act). Only the
  // platoon beside the lease holder (holderIdentity "<this hostname>_...", as kube-scheduler writes
  // it) advances time and acts: a standby replica, or the old pod in a rollout, stays passive.
  std::string leader_lease;
  std::string identity_prefix;  // "<hostname>_"
};

// Whether a Lease's holderIdentity is a kube-scheduler in this pod ("<hostname>_<uuid>").
bool HeldBy(std::string_view holder_identity, std::string_view identity_prefix);

class LiveCluster {
 public:
  // `service` must have the engine attached; `clock` is the one it was attached with.
  LiveCluster(kube::ApiClient& client, extender::ExtenderService& service, config::PlatoonConfig cfg,
              std::function<double()> clock, LiveOptions options = {});
  ~LiveCluster();

  // Starts syncing (Nodes, Namespaces (labels, for ClusterQueue namespaceSelectors), PodGroups when
  // the CRD is served, then Pods, each fully listed before the next so bound pods find their nodes) and the ticker. `on_synced` runs once, on the
  // sync thread, after the first full list of every kind.
  void Start(std::function<void()> on_synced);
  // Stops every thread, shutting the client down so open watches end.
  void Stop();

  // Carries out one batch of engine actions (public for the ticker and for tests).
  void Execute(const engine::Actions& actions);

 private:
  struct PodEntry {
    std::string namespace_;
    std::string name;
    std::string gang;
    bool bound = false;
  };
  struct PendingEviction {
    std::string uid;
    std::string reason;
    int attempts = 0;
    std::chrono::steady_clock::time_point next_try;
  };

  void Sync(std::function<void()> on_synced);
  void Tick();
  bool Leading();
  void OnNode(const kube::Change& change, const simdjson::dom::element* object);
  void OnNamespace(const kube::Change& change, const simdjson::dom::element* object);
  void OnPodGroup(const kube::Change& change, const simdjson::dom::element* object);
  void OnNodeTopology(const kube::Change& change, const simdjson::dom::element* object);
  void OnPod(const kube::Change& change, const simdjson::dom::element* object);
  void PollQuota(bool initial);
  void RetryEvictions();
  void Evict(PendingEviction& e);
  void Nudge(const std::string& gang);
  void Report(const std::string& gang, const std::string& condition, const std::string& message);
  // Whether the API server serves `resource` in group/version `api` (a CRD installed); retries
  // transient errors until stopped.
  bool Served(std::string_view api, std::string_view resource);

  kube::ApiClient& client_;
  extender::ExtenderService& service_;
  config::PlatoonConfig cfg_;
  std::function<double()> clock_;
  LiveOptions options_;

  std::mutex mutex_;  // guards the directory below and evictions_
  std::map<std::string, PodEntry, std::less<>> pods_;              // uid -> pod
  std::map<std::string, std::set<std::string>, std::less<>> gangs_;  // gang key -> pod uids
  std::map<std::string, std::string, std::less<>> pod_groups_;       // ns/name -> uid
  std::vector<PendingEviction> evictions_;
  std::uint64_t nudges_ = 0;
  int leading_ = -1;  // last answer of Leading(): -1 unknown, 0 standing by, 1 acting

  std::map<std::string, std::filesystem::file_time_type> quota_mtimes_;
  std::mutex reflectors_mutex_;
  std::vector<std::unique_ptr<kube::Reflector>> reflectors_;
  std::thread sync_thread_;
  std::thread tick_thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};  // no decisions on a partial view: ticks wait for the first full sync
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
};

}  // namespace platoon::app
