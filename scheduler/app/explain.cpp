// `platoon explain`: the gang engine's pending view of a cluster snapshot, per ClusterQueue.
#include <cstdio>

#include "scheduler/app/setup.h"

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
  auto loaded_cfg = ConfigFromFlags(*flags);
  if (!loaded_cfg) {
    std::fprintf(stderr, "platoon explain: %s\n", loaded_cfg.error().c_str());
    return 1;
  }
  const config::PlatoonConfig& cfg = *loaded_cfg;
  if (cfg.cluster_file.empty()) {
    std::fprintf(stderr, "platoon explain: no cluster file: pass --cluster FILE\n\n%s", kExplainHelp);
    return 2;
  }
  auto snapshot = config::LoadClusterFile(cfg.cluster_file);
  if (!snapshot) {
    std::fprintf(stderr, "platoon explain: invalid cluster file: %s\n", snapshot.error().c_str());
    return 1;
  }
  auto made = MakeEngine(cfg, &*snapshot, 0);
  if (!made) {
    std::fprintf(stderr, "platoon explain: %s\n", made.error().c_str());
    return 1;
  }
  engine::Engine& engine = **made;
  engine.AdvanceTime(0);
  std::fputs(engine::DescribePending(engine.Pending(0)).c_str(), stdout);
  return 0;
}

}  // namespace platoon::app
