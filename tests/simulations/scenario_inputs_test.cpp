// Tests that the shipped scenarios load their data: nodes, jobs, queues and published references.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "simulations/scenario_inputs.h"

using namespace platoon;
using namespace platoon::sim;

namespace {
std::string ScenarioDir() { return std::string(PLATOON_SOURCE_DIR) + "/simulations/scenarios"; }
}  // namespace

TEST_CASE("the openb default scenario loads the cluster, the pods and FGD's six published policies") {
  auto s = LoadScenario(ScenarioDir() + "/openb-default-fgd.yaml");
  REQUIRE(s.has_value());
  auto in = LoadScenarioInputs(*s);
  REQUIRE_MESSAGE(in.has_value(), in.error().ToString());
  CHECK(in->workload_name == "openb_pod_list_default");
  CHECK(in->nodes.size() == 1213);
  CHECK(in->jobs.size() == 8152);
  CHECK(in->queues.empty());
  REQUIRE(in->references.size() == 6);
  CHECK(in->references[5].policy == "FGD");
  CHECK(in->references[5].figures[0].second == 4.77);
  CHECK(in->references[5].figures.back() == std::pair<std::string, double>{"frag_over_total_pct_mean@100", 4.73});
  const SimulationReport r = MakeReport(*s, *in);
  CHECK(r.cluster_gpus == 6212);
  CHECK(r.protocol == "fgd");
  CHECK(r.notes.size() == 2);
}

TEST_CASE("every openb scenario finds its published figures") {
  for (const auto& e : std::filesystem::directory_iterator(ScenarioDir())) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("openb-")) continue;
    CAPTURE(name);
    auto s = LoadScenario(e.path().string());
    REQUIRE(s.has_value());
    auto in = LoadScenarioInputs(*s);
    REQUIRE_MESSAGE(in.has_value(), in.error().ToString());
    CHECK(in->references.size() == 6);
  }
}

TEST_CASE("the Philly scenario builds 352 8-GPU nodes and one queue per VC") {
  auto s = LoadScenario(ScenarioDir() + "/philly-per-vc.yaml");
  REQUIRE(s.has_value());
  auto in = LoadScenarioInputs(*s);
  REQUIRE_MESSAGE(in.has_value(), in.error().ToString());
  CHECK(in->nodes.size() == 352);
  CHECK(in->nodes[0].name == "philly-6214e9-000");
  CHECK(in->nodes[0].capacity.Get(kResourceGPU) == 8);
  CHECK(in->nodes[0].labels == std::vector<std::pair<std::string, std::string>>{{"platoon.io/philly-vc", "6214e9"}});
  CHECK(in->jobs.size() == 109'532);
  CHECK(std::is_sorted(in->jobs.begin(), in->jobs.end(),
                       [](const TraceJob& a, const TraceJob& b) { return a.arrival_ms < b.arrival_ms; }));
  REQUIRE(in->queues.size() == 12);
  CHECK(in->queues[11] == TraceQueue{"51b7ef", 0, 0});
  CHECK(in->references.size() == 4);
  bool noted = false;
  for (const auto& n : in->notes) noted = noted || n.starts_with("Queue 51b7ef (63 jobs) has no size");
  CHECK(noted);
}

TEST_CASE("a scenario with a job list and a bad trace row reports what it skipped") {
  const auto dir = std::filesystem::temp_directory_path() / "platoon-scenario-inputs-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "nodes.csv") << "sn,cpu_milli,memory_mib,gpu,model\nn0,64000,1024,8,G2\n";
  std::ofstream(dir / "pods.csv") << "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,10,1,500\np1,x,10,1,500\n";
  const std::string base = "name: t\ncluster:\n  trace_nodes: {path: nodes.csv}\npolicies: [a]\n";
  std::ofstream(dir / "skip.yaml") << base << "workload:\n  trace: {format: openb, path: pods.csv, skip_bad_rows: true}\n";
  std::ofstream(dir / "strict.yaml") << base << "workload:\n  trace: {format: openb, path: pods.csv}\n";
  auto skip = LoadScenarioInputs(*LoadScenario((dir / "skip.yaml").string()));
  REQUIRE(skip.has_value());
  CHECK(skip->jobs.size() == 1);
  CHECK(skip->report.rows_skipped == 1);
  CHECK(skip->notes.back() == "1 bad rows were skipped (skip_bad_rows: true); 1 rows loaded.");
  auto strict = LoadScenarioInputs(*LoadScenario((dir / "strict.yaml").string()));
  REQUIRE_FALSE(strict.has_value());
  CHECK(strict.error().ToString() == (dir / "pods.csv").string() + ":3: column cpu_milli: \"x\" is not an integer");
  std::filesystem::remove_all(dir);
}

TEST_CASE("the small hand-checkable scenario loads its nodes and job list") {
  auto s = LoadScenario(ScenarioDir() + "/small-cohort.yaml");
  REQUIRE_MESSAGE(s.has_value(), s.error().ToString());
  CHECK(s->quota_kueue.ends_with("/simulations/scenarios/small/kueue.yaml"));
  auto in = LoadScenarioInputs(*s);
  REQUIRE_MESSAGE(in.has_value(), in.error().ToString());
  CHECK(in->nodes.size() == 2);
  REQUIRE(in->jobs.size() == 4);
  CHECK(in->jobs[0].name == "a-gang-16");
  CHECK(in->jobs[0].TotalPods() == 2);
  CHECK(in->jobs[0].TotalGpuMilli() == 16'000);
  CHECK(in->jobs[3].TotalGpuMilli() == 250);
  CHECK(in->workload_name == "jobs");
}
