// Benchmarks: load every openb pod list, every Philly per-VC file, and generate FGD workloads; print
// time per iteration and peak RSS.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <filesystem>
#include <string>
#include <vector>

#include "simulations/fgd_protocol.h"
#include "simulations/openb_trace.h"
#include "simulations/philly_trace.h"

using namespace platoon::sim;

namespace {

const std::string kData = PLATOON_SHARED_DATA_DIR;

double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

std::vector<std::string> OpenbPodLists() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(kData + "/traces/alibaba-gpu-v2023/csv")) {
    if (e.path().filename().string().starts_with("openb_pod_list_")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void BM_LoadAllOpenbPodLists(benchmark::State& state) {
  const auto files = OpenbPodLists();
  std::size_t rows = 0, bytes = 0;
  for (auto _ : state) {
    rows = 0;
    for (const auto& f : files) {
      auto pods = LoadOpenbPods(f);
      if (!pods) {
        state.SkipWithError(pods.error().ToString().c_str());
        return;
      }
      rows += pods->pods.size();
      benchmark::DoNotOptimize(pods->pods.data());
    }
  }
  for (const auto& f : files) bytes += std::filesystem::file_size(f);
  state.counters["files"] = static_cast<double>(files.size());
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(bytes) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MiB"] = PeakRssMiB();
}
BENCHMARK(BM_LoadAllOpenbPodLists)->Unit(benchmark::kMillisecond);

void BM_LoadAllPhillyJobs(benchmark::State& state) {
  std::size_t rows = 0;
  for (auto _ : state) {
    auto jobs = LoadPhillyDirectory(kData + "/traces/philly-per-vc");
    if (!jobs) {
      state.SkipWithError(jobs.error().ToString().c_str());
      return;
    }
    rows = jobs->jobs.size();
    benchmark::DoNotOptimize(jobs->jobs.data());
  }
  state.counters["jobs"] = static_cast<double>(rows);
  state.counters["jobs/s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MiB"] = PeakRssMiB();
}
BENCHMARK(BM_LoadAllPhillyJobs)->Unit(benchmark::kMillisecond);

void BM_FgdWorkloadTenSeeds(benchmark::State& state) {
  auto nodes = LoadOpenbNodes(kData + "/traces/alibaba-gpu-v2023/csv/openb_node_list_gpu_node.csv");
  auto pods = LoadOpenbPods(kData + "/traces/alibaba-gpu-v2023/csv/openb_pod_list_default.csv");
  if (!nodes || !pods) {
    state.SkipWithError("cannot load the openb default trace");
    return;
  }
  std::size_t generated = 0;
  for (auto _ : state) {
    generated = 0;
    for (std::uint64_t seed = 42; seed <= 51; ++seed) {
      auto w = GenerateFgdWorkload(nodes->nodes, pods->pods, {.seed = seed, .tune_ratio = 1.3});
      generated += w->pods.size();
      benchmark::DoNotOptimize(w->pods.data());
    }
  }
  state.counters["pods"] = static_cast<double>(generated);
  state.counters["peak_rss_MiB"] = PeakRssMiB();
}
BENCHMARK(BM_FgdWorkloadTenSeeds)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
