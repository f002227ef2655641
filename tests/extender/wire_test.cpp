// The extender/v1 codec: Go-compatible string escaping, requests decoded into the engine's views.
#include <doctest/doctest.h>

#include "scheduler/extender/wire.h"

using namespace platoon;
using namespace platoon::extender;

TEST_CASE("strings are escaped as Go's json.Marshal escapes them") {
  std::string out;
  AppendJsonString(out, "a<b>&\"c\\\n\t\x01\xe2\x80\xa8");
  CHECK(out == "\"a\\u003cb\\u003e\\u0026\\\"c\\\\\\n\\t\\u0001\\u2028\"");
  CHECK(SanitizeMessage("100% full") == "100 percent full");
}

TEST_CASE("a pod's effective request follows kube-scheduler's rules") {
  WireDecoder decoder;
  SUBCASE("app containers add up; the largest init container wins when larger") {
    auto args = decoder.DecodeFilterArgs(R"({"Pod":{"spec":{
      "containers":[{"resources":{"requests":{"cpu":"1","memory":"1Gi"}}},{"resources":{"requests":{"cpu":"500m"}}}],
      "initContainers":[{"resources":{"requests":{"cpu":"2"}}},{"resources":{"requests":{"memory":"4Gi"}}}],
      "overhead":{"cpu":"100m"}}},"NodeNames":[]})");
    REQUIRE(args);
    CHECK(args->pod.requests.Get("cpu") == 2100);
    CHECK(args->pod.requests.Get("memory") == (4LL << 30));
    CHECK(args->pod.requests.Get("pods") == 1);
  }
  SUBCASE("sidecars (restartable init containers) run alongside the app containers") {
    auto args = decoder.DecodeFilterArgs(R"({"Pod":{"spec":{
      "containers":[{"resources":{"requests":{"cpu":"1"}}}],
      "initContainers":[{"restartPolicy":"Always","resources":{"requests":{"cpu":"1"}}},
                        {"resources":{"requests":{"cpu":"2"}}}]}},"NodeNames":[]})");
    REQUIRE(args);
    // sum(app + sidecar) = 2; init step = 2 + sidecar 1 = 3.
    CHECK(args->pod.requests.Get("cpu") == 3000);
  }
  SUBCASE("limits stand in for absent requests") {
    auto args = decoder.DecodeFilterArgs(
        R"({"Pod":{"spec":{"containers":[{"resources":{"limits":{"nvidia.com/gpu":"8"}}}]}},"NodeNames":[]})");
    REQUIRE(args);
    CHECK(args->pod.requests.Get("nvidia.com/gpu") == 8);
  }
  SUBCASE("labels, priority, tolerations and node affinity are read") {
    auto args = decoder.DecodeFilterArgs(R"({"pod":{"METADATA":{"name":"p","namespace":"ml","uid":"u",
      "labels":{"scheduling.x-k8s.io/pod-group":"g"}},
      "spec":{"priority":1000,"schedulerName":"platoon","tolerations":[{"key":"gpu","operator":"Exists","effect":"NoSchedule"}],
      "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[
        {"matchExpressions":[{"key":"nvidia.com/gpu.product","operator":"In","values":["H100"]}]}]}}}}},
      "nodenames":["a"]})");
    REQUIRE(args);
    CHECK(args->pod.Key() == "ml/p");
    CHECK(args->pod.priority == 1000);
    CHECK(args->pod.scheduler_name == "platoon");
    CHECK(GangKeyOf(args->pod) == "ml/g");
    REQUIRE(args->pod.tolerations.size() == 1);
    CHECK(args->pod.tolerations[0].op == Toleration::Operator::Exists);
    REQUIRE(args->pod.required_node_affinity.size() == 1);
    CHECK(args->pod.required_node_affinity[0][0].values == std::vector<std::string>{"H100"});
    CHECK(args->node_names.size() == 1);
  }
  SUBCASE("null stands for empty anywhere") {
    auto args = decoder.DecodeFilterArgs(
        R"({"Pod":{"metadata":null,"spec":{"containers":null,"tolerations":null,"nodeSelector":null}},"NodeNames":null,"Nodes":null})");
    REQUIRE(args);
    CHECK(args->node_names.empty());
  }
}

TEST_CASE("filter results are written with the Go field names and null for the unused form") {
  FilterArgs args;
  std::string n1 = "n1", n2 = "n2";
  args.node_names = {n1, n2};
  FilterResult result;
  result.passed = {args.node_names[0]};
  result.failed = {{args.node_names[1], "Insufficient cpu"}};
  CHECK(EncodeFilterResult(result, args) ==
        R"({"Nodes":null,"NodeNames":["n1"],"FailedNodes":{"n2":"Insufficient cpu"},"FailedAndUnresolvableNodes":{},"Error":""})");
  CHECK(EncodeHostPriorityList({args.node_names[0]}, {7}) == R"([{"Host":"n1","Score":7}])");
  CHECK(EncodeBindingResult("") == R"({"Error":""})");
}

namespace platoon::extender {
namespace {

TEST_CASE("one decoder decodes bodies of any size in turn: empty, large, small, empty") {
  WireDecoder decoder;
  CHECK_FALSE(decoder.DecodeFilterArgs("").has_value());
  std::string large = R"({"Pod":{"metadata":{"name":"p","namespace":"default","uid":"u"}},"Nodes":null,"NodeNames":[)";
  for (int i = 0; i < 2000; ++i) large += (i ? ",\"node-" : "\"node-") + std::to_string(i) + "\"";
  large += "]}";
  auto big = decoder.DecodeFilterArgs(large);
  REQUIRE(big.has_value());
  CHECK(big->node_names.size() == 2000);
  CHECK(big->node_names.back() == "node-1999");
  auto small = decoder.DecodeFilterArgs(R"({"Pod":{"metadata":{"name":"q","uid":"v"}},"NodeNames":["n1"]})");
  REQUIRE(small.has_value());
  CHECK(small->pod.name == "q");
  REQUIRE(small->node_names.size() == 1);
  CHECK(small->node_names[0] == "n1");
  CHECK_FALSE(decoder.DecodeFilterArgs("").has_value());
  CHECK_FALSE(decoder.DecodeFilterArgs(R"({"Pod":{"metadata":{"name":"q"}},"NodeNames":["n1")").has_value());
}

}  // namespace
}  // namespace platoon::extender

TEST_CASE("repeated keys decode as Go's encoding/json decodes them: the last value wins, a list is replaced") {
  WireDecoder decoder;
  // Go assigns each key in turn (case-insensitively to the struct field), and unmarshalling an
  // array into a slice resets it first.
  auto args = decoder.DecodeFilterArgs(
      R"({"Pod":{"metadata":{"name":"first"},"metadata":{"name":"last","uid":"u"},)"
      R"("spec":{"containers":[{"resources":{"requests":{"nvidia.com/gpu":"8"}}}],)"
      R"("containers":[{"resources":{"requests":{"nvidia.com/gpu":"1"}}}],)"
      R"("tolerations":[{"key":"a","operator":"Exists"}],"tolerations":[{"key":"b","operator":"Exists"}]}},)"
      R"("NodeNames":["n1"],"nodenames":["n2","n3"]})");
  REQUIRE(args.has_value());
  CHECK(args->pod.name == "last");
  CHECK(args->pod.requests.Get("nvidia.com/gpu") == 1);
  REQUIRE(args->pod.tolerations.size() == 1);
  CHECK(args->pod.tolerations[0].key == "b");
  REQUIRE(args->node_names.size() == 2);
  CHECK(args->node_names[0] == "n2");
}
