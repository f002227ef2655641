// Kueue's scheduling cycles over pending workloads: heads per ClusterQueue, entry order, FIFO rules.
#include <algorithm>

#include "quota/quota_tree.h"

namespace platoon::quota {

namespace {

struct Head {
  int cq = -1;  // index into config.cluster_queues
  Assignment assignment;
  std::uint64_t version = 0;  // root_version_ when assigned: unchanged usage, same assignment
  std::vector<std::int64_t> path_shares;  // fair sharing: share of each node from the root's child down
  std::vector<int> path;
};

}  // namespace

AdmissionPassResult QuotaState::RunAdmissionPass(std::vector<Workload> pending, AdmissionPassOptions pass_options) {
  const Tree& t = *tree_;
  const auto& cqs = t.config.cluster_queues;
  AdmissionPassResult result;
  // Each queue is a sorted list of indices into `all` with a cursor at its head; workloads never move.
  std::vector<Workload> all = std::move(pending);
  result.pending.reserve(all.size());
  std::vector<std::vector<std::size_t>> order(cqs.size());
  std::vector<std::size_t> cursor(cqs.size(), 0);
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto it = t.cq_node.find(all[i].cluster_queue);
    if (it == t.cq_node.end()) {
      result.pending.push_back({all[i].name, all[i].cluster_queue, "ClusterQueue " + all[i].cluster_queue + " does not exist"});
      continue;
    }
    order[t.nodes[it->second].cq_index].push_back(i);
  }
  for (auto& q : order)
    std::sort(q.begin(), q.end(), [&](std::size_t a, std::size_t b) { return QueueOrderLess(all[a], all[b]); });
  auto has_head = [&](std::size_t cq) { return cursor[cq] < order[cq].size(); };
  auto head_of = [&](std::size_t cq) -> const Workload& { return all[order[cq][cursor[cq]]]; };
  std::vector<bool> blocked(cqs.size(), false);
  std::vector<std::string> blocked_reason(cqs.size());
  // Quota held against borrowers, per root and flavor/resource: persistent (StrictFIFO heads kept
  // waiting, Kueue-exact mode only) and per cycle (heads whose preemptions are under way).
  std::vector<std::int64_t> persistent_hold(t.nodes.size() * t.fr_count, 0);
  std::vector<std::int64_t> cycle_hold;
  bool any_hold = false;
  auto hold = [&](std::vector<std::int64_t>& h, int node, const Assignment& a) {
    any_hold = true;
    const int root = t.nodes[node].root;
    for (const auto& [fr, amount] : QuotaEngine::ToFr(t, a)) h[static_cast<std::size_t>(root) * t.fr_count + fr] += amount;
  };
  auto held_blocks = [&](int node, const Assignment& a, std::string& why) {
    if (!any_hold) return false;
    const int root = t.nodes[node].root;
    for (const auto& [fr, amount] : QuotaEngine::ToFr(t, a)) {
      const std::size_t k = static_cast<std::size_t>(root) * t.fr_count + fr;
      const std::int64_t held = persistent_hold[k] + cycle_hold[k];
      if (held == 0) continue;
      const std::int64_t avail = t.Available(usage_, node, fr);
      if (amount + held > avail) {
        why = "no longer fits after processing another workload: " + t.FrName(fr) + " is held for a pending " +
              "workload of the cohort (" + FormatAmount(t.resources[t.ResourceOf(fr)], held) + " held, " +
              FormatAmount(t.resources[t.ResourceOf(fr)], avail) + " available)";
        return true;
      }
    }
    return false;
  };

  std::vector<std::int64_t> scratch;
  std::vector<Head> heads;
  std::vector<std::size_t> entry;
  while (true) {
    heads.clear();
    for (std::size_t i = 0; i < order.size(); ++i)
      if (has_head(i) && !blocked[i]) heads.push_back({static_cast<int>(i), {}, {}, {}});
    if (heads.empty()) break;
    ++result.cycles;
    cycle_hold.assign(t.nodes.size() * t.fr_count, 0);
    for (auto& h : heads) {
      h.assignment = QuotaEngine::Assign(*this, head_of(h.cq), usage_);
      h.version = root_version_[t.nodes[t.cqs[h.cq].node].root];
    }
    if (options_.fair_sharing) {
      scratch = usage_;
      for (auto& h : heads) {
        const int node = t.cqs[h.cq].node;
        for (int n = node; t.nodes[n].parent >= 0; n = t.nodes[n].parent) h.path.push_back(n);
        std::reverse(h.path.begin(), h.path.end());
        const auto req = QuotaEngine::ToFr(t, h.assignment);
        for (const auto& [fr, a] : req) t.AddUsage(scratch, node, fr, a);
        for (int n : h.path) h.path_shares.push_back(t.Share(scratch, n));
        for (const auto& [fr, a] : req) t.AddUsage(scratch, node, fr, -a);
      }
    }
    // Entry order, sorted as indices so that the heads (and their assignments) are not moved.
    entry.resize(heads.size());
    for (std::size_t i = 0; i < heads.size(); ++i) entry[i] = i;
    std::stable_sort(entry.begin(), entry.end(), [&](std::size_t ia, std::size_t ib) {
      const Head& a = heads[ia];
      const Head& b = heads[ib];
      const Workload& wa = head_of(a.cq);
      const Workload& wb = head_of(b.cq);
      if (options_.fair_sharing) {
        if (!a.path.empty() && !b.path.empty() && t.nodes[a.path[0]].root == t.nodes[b.path[0]].root) {
          for (std::size_t i = 0; i < std::min(a.path.size(), b.path.size()); ++i) {
            if (a.path[i] == b.path[i]) continue;
            if (a.path_shares[i] != b.path_shares[i]) return a.path_shares[i] < b.path_shares[i];
            break;
          }
        }
      } else if (a.assignment.borrows != b.assignment.borrows) {
        return !a.assignment.borrows;
      }
      return QueueOrderLess(wa, wb);
    });

    bool progress = false;
    for (const std::size_t e : entry) {
      Head& h = heads[e];
      const int node = t.cqs[h.cq].node;
      const Workload& wl = head_of(h.cq);
      const bool unchanged = h.version == root_version_[t.nodes[node].root];
      const Assignment a = unchanged ? std::move(h.assignment) : QuotaEngine::Assign(*this, wl, usage_);
      std::string why;
      if (a.mode == FitMode::Fit && held_blocks(node, a, why)) {
        // Not admitted this cycle; tried again next cycle (or left pending when nothing moves).
        continue;
      }
      if (a.mode == FitMode::Fit) {
        (void)Admit(wl, a);
        result.admitted.push_back({wl.name, a});
        ++cursor[h.cq];
        progress = true;
        continue;
      }
      if (a.mode == FitMode::Preempt && pass_options.preempt) {
        PreemptionResult pr = QuotaEngine::FindTargets(*this, wl, a);
        if (!pr.targets.empty()) {
          for (const auto& target : pr.targets) Release(target.workload);
          result.preemptions.push_back({wl.name, std::move(pr.targets)});
          hold(cycle_hold, node, a);
          progress = true;
          continue;
        }
        why = a.Message() + "; " + pr.Message();
      } else {
        why = a.Message();
      }
      // Kueue adds the usage of every head that needs preemption to the cycle's snapshot, so later
      // heads of the cohort see it as taken (kueue#4809 when the head is StrictFIFO).
      const bool waiting_for_preemption = a.mode == FitMode::Preempt;
      if (cqs[h.cq].queueing_strategy == QueueingStrategy::StrictFIFO) {
        blocked[h.cq] = true;
        blocked_reason[h.cq] = std::move(why);
        if (options_.waiting_head_blocks_borrowing && waiting_for_preemption) hold(persistent_hold, node, a);
      } else {
        if (options_.waiting_head_blocks_borrowing && waiting_for_preemption) hold(cycle_hold, node, a);
        // The head leaves its queue for good: its names move into the result.
        Workload& left = all[order[h.cq][cursor[h.cq]]];
        result.pending.push_back({std::move(left.name), std::move(left.cluster_queue), std::move(why)});
        ++cursor[h.cq];
      }
      progress = true;
    }
    if (!progress) break;
  }
  // The workloads left in the queues are not referenced again: their names move into the result.
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (cursor[i] >= order[i].size()) continue;
    Workload& head = all[order[i][cursor[i]]];
    std::string why = blocked[i] ? std::move(blocked_reason[i]) : QuotaEngine::Assign(*this, head, usage_).Message();
    if (!blocked[i] && why.empty()) why = "fits only by borrowing quota that is held for another workload of the cohort";
    const std::string waiting = "waiting behind " + head.name + " (ClusterQueue " + cqs[i].name + " is " +
                                (cqs[i].queueing_strategy == QueueingStrategy::StrictFIFO ? "StrictFIFO" : "BestEffortFIFO") +
                                ")";
    result.pending.push_back({std::move(head.name), std::move(head.cluster_queue), std::move(why)});
    for (std::size_t k = cursor[i] + 1; k < order[i].size(); ++k) {
      Workload& wl = all[order[i][k]];
      result.pending.push_back({std::move(wl.name), std::move(wl.cluster_queue), waiting});
    }
  }
  return result;
}

}  // namespace platoon::quota
