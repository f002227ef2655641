// Property tests over random cohort trees and workload streams (fixed seeds).
#include <doctest/doctest.h>

#include <functional>

#include "tests/quota/random_trees.h"

using namespace platoon;
using namespace platoon::quota;
using namespace platoon::quota::testing;

TEST_CASE("admitting only what fits never takes a queue past nominal plus borrowing limits, nor a lender past its lending limit") {
  for (std::uint32_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    const QuotaConfig cfg = RandomConfig(rng);
    QuotaState s = MustBuild(cfg);
    std::vector<std::string> admitted;
    for (int step = 0; step < 150; ++step) {
      if (!admitted.empty() && std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
        const std::size_t i = std::uniform_int_distribution<std::size_t>(0, admitted.size() - 1)(rng);
        REQUIRE(s.Release(admitted[i]));
        admitted.erase(admitted.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        const Workload w = RandomWorkload(rng, cfg, step);
        const Assignment a = s.Assign(w);
        if (a.mode == FitMode::Fit) {
          REQUIRE(s.Admit(w, a));
          admitted.push_back(w.name);
        } else {
          REQUIRE_FALSE(a.reasons.empty());
        }
      }
      const std::string violation = CheckLimits(s);
      REQUIRE_MESSAGE(violation.empty(), violation);
    }
    // Releasing everything returns every usage to zero.
    for (const auto& name : admitted) REQUIRE(s.Release(name));
    for (const auto& cq : cfg.cluster_queues)
      for (const auto& f : kRandomFlavors)
        for (const auto& r : kRandomResources) REQUIRE(s.Usage(cq.name, f, r) == 0);
    for (const auto& co : cfg.cohorts)
      for (const auto& f : kRandomFlavors)
        for (const auto& r : kRandomResources) REQUIRE(s.Usage(co.name, f, r) == 0);
  }
}

TEST_CASE("what a queue can take now never exceeds what it could take on an empty cluster") {
  for (std::uint32_t seed = 500; seed < 600; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    const QuotaConfig cfg = RandomConfig(rng);
    QuotaState s = MustBuild(cfg);
    for (int step = 0; step < 60; ++step) {
      const Workload w = RandomWorkload(rng, cfg, step);
      const Assignment a = s.Assign(w);
      if (a.mode == FitMode::Fit) REQUIRE(s.Admit(w, a));
      for (const auto& cq : cfg.cluster_queues)
        for (const auto& f : kRandomFlavors)
          for (const auto& r : kRandomResources)
            REQUIRE(s.Available(cq.name, f, r) <= s.PotentialAvailable(cq.name, f, r));
    }
  }
}
