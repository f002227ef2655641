// Tests of gang placement: tightest domain, required and preferred levels, failures with numbers.
#include <doctest/doctest.h>

#include <random>
#include <set>

#include "tests/topology/fixtures.h"
#include "topology/gang.h"

using namespace platoon;
using namespace platoon::topology;

namespace {
GangRequest Gang(int members, int gpus) {
  GangRequest r;
  r.members = members;
  r.member.gpus = gpus;
  return r;
}
}  // namespace

TEST_CASE("a 32-node gang of 8-GPU members lands inside one scalable unit") {
  auto t = testing::SuperPod(4, 32, 2);
  auto plan = PlaceGang(t, Gang(32, 8));
  REQUIRE(plan);
  CHECK(plan->level == 1);
  CHECK(plan->nodes_used == 32);
  std::set<NodeId> nodes;
  for (const auto& m : plan->members) {
    CHECK(t.DomainOf(m.node, 1) == plan->domain);
    CHECK(m.devices.gpus.size() == 8);
    nodes.insert(m.node);
  }
  CHECK(nodes.size() == 32);
  CHECK(plan->ring_bottleneck_gbps == doctest::Approx(50));
}

TEST_CASE("an 8-GPU single-member gang takes one whole NVSwitch node") {
  auto t = testing::SuperPod(1, 4);
  auto plan = PlaceGang(t, Gang(1, 8));
  REQUIRE(plan);
  CHECK(plan->level == t.node_level());
  CHECK(plan->members[0].devices.gpus == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(plan->ring_bottleneck_gbps == doctest::Approx(450));
}

TEST_CASE("the tightest domain that fits is chosen so that big domains stay whole") {
  auto t = testing::SuperPod(3, 4, 1);
  // su0: 4 free nodes, su1: 2 free nodes, su2: 3 free nodes.
  for (NodeId n : {NodeId{4}, NodeId{5}, NodeId{8}}) {
    REQUIRE(t.Reserve(n, DeviceAssignment{.gpus = {0, 1, 2, 3, 4, 5, 6, 7}}));
  }
  auto plan = PlaceGang(t, Gang(2, 8));
  REQUIRE(plan);
  CHECK(t.domain(plan->domain).name == "su1");
  auto three = PlaceGang(t, Gang(3, 8));
  REQUIRE(three);
  CHECK(t.domain(three->domain).name == "su2");
  SUBCASE("small members pack onto one node before spreading") {
    auto small = PlaceGang(t, Gang(4, 2));
    REQUIRE(small);
    CHECK(small->nodes_used == 1);
    CHECK(small->level == t.node_level());
  }
}

TEST_CASE("a required level that no domain satisfies fails with the numbers") {
  auto t = testing::SuperPod(2, 8, 1);
  for (NodeId n = 0; n < 2; ++n) REQUIRE(t.Reserve(n, DeviceAssignment{.gpus = {0, 1, 2, 3, 4, 5, 6, 7}}));
  auto req = Gang(10, 8);
  req.required_level = "example.com/su";
  auto plan = PlaceGang(t, req);
  REQUIRE_FALSE(plan);
  CHECK(plan.error().reason ==
        "no su can hold all 10 members (8 nvidia.com/gpu each); the largest, su1, holds 8 (64 of 64 GPUs free)");
  CHECK(plan.error().largest_fit == 8);
  SUBCASE("a preferred level spills to the level above") {
    GangRequest pref = Gang(10, 8);
    ApplyTopologyAnnotations(pref, {{"kueue.x-k8s.io/podset-preferred-topology", "example.com/su"}});
    auto spilled = PlaceGang(t, pref);
    REQUIRE(spilled);
    CHECK(spilled->level == 0);
    CHECK(spilled->ring_bottleneck_gbps == doctest::Approx(25));
    // Largest sub-domain first: all of su1 and the rest from su0.
    int in_su1 = 0;
    for (const auto& m : spilled->members) in_su1 += t.domain(t.DomainOf(m.node, 1)).name == "su1";
    CHECK(in_su1 == 8);
  }
  SUBCASE("an unknown level is named") {
    req.required_level = "rack";
    CHECK(PlaceGang(t, req).error().reason ==
          "unknown topology level 'rack' (known: spine (example.com/spine), su (example.com/su))");
  }
  SUBCASE("a gang required on one host") {
    auto host = Gang(2, 8);
    host.required_level = "kubernetes.io/hostname";
    CHECK(PlaceGang(t, host).error().reason ==
          "no node can hold all 2 members (8 nvidia.com/gpu each); the largest, su0-dgx2, holds 1");
    auto small = Gang(2, 4);
    small.required_level = "kubernetes.io/hostname";
    auto plan = PlaceGang(t, small);
    REQUIRE(plan);
    CHECK(plan->nodes_used == 1);
  }
  SUBCASE("more than the cluster holds") {
    auto huge = Gang(15, 8);
    CHECK(PlaceGang(t, huge).error().reason ==
          "the cluster can hold 14 of the 15 members (8 nvidia.com/gpu each; 112 of 128 GPUs free)");
  }
}

TEST_CASE("a node filter from the engine keeps members off excluded nodes") {
  auto t = testing::SuperPod(1, 4);
  auto req = Gang(2, 8);
  req.node_filter = [](NodeId n) { return n >= 2; };
  auto plan = PlaceGang(t, req);
  REQUIRE(plan);
  for (const auto& m : plan->members) CHECK(m.node >= 2);
}

TEST_CASE("a plan is reserved all or nothing") {
  auto t = testing::SuperPod(1, 2);
  auto plan = PlaceGang(t, Gang(2, 8));
  REQUIRE(plan);
  REQUIRE(t.Reserve(plan->members[1].node, DeviceAssignment{.gpus = {3}}));
  CHECK_FALSE(ReservePlan(t, *plan));
  CHECK(t.domain(kRootDomain).free_gpus == 15);
  REQUIRE(t.Release(plan->members[1].node, DeviceAssignment{.gpus = {3}}));
  REQUIRE(ReservePlan(t, *plan));
  CHECK(t.domain(kRootDomain).free_gpus == 0);
  REQUIRE(ReleasePlan(t, *plan));
  CHECK(t.domain(kRootDomain).free_gpus == 16);
}

TEST_CASE("property: plans never double-book a device, respect capacity and the required level") {
  for (unsigned seed = 100; seed < 110; ++seed) {
    std::mt19937 rng(seed);
    auto t = testing::SuperPod(4, 6, 2);
    std::vector<GangPlan> held;
    for (int step = 0; step < 120; ++step) {
      if (!held.empty() && rng() % 4 == 0) {
        const std::size_t i = rng() % held.size();
        REQUIRE(ReleasePlan(t, held[i]));
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      GangRequest req;
      req.members = 1 + static_cast<int>(rng() % 12);
      switch (rng() % 3) {
        case 0: req.member.gpus = 1 << (rng() % 4); break;
        case 1: req.member.gpu_milli = 250 * (1 + static_cast<int>(rng() % 3)); break;
        default: req.member.gpus = 8;
      }
      const bool required = rng() % 2 == 0;
      if (required) req.required_level = rng() % 2 ? "su" : "spine";
      auto plan = PlaceGang(t, req);
      if (!plan) continue;
      CHECK(plan->members.size() == static_cast<std::size_t>(req.members));
      if (required) {
        const int level = *t.LevelIndex(req.required_level);
        const DomainId d = t.DomainOf(plan->members[0].node, level);
        for (const auto& m : plan->members) CHECK(t.DomainOf(m.node, level) == d);
      }
      REQUIRE(ReservePlan(t, *plan));
      held.push_back(*plan);
      // Independent recount over everything held.
      std::map<std::pair<NodeId, int>, int> whole, milli;
      for (const auto& p : held) {
        for (const auto& m : p.members) {
          for (int g : m.devices.gpus) CHECK(++whole[{m.node, g}] == 1);
          for (int g : m.devices.shared_gpus) milli[{m.node, g}] += m.devices.gpu_milli;
        }
      }
      for (const auto& [key, v] : milli) {
        CHECK(v <= 1000);
        CHECK(whole.count(key) == 0);
      }
      int free = 0;
      for (NodeId n = 0; n < t.node_count(); ++n) free += FreeWholeGpus(t.node(n), t.state(n));
      CHECK(free == t.domain(kRootDomain).free_gpus);
    }
  }
}

TEST_CASE("among equally tight domains the one whose ring is fastest wins") {
  std::vector<NodeHardware> nodes;
  for (int i = 0; i < 2; ++i) {
    auto slow = testing::DgxH100("slow-" + std::to_string(i), {{"spine", "s"}, {"su", "a-slow"}});
    for (auto& nic : slow.nics) nic.gbps = 12.5;
    nodes.push_back(slow);
    nodes.push_back(testing::DgxH100("fast-" + std::to_string(i), {{"spine", "s"}, {"su", "b-fast"}}));
  }
  auto t = *Topology::Build(testing::SuLevels(), nodes);
  auto plan = PlaceGang(t, Gang(2, 8));
  REQUIRE(plan);
  CHECK(t.domain(plan->domain).name == "b-fast");
  CHECK(plan->ring_bottleneck_gbps == doctest::Approx(50));
}

TEST_CASE("a group's launcher lands next to its GPU workers") {
  auto t = testing::SuperPod(2, 4, 1);
  GroupRequest req;
  req.pod_sets = {{"launcher", 1, DeviceRequest{.cpu_milli = 2000}}, {"worker", 4, DeviceRequest{.gpus = 8}}};
  auto plan = PlaceGroup(t, req);
  REQUIRE(plan);
  REQUIRE(plan->pod_sets.size() == 2);
  CHECK(plan->pod_sets[0].members.size() == 1);
  CHECK(plan->pod_sets[1].members.size() == 4);
  const DomainId su = t.DomainOf(plan->pod_sets[1].members[0].node, 1);
  CHECK(t.DomainOf(plan->pod_sets[0].members[0].node, 1) == su);
  REQUIRE(ReserveGroup(t, *plan));
  CHECK(t.domain(su).free_gpus == 0);
}

TEST_CASE("a group that outgrows its primary's domain widens, or moves whole under a required level") {
  auto t = testing::SuperPod(2, 4, 1);
  // su0 keeps 2 free nodes, su1 all 4.
  for (NodeId n : {NodeId{0}, NodeId{1}}) REQUIRE(t.Reserve(n, DeviceAssignment{.gpus = {0, 1, 2, 3, 4, 5, 6, 7}}));
  GroupRequest req;
  req.pod_sets = {{"worker", 2, DeviceRequest{.gpus = 8}}, {"evaluator", 1, DeviceRequest{.gpus = 8}}};
  SUBCASE("without a required level the evaluator spills to the other su") {
    auto plan = PlaceGroup(t, req);
    REQUIRE(plan);
    CHECK(plan->level == 0);
    CHECK(t.domain(t.DomainOf(plan->pod_sets[0].members[0].node, 1)).name == "su0");
    CHECK(t.domain(t.DomainOf(plan->pod_sets[1].members[0].node, 1)).name == "su1");
  }
  SUBCASE("required su: the whole group moves to su1") {
    req.required_level = "su";
    auto plan = PlaceGroup(t, req);
    REQUIRE(plan);
    CHECK(t.domain(plan->domain).name == "su1");
    for (const auto& ps : plan->pod_sets)
      for (const auto& m : ps.members) CHECK(t.DomainOf(m.node, 1) == plan->domain);
    // No device is promised twice across pod sets.
    std::set<std::pair<NodeId, int>> seen;
    for (const auto& ps : plan->pod_sets)
      for (const auto& m : ps.members)
        for (int g : m.devices.gpus) CHECK(seen.insert({m.node, g}).second);
  }
  SUBCASE("no su can hold it all") {
    req.pod_sets[0].count = 4;
    req.required_level = "su";
    auto plan = PlaceGroup(t, req);
    REQUIRE_FALSE(plan);
    CHECK(plan.error().reason.starts_with("pod set evaluator: "));
  }
}

TEST_CASE("property: group plans never promise a device twice and keep the required level") {
  for (unsigned seed = 200; seed < 206; ++seed) {
    std::mt19937 rng(seed);
    auto t = testing::SuperPod(4, 4, 2);
    for (int step = 0; step < 40; ++step) {
      GroupRequest req;
      const int sets = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < sets; ++i) {
        DeviceRequest m;
        if (rng() % 2) m.gpus = 1 << (rng() % 4);
        else m.gpu_milli = 250 * (1 + static_cast<int>(rng() % 3));
        req.pod_sets.push_back({"set" + std::to_string(i), 1 + static_cast<int>(rng() % 4), m});
      }
      if (rng() % 2) req.required_level = "su";
      auto plan = PlaceGroup(t, req);
      if (!plan) continue;
      std::set<std::pair<NodeId, int>> whole;
      std::map<std::pair<NodeId, int>, int> milli;
      for (std::size_t i = 0; i < plan->pod_sets.size(); ++i) {
        CHECK(plan->pod_sets[i].members.size() == static_cast<std::size_t>(req.pod_sets[i].count));
        for (const auto& m : plan->pod_sets[i].members) {
          if (!req.required_level.empty()) CHECK(t.DomainOf(m.node, 1) == plan->domain);
          for (int g : m.devices.gpus) CHECK(whole.insert({m.node, g}).second);
          for (int g : m.devices.shared_gpus) milli[{m.node, g}] += m.devices.gpu_milli;
        }
      }
      for (const auto& [key, v] : milli) {
        CHECK(v + t.state(key.first).milli[static_cast<std::size_t>(key.second)] <= 1000);
        CHECK(whole.count(key) == 0);
      }
      REQUIRE(ReserveGroup(t, *plan));
    }
  }
}
