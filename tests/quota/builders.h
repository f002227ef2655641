// Test helpers: short builders for Kueue objects and workloads.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "quota/model.h"
#include "quota/quota_state.h"

namespace platoon::quota::testing {

struct Q {
  std::string resource;
  std::int64_t nominal;
  std::optional<std::int64_t> borrowing = std::nullopt;
  std::optional<std::int64_t> lending = std::nullopt;
};

inline FlavorQuotas Flavor(std::string name, std::vector<Q> quotas) {
  FlavorQuotas fq{std::move(name), {}};
  for (const auto& q : quotas) fq.resources.push_back({q.resource, q.nominal, q.borrowing, q.lending});
  return fq;
}

inline ResourceGroup Group(std::vector<std::string> covered, std::vector<FlavorQuotas> flavors) {
  return {std::move(covered), std::move(flavors)};
}

inline ClusterQueue Cq(std::string name, std::string cohort, std::vector<ResourceGroup> groups) {
  ClusterQueue cq;
  cq.name = std::move(name);
  cq.cohort = std::move(cohort);
  cq.resource_groups = std::move(groups);
  cq.namespace_selector.present = true;
  return cq;
}

inline Cohort Co(std::string name, std::string parent, std::vector<ResourceGroup> groups = {}) {
  Cohort c;
  c.name = std::move(name);
  c.parent_name = std::move(parent);
  c.resource_groups = std::move(groups);
  return c;
}

inline std::vector<ResourceFlavor> Flavors(std::vector<std::string> names) {
  std::vector<ResourceFlavor> out;
  for (auto& n : names) out.push_back({std::move(n), {}, {}, {}, {}});
  return out;
}

inline Workload Wl(std::string name, std::string cq, ResourceList requests, std::int32_t priority = 0,
                   std::int64_t created = 0, std::int32_t count = 1) {
  Workload wl;
  wl.name = std::move(name);
  wl.cluster_queue = std::move(cq);
  wl.priority = priority;
  wl.creation_time = created;
  PodSet ps;
  ps.count = count;
  ps.requests = std::move(requests);
  wl.pod_sets.push_back(std::move(ps));
  return wl;
}

inline QuotaState MustBuild(const QuotaConfig& config, QuotaOptions options = {}) {
  auto state = QuotaState::Build(config, std::move(options));
  if (!state) throw std::runtime_error(state.error());
  return std::move(*state);
}

// Assigns and, when it fits, admits. Returns the assignment.
inline Assignment AdmitIfFits(QuotaState& state, const Workload& wl) {
  Assignment a = state.Assign(wl);
  if (a.mode == FitMode::Fit) (void)state.Admit(wl, a);
  return a;
}

inline std::string FlavorOf(const Assignment& a, const std::string& resource, std::size_t pod_set = 0) {
  if (pod_set >= a.pod_sets.size()) return {};
  auto it = a.pod_sets[pod_set].flavors.find(resource);
  return it == a.pod_sets[pod_set].flavors.end() ? std::string() : it->second;
}

}  // namespace platoon::quota::testing
