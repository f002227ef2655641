// The API client: pooled cpp-httplib connections, bearer tokens (re-read when from a file), client
// certificates and CA bundles from PEM text.
#include "scheduler/kube/client.h"

#include <algorithm>
#include <cstdlib>

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "platoon/version.h"

namespace platoon::kube {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

BioPtr MemBio(const std::string& pem) { return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = MemBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(cert);
  ERR_clear_error();  // the loop ends on a "no start line" error
  return out;
}

KeyPtr ReadKey(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key;
}

// The transport error as a person can act on it.
std::string ErrorText(httplib::Error error) {
  switch (error) {
    case httplib::Error::SSLServerVerification:
      return "TLS: the API server's certificate is not signed by the configured certificate authority "
             "(certificate-authority / ca.crt), or does not name the server's address";
    case httplib::Error::SSLConnection: return "TLS handshake failed (" + httplib::to_string(error) + ")";
    case httplib::Error::Connection: return "cannot connect to the API server";
    default: return httplib::to_string(error);
  }
}

Response FromResult(const httplib::Result& result) {
  Response out;
  if (!result) {
    out.error = ErrorText(result.error());
    return out;
  }
  out.status = result->status;
  out.body = result->body;
  if (result->has_header("Retry-After")) out.retry_after_seconds = std::max(0, std::atoi(result->get_header_value("Retry-After").c_str()));
  return out;
}

}  // namespace

std::string Response::Describe() const {
  if (!error.empty()) return "no answer: " + error;
  std::string text = "HTTP " + std::to_string(status);
  // A Status object's message says what happened; keep the log line short otherwise.
  auto m = body.find("\"message\":\"");
  if (m != std::string::npos) {
    auto end = body.find('"', m + 11);
    text += ": " + body.substr(m + 11, end == std::string::npos ? std::string::npos : end - m - 11);
  } else if (!body.empty()) {
    text += ": " + body.substr(0, 200);
  }
  return text;
}

ApiClient::ApiClient(ClusterConfig config) : config_(std::move(config)), token_read_(std::chrono::steady_clock::now()) {}
ApiClient::~ApiClient() = default;

std::expected<std::unique_ptr<ApiClient>, std::string> ApiClient::Create(ClusterConfig config) {
  const std::string& origin = config.origin;
  if (!config.ca_pem.empty() && ReadCertificates(config.ca_pem).empty())
    return std::unexpected(origin + ": the certificate authority is not a PEM certificate");
  if (!config.client_cert_pem.empty()) {
    if (ReadCertificates(config.client_cert_pem).empty())
      return std::unexpected(origin + ": the client certificate is not a PEM certificate");
    if (!ReadKey(config.client_key_pem)) return std::unexpected(origin + ": the client key is not a PEM private key");
  }
  if (config.server.scheme == "http" && (!config.token.empty() || !config.client_cert_pem.empty()))
    return std::unexpected(origin + ": credentials over plain http are refused; use an https server URL");
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(config)));
}

std::string ApiClient::Token() {
  std::lock_guard lock(mutex_);
  // Projected service-account tokens rotate; the kubelet refreshes the file well before expiry.
  if (!config_.token_file.empty() && std::chrono::steady_clock::now() - token_read_ > std::chrono::minutes(1)) {
    if (auto text = ReadWholeFile(config_.token_file)) {
      std::string token = std::move(*text);
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
      if (!token.empty()) config_.token = std::move(token);
    }
    token_read_ = std::chrono::steady_clock::now();
  }
  return config_.token;
}

std::unique_ptr<httplib::ClientImpl> ApiClient::NewConnection(std::chrono::seconds read_timeout) {
  std::unique_ptr<httplib::ClientImpl> client;
  const auto& s = config_.server;
  if (s.scheme == "https") {
    std::unique_ptr<httplib::SSLClient> ssl;
    if (!config_.client_cert_pem.empty()) {
      auto certs = ReadCertificates(config_.client_cert_pem);
      KeyPtr key = ReadKey(config_.client_key_pem);
      ssl = std::make_unique<httplib::SSLClient>(s.host, s.port, certs.empty() ? nullptr : certs.front().get(), key.get());
    } else {
      ssl = std::make_unique<httplib::SSLClient>(s.host, s.port);
    }
    if (config_.insecure_skip_tls_verify) {
      ssl->enable_server_certificate_verification(false);
    } else if (!config_.ca_pem.empty()) {
      X509_STORE* store = X509_STORE_new();
      for (auto& cert : ReadCertificates(config_.ca_pem)) X509_STORE_add_cert(store, cert.get());
      ssl->set_ca_cert_store(store);  // takes ownership
    }
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(s.host, s.port);
  }
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(read_timeout.count(), 0);
  client->set_write_timeout(10, 0);
  client->set_keep_alive(true);
  return client;
}

std::unique_ptr<httplib::ClientImpl> ApiClient::Acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  return NewConnection(std::chrono::seconds(30));
}

void ApiClient::Release(std::unique_ptr<httplib::ClientImpl> client) {
  std::lock_guard lock(mutex_);
  if (!shut_down_ && idle_.size() < 8) idle_.push_back(std::move(client));
}

namespace {
httplib::Headers HeadersFor(const std::string& token) {
  httplib::Headers headers{{"Accept", "application/json"}, {"User-Agent", std::string("platoon/") + kVersion}};
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  return headers;
}
}  // namespace

Response ApiClient::Get(const std::string& path) {
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return {0, {}, "client shut down"};
  }
  auto client = Acquire();
  Response out = FromResult(client->Get(config_.server.path_prefix + path, HeadersFor(Token())));
  if (out.error.empty()) Release(std::move(client));
  return out;
}

Response ApiClient::Post(const std::string& path, const std::string& json) {
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return {0, {}, "client shut down"};
  }
  auto client = Acquire();
  Response out = FromResult(client->Post(config_.server.path_prefix + path, HeadersFor(Token()), json, "application/json"));
  if (out.error.empty()) Release(std::move(client));
  return out;
}

Response ApiClient::Patch(const std::string& path, const std::string& body, const std::string& content_type) {
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return {0, {}, "client shut down"};
  }
  auto client = Acquire();
  Response out = FromResult(client->Patch(config_.server.path_prefix + path, HeadersFor(Token()), body, content_type));
  if (out.error.empty()) Release(std::move(client));
  return out;
}

Response ApiClient::Stream(const std::string& path, std::chrono::seconds read_timeout,
                           const std::function<bool(std::string_view)>& on_chunk) {
  auto client = NewConnection(read_timeout);
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return {0, {}, "client shut down"};
    streaming_.insert(client.get());
  }
  int status = 0;
  std::string error_body;
  auto result = client->Get(
      config_.server.path_prefix + path, HeadersFor(Token()),
      [&](const httplib::Response& res) {
        status = res.status;
        return true;
      },
      [&](const char* data, std::size_t size) {
        if (status < 200 || status >= 300) {
          if (error_body.size() < 65536) error_body.append(data, size);
          return true;
        }
        return on_chunk(std::string_view(data, size));
      });
  {
    std::lock_guard lock(mutex_);
    streaming_.erase(client.get());
  }
  Response out;
  out.status = status;
  out.body = std::move(error_body);
  // A receiver that stopped the stream reports Error::Canceled; that is not a failure.
  if (!result && result.error() != httplib::Error::Canceled) out.error = ErrorText(result.error());
  return out;
}

void ApiClient::Shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  for (auto* client : streaming_) client->stop();
  idle_.clear();
}

}  // namespace platoon::kube
