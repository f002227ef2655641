// The engine's fabric levels: from PlatoonConfig's `topology:` section, else from the Kueue Topology
// that the quota files define (what Kueue's topology-aware scheduling users already have).
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "quota/model.h"
#include "topology/hardware.h"

namespace platoon::config {

struct TopologySettings {
  std::vector<topology::FabricLevel> levels;  // explicit levels, top to bottom
  std::string preset;                         // "gke", "aws" or "" (none)
  std::string kueue_topology;                 // the name of a Kueue Topology in the quota files
  std::string file;                           // a topology file (levels and per-node hardware), resolved
  bool nvlink_cliques = false;                // nvidia.com/gpu.clique as the lowest level
  friend bool operator==(const TopologySettings&, const TopologySettings&) = default;
};

// The built-in level lists by preset name; error names the known presets.
std::expected<std::vector<topology::FabricLevel>, std::string> PresetFabricLevels(std::string_view preset);

// A Kueue Topology's levels: each level is named by its node label (as Kueue's
// podset-required-topology annotations name them); kubernetes.io/hostname is the node itself and is
// not a fabric level. Per-GPU bandwidth is unknown there: 50 GB/s at the lowest level, halving upwards.
std::vector<topology::FabricLevel> LevelsOfKueueTopology(const quota::KueueTopology& topology);

// "block (cloud.google.com/gce-topology-block) > rack (...)", or "none".
std::string DescribeFabricLevels(const std::vector<topology::FabricLevel>& levels);

// Levels without a bandwidth (gbps 0) get one: 50 GB/s per GPU at the lowest fabric level, halving
// upwards; NVLink levels 900 GB/s.
void FillMissingBandwidths(std::vector<topology::FabricLevel>& levels);

// In order (a topology file's levels are taken where the file is loaded, config::LoadTopologyFile):
// explicit levels; a preset; the Kueue Topology named by `kueue_topology`; the only Kueue
// Topology in `quota` (or the only one its ResourceFlavors reference); none. Then the NVLink clique
// level when asked for. Error: a sentence (an unknown Topology name, or several Topologies to choose
// from).
std::expected<std::vector<topology::FabricLevel>, std::string> ResolveFabricLevels(const TopologySettings& settings,
                                                                                   const quota::QuotaConfig* quota);

// What the engine takes from the topology settings: fabric levels and, from a topology file, the
// hardware of the nodes it names (Engine::SetFileHardware).
struct EngineTopology {
  std::vector<topology::FabricLevel> levels;
  std::vector<topology::NodeHardware> file_nodes;
};
// Loads the topology file when one is set (its levels, then the NVLink clique level when asked for),
// else resolves the levels as ResolveFabricLevels. Error: a sentence, or the file's problems one per
// line as "file:line:column: message".
std::expected<EngineTopology, std::string> LoadEngineTopology(const TopologySettings& settings,
                                                              const quota::QuotaConfig* quota);

}  // namespace platoon::config
