// Fabric levels for the engine: PlatoonConfig's topology section and Kueue Topology objects, with
// file:line errors, and the order in which they are chosen.
#include <doctest/doctest.h>

#include "config/fabric_levels.h"
#include "config/kueue_manifests.h"
#include "config/platoon_config.h"

using namespace platoon;
using namespace platoon::config;

namespace {

std::expected<PlatoonConfig, std::string> Config(std::string_view topology) {
  return ParsePlatoonConfig("apiVersion: platoon.dev/v1alpha1\nkind: PlatoonConfig\n" + std::string(topology),
                            "platoon.yaml", "");
}

std::string Names(const std::vector<topology::FabricLevel>& levels) { return DescribeFabricLevels(levels); }

constexpr std::string_view kTopologies = R"(apiVersion: kueue.x-k8s.io/v1alpha1
kind: Topology
metadata: {name: default}
spec:
  levels:
  - nodeLabel: cloud.google.com/gce-topology-block
  - nodeLabel: cloud.google.com/gce-topology-subblock
  - nodeLabel: kubernetes.io/hostname
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: Topology
metadata: {name: nvl72}
spec:
  levels:
  - nodeLabel: example.com/rack
  - nodeLabel: nvidia.com/gpu.clique
)";

}  // namespace

TEST_CASE("PlatoonConfig's topology section: explicit levels, a preset, a Kueue Topology by name, NVLink cliques") {
  SUBCASE("explicit levels, top to bottom; missing bandwidths halve upwards from 50 GB/s") {
    auto cfg = Config(R"(topology:
  levels:
    - {name: block, nodeLabel: example.com/block}
    - {nodeLabel: example.com/rack, gbps: 40}
    - {name: clique, nodeLabel: nvidia.com/gpu.clique, kind: NVLink}
)");
    REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error()));
    const auto& l = cfg->topology.levels;
    REQUIRE(l.size() == 3);
    CHECK(l[0].name == "block");
    CHECK(l[0].gbps == 20.0);  // half of the rack's 40
    CHECK(l[1].name == "example.com/rack");
    CHECK(l[1].gbps == 40.0);
    CHECK(l[2].kind == topology::LinkKind::NVLink);
    CHECK(l[2].gbps == 900.0);
    auto resolved = ResolveFabricLevels(cfg->topology, nullptr);
    REQUIRE(resolved);
    CHECK(Names(*resolved) == "block (example.com/block) > example.com/rack > clique (nvidia.com/gpu.clique)");
  }
  SUBCASE("a preset, with NVLink cliques added below it") {
    auto cfg = Config("topology: {preset: gke, nvlinkCliques: true}\n");
    REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error()));
    auto resolved = ResolveFabricLevels(cfg->topology, nullptr);
    REQUIRE(resolved);
    CHECK(resolved->size() == 4);
    CHECK(resolved->front().node_label == "cloud.google.com/gce-topology-block");
    CHECK(resolved->back().node_label == "nvidia.com/gpu.clique");
  }
  SUBCASE("no section: no levels") {
    auto cfg = Config("");
    REQUIRE(cfg);
    auto resolved = ResolveFabricLevels(cfg->topology, nullptr);
    REQUIRE(resolved);
    CHECK(resolved->empty());
  }
  SUBCASE("errors name the line and the field") {
    CHECK(Config("topology: {preset: azure}\n").error() ==
          "platoon.yaml:3: topology.preset: unknown topology preset \"azure\" (known: gke, aws)");
    CHECK(Config("topology:\n  levels:\n    - {name: rack}\n").error() == "platoon.yaml:5: topology.levels[0]: nodeLabel is required");
    CHECK(Config("topology:\n  levels:\n    - {nodeLabel: a}\n    - {nodeLabel: a}\n").error() ==
          "platoon.yaml:6: topology.levels[1]: level \"a\" (a) is listed twice");
    CHECK(Config("topology:\n  levels:\n    - {nodeLabel: a, gbps: -1}\n").error().starts_with("platoon.yaml:5: topology.levels[0].gbps: must be above 0"));
    CHECK(Config("topology:\n  levels:\n    - {nodeLabel: a, kind: Ethernet}\n").error() ==
          "platoon.yaml:5: topology.levels[0].kind: unknown kind \"Ethernet\" (known: Fabric, NVLink)");
    CHECK(Config("topology: {preset: gke, kueueTopology: default}\n").error() ==
          "platoon.yaml:3: topology: set one of levels, preset, kueueTopology and file");
    CHECK(Config("topology: {nvlinkCliques: yes please}\n").error() == "platoon.yaml:3: topology.nvlinkCliques: expected true or false");
    CHECK(Config("topology: {racks: 2}\n").error().starts_with("platoon.yaml:3: topology.racks: unknown field"));
  }
}

TEST_CASE("Kueue Topology objects: levels by node label, hostname dropped, chosen when they are the only one") {
  auto quota = ParseKueueManifests(kTopologies, "kueue.yaml");
  REQUIRE(quota);
  REQUIRE(quota->topologies.size() == 2);
  CHECK(quota->topologies[0].node_labels.size() == 3);
  const auto levels = LevelsOfKueueTopology(quota->topologies[0]);
  REQUIRE(levels.size() == 2);  // kubernetes.io/hostname is the node itself
  CHECK(levels[0].name == "cloud.google.com/gce-topology-block");
  CHECK(levels[0].gbps == 25.0);
  CHECK(levels[1].gbps == 50.0);
  const auto nvl = LevelsOfKueueTopology(quota->topologies[1]);
  REQUIRE(nvl.size() == 2);
  CHECK(nvl[1].kind == topology::LinkKind::NVLink);

  TopologySettings none;
  SUBCASE("two Topologies and no choice: an error that says how to choose") {
    auto r = ResolveFabricLevels(none, &*quota);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "the quota files define 2 Kueue Topologies (default, nvl72); choose one with topology.kueueTopology");
  }
  SUBCASE("the one a ResourceFlavor references") {
    quota->resource_flavors.push_back({"h100", {}, {}, {}, "nvl72"});
    auto r = ResolveFabricLevels(none, &*quota);
    REQUIRE(r);
    CHECK(Names(*r) == "example.com/rack > nvidia.com/gpu.clique");
  }
  SUBCASE("by name, and an unknown name") {
    TopologySettings s;
    s.kueue_topology = "default";
    CHECK(ResolveFabricLevels(s, &*quota)->size() == 2);
    s.kueue_topology = "missing";
    CHECK(ResolveFabricLevels(s, &*quota).error() == "topology.kueueTopology: the quota files define no Kueue Topology \"missing\"");
  }
  SUBCASE("explicit levels win over the quota files' Topologies") {
    TopologySettings s;
    s.preset = "aws";
    CHECK(ResolveFabricLevels(s, &*quota)->front().node_label == "topology.k8s.aws/network-node-layer-1");
  }
}

TEST_CASE("Kueue Topology validation follows Kueue's: 1 to 16 distinct label keys, hostname only lowest") {
  auto errors = [](std::string_view levels) {
    auto r = ParseKueueManifests("apiVersion: kueue.x-k8s.io/v1beta1\nkind: Topology\nmetadata: {name: t}\nspec:\n" +
                                     std::string(levels),
                                 "kueue.yaml");
    return r ? std::string() : FormatManifestErrors(r.error());
  };
  CHECK(errors("  levels: []\n").find("kueue.yaml:5") != std::string::npos);
  CHECK(errors("  levels: []\n").find("must have 1 to 16 items, has 0") != std::string::npos);
  CHECK(errors("  levels:\n  - nodeLabel: kubernetes.io/hostname\n  - nodeLabel: rack\n").find(
            "kueue.yaml:6") != std::string::npos);
  CHECK(errors("  levels:\n  - nodeLabel: kubernetes.io/hostname\n  - nodeLabel: rack\n").find(
            "kubernetes.io/hostname can only be the lowest level") != std::string::npos);
  CHECK(errors("  levels:\n  - nodeLabel: rack\n  - nodeLabel: rack\n").find("\"rack\" is used by two levels") != std::string::npos);
  CHECK(errors("  levels:\n  - nodeLabel: \"not a label\"\n").find("is not a valid label key") != std::string::npos);
  CHECK(errors("  levels:\n  - {nodeLabel: rack, name: r}\n").find("kueue.yaml:6") != std::string::npos);
  CHECK(errors("  levels:\n  - nodeLabel: rack\n").empty());
}

TEST_CASE("a topology file in the config gives the levels and the hardware of the nodes it names") {
  auto cfg = ParsePlatoonConfig("apiVersion: platoon.dev/v1alpha1\nkind: PlatoonConfig\ntopology: {file: topology/mixed-on-prem.yaml}\n",
                                "platoon.yaml", std::string(PLATOON_SOURCE_DIR) + "/config/examples");
  REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error()));
  CHECK(cfg->topology.file == std::string(PLATOON_SOURCE_DIR) + "/config/examples/topology/mixed-on-prem.yaml");
  auto loaded = LoadEngineTopology(cfg->topology, nullptr);
  REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error()));
  CHECK(DescribeFabricLevels(loaded->levels) == "spine (platoon.dev/spine) > rack (platoon.dev/rack)");
  CHECK(loaded->file_nodes.size() == 11);
  TopologySettings missing;
  missing.file = "/nonexistent/topology.yaml";
  auto error = LoadEngineTopology(missing, nullptr);
  REQUIRE_FALSE(error);
  CHECK(error.error().find("/nonexistent/topology.yaml") != std::string::npos);
}
