// Device-aware score policies: FGD, BestFit and topology locality.
#include "policies/topology_score.h"

#include <algorithm>
#include <cmath>

#include "policies/placement.h"

namespace platoon::policies {

namespace {

// A node known only by resource sums: free whole GPUs idle, the rest taken.
struct SyntheticNode {
  topology::NodeHardware hw;
  topology::NodeDeviceState state;
};

SyntheticNode Synthesize(const NodeResourceView& node) {
  SyntheticNode s;
  s.hw.name = std::string(node.name);
  s.hw.gpu_count = static_cast<int>(std::max<std::int64_t>(node.allocatable.Get(kResourceGPU), 0));
  s.hw.cpu_milli = node.allocatable.Get(kResourceCPU);
  s.hw.memory_bytes = node.allocatable.Get(kResourceMemory);
  (void)topology::Finalize(s.hw);
  s.state = topology::NodeDeviceState::For(s.hw);
  const auto used = std::min<std::int64_t>(node.requested.Get(kResourceGPU), s.hw.gpu_count);
  for (std::int64_t g = 0; g < used; ++g) s.state.whole[static_cast<std::size_t>(g)] = 1;
  s.state.cpu_milli = node.requested.Get(kResourceCPU);
  s.state.memory_bytes = node.requested.Get(kResourceMemory);
  return s;
}

int Clamp(double v) { return static_cast<int>(std::clamp(std::lround(v), 0L, static_cast<long>(kMaxNodeScore))); }

}  // namespace

int DeviceScorePolicy::Score(const ResourceList& pod_request, const NodeResourceView& node) const {
  auto pod = topology::DeviceRequestFromPod(pod_request, {});
  if (!pod) return 0;
  const SyntheticNode s = Synthesize(node);
  return ScoreDevices(*pod, DeviceNodeView{s.hw, s.state});
}

std::optional<double> FragmentationGradient::Delta(const topology::DeviceRequest& pod, const DeviceNodeView& node) const {
  auto a = topology::ChooseDevices(node.hardware, node.state, pod);
  if (!a) return std::nullopt;
  static const WorkloadMix kEmpty;
  return FragmentationDelta(LoadOf(node.hardware, node.state), *a, mix_ ? *mix_ : kEmpty);
}

int FragmentationGradient::ScoreDevices(const topology::DeviceRequest& pod, const DeviceNodeView& node) const {
  const auto delta = Delta(pod, node);
  if (!delta) return 0;
  // Growth in milli-GPU mapped onto 1..100: 0 growth scores 50; each whole GPU of growth (or of
  // fragment filled) moves the score by 10 points, so the policy separates candidates by GPUs.
  return std::max(1, Clamp(50.0 - *delta / 100.0));
}

int BestFit::ScoreDevices(const topology::DeviceRequest& pod, const DeviceNodeView& node) const {
  if (!topology::ChooseDevices(node.hardware, node.state, pod)) return 0;
  return std::max(1, Clamp(kMaxNodeScore * (1.0 - FreeShareAfter(node.hardware, node.state, pod, 1))));
}

int TopologyLocality::ScoreDevices(const topology::DeviceRequest& pod, const DeviceNodeView& node) const {
  auto a = topology::ChooseDevices(node.hardware, node.state, pod);
  if (!a) return 0;
  const auto& hw = node.hardware;
  if (a->gpus.size() < 2) return a->numa >= 0 || !pod.NeedsGpu() ? kMaxNodeScore : kMaxNodeScore / 2;
  double best_link = 0;
  for (int x = 0; x < hw.gpu_count; ++x)
    for (int y = x + 1; y < hw.gpu_count; ++y) best_link = std::max(best_link, hw.Link(x, y).gbps);
  const double link_share = best_link > 0 ? a->bottleneck_gbps / best_link : 1.0;
  return std::max(1, Clamp(80.0 * link_share + (a->numa >= 0 ? 20.0 : 0.0)));
}

std::vector<std::string> DeviceScorePolicyNames() { return {"FGD", "BestFit", "TopologyLocality"}; }

std::expected<std::unique_ptr<DeviceScorePolicy>, std::string> MakeDeviceScorePolicy(
    std::string_view name, std::shared_ptr<const WorkloadMix> mix) {
  if (name == "FGD" || name == "Fragmentation") {
    if (!mix) return std::unexpected("score policy FGD needs the workload mix");
    return std::make_unique<FragmentationGradient>(std::move(mix));
  }
  if (name == "BestFit") return std::make_unique<BestFit>();
  if (name == "TopologyLocality") return std::make_unique<TopologyLocality>();
  std::string known;
  for (const auto& n : DeviceScorePolicyNames()) known += (known.empty() ? "" : ", ") + n;
  return std::unexpected("unknown device score policy \"" + std::string(name) + "\" (known: " + known + ")");
}

}  // namespace platoon::policies
