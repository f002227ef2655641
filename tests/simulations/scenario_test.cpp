// Tests for scenario files and YAML job lists: the shipped scenarios load, errors carry file:line.
#include <doctest/doctest.h>

#include <filesystem>

#include "simulations/scenario.h"

using namespace platoon;
using namespace platoon::sim;

namespace {
std::string ScenarioDir() { return std::string(PLATOON_SOURCE_DIR) + "/simulations/scenarios"; }
}  // namespace

TEST_CASE("every shipped scenario loads and its data files exist") {
  std::size_t count = 0;
  const std::string repository = std::filesystem::weakly_canonical(PLATOON_SOURCE_DIR).string() + "/";
  for (const auto& entry : std::filesystem::directory_iterator(ScenarioDir())) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().string());
    auto s = LoadScenario(entry.path().string());
    REQUIRE_MESSAGE(s.has_value(), s.error().ToString());
    CHECK_FALSE(s->policies.empty());
    CHECK_FALSE(s->seeds.empty());
    // A clone of the repository runs every shipped scenario: no file outside it is read.
    for (const std::string& path : {s->cluster_path, s->workload_path, s->quota_kueue, s->quota_philly_vcs,
                                    s->ref_fgd_unallocated, s->ref_fgd_alloc, s->ref_fgd_frag,
                                    s->ref_helios_queue_delay, s->ref_helios_jct}) {
      if (path.empty()) continue;
      CAPTURE(path);
      CHECK(std::filesystem::weakly_canonical(path).string().starts_with(repository));
    }
    ++count;
  }
  CHECK(count >= 3);
}

TEST_CASE("the openb default scenario runs the FGD protocol with 10 seeds beside the published figures") {
  auto s = LoadScenario(ScenarioDir() + "/openb-default-fgd.yaml");
  REQUIRE_MESSAGE(s.has_value(), s.error().ToString());
  CHECK(s->protocol == ProtocolKind::Fgd);
  CHECK(s->tune_ratio == 1.3);
  CHECK(s->seeds == std::vector<std::uint64_t>{42, 43, 44, 45, 46, 47, 48, 49, 50, 51});
  CHECK(s->cluster == ClusterSource::TraceNodes);
  CHECK(s->cluster_path.ends_with("/simulations/data/traces/alibaba-gpu-v2023/csv/openb_node_list_gpu_node.csv.gz"));
  CHECK(s->workload_format == "openb");
  CHECK(s->ref_fgd_workload == "openb_pod_list_default");
  CHECK_FALSE(s->ref_fgd_unallocated.empty());
}

TEST_CASE("without fgd_workload, an openb scenario names the published workload after its pod list") {
  for (const char* file : {"openb_pod_list_cpu050.csv", "openb_pod_list_cpu050.csv.gz"}) {
    CAPTURE(file);
    auto s = ParseScenario(std::string("name: x\ncluster:\n  trace_nodes: {format: openb, path: n.csv}\nworkload:\n"
                                       "  trace: {format: openb, path: ") + file + "}\npolicies: [fgd]\n",
                           "s.yaml", "/tmp", false);
    REQUIRE_MESSAGE(s.has_value(), s.error().ToString());
    CHECK(s->ref_fgd_workload == "openb_pod_list_cpu050");
  }
}

TEST_CASE("the Philly scenario compares static partitions, cohort borrowing and gang-aware preemption") {
  auto s = LoadScenario(ScenarioDir() + "/philly-per-vc.yaml");
  REQUIRE_MESSAGE(s.has_value(), s.error().ToString());
  CHECK(s->protocol == ProtocolKind::Replay);
  CHECK(s->cluster == ClusterSource::PhillyVcs);
  CHECK(s->workload_format == "philly");
  REQUIRE(s->policies.size() == 3);
  CHECK(s->policies[0].name == "static-partitions");
  CHECK(s->policies[1].name == "cohort-borrowing");
  CHECK(s->policies[2].name == "cohort-gang-preemption");
  CHECK_FALSE(s->ref_helios_queue_delay.empty());
}

TEST_CASE("scenario errors name the file, the line and what to fix") {
  auto parse = [](const std::string& text) { return ParseScenario(text, "s.yaml", "/tmp", false); };
  const std::string base =
      "name: x\n"
      "cluster:\n"
      "  trace_nodes: {format: openb, path: nodes.csv}\n"
      "workload:\n"
      "  trace: {format: openb, path: pods.csv}\n";
  SUBCASE("a minimal scenario is fine and resolves paths against the base directory") {
    auto s = parse(base + "policies: [fgd]\n");
    REQUIRE_MESSAGE(s.has_value(), s.error().ToString());
    CHECK(s->cluster_path == "/tmp/nodes.csv");
    CHECK(s->seeds == std::vector<std::uint64_t>{42});
    CHECK(s->ref_fgd_workload == "pods");
  }
  SUBCASE("policies missing") {
    CHECK(parse(base).error().ToString() == "s.yaml:1: scenario: missing policies (the policies to compare)");
  }
  SUBCASE("an unknown key") {
    auto e = parse(base + "policies: [fgd]\nseed: 3\n").error();
    CHECK(e.line == 7);
    CHECK(e.message.starts_with("scenario: unknown key \"seed\""));
  }
  SUBCASE("a bad format") {
    auto e = parse("name: x\ncluster:\n  trace_nodes: {format: csv, path: n.csv}\n").error();
    CHECK(e.ToString() == "s.yaml:3: cluster.trace_nodes.format: \"csv\" is not openb");
  }
  SUBCASE("a seed range") {
    auto s = parse(base + "policies: [a, {name: b, options: {x: 1}}]\nseeds: {from: 3, to: 5}\n");
    REQUIRE(s.has_value());
    CHECK(s->seeds == std::vector<std::uint64_t>{3, 4, 5});
    CHECK(s->policies[1].options == std::vector<std::pair<std::string, std::string>>{{"x", "1"}});
  }
  SUBCASE("a duplicate policy") {
    CHECK(parse(base + "policies: [a, a]\n").error().message == "policies: \"a\" is listed twice");
  }
  SUBCASE("the FGD protocol on a Philly workload") {
    auto e = parse("name: x\ncluster:\n  philly_vcs: {path: vc.csv}\nworkload:\n  trace: {format: philly, path: d}\n"
                   "policies: [a]\nprotocol:\n  kind: fgd\n").error();
    CHECK(e.line == 8);
    CHECK(e.message == "protocol.kind fgd needs cluster.trace_nodes and an openb workload.trace");
  }
  SUBCASE("YAML syntax") {
    auto e = parse("name: [x\n").error();
    CHECK(e.file == "s.yaml");
    CHECK(e.line >= 1);
  }
  SUBCASE("a missing file when paths are checked") {
    auto e = ParseScenario(base + "policies: [a]\n", "s.yaml", "/nonexistent-dir", true).error();
    CHECK(e.ToString() == "s.yaml:3: cluster.trace_nodes.path: /nonexistent-dir/nodes.csv does not exist");
  }
}

TEST_CASE("a YAML job list becomes trace jobs with Kubernetes quantities") {
  auto jobs = ParseJobList(
      "jobs:\n"
      "  - name: train\n"
      "    queue: team-a\n"
      "    arrival_s: 1.5\n"
      "    duration_s: 3600\n"
      "    pods: 4\n"
      "    gpus: 8\n"
      "    cpu: \"32\"\n"
      "    memory: 128Gi\n"
      "    gpu_models: [A100]\n"
      "  - name: notebook\n"
      "    gpus: 1\n"
      "    gpu_milli: 250\n"
      "    cpu: 500m\n",
      "jobs.yaml");
  REQUIRE_MESSAGE(jobs.has_value(), jobs.error().ToString());
  REQUIRE(jobs->size() == 2);
  const auto& t = (*jobs)[0];
  CHECK(t.arrival_ms == 1500);
  CHECK(t.duration_ms == 3'600'000);
  CHECK(t.TotalPods() == 4);
  CHECK(t.pod_sets[0].request.Get(kResourceCPU) == 32'000);
  CHECK(t.pod_sets[0].request.Get(kResourceMemory) == 128LL * 1024 * 1024 * 1024);
  CHECK(t.pod_sets[0].request.Get(kResourceGPU) == 8);
  CHECK(t.gpu_models == std::vector<std::string>{"A100"});
  const auto& n = (*jobs)[1];
  CHECK(n.duration_ms == kNeverDeparts);
  CHECK(n.TotalGpuMilli() == 250);
  CHECK(n.pod_sets[0].request.Get(kResourceGPU) == 0);
  CHECK(n.pod_sets[0].request.Get(kResourceCPU) == 500);

  auto bad = ParseJobList("jobs:\n  - name: a\n    memory: lots\n", "j.yaml");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().line == 3);
  CHECK(bad.error().message.starts_with("jobs[].memory: "));
  auto shared = ParseJobList("jobs:\n  - name: a\n    gpus: 2\n    gpu_milli: 500\n", "j.yaml");
  CHECK(shared.error().ToString() == "j.yaml:4: jobs[].gpu_milli: below 1000 only for a pod with gpus: 1");
}
