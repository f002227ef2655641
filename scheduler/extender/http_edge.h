// The event-driven HTTP/1.1 edge (Boost.Beast on Asio) behind both of platoon's ports: connections,
// limits, deadlines and TLS. No connection, slow client or answer that comes later holds a thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace platoon::extender {

// One request as the handler sees it. The body is complete and within the limits.
struct HttpRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string body;
  std::string remote;   // "address:port" of the client
  bool loopback = false;         // the client connected from 127.0.0.0/8 or ::1
  bool client_verified = false;  // TLS, and the client's certificate chained to the port's client CA
};

struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// Delivers the answer to a request: exactly once, from any thread, now or later (a bind parked at
// the co-bind barrier answers when its gang releases). Dropping it unanswered closes the connection.
using Respond = std::function<void(HttpAnswer)>;
using HttpHandler = std::function<void(HttpRequest&&, Respond)>;

// What a port accepts. Every limit holds whatever the body's framing (Content-Length, chunked).
struct EdgeLimits {
  std::size_t max_body_bytes = 64u << 20;
  std::size_t max_header_bytes = 16u << 10;  // request line and headers
  int max_headers = 100;
  int max_connections = 10000;
  int keep_alive_max_requests = 100000;
  std::chrono::seconds keep_alive_timeout{95};
  std::chrono::seconds read_timeout{10};   // a request's header and body, from its first byte
  std::chrono::seconds write_timeout{10};
  std::chrono::seconds handshake_timeout{10};
};

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // set: client certificates are checked against it
  // With a client CA: true refuses the handshake without a valid client certificate (the extender
  // port); false lets the handler decide per path (the admin port keeps probes open).
  bool require_client_cert = true;
};

// A refusal or a dropped connection the edge decided on its own, for logs and metrics.
struct EdgeEvent {
  std::string_view port;  // the listener's name ("extender", "admin")
  std::string_view kind;  // too_large, unsupported_encoding, too_many_headers, header_too_large,
                          // malformed_http, read_timeout, handshake_failed, connection_cap, ...
  int status = 0;         // the 4xx sent, 0 when the connection was closed without one
  std::string remote;
  std::string method;
  std::string target;
};

struct EdgeGauges {
  std::size_t connections = 0;
  std::size_t idle_connections = 0;
  std::size_t answers_pending = 0;     // requests whose handler has not answered yet
  std::size_t inflight_body_bytes = 0;
};

// Owns the event loop and its worker threads. Listen() any number of ports, then Start().
class HttpEdge {
 public:
  // `workers` threads run the loop and the handlers; `on_event` sees each refusal (any thread).
  HttpEdge(int workers, std::size_t max_inflight_body_bytes, std::function<void(const EdgeEvent&)> on_event);
  ~HttpEdge();
  HttpEdge(const HttpEdge&) = delete;
  HttpEdge& operator=(const HttpEdge&) = delete;

  // Binds host:port (0: the kernel picks) without SO_REUSEPORT, so a port another process holds is
  // an error. TLS certificates are read now, and again whenever their files change. Returns the
  // port. Errors are sentences: "cannot listen on 127.0.0.1:8888: address already in use".
  std::expected<int, std::string> Listen(std::string name, const std::string& host, int port, EdgeLimits limits,
                                         std::optional<TlsFiles> tls, HttpHandler handler);
  void Start();
  // Closes the listeners and every connection; answers still pending are dropped. Idempotent.
  void Stop();

  // Runs f on the loop (any thread may call; f must not block).
  void Post(std::function<void()> f);
  // Runs f on the loop every `period` until Stop().
  void Every(std::chrono::milliseconds period, std::function<void()> f);
  EdgeGauges Gauges() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The checks on a request's head that the edge applies before reading its body, as a pure function
// for tests and fuzzing: 0 when the head is acceptable, else the 4xx to answer, with `kind` and a
// sentence in `message`.
struct HeadVerdict {
  int status = 0;
  std::string_view kind;
  std::string message;
};
HeadVerdict CheckHead(std::size_t header_count, std::string_view content_encoding, std::optional<std::uint64_t> content_length,
                      const EdgeLimits& limits);

}  // namespace platoon::extender
