// Kueue manifest loading: the examples load, every webhook rule reports file:line and field.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <random>

#include "config/kueue_manifests.h"
#include "quota/quota_state.h"

using namespace platoon;
using namespace platoon::config;

namespace {

const std::string kExamples = std::string(PLATOON_SOURCE_DIR) + "/config/examples/kueue/";

std::vector<ManifestError> ErrorsOf(std::string_view text) {
  auto r = ParseKueueManifests(text, "kueue.yaml");
  if (r) return {};
  return r.error();
}

bool HasError(const std::vector<ManifestError>& errors, std::string_view text) {
  for (const auto& e : errors)
    if (e.ToString().find(text) != std::string::npos) return true;
  return false;
}

constexpr std::string_view kFlavor = R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata:
  name: f
---
)";

}  // namespace

TEST_CASE("the example manifests load and build a quota state") {
  SUBCASE("single ClusterQueue") {
    auto cfg = LoadKueueManifestFiles({kExamples + "single-clusterqueue.yaml"});
    REQUIRE_MESSAGE(cfg, FormatManifestErrors(cfg.error()));
    REQUIRE(cfg->cluster_queues.size() == 1);
    const auto& rq = cfg->cluster_queues[0].resource_groups[0].flavors[0].resources;
    CHECK(rq[0].nominal_quota == 9000);  // cpu in milli
    CHECK(rq[1].nominal_quota == 36LL * 1024 * 1024 * 1024);
    CHECK(rq[2].nominal_quota == 5);
    CHECK(cfg->local_queues[0].cluster_queue == "cluster-queue");
    CHECK(cfg->cluster_queues[0].namespace_selector.present);
    CHECK(quota::QuotaState::Build(*cfg));
  }
  SUBCASE("GPU cohorts, v1beta1 and v1beta2 mixed") {
    auto cfg = LoadKueueManifestFiles({kExamples + "gpu-cohorts.yaml"});
    REQUIRE_MESSAGE(cfg, FormatManifestErrors(cfg.error()));
    CHECK(cfg->resource_flavors.size() == 3);
    CHECK(cfg->cohorts.size() == 2);
    CHECK(cfg->cohorts[1].parent_name == "org");
    CHECK(cfg->cohorts[1].fair_sharing_weight_milli == 2000);
    REQUIRE(cfg->cluster_queues.size() == 3);
    const auto& a = cfg->cluster_queues[0];
    CHECK(a.cohort == "research");
    CHECK(a.preemption.reclaim_within_cohort == quota::ReclaimWithinCohortPolicy::Any);
    CHECK(a.preemption.borrow_within_cohort.policy == quota::BorrowWithinCohortPolicy::LowerPriority);
    CHECK(a.preemption.borrow_within_cohort.max_priority_threshold == 100);
    CHECK(a.resource_groups[1].flavors[0].resources[0].borrowing_limit == 8);
    CHECK(a.resource_groups[1].flavors[0].resources[0].lending_limit == 4);
    CHECK(cfg->cluster_queues[1].queueing_strategy == quota::QueueingStrategy::StrictFIFO);
    CHECK(cfg->cluster_queues[2].cohort == "org");  // v1beta2 cohortName
    CHECK(cfg->cluster_queues[2].fair_sharing_weight_milli == 500);
    CHECK(cfg->resource_flavors[0].node_taints[0].effect == "NoSchedule");
    CHECK(cfg->priority_classes.size() == 3);
    CHECK(cfg->priority_classes[0].value == 1000);
    auto state = quota::QuotaState::Build(*cfg);
    REQUIRE(state);
    // org's own 16 H100 plus team-a's lendable 4 and team-b's 8.
    CHECK(state->Nominal("org", "h100", "nvidia.com/gpu") == 16 + 4 + 8);
    CHECK(state->Available("team-a", "h100", "nvidia.com/gpu") == 16);  // 8 own + borrowingLimit 8
  }
}

TEST_CASE("webhook rules are reported with file, line and field path") {
  SUBCASE("borrowWithinCohort needs reclaimWithinCohort other than Never") {
    const auto errors = ErrorsOf(std::string(kFlavor) + R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata:
  name: cq
spec:
  cohort: c
  preemption:
    reclaimWithinCohort: Never
    borrowWithinCohort:
      policy: LowerPriority
)");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].ToString() ==
          "kueue.yaml:13:5: ClusterQueue cq: spec.preemption: reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never");
  }
  SUBCASE("borrowingLimit and lendingLimit only with a cohort, lendingLimit at most nominal") {
    const auto errors = ErrorsOf(std::string(kFlavor) + R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata:
  name: cq
spec:
  resourceGroups:
  - coveredResources: [cpu]
    flavors:
    - name: f
      resources:
      - name: cpu
        nominalQuota: 4
        borrowingLimit: 2
        lendingLimit: 5
)");
    CHECK(HasError(errors, "kueue.yaml:18:25: ClusterQueue cq: spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit: must be nil when spec.cohort is empty"));
    CHECK(HasError(errors, "kueue.yaml:19:23: ClusterQueue cq: spec.resourceGroups[0].flavors[0].resources[0].lendingLimit: must be nil when spec.cohort is empty"));
    CHECK(HasError(errors, "lendingLimit: must be less than or equal to the nominalQuota (5 > 4)"));
    CHECK(errors.size() == 3);
  }
  SUBCASE("a resource covered by two groups, a flavor in two groups, mismatched resource names") {
    const auto errors = ErrorsOf(std::string(kFlavor) + R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata:
  name: cq
spec:
  resourceGroups:
  - coveredResources: [cpu, memory]
    flavors:
    - name: f
      resources:
      - name: memory
        nominalQuota: 4
      - name: cpu
        nominalQuota: 4Gi
  - coveredResources: [cpu]
    flavors:
    - name: f
      resources:
      - name: cpu
        nominalQuota: 1
)");
    CHECK(HasError(errors, "kueue.yaml:16:15: ClusterQueue cq: spec.resourceGroups[0].flavors[0].resources[0].name: \"memory\" must match the name in coveredResources (\"cpu\")"));
    CHECK(HasError(errors, "spec.resourceGroups[1].coveredResources[0]: duplicate value \"cpu\": a resource may be covered by only one resource group"));
    CHECK(HasError(errors, "kueue.yaml:22:13: ClusterQueue cq: spec.resourceGroups[1].flavors[0].name: duplicate value \"f\""));
  }
  SUBCASE("more than 16 flavors in a group") {
    std::string text = R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata:
  name: cq
spec:
  resourceGroups:
  - coveredResources: [cpu]
    flavors:
)";
    for (int i = 0; i < 17; ++i) {
      text += "    - name: f" + std::to_string(i) + "\n      resources:\n      - name: cpu\n        nominalQuota: 1\n";
      text = "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ResourceFlavor\nmetadata:\n  name: f" + std::to_string(i) + "\n---\n" + text;
    }
    const auto errors = ErrorsOf(text);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].field == "spec.resourceGroups[0].flavors");
    CHECK(errors[0].message == "must have at most 16 items, has 17");
  }
  SUBCASE("unknown references across objects") {
    const auto errors = ErrorsOf(R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata:
  name: cq
spec:
  resourceGroups:
  - coveredResources: [nvidia.com/gpu]
    flavors:
    - name: h100
      resources:
      - name: nvidia.com/gpu
        nominalQuota: 8
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata:
  name: lq
  namespace: ns
spec:
  clusterQueue: nope
)");
    REQUIRE(errors.size() == 2);
    CHECK(errors[0].ToString() == "kueue.yaml:9:13: ClusterQueue cq: spec.resourceGroups[0].flavors[0].name: ResourceFlavor \"h100\" does not exist");
    CHECK(errors[1].ToString() == "kueue.yaml:20:17: LocalQueue lq: spec.clusterQueue: ClusterQueue \"nope\" does not exist");
  }
  SUBCASE("enums, quantities, unknown fields and types") {
    const auto errors = ErrorsOf(std::string(kFlavor) + R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata:
  name: cq
spec:
  queueingStrategy: FIFO
  nominalQouta: 3
  preemption:
    withinClusterQueue: Sometimes
  resourceGroups:
  - coveredResources: [cpu]
    flavors:
    - name: f
      resources:
      - name: cpu
        nominalQuota: 3 cores
)");
    CHECK(HasError(errors, "kueue.yaml:11:21: ClusterQueue cq: spec.queueingStrategy: unsupported value \"FIFO\": must be one of BestEffortFIFO, StrictFIFO"));
    REQUIRE(errors.size() == 4);
    CHECK(errors[0].line == 11);  // sorted by position
    CHECK(HasError(errors, "kueue.yaml:12:3: ClusterQueue cq: spec.nominalQouta: unknown field \"nominalQouta\""));
    CHECK(HasError(errors, "spec.preemption.withinClusterQueue: unsupported value \"Sometimes\""));
    CHECK(HasError(errors, "kueue.yaml:21:23: ClusterQueue cq: spec.resourceGroups[0].flavors[0].resources[0].nominalQuota: quantity \"3 cores\""));
  }
  SUBCASE("v1beta2 names the cohort cohortName") {
    const auto errors = ErrorsOf(R"(apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata:
  name: cq
spec:
  cohort: a
)");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].ToString() == "kueue.yaml:6:3: ClusterQueue cq: spec.cohort: unknown field \"cohort\"");
  }
  SUBCASE("cohort cycles and duplicates") {
    const auto errors = ErrorsOf(R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: Cohort
metadata:
  name: a
spec:
  parentName: b
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: Cohort
metadata:
  name: b
spec:
  parentName: a
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: Cohort
metadata:
  name: b
)");
    CHECK(HasError(errors, "kueue.yaml:6:15: Cohort a: spec.parentName: parent \"b\" makes a cycle in the cohort tree"));
    CHECK(HasError(errors, "kueue.yaml:13:15: Cohort b: spec.parentName: parent \"a\" makes a cycle in the cohort tree"));
    CHECK(HasError(errors, "kueue.yaml:18:9: Cohort b: metadata.name: duplicate Cohort \"b\" (first defined at kueue.yaml:8)"));
  }
  SUBCASE("WorkloadPriorityClass needs an integer value") {
    const auto errors = ErrorsOf(R"(apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata:
  name: p
value: high
)");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].ToString() == "kueue.yaml:5:8: WorkloadPriorityClass p: value: must be a 32-bit integer, got \"high\"");
  }
  SUBCASE("broken YAML is an error with a line, not a crash") {
    const auto errors = ErrorsOf("apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: [\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].line > 0);
    CHECK(errors[0].message.starts_with("invalid YAML"));
  }
  SUBCASE("other API groups are skipped") {
    CHECK(ErrorsOf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Team_A\n").empty());
  }
}

TEST_CASE("mangled manifests never crash the loader") {
  std::ifstream in(kExamples + "gpu-cohorts.yaml");
  const std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(original.empty());
  std::mt19937 rng(42);
  const std::string alphabet = " :-[]{}\n\t\"'#&*!|>%@`,?0123456789abcdefgGiKm.";
  int failures = 0;
  for (int round = 0; round < 400; ++round) {
    std::string text = original;
    const int edits = std::uniform_int_distribution<int>(1, 8)(rng);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = std::uniform_int_distribution<std::size_t>(0, text.size() - 1)(rng);
      switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
        case 0: text[pos] = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)]; break;
        case 1: text.erase(pos, std::uniform_int_distribution<std::size_t>(1, 20)(rng)); break;
        default: text.insert(pos, 1, alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)]);
      }
    }
    auto r = ParseKueueManifests(text, "mangled.yaml");
    if (!r) {
      ++failures;
      for (const auto& err : r.error()) CHECK_FALSE(err.message.empty());
    } else {
      (void)quota::QuotaState::Build(*r);  // a valid result builds or says why, never crashes
    }
  }
  CHECK(failures > 0);
}

TEST_CASE("the resolved cohort tree names nominal, borrowable and lendable amounts per flavor and resource") {
  SUBCASE("a lone ClusterQueue") {
    auto cfg = LoadKueueManifestFiles({kExamples + "single-clusterqueue.yaml"});
    REQUIRE(cfg);
    CHECK(quota::QuotaState::Build(*cfg)->DescribeCohortTree() ==
          "ClusterQueue cluster-queue [BestEffortFIFO]\n"
          "  default-flavor/cpu: nominal 9, borrowable 0, lendable 0, max usable 9, in use 0\n"
          "  default-flavor/memory: nominal 36Gi, borrowable 0, lendable 0, max usable 36Gi, in use 0\n"
          "  default-flavor/pods: nominal 5, borrowable 0, lendable 0, max usable 5, in use 0\n");
  }
  SUBCASE("hierarchical cohorts with limits") {
    auto cfg = LoadKueueManifestFiles({kExamples + "gpu-cohorts.yaml"});
    REQUIRE(cfg);
    const std::string tree = quota::QuotaState::Build(*cfg)->DescribeCohortTree();
    CHECK(tree.starts_with("Cohort org\n  h100/nvidia.com/gpu: nominal 28 (own 16), borrowable 0, lendable 0, max usable 28"));
    CHECK(tree.find("  Cohort research (fair sharing weight 2)\n"
                    "    h100/nvidia.com/gpu: nominal 12 (own 0), borrowable 16, lendable 12, max usable 28, in use 0\n") !=
          std::string::npos);
    CHECK(tree.find("    ClusterQueue team-a [BestEffortFIFO]\n"
                    "      h100/nvidia.com/gpu: nominal 8, borrowable 8 (borrowingLimit 8), lendable 4 (lendingLimit 4), "
                    "max usable 16, in use 0\n") != std::string::npos);
    CHECK(tree.find("  ClusterQueue batch (fair sharing weight 500m) [BestEffortFIFO]\n"
                    "    h100/nvidia.com/gpu: nominal 0, borrowable 28, lendable 0, max usable 28, in use 0\n") !=
          std::string::npos);
  }
}
