// Kueue's preemption target selection (classical and fair sharing) and the minimisation pass.
#include <algorithm>
#include <functional>
#include <optional>

#include "quota/quota_tree.h"

namespace platoon::quota {

namespace {

using FrAmounts = QuotaEngine::FrAmounts;
using Tree = QuotaState::Tree;

// Kueue's classification of a candidate (hierarchical classical preemption).
enum class Variant {
  Never,
  WithinClusterQueue,       // same queue as the preemptor
  HierarchicalReclaim,      // the preemptor's position in the tree gives it the quota
  ReclaimWithoutBorrowing,  // only if the preemptor then fits without borrowing
  ReclaimWhileBorrowing,    // also while the preemptor borrows (borrowWithinCohort)
};

struct Candidate {
  const std::string* name;
  std::int32_t priority = 0;
  std::int64_t sequence = 0;  // admission order; higher = admitted more recently
  int node = -1;
  bool same_cq = false;
  const FrAmounts* usage;
  Variant variant = Variant::Never;
  int lca = -1;  // common cohort with the preemptor through which it is reached
};

// Kueue's candidate order: lower priority, more recently admitted, then name.
bool CandidateLess(const Candidate* x, const Candidate* y) {
  if (x->priority != y->priority) return x->priority < y->priority;
  if (x->sequence != y->sequence) return x->sequence > y->sequence;
  return *x->name < *y->name;
}

std::int64_t AmountOf(const FrAmounts& amounts, int fr) {
  for (const auto& [f, a] : amounts)
    if (f == fr) return a;
  return 0;
}

// Removing a workload raises what the preemptor can get by at most that workload's usage, so when all
// candidates together hold less than the shortfall of some flavor/resource, no search helps. Returns
// that reason with the numbers, or nothing.
std::optional<std::string> CandidatesCannotFree(const Tree& t, const std::vector<std::int64_t>& usage, int node,
                                                const FrAmounts& req, const std::vector<int>& frs_need,
                                                const std::vector<Candidate>& pool) {
  for (int fr : frs_need) {
    const std::int64_t shortfall = AmountOf(req, fr) - t.Available(usage, node, fr);
    std::int64_t held = 0;
    for (const auto& cand : pool) held += AmountOf(*cand.usage, fr);
    if (held < shortfall) {
      const std::string& res = t.resources[t.ResourceOf(fr)];
      return "preempting every eligible workload (" + std::to_string(pool.size()) +
             " candidates) would still not free enough quota for " + t.FrName(fr) + ": " + FormatAmount(res, shortfall) +
             " more needed, the candidates hold " + FormatAmount(res, held);
    }
  }
  return std::nullopt;
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


// Kueue's classical preemption over hierarchical cohorts: candidates the preemptor has a
// hierarchical claim on, then candidates it may take by priority, then its own queue's; tried with
// and without borrowing in Kueue's order; each target valid only while its queue (and the cohorts
// up to the common one) is above nominal in a contested flavor/resource; then minimisation.
// A per-thread buffer for the search's working copy of the usage vector: an admission pass searches
// thousands of times and a fresh copy (nodes x flavor-resources) would be a large allocation each time.
// Only the rows of the nodes under `root` are copied: the search reads and changes no other node
// (the preemptor, its candidates and all their ancestors share that root).
std::vector<std::int64_t>& ScratchUsage(const Tree& t, const std::vector<std::int64_t>& base, int root) {
  thread_local std::vector<std::int64_t> scratch;
  scratch.resize(base.size());
  const auto width = static_cast<std::size_t>(t.fr_count);
  // Every node under the root is a ClusterQueue below it or an ancestor of one (a cohort without
  // ClusterQueues below it has no usage and is never read); a cohort may be copied more than once.
  for (int cq : t.subtree_cqs[root])
    for (int n = cq; n >= 0; n = t.nodes[n].parent) {
      const std::size_t offset = static_cast<std::size_t>(n) * width;
      std::copy_n(base.data() + offset, width, scratch.data() + offset);
    }
  return scratch;
}

PreemptionResult ClassicalTargets(const Tree& t, const QuotaOptions& options, const std::vector<std::int64_t>& base,
                                  const std::vector<std::vector<QuotaState::AdmittedWorkload>>& admitted,
                                  const Workload& wl, int node, const FrAmounts& req, const std::vector<int>& frs_need) {
  PreemptionResult out;
  const ClusterQueue& cq = t.config.cluster_queues[t.nodes[node].cq_index];
  const auto& policy = cq.preemption;
  const bool borrow_allowed = policy.borrow_within_cohort.policy != BorrowWithinCohortPolicy::Never;
  const auto& threshold = policy.borrow_within_cohort.max_priority_threshold;
  auto within_nominal = [&](const std::vector<std::int64_t>& usage, int n) {
    return std::none_of(frs_need.begin(), frs_need.end(), [&](int fr) { return t.Borrowing(usage, n, fr); });
  };
  auto classify = [&](const QuotaState::AdmittedWorkload& aw, bool same, bool advantage) {
    if (!UsesAny(aw.usage, frs_need)) return Variant::Never;
    const std::int32_t mine = wl.priority, theirs = aw.workload.priority;
    const bool lower = mine > theirs;
    bool too_high;
    if (same) {
      too_high = policy.within_cluster_queue == WithinClusterQueuePolicy::Never ||
                 (policy.within_cluster_queue == WithinClusterQueuePolicy::LowerPriority && !lower) ||
                 (policy.within_cluster_queue == WithinClusterQueuePolicy::LowerOrNewerEqualPriority &&
                  !(lower || (mine == theirs && wl.creation_time < aw.workload.creation_time)));
    } else {
      too_high = policy.reclaim_within_cohort == ReclaimWithinCohortPolicy::Never ||
                 (policy.reclaim_within_cohort == ReclaimWithinCohortPolicy::LowerPriority && !lower);
    }
    if (too_high) return Variant::Never;
    if (same) return Variant::WithinClusterQueue;
    if (advantage) return Variant::HierarchicalReclaim;
    if (!borrow_allowed) return Variant::ReclaimWithoutBorrowing;
    if (theirs >= mine || (threshold && theirs > *threshold)) return Variant::ReclaimWithoutBorrowing;
    return Variant::ReclaimWhileBorrowing;
  };
  std::vector<Candidate> pool;
  std::vector<int> group;  // 0 hierarchical, 1 by priority, 2 same queue
  {
    std::size_t admitted_in_root = 0;
    for (int n : t.subtree_cqs[t.nodes[node].root]) admitted_in_root += admitted[t.nodes[n].cq_index].size();
    pool.reserve(admitted_in_root);
    group.reserve(admitted_in_root);
  }
  auto add_from = [&](int cq_node, int lca, bool same, bool advantage, int g) {
    for (const auto& aw : admitted[t.nodes[cq_node].cq_index]) {
      const Variant v = classify(aw, same, advantage);
      if (v == Variant::Never) continue;
      pool.push_back({&aw.workload.name, aw.workload.priority, aw.sequence, cq_node, same, &aw.usage, v, lca});
      group.push_back(g);
    }
  };
  if (policy.within_cluster_queue != WithinClusterQueuePolicy::Never) add_from(node, -1, true, false, 2);
  if (t.nodes[node].parent >= 0 && policy.reclaim_within_cohort != ReclaimWithinCohortPolicy::Never) {
    // Whether the request fits in the node's quota, and what is left for the parent to provide.
    FrAmounts remaining = req;
    auto fits_in = [&](int n) {
      bool fits = true;
      for (auto& [fr, v] : remaining) {
        if (t.U(base, n, fr) + v > t.nodes[n].subtree[fr]) fits = false;
        v = std::max<std::int64_t>(0, v - std::max<std::int64_t>(0, t.nodes[n].guaranteed[fr] - t.U(base, n, fr)));
      }
      return fits;
    };
    bool advantage = fits_in(node);
    auto collect = [&](auto& self, int current, int subtree_root, int skip, bool adv) -> void {
      for (int child : t.nodes[current].children) {
        if (child == skip || child == node) continue;
        if (within_nominal(base, child)) continue;
        if (t.nodes[child].is_cq)
          add_from(child, subtree_root, false, adv, adv ? 0 : 1);
        else
          self(self, child, subtree_root, skip, adv);
      }
    };
    int previous = -1;
    for (int cur = t.nodes[node].parent; cur >= 0; cur = t.nodes[cur].parent) {
      collect(collect, cur, cur, previous, advantage);
      advantage = fits_in(cur) || advantage;
      previous = cur;
    }
  }
  bool from_others = false, hierarchical = false;
  for (int g : group) {
    from_others = from_others || g != 2;
    hierarchical = hierarchical || g == 0;
  }
  if (pool.empty()) {
    std::string why = "no workload can be preempted for it: withinClusterQueue is " +
                      std::string(PolicyName(policy.within_cluster_queue));
    if (policy.within_cluster_queue != WithinClusterQueuePolicy::Never)
      why += " and no admitted workload of lower priority in ClusterQueue " + cq.name + " uses the contested resources";
    if (t.nodes[node].parent < 0)
      why += "; ClusterQueue " + cq.name + " has no cohort";
    else if (policy.reclaim_within_cohort == ReclaimWithinCohortPolicy::Never)
      why += "; reclaimWithinCohort is Never";
    else
      why += "; no other ClusterQueue of the cohort borrows the contested resources with workloads it may preempt "
             "(reclaimWithinCohort " + std::string(PolicyName(policy.reclaim_within_cohort)) + ")";
    out.reasons.push_back(why);
    return out;
  }
  if (auto why = CandidatesCannotFree(t, base, node, req, frs_need, pool)) {
    out.reasons.push_back(std::move(*why));
    return out;
  }
  std::vector<const Candidate*> ordered;
  ordered.reserve(pool.size());
  for (int g = 0; g < 3; ++g) {
    const std::size_t first = ordered.size();
    for (std::size_t i = 0; i < pool.size(); ++i)
      if (group[i] == g) ordered.push_back(&pool[i]);
    std::sort(ordered.begin() + static_cast<std::ptrdiff_t>(first), ordered.end(), CandidateLess);
  }
  const bool under_nominal = std::all_of(frs_need.begin(), frs_need.end(), [&](int fr) {
    return t.U(base, node, fr) < t.nodes[node].subtree[fr];
  });
  std::vector<bool> attempts;
  if (!from_others || (!borrow_allowed && !under_nominal))
    attempts = {true};
  else if (!borrow_allowed && !hierarchical)
    attempts = {false, true};
  else
    attempts = {true, false};

  std::vector<const Candidate*> targets;
  targets.reserve(ordered.size());
  for (const bool borrow : attempts) {
    std::vector<std::int64_t>& usage = ScratchUsage(t, base, t.nodes[node].root);
    targets.clear();
    for (const Candidate* c : ordered) {
      if (!c->same_cq) {
        if (borrow && c->variant == Variant::ReclaimWithoutBorrowing) continue;
        if (within_nominal(usage, c->node)) continue;
        bool valid = true;
        for (int n = t.nodes[c->node].parent; n >= 0 && n != c->lca; n = t.nodes[n].parent)
          if (within_nominal(usage, n)) valid = false;
        if (!valid) continue;
        if (options.protect_nominal_from_borrowing_preemption && borrow && c->variant == Variant::ReclaimWhileBorrowing &&
            !StaysAtOrAboveNominal(t, usage, *c, frs_need))
          continue;
      }
      Apply(t, usage, c->node, *c->usage, -1);
      targets.push_back(c);
      if (!WorkloadFits(t, usage, node, req, borrow)) continue;
      targets = FillBack(t, usage, node, req, std::move(targets), borrow);
      out.allow_borrowing = borrow;
      for (const Candidate* target : targets) {
        PreemptionReason reason = PreemptionReason::InCohortReclamation;
        if (target->variant == Variant::WithinClusterQueue) reason = PreemptionReason::InClusterQueue;
        if (target->variant == Variant::ReclaimWhileBorrowing) reason = PreemptionReason::InCohortReclaimWhileBorrowing;
        out.targets.push_back({*target->name, t.nodes[target->node].name, reason});
      }
      return out;
    }
  }
  std::string why = "preempting every eligible workload (" + std::to_string(pool.size()) +
                    " candidates) would still not free enough quota for ";
  for (std::size_t i = 0; i < frs_need.size(); ++i) why += (i ? ", " : "") + t.FrName(frs_need[i]);
  out.reasons.push_back(why);
  return out;
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

  if (!st.options_.fair_sharing)
    return ClassicalTargets(t, st.options_, st.usage_, st.admitted_by_cq_, wl, node, req, frs_need);

  // Fair sharing candidates (Kueue findCandidates).
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
  if (auto why = CandidatesCannotFree(t, st.usage_, node, req, frs_need, pool)) {
    out.reasons.push_back(std::move(*why));
    return out;
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
