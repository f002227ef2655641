// The reflector and the action calls against a scripted fake API server on loopback (plain HTTP).
#include <doctest/doctest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "scheduler/kube/actions.h"
#include "scheduler/kube/reflector.h"

using namespace platoon;
using namespace platoon::kube;

namespace {

std::string PodJson(const std::string& name, const std::string& rv, const std::string& uid) {
  return R"({"metadata":{"name":")" + name + R"(","namespace":"ns","uid":")" + uid + R"(","resourceVersion":")" + rv + R"("}})";
}
std::string Event(const std::string& type, const std::string& object) {
  return R"({"type":")" + type + R"(","object":)" + object + "}\n";
}

// Answers lists and watches from scripts, one script entry per request; records the queries.
struct FakeApiServer {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mutex;
  std::deque<std::pair<int, std::string>> lists;    // (status, body)
  std::deque<std::pair<int, std::string>> watches;  // (status, newline-delimited events)
  std::vector<std::string> queries;
  std::vector<std::pair<std::string, std::string>> posts;  // (path, body)
  std::function<void(const httplib::Request&, httplib::Response&)> on_post;

  FakeApiServer() {
    server.Get("/api/v1/pods", [this](const httplib::Request& req, httplib::Response& res) {
      std::pair<int, std::string> answer{200, ""};
      bool watch = req.has_param("watch");
      {
        std::lock_guard lock(mutex);
        queries.push_back(std::string(watch ? "watch" : "list") + " rv=" + req.get_param_value("resourceVersion") +
                          (req.has_param("fieldSelector") ? " fs=" + req.get_param_value("fieldSelector") : ""));
        auto& script = watch ? watches : lists;
        if (!script.empty()) {
          answer = script.front();
          script.pop_front();
        } else if (watch) {
          answer = {200, ""};  // an empty watch that ends at once
        }
      }
      if (watch && answer.second.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      res.status = answer.first;
      res.set_content(answer.second, "application/json");
    });
    server.Get(R"(/api/v1/namespaces/ns/pods/(.+))", [](const httplib::Request& req, httplib::Response& res) {
      std::string name = req.matches[1];
      res.set_content(R"({"metadata":{"name":")" + name + R"(","uid":"uid-)" + name + R"("},"spec":{"nodeName":"node-a"}})",
                      "application/json");
    });
    server.Post(R"(/api/v1/namespaces/ns/pods/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mutex);
        posts.emplace_back(req.path, req.body);
      }
      if (on_post) on_post(req, res);
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeApiServer() {
    server.stop();
    thread.join();
  }
  std::unique_ptr<ApiClient> Client() {
    ClusterConfig cfg;
    cfg.server = ServerAddress{"http", "127.0.0.1", port, ""};
    cfg.origin = "test";
    auto client = ApiClient::Create(cfg);
    REQUIRE(client);
    return std::move(*client);
  }
};

struct Recorder {
  std::mutex mutex;
  std::vector<std::string> seen;
  ChangeHandler Handler() {
    return [this](const Change& c, const simdjson::dom::element* object) {
      std::lock_guard lock(mutex);
      if (c.kind == Change::Kind::Upsert) {
        REQUIRE(object != nullptr);
        seen.push_back("upsert " + c.meta.name + "@" + c.meta.resource_version);
      } else {
        CHECK(object == nullptr);
        seen.push_back("delete " + c.meta.name + " uid=" + c.meta.uid);
      }
    };
  }
  std::vector<std::string> Get() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace

TEST_CASE("list, watch, resume, relist on 410: the handler sees each change once and deletes for objects gone") {
  FakeApiServer api;
  api.lists.push_back({200, R"({"kind":"PodList","metadata":{"resourceVersion":"10"},"items":[)" + PodJson("a", "5", "ua") + "," +
                                PodJson("b", "6", "ub") + "]}"});
  // First watch: an add, a change, the same change again, a bookmark; then the stream ends.
  api.watches.push_back({200, Event("ADDED", PodJson("c", "11", "uc")) + Event("MODIFIED", PodJson("a", "12", "ua")) +
                                  Event("MODIFIED", PodJson("a", "12", "ua")) +
                                  Event("BOOKMARK", R"({"metadata":{"resourceVersion":"13"}})")});
  // Second watch resumes at 13 and is told its version is too old.
  api.watches.push_back({200, Event("ERROR", R"({"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"})")});
  // Relist: b was deleted while no watch saw it, a unchanged, c re-created under a new uid.
  api.lists.push_back({200, R"({"metadata":{"resourceVersion":"30"},"items":[)" + PodJson("a", "12", "ua") + "," +
                                PodJson("c", "25", "uc2") + "]}"});
  api.watches.push_back({410, R"({"kind":"Status","code":410})"});  // a watch refused with HTTP 410: relist again
  api.lists.push_back({200, R"({"metadata":{"resourceVersion":"31"},"items":[)" + PodJson("a", "12", "ua") + "," +
                                PodJson("c", "25", "uc2") + "]}"});

  auto client = api.Client();
  Recorder rec;
  ReflectorOptions options;
  options.backoff_initial = std::chrono::milliseconds(10);
  Reflector reflector(*client, {"pods", "/api/v1/pods", "status.phase!=Succeeded"}, rec.Handler(), options);
  reflector.Start();
  CHECK(reflector.WaitSynced(std::chrono::seconds(5)));
  REQUIRE(WaitFor([&] { return reflector.lists() >= 3; }));
  client->Shutdown();
  reflector.Stop();

  std::vector<std::string> want{"upsert a@5",   "upsert b@6",        "upsert c@11", "upsert a@12",
                                "delete b uid=ub", "delete c uid=uc", "upsert c@25"};
  CHECK(rec.Get() == want);
  std::lock_guard lock(api.mutex);
  REQUIRE(api.queries.size() >= 6);
  CHECK(api.queries[0] == "list rv= fs=status.phase!=Succeeded");
  CHECK(api.queries[1] == "watch rv=10 fs=status.phase!=Succeeded");
  CHECK(api.queries[2] == "watch rv=13 fs=status.phase!=Succeeded");
  CHECK(api.queries[3] == "list rv= fs=status.phase!=Succeeded");
  CHECK(api.queries[4] == "watch rv=30 fs=status.phase!=Succeeded");
  CHECK(api.queries[5] == "list rv= fs=status.phase!=Succeeded");
}

TEST_CASE("a failing list is retried with backoff until it succeeds; readiness waits for it") {
  FakeApiServer api;
  api.lists.push_back({500, R"({"message":"etcd unavailable"})"});
  api.lists.push_back({403, R"({"message":"forbidden"})"});
  api.lists.push_back({200, R"({"metadata":{"resourceVersion":"3"},"items":[)" + PodJson("a", "2", "ua") + "]}"});
  auto client = api.Client();
  Recorder rec;
  ReflectorOptions options;
  options.backoff_initial = std::chrono::milliseconds(20);
  Reflector reflector(*client, {"pods", "/api/v1/pods", ""}, rec.Handler(), options);
  CHECK_FALSE(reflector.synced());
  reflector.Start();
  CHECK(reflector.WaitSynced(std::chrono::seconds(5)));
  client->Shutdown();
  reflector.Stop();
  CHECK(rec.Get() == std::vector<std::string>{"upsert a@2"});
}

TEST_CASE("bindings: 201 is done, 409 is done only when the pod is already on the same node") {
  FakeApiServer api;
  int status = 201;
  api.on_post = [&](const httplib::Request&, httplib::Response& res) {
    res.status = status;
    res.set_content(R"({"kind":"Status","message":"pod p is already assigned to node \"node-a\""})", "application/json");
  };
  auto client = api.Client();
  engine::Binding b{"uid-p", "ns", "p", "node-a", {{"platoon.dev/devices", "gpus=0"}}};
  CHECK(PostBinding(*client, b));
  status = 409;
  CHECK(PostBinding(*client, b));  // the fake says p is on node-a with uid-p
  b.node = "node-b";
  auto other = PostBinding(*client, b);
  REQUIRE_FALSE(other);
  CHECK(other.error() == "pod is already bound to node-a");
  status = 500;
  auto failed = PostBinding(*client, b, nullptr, {2, std::chrono::milliseconds(1), std::chrono::milliseconds(1)});
  REQUIRE_FALSE(failed);
  CHECK(failed.error().find("HTTP 500") != std::string::npos);
  std::lock_guard lock(api.mutex);
  CHECK(api.posts.front().first == "/api/v1/namespaces/ns/pods/p/binding");
}

TEST_CASE("bindings are retried on 429 (Retry-After honoured), 5xx and no answer, within a bounded budget") {
  FakeApiServer api;
  std::deque<int> answers;
  api.on_post = [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(api.mutex);  // held by the server thread only while it answers
    res.status = answers.empty() ? 201 : answers.front();
    if (!answers.empty()) answers.pop_front();
    if (res.status == 429) res.set_header("Retry-After", "1");
    res.set_content(R"({"kind":"Status","message":"too many requests"})", "application/json");
  };
  auto client = api.Client();
  const engine::Binding b{"uid-p", "ns", "p", "node-a", {}};
  const BindRetry fast{4, std::chrono::milliseconds(5), std::chrono::milliseconds(200)};
  int status = 0, attempts = 0;
  SUBCASE("a 429 and a 503, then accepted: bound on the third post, Retry-After capped by max_wait") {
    answers = {429, 503};
    const auto start = std::chrono::steady_clock::now();
    CHECK(PostBinding(*client, b, &status, fast, &attempts));
    CHECK(attempts == 3);
    CHECK(status == 201);
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(200));  // waited Retry-After, capped
  }
  SUBCASE("500s beyond the budget: an error naming the last answer, after exactly the budget's posts") {
    answers = {500, 500, 500, 500, 500, 500};
    auto failed = PostBinding(*client, b, &status, fast, &attempts);
    REQUIRE_FALSE(failed);
    CHECK(attempts == 4);
    CHECK(failed.error().find("HTTP 500") != std::string::npos);
  }
  SUBCASE("a 403 is not retried") {
    answers = {403};
    CHECK_FALSE(PostBinding(*client, b, &status, fast, &attempts));
    CHECK(attempts == 1);
  }
}

TEST_CASE("evictions: 201 evicted, 404 gone, 429 blocked by a disruption budget") {
  FakeApiServer api;
  int status = 201;
  api.on_post = [&](const httplib::Request&, httplib::Response& res) {
    res.status = status;
    res.set_content(R"({"kind":"Status","message":"Cannot evict pod as it would violate the pod's disruption budget."})",
                    "application/json");
  };
  auto client = api.Client();
  CHECK(EvictPod(*client, "ns", "p", "u").kind == EvictOutcome::Kind::Evicted);
  status = 404;
  CHECK(EvictPod(*client, "ns", "p", "u").kind == EvictOutcome::Kind::Gone);
  status = 429;
  auto blocked = EvictPod(*client, "ns", "p", "u");
  CHECK(blocked.kind == EvictOutcome::Kind::Blocked);
  CHECK(blocked.message.find("disruption budget") != std::string::npos);
  std::lock_guard lock(api.mutex);
  CHECK(api.posts.front().first == "/api/v1/namespaces/ns/pods/p/eviction");
}
