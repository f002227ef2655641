// List-then-watch of one resource kind, handing a de-duplicated, ordered stream of changes to a handler.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <simdjson.h>

#include "scheduler/kube/client.h"
#include "scheduler/kube/watch.h"

namespace platoon::kube {

struct ResourceKind {
  std::string name;            // "pods", for logs
  std::string path;            // collection path: "/api/v1/pods"
  std::string field_selector;  // optional: "status.phase!=Succeeded,status.phase!=Failed"
};

struct ReflectorOptions {
  std::chrono::seconds watch_timeout{300};  // the server ends each watch after this (then re-watch)
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};
  int page_size = 500;
  // Told each list and watch outcome ("listed", "list_failed", "watch_closed", "watch_gone",
  // "watch_failed"), on the reflector's thread; for metrics. Optional.
  std::function<void(std::string_view outcome)> observe;
};

// Called on the reflector's thread, in order. `object` is the object's JSON for Upserts (valid only
// during the call) and nullptr for Deletes (change.meta then names what to remove).
using ChangeHandler = std::function<void(const Change& change, const simdjson::dom::element* object)>;

// Lists, then watches from the list's resourceVersion with bookmarks; a watch that ends normally is
// resumed from the last version seen; 410 Gone (status or ERROR event) relists, and the relist's diff
// (including deletes for objects gone meanwhile) goes to the handler; any other error retries with
// capped exponential backoff and jitter. The VersionStore drops duplicates and stale events.
class Reflector {
 public:
  Reflector(ApiClient& client, ResourceKind kind, ChangeHandler handler, ReflectorOptions options = {});
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void Start();
  // Asks the thread to stop (quietly: errors from then on are not logged); Stop() also joins it, and
  // needs the client shut down first if a watch may be open.
  void RequestStop();
  void Stop();
  // True once the first full list has been handed to the handler.
  bool synced() const { return synced_; }
  bool WaitSynced(std::chrono::milliseconds limit);
  const ResourceKind& kind() const { return kind_; }
  int lists() const { return lists_; }

 private:
  enum class WatchEnd { Closed, Gone, Failed };
  void Run();
  bool List();
  WatchEnd Watch();
  void Observe(std::string_view outcome) const {
    if (options_.observe) options_.observe(outcome);
  }
  void Sleep(std::chrono::milliseconds d);
  std::string Query(bool watch, const std::string& continue_token) const;

  ApiClient& client_;
  ResourceKind kind_;
  ChangeHandler handler_;
  ReflectorOptions options_;
  VersionStore store_;
  std::string resource_version_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::atomic<int> lists_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
};

// Percent-encodes a query parameter value.
std::string EncodeQueryValue(std::string_view value);

}  // namespace platoon::kube
