// The event-driven HTTP/1.1 edge: one coroutine per connection on a strand of one io_context, run by
// a few worker threads. A connection costs memory only; an answer that comes later (a parked bind)
// waits on a timer, not on a thread.
#include "scheduler/extender/http_edge.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "scheduler/extender/log.h"
#include "scheduler/extender/wire.h"

namespace platoon::extender {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;

namespace {

constexpr std::size_t kFirstRead = 4096;
constexpr std::size_t kKeepBufferBytes = 64u << 10;  // a connection's read buffer is shrunk back past this
constexpr auto kTlsRecheck = std::chrono::seconds(5);
// ECDHE key exchange and AEAD ciphers only for TLS 1.2 (TLS 1.3's suites are all of that kind).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Beast 1.74's string_view is boost::string_view.
std::string_view Sv(beast::string_view v) { return {v.data(), v.size()}; }

std::int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string OpenSslError(const error_code& ec) { return ec.message(); }

std::expected<std::shared_ptr<ssl::context>, std::string> MakeTlsContext(const TlsFiles& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) return std::unexpected(std::string("OpenSSL refused the TLS 1.2 cipher list"));
  error_code ec;
  ctx->use_certificate_chain_file(files.cert_file, ec);
  if (ec) return std::unexpected("cannot read certificate " + files.cert_file + ": " + OpenSslError(ec));
  ctx->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) return std::unexpected("cannot read private key " + files.key_file + ": " + OpenSslError(ec));
  if (SSL_CTX_check_private_key(native) != 1)
    return std::unexpected("private key " + files.key_file + " does not match certificate " + files.cert_file);
  if (!files.client_ca_file.empty()) {
    ctx->load_verify_file(files.client_ca_file, ec);
    if (ec) return std::unexpected("cannot read client CA " + files.client_ca_file + ": " + OpenSslError(ec));
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str())) SSL_CTX_set_client_CA_list(native, names);
    ctx->set_verify_mode(files.require_client_cert ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert : ssl::verify_peer);
  }
  return ctx;
}

struct FileStamp {
  std::filesystem::file_time_type mtime{};
  std::uintmax_t size = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

FileStamp Stamp(const std::string& path) {
  std::error_code ec;
  FileStamp s;
  if (path.empty()) return s;
  s.mtime = std::filesystem::last_write_time(path, ec);
  s.size = std::filesystem::file_size(path, ec);
  return s;
}

// The port's certificate, read again when its files change (cert-manager rotates them in place).
class TlsSource {
 public:
  TlsSource(TlsFiles files, std::shared_ptr<ssl::context> ctx) : files_(std::move(files)), ctx_(std::move(ctx)) { stamps_ = Stamps(); }
  std::shared_ptr<ssl::context> Current() {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - checked_ < kTlsRecheck) return ctx_;
    checked_ = now;
    auto stamps = Stamps();
    if (stamps == stamps_) return ctx_;
    auto fresh = MakeTlsContext(files_);
    if (!fresh) {
      // Half-written files during a rotation: keep serving the old certificate and look again later.
      log::Warn("TLS certificate files changed but cannot be loaded; keeping the previous certificate",
                {{"cert", files_.cert_file}, {"error", fresh.error()}});
      return ctx_;
    }
    stamps_ = stamps;
    ctx_ = std::move(*fresh);
    log::Info("TLS certificate reloaded", {{"cert", files_.cert_file}});
    return ctx_;
  }

 private:
  std::array<FileStamp, 3> Stamps() const { return {Stamp(files_.cert_file), Stamp(files_.key_file), Stamp(files_.client_ca_file)}; }
  TlsFiles files_;
  std::mutex mutex_;
  std::shared_ptr<ssl::context> ctx_;
  std::array<FileStamp, 3> stamps_;
  std::chrono::steady_clock::time_point checked_ = std::chrono::steady_clock::now();
};

// A live connection, as the listener's registry sees it: idle or not, and how to close it.
struct Conn {
  std::atomic<bool> idle{false};
  std::atomic<std::int64_t> idle_since{0};
  std::function<void()> close;  // posts a close onto the connection's strand; set before registering
};

}  // namespace

HeadVerdict CheckHead(std::size_t header_count, std::string_view content_encoding, std::optional<std::uint64_t> content_length,
                      const EdgeLimits& limits) {
  if (header_count > static_cast<std::size_t>(limits.max_headers))
    return {431, "too_many_headers",
            "request has " + std::to_string(header_count) + " headers; at most " + std::to_string(limits.max_headers) + " are accepted"};
  if (!content_encoding.empty() && !beast::iequals(beast::string_view(content_encoding.data(), content_encoding.size()), "identity"))
    return {415, "unsupported_encoding",
            "Content-Encoding \"" + std::string(content_encoding.substr(0, 64)) +
                "\" is not accepted: send the JSON body uncompressed (kube-scheduler does)"};
  if (content_length && *content_length > limits.max_body_bytes)
    return {413, "too_large",
            "request body of " + std::to_string(*content_length) + " bytes is larger than extender.maxRequestBytes (" +
                std::to_string(limits.max_body_bytes) + " bytes)"};
  return {};
}

struct Listener {
  std::string name;
  EdgeLimits limits;
  HttpHandler handler;
  tcp::acceptor acceptor;
  std::unique_ptr<TlsSource> tls;
  std::mutex mutex;
  std::list<std::shared_ptr<Conn>> conns;

  Listener(asio::io_context& ioc) : acceptor(ioc) {}

  // Registers a new connection; at the cap the oldest idle one is closed for it. False: the cap is
  // reached by connections that are all busy, so the new one is refused.
  bool Admit(const std::shared_ptr<Conn>& conn) {
    std::lock_guard lock(mutex);
    if (conns.size() >= static_cast<std::size_t>(limits.max_connections)) {
      auto oldest = conns.end();
      for (auto it = conns.begin(); it != conns.end(); ++it) {
        if ((*it)->idle && (oldest == conns.end() || (*it)->idle_since < (*oldest)->idle_since)) oldest = it;
      }
      if (oldest == conns.end()) return false;
      (*oldest)->idle = false;  // closing: not a candidate again
      (*oldest)->close();
      conns.erase(oldest);
    }
    conns.push_back(conn);
    return true;
  }
  void Forget(const std::shared_ptr<Conn>& conn) {
    std::lock_guard lock(mutex);
    if (auto it = std::ranges::find(conns, conn); it != conns.end()) conns.erase(it);
  }
  void CloseAll() {
    std::lock_guard lock(mutex);
    for (auto& c : conns) c->close();
    conns.clear();
  }
};

struct HttpEdge::Impl {
  Impl(int workers, std::size_t budget, std::function<void(const EdgeEvent&)> on_event)
      : workers(std::max(1, workers)), work(asio::make_work_guard(ioc)), budget_max(budget), on_event(std::move(on_event)) {}
  // The loop goes first: destroying it destroys the connections' coroutine frames, whose cleanup
  // (registry, body budget) uses the members below.
  ~Impl() {
    listeners.clear();
    context.reset();
  }

  std::unique_ptr<asio::io_context> context = std::make_unique<asio::io_context>();
  asio::io_context& ioc = *context;
  int workers;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<Listener>> listeners;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> answers_pending{0};

  // Request bodies held in memory at once, across every connection.
  std::mutex budget_mutex;
  std::size_t budget_max;
  std::size_t budget_used = 0;
  bool TakeBudget(std::size_t n) {
    std::lock_guard lock(budget_mutex);
    if (budget_used != 0 && budget_used + n > budget_max) return false;  // one body alone always fits
    budget_used += n;
    return true;
  }
  void GiveBudget(std::size_t n) {
    std::lock_guard lock(budget_mutex);
    budget_used -= std::min(n, budget_used);
  }

  std::weak_ptr<Impl> weak_self;  // set by HttpEdge: late answers check the edge still exists
  std::function<void(const EdgeEvent&)> on_event;
  void Event(const Listener& l, std::string_view kind, int status, const std::string& remote, std::string_view method = {},
             std::string_view target = {}) {
    if (on_event) on_event({l.name, kind, status, remote, std::string(method), std::string(target.substr(0, 256))});
  }

  awaitable<void> Accept(std::shared_ptr<Listener> l);
  // Registers a connection (closing the oldest idle one at the cap) and starts its coroutine.
  template <typename Stream>
  void Spawn(const std::shared_ptr<Listener>& l, std::shared_ptr<Stream> stream, std::shared_ptr<ssl::context> tls,
             const std::string& remote, bool loopback);
  template <typename Stream>
  awaitable<void> Serve(std::shared_ptr<Listener> l, std::shared_ptr<Conn> conn, std::shared_ptr<Stream> stream,
                        std::shared_ptr<ssl::context> tls, std::string remote, bool loopback);
};

namespace {

// The answer to one request, filled in from any thread and awaited by the connection's coroutine.
struct AnswerSlot {
  // Set while the handler runs inline on the connection's thread: an answer given there (filter,
  // prioritize, preempt, a bind decided at once) is stored directly, without a trip through the loop.
  std::atomic<std::thread::id> handler_thread{};
  std::optional<asio::steady_timer> timer;  // awaited only when the answer comes later; cancelled then
  std::optional<HttpAnswer> answer;
  bool dropped = false;
};

// Calls Respond at most once; an unanswered request closes its connection when the last copy goes.
// The edge may be gone by the time a late answer comes (a Binding posted during shutdown): then the
// answer has nowhere to go and is dropped.
template <typename Edge>
struct Once {
  Once(std::weak_ptr<Edge> edge, asio::any_io_executor ex, std::shared_ptr<AnswerSlot> slot)
      : edge(std::move(edge)), ex(std::move(ex)), slot(std::move(slot)) {}
  ~Once() {
    if (!done.exchange(true)) Deliver(std::nullopt);
  }
  void Deliver(std::optional<HttpAnswer> answer) {
    if (slot->handler_thread.load() == std::this_thread::get_id()) {
      if (answer) slot->answer = std::move(answer);
      else slot->dropped = true;
      return;
    }
    auto alive = edge.lock();
    if (!alive) return;
    asio::post(ex, [slot = slot, answer = std::move(answer)]() mutable {
      if (answer) slot->answer = std::move(answer);
      else slot->dropped = true;
      if (slot->timer) slot->timer->cancel();
    });
  }
  std::weak_ptr<Edge> edge;
  asio::any_io_executor ex;
  std::shared_ptr<AnswerSlot> slot;
  std::atomic<bool> done{false};
};

template <typename Stream>
auto& Lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

template <typename Stream>
awaitable<void> Write(Stream& stream, const EdgeLimits& limits, unsigned version, bool keep_alive, HttpAnswer& answer,
                      error_code& ec) {
  http::response<http::string_body> res{static_cast<http::status>(answer.status), version};
  res.set(http::field::content_type, answer.content_type);
  res.keep_alive(keep_alive);
  res.body() = std::move(answer.body);
  res.prepare_payload();
  Lowest(stream).expires_after(limits.write_timeout);
  co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
}

// After a refusal: stop sending, read and drop what the client still sends (briefly), then close,
// so the client reads the 4xx instead of a reset.
template <typename Stream>
awaitable<void> Linger(Stream& stream) {
  error_code ec;
  auto& lowest = Lowest(stream);
  lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 16384> sink;
  std::size_t drained = 0;
  lowest.expires_after(std::chrono::seconds(1));
  while (!ec && drained < (4u << 20)) {
    auto into = asio::buffer(sink);
    drained += co_await lowest.async_read_some(into, asio::redirect_error(use_awaitable, ec));
  }
  lowest.close();
}

template <typename Stream>
void CloseNow(Stream& stream) {
  Lowest(stream).close();
}

bool IsLoopback(const tcp::endpoint& ep) {
  const auto a = ep.address();
  if (a.is_v4()) return a.to_v4().is_loopback();
  if (a.to_v6().is_v4_mapped()) return a.to_v6().to_v4().is_loopback();
  return a.is_loopback();
}

}  // namespace

template <typename Stream>
awaitable<void> HttpEdge::Impl::Serve(std::shared_ptr<Listener> l, std::shared_ptr<Conn> conn, std::shared_ptr<Stream> stream,
                                      std::shared_ptr<ssl::context> tls, std::string remote, bool loopback) {
  struct Unregister {
    Listener& l;
    std::shared_ptr<Conn> c;
    ~Unregister() { l.Forget(c); }
  } unregister{*l, conn};
  const EdgeLimits& limits = l->limits;
  error_code ec;
  bool verified = false;
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    Lowest(*stream).expires_after(limits.handshake_timeout);
    co_await stream->async_handshake(ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      Event(*l, ec == beast::error::timeout ? "handshake_timeout" : "handshake_failed", 0, remote);
      CloseNow(*stream);
      co_return;
    }
    if (X509* cert = SSL_get1_peer_certificate(stream->native_handle())) {
      verified = SSL_get_verify_result(stream->native_handle()) == X509_V_OK;
      X509_free(cert);
    }
  }
  (void)tls;  // keeps the TLS context alive as long as the stream that uses it

  // GCC 12 can destroy temporaries of a co_await expression twice: every awaited call below takes
  // named locals only.
  beast::flat_buffer buffer;
  HeadVerdict refusal;  // status != 0: answer it, then close
  std::string method, target;
  for (int served = 0; !stopping; ++served) {
    // Idle until the first byte of the next request: costs no thread, and is what the connection
    // cap closes first.
    if (buffer.size() == 0) {
      conn->idle_since = SteadyNanos();
      conn->idle = true;
      Lowest(*stream).expires_after(served == 0 ? limits.read_timeout : limits.keep_alive_timeout);
      auto space = buffer.prepare(kFirstRead);
      const std::size_t n = co_await stream->async_read_some(space, asio::redirect_error(use_awaitable, ec));
      buffer.commit(n);
      conn->idle = false;
      if (ec) break;  // closed, idle too long, or closed by the cap: nothing was asked
    }
    conn->idle = false;

    Lowest(*stream).expires_after(limits.read_timeout);
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits.max_header_bytes, UINT32_MAX)));
    parser.body_limit(limits.max_body_bytes);
    co_await http::async_read_header(*stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (parser.is_header_done()) {
      method = Sv(parser.get().method_string());
      target = Sv(parser.get().target()).substr(0, 256);
    }
    if (ec) {
      if (ec == http::error::header_limit) {
        refusal = {431, "header_too_large", "request line and headers are larger than " + std::to_string(limits.max_header_bytes) + " bytes"};
      } else if (ec == http::error::body_limit) {
        refusal = {413, "too_large", "request body is larger than extender.maxRequestBytes (" + std::to_string(limits.max_body_bytes) + " bytes)"};
      } else if (ec == beast::error::timeout) {
        Event(*l, "read_timeout", 0, remote);
      } else if (ec.category() == http::make_error_code(http::error::bad_method).category() && ec != http::error::end_of_stream &&
                 ec != http::error::partial_message) {
        refusal = {400, "malformed_http", "malformed HTTP request: " + ec.message()};
      }
      break;
    }
    auto& head = parser.get();
    const std::size_t header_count = static_cast<std::size_t>(std::distance(head.begin(), head.end()));
    const std::optional<std::uint64_t> content_length =
        parser.content_length() ? std::optional<std::uint64_t>(*parser.content_length()) : std::nullopt;
    refusal = CheckHead(header_count, Sv(head[http::field::content_encoding]), content_length, limits);
    if (refusal.status != 0) break;

    // Hold room for the body in the edge-wide budget; wait (not reading) while others hold it.
    const std::size_t reserve = content_length ? static_cast<std::size_t>(*content_length) : parser.chunked() ? limits.max_body_bytes : 0;
    if (reserve > 0 && !TakeBudget(reserve)) {
      asio::steady_timer wait(stream->get_executor());
      const auto give_up = std::chrono::steady_clock::now() + limits.read_timeout;
      bool got = false;
      while (!stopping && std::chrono::steady_clock::now() < give_up && !(got = TakeBudget(reserve))) {
        wait.expires_after(std::chrono::milliseconds(2));
        co_await wait.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      if (!got) {
        refusal = {503, "busy", "too many large request bodies at once; retry"};
        break;
      }
    }
    struct Budget {
      Impl& impl;
      std::size_t n;
      ~Budget() { impl.GiveBudget(n); }
    } budget{*this, reserve};

    if (beast::iequals(head[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, head.version()};
      Lowest(*stream).expires_after(limits.write_timeout);
      co_await http::async_write(*stream, cont, asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      Lowest(*stream).expires_after(limits.read_timeout);
    }
    co_await http::async_read(*stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == http::error::body_limit) {
        refusal = {413, "too_large", "request body is larger than extender.maxRequestBytes (" + std::to_string(limits.max_body_bytes) + " bytes)"};
      } else if (ec == beast::error::timeout) {
        Event(*l, "read_timeout", 0, remote, method, target);
      } else if (ec.category() == http::make_error_code(http::error::bad_method).category() && ec != http::error::end_of_stream &&
                 ec != http::error::partial_message) {
        refusal = {400, "malformed_http", "malformed HTTP request body: " + ec.message()};
      }
      break;
    }
    Lowest(*stream).expires_never();

    http::request<http::string_body> req = parser.release();
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive() && served + 1 < limits.keep_alive_max_requests;
    HttpRequest request{std::string(Sv(req.method_string())), std::string(Sv(req.target())), std::move(req.body()), remote, loopback, verified};
    req = {};

    auto slot = std::make_shared<AnswerSlot>();
    auto once = std::make_shared<Once<Impl>>(weak_self, stream->get_executor(), slot);
    ++answers_pending;
    slot->handler_thread = std::this_thread::get_id();
    l->handler(std::move(request), [once](HttpAnswer a) {
      if (!once->done.exchange(true)) once->Deliver(std::move(a));
    });
    once.reset();
    slot->handler_thread = std::thread::id();
    if (!slot->answer && !slot->dropped) {
      slot->timer.emplace(stream->get_executor(), asio::steady_timer::time_point::max());
      co_await slot->timer->async_wait(asio::redirect_error(use_awaitable, ec));
    }
    --answers_pending;
    if (!slot->answer || stopping) break;
    const bool again = keep_alive && !stopping;
    co_await Write(*stream, limits, version, again, *slot->answer, ec);
    if (ec || !again) break;
    // A big request grew the buffer: give the memory back before idling.
    if (buffer.size() == 0 && buffer.capacity() > kKeepBufferBytes) buffer.shrink_to_fit();
  }
  if (refusal.status != 0) {
    Event(*l, refusal.kind, refusal.status, remote, method, target);
    HttpAnswer answer{refusal.status, EncodeError(refusal.message)};
    error_code wec;
    co_await Write(*stream, limits, 11, false, answer, wec);
    if (!wec) co_await Linger(*stream);
  }
  error_code ignored;
  Lowest(*stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  CloseNow(*stream);
}

awaitable<void> HttpEdge::Impl::Accept(std::shared_ptr<Listener> l) {
  asio::steady_timer backoff(ioc);
  while (!stopping) {
    tcp::socket socket(asio::make_strand(ioc));
    error_code ec;
    co_await l->acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
    if (stopping || ec == asio::error::operation_aborted || !l->acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors (EMFILE) and the like: back off instead of spinning.
      log::Warn("accept failed", {{"port", l->name}, {"error", ec.message()}});
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    tcp::endpoint peer = socket.remote_endpoint(ec);
    const std::string remote = ec ? "unknown" : peer.address().to_string() + ":" + std::to_string(peer.port());
    const bool loopback = !ec && IsLoopback(peer);
    if (l->tls) {
      auto ctx = l->tls->Current();
      Spawn(l, std::make_shared<beast::ssl_stream<beast::tcp_stream>>(std::move(socket), *ctx), ctx, remote, loopback);
    } else {
      Spawn(l, std::make_shared<beast::tcp_stream>(std::move(socket)), nullptr, remote, loopback);
    }
  }
}

template <typename Stream>
void HttpEdge::Impl::Spawn(const std::shared_ptr<Listener>& l, std::shared_ptr<Stream> stream, std::shared_ptr<ssl::context> tls,
                           const std::string& remote, bool loopback) {
  auto conn = std::make_shared<Conn>();
  auto ex = Lowest(*stream).get_executor();
  conn->close = [ex, weak = std::weak_ptr(stream)] {
    asio::post(ex, [weak] {
      if (auto s = weak.lock()) CloseNow(*s);
    });
  };
  if (!l->Admit(conn)) {
    Event(*l, "connection_cap", 0, remote);
    CloseNow(*stream);
    return;
  }
  asio::co_spawn(ex, Serve(l, conn, std::move(stream), std::move(tls), remote, loopback), asio::detached);
}

HttpEdge::HttpEdge(int workers, std::size_t max_inflight_body_bytes, std::function<void(const EdgeEvent&)> on_event)
    : impl_(std::make_shared<Impl>(workers, max_inflight_body_bytes, std::move(on_event))) {
  impl_->weak_self = impl_;
}

HttpEdge::~HttpEdge() { Stop(); }

std::expected<int, std::string> HttpEdge::Listen(std::string name, const std::string& host, int port, EdgeLimits limits,
                                                 std::optional<TlsFiles> tls, HttpHandler handler) {
  const std::string where = host + ":" + std::to_string(port);
  auto l = std::make_shared<Listener>(impl_->ioc);
  l->name = std::move(name);
  l->limits = limits;
  l->handler = std::move(handler);
  if (tls) {
    auto ctx = MakeTlsContext(*tls);
    if (!ctx) return std::unexpected("cannot start TLS on " + where + ": " + ctx.error());
    l->tls = std::make_unique<TlsSource>(*tls, std::move(*ctx));
  }
  error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return std::unexpected("cannot listen on " + where + ": \"" + host + "\" is not an IP address");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  l->acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR lets a restarted platoon bind while old connections sit in TIME_WAIT, but (unlike
  // SO_REUSEPORT) never lets two processes listen on one port.
  if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) l->acceptor.bind(endpoint, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::string why = ec == asio::error::address_in_use ? "address already in use (is another platoon serving on it?)"
                      : ec == boost::system::errc::address_not_available ? "not an address of this machine"
                                                                  : ec.message();
    return std::unexpected("cannot listen on " + where + ": " + why);
  }
  const int bound = l->acceptor.local_endpoint().port();
  impl_->listeners.push_back(std::move(l));
  return bound;
}

void HttpEdge::Start() {
  auto& impl = *impl_;
  for (auto& l : impl.listeners) asio::co_spawn(impl.ioc, impl.Accept(l), asio::detached);
  for (int i = 0; i < impl.workers; ++i) impl.threads.emplace_back([&impl] { impl.ioc.run(); });
}

void HttpEdge::Stop() {
  auto& impl = *impl_;
  if (impl.stopping.exchange(true)) return;
  asio::post(impl.ioc, [impl = impl_.get()] {
    for (auto& l : impl->listeners) {
      error_code ec;
      l->acceptor.close(ec);
      l->CloseAll();
    }
  });
  impl.work.reset();
  // Connections end as their sockets close; give them a moment to unwind, then stop the loop (its
  // timers would keep it running) and let ~Impl destroy whatever is left.
  for (int i = 0; i < 200 && !impl.threads.empty() && Gauges().connections > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  impl.ioc.stop();
  for (auto& t : impl.threads) t.join();
  impl.threads.clear();
}

void HttpEdge::Post(std::function<void()> f) { asio::post(impl_->ioc, std::move(f)); }

namespace {
awaitable<void> Repeat(const std::atomic<bool>& stopping, std::chrono::milliseconds period, std::function<void()> f) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping) {
    timer.expires_after(period);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec || stopping) break;
    f();
  }
}
}  // namespace

void HttpEdge::Every(std::chrono::milliseconds period, std::function<void()> f) {
  asio::co_spawn(impl_->ioc, Repeat(impl_->stopping, period, std::move(f)), asio::detached);
}

EdgeGauges HttpEdge::Gauges() const {
  EdgeGauges g;
  for (const auto& l : impl_->listeners) {
    std::lock_guard lock(l->mutex);
    g.connections += l->conns.size();
    for (const auto& c : l->conns) g.idle_connections += c->idle ? 1 : 0;
  }
  g.answers_pending = impl_->answers_pending;
  std::lock_guard lock(impl_->budget_mutex);
  g.inflight_body_bytes = impl_->budget_used;
  return g;
}

}  // namespace platoon::extender
