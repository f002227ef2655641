// Everything a scenario names, loaded: nodes, jobs, queues and published references, ready for the loop.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "simulations/csv.h"
#include "simulations/report.h"
#include "simulations/scenario.h"
#include "simulations/trace.h"

namespace platoon::sim {

// Label put on the nodes built for a Philly VC, so a driver can pin a static partition to them.
inline constexpr std::string_view kPhillyVcLabel = "platoon.io/philly-vc";

struct ScenarioInputs {
  std::string workload_name;        // "openb_pod_list_default", "philly-per-vc", the job list's stem
  std::vector<TraceNode> nodes;
  std::vector<TraceJob> jobs;       // trace order; replays: stable-sorted by arrival
  std::vector<TraceQueue> queues;   // ClusterQueues with their nominal GPUs; empty when none
  std::vector<ReferenceFigures> references;
  LoadReport report;                // rows loaded and skipped over the workload files
  std::vector<std::string> notes;   // attribution and caveats for the report
  std::vector<topology::FabricLevel> levels;  // from a topology file as the cluster; else empty
};

// Loads what the scenario names. Snapshots (kubectl_nodes, kubectl_pods) are read with platoon's
// cluster file loader, a topology file (cluster.topology) with its topology file loader: its nodes,
// their hardware and its fabric levels.
std::expected<ScenarioInputs, LoadError> LoadScenarioInputs(const Scenario& scenario);

// 8-GPU nodes for each VC ("philly-<vc>-<i>", labelled kPhillyVcLabel=<vc>), in VC file order.
std::vector<TraceNode> PhillyNodes(const std::vector<TraceQueue>& vcs, std::int32_t gpus_per_node);

// The report skeleton for a scenario: names, cluster GPUs, references and notes; the caller adds the
// policies' runs.
SimulationReport MakeReport(const Scenario& scenario, const ScenarioInputs& inputs);

}  // namespace platoon::sim
