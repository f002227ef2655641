// Load on the event-driven edge over loopback, as kube-scheduler and an attacker make it: requests/s
// and latency (p50/p99/max) for filter and filter+prioritize at 500 and 5,000 cached names, with
// hundreds of idle and trickling connections open, 32 concurrent 30 MB NodeList bodies with the
// process's RSS before, at peak and after, and an optional soak. Prints its figures; not a test.
//
//   bench_edge_load                      full run (about a minute)
//   bench_edge_load --soak-seconds 600   then a 10-minute soak, RSS printed every 30 s
//   bench_edge_load --big-nodes 10000    bigger NodeList bodies (about 52 MB)
//   bench_edge_load --benchmark_min_time=...   smoke mode (what deploy/dev/test.sh passes): short
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/extender/log.h"
#include "scheduler/extender/server.h"
#include "tests/bench/extender/extender_fixtures.h"

using namespace platoon;
using namespace platoon::bench;
using Clock = std::chrono::steady_clock;

namespace {

double RssMiB(const char* field = "VmRSS:") {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + std::strlen(field)) / 1024.0;
  }
  return 0;
}

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A minimal keep-alive HTTP/1.1 client: one request, one Content-Length answer.
class Conn {
 public:
  explicit Conn(int port) : port_(port), fd_(Connect(port)) {}
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // The server closes a connection after extender.keepAliveMaxCount requests, as a Go client
  // expects: like one, open a new connection and send the request again.
  int Post(const std::string& path, const std::string& body) {
    const int status = PostOnce(path, body);
    if (status >= 0) return status;
    ::close(fd_);
    in_.clear();
    fd_ = Connect(port_);
    return PostOnce(path, body);
  }

 private:
  // The body is sent from the caller's string and the answer's body is counted, not kept, so the
  // client adds little to the process's memory.
  int PostOnce(const std::string& path, const std::string& body) {
    const std::string head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n";
    if (!Send(head) || !Send(body)) return -1;
    std::size_t head_end;
    while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!Read()) return -1;
    }
    const int status = std::atoi(in_.c_str() + 9);
    std::size_t length = 0;
    if (auto at = in_.find("Content-Length: "); at != std::string::npos && at < head_end) length = std::strtoul(in_.c_str() + at + 16, nullptr, 10);
    in_.erase(0, head_end + 4);
    while (in_.size() < length) {
      length -= in_.size();
      in_.clear();
      if (!Read()) return -1;
    }
    in_.erase(0, length);
    return status;
  }

  bool Send(const std::string& bytes) {
    for (std::size_t sent = 0; sent < bytes.size();) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool Read() {
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int port_;
  int fd_;
  std::string in_;
};

struct Latency {
  std::vector<double> micros;
  void Print(const char* name, double seconds) {
    std::sort(micros.begin(), micros.end());
    auto pct = [&](double p) { return micros.empty() ? 0 : micros[std::min(micros.size() - 1, static_cast<std::size_t>(p * micros.size()))]; };
    std::printf("%-44s %9.0f req/s   p50 %7.1f us   p99 %7.1f us   max %8.1f us   (%zu requests)\n", name,
                static_cast<double>(micros.size()) / seconds, pct(0.5), pct(0.99), micros.empty() ? 0 : micros.back(), micros.size());
  }
};

// `calls` per iteration on one connection for `seconds`.
Latency Drive(int port, double seconds, const std::vector<std::pair<std::string, const std::string*>>& calls) {
  Latency l;
  Conn c(port);
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto start = Clock::now();
    for (const auto& [path, body] : calls) {
      if (c.Post(path, *body) != 200) {
        std::fprintf(stderr, "request to %s failed\n", path.c_str());
        std::exit(1);
      }
    }
    l.micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  return l;
}

// Server-side cost, in process: the work behind one filter+prioritize pair.
void ServerSide(extender::ExtenderService& service, const std::string& body, double seconds, const char* name) {
  Latency l;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto start = Clock::now();
    auto f = service.Filter(body);
    auto p = service.Prioritize(body);
    l.micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (f.status != 200 || p.status != 200) std::exit(1);
  }
  l.Print(name, seconds);
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  int soak_seconds = 0;
  int big_nodes = 6'000;  // full Node objects per big body: 6,000 is about 31 MB
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--benchmark_min_time", 0) == 0) smoke = true;
    else if (a == "--soak-seconds" && i + 1 < argc) soak_seconds = std::atoi(argv[++i]);
    else if (a == "--big-nodes" && i + 1 < argc) big_nodes = std::atoi(argv[++i]);
    else if (a.rfind("--benchmark", 0) == 0) continue;
    else {
      std::fprintf(stderr, "usage: bench_edge_load [--soak-seconds N] [--big-nodes N]\n");
      return 2;
    }
  }
  log::SetMinLevel(log::Level::Error);
  const double phase = smoke ? 0.5 : 5;
  std::printf("bench_edge_load (%s): one process, server (extender.workers 2) and clients on loopback, 2 cores shared\n",
              smoke ? "smoke" : "full");
  // The big-body phase's server runs in a child forked now, before the parent allocates anything
  // big, and set up as platoon serve sets itself up: its RSS is the server's alone.
  int ports[2];
  if (::pipe(ports) != 0) return 1;
  const pid_t child = ::fork();
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the benchmark, however it ends
    mallopt(M_MMAP_THRESHOLD, 1 << 20);  // as platoon serve does
    extender::ExtenderService child_service({}, MakeCluster(10'000));
    extender::ExtenderServer child_server(child_service, {});
    if (!child_server.Start("127.0.0.1", 0, "127.0.0.1", 0)) _exit(1);
    const int p = child_server.port();
    if (::write(ports[1], &p, sizeof p) != sizeof p) _exit(1);
    ::pause();
    _exit(0);
  }
  const double rss_start = RssMiB();
  extender::ExtenderService service({}, MakeCluster(10'000));
  extender::ExtenderServer server(service, {});
  if (!server.Start("127.0.0.1", 0, "127.0.0.1", 0)) return 1;
  server.SetReady(true);
  const int port = server.port();
  const std::string names500 = NamesRequest(500), names5000 = NamesRequest(5000);
  std::printf("RSS with 10,000 cached nodes: %.0f MiB (process start %.0f MiB)\n", RssMiB(), rss_start);

  ServerSide(service, names500, phase, "server side: filter+prioritize, 500 names");
  ServerSide(service, names5000, phase, "server side: filter+prioritize, 5,000 names");
  Drive(port, phase, {{"/platoon/filter", &names500}}).Print("HTTP: filter, 500 names, 1 keep-alive conn", phase);
  Drive(port, phase, {{"/platoon/filter", &names500}, {"/platoon/prioritize", &names500}})
      .Print("HTTP: filter+prioritize, 500 names", phase);
  Drive(port, phase, {{"/platoon/filter", &names5000}, {"/platoon/prioritize", &names5000}})
      .Print("HTTP: filter+prioritize, 5,000 names", phase);

  {
    // 16 keep-alive connections at once.
    std::vector<Latency> per(16);
    std::vector<std::thread> threads;
    for (auto& l : per) threads.emplace_back([&] { l = Drive(port, phase, {{"/platoon/filter", &names500}}); });
    for (auto& t : threads) t.join();
    Latency all;
    for (auto& l : per) all.micros.insert(all.micros.end(), l.micros.begin(), l.micros.end());
    all.Print("HTTP: filter, 500 names, 16 conns", phase);
  }

  {
    // Hostile neighbours: idle connections and clients trickling half a header, while kube-scheduler
    // filters on its own connection.
    const int idle = smoke ? 100 : 500, trickling = smoke ? 20 : 100;
    std::vector<int> fds;
    for (int i = 0; i < idle; ++i) fds.push_back(Connect(port));
    std::atomic<bool> stop{false};
    std::vector<int> slow;
    for (int i = 0; i < trickling; ++i) slow.push_back(Connect(port));
    std::thread trickle([&] {
      const std::string head = "POST /platoon/filter HTTP/1.1\r\nHost: x\r\n";
      for (std::size_t k = 0; !stop && k < head.size(); ++k) {
        for (int fd : slow) ::send(fd, &head[k], 1, MSG_NOSIGNAL);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    Drive(port, phase, {{"/platoon/filter", &names500}})
        .Print(("HTTP: filter, 500 names, +" + std::to_string(idle) + " idle +" + std::to_string(trickling) + " trickling").c_str(), phase);
    stop = true;
    trickle.join();
    for (int fd : fds) ::close(fd);
    for (int fd : slow) ::close(fd);
  }

  {
    // Big bodies: 32 concurrent NodeLists (nodeCacheCapable: false), --big-nodes full Nodes each
    // (6,000 by default, about 31 MB), 300 in smoke mode, to the child's server.
    const int nodes = smoke ? 300 : big_nodes;
    const std::string big = NodesRequest(nodes);
    int big_port = 0;
    if (::read(ports[0], &big_port, sizeof big_port) != sizeof big_port) return 1;
    const std::string status_file = "/proc/" + std::to_string(child) + "/status";
    auto child_rss = [&](const char* field) {
      std::ifstream in(status_file);
      std::string line;
      while (std::getline(in, line))
        if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + std::strlen(field)) / 1024.0;
      return 0.0;
    };
    const double before = child_rss("VmRSS:");
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 32; ++i)
      threads.emplace_back([&] {
        Conn c(big_port);
        if (c.Post("/platoon/filter", big) == 200) ++ok;
      });
    for (auto& t : threads) t.join();
    const double took = std::chrono::duration<double>(Clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::seconds(smoke ? 0 : 2));
    std::printf("32 concurrent %.1f MB NodeList bodies: %d answered 200 in %.2f s; server RSS before %.0f MiB, peak %.0f MiB, "
                "after %.0f MiB (extender.maxInflightRequestBytes %zu MiB, workers 2)\n",
                static_cast<double>(big.size()) / 1e6, ok.load(), took, before, child_rss("VmHWM:"), child_rss("VmRSS:"),
                service.settings().max_inflight_request_bytes >> 20);
    ::kill(child, SIGTERM);
    ::waitpid(child, nullptr, 0);
  }

  if (soak_seconds > 0) {
    std::printf("soak: filter+prioritize (500 names) on 4 connections for %d s\n", soak_seconds);
    const auto end = Clock::now() + std::chrono::seconds(soak_seconds);
    std::atomic<std::size_t> total{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&] {
        Conn c(port);
        while (Clock::now() < end) {
          if (c.Post("/platoon/filter", names500) != 200 || c.Post("/platoon/prioritize", names500) != 200) std::exit(1);
          total += 2;
        }
      });
    for (int t = 30; t <= soak_seconds; t += 30) {
      std::this_thread::sleep_for(std::chrono::seconds(30));
      std::printf("  %4d s: %zu requests, RSS %.0f MiB\n", t, total.load(), RssMiB());
      std::fflush(stdout);
    }
    for (auto& t : threads) t.join();
  }
  server.Stop();
  return 0;
}
