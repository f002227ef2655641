// Device requests, per-device accounting on a node, and the choice of GPUs/NICs/NUMA node for a pod.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quota/resources.h"
#include "topology/hardware.h"

namespace platoon::topology {

// KAI Scheduler's pod annotations for shared GPUs: `gpu-fraction` ("0.5": half of one GPU),
// `gpu-fraction-num-devices` (the same fraction on N GPUs) and `gpu-memory` (MiB of one GPU).
inline constexpr std::string_view kGpuFractionAnnotation = "gpu-fraction";
inline constexpr std::string_view kGpuFractionDevicesAnnotation = "gpu-fraction-num-devices";
inline constexpr std::string_view kGpuMemoryAnnotation = "gpu-memory";
inline constexpr std::string_view kMigResourcePrefix = "nvidia.com/mig-";
inline constexpr int kMilliPerGpu = 1000;

// What one pod needs from a node's devices. Exactly one of whole GPUs, a shared fraction, or MIG
// instances is usual; whole + MIG together is allowed (both are then taken).
struct DeviceRequest {
  int gpus = 0;                       // whole GPUs (nvidia.com/gpu)
  int gpu_milli = 0;                  // shared fraction of a GPU in 1/1000 (KAI gpu-fraction x 1000)
  int fraction_devices = 1;           // the fraction is taken on this many distinct GPUs
  std::int64_t gpu_memory_mib = 0;    // KAI gpu-memory; turned into milli against each node's GPU memory
  std::vector<std::pair<std::string, int>> mig;  // MIG profile ("1g.10gb") -> instances
  std::vector<std::string> gpu_models;           // allowed GPU models; empty: any
  std::int64_t cpu_milli = 0;
  std::int64_t memory_bytes = 0;

  bool NeedsGpu() const { return gpus > 0 || gpu_milli > 0 || gpu_memory_mib > 0 || !mig.empty(); }
  int GpuEquivalents() const;  // whole GPUs this request takes off the free count (fractions round up)
  friend bool operator==(const DeviceRequest&, const DeviceRequest&) = default;
};

using Annotations = Labels;

// Reads a pod's device needs from its summed container requests and annotations (KAI fraction
// convention; `nvidia.com/mig-<profile>` resources). Rejects malformed values with the reason.
std::expected<DeviceRequest, std::string> DeviceRequestFromPod(const ResourceList& requests,
                                                               const Annotations& annotations);

struct MigInstanceRef {
  int gpu = 0;
  int instance = 0;
  friend bool operator==(const MigInstanceRef&, const MigInstanceRef&) = default;
  friend auto operator<=>(const MigInstanceRef&, const MigInstanceRef&) = default;
};

// The devices chosen for one pod on one node. Travels as a Binding annotation later.
struct DeviceAssignment {
  std::vector<int> gpus;            // whole GPUs, ascending
  std::vector<int> shared_gpus;     // GPUs holding the fraction, ascending
  int gpu_milli = 0;                // the fraction taken on each shared GPU
  std::vector<MigInstanceRef> mig;  // MIG instances taken
  std::vector<int> nics;            // NICs local to the chosen GPUs (not consumed)
  int numa = -1;                    // NUMA index when everything sits on one NUMA node, else -1
  std::int64_t cpu_milli = 0;
  std::int64_t memory_bytes = 0;
  double bottleneck_gbps = 0.0;     // weakest GPU-to-GPU link among `gpus` (0 for fewer than two)
  friend bool operator==(const DeviceAssignment&, const DeviceAssignment&) = default;
};

// Per-device use of one node. Regular value; the Topology owns one per node.
struct NodeDeviceState {
  std::vector<std::uint8_t> whole;           // per GPU: taken whole
  std::vector<std::int16_t> milli;           // per GPU: shared milli-GPU in use
  std::vector<std::vector<std::uint8_t>> mig;  // per GPU, per MIG instance: taken
  std::int64_t cpu_milli = 0;
  std::int64_t memory_bytes = 0;

  static NodeDeviceState For(const NodeHardware& hw);
  bool GpuFree(int g) const { return !whole[static_cast<std::size_t>(g)] && milli[static_cast<std::size_t>(g)] == 0; }
  friend bool operator==(const NodeDeviceState&, const NodeDeviceState&) = default;
};

int FreeWholeGpus(const NodeHardware& hw, const NodeDeviceState& state);

// Whether the node's GPU model is one the request accepts.
bool ModelAllowed(const NodeHardware& hw, const DeviceRequest& req);

// Chooses devices for one pod on one node: whole GPUs maximising the weakest NVLink/PCIe link, then
// on as few NUMA nodes as possible, then packing the NUMA node with the fewest free GPUs; shared
// fractions best-fit on the fullest GPU that still has room; MIG instances packed. Does not modify
// state. Fails with the reason when the node cannot host the pod.
std::expected<DeviceAssignment, std::string> ChooseDevices(const NodeHardware& hw, const NodeDeviceState& state,
                                                           const DeviceRequest& req);

// Applies an assignment to a state after checking every device is free. All or nothing.
std::expected<void, std::string> Apply(const NodeHardware& hw, NodeDeviceState& state, const DeviceAssignment& a);
// Reverts an assignment after checking every device is held. All or nothing.
std::expected<void, std::string> Revert(const NodeHardware& hw, NodeDeviceState& state, const DeviceAssignment& a);

// How many pods of `req` the node can still take, capped at `limit`; O(GPUs). Exact for requests
// of one kind (whole, fraction or MIG), a safe lower bound for mixed ones.
int Capacity(const NodeHardware& hw, const NodeDeviceState& state, const DeviceRequest& req, int limit);

// The milli-GPU a request takes on each shared GPU of this node (gpu-memory converted).
int EffectiveMilli(const NodeHardware& hw, const DeviceRequest& req);

}  // namespace platoon::topology
