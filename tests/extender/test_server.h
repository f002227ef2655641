// A real extender server on a loopback port for tests, with a small known cluster in its cache.
#pragma once

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>
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

// A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, made by the
// openssl CLI (EC keys: fast to make), in a folder of its own that is removed afterwards.
struct TestPki {
  std::filesystem::path dir;
  TestPki() {
    static std::atomic<int> serial{0};
    dir = std::filesystem::temp_directory_path() / ("platoon-tls-" + std::to_string(::getpid()) + "-" + std::to_string(serial++));
    std::filesystem::create_directories(dir);
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "set -e; cd '" + dir.string() + "'; "
        "openssl req -x509 " + ec + " -keyout ca.key -out ca.crt -days 2 -subj /CN=platoon-test-ca 2>/dev/null; "
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext; "
        "openssl req " + ec + " -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null; "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext 2>/dev/null; "
        "openssl req " + ec + " -keyout client.key -out client.csr -subj /CN=kube-scheduler 2>/dev/null; "
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 2>/dev/null";
    if (std::system(("bash -c \"" + script + "\"").c_str()) != 0) throw std::runtime_error("openssl could not make the test PKI");
  }
  ~TestPki() { std::filesystem::remove_all(dir); }
  std::string Path(const char* file) const { return (dir / file).string(); }
  extender::TlsSettings Server() const { return {Path("server.crt"), Path("server.key"), ""}; }
};

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
