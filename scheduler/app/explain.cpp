// `platoon explain`: the gang engine's pending view of a cluster snapshot, per ClusterQueue.
#include <cstdio>

#include "config/cluster_file.h"
#include "config/kueue_manifests.h"
#include "config/platoon_config.h"
#include "scheduler/app/commands.h"
#include "scheduler/engine.h"

namespace platoon::app {
namespace {

constexpr const char* kExplainHelp =
    "Usage: platoon explain --cluster FILE [--config FILE]\n"
    "\n"
    "Runs the gang engine's admission cycle on a cluster snapshot (Nodes, Pods, PodGroups) with the\n"
    "config's Kueue quota and prints every pending gang per ClusterQueue: its position, why it is\n"
    "blocked (with numbers) and what would unblock it. A running `platoon serve --gang-engine` shows\n"
    "the same view live at GET /debug/pending on its admin port.\n"
    "\n"
    "Options:\n"
    "  --cluster FILE   cluster file (overrides the config's `cluster:`)\n"
    "  --config FILE    PlatoonConfig YAML (kueueFiles, gang timeouts)\n"
    "  --help           show this help\n";

}  // namespace

int RunExplain(const std::vector<std::string_view>& args) {
  auto flags = ParseFlags(args, {{"config"}, {"cluster"}, {"help", false}});
  if (!flags) {
    std::fprintf(stderr, "platoon explain: %s\n\n%s", flags.error().c_str(), kExplainHelp);
    return 2;
  }
  if (flags->Has("help")) {
    std::fputs(kExplainHelp, stdout);
    return 0;
  }
  config::PlatoonConfig cfg;
  if (flags->Has("config")) {
    auto loaded = config::LoadPlatoonConfig(flags->Get("config"));
    if (!loaded) {
      std::fprintf(stderr, "platoon explain: invalid config: %s\n", loaded.error().c_str());
      return 1;
    }
    cfg = std::move(*loaded);
  }
  if (flags->Has("cluster")) cfg.cluster_file = flags->Get("cluster");
  if (cfg.cluster_file.empty()) {
    std::fprintf(stderr, "platoon explain: no cluster file: pass --cluster FILE\n\n%s", kExplainHelp);
    return 2;
  }
  engine::EngineOptions options;
  options.default_bind_timeout = static_cast<double>(cfg.gang.bind_barrier_timeout_ms) / 1000.0;
  engine::Engine engine(options);
  if (!cfg.kueue_files.empty()) {
    auto quota = config::LoadKueueManifestFiles(cfg.kueue_files);
    if (!quota) {
      std::fprintf(stderr, "platoon explain: invalid Kueue manifests:\n%s", config::FormatManifestErrors(quota.error()).c_str());
      return 1;
    }
    if (auto ok = engine.ReplaceQuota(*quota, 0); !ok) {
      std::fprintf(stderr, "platoon explain: Kueue configuration: %s\n", ok.error().c_str());
      return 1;
    }
  }
  auto snapshot = config::LoadClusterFile(cfg.cluster_file);
  if (!snapshot) {
    std::fprintf(stderr, "platoon explain: invalid cluster file: %s\n", snapshot.error().c_str());
    return 1;
  }
  for (const auto& node : snapshot->nodes) engine.UpsertNode(node, 0);
  for (const auto& group : snapshot->pod_groups) engine.UpsertPodGroup(group, 0);
  for (const auto& pod : snapshot->pods) engine.UpsertPod(pod, 0);
  engine.AdvanceTime(0);
  std::fputs(engine::DescribePending(engine.Pending(0)).c_str(), stdout);
  return 0;
}

}  // namespace platoon::app
