// The admin port (probes, metrics, the pending view) and the log lines the edge writes.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "scheduler/extender/log.h"
#include "tests/extender/test_server.h"

using namespace platoon;
using namespace platoon::testing;
namespace fs = std::filesystem;

namespace {

using AdminPki = TestPki;

// What a shell command prints on standard output.
std::string ShellOutput(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  return out;
}

std::unique_ptr<engine::Engine> OneNodeEngine() {
  auto engine = std::make_unique<engine::Engine>();
  engine->UpsertNode(GpuNode("n1", 8), 0);
  return engine;
}

}  // namespace

TEST_CASE("log values with NUL, CR, LF, quotes or '=' are escaped and never end or forge a line") {
  const std::string hostile = std::string("pod\0name", 8) + "\r\nlevel=error msg=\"forged\"\x7f";
  const std::string line = log::FormatLine(log::Level::Warn, "bind refused", {{"pod", hostile}});
  CHECK(line.back() == '\n');
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  CHECK(line.find('\r') == std::string::npos);
  CHECK(line.find('\0') == std::string::npos);
  CHECK(line.find("pod=\"pod\\x00name\\r\\nlevel=error msg=\\\"forged\\\"\\x7f\"") != std::string::npos);
  CHECK(log::FormatLine(log::Level::Info, "m", {{"k", "plain"}}).find(" k=plain\n") != std::string::npos);
}

TEST_CASE("the admin port serves probes, metrics from a snapshot, and the pending view only to those allowed") {
  SUBCASE("plain HTTP on loopback: everything, /debug/pending included") {
    TestServer server(MakeState({GpuNode("n1", 8)}));
    server.service().AttachEngine(OneNodeEngine(), [] { return 1.0; });
    httplib::Client admin("127.0.0.1", server.admin_port());
    CHECK(admin.Get("/healthz")->status == 200);
    CHECK(admin.Get("/readyz")->status == 200);
    auto metrics = admin.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
    CHECK(metrics->body.find("platoon_extender_connections") != std::string::npos);
    CHECK(admin.Get("/debug/pending")->status == 200);
    CHECK(admin.Get("/nothing")->status == 404);
    CHECK(admin.Post("/healthz", "", "text/plain")->status == 405);
  }
  SUBCASE("TLS with a client CA: probes stay open, metrics and the pending view need a certificate") {
    AdminPki pki;
    extender::ExtenderService service({}, MakeState({GpuNode("n1", 8)}));
    service.AttachEngine(OneNodeEngine(), [] { return 1.0; });
    extender::AdminSettings admin_settings{{pki.Path("server.crt"), pki.Path("server.key"), pki.Path("ca.crt")}, false};
    extender::ExtenderServer server(service, {}, admin_settings);
    REQUIRE(server.Start("127.0.0.1", 0, "127.0.0.1", 0));
    server.SetReady(true);

    httplib::SSLClient probe("127.0.0.1", server.admin_port());
    probe.enable_server_certificate_verification(false);  // as the kubelet's HTTPS probes
    CHECK(probe.Get("/healthz")->status == 200);
    CHECK(probe.Get("/readyz")->status == 200);
    CHECK(probe.Get("/metrics")->status == 403);
    CHECK(probe.Get("/debug/pending")->status == 403);

    httplib::SSLClient scraper("127.0.0.1", server.admin_port(), pki.Path("client.crt"), pki.Path("client.key"));
    scraper.set_ca_cert_path(pki.Path("ca.crt").c_str());
    scraper.enable_server_certificate_verification(true);
    auto metrics = scraper.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
    CHECK(metrics->body.find("platoon_bind_barrier_waiting_binds") != std::string::npos);
    CHECK(scraper.Get("/debug/pending")->status == 200);

    // Plain HTTP to the TLS admin port gets no answer.
    httplib::Client plain("127.0.0.1", server.admin_port());
    plain.set_read_timeout(2);
    auto refused = plain.Get("/healthz");
    CHECK((!refused || refused->status != 200));
  }
}

TEST_CASE("a certificate replaced on disk is served to new connections without a restart") {
  AdminPki pki;
  const fs::path cert = pki.dir / "live.crt", key = pki.dir / "live.key";
  fs::copy_file(pki.Path("server.crt"), cert);
  fs::copy_file(pki.Path("server.key"), key);
  extender::ExtenderService service({}, MakeState({GpuNode("n1", 8)}));
  extender::ExtenderServer server(service, {cert.string(), key.string(), ""});
  REQUIRE(server.Start("127.0.0.1", 0, "127.0.0.1", 0));
  auto subject = [&] {
    httplib::SSLClient c("127.0.0.1", server.port());
    c.enable_server_certificate_verification(false);
    auto res = c.Post("/platoon/filter", R"({"Pod":{"metadata":{"name":"p"}},"NodeNames":["n1"]})", "application/json");
    REQUIRE(res);
    CHECK(res->status == 200);
    // The served certificate's subject, through a second handshake with the openssl CLI.
    const std::string cmd = "echo | openssl s_client -connect 127.0.0.1:" + std::to_string(server.port()) +
                            " 2>/dev/null | openssl x509 -noout -subject 2>/dev/null";
    return ShellOutput(cmd);
  };
  CHECK(subject().find("CN = 127.0.0.1") != std::string::npos);
  // Rotate: a new certificate for another name, written over the old files (as cert-manager does).
  const std::string script = "set -e; cd '" + pki.dir.string() +
                             "'; openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout new.key -out new.csr "
                             "-subj /CN=rotated 2>/dev/null; openssl x509 -req -in new.csr -CA ca.crt -CAkey ca.key "
                             "-CAcreateserial -out new.crt -days 2 2>/dev/null; cp new.key live.key; cp new.crt live.crt";
  REQUIRE(std::system(("bash -c \"" + script + "\"").c_str()) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(5200));  // the edge looks at the files every 5 s
  CHECK(subject().find("CN = rotated") != std::string::npos);
}

TEST_CASE("TLS 1.0 and 1.1 and non-forward-secret TLS 1.2 suites are refused") {
  AdminPki pki;
  extender::ExtenderService service({}, MakeState({GpuNode("n1", 8)}));
  extender::ExtenderServer server(service, {pki.Path("server.crt"), pki.Path("server.key"), ""});
  REQUIRE(server.Start("127.0.0.1", 0, "127.0.0.1", 0));
  auto handshake = [&](const std::string& args) {
    // A handshake that completed prints the negotiated protocol; the exit code also reflects the
    // empty request that follows, so it is not read.
    const std::string cmd = "openssl s_client -connect 127.0.0.1:" + std::to_string(server.port()) + " " + args +
                            " </dev/null 2>/dev/null | grep -q 'Cipher is [^(]' && echo ok || echo refused";
    return ShellOutput(cmd);
  };
  CHECK(handshake("-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256").find("ok") != std::string::npos);
  CHECK(handshake("-tls1_3").find("ok") != std::string::npos);
  CHECK(handshake("-tls1_2 -cipher AES128-GCM-SHA256").find("refused") != std::string::npos);     // RSA key exchange
  CHECK(handshake("-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA").find("refused") != std::string::npos);  // CBC-SHA1
  CHECK(handshake("-tls1_1 -cipher 'DEFAULT@SECLEVEL=0'").find("refused") != std::string::npos);
}

TEST_CASE("/healthz turns red while one decision holds the engine past the stall limit, and green after") {
  extender::ExtenderService service({}, MakeState({GpuNode("n1", 8)}));
  service.AttachEngine(OneNodeEngine(), [] { return 1.0; });
  extender::AdminSettings admin_settings;
  admin_settings.liveness_stall = std::chrono::seconds(1);
  extender::ExtenderServer server(service, {}, admin_settings);
  REQUIRE(server.Start("127.0.0.1", 0, "127.0.0.1", 0));
  httplib::Client admin("127.0.0.1", server.admin_port());
  admin.set_read_timeout(5);
  CHECK(admin.Get("/healthz")->status == 200);
  std::thread stuck([&] {
    service.WithEngine([](engine::Engine&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      return 0;
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK_FALSE(service.EngineResponsive(std::chrono::seconds(1)));
  auto during = admin.Get("/healthz");
  REQUIRE(during);
  CHECK(during->status == 503);
  stuck.join();
  CHECK(admin.Get("/healthz")->status == 200);
}
