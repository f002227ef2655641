// Start-up shared by the commands that run the engine: the config from flags, the engine from it.
#pragma once

#include <expected>
#include <memory>
#include <optional>
#include <string>

#include "config/cluster_file.h"
#include "config/platoon_config.h"
#include "scheduler/app/commands.h"
#include "scheduler/engine.h"

namespace platoon::app {

// The PlatoonConfig named by --config (built-in defaults without it), with --cluster overriding its
// `cluster:`. Error: a message ready to print after the command's name.
std::expected<config::PlatoonConfig, std::string> ConfigFromFlags(const ParsedFlags& flags);

// What the engine is built from besides the config's own values: the Kueue quota (none without
// kueueFiles) and the topology (fabric levels, a topology file's nodes).
struct EngineInputs {
  std::optional<quota::QuotaConfig> quota;
  config::EngineTopology topology;
};
// Error: a message ready to print ("invalid Kueue manifests:\n..." or "topology: ...").
std::expected<EngineInputs, std::string> LoadEngineInputs(const config::PlatoonConfig& cfg);

// A gang engine with the config's gang timeouts and Kueue quota, fed the snapshot's nodes, pod
// groups and pods (in that order) at time `now`. Error: a message ready to print.
std::expected<std::unique_ptr<engine::Engine>, std::string> MakeEngine(const config::PlatoonConfig& cfg,
                                                                       const config::ClusterSnapshot* snapshot,
                                                                       engine::Seconds now);

}  // namespace platoon::app
