// Test fixtures: hand-described nodes and clusters whose right placements a reviewer can check by hand.
#pragma once

#include <string>
#include <vector>

#include "topology/hardware.h"
#include "topology/topology.h"

namespace platoon::topology::testing {

// A DGX H100: GPUs 0-3 and NICs 0-3 on NUMA node 0, GPUs 4-7 and NICs 4-7 on NUMA node 1, every GPU
// pair through NVSwitch (NV18), one 400 Gb/s rail NIC per GPU.
inline NodeHardware DgxH100(std::string name, std::vector<FabricPlacement> fabric) {
  NodeHardware hw;
  hw.name = std::move(name);
  hw.fabric = std::move(fabric);
  hw.gpu_model = "NVIDIA-H100-80GB-HBM3";
  hw.gpu_memory_mib = 81559;
  hw.gpu_count = 8;
  hw.cpu_milli = 224000;
  hw.memory_bytes = 2048LL << 30;
  for (int u = 0; u < 2; ++u) {
    NumaNode numa;
    numa.id = u;
    for (int c = 0; c < 56; ++c) numa.cpus.push_back(u * 56 + c);
    for (int g = 0; g < 4; ++g) numa.gpus.push_back(u * 4 + g);
    for (int i = 0; i < 4; ++i) numa.nics.push_back(u * 4 + i);
    hw.numa.push_back(numa);
  }
  for (int i = 0; i < 8; ++i) hw.nics.push_back({"mlx5_" + std::to_string(i), i / 4, 50.0, i});
  hw.gpu_links.resize(64);
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b)
      hw.gpu_links[static_cast<std::size_t>(a * 8 + b)] =
          a == b ? GpuLink{LinkKind::Self, 0, 0.0} : GpuLink{LinkKind::NVSwitch, 18, 450.0};
  return hw;
}

// A PCIe server: 4 GPUs, NVLink bridges on the pairs 0-1 and 2-3, GPUs 0,2 on NUMA 0 and 1,3 on NUMA 1
// (so the NVLink pairs cross sockets), one NIC per NUMA node.
inline NodeHardware PcieBridged(std::string name, std::vector<FabricPlacement> fabric) {
  NodeHardware hw;
  hw.name = std::move(name);
  hw.fabric = std::move(fabric);
  hw.gpu_model = "NVIDIA-A40";
  hw.gpu_memory_mib = 46068;
  hw.gpu_count = 4;
  hw.cpu_milli = 64000;
  hw.numa = {NumaNode{0, {0, 1, 2, 3}, {0, 2}, {0}}, NumaNode{1, {4, 5, 6, 7}, {1, 3}, {1}}};
  hw.nics = {{"eth0", 0, 25.0, -1}, {"eth1", 1, 25.0, -1}};
  const char* m[4][4] = {{"X", "NV4", "SYS", "SYS"}, {"NV4", "X", "SYS", "SYS"}, {"SYS", "SYS", "X", "NV4"}, {"SYS", "SYS", "NV4", "X"}};
  for (auto& row : m)
    for (const char* cell : row) hw.gpu_links.push_back(*ParseTopoLegend(cell, 25.0, 32.0, 20.0));
  return hw;
}

// `sus` scalable units of `nodes_per_su` DGX H100 nodes under one spine; levels spine > su.
inline std::vector<FabricLevel> SuLevels() {
  return {{"spine", "example.com/spine", 25.0, LinkKind::Fabric}, {"su", "example.com/su", 50.0, LinkKind::Fabric}};
}

inline Topology SuperPod(int sus, int nodes_per_su, int spines = 1) {
  std::vector<NodeHardware> nodes;
  for (int s = 0; s < sus; ++s) {
    for (int n = 0; n < nodes_per_su; ++n) {
      nodes.push_back(DgxH100("su" + std::to_string(s) + "-dgx" + std::to_string(n),
                              {{"spine", "spine" + std::to_string(s % spines)}, {"su", "su" + std::to_string(s)}}));
    }
  }
  return *Topology::Build(SuLevels(), std::move(nodes));
}

}  // namespace platoon::topology::testing
