// Tests of node hardware: the nvidia-smi legend, finalisation, and the label and NRT builders.
#include <doctest/doctest.h>

#include "tests/topology/fixtures.h"
#include "topology/hardware.h"

using namespace platoon;
using namespace platoon::topology;

TEST_CASE("every nvidia-smi topo legend value parses and anything else is rejected with the legend") {
  CHECK(ParseTopoLegend("X", 25, 32, 20)->kind == LinkKind::Self);
  auto nv = ParseTopoLegend("NV18", 25, 32, 20);
  REQUIRE(nv);
  CHECK(nv->kind == LinkKind::NVLink);
  CHECK(nv->lanes == 18);
  CHECK(nv->gbps == doctest::Approx(450));
  CHECK(ParseTopoLegend("PIX", 25, 32, 20)->kind == LinkKind::PIX);
  CHECK(ParseTopoLegend("PXB", 25, 32, 20)->kind == LinkKind::PXB);
  CHECK(ParseTopoLegend("PHB", 25, 32, 20)->kind == LinkKind::PHB);
  CHECK(ParseTopoLegend("NODE", 25, 32, 20)->kind == LinkKind::Node);
  CHECK(ParseTopoLegend("SYS", 25, 32, 20)->gbps == doctest::Approx(20));
  for (const char* bad : {"NV", "NVX", "nv4", "PCI", "", "NV0"}) {
    auto r = ParseTopoLegend(bad, 25, 32, 20);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("X, NV<lanes>, PIX, PXB, PHB, NODE or SYS") != std::string::npos);
  }
}

TEST_CASE("a GPU listed on two NUMA nodes is rejected") {
  auto hw = testing::DgxH100("n", {});
  hw.numa[1].gpus.push_back(0);
  auto r = Finalize(hw);
  REQUIRE_FALSE(r);
  CHECK(r.error() == "GPU 0 is on two NUMA nodes (0 and 1)");
}

TEST_CASE("an asymmetric NVLink matrix and a NIC without bandwidth are rejected") {
  SUBCASE("asymmetric") {
    auto hw = testing::DgxH100("n", {});
    hw.gpu_links[1] = {LinkKind::NVLink, 4, 100};
    CHECK(Finalize(hw).error().find("not symmetric") != std::string::npos);
  }
  SUBCASE("nic") {
    auto hw = testing::DgxH100("n", {});
    hw.nics[3].gbps = 0;
    CHECK(Finalize(hw).error() == "NIC mlx5_3 has no bandwidth");
  }
}

TEST_CASE("a node built from GPU Feature Discovery and GKE labels has its GPUs, model and fabric path") {
  Labels labels{{"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"},
                {"nvidia.com/gpu.count", "8"},
                {"nvidia.com/gpu.memory", "81559"},
                {"cloud.google.com/gce-topology-block", "b1"},
                {"cloud.google.com/gce-topology-subblock", "sb2"},
                {"cloud.google.com/gce-topology-host", "h3"}};
  ResourceList alloc{{"cpu", 200000}, {"memory", 1LL << 40}, {"nvidia.com/gpu", 8}};
  auto hw = HardwareFromLabels("gke-a3", labels, alloc, GkeFabricLevels());
  CHECK(hw.usable());
  CHECK(hw.gpu_count == 8);
  CHECK(hw.gpu_memory_mib == 81559);
  CHECK(hw.fabric == std::vector<FabricPlacement>{{"block", "b1"}, {"subblock", "sb2"}, {"host", "h3"}});
  // An HBM3 (SXM) part sits on an NVSwitch baseboard.
  CHECK(hw.Link(0, 7).kind == LinkKind::NVSwitch);
}

TEST_CASE("a node whose labels contradict each other is unusable with a reason, never an error") {
  ResourceList alloc{{"nvidia.com/gpu", 8}};
  SUBCASE("more allocatable GPUs than the count label") {
    auto hw = HardwareFromLabels("n", {{"nvidia.com/gpu.count", "4"}}, alloc, {});
    CHECK_FALSE(hw.usable());
    CHECK(hw.unusable_reason == "allocatable nvidia.com/gpu=8 exceeds label nvidia.com/gpu.count=4");
    CHECK(hw.gpu_count == 0);
  }
  SUBCASE("a count label that is not a number") {
    auto hw = HardwareFromLabels("n", {{"nvidia.com/gpu.count", "eight"}}, alloc, {});
    CHECK(hw.unusable_reason == "label nvidia.com/gpu.count=eight is not a GPU count");
  }
  SUBCASE("a lower fabric level without the level above") {
    auto hw = HardwareFromLabels("n", {{"topology.k8s.aws/network-node-layer-3", "nn-3"}}, alloc, AwsFabricLevels());
    CHECK(hw.unusable_reason ==
          "label topology.k8s.aws/network-node-layer-3 is set but the higher level label "
          "topology.k8s.aws/network-node-layer-1 is missing");
  }
  SUBCASE("MIG instances on a node whose GPUs are all whole") {
    ResourceList mig{{"nvidia.com/gpu", 8}, {"nvidia.com/mig-1g.10gb", 7}};
    auto hw = HardwareFromLabels("n", {{"nvidia.com/gpu.count", "8"}}, mig, {});
    CHECK(hw.unusable_reason == "node advertises 7 MIG instances but all 8 GPUs are whole");
  }
}

TEST_CASE("MIG instances from allocatable resources land on the GPUs not offered whole") {
  ResourceList alloc{{"nvidia.com/gpu", 6}, {"nvidia.com/mig-1g.10gb", 7}, {"nvidia.com/mig-3g.40gb", 2}};
  auto hw = HardwareFromLabels("n", {{"nvidia.com/gpu.count", "8"}}, alloc, {});
  REQUIRE(hw.usable());
  CHECK_FALSE(hw.IsMig(5));
  CHECK(hw.IsMig(6));
  CHECK(hw.IsMig(7));
  CHECK(hw.mig[6].size() + hw.mig[7].size() == 9);
}

TEST_CASE("an unlabelled fabric level puts the node in a domain of its own") {
  auto hw = HardwareFromLabels("lonely", {}, ResourceList{{"nvidia.com/gpu", 1}}, GkeFabricLevels());
  CHECK(hw.usable());
  CHECK(hw.fabric[0].domain == "~lonely");
}

TEST_CASE("NodeResourceTopology zones give the NUMA layout, and disagreeing zones make the node unusable") {
  auto hw = HardwareFromLabels("n", {{"nvidia.com/gpu.count", "4"}}, ResourceList{{"nvidia.com/gpu", 4}}, {});
  SUBCASE("agreeing zones") {
    ApplyNodeResourceTopology(hw, {{"node-0", "Node", ResourceList{{"cpu", 32000}, {"nvidia.com/gpu", 2}}},
                                   {"node-1", "Node", ResourceList{{"cpu", 32000}, {"nvidia.com/gpu", 2}}}});
    REQUIRE(hw.usable());
    REQUIRE(hw.numa.size() == 2);
    CHECK(hw.numa[1].id == 1);
    CHECK(hw.numa[1].gpus == std::vector<int>{2, 3});
    CHECK(hw.numa[0].cpus.size() == 32);
    CHECK(hw.Link(0, 3).kind == LinkKind::Sys);
    CHECK(hw.Link(0, 1).kind == LinkKind::PHB);
  }
  SUBCASE("zones with fewer GPUs than the labels") {
    ApplyNodeResourceTopology(hw, {{"node-0", "Node", ResourceList{{"nvidia.com/gpu", 2}}}});
    CHECK(hw.unusable_reason == "NodeResourceTopology zones hold 2 GPUs, the node's labels say 4");
  }
}

TEST_CASE("GPUs the device plugin does not offer are left out, and MIG single strategy offers instances") {
  SUBCASE("two of eight GPUs unhealthy") {
    auto hw = HardwareFromLabels("n", {{"nvidia.com/gpu.count", "8"}}, ResourceList{{"nvidia.com/gpu", 6}}, {});
    CHECK(hw.usable());
    CHECK(hw.gpu_count == 6);
  }
  SUBCASE("single strategy: 8 GPUs x 7 instances of 1g.10gb") {
    auto hw = HardwareFromLabels("n",
                                 {{"nvidia.com/gpu.count", "8"},
                                  {"nvidia.com/mig.strategy", "single"},
                                  {"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3-MIG-1g.10gb"}},
                                 ResourceList{{"nvidia.com/gpu", 56}}, {});
    CHECK(hw.usable());
    CHECK(hw.gpu_count == 56);
    CHECK(hw.Link(0, 1).kind == LinkKind::PHB);  // instances share no NVLink
  }
}

TEST_CASE("the topology file's detail merges with the live label view of the same node") {
  auto file = testing::DgxH100("dgx", {{"su", "su-1"}});
  REQUIRE(Finalize(file));
  const Labels labels{{"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"}, {"nvidia.com/gpu.count", "8"}};
  SUBCASE("agreeing views keep the file's NUMA and NICs and the live allocatable") {
    auto live = HardwareFromLabels("dgx", labels, ResourceList{{"cpu", 200000}, {"nvidia.com/gpu", 8}}, {});
    auto merged = MergeFileAndLabels(file, live);
    CHECK(merged.usable());
    CHECK(merged.numa.size() == 2);
    CHECK(merged.nics.size() == 8);
    CHECK(merged.cpu_milli == 200000);
    CHECK(merged.fabric == file.fabric);
  }
  SUBCASE("a GPU count the device plugin no longer offers makes the node unusable") {
    auto live = HardwareFromLabels("dgx", labels, ResourceList{{"nvidia.com/gpu", 7}}, {});
    CHECK(MergeFileAndLabels(file, live).unusable_reason ==
          "the topology file gives dgx 8 GPUs, its labels and allocatable offer 7");
  }
  SUBCASE("a different GPU model makes the node unusable") {
    auto live = HardwareFromLabels("dgx", {{"nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB"}},
                                   ResourceList{{"nvidia.com/gpu", 8}}, {});
    CHECK(MergeFileAndLabels(file, live).unusable_reason ==
          "the topology file says dgx has NVIDIA-H100-80GB-HBM3 GPUs, its labels say NVIDIA-A100-SXM4-80GB");
  }
}
