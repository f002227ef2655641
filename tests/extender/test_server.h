// A real extender server on a loopback port for tests, with a small known cluster in its cache.
#pragma once

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <httplib.h>

#include "scheduler/extender/server.h"

namespace platoon::testing {

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string SharedData(const std::string& relative) { return ReadText(std::string(PLATOON_SHARED_DATA_DIR) + "/" + relative); }

inline Node GpuNode(std::string name, int gpus, std::int64_t cpu_milli = 64000) {
  Node node;
  node.name = std::move(name);
  node.allocatable = {{"cpu", cpu_milli}, {"memory", 512LL << 30}, {"pods", 110}};
  if (gpus > 0) node.allocatable.Set("nvidia.com/gpu", gpus);
  node.capacity = node.allocatable;
  return node;
}

// Starts ExtenderService + ExtenderServer on 127.0.0.1:0 (both ports chosen by the kernel).
class TestServer {
 public:
  explicit TestServer(std::unique_ptr<ClusterState> state, config::ExtenderSettings settings = {},
                      extender::TlsSettings tls = {})
      : service_(std::move(settings), std::move(state)), server_(service_, std::move(tls)) {
    auto started = server_.Start("127.0.0.1", 0, "127.0.0.1", 0);
    if (!started) throw std::runtime_error(started.error());
    server_.SetReady(true);
  }
  int port() const { return server_.port(); }
  int admin_port() const { return server_.admin_port(); }
  extender::ExtenderService& service() { return service_; }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port());
    c.set_tcp_nodelay(true);
    c.set_keep_alive(true);
    return c;
  }

 private:
  extender::ExtenderService service_;
  extender::ExtenderServer server_;
};

inline std::unique_ptr<ClusterState> MakeState(std::initializer_list<Node> nodes, std::string policy = "LeastAllocated") {
  auto state = std::make_unique<ClusterState>(std::move(*policies::MakeScorePolicy(policy)));
  for (const auto& n : nodes) state->UpsertNode(n);
  return state;
}

}  // namespace platoon::testing
