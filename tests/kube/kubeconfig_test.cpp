// Kubeconfig and in-cluster configuration: the forms kubectl accepts, and clear errors for the rest.
#include <doctest/doctest.h>

#include <map>

#include "scheduler/kube/kubeconfig.h"

using namespace platoon::kube;

namespace {

FileReader Files(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const std::string& path) -> std::expected<std::string, std::string> {
    auto it = files.find(path);
    if (it == files.end()) return std::unexpected("cannot read " + path);
    return it->second;
  };
}

constexpr const char* kTwoContexts = R"(apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: Q0EgUEVN
- name: dev
  cluster:
    server: https://[::1]:8443/k8s/
    certificate-authority: pki/ca.crt
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
- name: robot
  user:
    token: abc.def
- name: rotating
  user:
    tokenFile: /var/run/token
- name: files
  user:
    client-certificate: certs/user.crt
    client-key: /abs/user.key
contexts:
- name: prod-admin
  context: {cluster: prod, user: admin}
- name: dev-robot
  context: {cluster: dev, user: robot}
- name: dev-rotating
  context: {cluster: dev, user: rotating}
- name: dev-files
  context: {cluster: dev, user: files}
current-context: prod-admin
)";

}  // namespace

TEST_CASE("the current context's cluster and user are read with base64 data fields") {
  auto cfg = ParseKubeconfig(kTwoContexts, "/home/me/.kube/config", Files({}));
  REQUIRE_MESSAGE(cfg, cfg.error());
  CHECK(cfg->server == ServerAddress{"https", "10.0.0.1", 6443, ""});
  CHECK(cfg->ca_pem == "CA PEM");
  CHECK(cfg->client_cert_pem == "CERT");
  CHECK(cfg->client_key_pem == "KEY");
  CHECK(cfg->token.empty());
  CHECK_FALSE(cfg->insecure_skip_tls_verify);
  CHECK(cfg->origin == "kubeconfig /home/me/.kube/config, context prod-admin");
}

TEST_CASE("another context can be chosen, with file references resolved against the kubeconfig's folder") {
  auto files = Files({{"/home/me/.kube/pki/ca.crt", "DEV CA"},
                      {"/var/run/token", "tok-1\n"},
                      {"/home/me/.kube/certs/user.crt", "UCERT"},
                      {"/abs/user.key", "UKEY"}});
  SUBCASE("a bearer token, an IPv6 server with a path prefix, insecure-skip-tls-verify") {
    auto cfg = ParseKubeconfig(kTwoContexts, "/home/me/.kube/config", files, "dev-robot");
    REQUIRE_MESSAGE(cfg, cfg.error());
    CHECK(cfg->server == ServerAddress{"https", "::1", 8443, "/k8s"});
    CHECK(cfg->ca_pem == "DEV CA");
    CHECK(cfg->insecure_skip_tls_verify);
    CHECK(cfg->token == "abc.def");
  }
  SUBCASE("a token file is read (trailing newline dropped) and remembered for rotation") {
    auto cfg = ParseKubeconfig(kTwoContexts, "/home/me/.kube/config", files, "dev-rotating");
    REQUIRE_MESSAGE(cfg, cfg.error());
    CHECK(cfg->token == "tok-1");
    CHECK(cfg->token_file == "/var/run/token");
  }
  SUBCASE("client certificate and key files, relative and absolute") {
    auto cfg = ParseKubeconfig(kTwoContexts, "/home/me/.kube/config", files, "dev-files");
    REQUIRE_MESSAGE(cfg, cfg.error());
    CHECK(cfg->client_cert_pem == "UCERT");
    CHECK(cfg->client_key_pem == "UKEY");
  }
}

TEST_CASE("kubeconfig mistakes are reported with the file and what to fix") {
  auto parse = [](std::string text, std::string_view context = "") {
    return ParseKubeconfig(text, "k.yaml", Files({}), context);
  };
  SUBCASE("no current context") {
    auto cfg = parse("clusters: []\n");
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error() == "kubeconfig k.yaml: no current-context set (kubectl config use-context NAME)");
  }
  SUBCASE("a context that does not exist") {
    auto cfg = parse(kTwoContexts, "nope");
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error() == "kubeconfig k.yaml: context \"nope\" is not in contexts");
  }
  SUBCASE("exec credentials are not supported") {
    auto cfg = parse(R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://h:1"}}]
users: [{name: u, user: {exec: {command: aws}}}]
)");
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error().find("user \"u\" uses exec credentials, which platoon does not support") != std::string::npos);
  }
  SUBCASE("a missing referenced file") {
    auto cfg = parse(R"(current-context: c
contexts: [{name: c, context: {cluster: k}}]
clusters: [{name: k, cluster: {server: "https://h:1", certificate-authority: ca.pem}}]
)");
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error() == "kubeconfig k.yaml: cluster \"k\" certificate-authority: cannot read ca.pem");
  }
  SUBCASE("a certificate without its key") {
    auto cfg = parse(R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://h:1"}}]
users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]
)");
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error() == "kubeconfig k.yaml: user \"u\" has a client certificate without its key");
  }
  SUBCASE("bad base64, bad server URL, bad YAML") {
    auto bad64 = parse(R"(current-context: c
contexts: [{name: c, context: {cluster: k}}]
clusters: [{name: k, cluster: {server: "https://h:1", certificate-authority-data: "a*b"}}]
)");
    REQUIRE_FALSE(bad64);
    CHECK(bad64.error().find("certificate-authority-data: not valid base64") != std::string::npos);
    auto bad_url = parse(R"(current-context: c
contexts: [{name: c, context: {cluster: k}}]
clusters: [{name: k, cluster: {server: "h:6443"}}]
)");
    REQUIRE_FALSE(bad_url);
    CHECK(bad_url.error().find("is not a URL") != std::string::npos);
    auto bad_yaml = parse("a: [\n");
    REQUIRE_FALSE(bad_yaml);
    CHECK(bad_yaml.error().find("kubeconfig k.yaml:") == 0);
  }
}

TEST_CASE("server URLs split into scheme, host, port and path prefix") {
  CHECK(*ParseServerUrl("https://example.com") == ServerAddress{"https", "example.com", 443, ""});
  CHECK(*ParseServerUrl("http://127.0.0.1:8080/") == ServerAddress{"http", "127.0.0.1", 8080, ""});
  CHECK(*ParseServerUrl("https://[fd00::1]") == ServerAddress{"https", "fd00::1", 443, ""});
  CHECK_FALSE(ParseServerUrl("https://h:99999"));
  CHECK_FALSE(ParseServerUrl("ftp://h"));
  CHECK_FALSE(ParseServerUrl("https://:443"));
}

TEST_CASE("base64 decodes with and without padding and rejects other characters") {
  CHECK(*DecodeBase64("aGVsbG8=") == "hello");
  CHECK(*DecodeBase64("aGVsbG8") == "hello");
  CHECK(*DecodeBase64("aGVs\nbG8=\n") == "hello");
  CHECK(*DecodeBase64("") == "");
  CHECK_FALSE(DecodeBase64("aGVsbG8=x"));
  CHECK_FALSE(DecodeBase64("a"));
}

TEST_CASE("in-cluster config comes from the service host and the mounted service account") {
  auto files = Files({{"/sa/token", "jwt\n"}, {"/sa/ca.crt", "CLUSTER CA"}});
  SUBCASE("everything present") {
    auto cfg = InClusterConfig("10.96.0.1", "443", "/sa", files);
    REQUIRE_MESSAGE(cfg, cfg.error());
    CHECK(cfg->server == ServerAddress{"https", "10.96.0.1", 443, ""});
    CHECK(cfg->token == "jwt");
    CHECK(cfg->token_file == "/sa/token");
    CHECK(cfg->ca_pem == "CLUSTER CA");
    CHECK(cfg->origin == "in-cluster");
  }
  SUBCASE("an IPv6 service host") {
    auto cfg = InClusterConfig("fd00::1", "443", "/sa", files);
    REQUIRE(cfg);
    CHECK(cfg->server.host == "fd00::1");
  }
  SUBCASE("outside a cluster") {
    auto cfg = InClusterConfig("", "", "/sa", files);
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error().find("not running in a cluster") == 0);
  }
  SUBCASE("no token mounted") {
    auto cfg = InClusterConfig("10.96.0.1", "443", "/none", files);
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error().find("automountServiceAccountToken") != std::string::npos);
  }
}
