// `platoon simulate`'s loop: every (policy, seed) of a scenario run on the engine with a virtual clock.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "quota/model.h"
#include "simulations/engine_driver.h"
#include "simulations/fgd_protocol.h"
#include "simulations/metrics.h"
#include "simulations/report.h"
#include "simulations/scenario.h"
#include "simulations/scenario_inputs.h"

namespace platoon::sim {

// The FGD protocol on the engine: nodes added in the workload's order, then each pod offered once as
// kube-scheduler would (default filters, the extender filter, bind); a pod that does not fit is
// dropped. Records an AllocationPoint after each pod, with FGD's fragmentation of the idle GPUs
// measured against the whole workload's mix of pod shapes.
RunResult RunFgd(const ScenarioPolicy& policy, const PolicySettings& settings, std::uint64_t seed,
                 const std::vector<TraceNode>& nodes, const FgdWorkload& workload);

// A trace replay: jobs submitted at their arrival times, finishing duration_ms after their whole gang
// started; evicted jobs restart from scratch (their record counts the preemption). Quota from `quota`.
struct ReplaySetup {
  const std::vector<TraceNode>* nodes = nullptr;
  const std::vector<TraceJob>* jobs = nullptr;  // sorted by arrival
  std::optional<quota::QuotaConfig> quota;
  std::int64_t sample_interval_ms = 3'600'000;
  std::vector<topology::FabricLevel> levels;  // the engine's fabric levels (from a Kueue Topology)
};
RunResult RunReplay(const ScenarioPolicy& policy, const PolicySettings& settings, std::uint64_t seed,
                    const ReplaySetup& setup);

struct SimulateOptions {
  int threads = 1;  // runs (policy x seed) in parallel; results do not depend on it
  // Called after each finished run with (runs done, runs in all), from any thread, serialised.
  std::function<void(std::size_t, std::size_t)> on_progress;
};

// Runs every policy and seed of the scenario and returns the report (MakeReport plus the runs, in
// scenario order). Errors: a policy's options, the Kueue manifests, an FGD workload that cannot be
// generated.
std::expected<SimulationReport, std::string> Simulate(const Scenario& scenario, const ScenarioInputs& inputs,
                                                      const SimulateOptions& options = {});

}  // namespace platoon::sim
