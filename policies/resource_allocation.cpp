// Resource-allocation scoring arithmetic (kube-scheduler's least_allocated.go / most_allocated.go).
#include "policies/resource_allocation.h"

#include <algorithm>

namespace platoon::policies {
namespace {

// Weighted mean of per-resource scores; resources the node does not have are skipped, so a CPU-only
// node is not punished for lacking GPUs the pod does not request.
template <typename PerResource>
int WeightedScore(const std::vector<ResourceWeight>& weights, const ResourceList& pod_request,
                  const NodeResourceView& node, PerResource per_resource) {
  std::int64_t total = 0;
  std::int64_t weight_sum = 0;
  for (const auto& [resource, weight] : weights) {
    const std::int64_t allocatable = node.allocatable.Get(resource);
    if (allocatable <= 0) continue;
    const std::int64_t requested = node.requested.Get(resource) + pod_request.Get(resource);
    total += per_resource(requested, allocatable) * weight;
    weight_sum += weight;
  }
  return weight_sum == 0 ? 0 : static_cast<int>(total / weight_sum);
}

}  // namespace

std::vector<ResourceWeight> DefaultResourceWeights() {
  return {{std::string(kResourceCPU), 1}, {std::string(kResourceMemory), 1}, {std::string(kResourceGPU), 1}};
}

std::int64_t LeastAllocated::AllocationScore(std::int64_t requested, std::int64_t allocatable) const {
  if (requested > allocatable) return 0;
  return (allocatable - requested) * kMaxNodeScore / allocatable;
}

int LeastAllocated::Score(const ResourceList& pod_request, const NodeResourceView& node) const {
  return WeightedScore(weights_, pod_request, node,
                       [this](std::int64_t r, std::int64_t a) { return AllocationScore(r, a); });
}

std::int64_t MostAllocated::AllocationScore(std::int64_t requested, std::int64_t allocatable) const {
  return std::min(requested, allocatable) * kMaxNodeScore / allocatable;
}

int MostAllocated::Score(const ResourceList& pod_request, const NodeResourceView& node) const {
  return WeightedScore(weights_, pod_request, node,
                       [this](std::int64_t r, std::int64_t a) { return AllocationScore(r, a); });
}

std::vector<std::string> ScorePolicyNames() { return {"LeastAllocated", "MostAllocated"}; }

std::expected<std::unique_ptr<ScorePolicy>, std::string> MakeScorePolicy(std::string_view name,
                                                                        std::vector<ResourceWeight> weights) {
  if (name == "LeastAllocated") return std::make_unique<LeastAllocated>(std::move(weights));
  if (name == "MostAllocated") return std::make_unique<MostAllocated>(std::move(weights));
  std::string known;
  for (const auto& n : ScorePolicyNames()) known += (known.empty() ? "" : ", ") + n;
  return std::unexpected("unknown score policy \"" + std::string(name) + "\" (known: " + known + ")");
}

}  // namespace platoon::policies
