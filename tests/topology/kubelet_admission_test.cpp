// Tests of the kubelet Topology Manager prediction. The merge cases are those of the kubelet's own
// pkg/kubelet/cm/topologymanager policy tests (same inputs and expected hints), re-expressed here.
#include <doctest/doctest.h>

#include "tests/topology/fixtures.h"
#include "topology/kubelet_admission.h"

using namespace platoon;
using namespace platoon::topology;
using namespace platoon::topology::kubelet;

namespace {

TopologyHint H(std::initializer_list<int> numa, bool preferred) { return {MaskOf(numa), preferred}; }
TopologyHint Any(bool preferred) { return {std::nullopt, preferred}; }
ProviderHints P(std::vector<ResourceHints> r) { return r; }
ResourceHints R(std::string name, std::vector<TopologyHint> hints) { return {std::move(name), std::move(hints)}; }

struct MergeCase {
  const char* name;
  std::vector<ProviderHints> providers;
  TopologyHint expected;
};

const std::vector<int> kFourNodes{0, 1, 2, 3};

std::vector<MergeCase> CommonCases() {
  return {
      {"Two providers, 1 hint each, same mask, both preferred 1/2",
       {P({R("resource1", {H({0}, true)})}), P({R("resource2", {H({0}, true)})})}, H({0}, true)},
      {"Two providers, 1 hint each, same mask, both preferred 2/2",
       {P({R("resource1", {H({1}, true)})}), P({R("resource2", {H({1}, true)})})}, H({1}, true)},
      {"Two providers, 1 no hints, 1 single hint preferred 1/2", {P({}), P({R("resource", {H({0}, true)})})},
       H({0}, true)},
      {"Two providers, 1 no hints, 1 single hint preferred 2/2", {P({}), P({R("resource", {H({1}, true)})})},
       H({1}, true)},
      {"Two providers, 1 with 2 hints, 1 with single hint matching 1/2",
       {P({R("resource1", {H({0}, true), H({1}, true)})}), P({R("resource2", {H({0}, true)})})}, H({0}, true)},
      {"Two providers, 1 with 2 hints, 1 with single hint matching 2/2",
       {P({R("resource1", {H({0}, true), H({1}, true)})}), P({R("resource2", {H({1}, true)})})}, H({1}, true)},
      {"Two providers, both with 2 hints, matching narrower preferred hint from both",
       {P({R("resource1", {H({0}, true), H({1}, true)})}), P({R("resource2", {H({0}, true), H({0, 1}, false)})})},
       H({0}, true)},
      {"Ensure less narrow preferred hints are chosen over narrower non-preferred hints",
       {P({R("resource1", {H({1}, true), H({0, 1}, false)})}),
        P({R("resource2", {H({0}, true), H({1}, true), H({0, 1}, false)})})},
       H({1}, true)},
      {"Multiple resources, same provider",
       {P({R("resource1", {H({1}, true), H({0, 1}, false)}), R("resource2", {H({0}, true), H({1}, true), H({0, 1}, false)})})},
       H({1}, true)},
  };
}

std::vector<MergeCase> BestEffortCases() {
  const TopologyHint all_pref = {MaskOf({0, 1, 2, 3}), true};
  const TopologyHint all_not = {MaskOf({0, 1, 2, 3}), false};
  return {
      {"Two providers, 2 hints each, same mask (some with different bits), same preferred",
       {P({R("resource1", {H({0, 1}, true), H({0, 2}, true)})}), P({R("resource2", {H({0, 1}, true), H({0, 2}, true)})})},
       H({0, 1}, true)},
      {"TopologyHint not set", {}, all_pref},
      {"HintProvider returns empty non-nil map[string][]TopologyHint", {P({})}, all_pref},
      {"HintProvider returns -nil map[string][]TopologyHint from provider", {P({ResourceHints{"resource", std::nullopt}})},
       all_pref},
      {"HintProvider returns empty non-nil map[string][]TopologyHint from provider", {P({R("resource", {})})}, all_not},
      {"Single TopologyHint with Preferred as true and NUMANodeAffinity as nil", {P({R("resource", {Any(true)})})},
       all_pref},
      {"Single TopologyHint with Preferred as false and NUMANodeAffinity as nil", {P({R("resource", {Any(false)})})},
       all_not},
      {"Two providers, 1 hint each, no common mask",
       {P({R("resource1", {H({0}, true)})}), P({R("resource2", {H({1}, true)})})}, all_not},
      {"Two providers, 1 hint each, same mask, 1 preferred, 1 not 1/2",
       {P({R("resource1", {H({0}, true)})}), P({R("resource2", {H({0}, false)})})}, H({0}, false)},
      {"Two providers, 1 hint each, same mask, 1 preferred, 1 not 2/2",
       {P({R("resource1", {H({1}, true)})}), P({R("resource2", {H({1}, false)})})}, H({1}, false)},
      {"Two providers, 1 hint each, 1 wider mask, both preferred 1/2",
       {P({R("resource1", {H({0}, true)})}), P({R("resource2", {H({0, 1}, true)})})}, H({0}, false)},
      {"Two providers, 1 with 2 hints, 1 with single non-preferred hint matching",
       {P({R("resource1", {H({0}, true), H({1}, true)})}), P({R("resource2", {H({0, 1}, false)})})}, H({0}, false)},
      {"Two providers, 1 hint each, 1 wider mask, both preferred 2/2",
       {P({R("resource1", {H({1}, true)})}), P({R("resource2", {H({0, 1}, true)})})}, H({1}, false)},
      {"bestNonPreferredAffinityCount (1)",
       {P({R("resource1", {H({0, 1, 2, 3}, false), H({0, 1}, false)})}), P({R("resource2", {H({0, 1}, false)})})},
       H({0, 1}, false)},
      {"bestNonPreferredAffinityCount (2)",
       {P({R("resource1", {H({0, 1, 2, 3}, false), H({0, 1}, false)})}), P({R("resource2", {H({0, 3}, false)})})},
       H({0, 3}, false)},
      {"bestNonPreferredAffinityCount (3)",
       {P({R("resource1", {H({0, 1, 2, 3}, false), H({0, 1}, false)})}), P({R("resource2", {H({1, 2}, false)})})},
       H({1, 2}, false)},
      {"bestNonPreferredAffinityCount (4)",
       {P({R("resource1", {H({0, 1, 2, 3}, false), H({0, 1}, false)})}), P({R("resource2", {H({2, 3}, false)})})},
       H({2, 3}, false)},
      {"bestNonPreferredAffinityCount (5)",
       {P({R("resource1", {H({0, 1, 2, 3}, false), H({0, 1}, false)})}),
        P({R("resource2", {H({1, 2}, false), H({2, 3}, false)})})},
       H({1, 2}, false)},
      {"bestNonPreferredAffinityCount (6)",
       {P({R("resource1", {H({0, 1, 2, 3}, false), H({0, 1}, false)})}),
        P({R("resource2", {H({1, 2, 3}, false), H({1, 2}, false), H({1, 3}, false), H({2, 3}, false)})})},
       H({1, 2}, false)},
  };
}

std::vector<MergeCase> SingleNumaCases() {
  return {
      {"TopologyHint not set", {}, Any(true)},
      {"HintProvider returns empty non-nil map[string][]TopologyHint", {P({})}, Any(true)},
      {"HintProvider returns -nil map[string][]TopologyHint from provider", {P({ResourceHints{"resource", std::nullopt}})},
       Any(true)},
      {"HintProvider returns empty non-nil map[string][]TopologyHint from provider", {P({R("resource", {})})}, Any(false)},
      {"Single TopologyHint with Preferred as true and NUMANodeAffinity as nil", {P({R("resource", {Any(true)})})},
       Any(true)},
      {"Single TopologyHint with Preferred as false and NUMANodeAffinity as nil", {P({R("resource", {Any(false)})})},
       Any(false)},
      {"Two providers, 1 hint each, no common mask",
       {P({R("resource1", {H({0}, true)})}), P({R("resource2", {H({1}, true)})})}, Any(false)},
      {"Two providers, 1 hint each, same mask, 1 preferred, 1 not 1/2",
       {P({R("resource1", {H({0}, true)})}), P({R("resource2", {H({0}, false)})})}, Any(false)},
      {"Two providers, 1 hint each, same mask, 1 preferred, 1 not 2/2",
       {P({R("resource1", {H({1}, true)})}), P({R("resource2", {H({1}, false)})})}, Any(false)},
      {"Two providers, 1 with 2 hints, 1 with single non-preferred hint matching",
       {P({R("resource1", {H({0}, true), H({1}, true)})}), P({R("resource2", {H({0, 1}, false)})})}, Any(false)},
      {"Single NUMA hint generation",
       {P({R("resource1", {H({0, 1}, true)}), R("resource2", {H({0}, true), H({1}, true), H({0, 1}, false)})})},
       Any(false)},
      {"One no-preference provider",
       {P({R("resource1", {H({0}, true), H({1}, true), H({0, 1}, false)})}), P({})}, H({0}, true)},
  };
}

void RunMerge(Policy policy, const std::vector<MergeCase>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const TopologyHint got = Merge(policy, kFourNodes, c.providers);
    CHECK(got == c.expected);
  }
}

}  // namespace

TEST_CASE("best-effort merges hints as the kubelet's policy tests expect") {
  RunMerge(Policy::BestEffort, CommonCases());
  RunMerge(Policy::BestEffort, BestEffortCases());
}

TEST_CASE("restricted merges like best-effort") {
  RunMerge(Policy::Restricted, CommonCases());
  RunMerge(Policy::Restricted, BestEffortCases());
}

TEST_CASE("single-numa-node keeps only single-NUMA preferred hints") {
  RunMerge(Policy::SingleNumaNode, CommonCases());
  RunMerge(Policy::SingleNumaNode, SingleNumaCases());
}

TEST_CASE("the largest of each provider's narrowest affinity is the target for non-preferred hints") {
  CHECK(MaxOfMinAffinityCounts({}) == 0);
  CHECK(MaxOfMinAffinityCounts({{H({}, true)}}) == 0);
  CHECK(MaxOfMinAffinityCounts({{H({0}, true)}}) == 1);
  CHECK(MaxOfMinAffinityCounts({{H({0, 1}, true)}}) == 2);
  CHECK(MaxOfMinAffinityCounts({{H({0, 1}, true), H({0, 1, 2}, true)}}) == 2);
  CHECK(MaxOfMinAffinityCounts({{H({0, 1}, true), H({0, 1, 2}, true)}, {H({0, 1, 2}, true)}}) == 3);
  CHECK(MaxOfMinAffinityCounts({{H({0, 1}, true), H({0, 1, 2}, true)}, {H({0, 1, 2}, true), H({0, 1, 2, 3}, true)}}) == 3);
}

TEST_CASE("comparing two hints follows the kubelet's narrowest rules") {
  struct Case {
    const char* name;
    int best;
    std::optional<TopologyHint> current;
    TopologyHint candidate;
    bool expect_candidate;
  };
  const std::vector<Case> cases = {
      {"candidate.NUMANodeAffinity.Count() == 0 (1)", -1, std::nullopt, H({}, false), false},
      {"candidate.NUMANodeAffinity.Count() == 0 (2)", -1, H({}, true), H({}, false), false},
      {"current == nil (1)", -1, std::nullopt, H({0}, true), true},
      {"current == nil (2)", -1, std::nullopt, H({0}, false), true},
      {"!current.Preferred && candidate.Preferred", -1, H({0}, false), H({0}, true), true},
      {"current.Preferred && !candidate.Preferred", -1, H({0}, true), H({0}, false), false},
      {"current.Preferred && candidate.Preferred (1)", -1, H({0}, true), H({0}, true), false},
      {"current.Preferred && candidate.Preferred (2)", -1, H({0, 1}, true), H({0}, true), true},
      {"current.Preferred && candidate.Preferred (3)", -1, H({0}, true), H({0, 1}, true), false},
      {"!current.Preferred && !candidate.Preferred (1.1)", 1, H({0, 1}, false), H({0, 1}, false), false},
      {"!current.Preferred && !candidate.Preferred (1.2)", 1, H({1, 2}, false), H({0, 1}, false), true},
      {"!current.Preferred && !candidate.Preferred (1.3)", 1, H({0, 1}, false), H({1, 2}, false), false},
      {"!current.Preferred && !candidate.Preferred (2.1)", 2, H({0, 1}, false), H({0}, false), false},
      {"!current.Preferred && !candidate.Preferred (2.2)", 2, H({0, 1}, false), H({0, 1}, false), false},
      {"!current.Preferred && !candidate.Preferred (2.3)", 2, H({1, 2}, false), H({0, 1}, false), true},
      {"!current.Preferred && !candidate.Preferred (2.4)", 2, H({0, 1}, false), H({1, 2}, false), false},
      {"!current.Preferred && !candidate.Preferred (3a)", 2, H({0}, false), H({0, 1, 2}, false), false},
      {"!current.Preferred && !candidate.Preferred (3b)", 2, H({0}, false), H({0, 1}, false), true},
      {"!current.Preferred && !candidate.Preferred (3ca.1)", 3, H({0}, false), H({0, 1}, false), true},
      {"!current.Preferred && !candidate.Preferred (3ca.2)", 3, H({0}, false), H({1, 2}, false), true},
      {"!current.Preferred && !candidate.Preferred (3ca.3)", 4, H({0, 1}, false), H({1, 2, 3}, false), true},
      {"!current.Preferred && !candidate.Preferred (3cb)", 4, H({1, 2, 3}, false), H({0, 1}, false), false},
      {"!current.Preferred && !candidate.Preferred (3cc.1)", 4, H({0, 1, 2}, false), H({0, 1, 2}, false), false},
      {"!current.Preferred && !candidate.Preferred (3cc.2)", 4, H({0, 1, 2}, false), H({1, 2, 3}, false), false},
      {"!current.Preferred && !candidate.Preferred (3cc.3)", 4, H({1, 2, 3}, false), H({0, 1, 2}, false), true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const TopologyHint* current = c.current ? &*c.current : nullptr;
    const TopologyHint* got = CompareHints(c.best, current, &c.candidate);
    CHECK((got == &c.candidate) == c.expect_candidate);
  }
}

TEST_CASE("each policy admits the merged hints it should") {
  SUBCASE("single-numa-node, as the kubelet's CanAdmitPodResult cases") {
    CHECK_FALSE(CanAdmit(Policy::SingleNumaNode, Any(false)));
    CHECK(CanAdmit(Policy::SingleNumaNode, H({0}, true)));
  }
  SUBCASE("restricted refuses a non-preferred hint, best-effort and none admit it") {
    CHECK_FALSE(CanAdmit(Policy::Restricted, H({0, 1}, false)));
    CHECK(CanAdmit(Policy::Restricted, H({0}, true)));
    CHECK(CanAdmit(Policy::BestEffort, H({0, 1}, false)));
    CHECK(CanAdmit(Policy::None, Any(false)));
  }
  SUBCASE("policy and scope names") {
    CHECK(ParsePolicy("single-numa-node") == Policy::SingleNumaNode);
    CHECK_FALSE(ParsePolicy("unknown"));
    CHECK(ParseScope("pod") == Scope::Pod);
  }
}

TEST_CASE("a DGX with two free GPUs on each NUMA node refuses a 4-GPU pod under restricted and single-numa-node") {
  auto hw = testing::DgxH100("dgx", {});
  REQUIRE(Finalize(hw));
  auto state = NodeDeviceState::For(hw);
  REQUIRE(Apply(hw, state, DeviceAssignment{.gpus = {0, 1, 4, 5}}));
  const auto numa = NumaResourcesOf(hw, state);
  REQUIRE(numa.size() == 2);
  CHECK(numa[0].devices_free.at("nvidia.com/gpu") == 2);
  PodRequest pod{.guaranteed = true, .containers = {{"trainer", 16000, {{"nvidia.com/gpu", 4}}}}};
  SUBCASE("restricted") {
    auto r = PredictAdmission({Policy::Restricted, Scope::Container, true}, numa, pod);
    CHECK_FALSE(r.admit);
    CHECK(r.reason == "TopologyAffinityError: container trainer cannot be allocated with NUMA locality under the "
                      "restricted policy");
    CHECK(r.hint == H({0, 1}, false));
  }
  SUBCASE("single-numa-node") {
    CHECK_FALSE(PredictAdmission({Policy::SingleNumaNode, Scope::Pod, true}, numa, pod).admit);
  }
  SUBCASE("best-effort admits across both NUMA nodes") {
    auto r = PredictAdmission({Policy::BestEffort, Scope::Container, true}, numa, pod);
    CHECK(r.admit);
    CHECK(r.hint == H({0, 1}, false));
  }
  SUBCASE("a 2-GPU pod is admitted on one NUMA node") {
    PodRequest small{.guaranteed = true, .containers = {{"a", 8000, {{"nvidia.com/gpu", 2}}}}};
    auto r = PredictAdmission({Policy::SingleNumaNode, Scope::Container, true}, numa, small);
    CHECK(r.admit);
    CHECK(r.hint == H({0}, true));
  }
}

TEST_CASE("container scope spends each container's grant before the next, pod scope judges the sum") {
  auto hw = testing::DgxH100("dgx", {});
  REQUIRE(Finalize(hw));
  const auto numa = NumaResourcesOf(hw, NodeDeviceState::For(hw));
  // Two containers of 3 GPUs: each fits one NUMA node alone, together they do not.
  PodRequest pod{.guaranteed = true,
                 .containers = {{"a", 4000, {{"nvidia.com/gpu", 3}}}, {"b", 4000, {{"nvidia.com/gpu", 3}}}}};
  CHECK(PredictAdmission({Policy::SingleNumaNode, Scope::Container, true}, numa, pod).admit);
  auto pod_scope = PredictAdmission({Policy::SingleNumaNode, Scope::Pod, true}, numa, pod);
  CHECK_FALSE(pod_scope.admit);
  CHECK(pod_scope.reason.find("the pod") != std::string::npos);
  SUBCASE("exclusive CPUs: 60 CPUs do not fit one 56-CPU NUMA node") {
    PodRequest cpu{.guaranteed = true, .containers = {{"c", 60000, {}}}};
    CHECK_FALSE(PredictAdmission({Policy::SingleNumaNode, Scope::Container, true}, numa, cpu).admit);
    // Burstable pods get no exclusive CPUs, so the CPU manager has no preference.
    cpu.guaranteed = false;
    CHECK(PredictAdmission({Policy::SingleNumaNode, Scope::Container, true}, numa, cpu).admit);
  }
}
