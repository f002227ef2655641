// Tests of the FGD fragmentation measure and the device-aware score policies.
#include <doctest/doctest.h>

#include "policies/fragmentation.h"
#include "policies/topology_score.h"

using namespace platoon;
using namespace platoon::policies;
using platoon::topology::DeviceRequest;
using platoon::topology::NodeDeviceState;
using platoon::topology::NodeHardware;

namespace {

NodeHardware Node(int gpus, std::string model = "V100M32", std::int64_t cpu_milli = 0) {
  NodeHardware hw;
  hw.name = "n";
  hw.gpu_count = gpus;
  hw.gpu_model = std::move(model);
  hw.cpu_milli = cpu_milli;
  REQUIRE(topology::Finalize(hw));
  return hw;
}

GpuNodeLoad Load(std::vector<int> free) {
  GpuNodeLoad l;
  l.free_milli = std::move(free);
  l.gpu_model = "V100M32";
  return l;
}

}  // namespace

TEST_CASE("a GPU's free part is a fragment for the tasks it cannot serve") {
  const auto node = Load({1000, 500, 200, 0});
  CHECK(TaskFragmentation(node, {.gpus = 1}) == 700);          // the partly used GPUs
  CHECK(TaskFragmentation(node, {.gpu_milli = 500}) == 200);   // only the GPU with 200 free
  CHECK(TaskFragmentation(node, {.gpus = 2}) == 1700);         // cannot run here: everything
  CHECK(TaskFragmentation(node, {}) == 1700);                  // CPU-only tasks use no GPU
  CHECK(TaskFragmentation(node, {.gpus = 1, .gpu_models = {"T4"}}) == 1700);
  SUBCASE("lack of CPU makes the whole node a fragment") {
    auto tight = node;
    tight.cpu_tracked = true;
    tight.cpu_milli_free = 1000;
    CHECK(TaskFragmentation(tight, {.gpus = 1, .cpu_milli = 2000}) == 1700);
  }
}

TEST_CASE("expected fragmentation weighs each shape by how often it arrives") {
  WorkloadMix mix;
  mix.Observe(DeviceRequest{.gpus = 1});
  mix.Observe(DeviceRequest{.gpu_milli = 500});
  mix.Observe(DeviceRequest{.gpu_milli = 500});
  REQUIRE(mix.shapes.size() == 2);
  CHECK(mix.shapes[1].weight == 2);
  CHECK(ExpectedFragmentation(Load({1000, 500, 200, 0}), mix) == doctest::Approx((700 + 2 * 200) / 3.0));
}

TEST_CASE("FGD sends a half-GPU pod to the node where it fills a fragment") {
  auto mix = std::make_shared<WorkloadMix>();
  mix->Observe(DeviceRequest{.gpus = 1});
  mix->Observe(DeviceRequest{.gpu_milli = 500});
  const auto hw = Node(2);
  auto half_used = NodeDeviceState::For(hw);
  half_used.milli[0] = 500;
  const auto idle = NodeDeviceState::For(hw);
  FragmentationGradient fgd(mix);
  const DeviceRequest pod{.gpu_milli = 500};
  CHECK(*fgd.Delta(pod, {hw, half_used}) == doctest::Approx(-250));
  CHECK(*fgd.Delta(pod, {hw, idle}) == doctest::Approx(250));
  CHECK(fgd.ScoreDevices(pod, {hw, half_used}) > fgd.ScoreDevices(pod, {hw, idle}));
  CHECK(fgd.ScoreDevices(DeviceRequest{.gpus = 3}, {hw, idle}) == 0);
}

TEST_CASE("BestFit prefers the node left fullest") {
  const auto hw = Node(4, "V100M32", 32000);
  auto busy = NodeDeviceState::For(hw);
  busy.whole[0] = busy.whole[1] = 1;
  busy.cpu_milli = 16000;
  const auto idle = NodeDeviceState::For(hw);
  BestFit bf;
  const DeviceRequest pod{.gpus = 1, .cpu_milli = 4000};
  CHECK(bf.ScoreDevices(pod, {hw, busy}) == 69);  // remaining: GPU 1/4, CPU 12/32: mean 0.3125
  CHECK(bf.ScoreDevices(pod, {hw, idle}) == 19);  // remaining: GPU 3/4, CPU 28/32: mean 0.8125
}

TEST_CASE("TopologyLocality prefers the node whose GPUs for the pod share NVLink") {
  NodeHardware nvlink = Node(4, "NVIDIA-A100-SXM4-80GB");
  NodeHardware pcie = Node(4, "NVIDIA-L4");
  TopologyLocality tl;
  const DeviceRequest pod{.gpus = 2};
  const int a = tl.ScoreDevices(pod, {nvlink, NodeDeviceState::For(nvlink)});
  const int b = tl.ScoreDevices(pod, {pcie, NodeDeviceState::For(pcie)});
  CHECK(a == 100);
  CHECK(b == 100);  // a node whose best link is PCIe is as good as it gets for that node...
  SUBCASE("...but a broken-up NVLink node scores lower than a whole one") {
    NodeHardware two_numa = Node(4, "NVIDIA-L4");
    two_numa.numa = {topology::NumaNode{0, {}, {0, 1}, {}}, topology::NumaNode{1, {}, {2, 3}, {}}};
    two_numa.gpu_links.clear();
    REQUIRE(topology::Finalize(two_numa));
    auto state = NodeDeviceState::For(two_numa);
    state.whole[0] = state.whole[2] = 1;
    CHECK(tl.ScoreDevices(pod, {two_numa, state}) < tl.ScoreDevices(pod, {two_numa, NodeDeviceState::For(two_numa)}));
  }
}

TEST_CASE("device score policies are built by name and also score from resource sums") {
  auto mix = std::make_shared<WorkloadMix>();
  mix->Observe(DeviceRequest{.gpus = 1});
  for (const auto& name : DeviceScorePolicyNames()) {
    auto p = MakeDeviceScorePolicy(name, mix);
    REQUIRE(p);
    CHECK((*p)->Name() == name);
  }
  CHECK(MakeDeviceScorePolicy("Fragmentation", mix).value()->Name() == "FGD");
  CHECK(MakeDeviceScorePolicy("FGD").error() == "score policy FGD needs the workload mix");
  CHECK(MakeDeviceScorePolicy("Random").error() ==
        "unknown device score policy \"Random\" (known: FGD, BestFit, TopologyLocality)");
  auto bf = *MakeDeviceScorePolicy("BestFit");
  const ResourceList alloc{{"cpu", 8000}, {"nvidia.com/gpu", 4}};
  const ResourceList full{{"cpu", 6000}, {"nvidia.com/gpu", 3}};
  const ResourceList empty{};
  const ResourceList pod{{"cpu", 1000}, {"nvidia.com/gpu", 1}};
  CHECK(bf->Score(pod, {"full", alloc, full}) > bf->Score(pod, {"empty", alloc, empty}));
  CHECK(bf->Score(ResourceList{{"nvidia.com/gpu", 2}}, {"full", alloc, full}) == 0);
}
