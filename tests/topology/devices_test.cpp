// Tests of device requests, device choice inside a node and per-device accounting.
#include <doctest/doctest.h>

#include <random>
#include <set>

#include "tests/topology/fixtures.h"
#include "topology/devices.h"

using namespace platoon;
using namespace platoon::topology;

namespace {
NodeHardware Ready(NodeHardware hw) {
  REQUIRE(Finalize(hw));
  return hw;
}
}  // namespace

TEST_CASE("a 4-GPU pod on a DGX H100 gets one NUMA node's GPUs and that NUMA node's NICs") {
  const auto hw = Ready(testing::DgxH100("dgx", {}));
  auto state = NodeDeviceState::For(hw);
  DeviceRequest req;
  req.gpus = 4;
  auto a = ChooseDevices(hw, state, req);
  REQUIRE(a);
  CHECK(a->gpus == std::vector<int>{0, 1, 2, 3});
  CHECK(a->numa == 0);
  CHECK(a->nics == std::vector<int>{0, 1, 2, 3});
  CHECK(a->bottleneck_gbps == doctest::Approx(450));
  REQUIRE(Apply(hw, state, *a));
  SUBCASE("the next 4-GPU pod takes the other NUMA node") {
    auto b = ChooseDevices(hw, state, req);
    REQUIRE(b);
    CHECK(b->gpus == std::vector<int>{4, 5, 6, 7});
    CHECK(b->numa == 1);
    CHECK(b->nics == std::vector<int>{4, 5, 6, 7});
  }
  SUBCASE("a 2-GPU pod packs the NUMA node with fewer free GPUs") {
    DeviceRequest two;
    two.gpus = 2;
    REQUIRE(Revert(hw, state, *a));
    auto one = Apply(hw, state, DeviceAssignment{.gpus = {4}});
    REQUIRE(one);
    auto b = ChooseDevices(hw, state, two);
    REQUIRE(b);
    CHECK(b->gpus == std::vector<int>{5, 6});
  }
}

TEST_CASE("an 8-GPU pod on a DGX H100 takes the whole NVSwitch node") {
  const auto hw = Ready(testing::DgxH100("dgx", {}));
  auto a = ChooseDevices(hw, NodeDeviceState::For(hw), DeviceRequest{.gpus = 8});
  REQUIRE(a);
  CHECK(a->gpus.size() == 8);
  CHECK(a->numa == -1);
  CHECK(a->nics.size() == 8);
  CHECK(a->bottleneck_gbps == doctest::Approx(450));
}

TEST_CASE("a 2-GPU pod on a bridged PCIe server takes an NVLink pair even across sockets") {
  const auto hw = Ready(testing::PcieBridged("pcie", {}));
  auto state = NodeDeviceState::For(hw);
  auto a = ChooseDevices(hw, state, DeviceRequest{.gpus = 2});
  REQUIRE(a);
  CHECK(a->gpus == std::vector<int>{0, 1});
  CHECK(a->bottleneck_gbps == doctest::Approx(100));
  CHECK(a->numa == -1);
  SUBCASE("a 1-GPU pod keeps both pairs whole when one is broken") {
    REQUIRE(Apply(hw, state, DeviceAssignment{.gpus = {2}}));
    auto b = ChooseDevices(hw, state, DeviceRequest{.gpus = 1});
    REQUIRE(b);
    CHECK(b->gpus == std::vector<int>{3});
  }
}

TEST_CASE("shared fractions are packed onto the fullest GPU that still has room") {
  const auto hw = Ready(testing::DgxH100("dgx", {}));
  auto state = NodeDeviceState::For(hw);
  DeviceRequest half{.gpu_milli = 500};
  auto a = ChooseDevices(hw, state, half);
  REQUIRE(a);
  CHECK(a->shared_gpus == std::vector<int>{0});
  REQUIRE(Apply(hw, state, *a));
  auto b = ChooseDevices(hw, state, DeviceRequest{.gpu_milli = 300});
  REQUIRE(b);
  CHECK(b->shared_gpus == std::vector<int>{0});
  REQUIRE(Apply(hw, state, *b));
  auto c = ChooseDevices(hw, state, DeviceRequest{.gpu_milli = 300});
  REQUIRE(c);
  CHECK(c->shared_gpus == std::vector<int>{1});
  SUBCASE("a whole GPU is never one that is shared") {
    auto w = ChooseDevices(hw, state, DeviceRequest{.gpus = 7});
    REQUIRE(w);
    CHECK(w->gpus == std::vector<int>{1, 2, 3, 4, 5, 6, 7});
    CHECK_FALSE(ChooseDevices(hw, state, DeviceRequest{.gpus = 8}));
  }
  SUBCASE("gpu-memory requests are converted against the node's GPU memory") {
    DeviceRequest mem{.gpu_memory_mib = 40779};
    CHECK(EffectiveMilli(hw, mem) == 500);
  }
}

TEST_CASE("MIG instances are taken by profile and packed onto the busiest MIG GPU") {
  auto hw = testing::DgxH100("dgx", {});
  hw.mig.assign(8, {});
  hw.mig[6] = {"3g.40gb", "3g.40gb"};
  hw.mig[7] = {"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb"};
  hw = Ready(hw);
  auto state = NodeDeviceState::For(hw);
  DeviceRequest req{.mig = {{"1g.10gb", 2}}};
  auto a = ChooseDevices(hw, state, req);
  REQUIRE(a);
  CHECK(a->mig == std::vector<MigInstanceRef>{{7, 0}, {7, 1}});
  CHECK(a->numa == 1);
  REQUIRE(Apply(hw, state, *a));
  CHECK(FreeWholeGpus(hw, state) == 6);
  CHECK(Capacity(hw, state, req, 100) == 2);
  CHECK_FALSE(ChooseDevices(hw, state, DeviceRequest{.mig = {{"2g.20gb", 1}}}));
  CHECK(ChooseDevices(hw, state, DeviceRequest{.gpus = 7}).error() == "Insufficient nvidia.com/gpu (requested 7, free 6 of 8)");
}

TEST_CASE("KAI-style annotations become device requests and bad values are refused") {
  SUBCASE("gpu-fraction") {
    auto r = DeviceRequestFromPod(ResourceList{{"cpu", 2000}}, {{"gpu-fraction", "0.25"}});
    REQUIRE(r);
    CHECK(r->gpu_milli == 250);
    CHECK(r->cpu_milli == 2000);
  }
  SUBCASE("gpu-fraction on several devices") {
    auto r = DeviceRequestFromPod({}, {{"gpu-fraction", "0.5"}, {"gpu-fraction-num-devices", "2"}});
    REQUIRE(r);
    CHECK(r->fraction_devices == 2);
  }
  SUBCASE("a fraction of one is a whole GPU") {
    CHECK(DeviceRequestFromPod({}, {{"gpu-fraction", "1"}})->gpus == 1);
  }
  SUBCASE("gpu-memory") {
    CHECK(DeviceRequestFromPod({}, {{"gpu-memory", "2000"}})->gpu_memory_mib == 2000);
  }
  SUBCASE("MIG resources") {
    auto r = DeviceRequestFromPod(ResourceList{{"nvidia.com/mig-1g.10gb", 2}}, {});
    CHECK(r->mig == std::vector<std::pair<std::string, int>>{{"1g.10gb", 2}});
  }
  SUBCASE("refusals") {
    CHECK(DeviceRequestFromPod({}, {{"gpu-fraction", "1.5"}}).error() ==
          "annotation gpu-fraction=1.5 must be a fraction of one GPU in (0, 1]");
    CHECK(DeviceRequestFromPod({}, {{"gpu-fraction", "half"}}).error() == "annotation gpu-fraction=half is not a number");
    CHECK_FALSE(DeviceRequestFromPod(ResourceList{{"nvidia.com/gpu", 1}}, {{"gpu-fraction", "0.5"}}));
    CHECK_FALSE(DeviceRequestFromPod({}, {{"gpu-fraction-num-devices", "0"}}));
  }
}

TEST_CASE("a GPU model constraint keeps pods off other models") {
  const auto hw = Ready(testing::DgxH100("dgx", {}));
  DeviceRequest req{.gpus = 1, .gpu_models = {"V100M16", "V100M32"}};
  auto r = ChooseDevices(hw, NodeDeviceState::For(hw), req);
  REQUIRE_FALSE(r);
  CHECK(r.error() == "GPU model NVIDIA-H100-80GB-HBM3 is not one of V100M16|V100M32");
  CHECK(Capacity(hw, NodeDeviceState::For(hw), req, 10) == 0);
  req.gpu_models.push_back("NVIDIA-H100-80GB-HBM3");
  CHECK(ChooseDevices(hw, NodeDeviceState::For(hw), req));
}

TEST_CASE("applying an assignment twice or releasing what is not held fails and changes nothing") {
  const auto hw = Ready(testing::DgxH100("dgx", {}));
  auto state = NodeDeviceState::For(hw);
  DeviceAssignment a{.gpus = {1, 2}};
  REQUIRE(Apply(hw, state, a));
  const auto before = state;
  CHECK_FALSE(Apply(hw, state, DeviceAssignment{.gpus = {0, 2}}));
  CHECK(state == before);
  CHECK_FALSE(Apply(hw, state, DeviceAssignment{.gpus = {3, 3}}));
  CHECK_FALSE(Revert(hw, state, DeviceAssignment{.gpus = {2, 3}}));
  CHECK(state == before);
  REQUIRE(Revert(hw, state, a));
  CHECK(state == NodeDeviceState::For(hw));
}

TEST_CASE("property: random requests and releases never book a device twice nor exceed a GPU") {
  auto base = testing::DgxH100("dgx", {});
  base.mig.assign(8, {});
  base.mig[7] = {"1g.10gb", "1g.10gb", "1g.10gb", "2g.20gb", "2g.20gb"};
  const auto hw = Ready(base);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    auto state = NodeDeviceState::For(hw);
    std::vector<DeviceAssignment> held;
    for (int step = 0; step < 300; ++step) {
      if (!held.empty() && rng() % 3 == 0) {
        const std::size_t i = rng() % held.size();
        REQUIRE(Revert(hw, state, held[i]));
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        DeviceRequest req;
        switch (rng() % 3) {
          case 0: req.gpus = 1 + static_cast<int>(rng() % 4); break;
          case 1: req.gpu_milli = 100 * (1 + static_cast<int>(rng() % 9)); break;
          default: req.mig = {{rng() % 2 ? "1g.10gb" : "2g.20gb", 1}};
        }
        const bool predicted = Capacity(hw, state, req, 1) == 1;
        auto a = ChooseDevices(hw, state, req);
        CHECK(predicted == a.has_value());
        if (a) {
          REQUIRE(Apply(hw, state, *a));
          held.push_back(*a);
        }
      }
      // Independent recount from the held assignments.
      std::multiset<int> whole;
      std::vector<int> milli(8, 0);
      std::set<std::pair<int, int>> mig;
      for (const auto& a : held) {
        for (int g : a.gpus) whole.insert(g);
        for (int g : a.shared_gpus) milli[static_cast<std::size_t>(g)] += a.gpu_milli;
        for (const auto& m : a.mig) CHECK(mig.insert({m.gpu, m.instance}).second);
      }
      for (int g = 0; g < 8; ++g) {
        CHECK(whole.count(g) <= 1);
        CHECK(milli[static_cast<std::size_t>(g)] <= 1000);
        CHECK_FALSE((whole.count(g) == 1 && milli[static_cast<std::size_t>(g)] > 0));
        CHECK(state.milli[static_cast<std::size_t>(g)] == milli[static_cast<std::size_t>(g)]);
        CHECK(static_cast<std::size_t>(state.whole[static_cast<std::size_t>(g)]) == whole.count(g));
      }
    }
  }
}
