// Config and engine start-up for serve and explain.
#include "scheduler/app/setup.h"

#include "config/kueue_manifests.h"

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

std::expected<std::unique_ptr<engine::Engine>, std::string> MakeEngine(const config::PlatoonConfig& cfg,
                                                                       const config::ClusterSnapshot* snapshot,
                                                                       engine::Seconds now) {
  engine::EngineOptions options;
  options.default_bind_timeout = static_cast<double>(cfg.gang.bind_barrier_timeout_ms) / 1000.0;
  auto engine = std::make_unique<engine::Engine>(options);
  if (!cfg.kueue_files.empty()) {
    auto quota = config::LoadKueueManifestFiles(cfg.kueue_files);
    if (!quota) return std::unexpected("invalid Kueue manifests:\n" + config::FormatManifestErrors(quota.error()));
    if (auto ok = engine->ReplaceQuota(*quota, now); !ok) return std::unexpected("Kueue configuration: " + ok.error());
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
