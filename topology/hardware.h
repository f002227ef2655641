// Node hardware as plain values: GPUs, NUMA nodes, NICs, NVLink matrix, MIG layout, fabric path.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "quota/resources.h"

namespace platoon::topology {

// The kind of a link, in the words of `nvidia-smi topo -m` plus the fabric above the node.
// Ordered from the closest connection to the farthest.
enum class LinkKind : std::uint8_t {
  Self,      // X: the device itself
  NVSwitch,  // all-to-all NVLink through NVSwitch (HGX/DGX baseboards)
  NVLink,    // NV#: # direct NVLink lanes (bonded)
  PIX,       // at most one PCIe bridge
  PXB,       // several PCIe bridges, no host bridge
  PHB,       // through a PCIe host bridge (the CPU)
  Node,      // across host bridges within one NUMA node
  Sys,       // across NUMA nodes (QPI/UPI/Infinity Fabric)
  Fabric,    // between nodes: InfiniBand / RoCE / multi-node NVLink, through the fabric levels
};

std::string_view LinkKindName(LinkKind kind);

// A GPU-to-GPU link as the matrix of `nvidia-smi topo -m` describes it, with its bandwidth in GB/s
// (one direction).
struct GpuLink {
  LinkKind kind = LinkKind::Sys;
  int lanes = 0;       // NVLink lanes for NV#; 0 otherwise
  double gbps = 0.0;   // GB/s, one direction
  friend bool operator==(const GpuLink&, const GpuLink&) = default;
};

// Parses one cell of the `nvidia-smi topo -m` legend: X, NV<n>, PIX, PXB, PHB, NODE, SYS.
// Bandwidth is filled from `nvlink_gbps_per_lane` and `pcie_gbps` (NODE/SYS take `sys_gbps`).
std::expected<GpuLink, std::string> ParseTopoLegend(std::string_view cell, double nvlink_gbps_per_lane,
                                                    double pcie_gbps, double sys_gbps);

// One level of the fabric above the nodes (Kueue Topology.levels[] style), top to bottom.
// `gbps` is the per-GPU bandwidth between two nodes whose lowest shared domain is at this level.
struct FabricLevel {
  std::string name;        // "block", "rack", "nvl72", ...
  std::string node_label;  // the node label key carrying the domain name (may be empty for files)
  double gbps = 0.0;
  LinkKind kind = LinkKind::Fabric;
  friend bool operator==(const FabricLevel&, const FabricLevel&) = default;
};

// Ready level lists for clouds that publish their network topology as node labels.
std::vector<FabricLevel> AwsFabricLevels();   // topology.k8s.aws/network-node-layer-1..3
std::vector<FabricLevel> GkeFabricLevels();   // cloud.google.com/gce-topology-block/subblock/host
// GB200-style multi-node NVLink domain: nvidia.com/gpu.clique as the lowest level.
FabricLevel NvlinkCliqueLevel(double gbps = 900.0);

struct FabricPlacement {
  std::string level;
  std::string domain;
  friend bool operator==(const FabricPlacement&, const FabricPlacement&) = default;
};

struct NumaNode {
  int id = 0;
  std::vector<int> cpus;  // logical CPU ids
  std::vector<int> gpus;  // GPU indices of this node
  std::vector<int> nics;  // NIC indices of this node
  friend bool operator==(const NumaNode&, const NumaNode&) = default;
};

struct Nic {
  std::string name;
  int numa = 0;
  double gbps = 0.0;  // GB/s, one direction (400 Gb/s NDR = 50)
  int rail = -1;      // rail index on rail-optimised fabrics, -1 when not railed
  friend bool operator==(const Nic&, const Nic&) = default;
};

// Everything platoon knows about one node's hardware. Regular value type; built from labels,
// NodeResourceTopology zones or a topology file, then finalised by `Finalize`.
struct NodeHardware {
  std::string name;
  std::vector<FabricPlacement> fabric;  // top to bottom, one entry per configured level
  std::string gpu_model;                // GFD nvidia.com/gpu.product or the trace's model
  std::int64_t gpu_memory_mib = 0;
  int gpu_count = 0;
  std::vector<NumaNode> numa;
  std::vector<Nic> nics;
  std::vector<GpuLink> gpu_links;          // gpu_count x gpu_count, row-major
  std::vector<std::vector<std::string>> mig;  // per GPU: MIG instances by profile ("1g.10gb"); empty: whole GPU
  std::int64_t cpu_milli = 0;             // allocatable
  std::int64_t memory_bytes = 0;          // allocatable
  std::string unusable_reason;            // non-empty: the node takes no placements

  // Derived by Finalize.
  std::vector<int> gpu_numa;        // NUMA index (position in `numa`) of each GPU
  std::vector<double> gpu_egress;   // best GB/s from each GPU out of the node through a NIC

  bool usable() const { return unusable_reason.empty(); }
  const GpuLink& Link(int a, int b) const { return gpu_links[static_cast<std::size_t>(a * gpu_count + b)]; }
  bool IsMig(int gpu) const { return !mig.empty() && !mig[static_cast<std::size_t>(gpu)].empty(); }

  friend bool operator==(const NodeHardware&, const NodeHardware&) = default;
};

// Checks and completes a NodeHardware: GPU indices in range and on exactly one NUMA node, link matrix
// square and symmetric with X on the diagonal, NICs with bandwidth. Fills missing parts with safe
// defaults (one NUMA node holding every GPU; PHB links) and computes the derived fields.
// On inconsistency returns the reason (the caller marks the node unusable or rejects the file).
std::expected<void, std::string> Finalize(NodeHardware& hw);

using Labels = std::map<std::string, std::string, std::less<>>;

// Builds a node from its labels (GPU Feature Discovery, fabric level keys) and allocatable resources.
// Never fails: a node whose labels contradict each other comes back with `unusable_reason` set.
NodeHardware HardwareFromLabels(std::string name, const Labels& labels, const ResourceList& allocatable,
                                const std::vector<FabricLevel>& levels);

// One zone of a NodeResourceTopology object (topology.node.k8s.io); type "Node" zones are NUMA nodes.
struct NrtZone {
  std::string name;  // "node-0"
  std::string type;  // "Node"
  ResourceList capacity;
  friend bool operator==(const NrtZone&, const NrtZone&) = default;
};

// Replaces the NUMA layout of `hw` with the zones' (CPU counts and GPUs per zone). Marks the node
// unusable when the zones disagree with what the labels said (GPU totals).
void ApplyNodeResourceTopology(NodeHardware& hw, const std::vector<NrtZone>& zones);

// Merges the two views of one node: the topology file's detail (NUMA layout, NICs, link matrix, MIG
// layout, fabric path) and the live view built from labels (allocatable CPU and memory, model, and
// whether the node is usable now). The file wins on structure, the labels on what is offered now; a
// disagreement on the GPU count or model marks the result unusable with both numbers.
NodeHardware MergeFileAndLabels(const NodeHardware& from_file, const NodeHardware& from_labels);

// Default bandwidths (GB/s, one direction) used when a source gives none.
inline constexpr double kNvlinkGbpsPerLane = 25.0;  // NVLink 4
inline constexpr double kPcieGbps = 32.0;           // PCIe Gen4 x16
inline constexpr double kSysGbps = 20.0;            // across sockets

}  // namespace platoon::topology
