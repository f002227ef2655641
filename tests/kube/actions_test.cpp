// Request bodies for Bindings, Evictions, Events and PodGroup status, as the API server expects them.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "scheduler/kube/actions.h"

using namespace platoon;
using namespace platoon::kube;
using nlohmann::json;

TEST_CASE("a Binding names the pod, carries its uid as precondition and the devices as an annotation") {
  engine::Binding b{"uid-1", "team", "job-0", "gpu-3", {{"platoon.dev/devices", "gpus=0,1"}}};
  json j = json::parse(BindingJson(b));
  CHECK(j["apiVersion"] == "v1");
  CHECK(j["kind"] == "Binding");
  CHECK(j["metadata"]["name"] == "job-0");
  CHECK(j["metadata"]["namespace"] == "team");
  CHECK(j["metadata"]["uid"] == "uid-1");
  CHECK(j["metadata"]["annotations"]["platoon.dev/devices"] == "gpus=0,1");
  CHECK(j["target"] == json{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", "gpu-3"}});
}

TEST_CASE("an Eviction is policy/v1 with a uid precondition") {
  json j = json::parse(EvictionJson("team", "job-0", "uid-1"));
  CHECK(j["apiVersion"] == "policy/v1");
  CHECK(j["kind"] == "Eviction");
  CHECK(j["metadata"] == json{{"name", "job-0"}, {"namespace", "team"}});
  CHECK(j["deleteOptions"]["preconditions"]["uid"] == "uid-1");
}

TEST_CASE("an Event points at its object and keeps its message under the API server's limit") {
  ObjectReference pg{"scheduling.x-k8s.io/v1alpha1", "PodGroup", "team", "train", "pg-uid"};
  json j = json::parse(EventJson(pg, "Warning", "BarrierTimeout", std::string(3000, 'x'), "2026-01-01T00:00:00Z"));
  CHECK(j["metadata"]["generateName"] == "train.");
  CHECK(j["metadata"]["namespace"] == "team");
  CHECK(j["involvedObject"] == json{{"apiVersion", "scheduling.x-k8s.io/v1alpha1"}, {"kind", "PodGroup"},
                                    {"name", "train"}, {"namespace", "team"}, {"uid", "pg-uid"}});
  CHECK(j["reason"] == "BarrierTimeout");
  CHECK(j["type"] == "Warning");
  CHECK(j["message"].get<std::string>().size() == 1024);
  CHECK(j["source"]["component"] == "platoon");
  CHECK(j["count"] == 1);
}

TEST_CASE("a PodGroup status patch sets the phase and one condition") {
  json j = json::parse(PodGroupStatusPatch(PodGroupPhaseFor("Admitted"), "Admitted", "placed on 8 nodes", "2026-01-01T00:00:00Z"));
  CHECK(j["status"]["phase"] == "Scheduling");
  REQUIRE(j["status"]["conditions"].size() == 1);
  CHECK(j["status"]["conditions"][0]["type"] == "Admitted");
  CHECK(j["status"]["conditions"][0]["status"] == "True");
  CHECK(j["status"]["conditions"][0]["message"] == "placed on 8 nodes");
  CHECK(PodGroupPhaseFor("BarrierTimeout") == "Pending");
  CHECK(PodGroupPhaseFor("Scheduled") == "Scheduled");
}

TEST_CASE("timestamps are RFC 3339 in UTC") {
  std::string t = NowRfc3339();
  CHECK(t.size() == 20);
  CHECK(t[4] == '-');
  CHECK(t[10] == 'T');
  CHECK(t.back() == 'Z');
}
