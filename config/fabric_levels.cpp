// Fabric levels for the engine: PlatoonConfig's topology section or the quota files' Kueue Topology.
#include "config/fabric_levels.h"

#include "config/topology_file.h"

#include <algorithm>
#include <set>

namespace platoon::config {

std::expected<std::vector<topology::FabricLevel>, std::string> PresetFabricLevels(std::string_view preset) {
  if (preset == "gke") return topology::GkeFabricLevels();
  if (preset == "aws") return topology::AwsFabricLevels();
  return std::unexpected("unknown topology preset \"" + std::string(preset) + "\" (known: gke, aws)");
}

std::vector<topology::FabricLevel> LevelsOfKueueTopology(const quota::KueueTopology& t) {
  std::vector<topology::FabricLevel> out;
  for (const auto& label : t.node_labels) {
    if (label == "kubernetes.io/hostname") continue;
    if (label == topology::NvlinkCliqueLevel().node_label) {
      out.push_back(topology::NvlinkCliqueLevel());
      out.back().name = label;
      continue;
    }
    out.push_back({label, label, 0.0, topology::LinkKind::Fabric});
  }
  FillMissingBandwidths(out);
  return out;
}

std::string DescribeFabricLevels(const std::vector<topology::FabricLevel>& levels) {
  std::string out;
  for (const auto& l : levels) out += (out.empty() ? "" : " > ") + l.name + (l.name == l.node_label ? "" : " (" + l.node_label + ")");
  return out.empty() ? "none" : out;
}

void FillMissingBandwidths(std::vector<topology::FabricLevel>& levels) {
  double gbps = 50.0;
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
    if (it->gbps == 0) it->gbps = it->kind == topology::LinkKind::NVLink ? 900.0 : gbps;
    if (it->kind == topology::LinkKind::Fabric) gbps = it->gbps / 2;
  }
}

namespace {
void AddCliqueLevel(const TopologySettings& s, std::vector<topology::FabricLevel>& levels) {
  if (s.nvlink_cliques && std::ranges::none_of(levels, [](const auto& l) { return l.kind == topology::LinkKind::NVLink; }))
    levels.push_back(topology::NvlinkCliqueLevel());
}
}  // namespace

std::expected<std::vector<topology::FabricLevel>, std::string> ResolveFabricLevels(const TopologySettings& s,
                                                                                   const quota::QuotaConfig* quota) {
  std::vector<topology::FabricLevel> levels;
  const std::vector<quota::KueueTopology> none;
  const auto& topologies = quota ? quota->topologies : none;
  if (!s.levels.empty()) {
    levels = s.levels;
  } else if (!s.preset.empty()) {
    auto preset = PresetFabricLevels(s.preset);
    if (!preset) return std::unexpected(preset.error());
    levels = std::move(*preset);
  } else if (!s.kueue_topology.empty()) {
    auto it = std::ranges::find(topologies, s.kueue_topology, &quota::KueueTopology::name);
    if (it == topologies.end())
      return std::unexpected("topology.kueueTopology: the quota files define no Kueue Topology \"" + s.kueue_topology + "\"");
    levels = LevelsOfKueueTopology(*it);
  } else if (topologies.size() == 1) {
    levels = LevelsOfKueueTopology(topologies.front());
  } else if (topologies.size() > 1) {
    std::set<std::string> referenced;
    for (const auto& f : quota->resource_flavors)
      if (!f.topology_name.empty()) referenced.insert(f.topology_name);
    std::string names;
    for (const auto& t : topologies) names += (names.empty() ? "" : ", ") + t.name;
    if (referenced.size() != 1)
      return std::unexpected("the quota files define " + std::to_string(topologies.size()) + " Kueue Topologies (" + names +
                             "); choose one with topology.kueueTopology");
    auto it = std::ranges::find(topologies, *referenced.begin(), &quota::KueueTopology::name);
    if (it == topologies.end())
      return std::unexpected("ResourceFlavors use Kueue Topology \"" + *referenced.begin() + "\", which the quota files do not define");
    levels = LevelsOfKueueTopology(*it);
  }
  AddCliqueLevel(s, levels);
  return levels;
}

std::expected<EngineTopology, std::string> LoadEngineTopology(const TopologySettings& s, const quota::QuotaConfig* quota) {
  EngineTopology out;
  if (s.file.empty()) {
    auto levels = ResolveFabricLevels(s, quota);
    if (!levels) return std::unexpected(levels.error());
    out.levels = std::move(*levels);
    return out;
  }
  auto file = LoadTopologyFile(s.file);
  if (!file) {
    std::string all;
    for (const auto& e : file.error()) all += (all.empty() ? "" : "\n") + e.ToString();
    return std::unexpected(all);
  }
  out.levels = std::move(file->levels);
  AddCliqueLevel(s, out.levels);
  out.file_nodes = std::move(file->nodes);
  return out;
}

}  // namespace platoon::config
