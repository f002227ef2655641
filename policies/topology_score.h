// Score policies that look inside nodes (GPUs, NUMA, NVLink): fragmentation (FGD), BestFit packing and
// topology locality, built by name.
#pragma once

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/fragmentation.h"
#include "policies/score_policy.h"
#include "topology/devices.h"
#include "topology/hardware.h"

namespace platoon::policies {

// What a device-aware policy may read about one candidate node. Borrowed, valid for the call.
struct DeviceNodeView {
  const topology::NodeHardware& hardware;
  const topology::NodeDeviceState& state;
};

// A score policy that ranks a node by the devices a pod would get there. It still answers the plain
// ScorePolicy call, treating the node's free nvidia.com/gpu as idle whole GPUs, for callers that only
// have resource sums.
class DeviceScorePolicy : public ScorePolicy {
 public:
  // 0..kMaxNodeScore, higher is better; 0 when the pod does not fit the node's devices. Pure, const.
  virtual int ScoreDevices(const topology::DeviceRequest& pod, const DeviceNodeView& node) const = 0;
  int Score(const ResourceList& pod_request, const NodeResourceView& node) const override;
};

// FGD: prefers the node (and, through the device choice, the GPU) where the pod increases the expected
// fragmentation of the current workload mix the least. The mix is shared with the engine, which keeps
// it current; the policy only reads it.
class FragmentationGradient final : public DeviceScorePolicy {
 public:
  explicit FragmentationGradient(std::shared_ptr<const WorkloadMix> mix) : mix_(std::move(mix)) {}
  std::string_view Name() const override { return "FGD"; }
  int ScoreDevices(const topology::DeviceRequest& pod, const DeviceNodeView& node) const override;
  // The raw growth of expected fragmentation in milli-GPU (lower is better); nullopt: does not fit.
  std::optional<double> Delta(const topology::DeviceRequest& pod, const DeviceNodeView& node) const;

 private:
  std::shared_ptr<const WorkloadMix> mix_;
};

// BestFit: the node left with the least free capacity after the pod (mean of the remaining share of
// GPU milli, CPU and memory over the resources the node tracks), as the FGD paper's baseline.
class BestFit final : public DeviceScorePolicy {
 public:
  std::string_view Name() const override { return "BestFit"; }
  int ScoreDevices(const topology::DeviceRequest& pod, const DeviceNodeView& node) const override;
};

// TopologyLocality: the node where the pod's GPUs are best connected: the device choice's weakest link
// relative to the best link of the node, with a bonus for one NUMA node.
class TopologyLocality final : public DeviceScorePolicy {
 public:
  std::string_view Name() const override { return "TopologyLocality"; }
  int ScoreDevices(const topology::DeviceRequest& pod, const DeviceNodeView& node) const override;
};

static_assert(std::derived_from<FragmentationGradient, ScorePolicy>);
static_assert(std::derived_from<BestFit, ScorePolicy>);
static_assert(std::derived_from<TopologyLocality, ScorePolicy>);

// Builds a device-aware score policy by name: "FGD" (alias "Fragmentation"), "BestFit",
// "TopologyLocality". `mix` is required by FGD. Unknown names list the known ones.
std::expected<std::unique_ptr<DeviceScorePolicy>, std::string> MakeDeviceScorePolicy(
    std::string_view name, std::shared_ptr<const WorkloadMix> mix = nullptr);
std::vector<std::string> DeviceScorePolicyNames();

}  // namespace platoon::policies
