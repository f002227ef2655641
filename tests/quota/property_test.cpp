// Property tests over random cohort trees and workload streams (fixed seeds).
#include <doctest/doctest.h>

#include <functional>
#include <set>

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

namespace {

// Whether the preemptor's assigned usage fits the state as FindPreemptionTargets judges it.
bool FitsNow(const QuotaState& s, const Workload& wl, const Assignment& a, bool allow_borrowing) {
  for (const auto& u : a.usage) {
    if (!allow_borrowing && s.Usage(wl.cluster_queue, u.flavor, u.resource) + u.amount >
                                s.Nominal(wl.cluster_queue, u.flavor, u.resource))
      return false;
    if (u.amount > s.Available(wl.cluster_queue, u.flavor, u.resource)) return false;
  }
  return true;
}

void RandomPolicies(std::mt19937& rng, QuotaConfig& cfg) {
  for (auto& cq : cfg.cluster_queues) {
    cq.preemption.within_cluster_queue = static_cast<WithinClusterQueuePolicy>(std::uniform_int_distribution<int>(0, 2)(rng));
    cq.preemption.reclaim_within_cohort = static_cast<ReclaimWithinCohortPolicy>(std::uniform_int_distribution<int>(0, 2)(rng));
    if (cq.preemption.reclaim_within_cohort != ReclaimWithinCohortPolicy::Never && std::uniform_int_distribution<int>(0, 1)(rng)) {
      cq.preemption.borrow_within_cohort.policy = BorrowWithinCohortPolicy::LowerPriority;
      if (std::uniform_int_distribution<int>(0, 1)(rng))
        cq.preemption.borrow_within_cohort.max_priority_threshold = std::uniform_int_distribution<int>(0, 3)(rng);
    }
  }
}

}  // namespace

TEST_CASE("every preemption frees enough, and no target can be spared") {
  int preemptions = 0;
  for (bool fair : {false, true}) {
    for (bool protect : {true, false}) {
      for (std::uint32_t seed = 1000; seed < 1080; ++seed) {
        CAPTURE(fair);
        CAPTURE(protect);
        CAPTURE(seed);
        std::mt19937 rng(seed);
        QuotaConfig cfg = RandomConfig(rng);
        RandomPolicies(rng, cfg);
        QuotaOptions options;
        options.fair_sharing = fair;
        options.protect_nominal_from_borrowing_preemption = protect;
        QuotaState s = MustBuild(cfg, options);
        for (int step = 0; step < 120; ++step) {
          const Workload w = RandomWorkload(rng, cfg, step);
          const Assignment a = s.Assign(w);
          if (a.mode == FitMode::Fit) {
            REQUIRE(s.Admit(w, a));
          } else if (a.mode == FitMode::Preempt) {
            const PreemptionResult r = s.FindPreemptionTargets(w, a);
            if (r.targets.empty()) {
              REQUIRE_FALSE(r.reasons.empty());
              continue;
            }
            ++preemptions;
            for (const auto& t : r.targets) {
              REQUIRE(s.IsAdmitted(t.workload));
              // Lower priority unless the policy allows equal priority (newer) or Any.
              const bool same = t.cluster_queue == w.cluster_queue;
              if (same) CHECK(t.reason == PreemptionReason::InClusterQueue);
            }
            // Each target is needed: with all the others gone, the preemptor still does not fit.
            for (std::size_t keep = 0; keep < r.targets.size(); ++keep) {
              QuotaState probe = s;
              for (std::size_t i = 0; i < r.targets.size(); ++i)
                if (i != keep) REQUIRE(probe.Release(r.targets[i].workload));
              REQUIRE_MESSAGE(!FitsNow(probe, w, a, r.allow_borrowing),
                              r.targets[keep].workload << " was not needed");
            }
            // Together they are enough, and the preemptor is then admitted.
            for (const auto& t : r.targets) REQUIRE(s.Release(t.workload));
            REQUIRE(FitsNow(s, w, a, r.allow_borrowing));
            REQUIRE(s.Admit(w, a));
          }
          const std::string violation = CheckLimits(s);
          REQUIRE_MESSAGE(violation.empty(), violation);
        }
      }
    }
  }
  CHECK(preemptions > 100);  // the streams do exercise preemption
}

TEST_CASE("with platoon's protection a borrowing preemptor never takes another queue under its nominal quota") {
  int checked = 0;
  for (std::uint32_t seed = 2000; seed < 2150; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    QuotaConfig cfg = RandomConfig(rng);
    RandomPolicies(rng, cfg);
    QuotaState s = MustBuild(cfg);
    for (int step = 0; step < 120; ++step) {
      const Workload w = RandomWorkload(rng, cfg, step);
      const Assignment a = s.Assign(w);
      if (a.mode == FitMode::Fit) {
        REQUIRE(s.Admit(w, a));
        continue;
      }
      if (a.mode != FitMode::Preempt) continue;
      const PreemptionResult r = s.FindPreemptionTargets(w, a);
      if (r.targets.empty()) continue;
      QuotaState after = s;
      for (const auto& t : r.targets) REQUIRE(after.Release(t.workload));
      for (const auto& t : r.targets) {
        // A preemptor that will borrow; without borrowing it only takes back its own nominal quota.
        if (t.reason != PreemptionReason::InCohortReclaimWhileBorrowing || !r.allow_borrowing) continue;
        ++checked;
        for (const auto& u : a.usage) {
          // Contested: what the preemptor could not get without preemption.
          if (u.amount <= s.Available(w.cluster_queue, u.flavor, u.resource)) continue;
          const std::int64_t before = s.Usage(t.cluster_queue, u.flavor, u.resource);
          const std::int64_t now = after.Usage(t.cluster_queue, u.flavor, u.resource);
          if (now < before)
            CHECK_MESSAGE(now >= s.Nominal(t.cluster_queue, u.flavor, u.resource),
                          t.workload << " took " << t.cluster_queue << " under nominal " << u.flavor << "/" << u.resource);
        }
      }
      s = after;
      REQUIRE(s.Admit(w, a));
    }
  }
  CHECK(checked > 0);
}

TEST_CASE("an admission pass keeps every limit, admits StrictFIFO queues as a prefix and explains every pending workload") {
  for (bool fair : {false, true}) {
    for (std::uint32_t seed = 3000; seed < 3100; ++seed) {
      CAPTURE(fair);
      CAPTURE(seed);
      std::mt19937 rng(seed);
      QuotaConfig cfg = RandomConfig(rng);
      RandomPolicies(rng, cfg);
      for (auto& cq : cfg.cluster_queues)
        if (std::uniform_int_distribution<int>(0, 1)(rng)) cq.queueing_strategy = QueueingStrategy::StrictFIFO;
      QuotaOptions options;
      options.fair_sharing = fair;
      QuotaState s = MustBuild(cfg, options);
      std::vector<Workload> pending;
      for (int i = 0; i < 80; ++i) pending.push_back(RandomWorkload(rng, cfg, i));
      const AdmissionPassResult r = s.RunAdmissionPass(pending);
      const std::string violation = CheckLimits(s);
      REQUIRE_MESSAGE(violation.empty(), violation);
      // Every workload ends up admitted (and still admitted unless preempted later in the pass),
      // preempted, or pending with a reason.
      std::set<std::string> admitted, preempted, waiting;
      for (const auto& a : r.admitted) admitted.insert(a.workload);
      for (const auto& p : r.preemptions)
        for (const auto& t : p.targets) preempted.insert(t.workload);
      for (const auto& p : r.pending) {
        CHECK_FALSE(p.reason.empty());
        waiting.insert(p.workload);
      }
      for (const auto& w : pending) {
        const bool in = admitted.contains(w.name);
        CHECK(in != waiting.contains(w.name));
        CHECK(s.IsAdmitted(w.name) == (in && !preempted.contains(w.name)));
      }
      // A StrictFIFO queue admits a prefix of its queue order.
      for (const auto& cq : cfg.cluster_queues) {
        if (cq.queueing_strategy != QueueingStrategy::StrictFIFO) continue;
        std::vector<Workload> queue;
        for (const auto& w : pending)
          if (w.cluster_queue == cq.name) queue.push_back(w);
        std::sort(queue.begin(), queue.end(), QueueOrderLess);
        bool gap = false;
        for (const auto& w : queue) {
          if (!admitted.contains(w.name))
            gap = true;
          else
            CHECK_MESSAGE(!gap, w.name << " was admitted behind a StrictFIFO head that was not");
        }
      }
    }
  }
}
