// `platoon check`: validates a file and prints what it resolves to, or the errors with file:line.
#include <cstdio>

#include <simdjson.h>

#include "config/cluster_file.h"
#include "config/kueue_manifests.h"
#include "config/topology_file.h"
#include "quota/quota_state.h"
#include "config/k8s_json.h"
#include "config/platoon_config.h"
#include "config/yaml_json.h"
#include "scheduler/app/commands.h"
#include "scheduler/app/setup.h"

namespace platoon::app {
namespace {

constexpr const char* kCheckHelp =
    "Usage: platoon check --config FILE [--config FILE ...]\n"
    "\n"
    "Validates each file and prints a summary of what it resolves to. A file may be:\n"
    "  - a PlatoonConfig (its cluster file is checked too),\n"
    "  - a cluster file (Node/Pod/PodGroup documents, a List from `kubectl get -o json|yaml`, or a\n"
    "    platoon `kind: Cluster`),\n"
    "  - Kueue manifests (ResourceFlavor, ClusterQueue, Cohort, LocalQueue, WorkloadPriorityClass;\n"
    "    kueue.x-k8s.io v1beta1 or v1beta2): prints the resolved cohort tree with nominal, borrowable\n"
    "    and lendable amounts per flavor and resource,\n"
    "  - a topology file (kind: Topology, see topology/README.md).\n"
    "Errors are printed as FILE:LINE: field: problem. Exit code 0 when every file is valid, 1 otherwise.\n"
    "\n"
    "Options:\n"
    "  --config FILE   file to check (repeatable; positional FILE arguments work too)\n"
    "  --help          show this help\n";

void PrintCluster(const config::ClusterSnapshot& snap, const std::string& file) {
  ResourceList allocatable;
  ResourceList requested;
  std::size_t running = 0;
  for (const auto& n : snap.nodes) allocatable += n.allocatable;
  for (const auto& p : snap.pods)
    if (!p.node_name.empty() && !p.Finished()) {
      requested += p.requests;
      ++running;
    }
  std::printf("%s: OK: %zu nodes, %zu pods (%zu running, %zu pending), %zu pod groups", file.c_str(),
              snap.nodes.size(), snap.pods.size(), running, snap.pods.size() - running, snap.pod_groups.size());
  if (!snap.node_topologies.empty()) std::printf(", %zu NodeResourceTopology", snap.node_topologies.size());
  std::printf("\n");
  std::printf("  allocatable: %s\n", allocatable.ToString().c_str());
  std::printf("  requested:   %s\n", requested.ToString().c_str());
}

// The kind of the first document, to route the file to its checker.
std::string FirstKind(const std::string& text, const std::string& file) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) return "";  // JSON: cluster snapshot
  auto docs = config::YamlToJson(text, file);
  if (!docs || docs->empty()) return "";
  simdjson::dom::parser parser;
  simdjson::padded_string padded(docs->front().json);
  auto parsed = parser.parse(padded);
  if (parsed.error()) return "";
  std::string_view api;
  if (parsed.value_unsafe()["apiVersion"].get(api) == simdjson::SUCCESS && api.starts_with("kueue.x-k8s.io/"))
    return "kueue:" + config::KindOf(parsed.value_unsafe());  // a Kueue Topology is not platoon's topology file
  return config::KindOf(parsed.value_unsafe());
}

bool IsKueueKind(const std::string& kind) {
  return kind.starts_with("kueue:") || kind == "ResourceFlavor" || kind == "ClusterQueue" || kind == "Cohort" ||
         kind == "LocalQueue" || kind == "WorkloadPriorityClass";
}

int CheckKueue(const std::string& file) {
  auto cfg = config::LoadKueueManifestFiles({file});
  if (!cfg) {
    std::fprintf(stderr, "%s\n", config::FormatManifestErrors(cfg.error()).c_str());
    return 1;
  }
  auto state = quota::QuotaState::Build(*cfg);
  if (!state) {
    std::fprintf(stderr, "%s: %s\n", file.c_str(), state.error().c_str());
    return 1;
  }
  std::printf("%s: OK: Kueue quota\n%s", file.c_str(), state->DescribeCohortTree().c_str());
  for (const auto& t : cfg->topologies)
    std::printf("  Topology %s: fabric levels %s\n", t.name.c_str(), config::DescribeFabricLevels(config::LevelsOfKueueTopology(t)).c_str());
  return 0;
}

int CheckTopology(const std::string& file) {
  auto topo = config::LoadTopologyFile(file);
  if (!topo) {
    for (const auto& e : topo.error()) std::fprintf(stderr, "%s\n", e.ToString().c_str());
    return 1;
  }
  auto built = config::BuildTopology(*topo);
  if (!built) {
    std::fprintf(stderr, "%s: %s\n", file.c_str(), built.error().c_str());
    return 1;
  }
  std::size_t gpus = 0, unusable = 0;
  for (const auto& n : topo->nodes) {
    for (const auto& numa : n.numa) gpus += numa.gpus.size();
    if (!n.unusable_reason.empty()) ++unusable;
  }
  std::string levels;
  for (const auto& l : topo->levels) levels += (levels.empty() ? "" : " > ") + l.name;
  std::printf("%s: OK: Topology, %zu nodes, %zu GPUs, fabric levels: %s%s\n", file.c_str(), topo->nodes.size(), gpus,
              levels.empty() ? "(none)" : levels.c_str(),
              unusable ? (", " + std::to_string(unusable) + " nodes unusable").c_str() : "");
  return 0;
}

int CheckOne(const std::string& file) {
  auto text = config::ReadFile(file);
  if (!text) {
    std::fprintf(stderr, "%s\n", text.error().c_str());
    return 1;
  }
  const std::string kind = FirstKind(*text, file);
  if (IsKueueKind(kind)) return CheckKueue(file);
  if (kind == "Topology") return CheckTopology(file);
  if (kind == "PlatoonConfig") {
    auto cfg = config::LoadPlatoonConfig(file);
    if (!cfg) {
      std::fprintf(stderr, "%s\n", cfg.error().c_str());
      return 1;
    }
    std::printf("%s: OK: PlatoonConfig for schedulerName %s, scoring %s, bind barrier %llds, extender %s/{%s,%s,%s,%s}\n",
                file.c_str(), cfg->scheduler_name.c_str(), cfg->scoring.policy.c_str(),
                static_cast<long long>(cfg->gang.bind_barrier_timeout_ms / 1000), cfg->extender.url_prefix.c_str(), cfg->extender.filter_verb.c_str(),
                cfg->extender.prioritize_verb.c_str(), cfg->extender.bind_verb.c_str(), cfg->extender.preempt_verb.c_str());
    for (const auto& kueue : cfg->kueue_files)
      if (CheckKueue(kueue) != 0) return 1;
    auto in = LoadEngineInputs(*cfg);  // the quota files together (one may use another's flavors)
    if (!in) {
      std::fprintf(stderr, "%s: %s\n", file.c_str(), in.error().c_str());
      return 1;
    }
    std::printf("  fabric levels: %s\n", config::DescribeFabricLevels(in->topology.levels).c_str());
    if (!cfg->topology.file.empty())
      std::printf("  topology file %s: %zu nodes described\n", cfg->topology.file.c_str(), in->topology.file_nodes.size());
    if (cfg->cluster_file.empty()) return 0;
    auto snap = config::LoadClusterFile(cfg->cluster_file);
    if (!snap) {
      std::fprintf(stderr, "%s\n", snap.error().c_str());
      return 1;
    }
    PrintCluster(*snap, cfg->cluster_file);
    return 0;
  }
  auto snap = config::ParseClusterFile(*text, file);
  if (!snap) {
    std::fprintf(stderr, "%s\n", snap.error().c_str());
    return 1;
  }
  PrintCluster(*snap, file);
  return 0;
}

}  // namespace

int RunCheck(const std::vector<std::string_view>& args) {
  auto flags = ParseFlags(args, {{"config"}, {"help", false}});
  if (!flags) {
    std::fprintf(stderr, "platoon check: %s\n\n%s", flags.error().c_str(), kCheckHelp);
    return 2;
  }
  if (flags->Has("help")) {
    std::fputs(kCheckHelp, stdout);
    return 0;
  }
  std::vector<std::string> files = flags->positional;
  if (flags->Has("config")) files.insert(files.begin(), flags->Get("config"));
  if (files.empty()) {
    std::fprintf(stderr, "platoon check: no file given\n\n%s", kCheckHelp);
    return 2;
  }
  int rc = 0;
  for (const auto& f : files) rc |= CheckOne(f);
  return rc;
}

}  // namespace platoon::app
