// Config and engine start-up for serve and explain.
#include "scheduler/app/setup.h"

#include "config/kueue_manifests.h"
#include "scheduler/extender/log.h"

namespace platoon::app {

std::expected<config::PlatoonConfig, std::string> ConfigFromFlags(const ParsedFlags& flags) {
  config::PlatoonConfig cfg;
  if (flags.Has("config")) {
    auto loaded = config::LoadPlatoonConfig(flags.Get("config"));
    if (!loaded) return std::unexpected("invalid config: " + loaded.error());
    cfg = std::move(*loaded);
  }
  if (flags.Has("cluster")) cfg.cluster_file = flags.Get("cluster");
  return cfg;
}

std::expected<EngineInputs, std::string> LoadEngineInputs(const config::PlatoonConfig& cfg) {
  EngineInputs in;
  if (!cfg.kueue_files.empty()) {
    auto loaded = config::LoadKueueManifestFiles(cfg.kueue_files);
    if (!loaded) return std::unexpected("invalid Kueue manifests:\n" + config::FormatManifestErrors(loaded.error()));
    in.quota = std::move(*loaded);
  }
  auto topology = config::LoadEngineTopology(cfg.topology, in.quota ? &*in.quota : nullptr);
  if (!topology) return std::unexpected("topology: " + topology.error());
  in.topology = std::move(*topology);
  return in;
}

std::expected<std::unique_ptr<engine::Engine>, std::string> MakeEngine(const config::PlatoonConfig& cfg,
                                                                       const config::ClusterSnapshot* snapshot,
                                                                       engine::Seconds now) {
  engine::EngineOptions options;
  options.default_bind_timeout = static_cast<double>(cfg.gang.bind_barrier_timeout_ms) / 1000.0;
  auto in = LoadEngineInputs(cfg);
  if (!in) return std::unexpected(in.error());
  options.levels = std::move(in->topology.levels);
  log::Info("fabric levels",
            {{"levels", options.levels.empty() ? "none: gangs are placed without rack or block locality (set topology: in "
                                                 "the config, or a Kueue Topology in the quota files)"
                                               : config::DescribeFabricLevels(options.levels)}});
  auto engine = std::make_unique<engine::Engine>(options);
  if (!in->topology.file_nodes.empty()) {
    log::Info("topology file", {{"file", cfg.topology.file}, {"nodes", std::to_string(in->topology.file_nodes.size())}});
    engine->SetFileHardware(std::move(in->topology.file_nodes));
  }
  if (in->quota) {
    if (auto ok = engine->ReplaceQuota(*in->quota, now); !ok) return std::unexpected("Kueue configuration: " + ok.error());
  }
  if (snapshot) {
    for (const auto& node : snapshot->nodes) engine->UpsertNode(node, now);
    for (const auto& nrt : snapshot->node_topologies) engine->SetNodeZones(nrt.name, nrt.zones, now);
    for (const auto& group : snapshot->pod_groups) engine->UpsertPodGroup(group, now);
    for (const auto& pod : snapshot->pods) engine->UpsertPod(pod, now);
  }
  return engine;
}

}  // namespace platoon::app
