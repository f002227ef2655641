// Kubeconfig and in-cluster configuration: parsing, file references, base64 data.
#include "scheduler/kube/kubeconfig.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace platoon::kube {
namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// The entry named `name` of a kubeconfig list (clusters, users, contexts): its inner map.
YAML::Node FindNamed(const YAML::Node& list, std::string_view name, std::string_view inner) {
  if (!list || !list.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& entry : list) {
    if (!entry.IsMap() || !entry["name"] || entry["name"].as<std::string>() != name) continue;
    YAML::Node body = entry[std::string(inner)];
    return body ? body : YAML::Node(YAML::NodeType::Map);
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string Str(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) return "";
  YAML::Node v = map[key];
  return v && v.IsScalar() ? v.as<std::string>() : "";
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

}  // namespace

std::expected<std::string, std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::expected<ServerAddress, std::string> ParseServerUrl(std::string_view url) {
  ServerAddress out;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::unexpected("server " + Quote(url) + " is not a URL (https://HOST:PORT)");
  out.scheme = std::string(url.substr(0, sep));
  if (out.scheme != "https" && out.scheme != "http")
    return std::unexpected("server " + Quote(url) + ": scheme must be https or http");
  out.port = out.scheme == "https" ? 443 : 80;
  std::string_view rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    out.path_prefix = std::string(rest.substr(slash));
    while (!out.path_prefix.empty() && out.path_prefix.back() == '/') out.path_prefix.pop_back();
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::unexpected("server " + Quote(url) + ": unclosed [ in the IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::unexpected("server " + Quote(url) + ": expected :PORT after the address");
      port = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return std::unexpected("server " + Quote(url) + " has no host");
  if (!port.empty()) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p <= 0 || p > 65535)
      return std::unexpected("server " + Quote(url) + ": " + Quote(port) + " is not a port number");
    out.port = p;
  }
  return out;
}

std::expected<std::string, std::string> DecodeBase64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int v = value(c);
    if (v < 0 || padding) return std::unexpected("not valid base64 (unexpected " + Quote(std::string(1, c)) + ")");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return std::unexpected("not valid base64 (truncated)");
  return out;
}

std::expected<ClusterConfig, std::string> ParseKubeconfig(std::string_view yaml, const std::string& file,
                                                          const FileReader& read, std::string_view context) {
  const std::string where = "kubeconfig " + file;
  const std::string base_dir = std::filesystem::path(file).parent_path().string();
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return std::unexpected(where + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  if (!root || !root.IsMap()) return std::unexpected(where + ": not a kubeconfig (expected a map with clusters, users, contexts)");
  try {
    std::string ctx_name = context.empty() ? Str(root, "current-context") : std::string(context);
    if (ctx_name.empty()) return std::unexpected(where + ": no current-context set (kubectl config use-context NAME)");
    YAML::Node ctx = FindNamed(root["contexts"], ctx_name, "context");
    if (!ctx) return std::unexpected(where + ": context " + Quote(ctx_name) + " is not in contexts");
    const std::string cluster_name = Str(ctx, "cluster"), user_name = Str(ctx, "user");
    YAML::Node cluster = FindNamed(root["clusters"], cluster_name, "cluster");
    if (!cluster) return std::unexpected(where + ": cluster " + Quote(cluster_name) + " of context " + Quote(ctx_name) + " is not in clusters");

    ClusterConfig cfg;
    cfg.origin = where + ", context " + ctx_name;
    const std::string server = Str(cluster, "server");
    if (server.empty()) return std::unexpected(where + ": cluster " + Quote(cluster_name) + " has no server");
    auto address = ParseServerUrl(server);
    if (!address) return std::unexpected(where + ": cluster " + Quote(cluster_name) + ": " + address.error());
    cfg.server = *address;
    cfg.tls_server_name = Str(cluster, "tls-server-name");
    const std::string skip = Str(cluster, "insecure-skip-tls-verify");
    cfg.insecure_skip_tls_verify = skip == "true" || skip == "True";

    // A *-data field (base64) wins over its file form, as in kubectl.
    auto pem = [&](const YAML::Node& map, const char* data_key, const char* file_key,
                   std::string_view owner) -> std::expected<std::string, std::string> {
      if (auto data = Str(map, data_key); !data.empty()) {
        auto decoded = DecodeBase64(data);
        if (!decoded) return std::unexpected(where + ": " + std::string(owner) + " " + data_key + ": " + decoded.error());
        return *decoded;
      }
      if (auto path = Str(map, file_key); !path.empty()) {
        auto text = read(Resolve(base_dir, path));
        if (!text) return std::unexpected(where + ": " + std::string(owner) + " " + file_key + ": " + text.error());
        return *text;
      }
      return std::string();
    };
    auto ca = pem(cluster, "certificate-authority-data", "certificate-authority", "cluster " + Quote(cluster_name));
    if (!ca) return std::unexpected(ca.error());
    cfg.ca_pem = std::move(*ca);

    if (!user_name.empty()) {
      YAML::Node user = FindNamed(root["users"], user_name, "user");
      if (!user) return std::unexpected(where + ": user " + Quote(user_name) + " of context " + Quote(ctx_name) + " is not in users");
      const std::string owner = "user " + Quote(user_name);
      if (user["exec"] || user["auth-provider"])
        return std::unexpected(where + ": " + owner + " uses " + (user["exec"] ? "exec" : "auth-provider") +
                               " credentials, which platoon does not support; use a token, tokenFile or client certificate "
                               "(for example a ServiceAccount token: kubectl create token)");
      if (user["username"] || user["password"])
        return std::unexpected(where + ": " + owner + " uses basic authentication, which Kubernetes no longer supports; use a token or client certificate");
      cfg.token = Str(user, "token");
      if (cfg.token.empty()) {
        if (auto path = Str(user, "tokenFile"); !path.empty()) {
          cfg.token_file = Resolve(base_dir, path);
          auto token = read(cfg.token_file);
          if (!token) return std::unexpected(where + ": " + owner + " tokenFile: " + token.error());
          cfg.token = *token;
        }
      }
      auto cert = pem(user, "client-certificate-data", "client-certificate", owner);
      if (!cert) return std::unexpected(cert.error());
      auto key = pem(user, "client-key-data", "client-key", owner);
      if (!key) return std::unexpected(key.error());
      if (cert->empty() != key->empty())
        return std::unexpected(where + ": " + owner + " has a client " + (cert->empty() ? "key" : "certificate") +
                               " without its " + (cert->empty() ? "certificate" : "key"));
      cfg.client_cert_pem = std::move(*cert);
      cfg.client_key_pem = std::move(*key);
    }
    while (!cfg.token.empty() && (cfg.token.back() == '\n' || cfg.token.back() == '\r')) cfg.token.pop_back();
    return cfg;
  } catch (const YAML::Exception& e) {
    return std::unexpected(where + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

std::expected<ClusterConfig, std::string> LoadKubeconfig(const std::string& file, std::string_view context) {
  auto text = ReadWholeFile(file);
  if (!text) return std::unexpected("kubeconfig: " + text.error());
  return ParseKubeconfig(*text, file, ReadWholeFile, context);
}

std::expected<ClusterConfig, std::string> InClusterConfig(std::string_view host, std::string_view port,
                                                          const std::string& dir, const FileReader& read) {
  if (host.empty() || port.empty())
    return std::unexpected("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
                           "(use --kubeconfig FILE outside a cluster)");
  std::string url = "https://";
  url += host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
  url += ":" + std::string(port);
  auto address = ParseServerUrl(url);
  if (!address) return std::unexpected("in-cluster: " + address.error());
  ClusterConfig cfg;
  cfg.origin = "in-cluster";
  cfg.server = *address;
  cfg.token_file = dir + "/token";
  auto token = read(cfg.token_file);
  if (!token) return std::unexpected("in-cluster: service account token: " + token.error() + " (is automountServiceAccountToken off?)");
  cfg.token = *token;
  while (!cfg.token.empty() && (cfg.token.back() == '\n' || cfg.token.back() == '\r')) cfg.token.pop_back();
  if (cfg.token.empty()) return std::unexpected("in-cluster: the service account token in " + cfg.token_file + " is empty");
  auto ca = read(dir + "/ca.crt");
  if (!ca) return std::unexpected("in-cluster: service account CA: " + ca.error());
  cfg.ca_pem = *ca;
  return cfg;
}

std::expected<ClusterConfig, std::string> LoadInClusterConfig() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  return InClusterConfig(host ? host : "", port ? port : "", std::string(kServiceAccountDir), ReadWholeFile);
}

}  // namespace platoon::kube
