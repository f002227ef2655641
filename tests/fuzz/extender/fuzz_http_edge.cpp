// Fuzzes the event-driven HTTP edge over a real loopback connection: each input is the raw bytes a
// client sends (request lines, headers, chunked framing, bodies), then the client stops writing.
// The server must answer with a well-formed HTTP status it is allowed to send, or close, and keep
// serving the next connection. Limits are small so the fuzzer reaches them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include "scheduler/extender/log.h"
#include "scheduler/extender/server.h"

namespace {
platoon::extender::ExtenderServer* g_server = nullptr;

int Connect() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(g_server->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();  // the server stopped accepting
  return fd;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  platoon::log::SetMinLevel(platoon::log::Level::Error);
  auto state = std::make_unique<platoon::ClusterState>(std::move(*platoon::policies::MakeScorePolicy("LeastAllocated")));
  platoon::Node n;
  n.name = "n1";
  n.allocatable = {{"cpu", 8000}, {"nvidia.com/gpu", 8}, {"pods", 110}};
  state->UpsertNode(n);
  platoon::config::ExtenderSettings settings;
  settings.max_request_bytes = 16u << 10;
  settings.max_inflight_request_bytes = 64u << 10;
  settings.max_header_bytes = 2048;
  settings.max_headers = 16;
  settings.read_timeout_seconds = 2;
  auto* service = new platoon::extender::ExtenderService(settings, std::move(state));
  g_server = new platoon::extender::ExtenderServer(*service, {});
  if (!g_server->Start("127.0.0.1", 0, "127.0.0.1", 0)) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = Connect();
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server refused early and closed: fine
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // Every answer on the connection starts with a status line the edge may send.
  static const std::set<int> kAllowed = {100, 200, 400, 404, 405, 413, 415, 431, 503};
  for (std::size_t at = answer.find("HTTP/1."); at != std::string::npos; at = answer.find("\r\n\r\nHTTP/1.", at + 1)) {
    const std::size_t line = answer[at] == '\r' ? at + 4 : at;
    if (answer.size() < line + 12) std::abort();
    const int status = std::atoi(answer.c_str() + line + 9);
    if (!kAllowed.contains(status)) std::abort();
    if (at == answer.find("HTTP/1.") && at != 0) std::abort();  // bytes before the first status line
  }
  return 0;
}
