// The extender with the gang engine attached: filter answers the plan, binds wait at the co-bind
// barrier over real HTTP, and GET /debug/pending shows the pending gangs.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/extender/test_server.h"

namespace platoon {
namespace {

using json = nlohmann::json;

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

json MemberPod(const std::string& name, const std::string& group = "job", const std::string& gpus = "4") {
  return {{"metadata",
           {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name},
            {"labels", {{"scheduling.x-k8s.io/pod-group", group}}}}},
          {"spec", {{"containers", {{{"name", "c"}, {"resources", {{"requests", {{"cpu", "1"}, {"nvidia.com/gpu", gpus}}}}}}}}}}};
}

json Post(httplib::Client& client, const std::string& path, const json& body) {
  auto res = client.Post(path, body.dump(), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return json::parse(res->body);
}

TEST_CASE("with the engine attached, a gang's binds wait at the barrier and bind together over HTTP") {
  testing::TestServer server(testing::MakeState({testing::GpuNode("n1", 8), testing::GpuNode("n2", 8)}));
  auto engine = std::make_unique<engine::Engine>();
  for (const auto& name : {"n1", "n2"}) engine->UpsertNode(testing::GpuNode(name, 8), SteadySeconds());
  PodGroup group;
  group.name = "job";
  group.min_member = 2;
  engine->UpsertPodGroup(group, SteadySeconds());
  server.service().AttachEngine(std::move(engine), SteadySeconds);

  auto client = server.Client();
  auto filter = [&](const std::string& name) {
    return Post(client, "/platoon/filter", {{"Pod", MemberPod(name)}, {"NodeNames", {"n1", "n2"}}});
  };
  auto first = filter("a");
  CHECK(first["NodeNames"].empty());
  CHECK(first["FailedAndUnresolvableNodes"]["n1"].get<std::string>().find("waiting for 1 of 2 members") != std::string::npos);

  httplib::Client admin("127.0.0.1", server.admin_port());
  auto pending = admin.Get("/debug/pending");
  REQUIRE(pending);
  CHECK(pending->status == 200);
  auto view = json::parse(pending->body);
  REQUIRE(view["queues"].size() == 1);
  CHECK(view["queues"][0]["gangs"][0]["gang"] == "default/job");
  CHECK(view["queues"][0]["gangs"][0]["phase"] == "Collecting");
  CHECK(server.service().MetricsText().find("platoon_pending_workloads{cluster_queue=\"\",status=\"Collecting\"} 1") !=
        std::string::npos);

  auto second = filter("b");
  REQUIRE(second["NodeNames"].size() == 1);
  // kube-scheduler keeps only NodeNames when a node passes: the other nodes are not listed.
  CHECK(second["FailedAndUnresolvableNodes"].empty());
  CHECK(second["FailedNodes"].empty());
  const std::string node_b = second["NodeNames"][0];
  auto again = filter("a");
  REQUIRE(again["NodeNames"].size() == 1);
  const std::string node_a = again["NodeNames"][0];

  json bind_a;
  std::atomic<bool> a_answered{false};
  std::thread waiter([&] {
    auto c = server.Client();
    auto res = c.Post("/platoon/bind", json{{"PodName", "a"}, {"PodNamespace", "default"}, {"PodUID", "uid-a"}, {"Node", node_a}}.dump(),
                      "application/json");
    if (res) bind_a = json::parse(res->body);
    a_answered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  CHECK_FALSE(a_answered.load());  // still waiting at the barrier
  auto bind_b = Post(client, "/platoon/bind",
                     {{"PodName", "b"}, {"PodNamespace", "default"}, {"PodUID", "uid-b"}, {"Node", node_b}});
  waiter.join();
  CHECK(bind_b["Error"] == "");
  CHECK(bind_a["Error"] == "");
  CHECK(server.service().WithEngine([](engine::Engine& e) { return e.PhaseOf("default/job"); }) ==
        engine::GangPhase::Running);
  const std::string metrics = server.service().MetricsText();
  CHECK(metrics.find("platoon_admitted_workloads_total{cluster_queue=\"\"} 1") != std::string::npos);
  CHECK(metrics.find("platoon_gang_bind_barrier_seconds_count{result=\"released\"} 1") != std::string::npos);
}

TEST_CASE("concurrent binds of two gangs over HTTP all succeed and fill the cluster without double booking") {
  testing::TestServer server(testing::MakeState({testing::GpuNode("n1", 8), testing::GpuNode("n2", 8)}));
  auto engine = std::make_unique<engine::Engine>();
  for (const auto& name : {"n1", "n2"}) engine->UpsertNode(testing::GpuNode(name, 8), SteadySeconds());
  for (const auto& name : {"g1", "g2"}) {
    PodGroup group;
    group.name = name;
    group.min_member = 4;
    engine->UpsertPodGroup(group, SteadySeconds());
  }
  server.service().AttachEngine(std::move(engine), SteadySeconds);
  std::vector<std::string> pods;
  for (const auto& g : {"g1", "g2"}) {
    for (int i = 0; i < 4; ++i) pods.push_back(std::string(g) + "-" + std::to_string(i));
  }
  auto client = server.Client();
  std::map<std::string, std::string> planned;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& name : pods) {
      auto r = Post(client, "/platoon/filter",
                    {{"Pod", MemberPod(name, name.substr(0, 2), "2")}, {"NodeNames", {"n1", "n2"}}});
      if (r["NodeNames"].size() == 1) planned[name] = r["NodeNames"][0];
    }
  }
  REQUIRE(planned.size() == 8);
  std::vector<std::thread> threads;
  std::vector<std::string> errors(pods.size(), "unanswered");
  for (std::size_t i = 0; i < pods.size(); ++i) {
    threads.emplace_back([&, i] {
      auto c = server.Client();
      const json body{{"PodName", pods[i]}, {"PodNamespace", "default"}, {"PodUID", "uid-" + pods[i]}, {"Node", planned[pods[i]]}};
      auto res = c.Post("/platoon/bind", body.dump(), "application/json");
      if (res) errors[i] = json::parse(res->body)["Error"].get<std::string>();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) CHECK(e == "");
  server.service().WithEngine([](engine::Engine& e) {
    CHECK(e.PhaseOf("default/g1") == engine::GangPhase::Running);
    CHECK(e.PhaseOf("default/g2") == engine::GangPhase::Running);
    CHECK(e.Topology().domain(topology::kRootDomain).free_gpus == 0);
    return 0;
  });
}

}  // namespace
}  // namespace platoon
