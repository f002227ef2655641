// The extender's HTTP edge on a real loopback server, probed as an attacker and as kube-scheduler
// would: idle, trickling and silent TLS connections beside a working client, per-connection
// deadlines, the connection cap, request limits in every body encoding, 100-continue, a port already
// in use, duplicate JSON keys, and gangs of 512 whose binds all wait at the co-bind barrier at once.
// Requests are written by hand on raw sockets; every read has a deadline, so a server that misbehaves
// fails these tests instead of hanging the suite.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <expected>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/extender/test_server.h"

namespace platoon {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Clock::time_point After(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// Polls `done` every few milliseconds until it holds or `seconds` pass; returns its last value.
template <typename F>
bool WaitFor(double seconds, F done) {
  const auto deadline = After(seconds);
  while (!done()) {
    if (Clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Hundreds of client sockets plus the server's ends of them live in this one process.
void RaiseFdLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// A client TCP connection on loopback, with the bytes read past the last parsed answer.
class Conn {
 public:
  Conn() = default;
  explicit Conn(int fd) : fd_(fd) {}
  Conn(Conn&& o) noexcept : pending(std::move(o.pending)), fd_(std::exchange(o.fd_, -1)) {}
  Conn& operator=(Conn&& o) noexcept {
    if (this != &o) {
      Close();
      fd_ = std::exchange(o.fd_, -1);
      pending = std::move(o.pending);
    }
    return *this;
  }
  ~Conn() { Close(); }
  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::string pending;

 private:
  int fd_ = -1;
};

// Connects to 127.0.0.1:port (blocking; the kernel completes it without the server's accept). Sends
// time out after 5 s, so a server that stops reading cannot block the test.
Conn Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  Conn conn(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval send_timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  INFO("connect to 127.0.0.1:" << port << ": " << std::strerror(errno));
  REQUIRE(rc == 0);
  return conn;
}

// Writes all of `data`; false when the server closed or reset the connection or stopped reading.
bool SendAll(Conn& c, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(c.fd(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads what is available into c.pending, waiting until `deadline`. "" on success, else why not.
std::string ReadMore(Conn& c, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return "timed out";
    pollfd p{c.fd(), POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return std::string("poll: ") + std::strerror(errno);
    if (r == 0) return "timed out";
    char buf[64 * 1024];
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n == 0) return "closed by the server";
    if (n < 0) return std::string("read: ") + std::strerror(errno);
    c.pending.append(buf, static_cast<std::size_t>(n));
    return "";
  }
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

std::string Lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

// Reads one HTTP/1.1 answer (1xx included) within `timeout` seconds: Content-Length, chunked or
// read-until-close bodies. The error says what happened instead.
std::expected<Response, std::string> ReadResponse(Conn& c, double timeout) {
  const auto deadline = After(timeout);
  auto fail = [&](const std::string& why, std::string_view where) {
    return std::unexpected(why + " while reading the " + std::string(where) + " of an answer (waited up to " +
                           std::to_string(timeout).substr(0, 4) + " s; " + std::to_string(c.pending.size()) +
                           " bytes unparsed)");
  };
  std::size_t end;
  while ((end = c.pending.find("\r\n\r\n")) == std::string::npos) {
    if (auto why = ReadMore(c, deadline); !why.empty()) return fail(why, "header");
  }
  const std::string head = c.pending.substr(0, end);
  c.pending.erase(0, end + 4);
  Response r;
  const std::size_t line_end = std::min(head.find("\r\n"), head.size());
  const std::string status_line = head.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return std::unexpected("not an HTTP answer: " + status_line);
  r.status = std::atoi(status_line.c_str() + 9);
  for (std::size_t pos = line_end + 2; pos < head.size();) {
    const std::size_t next = std::min(head.find("\r\n", pos), head.size());
    const std::string line = head.substr(pos, next - pos);
    if (const auto colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      r.headers[Lower(line.substr(0, colon))] = value;
    }
    pos = next + 2;
  }
  if (r.status < 200 || r.status == 204 || r.status == 304) return r;
  if (Lower(r.Header("transfer-encoding")).find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t le;
      while ((le = c.pending.find("\r\n")) == std::string::npos) {
        if (auto why = ReadMore(c, deadline); !why.empty()) return fail(why, "chunked body");
      }
      const std::size_t size = std::stoul(c.pending.substr(0, le), nullptr, 16);
      c.pending.erase(0, le + 2);
      if (size == 0) {
        for (;;) {  // trailers, then the empty line
          while ((le = c.pending.find("\r\n")) == std::string::npos) {
            if (auto why = ReadMore(c, deadline); !why.empty()) return fail(why, "chunked trailer");
          }
          c.pending.erase(0, le + 2);
          if (le == 0) return r;
        }
      }
      while (c.pending.size() < size + 2) {
        if (auto why = ReadMore(c, deadline); !why.empty()) return fail(why, "chunked body");
      }
      r.body.append(c.pending, 0, size);
      c.pending.erase(0, size + 2);
    }
  }
  if (const std::string length = r.Header("content-length"); !length.empty()) {
    const std::size_t n = std::stoull(length);
    while (c.pending.size() < n) {
      if (auto why = ReadMore(c, deadline); !why.empty()) return fail(why, "body");
    }
    r.body = c.pending.substr(0, n);
    c.pending.erase(0, n);
    return r;
  }
  for (;;) {  // delimited by the server closing the connection
    const std::string why = ReadMore(c, deadline);
    if (why == "closed by the server" || why.starts_with("read:")) break;
    if (!why.empty()) return fail(why, "close-delimited body");
  }
  r.body = std::exchange(c.pending, {});
  return r;
}

// The answer's NodeNames, or null when the body is not a filter result.
json NodeNames(const Response& r) {
  const json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("NodeNames") ? j["NodeNames"] : json();
}

std::string Why(const std::expected<Response, std::string>& r) { return r ? std::string() : r.error(); }

// Seconds from `since` until the server closes `c` (read returns 0 or an error), within `limit`
// seconds of `since`; what the server sends before closing (a 408, say) is read and dropped.
std::optional<double> SecondsUntilClosed(Conn& c, Clock::time_point since, double limit) {
  const auto deadline = since + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit));
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{c.fd(), POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::max<decltype(left)>(left, 0)));  // limit 0: a look
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN))) {
      if (Clock::now() >= deadline) return std::nullopt;  // still talking at the deadline
      continue;
    }
    return SecondsSince(since);
  }
}

// Whether the server has closed `c`, or closes it within `wait` seconds (bytes it sends are dropped).
bool ClosedByServer(Conn& c, double wait) { return SecondsUntilClosed(c, Clock::now(), wait).has_value(); }

std::string Post(std::string_view path, std::string_view body, std::string_view extra_headers = "") {
  std::string out = "POST ";
  out += path;
  out += " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  out += extra_headers;
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out += body;
  return out;
}

const std::string kFilterBody = R"({"Pod":{"metadata":{"name":"p","namespace":"default"}},"NodeNames":["n1"]})";
const std::string kFilter = Post("/platoon/filter", kFilterBody);

std::expected<Response, std::string> RoundTrip(Conn& c, std::string_view request, double timeout = 5) {
  if (!SendAll(c, request)) return std::unexpected(std::string("could not send the request: ") + std::strerror(errno));
  return ReadResponse(c, timeout);
}

// A filter on `c`: its latency in seconds when answered 200 within 5 s, else why not.
std::expected<double, std::string> TimedFilter(Conn& c) {
  const auto start = Clock::now();
  auto res = RoundTrip(c, kFilter);
  if (!res) return std::unexpected(res.error());
  if (res->status != 200) return std::unexpected("status " + std::to_string(res->status) + ": " + res->body);
  return SecondsSince(start);
}

// The server still answers a normal filter, on a new connection.
void CheckServing(int port) {
  Conn c = Connect(port);
  auto res = RoundTrip(c, kFilter);
  INFO("a normal filter on a new connection: " << Why(res));
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(NodeNames(*res) == json::array({"n1"}));
}

// Inside a SUBCASE these helpers CHECK rather than REQUIRE: in doctest 2.4 an assertion that throws
// in one subcase keeps the test case from reaching (and running) the subcases after it.

// A 4xx with a body carries extender/v1's error shape: {"Error": "<a sentence>"}.
void CheckJsonError(const std::optional<Response>& r) {
  if (!r || r->body.empty()) return;
  INFO("status " << r->status << ", body: " << r->body.substr(0, 300));
  const json j = json::parse(r->body, nullptr, false);
  const bool shaped = !j.is_discarded() && j.is_object() && j.contains("Error") && j["Error"].is_string();
  CHECK_MESSAGE(shaped, "the body is not {\"Error\": \"...\"}");
  if (shaped) CHECK_FALSE(j["Error"].get<std::string>().empty());
}

// A filter's latency: reported, and checked to be under `limit` seconds.
// Returns whether it was answered at all.
bool CheckPrompt(const std::expected<double, std::string>& latency, double limit, const std::string& what) {
  if (!latency) {
    FAIL_CHECK(what << ": no 200 answer: " << latency.error());
    return false;
  }
  MESSAGE(what << ": " << *latency * 1000 << " ms");
  CHECK_MESSAGE(*latency < limit, what << " took " << *latency << " s, over " << limit << " s");
  return true;
}

// Writes `parts` (each sent `times` times) like a client that uploads without waiting, stopping
// early when the server answers or closes (the socket turns readable) or stops reading for 3 s.
struct Part {
  std::string_view bytes;
  std::size_t times = 1;
};
struct Upload {
  std::size_t sent = 0;
  std::size_t total = 0;
  bool answered_early = false;  // the server answered or closed before every byte was sent
  bool stalled = false;         // the server stopped reading and said nothing for 3 s
};
Upload Stream(Conn& c, std::initializer_list<Part> parts) {
  Upload up;
  for (const Part& p : parts) up.total += p.bytes.size() * p.times;
  for (const Part& p : parts) {
    for (std::size_t t = 0; t < p.times; ++t) {
      std::size_t off = 0;
      while (off < p.bytes.size()) {
        pollfd pfd{c.fd(), POLLIN | POLLOUT, 0};
        const int r = ::poll(&pfd, 1, 3000);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          up.stalled = true;
          return up;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
          up.answered_early = true;
          return up;
        }
        const ssize_t n = ::send(c.fd(), p.bytes.data() + off, p.bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0) {
          up.answered_early = true;  // reset or closed: the answer, if any, is in the receive queue
          return up;
        }
        off += static_cast<std::size_t>(n);
        up.sent += static_cast<std::size_t>(n);
      }
    }
  }
  return up;
}

// `data` as a gzip member of one stored (uncompressed) deflate block: valid gzip without zlib.
std::string Gzip(std::string_view data) {
  REQUIRE(data.size() < 0xffff);
  std::uint32_t crc = 0xffffffffu;
  for (unsigned char ch : data) {
    crc ^= ch;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  crc = ~crc;
  auto le = [](std::string& out, std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  out += '\x01';  // BFINAL, stored
  le(out, static_cast<std::uint32_t>(data.size()), 2);
  le(out, static_cast<std::uint32_t>(~data.size()) & 0xffff, 2);
  out += data;
  le(out, crc, 4);
  le(out, static_cast<std::uint32_t>(data.size()), 4);
  return out;
}

using Pki = testing::TestPki;

std::unique_ptr<ClusterState> TwoNodes() { return testing::MakeState({testing::GpuNode("n1", 8), testing::GpuNode("n2", 8)}); }

// --- gangs ---

double SteadySeconds() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

json MemberPod(const std::string& name, const std::string& group, const std::string& gpus) {
  json labels = json::object();
  if (!group.empty()) labels["scheduling.x-k8s.io/pod-group"] = group;
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}, {"labels", labels}}},
          {"spec", {{"containers", {{{"name", "c"}, {"resources", {{"requests", {{"cpu", "1"}, {"nvidia.com/gpu", gpus}}}}}}}}}}};
}

std::string BindCall(const std::string& pod, const std::string& node) {
  return Post("/platoon/bind",
              json{{"PodName", pod}, {"PodNamespace", "default"}, {"PodUID", "uid-" + pod}, {"Node", node}}.dump());
}

// A server with the gang engine on `nodes` nodes of 8 GPUs and the given PodGroups (min_member each).
struct GangServer {
  std::vector<std::string> nodes;
  std::unique_ptr<testing::TestServer> server;
  GangServer(int node_count, const std::vector<std::pair<std::string, int>>& groups) {
    auto state = testing::MakeState({});
    auto engine = std::make_unique<engine::Engine>();
    for (int i = 0; i < node_count; ++i) {
      nodes.push_back("node-" + std::to_string(i));
      state->UpsertNode(testing::GpuNode(nodes.back(), 8));
      engine->UpsertNode(testing::GpuNode(nodes.back(), 8), SteadySeconds());
    }
    for (const auto& [name, min_member] : groups) {
      PodGroup group;
      group.name = name;
      group.min_member = min_member;
      engine->UpsertPodGroup(group, SteadySeconds());
    }
    server = std::make_unique<testing::TestServer>(std::move(state));  // the default configuration
    server->service().AttachEngine(std::move(engine), SteadySeconds);
  }
  // Filters every member on every node over one keep-alive connection, twice if the first pass left
  // some unplanned (members that came before their gang was complete); returns the planned nodes.
  std::map<std::string, std::string> PlanAll(const std::vector<std::pair<std::string, std::string>>& members) {
    Conn c = Connect(server->port());
    std::map<std::string, std::string> planned;
    for (int pass = 0; pass < 2 && planned.size() < members.size(); ++pass) {
      for (const auto& [pod, group] : members) {
        if (planned.contains(pod)) continue;
        auto res = RoundTrip(c, Post("/platoon/filter", json{{"Pod", MemberPod(pod, group, "8")}, {"NodeNames", nodes}}.dump()), 10);
        INFO("filter of " << pod << ": " << Why(res));
        REQUIRE(res);
        REQUIRE(res->status == 200);
        const json r = json::parse(res->body);
        if (r["NodeNames"].is_array() && r["NodeNames"].size() == 1) planned[pod] = r["NodeNames"][0];
      }
    }
    return planned;
  }
  engine::GangPhase Phase(const std::string& gang) {
    return server->service().WithEngine([&](engine::Engine& e) { return e.PhaseOf(gang); });
  }
};

// Reads every connection's bind answer by `deadline`; returns the pods whose bind did not succeed,
// with why.
std::map<std::string, std::string> BindFailures(std::vector<Conn>& conns, const std::vector<std::string>& pods,
                                                Clock::time_point deadline) {
  std::map<std::string, std::string> failed;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    const double left = std::max(0.05, std::chrono::duration<double>(deadline - Clock::now()).count());
    auto res = ReadResponse(conns[i], left);
    if (!res) failed[pods[i]] = res.error();
    else if (res->status != 200) failed[pods[i]] = "status " + std::to_string(res->status) + ": " + res->body;
    else if (const json r = json::parse(res->body, nullptr, false); r.is_discarded() || !r.contains("Error") || r["Error"] != "")
      failed[pods[i]] = res->body;
  }
  return failed;
}

}  // namespace

TEST_SUITE("edge") {

TEST_CASE("at the edge idle connections and trickling headers and silent TLS handshakes do not delay a filter") {
  RaiseFdLimit();
  SUBCASE("300 connections that send nothing") {
    testing::TestServer server(TwoNodes());
    Conn keep_alive = Connect(server.port());
    REQUIRE(TimedFilter(keep_alive).has_value());  // a client that was already talking
    std::vector<Conn> idle;
    for (int i = 0; i < 300; ++i) idle.push_back(Connect(server.port()));
    CheckPrompt(TimedFilter(keep_alive), 2.0, "filter on a kept-alive connection beside 300 idle ones");
    Conn fresh = Connect(server.port());  // queued behind all 300 in the listen backlog
    CheckPrompt(TimedFilter(fresh), 2.0, "filter on a new connection behind 300 idle ones");
  }
  SUBCASE("200 connections trickling half a request header one byte every 50 ms") {
    testing::TestServer server(TwoNodes());
    const std::string head = kFilter.substr(0, kFilter.find("\r\n\r\n"));
    const std::string half = head.substr(0, head.size() / 2);
    std::vector<Conn> slow;
    for (int i = 0; i < 200; ++i) slow.push_back(Connect(server.port()));
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> bytes_sent{0};
    std::thread trickler([&] {
      for (std::size_t i = 0; i < half.size() && !stop; ++i) {
        for (auto& c : slow) ::send(c.fd(), &half[i], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        bytes_sent = i + 1;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    struct Join {
      std::atomic<bool>& stop;
      std::thread& t;
      ~Join() {
        stop = true;
        t.join();
      }
    } join{stop, trickler};
    CHECK(WaitFor(3, [&] { return bytes_sent >= 3; }));  // every connection has started its request
    Conn client = Connect(server.port());
    const auto latency = TimedFilter(client);
    const std::size_t trickled = bytes_sent;
    if (CheckPrompt(latency, 2.0, "filter beside 200 connections trickling a header"))
      CHECK(trickled < half.size());  // answered while they were still trickling
  }
  SUBCASE("200 TCP connections to the TLS port that never send a ClientHello") {
    Pki pki;
    testing::TestServer server(TwoNodes(), {}, pki.Server());
    std::vector<Conn> silent;
    for (int i = 0; i < 200; ++i) silent.push_back(Connect(server.port()));
    httplib::SSLClient client("127.0.0.1", server.port());
    client.set_ca_cert_path(pki.Path("ca.crt").c_str());
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    client.set_write_timeout(5, 0);
    const auto start = Clock::now();
    auto res = client.Post("/platoon/filter", kFilterBody, "application/json");
    const double latency = SecondsSince(start);
    if (!res || res->status != 200) {
      FAIL_CHECK("HTTPS filter beside 200 silent TCP connections: no 200 answer after " << latency << " s: "
                 << (res ? "status " + std::to_string(res->status) : httplib::to_string(res.error())));
    } else {
      CheckPrompt(latency, 2.0, "HTTPS filter (handshake included) beside 200 silent TCP connections");
    }
  }
}

TEST_CASE("at the edge slow requests and idle keep-alive and silent TLS connections are closed at their deadlines") {
  config::ExtenderSettings settings;
  settings.read_timeout_seconds = 1;
  settings.keep_alive_timeout_seconds = 1;
  settings.tls_handshake_timeout_seconds = 1;
  auto check_closed = [](std::optional<double> seconds) {
    if (!seconds) {
      FAIL_CHECK("the server had not closed the connection after 5 s (deadline 1 s)");
      return;
    }
    MESSAGE("closed by the server after " << *seconds << " s (deadline 1 s)");
    CHECK(*seconds >= 0.5);
    CHECK(*seconds <= 3.5);
  };
  SUBCASE("half a header then nothing (read timeout)") {
    testing::TestServer server(TwoNodes(), settings);
    Conn c = Connect(server.port());
    const auto start = Clock::now();
    CHECK(SendAll(c, kFilter.substr(0, kFilter.find("\r\n\r\n") / 2)));
    check_closed(SecondsUntilClosed(c, start, 5));
    CheckServing(server.port());
  }
  SUBCASE("a header trickled one byte every 50 ms and never finished: the deadline counts from its first byte") {
    testing::TestServer server(TwoNodes(), settings);
    Conn c = Connect(server.port());
    const std::string head = "POST /platoon/filter HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(400, 'a');
    const auto start = Clock::now();
    std::optional<double> closed;
    for (std::size_t i = 0; !closed && SecondsSince(start) < 5; ++i) {
      if (i < head.size() && ::send(c.fd(), &head[i], 1, MSG_NOSIGNAL) < 0) {
        closed = SecondsSince(start);  // reset by the server
        break;
      }
      closed = SecondsUntilClosed(c, Clock::now(), 0.05);  // paces the trickle; closes are seen at once
      if (closed) closed = SecondsSince(start);
    }
    check_closed(closed);
    CheckServing(server.port());
  }
  SUBCASE("a whole header and part of the body then nothing (read timeout)") {
    testing::TestServer server(TwoNodes(), settings);
    Conn c = Connect(server.port());
    const auto start = Clock::now();
    CHECK(SendAll(c, kFilter.substr(0, kFilter.size() - 10)));
    check_closed(SecondsUntilClosed(c, start, 5));
    CheckServing(server.port());
  }
  SUBCASE("idle after one answered request (keep-alive timeout)") {
    testing::TestServer server(TwoNodes(), settings);
    Conn c = Connect(server.port());
    auto res = RoundTrip(c, kFilter);
    CHECK_MESSAGE((res && res->status == 200), "the first request: " << (res ? res->body : res.error()));
    check_closed(SecondsUntilClosed(c, Clock::now(), 5));
  }
  SUBCASE("a TCP connection to the TLS port that never handshakes") {
    Pki pki;
    testing::TestServer server(TwoNodes(), settings, pki.Server());
    Conn c = Connect(server.port());
    check_closed(SecondsUntilClosed(c, Clock::now(), 5));
  }
  SUBCASE("a TLS record header that never becomes a ClientHello") {
    Pki pki;
    testing::TestServer server(TwoNodes(), settings, pki.Server());
    Conn c = Connect(server.port());
    const auto start = Clock::now();
    CHECK(SendAll(c, std::string_view("\x16\x03\x01\x02\x00", 5)));  // handshake record of 512 bytes, none sent
    check_closed(SecondsUntilClosed(c, start, 5));
  }
}

TEST_CASE("at the edge the connection cap closes an idle connection to admit a new client") {
  config::ExtenderSettings settings;
  settings.max_connections = 32;
  testing::TestServer server(TwoNodes(), settings);
  std::vector<Conn> old;
  for (int i = 0; i < 32; ++i) {
    old.push_back(Connect(server.port()));
    auto res = RoundTrip(old.back(), kFilter);
    INFO("connection " << i << ": " << Why(res));
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  // All 32 are idle keep-alive connections now; a 33rd client must still be served.
  Conn fresh = Connect(server.port());
  auto latency = TimedFilter(fresh);
  INFO("the new client's filter: " << (latency ? std::to_string(*latency) + " s" : latency.error()));
  REQUIRE(latency);
  MESSAGE("a new client at the cap of 32 was answered in " << *latency * 1000 << " ms");
  std::vector<int> closed;
  WaitFor(2, [&] {
    for (int i = 0; i < static_cast<int>(old.size()); ++i) {
      if (old[i].open() && ClosedByServer(old[i], 0)) {
        closed.push_back(i);
        old[i].Close();
      }
    }
    return !closed.empty();
  });
  std::string which;
  for (int i : closed) which += " " + std::to_string(i);
  MESSAGE("idle connections the server closed (0 is the oldest):" << (which.empty() ? " none" : which));
  CHECK_FALSE(closed.empty());
}

TEST_CASE("at the edge oversized or compressed or header-heavy requests get a JSON 4xx and serving goes on") {
  RaiseFdLimit();
  constexpr std::size_t kLimit = 1u << 20;
  config::ExtenderSettings settings;
  settings.max_request_bytes = kLimit;
  testing::TestServer server(TwoNodes(), settings);
  Conn c = Connect(server.port());
  // The answer on `c`: its status, or 0 (and a failed check) when none came within `timeout`.
  std::optional<Response> answer;
  auto read_answer = [&](double timeout = 5) {
    auto res = ReadResponse(c, timeout);
    if (!res) {
      FAIL_CHECK("no answer: " << res.error());
      answer.reset();
      return 0;
    }
    answer = *res;
    return res->status;
  };
  const std::string post_head = "POST /platoon/filter HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";

  SUBCASE("a Content-Length body one byte over max_request_bytes gets 413") {
    const std::string head = post_head + "Content-Length: " + std::to_string(kLimit + 1) + "\r\n\r\n";
    const std::string block(64 * 1024, ' ');
    const auto up = Stream(c, {{head}, {block, kLimit / block.size()}, {" "}});
    MESSAGE("sent " << up.sent << " of " << up.total << " bytes before the answer");
    CHECK_FALSE(up.stalled);
    CHECK(read_answer() == 413);
    CheckJsonError(answer);
  }
  SUBCASE("a Content-Length of 50 MB gets 413 before the body is sent") {
    const std::string head = post_head + "Content-Length: " + std::to_string(50u << 20) + "\r\n\r\n";
    const std::string block(64 * 1024, ' ');
    const auto up = Stream(c, {{head}, {block, (50u << 20) / block.size()}});
    MESSAGE("sent " << up.sent / double(1 << 20) << " MiB of " << up.total / double(1 << 20) << " MiB before the answer");
    CHECK_FALSE(up.stalled);
    CHECK(up.answered_early);
    CHECK(up.sent < up.total);
    CHECK(read_answer() == 413);
    CheckJsonError(answer);
  }
  SUBCASE("a chunked body whose chunks add up past max_request_bytes gets 413 before 50 MB are sent") {
    const std::string head = post_head + "Transfer-Encoding: chunked\r\n\r\n";
    const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";  // 64 KiB of data
    const std::size_t chunks = (50u << 20) / 0x10000;
    const auto start = Clock::now();
    const auto up = Stream(c, {{head}, {chunk, chunks}, {"0\r\n\r\n"}});
    MESSAGE("sent " << up.sent / double(1 << 20) << " MiB of a " << up.total / double(1 << 20)
                    << " MiB chunked upload before the server answered or closed, in " << SecondsSince(start) << " s");
    CHECK_FALSE(up.stalled);
    CHECK(up.answered_early);
    CHECK(up.sent < up.total);
    CHECK(read_answer() == 413);
    CheckJsonError(answer);
  }
  SUBCASE("a body of exactly max_request_bytes is accepted with Content-Length or chunked") {
    std::string body = kFilterBody;
    body.resize(kLimit, ' ');  // JSON allows trailing whitespace
    SUBCASE("Content-Length") { CHECK(SendAll(c, Post("/platoon/filter", body))); }
    SUBCASE("chunked in 64 KiB chunks") {
      std::string req = post_head + "Transfer-Encoding: chunked\r\n\r\n";
      for (std::size_t off = 0; off < body.size(); off += 0x10000) {
        const std::string piece = body.substr(off, 0x10000);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        req += size + piece + "\r\n";
      }
      req += "0\r\n\r\n";
      CHECK(SendAll(c, req));
    }
    CHECK(read_answer() == 200);
    if (answer) CHECK(NodeNames(*answer) == json::array({"n1"}));
  }
  SUBCASE("a gzip body (Content-Encoding: gzip) gets 415 however it is framed") {
    const std::string gz = Gzip(kFilterBody);
    SUBCASE("Content-Length") { CHECK(SendAll(c, Post("/platoon/filter", gz, "Content-Encoding: gzip\r\n"))); }
    SUBCASE("chunked") {
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", gz.size());
      CHECK(SendAll(c, post_head + "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + size + gz + "\r\n0\r\n\r\n"));
    }
    CHECK(read_answer() == 415);
    CheckJsonError(answer);
  }
  SUBCASE("more than max_headers headers get 431") {
    std::string extra;
    for (int i = 0; i < 150; ++i) extra += "X-Extra-" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
    const auto up = Stream(c, {{Post("/platoon/filter", kFilterBody, extra)}});
    CHECK_FALSE(up.stalled);
    CHECK(read_answer() == 431);
    CheckJsonError(answer);
  }
  SUBCASE("exactly max_headers headers are accepted") {
    std::string extra;
    for (int i = 0; i < 97; ++i) extra += "X-Extra-" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";  // + 3 = 100
    CHECK(SendAll(c, Post("/platoon/filter", kFilterBody, extra)));
    CHECK(read_answer() == 200);
  }
  SUBCASE("a header block over max_header_bytes gets 431 or a 4xx and the connection closed") {
    const auto up = Stream(c, {{Post("/platoon/filter", kFilterBody, "X-Big: " + std::string(20 * 1024, 'a') + "\r\n")}});
    CHECK_FALSE(up.stalled);
    const int status = read_answer();
    INFO("status " << status);
    CHECK(status >= 400);
    CHECK(status < 500);
    if (status != 431) CHECK_MESSAGE(ClosedByServer(c, 2), "a 4xx other than 431 must close the connection");
    CheckJsonError(answer);
  }
  SUBCASE("a header block of 15 KiB is accepted") {
    CHECK(SendAll(c, Post("/platoon/filter", kFilterBody, "X-Big: " + std::string(15 * 1024, 'a') + "\r\n")));
    CHECK(read_answer() == 200);
  }
  SUBCASE("a request line longer than max_header_bytes gets 414 or 431") {
    const std::string request = "POST /platoon/filter?pad=" + std::string(20 * 1024, 'a') +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(kFilterBody.size()) + "\r\n\r\n" + kFilterBody;
    const auto up = Stream(c, {{request}});
    CHECK_FALSE(up.stalled);
    const int status = read_answer();
    INFO("status " << status);
    CHECK((status == 414 || status == 431));
    CheckJsonError(answer);
  }
  CheckServing(server.port());
}

TEST_CASE("at the edge Expect: 100-continue gets 100 Continue and then the answer") {
  testing::TestServer server(TwoNodes());
  Conn c = Connect(server.port());
  const std::string request = Post("/platoon/filter", kFilterBody, "Expect: 100-continue\r\n");
  const std::size_t body_at = request.size() - kFilterBody.size();
  REQUIRE(SendAll(c, std::string_view(request).substr(0, body_at)));
  auto interim = ReadResponse(c, 3);
  INFO("interim answer: " << Why(interim));
  REQUIRE(interim);
  CHECK(interim->status == 100);
  REQUIRE(SendAll(c, std::string_view(request).substr(body_at)));
  auto final_answer = ReadResponse(c, 5);
  INFO("final answer: " << Why(final_answer));
  REQUIRE(final_answer);
  CHECK(final_answer->status == 200);
  CHECK(NodeNames(*final_answer) == json::array({"n1"}));
  // The connection stays usable.
  auto next = TimedFilter(c);
  CHECK_MESSAGE(next.has_value(), (next ? std::string() : next.error()));
}

TEST_CASE("at the edge a second server on a port in use fails to start with an error that says so") {
  testing::TestServer first(TwoNodes());
  extender::ExtenderService service(config::ExtenderSettings{}, TwoNodes());
  extender::ExtenderServer second(service, {});
  auto started = second.Start("127.0.0.1", first.port(), "127.0.0.1", 0);
  REQUIRE_FALSE(started);
  INFO("error: " << started.error());
  CHECK(started.error().find("in use") != std::string::npos);
  CHECK(started.error().find(std::to_string(first.port())) != std::string::npos);
  second.Stop();
  CheckServing(first.port());
}

TEST_CASE("at the edge duplicate JSON keys decode as Go does: the last one wins") {
  testing::TestServer server(TwoNodes());
  Conn c = Connect(server.port());
  auto res = RoundTrip(c, Post("/platoon/filter", R"({"Pod":{"metadata":{"name":"p"}},"NodeNames":["n1"],"NodeNames":["n2"]})"));
  INFO(Why(res));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  INFO("answer: " << res->body);
  CHECK(NodeNames(*res) == json::array({"n2"}));
  CHECK(res->body.find("\"n1\"") == std::string::npos);
}

TEST_CASE("at the edge a 512-member gang binds at once under the default settings while other filters are answered") {
  RaiseFdLimit();
  constexpr int kMembers = 512;
  GangServer g(kMembers, {{"big", kMembers}});
  std::vector<std::pair<std::string, std::string>> members;
  std::vector<std::string> pods;
  for (int i = 0; i < kMembers; ++i) {
    pods.push_back("big-" + std::to_string(i));
    members.emplace_back(pods.back(), "big");
  }
  const auto plan_start = Clock::now();
  auto planned = g.PlanAll(members);
  MESSAGE("filtered " << kMembers << " members on " << kMembers << " nodes in " << SecondsSince(plan_start) << " s");
  REQUIRE(planned.size() == static_cast<std::size_t>(kMembers));

  std::vector<Conn> conns;
  for (int i = 0; i < kMembers; ++i) conns.push_back(Connect(g.server->port()));
  const auto bind_start = Clock::now();
  for (int i = 0; i + 1 < kMembers; ++i) REQUIRE(SendAll(conns[i], BindCall(pods[i], planned[pods[i]])));
  // Every bind but the last waits at the barrier, none holding a thread.
  const bool all_waiting =
      WaitFor(10, [&] { return g.server->service().Waiters().waiting >= static_cast<std::size_t>(kMembers - 1); });
  MESSAGE("binds waiting at the barrier: " << g.server->service().Waiters().waiting << " of " << kMembers - 1 << " sent, after "
                                           << SecondsSince(bind_start) << " s");
  CHECK(all_waiting);

  {
    Conn other = Connect(g.server->port());
    const auto start = Clock::now();
    auto res = RoundTrip(other,
                         Post("/platoon/filter", json{{"Pod", MemberPod("loner", "", "0")}, {"NodeNames", {"node-0", "node-1"}}}.dump()), 5);
    const double latency = SecondsSince(start);
    INFO("a single pod's filter during the binds: " << Why(res));
    REQUIRE(res);
    MESSAGE("a single pod's filter while " << kMembers - 1 << " binds wait: " << latency * 1000 << " ms");
    CHECK(res->status == 200);
    CHECK(latency < 1.0);
  }

  REQUIRE(SendAll(conns.back(), BindCall(pods.back(), planned[pods.back()])));
  const auto failed = BindFailures(conns, pods, After(30));
  MESSAGE("all " << kMembers << " binds answered in " << SecondsSince(bind_start) << " s from the first");
  INFO("failed binds: " << failed.size() << (failed.empty() ? "" : "; first: " + failed.begin()->first + ": " + failed.begin()->second));
  CHECK(failed.empty());
  CHECK(g.Phase("default/big") == engine::GangPhase::Running);
}

TEST_CASE("at the edge 64 two-member gangs whose first members all wait at the barrier bind completely") {
  RaiseFdLimit();
  constexpr int kGangs = 64;
  std::vector<std::pair<std::string, int>> groups;
  std::vector<std::pair<std::string, std::string>> members;
  std::vector<std::string> firsts, seconds;
  for (int i = 0; i < kGangs; ++i) {
    const std::string name = "g" + std::to_string(i);
    groups.emplace_back(name, 2);
    firsts.push_back(name + "-0");
    seconds.push_back(name + "-1");
    members.emplace_back(firsts.back(), name);
    members.emplace_back(seconds.back(), name);
  }
  GangServer g(2 * kGangs, groups);
  auto planned = g.PlanAll(members);
  REQUIRE(planned.size() == members.size());

  std::vector<Conn> conns;
  std::vector<std::string> pods;
  for (const auto& pod : firsts) {
    conns.push_back(Connect(g.server->port()));
    pods.push_back(pod);
    REQUIRE(SendAll(conns.back(), BindCall(pod, planned[pod])));
  }
  const bool all_waiting = WaitFor(10, [&] { return g.server->service().Waiters().waiting >= static_cast<std::size_t>(kGangs); });
  MESSAGE("first members waiting at their barriers: " << g.server->service().Waiters().waiting << " of " << kGangs);
  CHECK(all_waiting);
  for (const auto& pod : seconds) {
    conns.push_back(Connect(g.server->port()));
    pods.push_back(pod);
    REQUIRE(SendAll(conns.back(), BindCall(pod, planned[pod])));
  }
  const auto failed = BindFailures(conns, pods, After(20));
  INFO("failed binds: " << failed.size() << (failed.empty() ? "" : "; first: " + failed.begin()->first + ": " + failed.begin()->second));
  CHECK(failed.empty());
  int running = 0;
  for (const auto& [name, min_member] : groups) running += g.Phase("default/" + name) == engine::GangPhase::Running ? 1 : 0;
  CHECK(running == kGangs);
}

}  // TEST_SUITE("edge")

}  // namespace platoon
