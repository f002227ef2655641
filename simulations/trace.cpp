// Plain values a trace loads into: derived totals.
#include "simulations/trace.h"

namespace platoon::sim {

std::int32_t TraceJob::TotalPods() const {
  std::int32_t n = 0;
  for (const auto& s : pod_sets) n += s.count;
  return n;
}

std::int64_t TraceJob::TotalGpuMilli() const {
  std::int64_t n = 0;
  for (const auto& s : pod_sets) n += std::int64_t{s.count} * s.GpuMilliPerPod();
  return n;
}

}  // namespace platoon::sim
