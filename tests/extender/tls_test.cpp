// TLS on the extender port: HTTPS with a server certificate, and client certificates when required.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/extender/test_server.h"

using namespace platoon;
using namespace platoon::testing;
namespace fs = std::filesystem;

namespace {

// A CA, a server certificate for 127.0.0.1 and a client certificate, made by the openssl CLI.
struct Pki {
  fs::path dir;
  Pki() {
    dir = fs::temp_directory_path() / ("platoon-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string d = dir.string();
    const std::string script =
        "set -e; cd '" + d + "'; "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=platoon-test-ca 2>/dev/null; "
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext; "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null; "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext 2>/dev/null; "
        "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=kube-scheduler 2>/dev/null; "
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 2>/dev/null";
    REQUIRE(std::system(("bash -c \"" + script + "\"").c_str()) == 0);
  }
  ~Pki() { fs::remove_all(dir); }
  std::string Path(const char* f) const { return (dir / f).string(); }
};

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
