// Wire conformance: upstream's byte-exact extender/v1 bodies and full API fixtures, sent to a real
// server on loopback; every answer is decoded as Go's encoding/json would and checked.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/extender/test_server.h"

using namespace platoon;
using namespace platoon::testing;
using nlohmann::json;

namespace {

const char* kVersionSets[] = {"k8s-1.21-to-1.33", "k8s-1.34plus"};

std::string Fixture(const std::string& set, const std::string& type) {
  return SharedData("k8s-wire/extender-json/" + set + "." + type + ".json");
}

// Go's decoder: exact key first, then ASCII case-insensitive.
const json* GoField(const json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  if (auto it = obj.find(std::string(name)); it != obj.end()) return &*it;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return &*it;
  }
  return nullptr;
}

std::string Lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The extender/v1 ExtenderFilterResult contract for a request with `sent` nodes.
void CheckFilterResult(const std::string& body, const std::vector<std::string>& sent, bool nodes_mode) {
  json r = json::parse(body);  // throws (fails the test) on invalid JSON
  REQUIRE(r.is_object());
  // PascalCase keys exactly as the Go struct fields, and nothing else.
  std::set<std::string> keys;
  for (auto it = r.begin(); it != r.end(); ++it) keys.insert(it.key());
  CHECK(keys == std::set<std::string>{"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"});
  const json* err = GoField(r, "Error");
  REQUIRE(err);
  REQUIRE(err->is_string());
  CHECK(err->get<std::string>().find('%') == std::string::npos);

  std::vector<std::string> passed;
  if (nodes_mode) {
    CHECK(r["NodeNames"].is_null());
    const json* nodes = GoField(r, "Nodes");
    REQUIRE(nodes);
    REQUIRE(nodes->is_object());
    for (const auto& item : (*nodes)["items"]) passed.push_back(item["metadata"]["name"].get<std::string>());
  } else {
    CHECK(r["Nodes"].is_null());
    for (const auto& n : r["NodeNames"]) passed.push_back(n.get<std::string>());
  }
  std::multiset<std::string> seen(passed.begin(), passed.end());
  for (const char* map : {"FailedNodes", "FailedAndUnresolvableNodes"}) {
    const json* m = GoField(r, map);
    REQUIRE(m);
    REQUIRE(m->is_object());
    for (auto it = m->begin(); it != m->end(); ++it) {
      seen.insert(it.key());
      REQUIRE(it->is_string());
      CHECK_FALSE(it->get<std::string>().empty());  // a reason a person can act on
      CHECK(it->get<std::string>().find('%') == std::string::npos);
    }
  }
  // Every node sent ends up in exactly one place; nothing that was not sent appears.
  CHECK(seen == std::multiset<std::string>(sent.begin(), sent.end()));
}

httplib::Result Post(httplib::Client& c, const std::string& path, const std::string& body) {
  return c.Post(path.c_str(), body, "application/json");
}

}  // namespace

TEST_CASE("upstream ExtenderArgs bodies are answered with a well-formed filter result") {
  TestServer server(MakeState({GpuNode("node1", 8), GpuNode("nodename", 8)}));
  auto client = server.Client();
  for (const char* set : kVersionSets) {
    CAPTURE(set);
    const std::string body = Fixture(set, "ExtenderArgs");
    SUBCASE("as sent") {
      auto res = Post(client, "/platoon/filter", body);
      REQUIRE(res);
      CHECK(res->status == 200);
      CHECK(res->get_header_value("Content-Type").starts_with("application/json"));
      // The fixture carries both forms; a real scheduler sends one. NodeNames wins (nodeCacheCapable).
      CheckFilterResult(res->body, {"node1"}, false);
    }
    SUBCASE("lower-cased keys decode the same (Go is case-insensitive)") {
      auto res = Post(client, "/platoon/filter", Lowercase(body));
      REQUIRE(res);
      CHECK(res->status == 200);
      CheckFilterResult(res->body, {"node1"}, false);
    }
    SUBCASE("prioritize answers integer scores 0..10 for each node") {
      auto res = Post(client, "/platoon/prioritize", body);
      REQUIRE(res);
      REQUIRE(res->status == 200);
      json r = json::parse(res->body);
      REQUIRE(r.is_array());
      REQUIRE(r.size() == 1);
      CHECK(r[0]["Host"] == "node1");
      REQUIRE(r[0]["Score"].is_number_integer());
      CHECK(r[0]["Score"].get<int>() >= 0);
      CHECK(r[0]["Score"].get<int>() <= 10);
    }
  }
}

TEST_CASE("upstream binding and preemption bodies get 200 answers in the Go types' shape") {
  TestServer server(MakeState({GpuNode("mynode", 8), GpuNode("foo", 8)}));
  auto client = server.Client();
  for (const char* set : kVersionSets) {
    CAPTURE(set);
    auto bind = Post(client, "/platoon/bind", Fixture(set, "ExtenderBindingArgs"));
    REQUIRE(bind);
    CHECK(bind->status == 200);
    json b = json::parse(bind->body);
    CHECK(b.size() == 1);
    REQUIRE(b["Error"].is_string());
    // The fixture's pod never went through filter: refused with a reason, not a crash.
    CHECK(b["Error"].get<std::string>().find("unknown to platoon") != std::string::npos);

    auto preempt = Post(client, "/platoon/preempt", Fixture(set, "ExtenderPreemptionArgs"));
    REQUIRE(preempt);
    CHECK(preempt->status == 200);
    json p = json::parse(preempt->body);
    // Same shape and bytes as upstream's ExtenderPreemptionResult fixture: victims platoon accepts.
    CHECK(p == json::parse(Fixture(set, "ExtenderPreemptionResult")));
    CHECK(preempt->body == Fixture(set, "ExtenderPreemptionResult"));
  }
}

TEST_CASE("full upstream Pod fixtures are accepted as the pod of a filter request") {
  TestServer server(MakeState({GpuNode("a", 8), GpuNode("b", 0)}));
  auto client = server.Client();
  for (const char* pod_file : {"HEAD.core.v1.Pod.json", "v1.36.0.core.v1.Pod.json", "v1.33.0.core.v1.Pod.json"}) {
    CAPTURE(pod_file);
    json pod = json::parse(SharedData(std::string("k8s-wire/") + pod_file));
    SUBCASE("with kind and apiVersion") {}
    SUBCASE("without kind and apiVersion, as kube-scheduler sends it") {
      pod.erase("kind");
      pod.erase("apiVersion");
    }
    SUBCASE("without managedFields") { pod["metadata"].erase("managedFields"); }
    json args = {{"Pod", pod}, {"NodeNames", {"a", "b", "ghost"}}};
    auto res = Post(client, "/platoon/filter", args.dump());
    REQUIRE(res);
    REQUIRE(res->status == 200);
    CheckFilterResult(res->body, {"a", "b", "ghost"}, false);
  }
}

TEST_CASE("with nodeCacheCapable false, only node objects that were sent come back") {
  TestServer server(MakeState({GpuNode("gpu-1", 8), GpuNode("cpu-1", 0), GpuNode("nameValue", 8)}));
  auto client = server.Client();
  json pod = {{"metadata", {{"name", "p"}, {"namespace", "ns"}, {"uid", "u1"}}},
              {"spec", {{"containers", {{{"name", "c"}, {"resources", {{"requests", {{"nvidia.com/gpu", "2"}}}}}}}}}}};
  json full = json::parse(SharedData("k8s-wire/HEAD.core.v1.Node.json"));
  full.erase("kind");
  full.erase("apiVersion");
  json items = json::array();
  items.push_back({{"metadata", {{"name", "gpu-1"}}}, {"status", {{"allocatable", {{"nvidia.com/gpu", "8"}}}}}});
  items.push_back({{"metadata", {{"name", "cpu-1"}}}});
  REQUIRE(full["metadata"]["name"] == "nameValue");
  items.push_back(full);
  items.push_back({{"metadata", {{"name", "unknown-node"}}}});
  json args = {{"Pod", pod}, {"Nodes", {{"metadata", json::object()}, {"items", items}}}, {"NodeNames", nullptr}};
  auto res = Post(client, "/platoon/filter", args.dump());
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CheckFilterResult(res->body, {"gpu-1", "cpu-1", "nameValue", "unknown-node"}, true);
  json r = json::parse(res->body);
  REQUIRE(r["Nodes"]["items"].size() == 2);
  CHECK(r["Nodes"]["items"][0] == items[0]);  // the object as sent, not platoon's idea of it
  CHECK(r["Nodes"]["items"][1] == full);
  CHECK(r["FailedAndUnresolvableNodes"].contains("cpu-1"));
}

TEST_CASE("bad requests get a 4xx with a JSON error, and the server keeps serving") {
  config::ExtenderSettings settings;
  settings.max_request_bytes = 4096;
  TestServer server(MakeState({GpuNode("n1", 8)}), settings);
  auto client = server.Client();
  struct Case {
    std::string name, path, body;
    int status;
  };
  const Case cases[] = {
      {"malformed JSON", "/platoon/filter", "{\"Pod\":", 400},
      {"not an object", "/platoon/filter", "[1,2,3]", 400},
      {"NodeNames of the wrong type", "/platoon/filter", R"({"Pod":{"metadata":{"name":"p"}},"NodeNames":"n1"})", 400},
      {"a negative request", "/platoon/filter",
       R"({"Pod":{"spec":{"containers":[{"resources":{"requests":{"cpu":"-1"}}}]}},"NodeNames":["n1"]})", 400},
      {"an invalid quantity", "/platoon/prioritize",
       R"({"Pod":{"spec":{"containers":[{"resources":{"requests":{"cpu":"lots"}}}]}},"NodeNames":["n1"]})", 400},
      {"no pod", "/platoon/filter", R"({"NodeNames":["n1"]})", 400},
      {"bind without a uid", "/platoon/bind", R"({"PodName":"p","Node":"n1"})", 400},
      {"victims of the wrong type", "/platoon/preempt", R"({"Pod":{},"NodeNameToMetaVictims":[]})", 400},
      {"an unknown path", "/platoon/explode", "{}", 404},
      {"a body over the limit", "/platoon/filter", std::string(8192, ' '), 413},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto res = Post(client, c.path, c.body);
    REQUIRE(res);
    CHECK(res->status == c.status);
    json err = json::parse(res->body);
    REQUIRE(err["Error"].is_string());
    CHECK_FALSE(err["Error"].get<std::string>().empty());
  }
  auto get = client.Get("/platoon/filter");
  REQUIRE(get);
  CHECK(get->status == 405);  // a verb's path, the wrong method
  // Still serving, and the refusals were counted.
  auto ok = Post(client, "/platoon/filter", R"({"Pod":{"metadata":{"name":"p"}},"NodeNames":["n1"]})");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  httplib::Client admin("127.0.0.1", server.admin_port());
  auto metrics = admin.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("platoon_extender_request_errors_total{kind=\"malformed_json\",verb=\"filter\"} 1") !=
        std::string::npos);
  CHECK(metrics->body.find("kind=\"too_large\"") != std::string::npos);
  CHECK(metrics->body.find("kind=\"unknown_path\"") != std::string::npos);
  CHECK(admin.Get("/healthz")->status == 200);
  CHECK(admin.Get("/readyz")->status == 200);
}

TEST_CASE("verb paths and the URL prefix are configurable") {
  config::ExtenderSettings settings;
  settings.url_prefix = "/scheduler/v2";
  settings.filter_verb = "predicates";
  TestServer server(MakeState({GpuNode("n1", 8)}), settings);
  auto client = server.Client();
  auto res = Post(client, "/scheduler/v2/predicates", R"({"Pod":{"metadata":{"name":"p"}},"NodeNames":["n1"]})");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(Post(client, "/platoon/filter", "{}")->status == 404);
}

TEST_CASE("a filtered pod binds once; repeated binds are idempotent and concurrent binds all land") {
  TestServer server(MakeState({GpuNode("n1", 8), GpuNode("n2", 8)}));
  constexpr int kPods = 16;
  {
    auto client = server.Client();
    for (int i = 0; i < kPods; ++i) {
      json args = {{"Pod", {{"metadata", {{"name", "w-" + std::to_string(i)}, {"namespace", "ml"}, {"uid", "uid-" + std::to_string(i)}}},
                            {"spec", {{"containers", {{{"resources", {{"requests", {{"nvidia.com/gpu", 1}}}}}}}}}}}},
                   {"NodeNames", {"n1", "n2"}}};
      auto res = Post(client, "/platoon/filter", args.dump());
      REQUIRE(res);
      REQUIRE(res->status == 200);
    }
  }
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kPods);
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", server.port());
      c.set_tcp_nodelay(true);
      json bind = {{"PodName", "w-" + std::to_string(i)}, {"PodNamespace", "ml"}, {"PodUID", "uid-" + std::to_string(i)},
                   {"Node", i % 2 ? "n1" : "n2"}};
      for (int attempt = 0; attempt < 2; ++attempt) {  // the second bind is a retry of the first
        auto res = c.Post("/platoon/bind", bind.dump(), "application/json");
        if (!res || res->status != 200) {
          errors[i] = "transport failure";
          return;
        }
        errors[i] += json::parse(res->body)["Error"].get<std::string>();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPods; ++i) CHECK(errors[i] == "");
  server.service().WithState([&](ClusterState& state) {
    CHECK(state.RequestedOn("n1")->Get("nvidia.com/gpu") == 8);
    CHECK(state.RequestedOn("n2")->Get("nvidia.com/gpu") == 8);
    CHECK(state.Counts().bound_pods == kPods);
    return 0;
  });
  // A node that is now full fails the next GPU pod with the numbers.
  auto client = server.Client();
  json args = {{"Pod", {{"metadata", {{"name", "late"}, {"uid", "late"}}},
                        {"spec", {{"containers", {{{"resources", {{"requests", {{"nvidia.com/gpu", 1}}}}}}}}}}}},
               {"NodeNames", {"n1"}}};
  json r = json::parse(Post(client, "/platoon/filter", args.dump())->body);
  CHECK(r["FailedNodes"]["n1"] == "Insufficient nvidia.com/gpu (requested 1, free 0 of 8)");
  // Binding the same pod to another node is refused with a reason.
  json moved = {{"PodName", "w-0"}, {"PodNamespace", "ml"}, {"PodUID", "uid-0"}, {"Node", "n1"}};
  CHECK(json::parse(Post(client, "/platoon/bind", moved.dump())->body)["Error"].get<std::string>().find("already bound") !=
        std::string::npos);
}

TEST_CASE("preempt never accepts a victim set that would break a gang") {
  auto state = MakeState({GpuNode("n1", 8), GpuNode("n2", 8)});
  auto gang_member = [](std::string name, std::string node) {
    Pod p;
    p.name = name;
    p.namespace_ = "ml";
    p.uid = "uid-" + name;
    p.node_name = std::move(node);
    p.labels["scheduling.x-k8s.io/pod-group"] = "train";
    p.requests = {{"nvidia.com/gpu", 4}, {"pods", 1}};
    return p;
  };
  state->UpsertPod(gang_member("g0", "n1"));
  state->UpsertPod(gang_member("g1", "n2"));
  Pod solo;
  solo.name = "solo";
  solo.uid = "uid-solo";
  solo.node_name = "n1";
  solo.requests = {{"nvidia.com/gpu", 2}, {"pods", 1}};
  state->UpsertPod(solo);
  TestServer server(std::move(state));
  auto client = server.Client();
  json args = {{"Pod", {{"metadata", {{"name", "vip"}}}}},
               {"NodeNameToMetaVictims",
                {{"n1", {{"Pods", {{{"UID", "uid-solo"}}, {{"UID", "uid-g0"}}}}, {"NumPDBViolations", 0}}},
                 {"n2", {{"Pods", {{{"UID", "uid-g1"}}}}, {"NumPDBViolations", 1}}},
                 {"n3", {{"Pods", json::array()}, {"NumPDBViolations", 0}}}}}};
  auto res = Post(client, "/platoon/preempt", args.dump());
  REQUIRE(res);
  REQUIRE(res->status == 200);
  json r = json::parse(res->body);
  // Each node's victims would evict one member of the two-node gang: both refused; n3 is unknown.
  CHECK(r["NodeNameToMetaVictims"].empty());

  json solo_only = {{"Pod", {{"metadata", {{"name", "vip"}}}}},
                    {"NodeNameToMetaVictims", {{"n1", {{"Pods", {{{"UID", "uid-solo"}}}}, {"NumPDBViolations", 2}}}}}};
  json accepted = json::parse(Post(client, "/platoon/preempt", solo_only.dump())->body);
  CHECK(accepted == json::parse(R"({"NodeNameToMetaVictims":{"n1":{"Pods":[{"UID":"uid-solo"}],"NumPDBViolations":2}}})"));
}
