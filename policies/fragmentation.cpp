// GPU fragmentation measure of FGD, over plain per-GPU loads.
#include "policies/fragmentation.h"

#include <algorithm>

namespace platoon::policies {

void WorkloadMix::Observe(const topology::DeviceRequest& pod, double weight) {
  TaskShape s{pod.gpus, pod.gpu_milli, pod.cpu_milli, pod.memory_bytes, pod.gpu_models, weight};
  for (auto& existing : shapes) {
    if (existing.gpus == s.gpus && existing.gpu_milli == s.gpu_milli && existing.cpu_milli == s.cpu_milli &&
        existing.memory_bytes == s.memory_bytes && existing.gpu_models == s.gpu_models) {
      existing.weight += weight;
      return;
    }
  }
  shapes.push_back(std::move(s));
}

GpuNodeLoad LoadOf(const topology::NodeHardware& hw, const topology::NodeDeviceState& state) {
  GpuNodeLoad load;
  load.gpu_model = hw.gpu_model;
  load.cpu_tracked = hw.cpu_milli > 0;
  load.memory_tracked = hw.memory_bytes > 0;
  load.cpu_milli_free = hw.cpu_milli - state.cpu_milli;
  load.memory_free = hw.memory_bytes - state.memory_bytes;
  if (!hw.usable()) return load;
  for (int g = 0; g < hw.gpu_count; ++g) {
    if (hw.IsMig(g)) {  // MIG instances are not shared capacity; kept so indices match GPU ids
      load.free_milli.push_back(0);
      continue;
    }
    const auto gi = static_cast<std::size_t>(g);
    load.free_milli.push_back(state.whole[gi] ? 0 : topology::kMilliPerGpu - state.milli[gi]);
  }
  return load;
}

namespace {

// Per-load sums computed once and shared by every task shape.
struct LoadSummary {
  double total = 0;  // free milli-GPU
  int idle = 0;      // GPUs entirely free
  int max_free = 0;
};

LoadSummary Summarize(const GpuNodeLoad& node) {
  LoadSummary s;
  for (int f : node.free_milli) {
    s.total += f;
    s.idle += f == topology::kMilliPerGpu ? 1 : 0;
    s.max_free = std::max(s.max_free, f);
  }
  return s;
}

double Fragmentation(const GpuNodeLoad& node, const LoadSummary& sum, const TaskShape& task) {
  if (node.cpu_tracked && task.cpu_milli > node.cpu_milli_free) return sum.total;
  if (node.memory_tracked && task.memory_bytes > node.memory_free) return sum.total;
  if (task.gpus == 0 && task.gpu_milli == 0) return sum.total;  // a CPU-only task uses no GPU
  if (!task.gpu_models.empty() && std::ranges::find(task.gpu_models, node.gpu_model) == task.gpu_models.end())
    return sum.total;
  if (task.gpus > 0) {
    if (sum.idle < task.gpus) return sum.total;
    return sum.total - static_cast<double>(sum.idle) * topology::kMilliPerGpu;  // the partly used GPUs
  }
  if (sum.max_free < task.gpu_milli) return sum.total;
  double frag = 0;
  for (int f : node.free_milli) {
    if (f < task.gpu_milli) frag += f;
  }
  return frag;
}

}  // namespace

double TaskFragmentation(const GpuNodeLoad& node, const TaskShape& task) {
  return Fragmentation(node, Summarize(node), task);
}

double ExpectedFragmentation(const GpuNodeLoad& node, const WorkloadMix& mix) {
  const LoadSummary sum = Summarize(node);
  double total = 0, weights = 0;
  for (const auto& s : mix.shapes) {
    if (s.weight <= 0) continue;
    total += s.weight * Fragmentation(node, sum, s);
    weights += s.weight;
  }
  return weights > 0 ? total / weights : 0.0;
}

GpuNodeLoad ApplyToLoad(GpuNodeLoad after, const topology::DeviceAssignment& a) {
  auto at = [&](int g) -> int* {
    return g >= 0 && static_cast<std::size_t>(g) < after.free_milli.size() ? &after.free_milli[static_cast<std::size_t>(g)]
                                                                            : nullptr;
  };
  for (int g : a.gpus)
    if (int* f = at(g)) *f = 0;
  for (int g : a.shared_gpus)
    if (int* f = at(g)) *f = std::max(0, *f - a.gpu_milli);
  after.cpu_milli_free -= a.cpu_milli;
  after.memory_free -= a.memory_bytes;
  return after;
}

double FragmentationDelta(const GpuNodeLoad& before, const topology::DeviceAssignment& a, const WorkloadMix& mix) {
  return ExpectedFragmentation(ApplyToLoad(before, a), mix) - ExpectedFragmentation(before, mix);
}

}  // namespace platoon::policies
