// Benchmarks of `platoon simulate` on the real traces: the 10-seed openb sweep of every policy of the
// default scenario, and the full Philly replay (109,532 jobs, three policies). Prints wall seconds,
// the headline figures and the process's peak memory. Targets: each under 60 s, under 2 GiB.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <string>
#include <thread>

#include "simulations/scenario.h"
#include "simulations/scenario_inputs.h"
#include "simulations/simulate.h"

using namespace platoon::sim;

namespace {

const std::string kScenarios = std::string(PLATOON_SOURCE_DIR) + "/simulations/scenarios/";

double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

void RunScenario(benchmark::State& state, const std::string& file) {
  auto scenario = LoadScenario(kScenarios + file);
  if (!scenario) {
    state.SkipWithError(scenario.error().ToString().c_str());
    return;
  }
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double seconds = 0;
  std::expected<SimulationReport, std::string> report;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto inputs = LoadScenarioInputs(*scenario);
    if (!inputs) {
      state.SkipWithError(inputs.error().ToString().c_str());
      return;
    }
    report = Simulate(*scenario, *inputs, {.threads = threads});
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (!report) {
    state.SkipWithError(report.error().c_str());
    return;
  }
  std::size_t runs = 0;
  double best_unallocated = 1e9, cohort_delay = -1, static_delay = -1;
  std::int64_t stranded = 0;
  for (const auto& p : report->policies) {
    double unalloc_sum = 0;
    int unalloc_n = 0;
    for (const auto& run : p.runs) {
      ++runs;
      const auto s = Summarise(run);
      stranded += s.gangs_stranded;
      if (s.unallocated_gpu_pct_at_arrived100) unalloc_sum += *s.unallocated_gpu_pct_at_arrived100, ++unalloc_n;
      if (!s.queues.empty() && p.policy == "cohort-borrowing") cohort_delay = s.queues.back().delay_s.mean;
      if (!s.queues.empty() && p.policy == "static-partitions") static_delay = s.queues.back().delay_s.mean;
    }
    if (unalloc_n > 0) best_unallocated = std::min(best_unallocated, unalloc_sum / unalloc_n);
  }
  state.counters["runs"] = static_cast<double>(runs);
  state.counters["threads"] = threads;
  state.counters["wall_s"] = seconds;
  state.counters["peak_rss_MiB"] = PeakRssMiB();
  state.counters["gangs_stranded"] = static_cast<double>(stranded);
  if (best_unallocated < 1e9) state.counters["best_unalloc_pct_at_100"] = best_unallocated;
  if (static_delay >= 0) state.counters["static_delay_mean_s"] = static_delay;
  if (cohort_delay >= 0) state.counters["cohort_delay_mean_s"] = cohort_delay;
}

void BM_OpenbDefaultTenSeedSweep(benchmark::State& state) { RunScenario(state, "openb-default-fgd.yaml"); }
void BM_PhillyFullReplay(benchmark::State& state) { RunScenario(state, "philly-per-vc.yaml"); }

BENCHMARK(BM_OpenbDefaultTenSeedSweep)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_PhillyFullReplay)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
