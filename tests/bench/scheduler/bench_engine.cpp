// Gang engine figures: admit and plan 1,000 gangs of 8 pods on a 1,024-node fabric; filter a planned
// member against 5,000 candidate nodes.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "scheduler/engine.h"

namespace platoon::engine {
namespace {

EngineOptions FabricOptions() {
  EngineOptions o;
  o.levels = {{"block", "example.com/block", 25.0, topology::LinkKind::Fabric},
              {"rack", "example.com/rack", 50.0, topology::LinkKind::Fabric}};
  return o;
}

// `count` 8-GPU nodes, 32 per rack, 8 racks per block.
void AddFabric(Engine& engine, int count) {
  for (int i = 0; i < count; ++i) {
    Node n;
    n.name = "node-" + std::to_string(i);
    n.labels["example.com/rack"] = "rack-" + std::to_string(i / 32);
    n.labels["example.com/block"] = "block-" + std::to_string(i / 256);
    n.allocatable = ResourceList{{"cpu", 128000}, {"memory", 1LL << 40}, {"pods", 110}, {"nvidia.com/gpu", 8}};
    engine.UpsertNode(std::move(n), 0);
  }
}

Pod Member(int gang, int i, int gpus) {
  Pod p;
  p.name = "g" + std::to_string(gang) + "-" + std::to_string(i);
  p.uid = "uid-" + p.name;
  p.phase = "Pending";
  p.labels[std::string(kPodGroupLabel)] = "g" + std::to_string(gang);
  p.requests = ResourceList{{"cpu", 4000}, {"memory", 16LL << 30}, {"pods", 1}, {"nvidia.com/gpu", gpus}};
  return p;
}

// Everything from the pods' arrival to 1,000 reserved plans (the node topology is built beforehand).
void BM_AdmitAndPlan1000GangsOf8On1024Nodes(benchmark::State& state) {
  std::size_t planned = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Engine engine(FabricOptions());
    AddFabric(engine, 1024);
    (void)engine.Topology();
    state.ResumeTiming();
    for (int g = 0; g < 1000; ++g) {
      PodGroup pg;
      pg.name = "g" + std::to_string(g);
      pg.min_member = 8;
      engine.UpsertPodGroup(pg, 0);
      for (int i = 0; i < 8; ++i) engine.UpsertPod(Member(g, i, 1), 0);
    }
    engine.AdvanceTime(1);
    planned = engine.Counts().planned;
    state.PauseTiming();
    if (planned != 1000) state.SkipWithError("not every gang was planned");
    state.ResumeTiming();
  }
  state.counters["gangs_planned"] = static_cast<double>(planned);
}
BENCHMARK(BM_AdmitAndPlan1000GangsOf8On1024Nodes)->Unit(benchmark::kMillisecond)->Iterations(3);

// A planned gang of 8 whole-node members on a 5,000-node fabric, and the candidate list kube-scheduler
// sends (every node).
struct FilterFixture {
  Engine engine{FabricOptions()};
  std::vector<std::string> names;
  std::vector<std::string_view> candidates;
  Pod pod = Member(0, 3, 8);
  FilterFixture() {
    AddFabric(engine, 5000);
    PodGroup pg;
    pg.name = "g0";
    pg.min_member = 8;
    engine.UpsertPodGroup(pg, 0);
    for (int i = 0; i < 8; ++i) engine.UpsertPod(Member(0, i, 8), 0);
    engine.AdvanceTime(1);
    for (int i = 0; i < 5000; ++i) names.push_back("node-" + std::to_string(i));
    candidates.assign(names.begin(), names.end());
  }
};

// The engine's decision (Decide): the planned node passes, one reason for the rest.
void BM_FilterPlannedMemberAt5000Nodes(benchmark::State& state) {
  FilterFixture f;
  std::size_t passed = 0;
  for (auto _ : state) {
    auto decision = f.engine.Decide(f.pod, f.candidates, 1);
    passed = decision.fits.size();
    benchmark::DoNotOptimize(decision);
  }
  if (passed != 1) state.SkipWithError("the planned node did not pass alone");
}
BENCHMARK(BM_FilterPlannedMemberAt5000Nodes)->Unit(benchmark::kMicrosecond);

// The same through Filter, which also materialises one verdict (with its reason string) per node.
void BM_FilterVerdictsPlannedMemberAt5000Nodes(benchmark::State& state) {
  FilterFixture f;
  int passed = 0;
  for (auto _ : state) {
    auto verdicts = f.engine.Filter(f.pod, f.candidates, 1);
    passed = 0;
    for (const auto& v : verdicts) passed += v.kind == NodeVerdictKind::Fits;
    benchmark::DoNotOptimize(verdicts);
  }
  if (passed != 1) state.SkipWithError("the planned node did not pass alone");
}
BENCHMARK(BM_FilterVerdictsPlannedMemberAt5000Nodes)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace platoon::engine

BENCHMARK_MAIN();
