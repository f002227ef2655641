// Benchmarks of the topology library: a 256 x 8-GPU gang on a 32,768-GPU fabric, GPU-set choice for
// one pod, and building the graph for 10,000 nodes (with peak RSS).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <random>
#include <string>
#include <vector>

#include "tests/topology/fixtures.h"
#include "topology/devices.h"
#include "topology/gang.h"
#include "topology/topology.h"

using namespace platoon::topology;

namespace {

// `nodes` DGX H100 nodes, 32 per scalable unit, 32 scalable units per spine.
std::vector<NodeHardware> Fabric(int nodes) {
  std::vector<NodeHardware> out;
  out.reserve(static_cast<std::size_t>(nodes));
  for (int n = 0; n < nodes; ++n) {
    const int su = n / 32;
    out.push_back(testing::DgxH100("node-" + std::to_string(n),
                                   {{"spine", "spine-" + std::to_string(su / 32)}, {"su", "su-" + std::to_string(su)}}));
  }
  return out;
}

// A busy cluster: a seeded third of the nodes carry a few GPUs of load, so the search has work to do.
Topology BusyFabric(int nodes) {
  auto t = *Topology::Build(testing::SuLevels(), Fabric(nodes));
  std::mt19937 rng(7);
  for (NodeId n = 0; n < t.node_count(); ++n) {
    if (rng() % 3 != 0) continue;
    DeviceRequest r{.gpus = 1 + static_cast<int>(rng() % 4)};
    if (auto a = ChooseDevices(t.node(n), t.state(n), r)) (void)t.Reserve(n, *a);
  }
  return t;
}

void BM_PlaceGang256x8On4096Nodes(benchmark::State& state) {
  const Topology t = BusyFabric(4096);
  GangRequest req{.members = 256, .member = {.gpus = 8}, .required_level = "spine"};
  double ring = 0;
  int nodes_used = 0;
  for (auto _ : state) {
    auto plan = PlaceGang(t, req);
    if (!plan) state.SkipWithError(plan.error().reason.c_str());
    else {
      ring = plan->ring_bottleneck_gbps;
      nodes_used = plan->nodes_used;
    }
    benchmark::DoNotOptimize(plan);
  }
  state.counters["gpus"] = static_cast<double>(t.domain(kRootDomain).total_gpus);
  state.counters["nodes_used"] = nodes_used;
  state.counters["ring_GBps"] = ring;
}
BENCHMARK(BM_PlaceGang256x8On4096Nodes)->Unit(benchmark::kMillisecond);

void BM_ChooseGpuSetForOnePod(benchmark::State& state) {
  auto hw = testing::DgxH100("dgx", {});
  (void)Finalize(hw);
  auto s = NodeDeviceState::For(hw);
  s.whole[1] = s.whole[6] = 1;  // a partly used node: the choice is not trivial
  const DeviceRequest req{.gpus = static_cast<int>(state.range(0))};
  for (auto _ : state) {
    auto a = ChooseDevices(hw, s, req);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_ChooseGpuSetForOnePod)->Arg(1)->Arg(2)->Arg(4)->Arg(6)->Unit(benchmark::kMicrosecond);

// A 16-GPU node (two 8-GPU NVSwitch boards joined over PCIe): C(16, 8) subsets is past the exhaustive
// limit, so this measures the greedy path.
void BM_ChooseGpuSetOn16GpuNode(benchmark::State& state) {
  NodeHardware hw;
  hw.name = "hgx16";
  hw.gpu_count = 16;
  for (int u = 0; u < 2; ++u) {
    NumaNode numa{u, {}, {}, {}};
    for (int g = 0; g < 8; ++g) numa.gpus.push_back(u * 8 + g);
    hw.numa.push_back(numa);
  }
  for (int a = 0; a < 16; ++a)
    for (int b = 0; b < 16; ++b)
      hw.gpu_links.push_back(a == b ? GpuLink{LinkKind::Self, 0, 0.0}
                             : a / 8 == b / 8 ? GpuLink{LinkKind::NVSwitch, 18, 450.0}
                                              : GpuLink{LinkKind::Sys, 0, 20.0});
  (void)Finalize(hw);
  auto s = NodeDeviceState::For(hw);
  s.whole[3] = s.whole[12] = 1;
  const DeviceRequest req{.gpus = static_cast<int>(state.range(0))};
  std::size_t numa = 0;
  for (auto _ : state) {
    auto a = ChooseDevices(hw, s, req);
    numa = a ? static_cast<std::size_t>(a->numa + 1) : 0;
    benchmark::DoNotOptimize(a);
  }
  state.counters["one_numa"] = numa > 0 ? 1 : 0;
}
BENCHMARK(BM_ChooseGpuSetOn16GpuNode)->Arg(4)->Arg(7)->Arg(8)->Unit(benchmark::kMicrosecond);

void BM_BuildGraph10000Nodes(benchmark::State& state) {
  std::size_t vertices = 0, edges = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto nodes = Fabric(10000);
    state.ResumeTiming();
    auto t = Topology::Build(testing::SuLevels(), std::move(nodes));
    vertices = boost::num_vertices(t->graph());
    edges = boost::num_edges(t->graph());
    benchmark::DoNotOptimize(t);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["vertices"] = static_cast<double>(vertices);
  state.counters["edges"] = static_cast<double>(edges);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;  // whole process, KiB on Linux
}
BENCHMARK(BM_BuildGraph10000Nodes)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
