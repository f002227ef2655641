// Tests of the topology graph: domains, bandwidth and hop queries, accounting.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/topology/fixtures.h"
#include "topology/gang.h"
#include "topology/topology.h"

using namespace platoon;
using namespace platoon::topology;

TEST_CASE("the fabric hierarchy groups nodes into contiguous domains per level") {
  auto t = testing::SuperPod(4, 32, 2);
  CHECK(t.node_count() == 128);
  CHECK(t.domain(kRootDomain).total_gpus == 1024);
  int spines = 0, sus = 0;
  for (const auto& d : t.domains()) {
    if (d.level == 0) ++spines;
    if (d.level == 1) {
      ++sus;
      CHECK(d.node_end - d.node_begin == 32);
      CHECK(d.free_gpus == 256);
      for (NodeId n = d.node_begin; n < d.node_end; ++n) CHECK(t.node(n).fabric[1].domain == d.name);
    }
  }
  CHECK(spines == 2);
  CHECK(sus == 4);
  CHECK(t.LevelIndex("su") == 1);
  CHECK(t.LevelIndex("example.com/spine") == 0);
  CHECK(t.LevelIndex("kubernetes.io/hostname") == 2);
  CHECK_FALSE(t.LevelIndex("rack"));
}

TEST_CASE("the graph holds a vertex per domain, node, NUMA node, GPU and NIC with typed links") {
  auto t = testing::SuperPod(1, 2);
  const auto& g = t.graph();
  // 3 domains (cluster, spine, su) + 2 x (node + 2 NUMA + 8 GPUs + 8 NICs).
  CHECK(boost::num_vertices(g) == 3 + 2 * 19);
  const auto gpu0 = t.GpuVertex({0, 0});
  const auto gpu5 = t.GpuVertex({0, 5});
  auto [e, found] = boost::edge(gpu0, gpu5, g);
  REQUIRE(found);
  CHECK(g[e].kind == LinkKind::NVSwitch);
  CHECK(g[gpu5].kind == VertexKind::Gpu);
  CHECK(g[gpu5].local == 5);
}

TEST_CASE("bandwidth and hops between GPUs come from the hierarchy without a search") {
  auto t = testing::SuperPod(2, 4, 1);
  const NodeId a = 0, same_su = 1, other_su = 4;
  CHECK(t.CommonLevel(a, same_su) == 1);
  CHECK(t.CommonLevel(a, other_su) == 0);
  CHECK(t.GpuBandwidth({a, 0}, {a, 7}) == doctest::Approx(450));
  CHECK(t.NodeBandwidth(a, same_su) == doctest::Approx(50));
  CHECK(t.NodeBandwidth(a, other_su) == doctest::Approx(25));
  CHECK(t.HopDistance({a, 0}, {a, 1}) == 1);
  CHECK(t.HopDistance({a, 0}, {same_su, 0}) == 6);
  CHECK(t.HopDistance({a, 0}, {other_su, 0}) == 8);
}

TEST_CASE("reserving and releasing keep every domain's free GPU count exact") {
  auto t = testing::SuperPod(2, 2, 1);
  const DomainId su0 = t.DomainOf(0, 1);
  REQUIRE(t.Reserve(0, DeviceAssignment{.gpus = {0, 1, 2}}));
  CHECK(t.domain(su0).free_gpus == 13);
  CHECK(t.domain(kRootDomain).free_gpus == 29);
  CHECK_FALSE(t.Reserve(0, DeviceAssignment{.gpus = {2}}));
  CHECK(t.domain(su0).free_gpus == 13);
  REQUIRE(t.Reserve(0, DeviceAssignment{.shared_gpus = {3}, .gpu_milli = 100}));
  CHECK(t.domain(su0).free_gpus == 12);
  REQUIRE(t.Release(0, DeviceAssignment{.gpus = {0, 1, 2}}));
  REQUIRE(t.Release(0, DeviceAssignment{.shared_gpus = {3}, .gpu_milli = 100}));
  CHECK(t.domain(su0).free_gpus == 16);
  CHECK(t.domain(kRootDomain).free_gpus == 32);
  CHECK_FALSE(t.Release(0, DeviceAssignment{.gpus = {0}}));
}

TEST_CASE("duplicate node names and unnamed or bandwidthless levels are refused") {
  using testing::DgxH100;
  CHECK(Topology::Build({}, {DgxH100("a", {}), DgxH100("a", {})}).error() == "node a appears twice");
  CHECK(Topology::Build({{"rack", "", 0.0, LinkKind::Fabric}}, {}).error() == "fabric level rack has no bandwidth");
}

TEST_CASE("a node with broken hardware or a short fabric path is kept, unusable, with the reason") {
  auto bad = testing::DgxH100("bad", {{"spine", "s"}, {"su", "su0"}});
  bad.numa[1].gpus.push_back(0);
  auto t = *Topology::Build(testing::SuLevels(), {bad, testing::DgxH100("short", {{"spine", "s"}})});
  auto b = t.FindNode("bad");
  REQUIRE(b);
  CHECK(t.node(*b).unusable_reason == "GPU 0 is on two NUMA nodes (0 and 1)");
  CHECK(t.node(*b).gpu_count == 0);
  CHECK(t.node(*t.FindNode("short")).unusable_reason ==
        "fabric path does not name a domain at every level (1 given, 2 levels)");
}

TEST_CASE("a live label change that makes a node inconsistent marks it unusable and placements avoid it") {
  const std::vector<FabricLevel> levels{{"rack", "example.com/rack", 50.0, LinkKind::Fabric}};
  auto node = [&](const std::string& name, const std::string& count) {
    return HardwareFromLabels(name,
                              {{"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"},
                               {"nvidia.com/gpu.count", count},
                               {"example.com/rack", "r1"}},
                              ResourceList{{"nvidia.com/gpu", 8}}, levels);
  };
  auto t = *Topology::Build(levels, {node("a", "8"), node("b", "8")});
  const NodeId a = *t.FindNode("a");
  REQUIRE(t.Reserve(a, DeviceAssignment{.gpus = {0}}));
  REQUIRE(t.UpdateNode(a, node("a", "4")));  // allocatable 8 > count 4: inconsistent
  CHECK(t.node(a).unusable_reason == "allocatable nvidia.com/gpu=8 exceeds label nvidia.com/gpu.count=4");
  CHECK(t.node(a).gpu_count == 8);  // the last good hardware and its reservation stay
  CHECK(t.state(a).whole[0] == 1);
  GangRequest req;
  req.members = 2;
  req.member.gpus = 4;
  auto plan = PlaceGang(t, req);
  REQUIRE(plan);
  for (const auto& m : plan->members) CHECK(m.node != a);
  SUBCASE("fixing the labels makes it usable again") {
    REQUIRE(t.UpdateNode(a, node("a", "8")));
    CHECK(t.node(a).usable());
  }
  SUBCASE("a change of shape asks for a rebuild") {
    auto bigger = HardwareFromLabels("a", {{"nvidia.com/gpu.count", "16"}, {"example.com/rack", "r1"}},
                                     ResourceList{{"nvidia.com/gpu", 16}}, levels);
    CHECK(t.UpdateNode(a, bigger).error() == "node a changed shape (16 GPUs, was 8); rebuild the topology");
  }
  SUBCASE("a move in the fabric asks for a rebuild") {
    auto moved = node("a", "8");
    moved.fabric[0].domain = "r2";
    CHECK(t.UpdateNode(a, moved).error() == "node a moved in the fabric; rebuild the topology");
  }
}

TEST_CASE("the bottleneck and diameter of a GPU set are its weakest pair and its farthest pair") {
  auto t = testing::SuperPod(2, 2, 1);
  const std::vector<GpuRef> one_node{{0, 0}, {0, 3}, {0, 5}};
  CHECK(t.SetBottleneck(one_node) == doctest::Approx(450));
  CHECK(t.SetDiameter(one_node) == 1);
  const std::vector<GpuRef> one_su{{0, 0}, {0, 1}, {1, 0}};
  CHECK(t.SetBottleneck(one_su) == doctest::Approx(50));
  CHECK(t.SetDiameter(one_su) == 6);
  const std::vector<GpuRef> two_sus{{0, 0}, {1, 0}, {2, 0}};
  CHECK(t.SetBottleneck(two_sus) == doctest::Approx(25));
  CHECK(t.SetDiameter(two_sus) == 8);
  CHECK(std::isinf(t.SetBottleneck({{0, 0}})));
}
