// A small, hand-checkable simulation report shared by the report tests.
#pragma once

#include "simulations/report.h"

namespace platoon::sim::testing {

// Two policies, one seed each, FGD-style allocation points and a short utilisation series, with
// one published reference.
inline SimulationReport SampleReport() {
  SimulationReport r;
  r.scenario = "sample";
  r.workload = "openb_pod_list_default";
  r.protocol = "fgd";
  r.cluster_gpus = 10;
  for (int p = 0; p < 2; ++p) {
    PolicyRuns runs;
    runs.policy = p == 0 ? "binpack" : "spread";
    RunResult run;
    run.policy = runs.policy;
    run.seed = 42;
    run.cluster_gpu_milli = 10'000;
    for (int k = 1; k <= 130; ++k) {
      const std::int64_t arrived = k * 100;
      const std::int64_t cap = p == 0 ? 9'550 : 9'000;
      run.allocation.push_back({arrived, std::min(arrived, cap), p == 0 ? 300 : 500});
    }
    for (int t = 0; t < 5; ++t) {
      run.utilisation.push_back({t * 3'600'000LL, 5'000 + 1'000 * t * (p + 1) / 2, 10'000, 3 - t / 2, 2 + t});
    }
    run.jobs = {{"team-a", 0, 60'000, 60'000, 3'660'000, 0, 8}, {"team-b", 0, 7'200'000, 7'200'000, 9'000'000, 1, 1}};
    run.preemptions = p;
    runs.runs.push_back(std::move(run));
    r.policies.push_back(std::move(runs));
  }
  r.references.push_back({"FGD paper", "FGD", {{"unallocated_gpu_pct_mean", 4.77}, {"gpu_alloc_pct_mean@100", 95.23},
                                               {"frag_over_total_pct_mean@50", 3.1}, {"frag_over_total_pct_mean@100", 4.2}}});
  r.notes = {"Sample data <for tests> & nothing else."};
  return r;
}

}  // namespace platoon::sim::testing
