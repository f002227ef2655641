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

bool Fits(const GpuNodeLoad& node, const TaskShape& task) {
  if (node.cpu_tracked && task.cpu_milli > node.cpu_milli_free) return false;
  if (node.memory_tracked && task.memory_bytes > node.memory_free) return false;
  const bool needs_gpu = task.gpus > 0 || task.gpu_milli > 0;
  if (needs_gpu && !task.gpu_models.empty() &&
      std::ranges::find(task.gpu_models, node.gpu_model) == task.gpu_models.end())
    return false;
  if (task.gpus > 0) {
    const auto idle = std::ranges::count(node.free_milli, topology::kMilliPerGpu);
    if (idle < task.gpus) return false;
  }
  if (task.gpu_milli > 0) {
    if (std::ranges::none_of(node.free_milli, [&](int f) { return f >= task.gpu_milli; })) return false;
  }
  return true;
}

}  // namespace

double TaskFragmentation(const GpuNodeLoad& node, const TaskShape& task) {
  double total = 0;
  for (int f : node.free_milli) total += f;
  if (!Fits(node, task)) return total;
  if (task.gpus == 0 && task.gpu_milli == 0) return total;
  const int need = task.gpus > 0 ? topology::kMilliPerGpu : task.gpu_milli;
  double frag = 0;
  for (int f : node.free_milli) {
    if (f < need) frag += f;
  }
  return frag;
}

double ExpectedFragmentation(const GpuNodeLoad& node, const WorkloadMix& mix) {
  double sum = 0, weights = 0;
  for (const auto& s : mix.shapes) {
    if (s.weight <= 0) continue;
    sum += s.weight * TaskFragmentation(node, s);
    weights += s.weight;
  }
  return weights > 0 ? sum / weights : 0.0;
}

double FragmentationDelta(const GpuNodeLoad& before, const topology::DeviceAssignment& a, const WorkloadMix& mix) {
  GpuNodeLoad after = before;
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
  return ExpectedFragmentation(after, mix) - ExpectedFragmentation(before, mix);
}

}  // namespace platoon::policies
