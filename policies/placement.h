// Placement policies: which node the engine gives a pod (or a gang that fits on one node) among the
// nodes that can hold it. The FGD paper's baselines and platoon's own, built by name.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policies/fragmentation.h"
#include "policies/score_policy.h"
#include "topology/devices.h"
#include "topology/hardware.h"

namespace platoon::policies {

// What the devices of a node would look like after `count` pods of `req` land there, as the device
// choice would take them: whole GPUs from the idle ones, a fraction (or gpu-memory, in this node's
// milli) best-fit on the fullest GPU that still has room (ChooseDevices' rules; which idle GPU is taken
// does not change these loads).
GpuNodeLoad LoadAfter(const topology::NodeHardware& hw, GpuNodeLoad load, const topology::DeviceRequest& req,
                      int count);

// The mean free share (GPU milli, CPU, memory, over those the node tracks; 0 when none) the node is
// left with after `count` pods of `req`: what BestFit minimises.
double FreeShareAfter(const topology::NodeHardware& hw, const topology::NodeDeviceState& state,
                      const topology::DeviceRequest& req, int count);

// Ranks the nodes that can hold a placement; lower cost wins. Not thread-safe (policies cache).
class PlacementPolicy : public Policy {
 public:
  // Every pod the engine learns of, once (the workload mix FGD weighs against).
  virtual void Observe(const topology::DeviceRequest& pod) { (void)pod; }
  // The cost of placing `count` pods of `req` on node `node`. `version` changes whenever the node's
  // hardware or state does and never repeats (Topology::StateVersion), so policies may cache on it.
  // Called only for nodes that can hold them.
  virtual double Cost(std::uint32_t node, std::uint64_t version, const topology::NodeHardware& hw,
                      const topology::NodeDeviceState& state, const topology::DeviceRequest& req, int count) = 0;
};

// Names, as the FGD paper's table names its baselines, plus platoon's:
//   fgd             growth of expected fragmentation of the observed workload mix (ATC'23 FGD)
//   best-fit        least free share left (mean of GPU milli, CPU and memory), the paper's BestFit
//   dot-product     largest dot product of the request and the node's free share (Tetris, DotProd)
//   gpu-packing     partly used GPUs first, then used nodes, then idle nodes (GpuPacking)
//   gpu-clustering  nodes already running pods of the same kind (shared or whole GPUs) (GpuClustering)
//   random          uniform among the fitting nodes, seeded
//   spread          most free GPU milli left (LeastAllocated on GPUs)
//   fgd-pack        platoon: FGD's growth, ties and near-ties broken towards the node left fullest
// Unknown names are an error that lists the known ones.
std::expected<std::unique_ptr<PlacementPolicy>, std::string> MakePlacementPolicy(std::string_view name,
                                                                                  std::uint64_t seed = 0);
std::vector<std::string> PlacementPolicyNames();

}  // namespace platoon::policies
