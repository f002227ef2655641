// LeastAllocated (spread) and MostAllocated (bin-pack) scoring, as kube-scheduler's NodeResourcesFit.
#pragma once

#include <vector>

#include "policies/score_policy.h"

namespace platoon::policies {

// Favours nodes with the most free capacity after placing the pod: weighted mean over resources of
// (allocatable - requested) * 100 / allocatable.
class LeastAllocated final : public ScorePolicy {
 public:
  explicit LeastAllocated(std::vector<ResourceWeight> weights) : weights_(std::move(weights)) {}
  std::string_view Name() const override { return "LeastAllocated"; }
  int Score(const ResourceList& pod_request, const NodeResourceView& node) const override;
  const std::vector<ResourceWeight>* AllocationWeights() const override { return &weights_; }
  std::int64_t AllocationScore(std::int64_t requested, std::int64_t allocatable) const override;

 private:
  std::vector<ResourceWeight> weights_;
};

// Favours the fullest nodes (bin-packing), keeping whole nodes free for large gangs.
class MostAllocated final : public ScorePolicy {
 public:
  explicit MostAllocated(std::vector<ResourceWeight> weights) : weights_(std::move(weights)) {}
  std::string_view Name() const override { return "MostAllocated"; }
  int Score(const ResourceList& pod_request, const NodeResourceView& node) const override;
  const std::vector<ResourceWeight>* AllocationWeights() const override { return &weights_; }
  std::int64_t AllocationScore(std::int64_t requested, std::int64_t allocatable) const override;

 private:
  std::vector<ResourceWeight> weights_;
};

static_assert(std::derived_from<LeastAllocated, ScorePolicy>);
static_assert(std::derived_from<MostAllocated, ScorePolicy>);

}  // namespace platoon::policies
