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

// In order: explicit levels; a preset; the Kueue Topology named by `kueue_topology`; the only Kueue
// Topology in `quota` (or the only one its ResourceFlavors reference); none. Then the NVLink clique
// level when asked for. Error: a sentence (an unknown Topology name, or several Topologies to choose
// from).
std::expected<std::vector<topology::FabricLevel>, std::string> ResolveFabricLevels(const TopologySettings& settings,
                                                                                   const quota::QuotaConfig* quota);

}  // namespace platoon::config
