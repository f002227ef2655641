// Tests of the engine's placement policies: the loads they predict and how they rank nodes.
#include <doctest/doctest.h>

#include <cmath>

#include "policies/placement.h"
#include "policies/topology_score.h"

using namespace platoon;
using namespace platoon::policies;
using platoon::topology::DeviceRequest;
using platoon::topology::NodeDeviceState;
using platoon::topology::NodeHardware;

namespace {

NodeHardware Gpus(int gpus, std::int64_t memory_mib = 0) {
  NodeHardware hw;
  hw.name = "n" + std::to_string(gpus);
  hw.gpu_count = gpus;
  hw.gpu_model = "A100";
  hw.gpu_memory_mib = memory_mib;
  hw.cpu_milli = 64'000;
  REQUIRE(topology::Finalize(hw));
  return hw;
}

NodeDeviceState With(const NodeHardware& hw, std::vector<int> milli_used) {
  auto state = NodeDeviceState::For(hw);
  for (std::size_t g = 0; g < milli_used.size(); ++g) {
    if (milli_used[g] == topology::kMilliPerGpu) state.whole[g] = 1;
    else state.milli[g] = static_cast<std::int16_t>(milli_used[g]);
  }
  return state;
}

}  // namespace

TEST_CASE("the predicted load takes idle GPUs whole and puts a share on the fullest GPU with room") {
  const auto hw = Gpus(4);
  const auto state = With(hw, {0, 300, 700, 0});
  auto after = LoadAfter(hw, LoadOf(hw, state), {.gpus = 1, .cpu_milli = 1000}, 1);
  CHECK(after.free_milli == std::vector<int>{0, 700, 300, 1000});
  CHECK(after.cpu_milli_free == 63'000);
  after = LoadAfter(hw, LoadOf(hw, state), {.gpu_milli = 250}, 2);
  CHECK(after.free_milli == std::vector<int>{1000, 450, 50, 1000});  // the 300 free, then the 700 free
  SUBCASE("a gpu-memory request counts as the share of this node's GPU memory it is") {
    const auto big = Gpus(2, 80'000);
    const auto load = LoadAfter(big, LoadOf(big, NodeDeviceState::For(big)), {.gpu_memory_mib = 20'000}, 1);
    CHECK(load.free_milli == std::vector<int>{750, 1000});
  }
}

TEST_CASE("BestFit's device score and the best-fit placement read the same free share") {
  const auto hw = Gpus(8);
  const auto state = With(hw, {1000, 1000, 500, 0, 0, 0, 0, 0});
  const DeviceRequest pod{.gpus = 2, .cpu_milli = 16'000};
  const double share = FreeShareAfter(hw, state, pod, 1);
  // GPU: (8000 - 2500 - 2000) / 8000; CPU: 48 of 64 cores left.
  CHECK(share == doctest::Approx((3500.0 / 8000 + 48.0 / 64) / 2));
  auto best_fit = MakePlacementPolicy("best-fit").value();
  CHECK(best_fit->Cost(0, 1, hw, state, pod, 1) == doctest::Approx(share));
  CHECK(BestFit().ScoreDevices(pod, {hw, state}) == static_cast<int>(std::lround(100 * (1 - share))));
}

TEST_CASE("placement policies rank nodes as their names say") {
  const auto hw = Gpus(8);
  const auto empty = NodeDeviceState::For(hw);
  const auto busy = With(hw, {1000, 1000, 1000, 1000, 1000, 1000, 0, 0});
  const DeviceRequest pod{.gpus = 1};
  auto cost = [&](const std::string& name, const NodeDeviceState& state, std::uint64_t version) {
    auto p = MakePlacementPolicy(name).value();
    p->Observe(pod);
    return p->Cost(0, version, hw, state, pod, 1);
  };
  CHECK(cost("best-fit", busy, 1) < cost("best-fit", empty, 2));
  CHECK(cost("gpu-packing", busy, 1) < cost("gpu-packing", empty, 2));
  CHECK(cost("spread", empty, 1) < cost("spread", busy, 2));
  // FGD: taking one GPU of an empty 8-GPU node adds no fragment for 1-GPU tasks, nor on the busy one.
  CHECK(cost("fgd", busy, 1) == doctest::Approx(cost("fgd", empty, 2)).epsilon(0.01));
  CHECK(MakePlacementPolicy("magic").error().starts_with("unknown placement policy \"magic\" (known: fgd,"));
  for (const auto& name : PlacementPolicyNames()) CHECK(MakePlacementPolicy(name).value()->Name() == name);
}
