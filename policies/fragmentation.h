// GPU fragmentation (the FGD measure, ATC'23 "Beware of Fragmentation"): how much free GPU capacity a
// node offers that the cluster's typical pods cannot use, and how a placement changes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "topology/devices.h"
#include "topology/hardware.h"

namespace platoon::policies {

// One pod shape of the workload and how often it arrives (weights need not sum to 1).
struct TaskShape {
  int gpus = 0;       // whole GPUs
  int gpu_milli = 0;  // a shared fraction, 1..999 (0 with gpus == 0: a CPU-only pod)
  std::int64_t cpu_milli = 0;
  std::int64_t memory_bytes = 0;
  std::vector<std::string> gpu_models;  // empty: any
  double weight = 1.0;
  friend bool operator==(const TaskShape&, const TaskShape&) = default;
};

// The current mix of pod shapes (the engine keeps it from the pods it sees).
struct WorkloadMix {
  std::vector<TaskShape> shapes;
  // Adds one observed pod (merging identical shapes).
  void Observe(const topology::DeviceRequest& pod, double weight = 1.0);
};

// What fragmentation needs to know of a node: free milli-GPU per GPU id (1000 = idle, MIG GPUs 0),
// free CPU and memory (0 capacity: not tracked), and the GPU model.
struct GpuNodeLoad {
  std::vector<int> free_milli;
  std::int64_t cpu_milli_free = 0;
  std::int64_t memory_free = 0;
  bool cpu_tracked = false;
  bool memory_tracked = false;
  std::string gpu_model;
};

GpuNodeLoad LoadOf(const topology::NodeHardware& hw, const topology::NodeDeviceState& state);

// Free milli-GPU on the node that `task` cannot use. When the task cannot run on the node at all
// (CPU, memory, model or GPU count), every free milli-GPU is a fragment; otherwise a GPU's free part is
// a fragment when it is smaller than what the task needs on one GPU (a partly used GPU, for a whole-GPU
// task). A CPU-only task uses no GPU, so all free GPU capacity is fragment for it.
double TaskFragmentation(const GpuNodeLoad& node, const TaskShape& task);

// The mix-weighted expected fragmentation (milli-GPU): sum of weight_m * F_n(m) / sum of weights.
double ExpectedFragmentation(const GpuNodeLoad& node, const WorkloadMix& mix);

// The load after `assignment` lands on the node.
GpuNodeLoad ApplyToLoad(GpuNodeLoad load, const topology::DeviceAssignment& assignment);

// The growth of expected fragmentation if `assignment` (for `pod`) lands on the node. Negative values
// mean the placement fills what was a fragment.
double FragmentationDelta(const GpuNodeLoad& before, const topology::DeviceAssignment& assignment,
                          const WorkloadMix& mix);

}  // namespace platoon::policies
