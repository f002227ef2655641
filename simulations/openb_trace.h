// Loaders for Alibaba's 2023 GPU trace ("openb"): node list and pod lists, as the FGD paper used them.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "simulations/csv.h"
#include "simulations/trace.h"

namespace platoon::sim {

struct OpenbNodes {
  std::vector<TraceNode> nodes;  // in file order
  LoadReport report;
};

struct OpenbPods {
  std::vector<TraceJob> pods;    // in file order; each a job of one pod (no cross-node gangs here)
  LoadReport report;
};

// `sn,cpu_milli,memory_mib,gpu,model`. model is "" (or "nan") for CPU-only nodes and required when
// gpu > 0.
std::expected<OpenbNodes, LoadError> LoadOpenbNodes(const std::string& path,
                                                    const LoadOptions& options = {});
std::expected<OpenbNodes, LoadError> ParseOpenbNodes(CsvReader reader, const LoadOptions& options = {});

// `name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,qos,pod_phase,creation_time,deletion_time,
// scheduled_time]` (the multigpu lists have only the first five). Checks the upstream README's
// rules: num_gpu 0..8; gpu_milli 0 for CPU-only pods, 1..1000 otherwise, and below 1000 only when
// num_gpu == 1; gpu_spec is a '|'-separated list of models ("" or "nan": any); deletion_time not
// before creation_time; names unique. arrival_ms = creation_time, duration_ms = deletion - creation
// (kNeverDeparts without times).
std::expected<OpenbPods, LoadError> LoadOpenbPods(const std::string& path,
                                                  const LoadOptions& options = {});
std::expected<OpenbPods, LoadError> ParseOpenbPods(CsvReader reader, const LoadOptions& options = {});

}  // namespace platoon::sim
