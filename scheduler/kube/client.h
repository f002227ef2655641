// A small Kubernetes API client over cpp-httplib (TLS with OpenSSL): JSON requests and streamed watches.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/kube/kubeconfig.h"

namespace httplib {
class ClientImpl;
}

namespace platoon::kube {

// An API answer. `error` is set when no HTTP answer arrived (connection, TLS, timeout); otherwise
// `status` and `body` are the server's.
struct Response {
  int status = 0;
  std::string body;
  std::string error;
  int retry_after_seconds = 0;  // the Retry-After header of a 429 or 503, when it gives seconds
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
  // "HTTP 403: pods is forbidden: ..." or the transport error, for logs.
  std::string Describe() const;
};

// Thread-safe: concurrent requests use separate pooled connections.
class ApiClient {
 public:
  // Checks the PEM material up front. Error: a sentence naming what is wrong.
  static std::expected<std::unique_ptr<ApiClient>, std::string> Create(ClusterConfig config);
  ~ApiClient();

  Response Get(const std::string& path);
  Response Post(const std::string& path, const std::string& json);
  // content_type: application/merge-patch+json, application/strategic-merge-patch+json, ...
  Response Patch(const std::string& path, const std::string& body, const std::string& content_type);

  // GET `path` and hand its body to `on_chunk` as it arrives (return false to stop). For a non-2xx
  // answer the body is returned in the Response instead. `read_timeout` bounds silence on the socket.
  Response Stream(const std::string& path, std::chrono::seconds read_timeout,
                  const std::function<bool(std::string_view)>& on_chunk);

  // Aborts open streams and makes every later call fail at once (shutdown).
  void Shutdown();

  const ClusterConfig& config() const { return config_; }

 private:
  explicit ApiClient(ClusterConfig config);
  std::unique_ptr<httplib::ClientImpl> NewConnection(std::chrono::seconds read_timeout);
  std::unique_ptr<httplib::ClientImpl> Acquire();
  void Release(std::unique_ptr<httplib::ClientImpl> client);
  std::string Token();

  ClusterConfig config_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<httplib::ClientImpl>> idle_;
  std::set<httplib::ClientImpl*> streaming_;
  bool shut_down_ = false;
  std::chrono::steady_clock::time_point token_read_{};
};

}  // namespace platoon::kube
