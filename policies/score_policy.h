// The score extension point: named policies that rank feasible nodes for one pod.
#pragma once

#include <concepts>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "quota/resources.h"

namespace platoon::policies {

// kube-scheduler framework's range; the extender edge maps it to the extender's 0..10.
inline constexpr int kMaxNodeScore = 100;

// What a score policy may read about one candidate node. Borrowed references, valid for the call.
struct NodeResourceView {
  std::string_view name;
  const ResourceList& allocatable;
  const ResourceList& requested;  // sum of requests of the pods bound or reserved on the node
};

// Resources weighed by the allocation policies and their weights (kube-scheduler's default is cpu
// and memory with weight 1; a GPU cluster adds nvidia.com/gpu).
struct ResourceWeight {
  std::string resource;
  int weight = 1;
};

// Root of every policy, after the framework's Plugin { Name() }.
class Policy {
 public:
  virtual ~Policy() = default;
  // Stable name used in config files, metrics and reports.
  virtual std::string_view Name() const = 0;
};

// Ranks one node for a pod. Called once per feasible node; must be pure and thread-safe (const).
// Returns 0..kMaxNodeScore, higher is better.
class ScorePolicy : public Policy {
 public:
  virtual int Score(const ResourceList& pod_request, const NodeResourceView& node) const = 0;

  // Optional fast path for policies whose score is the weighted mean, over AllocationWeights(), of
  // AllocationScore(requested after placing the pod, allocatable) for each resource the node has.
  // Callers holding packed amounts use it instead of Score(); both must agree. nullptr: no fast path.
  virtual const std::vector<ResourceWeight>* AllocationWeights() const { return nullptr; }
  virtual std::int64_t AllocationScore(std::int64_t /*requested*/, std::int64_t /*allocatable*/) const { return 0; }
};

std::vector<ResourceWeight> DefaultResourceWeights();

// Builds a score policy by name ("LeastAllocated", "MostAllocated", ...). Unknown names are an
// error that lists the known ones.
std::expected<std::unique_ptr<ScorePolicy>, std::string> MakeScorePolicy(
    std::string_view name, std::vector<ResourceWeight> weights = DefaultResourceWeights());
std::vector<std::string> ScorePolicyNames();

}  // namespace platoon::policies
