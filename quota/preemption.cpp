// Kueue's preemption target selection (classical and fair sharing) and the minimisation pass.
#include <algorithm>
#include <optional>

#include "quota/quota_tree.h"

namespace platoon::quota {

namespace {

using FrAmounts = QuotaEngine::FrAmounts;
using Tree = QuotaState::Tree;

struct Candidate {
  const std::string* name;
  std::int32_t priority = 0;
  std::int64_t sequence = 0;  // admission order; higher = admitted more recently
  int node = -1;
  bool same_cq = false;
  const FrAmounts* usage;
};

std::int64_t AmountOf(const FrAmounts& amounts, int fr) {
  for (const auto& [f, a] : amounts)
    if (f == fr) return a;
  return 0;
}

bool UsesAny(const FrAmounts& usage, const std::vector<int>& frs) {
  for (const auto& [fr, a] : usage)
    if (a > 0 && std::find(frs.begin(), frs.end(), fr) != frs.end()) return true;
  return false;
}

bool BorrowingAny(const Tree& t, const std::vector<std::int64_t>& usage, int node, const std::vector<int>& frs) {
  return std::any_of(frs.begin(), frs.end(), [&](int fr) { return t.Borrowing(usage, node, fr); });
}

void Apply(const Tree& t, std::vector<std::int64_t>& usage, int node, const FrAmounts& amounts, int sign) {
  for (const auto& [fr, a] : amounts) t.AddUsage(usage, node, fr, sign * a);
}

bool WorkloadFits(const Tree& t, const std::vector<std::int64_t>& usage, int node, const FrAmounts& req,
                  bool allow_borrowing) {
  for (const auto& [fr, amount] : req) {
    if (!allow_borrowing && t.U(usage, node, fr) + amount > t.nodes[node].subtree[fr]) return false;
    if (amount > t.Available(usage, node, fr)) return false;
  }
  return true;
}

// Removing the candidate keeps its ClusterQueue at or above nominal in every contested
// flavor/resource it uses (kueue#10171's LowerPriorityBorrowersOnly).
bool StaysAtOrAboveNominal(const Tree& t, const std::vector<std::int64_t>& usage, const Candidate& c,
                           const std::vector<int>& frs) {
  for (int fr : frs) {
    const std::int64_t a = AmountOf((*c.usage), fr);
    if (a > 0 && t.U(usage, c.node, fr) - a < t.nodes[c.node].subtree[fr]) return false;
  }
  return true;
}

// Adds the targets back one by one, newest choice last excluded, and drops every one whose return
// still lets the preemptor fit.
std::vector<const Candidate*> FillBack(const Tree& t, std::vector<std::int64_t>& usage, int node,
                                       const FrAmounts& req, std::vector<const Candidate*> targets,
                                       bool allow_borrowing) {
  for (int i = static_cast<int>(targets.size()) - 2; i >= 0; --i) {
    Apply(t, usage, targets[i]->node, (*targets[i]->usage), +1);
    if (WorkloadFits(t, usage, node, req, allow_borrowing)) {
      targets.erase(targets.begin() + i);
    } else {
      Apply(t, usage, targets[i]->node, (*targets[i]->usage), -1);
    }
  }
  return targets;
}

struct Search {
  const Tree& t;
  const QuotaOptions& options;
  int node;
  const FrAmounts& req;
  const std::vector<int>& frs_need;
  const std::vector<std::int64_t>& base_usage;
};

// `allow_borrowing` is in-out: a candidate at or above the threshold turns borrowing off, and the
// caller learns under which rule the targets were chosen.
std::vector<const Candidate*> MinimalPreemptions(const Search& s, const std::vector<const Candidate*>& candidates,
                                                 bool& allow_borrowing, std::optional<std::int32_t> threshold,
                                                 bool protect_nominal) {
  std::vector<std::int64_t> usage = s.base_usage;
  std::vector<const Candidate*> targets;
  bool fits = false;
  for (const Candidate* c : candidates) {
    if (!c->same_cq) {
      if (!BorrowingAny(s.t, usage, c->node, s.frs_need)) continue;
      if (threshold && c->priority >= *threshold) allow_borrowing = false;
      if (protect_nominal && allow_borrowing && !StaysAtOrAboveNominal(s.t, usage, *c, s.frs_need)) continue;
    }
    Apply(s.t, usage, c->node, (*c->usage), -1);
    targets.push_back(c);
    if (WorkloadFits(s.t, usage, s.node, s.req, allow_borrowing)) {
      fits = true;
      break;
    }
  }
  if (!fits) return {};
  return FillBack(s.t, usage, s.node, s.req, std::move(targets), allow_borrowing);
}

using Strategy = FairPreemptionStrategy;
bool StrategyAllows(Strategy st, std::int64_t preemptor_new, std::int64_t target_old, std::int64_t target_new) {
  return st == Strategy::LessThanOrEqualToFinalShare ? preemptor_new <= target_new : preemptor_new < target_old;
}

// Kueue's fair-sharing target order over the cohort tree: from the root, descend into the child
// (ClusterQueue or cohort) with the highest share, preferring a cohort on ties; prune ClusterQueues
// without candidates or not borrowing (except the preemptor's own) and cohorts not borrowing that
// are not above the preemptor. Shares are compared between the children of the lowest common
// cohort of preemptor and target ("almost lowest common ancestors").
class FairOrdering {
 public:
  FairOrdering(const Tree& t, const std::vector<std::int64_t>& usage, int preemptor,
               const std::vector<const Candidate*>& candidates)
      : t_(t), usage_(usage), preemptor_(preemptor), pruned_(t.nodes.size(), 0), on_path_(t.nodes.size(), 0),
        queue_(t.nodes.size()) {
    for (int n = t.nodes[preemptor].parent; n >= 0; n = t.nodes[n].parent) on_path_[n] = 1;
    for (const Candidate* c : candidates) queue_[c->node].push_back(c);
  }
  bool Done() const {
    const int root = t_.nodes[preemptor_].root;
    return root == preemptor_ ? queue_[preemptor_].empty() : pruned_[root] != 0;
  }
  // The next ClusterQueue to take from, or -1 when this step only pruned nodes.
  int Next() {
    const int root = t_.nodes[preemptor_].root;
    if (root == preemptor_) return queue_[preemptor_].empty() ? -1 : preemptor_;
    return Descend(root);
  }
  std::vector<const Candidate*>& Workloads(int cq) { return queue_[cq]; }
  void Drop(int cq) { pruned_[cq] = 1; }
  // The children of the lowest common cohort on the preemptor's and the target's side.
  std::pair<int, int> AlmostLca(int target) const {
    std::vector<int> a, b;
    for (int n = preemptor_; n >= 0; n = t_.nodes[n].parent) a.push_back(n);
    for (int n = target; n >= 0; n = t_.nodes[n].parent) b.push_back(n);
    std::size_t i = a.size(), j = b.size();
    while (i > 0 && j > 0 && a[i - 1] == b[j - 1]) --i, --j;
    return {a[i > 0 ? i - 1 : 0], b[j > 0 ? j - 1 : 0]};
  }

 private:
  int Descend(int cohort) {
    int best_cq = -1, best_cohort = -1;
    std::int64_t best_cq_share = -1, best_cohort_share = -1;
    for (int child : t_.nodes[cohort].children) {
      if (pruned_[child]) continue;
      const std::int64_t share = t_.Share(usage_, child);
      if (t_.nodes[child].is_cq) {
        if ((share == 0 && child != preemptor_) || queue_[child].empty()) {
          pruned_[child] = 1;
        } else if (share >= best_cq_share) {
          best_cq_share = share;
          best_cq = child;
        }
      } else if (share == 0 && !on_path_[child]) {
        pruned_[child] = 1;
      } else if (share >= best_cohort_share) {
        best_cohort_share = share;
        best_cohort = child;
      }
    }
    if (best_cq < 0 && best_cohort < 0) {
      pruned_[cohort] = 1;
      return -1;
    }
    if (best_cohort >= 0 && best_cohort_share >= best_cq_share) return Descend(best_cohort);
    return best_cq;
  }

  const Tree& t_;
  const std::vector<std::int64_t>& usage_;
  int preemptor_;
  std::vector<char> pruned_;
  std::vector<char> on_path_;
  std::vector<std::vector<const Candidate*>> queue_;  // per ClusterQueue node, in candidate order
};

std::vector<const Candidate*> FairPreemptions(const Search& s, const std::vector<const Candidate*>& candidates,
                                              std::optional<std::int32_t> threshold) {
  const auto& strategies = s.options.fair_sharing_strategies;
  if (strategies.empty()) return {};
  const Tree& t = s.t;
  std::vector<std::int64_t> usage = s.base_usage;
  // Share of `node` with `amounts` added at ClusterQueue `at` (sign -1 removes them).
  auto share_with = [&](int node, int at, const FrAmounts& amounts, int sign) {
    Apply(t, usage, at, amounts, sign);
    const std::int64_t share = t.Share(usage, node);
    Apply(t, usage, at, amounts, -sign);
    return share;
  };
  auto fits = [&] { return WorkloadFits(t, usage, s.node, s.req, true); };
  auto below_threshold = [&](const Candidate* c) { return threshold && c->priority < *threshold; };

  std::vector<const Candidate*> targets, retry;
  {
    FairOrdering ordering(t, usage, s.node, candidates);
    while (!ordering.Done()) {
      const int cq = ordering.Next();
      if (cq < 0) continue;
      auto& wls = ordering.Workloads(cq);
      if (cq == s.node) {
        const Candidate* c = wls.front();
        wls.erase(wls.begin());
        Apply(t, usage, c->node, *c->usage, -1);
        targets.push_back(c);
        if (fits()) return FillBack(t, usage, s.node, s.req, std::move(targets), true);
        continue;
      }
      const auto [mine, theirs] = ordering.AlmostLca(cq);
      const std::int64_t preemptor_new = share_with(mine, s.node, s.req, +1);
      const std::int64_t target_old = t.Share(usage, theirs);
      while (!wls.empty()) {
        const Candidate* c = wls.front();
        wls.erase(wls.begin());
        const std::int64_t target_new = share_with(theirs, c->node, *c->usage, -1);
        if (below_threshold(c) || StrategyAllows(strategies[0], preemptor_new, target_old, target_new)) {
          Apply(t, usage, c->node, *c->usage, -1);
          targets.push_back(c);
          if (fits()) return FillBack(t, usage, s.node, s.req, std::move(targets), true);
          break;  // shares changed: choose the target queue again
        }
        retry.push_back(c);
      }
    }
  }
  if (strategies.size() > 1) {
    FairOrdering ordering(t, usage, s.node, retry);
    while (!ordering.Done()) {
      const int cq = ordering.Next();
      if (cq < 0) continue;
      auto& wls = ordering.Workloads(cq);
      const auto [mine, theirs] = ordering.AlmostLca(cq);
      const std::int64_t preemptor_new = share_with(mine, s.node, s.req, +1);
      const std::int64_t target_old = t.Share(usage, theirs);
      const Candidate* c = wls.front();
      if (below_threshold(c) || StrategyAllows(strategies[1], preemptor_new, target_old, 0)) {
        wls.erase(wls.begin());
        Apply(t, usage, c->node, *c->usage, -1);
        targets.push_back(c);
        if (fits()) return FillBack(t, usage, s.node, s.req, std::move(targets), true);
      }
      // Another queue with an equal share may still qualify: drop this one.
      ordering.Drop(cq);
    }
  }
  return {};
}

std::string_view PolicyName(WithinClusterQueuePolicy p) {
  switch (p) {
    case WithinClusterQueuePolicy::Never: return "Never";
    case WithinClusterQueuePolicy::LowerPriority: return "LowerPriority";
    case WithinClusterQueuePolicy::LowerOrNewerEqualPriority: return "LowerOrNewerEqualPriority";
  }
  return "?";
}
std::string_view PolicyName(ReclaimWithinCohortPolicy p) {
  switch (p) {
    case ReclaimWithinCohortPolicy::Never: return "Never";
    case ReclaimWithinCohortPolicy::LowerPriority: return "LowerPriority";
    case ReclaimWithinCohortPolicy::Any: return "Any";
  }
  return "?";
}

}  // namespace

PreemptionResult QuotaEngine::FindTargets(const QuotaState& st, const Workload& wl, const Assignment& a) {
  PreemptionResult out;
  const Tree& t = *st.tree_;
  auto it = t.cq_node.find(wl.cluster_queue);
  if (it == t.cq_node.end()) {
    out.reasons.push_back("ClusterQueue " + wl.cluster_queue + " does not exist");
    return out;
  }
  const int node = it->second;
  const ClusterQueue& cq = t.config.cluster_queues[t.nodes[node].cq_index];
  if (a.mode == FitMode::NoFit) {
    out.reasons.push_back("preemption cannot make it fit: " + a.Message());
    return out;
  }
  const FrAmounts req = ToFr(t, a);
  std::vector<int> frs_need;
  for (const auto& [fr, amount] : req)
    if (amount > t.Available(st.usage_, node, fr)) frs_need.push_back(fr);
  if (frs_need.empty()) {
    out.reasons.push_back("it fits without preemption");
    return out;
  }

  // Candidates (Kueue findCandidates).
  std::vector<Candidate> pool;
  const auto& policy = cq.preemption;
  auto add = [&](const QuotaState::AdmittedWorkload& aw, int cnode, bool same) {
    pool.push_back({&aw.workload.name, aw.workload.priority, aw.sequence, cnode, same, &aw.usage});
  };
  if (policy.within_cluster_queue != WithinClusterQueuePolicy::Never) {
    for (const auto& aw : st.admitted_by_cq_[t.nodes[node].cq_index]) {
      const auto& c = aw.workload;
      bool ok = c.priority < wl.priority;
      if (policy.within_cluster_queue == WithinClusterQueuePolicy::LowerOrNewerEqualPriority)
        ok = ok || (c.priority == wl.priority && wl.creation_time < c.creation_time);
      if (ok && UsesAny(aw.usage, frs_need)) add(aw, node, true);
    }
  }
  const bool has_cohort = t.nodes[node].parent >= 0;
  if (has_cohort && policy.reclaim_within_cohort != ReclaimWithinCohortPolicy::Never) {
    const bool only_lower = policy.reclaim_within_cohort != ReclaimWithinCohortPolicy::Any;
    for (int other : t.subtree_cqs[t.nodes[node].root]) {
      if (other == node || !BorrowingAny(t, st.usage_, other, frs_need)) continue;
      for (const auto& aw : st.admitted_by_cq_[t.nodes[other].cq_index]) {
        if (only_lower && aw.workload.priority >= wl.priority) continue;
        if (UsesAny(aw.usage, frs_need)) add(aw, other, false);
      }
    }
  }
  if (pool.empty()) {
    std::string why = "no workload can be preempted for it: withinClusterQueue is " +
                      std::string(PolicyName(policy.within_cluster_queue));
    if (policy.within_cluster_queue != WithinClusterQueuePolicy::Never) why += " and no admitted workload of lower priority in ClusterQueue " + cq.name + " uses the contested resources";
    if (!has_cohort)
      why += "; ClusterQueue " + cq.name + " has no cohort";
    else if (policy.reclaim_within_cohort == ReclaimWithinCohortPolicy::Never)
      why += "; reclaimWithinCohort is Never";
    else
      why += "; no other ClusterQueue of the cohort borrows the contested resources with workloads it may preempt (reclaimWithinCohort " +
             std::string(PolicyName(policy.reclaim_within_cohort)) + ")";
    out.reasons.push_back(why);
    return out;
  }
  // Removing a workload raises what the preemptor can get by at most that workload's usage, so when
  // all candidates together hold less than the shortfall of some flavor/resource, no search helps.
  for (int fr : frs_need) {
    const std::int64_t shortfall = AmountOf(req, fr) - t.Available(st.usage_, node, fr);
    std::int64_t held = 0;
    for (const auto& cand : pool) held += AmountOf(*cand.usage, fr);
    if (held < shortfall) {
      const std::string& res = t.resources[t.ResourceOf(fr)];
      out.reasons.push_back("preempting every eligible workload (" + std::to_string(pool.size()) +
                            " candidates) would still not free enough quota for " + t.FrName(fr) + ": " +
                            FormatAmount(res, shortfall) + " more needed, the candidates hold " + FormatAmount(res, held));
      return out;
    }
  }
  // Kueue's candidate order: other ClusterQueues first, lower priority, more recently admitted, name.
  std::vector<const Candidate*> candidates;
  for (const auto& c : pool) candidates.push_back(&c);
  std::sort(candidates.begin(), candidates.end(), [](const Candidate* x, const Candidate* y) {
    if (x->same_cq != y->same_cq) return !x->same_cq;
    if (x->priority != y->priority) return x->priority < y->priority;
    if (x->sequence != y->sequence) return x->sequence > y->sequence;
    return *x->name < *y->name;
  });
  std::vector<const Candidate*> same_queue;
  for (const Candidate* c : candidates)
    if (c->same_cq) same_queue.push_back(c);

  std::optional<std::int32_t> threshold;
  bool borrow_within_cohort = false;
  if (policy.borrow_within_cohort.policy != BorrowWithinCohortPolicy::Never) {
    borrow_within_cohort = true;
    std::int32_t th = wl.priority;
    if (policy.borrow_within_cohort.max_priority_threshold && *policy.borrow_within_cohort.max_priority_threshold < th)
      th = *policy.borrow_within_cohort.max_priority_threshold + 1;
    threshold = th;
  }
  const Search search{t, st.options_, node, req, frs_need, st.usage_};
  std::vector<const Candidate*> targets;
  bool borrowing_path = false;
  bool allow_borrowing = true;
  if (st.options_.fair_sharing) {
    targets = FairPreemptions(search, candidates, threshold);
  } else if (same_queue.size() == candidates.size()) {
    allow_borrowing = true;
    targets = MinimalPreemptions(search, candidates, allow_borrowing, std::nullopt, false);
  } else {
    const bool under_nominal = std::all_of(frs_need.begin(), frs_need.end(), [&](int fr) {
      return t.U(st.usage_, node, fr) < t.nodes[node].subtree[fr];
    });
    if (borrow_within_cohort) {
      allow_borrowing = true;
      targets = MinimalPreemptions(search, candidates, allow_borrowing, threshold,
                                   st.options_.protect_nominal_from_borrowing_preemption);
      borrowing_path = !targets.empty() && allow_borrowing;
    }
    if (targets.empty() && under_nominal) {
      allow_borrowing = false;
      targets = MinimalPreemptions(search, candidates, allow_borrowing, std::nullopt, false);
    }
    if (targets.empty()) {
      allow_borrowing = true;
      targets = MinimalPreemptions(search, same_queue, allow_borrowing, std::nullopt, false);
    }
  }
  if (targets.empty()) {
    std::string why = "preempting every eligible workload (" + std::to_string(candidates.size()) +
                      " candidates) would still not free enough quota for ";
    for (std::size_t i = 0; i < frs_need.size(); ++i) why += (i ? ", " : "") + t.FrName(frs_need[i]);
    if (st.options_.fair_sharing) why += " within the fair-sharing strategies";
    out.reasons.push_back(why);
    return out;
  }
  out.allow_borrowing = allow_borrowing;
  for (const Candidate* c : targets) {
    PreemptionReason reason = PreemptionReason::InClusterQueue;
    if (!c->same_cq)
      reason = st.options_.fair_sharing ? PreemptionReason::InCohortFairSharing
               : borrowing_path        ? PreemptionReason::InCohortReclaimWhileBorrowing
                                       : PreemptionReason::InCohortReclamation;
    out.targets.push_back({*c->name, t.nodes[c->node].name, reason});
  }
  return out;
}

PreemptionResult QuotaState::FindPreemptionTargets(const Workload& preemptor, const Assignment& assignment) const {
  return QuotaEngine::FindTargets(*this, preemptor, assignment);
}

}  // namespace platoon::quota
