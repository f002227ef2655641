// Plain values a trace loads into: nodes, jobs (gangs of pods) and queues, ready for the simulation loop.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <optional>

#include "quota/resources.h"
#include "scheduler/model.h"
#include "topology/hardware.h"

namespace platoon::sim {

// A GPU is shared in milli-units: 1000 is a whole device (Alibaba's gpu_milli, open-gpu-share).
inline constexpr std::int32_t kWholeGpuMilli = 1000;
// duration_ms of a job that never departs (the FGD protocol's pods).
inline constexpr std::int64_t kNeverDeparts = -1;
// Memory in traces is in MiB; ResourceList keeps bytes.
inline constexpr std::int64_t kBytesPerMiB = 1024 * 1024;

// One machine of a trace's cluster.
struct TraceNode {
  std::string name;
  ResourceList capacity;  // cpu (milli), memory (bytes), nvidia.com/gpu (devices)
  std::int32_t gpus = 0;
  std::string gpu_model;  // "" for a node without GPUs
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  // From a `kubectl get nodes -o json` snapshot: the Node as the API server had it (taints,
  // unschedulable, every label), used instead of one built from the fields above.
  std::optional<Node> snapshot;
  // From the snapshot's NodeResourceTopology object: the node's NUMA zones (empty: from its labels).
  std::vector<topology::NrtZone> zones;
  // From a topology file: the node's full description (NUMA, NICs, NVLink matrix, fabric path).
  std::optional<topology::NodeHardware> hardware;
  friend bool operator==(const TraceNode&, const TraceNode&) = default;
};

// `count` identical pods, as a Kueue PodSet.
struct PodSet {
  std::int32_t count = 1;
  // Per pod: cpu (milli) and memory (bytes) where the trace has them, and nvidia.com/gpu for whole
  // devices. A pod sharing a GPU (gpu_milli < 1000) carries no nvidia.com/gpu entry: its share is
  // gpus x gpu_milli below, which is what the engine places.
  ResourceList request;
  std::int32_t gpus = 0;                     // GPU devices per pod
  std::int32_t gpu_milli = kWholeGpuMilli;   // share of each of those devices, 1..1000
  std::int64_t GpuMilliPerPod() const { return std::int64_t{gpus} * gpu_milli; }
  friend bool operator==(const PodSet&, const PodSet&) = default;
};

// One job of a trace: a gang of one or more pods admitted all or nothing.
struct TraceJob {
  std::string name;
  std::string queue;                    // ClusterQueue (Philly: the VC); "" when the trace has none
  std::int64_t arrival_ms = 0;          // virtual time of submission
  std::int64_t duration_ms = kNeverDeparts;  // running time once all pods run
  std::vector<PodSet> pod_sets;
  std::vector<std::string> gpu_models;  // allowed GPU models (any of them); empty: any model
  std::string qos;                      // Alibaba qos (LS, BE, Burstable, Guaranteed); "" if none
  std::string model_name;               // Philly's (synthetic) model name; "" if none
  double work_gpu_seconds = 0;          // Philly `service`; 0 when the trace has none
  std::int64_t trace_scheduled_ms = -1; // when the trace says it was scheduled; -1 if unknown
  // From a pod snapshot: the pods as the API server had them (namespace, labels, affinity,
  // tolerations, priority; node_name set for a pod already running), used instead of pods built
  // from pod_sets (which still describe their requests for the metrics).
  std::vector<Pod> snapshot_pods;

  std::int32_t TotalPods() const;
  std::int64_t TotalGpuMilli() const;
  bool IsGang() const { return TotalPods() > 1; }
  friend bool operator==(const TraceJob&, const TraceJob&) = default;
};

// A queue a trace names, with its guaranteed share (Philly VC sizes).
struct TraceQueue {
  std::string name;
  std::int32_t nodes = 0;
  std::int64_t gpus = 0;
  friend bool operator==(const TraceQueue&, const TraceQueue&) = default;
};

}  // namespace platoon::sim
