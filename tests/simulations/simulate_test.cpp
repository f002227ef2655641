// Tests for the simulation loop on the engine: hand-checked replays, determinism, FGD protocol runs
// and random replays whose invariants (no stranded gang, every fitting job runs) must hold.
#include <doctest/doctest.h>

#include <random>
#include <set>

#include "simulations/engine_driver.h"
#include "simulations/prng.h"
#include "simulations/report.h"
#include "simulations/scenario.h"
#include "simulations/scenario_inputs.h"
#include "simulations/simulate.h"
#include "test_data.h"

using namespace platoon;
using namespace platoon::sim;

namespace {

const std::string kScenarios = std::string(PLATOON_SOURCE_DIR) + "/simulations/scenarios/";

struct Loaded {
  Scenario scenario;
  ScenarioInputs inputs;
};

Loaded Load(const std::string& file) {
  auto s = LoadScenario(kScenarios + file);
  REQUIRE_MESSAGE(s.has_value(), (s ? "" : s.error().ToString()));
  auto in = LoadScenarioInputs(*s);
  REQUIRE_MESSAGE(in.has_value(), (in ? "" : in.error().ToString()));
  return {std::move(*s), std::move(*in)};
}

const RunResult& RunOf(const SimulationReport& r, const std::string& policy) {
  for (const auto& p : r.policies)
    if (p.policy == policy) return p.runs.front();
  FAIL("no policy " << policy);
  return r.policies.front().runs.front();
}

std::size_t JobIndex(const ScenarioInputs& in, const std::string& name) {
  for (std::size_t i = 0; i < in.jobs.size(); ++i)
    if (in.jobs[i].name == name) return i;
  FAIL("no job " << name);
  return 0;
}

}  // namespace

TEST_CASE("the small cohort scenario runs as worked out by hand under each policy") {
  auto [scenario, inputs] = Load("small-cohort.yaml");
  auto report = Simulate(scenario, inputs);
  REQUIRE_MESSAGE(report.has_value(), (report ? "" : report.error()));
  const auto gang = JobIndex(inputs, "a-gang-16");
  const auto single = JobIndex(inputs, "a-single-1");
  const auto b8 = JobIndex(inputs, "b-job-8");
  const auto notebook = JobIndex(inputs, "b-notebook");

  SUBCASE("static partitions: the 16-GPU gang never starts and, StrictFIFO, blocks team-a's queue") {
    const auto& r = RunOf(*report, "static-partitions");
    CHECK(r.jobs[gang].start_ms == -1);
    CHECK(r.jobs[single].start_ms == -1);
    CHECK(r.jobs[b8].start_ms == 600'000);
    CHECK(r.jobs[b8].end_ms == 2'400'000);
    CHECK(r.jobs[notebook].start_ms == 900'000);
    CHECK(r.preemptions == 0);
    CHECK(r.gangs_stranded == 0);
  }
  SUBCASE("cohort borrowing: the gang borrows at once; everyone else waits for it to finish") {
    const auto& r = RunOf(*report, "cohort-borrowing");
    CHECK(r.jobs[gang].start_ms == 0);
    CHECK(r.jobs[gang].end_ms == 3'600'000);
    CHECK(r.jobs[single].start_ms == 3'600'000);
    CHECK(r.jobs[b8].start_ms == 3'600'000);
    CHECK(r.jobs[notebook].start_ms == 3'600'000);
    CHECK(r.preemptions == 0);
  }
  SUBCASE("gang-aware preemption: team-b reclaims by evicting the whole gang, which restarts later") {
    const auto& r = RunOf(*report, "cohort-gang-preemption");
    CHECK(r.jobs[gang].first_start_ms == 0);
    CHECK(r.jobs[gang].preemptions == 1);
    CHECK(r.jobs[b8].start_ms == 600'000);
    CHECK(r.jobs[single].start_ms == 600'000);  // ahead of the restarted gang in team-a's FIFO
    CHECK(r.jobs[notebook].start_ms == 900'000);
    CHECK(r.jobs[gang].start_ms == 2'400'000);  // when b-job-8 leaves the 16 GPUs free
    CHECK(r.jobs[gang].end_ms == 2'400'000 + 3'600'000);
    CHECK(r.preemptions == 1);
    CHECK(r.gangs_stranded == 0);
  }
  SUBCASE("the cohort cuts the mean queueing delay against static partitions for the jobs both start") {
    const auto& st = RunOf(*report, "static-partitions");
    const auto& pre = RunOf(*report, "cohort-gang-preemption");
    CHECK(pre.jobs[gang].first_start_ms >= 0);
    CHECK(st.jobs[gang].first_start_ms == -1);
  }
}

TEST_CASE("a scenario run twice gives byte-identical outputs, whatever the thread count") {
  auto [scenario, inputs] = Load("small-cohort.yaml");
  auto one = Simulate(scenario, inputs, {.threads = 1});
  auto two = Simulate(scenario, inputs, {.threads = 3});
  REQUIRE(one.has_value());
  REQUIRE(two.has_value());
  CHECK(RenderSummaryJson(*one) == RenderSummaryJson(*two));
  CHECK(RenderTimelineCsv(*one) == RenderTimelineCsv(*two));

  auto [fgd, fgd_inputs] = Load("openb-default-fgd.yaml");
  fgd.seeds = {42};
  fgd.policies = {{"fgd-pack", {}}, {"random", {}}};
  auto a = Simulate(fgd, fgd_inputs, {.threads = 2});
  auto b = Simulate(fgd, fgd_inputs, {.threads = 1});
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(RenderSummaryJson(*a) == RenderSummaryJson(*b));
}

TEST_CASE("the FGD protocol on openb: allocation only grows, never passes arrived or capacity, and FGD beats BestFit") {
  auto [scenario, inputs] = Load("openb-default-fgd.yaml");
  scenario.seeds = {43};
  scenario.policies = {{"fgd-pack", {}}, {"best-fit", {}}};
  auto report = Simulate(scenario, inputs, {.threads = 2});
  REQUIRE(report.has_value());
  std::vector<double> unallocated;
  for (const auto& p : report->policies) {
    const RunResult& r = p.runs.front();
    REQUIRE(!r.allocation.empty());
    std::int64_t last = 0;
    for (const auto& pt : r.allocation) {
      CHECK(pt.allocated_gpu_milli >= last);  // pods never depart
      CHECK(pt.allocated_gpu_milli <= pt.arrived_gpu_milli);
      CHECK(pt.allocated_gpu_milli <= r.cluster_gpu_milli);
      CHECK(pt.frag_gpu_milli >= 0);
      CHECK(pt.frag_gpu_milli <= r.cluster_gpu_milli - pt.allocated_gpu_milli);
      last = pt.allocated_gpu_milli;
    }
    const auto s = Summarise(r);
    REQUIRE(s.unallocated_gpu_pct_at_arrived100.has_value());
    unallocated.push_back(*s.unallocated_gpu_pct_at_arrived100);
  }
  // Published: FGD 4.77 %, BestFit 7.14 % (means over 10 seeds); the ranking must hold here too.
  CHECK(unallocated[0] < unallocated[1]);
  CHECK(unallocated[0] < 6.0);
}

TEST_CASE("random replays never strand a gang, never exceed capacity, and run every job that fits") {
  const std::vector<std::string> policies = {"static-partitions", "cohort-borrowing", "cohort-gang-preemption"};
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    Prng rng(seed);
    std::vector<TraceNode> nodes;
    const int node_count = 2 + static_cast<int>(rng.UniformBelow(4));
    for (int n = 0; n < node_count; ++n) {
      TraceNode t;
      t.name = "node-" + std::to_string(n);
      t.gpus = 8;
      t.gpu_model = "G";
      t.capacity.Set(kResourceGPU, 8);
      nodes.push_back(t);
    }
    std::vector<TraceQueue> queues = {{"team-a", 0, 8}, {"team-b", 0, 8}};
    std::vector<TraceJob> jobs;
    for (int j = 0; j < 30; ++j) {
      TraceJob job;
      job.name = "job-" + std::to_string(j);
      job.queue = rng.UniformBelow(2) == 0 ? "team-a" : "team-b";
      job.arrival_ms = static_cast<std::int64_t>(rng.UniformBelow(3600)) * 1000;
      job.duration_ms = (1 + static_cast<std::int64_t>(rng.UniformBelow(1800))) * 1000;
      PodSet set;
      const int shape = static_cast<int>(rng.UniformBelow(4));
      set.gpus = shape == 0 ? 1 : (shape == 1 ? 4 : 8);
      set.count = shape == 3 ? 2 : 1;  // a 16-GPU gang of two 8-GPU pods
      set.request.Set(kResourceGPU, set.gpus);
      job.pod_sets.push_back(set);
      jobs.push_back(job);
    }
    std::ranges::stable_sort(jobs, {}, &TraceJob::arrival_ms);
    for (const auto& name : policies) {
      CAPTURE(name);
      ScenarioPolicy policy{name, {}};
      if (name == "static-partitions") policy.options = {{"cohort", "false"}, {"borrowing", "false"}};
      if (name == "cohort-gang-preemption") policy.options = {{"preemption", "gang-aware"}};
      auto settings = ReadPolicy(policy);
      REQUIRE(settings.has_value());
      auto quota = ReplayQuota(std::nullopt, queues, jobs, 0, *settings);
      REQUIRE(quota.has_value());
      ReplaySetup setup{&nodes, &jobs, *quota, 600'000};
      const RunResult r = RunReplay(policy, *settings, seed, setup);
      CHECK(r.gangs_stranded == 0);
      for (const auto& u : r.utilisation) CHECK(u.used_gpu_milli <= u.capacity_gpu_milli);
      for (std::size_t j = 0; j < jobs.size(); ++j) {
        const std::int64_t gpus = jobs[j].TotalGpuMilli() / 1000;
        // A job no larger than its queue's share (or, borrowing, the cluster) must eventually run.
        const bool fits = name == "static-partitions" ? gpus <= 8 : gpus <= 8LL * node_count;
        if (!fits) continue;
        CHECK_MESSAGE(r.jobs[j].end_ms >= 0, "job " << jobs[j].name << " (" << gpus << " GPUs) never finished");
      }
    }
  }
}

TEST_CASE("policy options are checked and bad ones explained") {
  CHECK(ReadPolicy({"x", {{"preemption", "sometimes"}}}).error() ==
        "policy x: option preemption: expected none or gang-aware, got \"sometimes\"");
  CHECK(ReadPolicy({"x", {{"colour", "blue"}}}).error().starts_with("policy x: unknown option \"colour\""));
  CHECK(ReadPolicy({"x", {{"placement", "magic"}}}).error().starts_with("policy x: option placement: unknown \"magic\""));
  CHECK(ReadPolicy({"fgd", {}})->placement == "fgd");
  CHECK(ReadPolicy({"topology", {}})->placement.empty());
}

TEST_CASE("a topology file as the cluster: its nodes, hardware and rack levels drive the engine") {
  auto [scenario, inputs] = Load("on-prem-topology.yaml");
  REQUIRE(inputs.nodes.size() == 11);
  REQUIRE(inputs.levels.size() == 2);
  CHECK(inputs.levels[1].name == "rack");
  auto report = Simulate(scenario, inputs);
  REQUIRE_MESSAGE(report.has_value(), (report ? "" : report.error()));
  const auto& r = RunOf(*report, "topology");
  CHECK(r.jobs[JobIndex(inputs, "dgx-gang")].start_ms == 0);
  CHECK(r.jobs[JobIndex(inputs, "l40s-pair")].start_ms == 0);
  CHECK(r.jobs[JobIndex(inputs, "late-8")].start_ms == 3'600'000);  // only the DGX nodes have 8 GPUs
  CHECK(r.gangs_stranded == 0);

  // The engine's view of a node: the file's NUMA layout and NICs, and its rack as a fabric domain.
  engine::EngineOptions options;
  options.levels = inputs.levels;
  EngineDriver driver(options, std::nullopt);
  std::vector<topology::NodeHardware> hardware;
  for (const auto& n : inputs.nodes) hardware.push_back(*n.hardware);
  driver.engine().SetFileHardware(hardware);
  for (const auto& n : inputs.nodes) driver.AddNode(NodeOf(n), 0);
  const auto& topo = driver.engine().Topology();
  auto dgx = topo.FindNode("dgx-a100-1");
  REQUIRE(dgx);
  CHECK(topo.node(*dgx).numa.size() == 2);
  CHECK(topo.node(*dgx).nics.size() == 8);
  CHECK(topo.domain(topo.DomainOf(*dgx, 1)).name == "rack-a");
  auto mig = topo.FindNode("a100-mig-1");
  REQUIRE(mig);
  CHECK(topo.node(*mig).usable());
  CHECK(topo.node(*mig).IsMig(2));  // GPU 2 is split into MIG instances, the others whole
  CHECK_FALSE(topo.node(*mig).IsMig(0));
}

TEST_CASE("a cluster snapshot what-if: running pods hold their GPUs and borrowing starts the larger gang") {
  auto [scenario, inputs] = Load("snapshot-whatif.yaml");
  REQUIRE(inputs.nodes.size() == 10);
  REQUIRE(inputs.jobs.size() == 3);
  auto report = Simulate(scenario, inputs);
  REQUIRE_MESSAGE(report.has_value(), (report ? "" : report.error()));
  auto job = [&](const std::string& name) {
    for (std::size_t i = 0; i < inputs.jobs.size(); ++i)
      if (inputs.jobs[i].name == name) return i;
    FAIL("no job " << name);
    return std::size_t{0};
  };
  const auto serve = job("serve-0"), pretrain = job("pretrain"), sweep = job("sweep");
  SUBCASE("the snapshot's NodeResourceTopology gives its node two NUMA zones in the engine") {
    auto node = std::ranges::find(inputs.nodes, "h100-rack-a-001", &TraceNode::name);
    REQUIRE(node != inputs.nodes.end());
    REQUIRE(node->zones.size() == 2);
    EngineDriver driver({}, std::nullopt);
    for (const auto& n : inputs.nodes) driver.AddNode(NodeOf(n), 0, n.zones);
    auto& topo = driver.engine().Topology();
    auto id = topo.FindNode("h100-rack-a-001");
    REQUIRE(id);
    CHECK(topo.node(*id).numa.size() == 2);
    CHECK(topo.node(*id).gpu_numa == std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1});
    auto other = topo.FindNode("h100-rack-a-002");
    REQUIRE(other);
    CHECK(topo.node(*other).numa.size() == 1);  // no object: one NUMA node from the labels
  }
  CHECK(inputs.jobs[sweep].TotalPods() == 5);
  CHECK(inputs.jobs[sweep].queue == "team-b/training");
  SUBCASE("static partitions: the 40-GPU sweep cannot fit team-b's 32 GPUs") {
    const auto& r = RunOf(*report, "static-partitions");
    CHECK(r.jobs[serve].start_ms == 0);
    CHECK(r.jobs[pretrain].start_ms == 0);
    CHECK(r.jobs[sweep].start_ms == -1);
  }
  SUBCASE("one cohort: the sweep borrows, on the seven nodes the running pod and pretrain leave whole") {
    const auto& r = RunOf(*report, "cohort-borrowing");
    CHECK(r.jobs[pretrain].start_ms == 0);
    CHECK(r.jobs[sweep].start_ms == 0);
    CHECK(r.gangs_stranded == 0);
    // 4 running + 16 + 40 GPUs of the 64.
    REQUIRE(!r.utilisation.empty());
    CHECK(r.utilisation.back().used_gpu_milli == 60'000);
  }
}
