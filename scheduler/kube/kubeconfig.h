// Where the API server is and how to authenticate to it: from a kubeconfig or the in-cluster service account.
#pragma once

#include <expected>
#include <functional>
#include <string>
#include <string_view>

namespace platoon::kube {

// The API server's address, split from its URL ("https://10.0.0.1:6443/prefix").
struct ServerAddress {
  std::string scheme;       // "https" or "http"
  std::string host;         // without IPv6 brackets
  int port = 443;
  std::string path_prefix;  // "" or "/prefix" (prepended to every request path)
  friend bool operator==(const ServerAddress&, const ServerAddress&) = default;
};

// Everything a client needs; PEM text, never file names, except the token file, which is re-read
// because service-account tokens rotate.
struct ClusterConfig {
  ServerAddress server;
  std::string ca_pem;                     // empty: the system's trust roots
  bool insecure_skip_tls_verify = false;  // kubeconfig's insecure-skip-tls-verify
  std::string tls_server_name;            // kubeconfig's tls-server-name (empty: the host)
  std::string token;                      // bearer token, as read
  std::string token_file;                 // set: re-read it for each new token (rotation)
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string origin;                     // "kubeconfig FILE, context NAME" or "in-cluster", for messages
};

// Reads a file for the parsers (injected so they are testable without files). Error: a sentence.
using FileReader = std::function<std::expected<std::string, std::string>(const std::string& path)>;
std::expected<std::string, std::string> ReadWholeFile(const std::string& path);

// "https://host:port/prefix". Error: a sentence saying what is wrong with the URL.
std::expected<ServerAddress, std::string> ParseServerUrl(std::string_view url);

// Standard base64 (with or without padding, whitespace ignored), as kubeconfig's *-data fields use.
std::expected<std::string, std::string> DecodeBase64(std::string_view text);

// The current context of a kubeconfig (YAML text from `file`; relative paths in it resolve against
// the file's folder, as kubectl does). Supports token, tokenFile, client-certificate(-data) and
// client-key(-data), certificate-authority(-data), insecure-skip-tls-verify, tls-server-name.
// `context` non-empty picks that context instead of current-context. Errors name the file and what
// to fix ("kubeconfig a.yaml: user \"x\" uses exec credentials, which platoon does not support; ...").
std::expected<ClusterConfig, std::string> ParseKubeconfig(std::string_view yaml, const std::string& file,
                                                          const FileReader& read, std::string_view context = "");
std::expected<ClusterConfig, std::string> LoadKubeconfig(const std::string& file, std::string_view context = "");

inline constexpr std::string_view kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// The in-cluster config: KUBERNETES_SERVICE_HOST/PORT (passed in) and the service account's token
// and ca.crt in `dir`. Errors say what is missing ("not running in a cluster: ...").
std::expected<ClusterConfig, std::string> InClusterConfig(std::string_view host, std::string_view port,
                                                          const std::string& dir, const FileReader& read);
// The same from the process environment and kServiceAccountDir.
std::expected<ClusterConfig, std::string> LoadInClusterConfig();

}  // namespace platoon::kube
