// TLS on the extender port: HTTPS with a server certificate, and client certificates when required.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/extender/test_server.h"

using namespace platoon;
using namespace platoon::testing;
namespace fs = std::filesystem;

namespace {

using Pki = TestPki;

const std::string kFilter = R"({"Pod":{"metadata":{"name":"p"}},"NodeNames":["n1"]})";

}  // namespace

TEST_CASE("the extender serves HTTPS and can require client certificates") {
  Pki pki;
  SUBCASE("server certificate only") {
    TestServer server(MakeState({GpuNode("n1", 8)}), {}, {pki.Path("server.crt"), pki.Path("server.key"), ""});
    httplib::SSLClient client("127.0.0.1", server.port());
    client.set_ca_cert_path(pki.Path("ca.crt").c_str());
    client.enable_server_certificate_verification(true);
    auto res = client.Post("/platoon/filter", kFilter, "application/json");
    REQUIRE(res);
    CHECK(res->status == 200);
    // Plain HTTP to the TLS port does not get an answer.
    httplib::Client plain("127.0.0.1", server.port());
    plain.set_connection_timeout(2);
    plain.set_read_timeout(2);
    auto refused = plain.Post("/platoon/filter", kFilter, "application/json");
    CHECK((!refused || refused->status != 200));
  }
  SUBCASE("client certificate required") {
    TestServer server(MakeState({GpuNode("n1", 8)}), {},
                      {pki.Path("server.crt"), pki.Path("server.key"), pki.Path("ca.crt")});
    httplib::SSLClient anonymous("127.0.0.1", server.port());
    anonymous.set_ca_cert_path(pki.Path("ca.crt").c_str());
    anonymous.enable_server_certificate_verification(true);
    auto refused = anonymous.Post("/platoon/filter", kFilter, "application/json");
    CHECK_FALSE(refused);

    httplib::SSLClient scheduler("127.0.0.1", server.port(), pki.Path("client.crt"), pki.Path("client.key"));
    scheduler.set_ca_cert_path(pki.Path("ca.crt").c_str());
    scheduler.enable_server_certificate_verification(true);
    auto res = scheduler.Post("/platoon/filter", kFilter, "application/json");
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  SUBCASE("unreadable key material is a clear startup error") {
    config::ExtenderSettings settings;
    extender::ExtenderService service(settings, MakeState({}));
    extender::ExtenderServer server(service, {pki.Path("server.crt"), pki.Path("missing.key"), ""});
    auto started = server.Start("127.0.0.1", 0, "127.0.0.1", 0);
    REQUIRE_FALSE(started);
    CHECK(started.error().find("--tls-key") != std::string::npos);
  }
}
