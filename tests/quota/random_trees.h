// Test helpers: random cohort trees and workload streams from a fixed seed, plus an independent
// re-computation of Kueue's limits to check the engine against.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/quota/builders.h"

namespace platoon::quota::testing {

inline const std::vector<std::string> kRandomFlavors = {"f0", "f1"};
inline const std::vector<std::string> kRandomResources = {"cpu", "nvidia.com/gpu"};

inline std::vector<ResourceGroup> RandomGroups(std::mt19937& rng, bool with_limits, int max_nominal) {
  std::uniform_int_distribution<int> nominal(0, max_nominal), coin(0, 2);
  std::vector<FlavorQuotas> flavors;
  for (const auto& f : kRandomFlavors) {
    FlavorQuotas fq{f, {}};
    for (const auto& r : kRandomResources) {
      ResourceQuota q{r, nominal(rng), std::nullopt, std::nullopt};
      if (with_limits && coin(rng) == 0) q.borrowing_limit = nominal(rng) / 2;
      if (with_limits && coin(rng) == 0) q.lending_limit = std::uniform_int_distribution<std::int64_t>(0, q.nominal_quota)(rng);
      fq.resources.push_back(q);
    }
    flavors.push_back(fq);
  }
  return {ResourceGroup{kRandomResources, flavors}};
}

// One root cohort, up to three child cohorts, two to six ClusterQueues.
inline QuotaConfig RandomConfig(std::mt19937& rng) {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors(kRandomFlavors);
  std::uniform_int_distribution<int> n_cohorts(0, 3), n_cqs(2, 6), coin(0, 1);
  cfg.cohorts.push_back(Co("root", "", coin(rng) ? RandomGroups(rng, false, 4) : std::vector<ResourceGroup>{}));
  const int cohorts = n_cohorts(rng);
  for (int i = 0; i < cohorts; ++i)
    cfg.cohorts.push_back(Co("c" + std::to_string(i), "root", coin(rng) ? RandomGroups(rng, true, 4) : std::vector<ResourceGroup>{}));
  const int cqs = n_cqs(rng);
  for (int i = 0; i < cqs; ++i) {
    const std::string parent = cfg.cohorts[std::uniform_int_distribution<int>(0, cohorts)(rng)].name;
    ClusterQueue cq = Cq("q" + std::to_string(i), parent, RandomGroups(rng, true, 8));
    cq.flavor_fungibility.when_can_borrow = coin(rng) ? WhenCanBorrow::MayStopSearch : WhenCanBorrow::TryNextFlavor;
    cfg.cluster_queues.push_back(cq);
  }
  return cfg;
}

inline Workload RandomWorkload(std::mt19937& rng, const QuotaConfig& cfg, int serial) {
  std::uniform_int_distribution<int> gpu(0, 6), cpu(0, 5), prio(0, 3);
  const auto& cq = cfg.cluster_queues[std::uniform_int_distribution<std::size_t>(0, cfg.cluster_queues.size() - 1)(rng)];
  ResourceList req;
  req.Set("nvidia.com/gpu", gpu(rng));
  req.Set("cpu", cpu(rng));
  if (req.empty()) req.Set("cpu", 1);
  return Wl("w" + std::to_string(serial), cq.name, req, prio(rng), serial);
}

// Kueue's limits recomputed from the objects alone: returns a description of the first violation.
inline std::string CheckLimits(const QuotaState& s) {
  const QuotaConfig& cfg = s.config();
  struct Node {
    std::string parent;
    std::map<std::string, ResourceQuota> q;  // key flavor/resource
    std::vector<std::string> children;
    bool is_cq = false;
  };
  std::map<std::string, Node> nodes;
  auto fill = [](Node& n, const std::vector<ResourceGroup>& groups) {
    for (const auto& g : groups)
      for (const auto& f : g.flavors)
        for (const auto& r : f.resources) n.q[f.name + "/" + r.name] = r;
  };
  for (const auto& c : cfg.cohorts) {
    Node& n = nodes["cohort:" + c.name];
    n.parent = c.parent_name.empty() ? "" : "cohort:" + c.parent_name;
    fill(n, c.resource_groups);
  }
  for (const auto& c : cfg.cluster_queues) {
    Node& n = nodes["cq:" + c.name];
    n.is_cq = true;
    n.parent = c.cohort.empty() ? "" : "cohort:" + c.cohort;
    fill(n, c.resource_groups);
  }
  for (auto& [name, n] : nodes)
    if (!n.parent.empty()) nodes[n.parent].children.push_back(name);
  for (const auto& f : kRandomFlavors)
    for (const auto& r : kRandomResources) {
      const std::string key = f + "/" + r;
      std::map<std::string, std::int64_t> subtree, guaranteed, used;
      std::function<void(const std::string&)> up = [&](const std::string& name) {
        Node& n = nodes[name];
        std::int64_t q = n.q.count(key) ? n.q[key].nominal_quota : 0;
        std::int64_t u = n.is_cq ? s.Usage(name.substr(3), f, r) : 0;
        for (const auto& c : n.children) {
          up(c);
          q += subtree[c] - guaranteed[c];
          u += std::max<std::int64_t>(0, used[c] - guaranteed[c]);
        }
        subtree[name] = q;
        guaranteed[name] = (n.q.count(key) && n.q[key].lending_limit) ? std::max<std::int64_t>(0, q - *n.q[key].lending_limit) : 0;
        used[name] = u;
      };
      for (const auto& [name, n] : nodes)
        if (n.parent.empty()) up(name);
      for (const auto& [name, n] : nodes) {
        const bool limited = !n.parent.empty() && n.q.count(key) && n.q.at(key).borrowing_limit;
        const std::int64_t cap = n.parent.empty() ? subtree[name]
                                 : limited        ? subtree[name] + *n.q.at(key).borrowing_limit
                                                  : INT64_MAX;
        if (used[name] > cap)
          return name + " uses " + std::to_string(used[name]) + " of " + key + ", above its limit " + std::to_string(cap);
        if (n.is_cq && s.Usage(name.substr(3), f, r) < 0) return name + " has negative usage";
        // The guaranteed part (nominal minus lendingLimit) stays available to its owner.
        if (n.is_cq && s.Available(name.substr(3), f, r) < guaranteed[name] - used[name])
          return name + " cannot reach its guaranteed " + std::to_string(guaranteed[name]) + " of " + key;
      }
    }
  return {};
}

}  // namespace platoon::quota::testing
