// Tests of the topology file loader: the shipped examples, hand-checkable placements, and errors.
#include <doctest/doctest.h>

#include <set>

#include "config/topology_file.h"
#include "topology/gang.h"

using namespace platoon;
using namespace platoon::topology;
using platoon::config::ParseTopologyFile;

namespace {

Topology LoadExample(const std::string& name) {
  auto file = config::LoadTopologyFile(std::string(PLATOON_SOURCE_DIR) + "/config/examples/topology/" + name);
  if (!file) {
    for (const auto& e : file.error()) MESSAGE(e.ToString());
  }
  REQUIRE(file);
  auto t = config::BuildTopology(*file);
  REQUIRE(t);
  return std::move(*t);
}

// The first error's "line: message" for compact checks.
std::string FirstError(std::string_view yaml) {
  auto r = ParseTopologyFile(yaml, "t.yaml");
  REQUIRE_FALSE(r);
  return r.error().front().ToString();
}

constexpr std::string_view kHeader = R"(kind: Topology
levels:
  - {name: spine, bandwidthGBps: 25}
  - {name: rack, bandwidthGBps: 50}
)";

}  // namespace

TEST_CASE("the DGX H100 SuperPOD scalable unit loads with 32 nodes and 256 GPUs") {
  auto t = LoadExample("dgx-h100-superpod-su.yaml");
  CHECK(t.node_count() == 32);
  CHECK(t.domain(kRootDomain).total_gpus == 256);
  const auto& n = t.node(*t.FindNode("dgx-su1-07"));
  CHECK(n.nics.size() == 8);
  CHECK(n.nics[5].rail == 5);
  CHECK(n.numa[1].cpus.size() == 112);
  CHECK(n.Link(0, 7).kind == LinkKind::NVSwitch);
  CHECK(n.cpu_milli == 224000);

  SUBCASE("an 8-GPU pod gets one whole NVSwitch node") {
    GangRequest req{.members = 1, .member = {.gpus = 8}};
    auto plan = PlaceGang(t, req);
    REQUIRE(plan);
    CHECK(plan->nodes_used == 1);
    CHECK(plan->members[0].devices.gpus == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
    CHECK(plan->ring_bottleneck_gbps == doctest::Approx(450));
  }
  SUBCASE("a 32-node gang fills the scalable unit, one member per node") {
    GangRequest req{.members = 32, .member = {.gpus = 8}, .required_level = "platoon.dev/scalable-unit"};
    auto plan = PlaceGang(t, req);
    REQUIRE(plan);
    CHECK(t.domain(plan->domain).name == "su-1");
    std::set<NodeId> nodes;
    for (const auto& m : plan->members) nodes.insert(m.node);
    CHECK(nodes.size() == 32);
    CHECK(plan->ring_bottleneck_gbps == doctest::Approx(50));
  }
  SUBCASE("a 4-GPU pod stays on one NUMA node with its NICs") {
    GangRequest req{.members = 1, .member = {.gpus = 4}};
    auto plan = PlaceGang(t, req);
    REQUIRE(plan);
    const auto& d = plan->members[0].devices;
    CHECK(d.gpus == std::vector<int>{0, 1, 2, 3});
    CHECK(d.numa == 0);
    CHECK(d.nics == std::vector<int>{0, 1, 2, 3});
  }
}

TEST_CASE("the GB200 NVL72 rack is one NVLink domain of 72 GPUs") {
  auto t = LoadExample("gb200-nvl72.yaml");
  CHECK(t.node_count() == 18);
  CHECK(t.domain(kRootDomain).total_gpus == 72);
  // Trays of one rack talk over NVLink, not through their NICs.
  CHECK(t.NodeBandwidth(0, 17) == doctest::Approx(900));
  GangRequest req{.members = 18, .member = {.gpus = 4}, .required_level = "nvidia.com/gpu.clique"};
  auto plan = PlaceGang(t, req);
  REQUIRE(plan);
  CHECK(plan->ring_bottleneck_gbps == doctest::Approx(900));
}

TEST_CASE("the mixed on-premises cluster places by model, NVLink pairs and MIG profiles") {
  auto t = LoadExample("mixed-on-prem.yaml");
  CHECK(t.node_count() == 11);
  SUBCASE("a 2-GPU pod on an A100 PCIe server takes a bridged pair on one NUMA node") {
    GangRequest req{.members = 1, .member = {.gpus = 2, .gpu_models = {"NVIDIA-A100-PCIE-40GB"}}};
    auto plan = PlaceGang(t, req);
    REQUIRE(plan);
    CHECK(t.node(plan->members[0].node).name.starts_with("a100-"));
    CHECK(plan->members[0].devices.bottleneck_gbps == doctest::Approx(300));
  }
  SUBCASE("a 2-GPU L40S pod takes the PIX pair and the NIC of that socket") {
    GangRequest req{.members = 1, .member = {.gpus = 2, .gpu_models = {"NVIDIA-L40S"}}};
    auto plan = PlaceGang(t, req);
    REQUIRE(plan);
    CHECK(plan->members[0].devices.gpus == std::vector<int>{0, 1});
    CHECK(plan->members[0].devices.nics == std::vector<int>{0});
    CHECK(plan->members[0].devices.numa == 0);
  }
  SUBCASE("MIG requests go to the MIG node") {
    GangRequest req{.members = 3, .member = {.mig = {{"1g.5gb", 3}}}};
    auto plan = PlaceGang(t, req);
    REQUIRE(plan);
    CHECK(t.node(plan->members[0].node).name == "a100-mig-1");
    CHECK_FALSE(PlaceGang(t, GangRequest{.members = 4, .member = {.mig = {{"1g.5gb", 3}}}}));
  }
  SUBCASE("a rack-bound gang larger than any rack fails with the numbers") {
    GangRequest req{.members = 5, .member = {.gpus = 8}, .required_level = "rack"};
    CHECK(PlaceGang(t, req).error().reason ==
          "no rack can hold all 5 members (8 nvidia.com/gpu each); the largest, rack-a, holds 4 (32 of 32 GPUs free)");
  }
}

TEST_CASE("name ranges expand with the padding of the low bound") {
  CHECK(*config::ExpandNameRange("dgx-[08-10]") == std::vector<std::string>{"dgx-08", "dgx-09", "dgx-10"});
  CHECK(*config::ExpandNameRange("plain") == std::vector<std::string>{"plain"});
  CHECK_FALSE(config::ExpandNameRange("n[5-2]"));
  CHECK_FALSE(config::ExpandNameRange("n[a-b]"));
}

TEST_CASE("topology file errors name the file, the line and what to fix") {
  SUBCASE("a domain cycle") {
    const std::string y = std::string(kHeader) + R"(domains:
  - {name: a, level: rack, parent: b}
  - {name: b, level: rack, parent: a}
)";
    CHECK(FirstError(y) ==
          "t.yaml:6:36: domains form a cycle: a -> b -> a; a domain's parent must sit one level above it");
  }
  SUBCASE("an unknown node listed under a domain") {
    const std::string y = std::string(kHeader) + R"(domains:
  - {name: s, level: spine}
  - {name: r, level: rack, parent: s, nodes: [ghost]}
nodes: []
)";
    CHECK(FirstError(y) == "t.yaml:7:47: domain 'r' lists unknown node 'ghost': add it under nodes or remove it here");
  }
  SUBCASE("a node hanging from an unknown domain") {
    const std::string y = std::string(kHeader) + R"(nodes:
  - {name: n1, gpus: 1, domain: nowhere}
)";
    CHECK(FirstError(y) == "t.yaml:6:33: node 'n1' hangs from unknown domain 'nowhere'");
  }
  SUBCASE("a GPU on two NUMA nodes") {
    const std::string y = R"(kind: Topology
nodes:
  - name: n1
    gpus: 2
    numa:
      - {id: 0, gpus: [0, 1]}
      - {id: 1, gpus: [1]}
)";
    CHECK(FirstError(y) ==
          "t.yaml:7:23: GPU 1 is on two NUMA nodes (0 and 1); list each GPU under one NUMA node");
  }
  SUBCASE("a level without bandwidth") {
    const std::string y = R"(kind: Topology
levels:
  - name: rack
)";
    CHECK(FirstError(y) ==
          "t.yaml:3:5: level 'rack' has no 'bandwidthGBps': add the per-GPU bandwidth in GB/s between two nodes "
          "whose closest shared domain is one rack (400 Gb/s = 50)");
  }
  SUBCASE("a NIC without bandwidth") {
    const std::string y = R"(kind: Topology
nodes:
  - name: n1
    nics:
      - {name: ib0}
)";
    CHECK(FirstError(y) ==
          "t.yaml:5:9: NIC ib0 of node 'n1' has no 'bandwidthGBps': add the NIC's bandwidth in GB/s (400 Gb/s NDR = 50)");
  }
  SUBCASE("a bad nvidia-smi legend value") {
    const std::string y = R"(kind: Topology
nodes:
  - name: n1
    gpus: 2
    gpuLinks:
      - X NV4
      - NV4 XX
)";
    CHECK(FirstError(y) ==
          "t.yaml:7:9: gpuLinks row 1 column 1: 'XX' is not an nvidia-smi topo legend value (use X, NV<lanes>, PIX, "
          "PXB, PHB, NODE or SYS)");
  }
  SUBCASE("a misspelt key") {
    const std::string y = R"(kind: Topology
nodes:
  - {name: n1, gpuModle: H100}
)";
    CHECK(FirstError(y).starts_with("t.yaml:3:16: unknown key 'gpuModle' in a node (known keys: name, hardware, domain"));
  }
  SUBCASE("broken YAML") {
    CHECK(FirstError("levels: [").starts_with("t.yaml:1:"));
  }
  SUBCASE("every problem is reported, not only the first") {
    const std::string y = R"(kind: Topology
levels:
  - name: rack
nodes:
  - {name: n1, domain: r}
)";
    auto r = ParseTopologyFile(y, "t.yaml");
    REQUIRE_FALSE(r);
    CHECK(r.error().size() == 2);
  }
}
