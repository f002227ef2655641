// Building the cohort tree, Kueue's quota arithmetic, flavor assignment, admission and release.
#include <algorithm>
#include <functional>
#include <limits>
#include <set>

#include "quota/quota_tree.h"

namespace platoon::quota {

namespace {

std::string Amount(int resource_id, const QuotaState::Tree& tree, std::int64_t amount) {
  return FormatAmount(tree.resources[resource_id], amount);
}

}  // namespace

bool Tolerates(const Toleration& t, const Taint& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (t.op == "Exists") return t.key.empty() || t.key == taint.key;
  return t.key == taint.key && t.value == taint.value;
}

bool LabelSelector::Matches(const std::map<std::string, std::string>& labels) const {
  if (!present) return false;
  for (const auto& req : requirements) {
    auto it = labels.find(req.key);
    const bool has = it != labels.end();
    const bool in = has && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    if (req.op == "In" && !in) return false;
    if (req.op == "NotIn" && in) return false;
    if (req.op == "Exists" && !has) return false;
    if (req.op == "DoesNotExist" && has) return false;
  }
  return true;
}

std::string_view ToString(FitMode mode) {
  switch (mode) {
    case FitMode::NoFit: return "NoFit";
    case FitMode::Preempt: return "Preempt";
    case FitMode::Fit: return "Fit";
  }
  return "?";
}

std::string_view ToString(PreemptionReason reason) {
  switch (reason) {
    case PreemptionReason::InClusterQueue: return "InClusterQueue";
    case PreemptionReason::InCohortReclamation: return "InCohortReclamation";
    case PreemptionReason::InCohortReclaimWhileBorrowing: return "InCohortReclaimWhileBorrowing";
    case PreemptionReason::InCohortFairSharing: return "InCohortFairSharing";
  }
  return "?";
}

namespace {
std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  return out;
}
}  // namespace

std::string Assignment::Message() const { return Join(reasons); }
std::string PreemptionResult::Message() const { return Join(reasons); }

bool QueueOrderLess(const Workload& a, const Workload& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  if (a.creation_time != b.creation_time) return a.creation_time < b.creation_time;
  return a.name < b.name;
}

// ---------------------------------------------------------------------------------------------
// Tree arithmetic (Kueue pkg/cache resource_node semantics).

int QuotaState::Tree::FindNode(std::string_view name) const {
  if (auto it = cq_node.find(std::string(name)); it != cq_node.end()) return it->second;
  if (auto it = cohort_node.find(std::string(name)); it != cohort_node.end()) return it->second;
  return -1;
}

std::int64_t QuotaState::Tree::Available(const std::vector<std::int64_t>& usage, int node, int fr) const {
  const Node& n = nodes[node];
  const std::int64_t used = U(usage, node, fr);
  if (n.parent < 0) return n.subtree[fr] - used;
  const std::int64_t local = std::max<std::int64_t>(0, n.guaranteed[fr] - used);
  std::int64_t from_parent = Available(usage, n.parent, fr);
  if (n.borrowing_limit[fr] != kNoLimit) {
    const std::int64_t stored_in_parent = n.subtree[fr] - n.guaranteed[fr];
    const std::int64_t used_in_parent = std::max<std::int64_t>(0, used - n.guaranteed[fr]);
    from_parent = std::min(from_parent, stored_in_parent - used_in_parent + n.borrowing_limit[fr]);
  }
  return local + from_parent;
}

std::int64_t QuotaState::Tree::PotentialAvailable(int node, int fr) const {
  const Node& n = nodes[node];
  if (n.parent < 0) return n.subtree[fr];
  std::int64_t avail = n.guaranteed[fr] + PotentialAvailable(n.parent, fr);
  if (n.borrowing_limit[fr] != kNoLimit) avail = std::min(avail, n.subtree[fr] + n.borrowing_limit[fr]);
  return avail;
}

void QuotaState::Tree::AddUsage(std::vector<std::int64_t>& usage, int node, int fr, std::int64_t delta) const {
  while (node >= 0 && delta != 0) {
    std::int64_t& u = usage[static_cast<std::size_t>(node) * fr_count + fr];
    const std::int64_t g = nodes[node].guaranteed[fr];
    const std::int64_t before = std::max<std::int64_t>(0, u - g);
    u += delta;
    const std::int64_t after = std::max<std::int64_t>(0, u - g);
    delta = after - before;
    node = nodes[node].parent;
  }
}

std::int64_t QuotaState::Tree::Share(const std::vector<std::int64_t>& usage, int node,
                                     const std::vector<std::pair<int, std::int64_t>>* extra) const {
  const Node& n = nodes[node];
  if (n.parent < 0) return 0;
  std::vector<std::int64_t> borrowed(resources.size(), 0);
  bool any = false;
  for (int fr = 0; fr < fr_count; ++fr) {
    std::int64_t u = U(usage, node, fr);
    if (extra)
      for (const auto& [efr, amount] : *extra)
        if (efr == fr) u += amount;
    const std::int64_t b = u - n.subtree[fr];
    if (b > 0) {
      borrowed[ResourceOf(fr)] += b;
      any = true;
    }
  }
  if (!any) return 0;
  if (n.weight_milli == 0) return std::numeric_limits<std::int64_t>::max();
  const Node& root = nodes[n.root];
  std::int64_t drs = 0;
  for (std::size_t r = 0; r < resources.size(); ++r) {
    if (borrowed[r] == 0) continue;
    std::int64_t lendable = 0;
    for (std::size_t f = 0; f < flavors.size(); ++f) lendable += root.subtree[Fr(static_cast<int>(f), static_cast<int>(r))];
    if (lendable > 0) drs = std::max(drs, borrowed[r] * 1000 / lendable);
  }
  return drs * 1000 / n.weight_milli;
}

// ---------------------------------------------------------------------------------------------
// Building.

std::expected<QuotaState, std::string> QuotaState::Build(const QuotaConfig& config, QuotaOptions options) {
  QuotaState state;
  state.options_ = std::move(options);
  auto tree = std::make_shared<Tree>();
  Tree& t = *tree;
  t.config = config;
  const QuotaConfig& cfg = t.config;

  for (const auto& f : cfg.resource_flavors) {
    if (t.flavor_index.contains(f.name)) return std::unexpected("ResourceFlavor " + f.name + " is defined twice");
    t.flavor_index[f.name] = static_cast<int>(t.flavors.size());
    t.flavors.push_back(f.name);
  }
  std::set<std::string> resource_names;
  auto collect = [&](const std::vector<ResourceGroup>& groups, const std::string& owner) -> std::expected<void, std::string> {
    for (const auto& g : groups) {
      for (const auto& r : g.covered_resources) resource_names.insert(r);
      for (const auto& fq : g.flavors) {
        if (!t.flavor_index.contains(fq.name))
          return std::unexpected(owner + " refers to ResourceFlavor " + fq.name + ", which does not exist");
        for (const auto& rq : fq.resources) resource_names.insert(rq.name);
      }
    }
    return {};
  };
  for (const auto& cq : cfg.cluster_queues)
    if (auto r = collect(cq.resource_groups, "ClusterQueue " + cq.name); !r) return std::unexpected(r.error());
  for (const auto& co : cfg.cohorts)
    if (auto r = collect(co.resource_groups, "Cohort " + co.name); !r) return std::unexpected(r.error());
  for (const auto& r : resource_names) {
    t.resource_index[r] = static_cast<int>(t.resources.size());
    t.resources.push_back(r);
  }
  if (t.resources.empty()) t.resources.push_back(std::string(kResourcePods)), t.resource_index["pods"] = 0;
  if (t.flavors.empty()) t.flavors.push_back(""), t.flavor_index[""] = 0;
  t.fr_count = static_cast<int>(t.flavors.size() * t.resources.size());

  auto new_node = [&](const std::string& name, bool is_cq) {
    Tree::Node n;
    n.name = name;
    n.is_cq = is_cq;
    n.nominal.assign(t.fr_count, 0);
    n.subtree.assign(t.fr_count, 0);
    n.guaranteed.assign(t.fr_count, 0);
    n.borrowing_limit.assign(t.fr_count, kNoLimit);
    n.lending_limit.assign(t.fr_count, kNoLimit);
    n.has_quota.assign(t.fr_count, 0);
    t.nodes.push_back(std::move(n));
    return static_cast<int>(t.nodes.size()) - 1;
  };
  auto fill_quotas = [&](int node, const std::vector<ResourceGroup>& groups) {
    for (const auto& g : groups)
      for (const auto& fq : g.flavors)
        for (const auto& rq : fq.resources) {
          const int fr = t.Fr(t.flavor_index.at(fq.name), t.resource_index.at(rq.name));
          t.nodes[node].nominal[fr] = rq.nominal_quota;
          t.nodes[node].has_quota[fr] = 1;
          if (rq.borrowing_limit) t.nodes[node].borrowing_limit[fr] = *rq.borrowing_limit;
          if (rq.lending_limit) t.nodes[node].lending_limit[fr] = *rq.lending_limit;
        }
  };

  // Cohorts: explicit objects first, then the ones only named by a ClusterQueue or as a parent.
  for (const auto& co : cfg.cohorts) {
    if (t.cohort_node.contains(co.name)) return std::unexpected("Cohort " + co.name + " is defined twice");
    const int id = new_node(co.name, false);
    t.cohort_node[co.name] = id;
    t.nodes[id].weight_milli = co.fair_sharing_weight_milli;
    fill_quotas(id, co.resource_groups);
  }
  auto cohort_id = [&](const std::string& name) {
    if (auto it = t.cohort_node.find(name); it != t.cohort_node.end()) return it->second;
    const int id = new_node(name, false);
    t.cohort_node[name] = id;
    return id;
  };
  for (const auto& co : cfg.cohorts) {
    if (co.parent_name.empty()) continue;
    const int child = t.cohort_node.at(co.name);
    const int parent = cohort_id(co.parent_name);
    t.nodes[child].parent = parent;
  }
  for (std::size_t i = 0; i < cfg.cluster_queues.size(); ++i) {
    const auto& cq = cfg.cluster_queues[i];
    if (t.cq_node.contains(cq.name)) return std::unexpected("ClusterQueue " + cq.name + " is defined twice");
    const int id = new_node(cq.name, true);
    t.cq_node[cq.name] = id;
    t.nodes[id].cq_index = static_cast<int>(i);
    t.nodes[id].weight_milli = cq.fair_sharing_weight_milli;
    fill_quotas(id, cq.resource_groups);
    if (!cq.cohort.empty()) t.nodes[id].parent = cohort_id(cq.cohort);

    Tree::CqInfo info;
    info.node = id;
    info.group_of_resource.assign(t.resources.size(), -1);
    for (const auto& g : cq.resource_groups) {
      Tree::Group group;
      for (const auto& r : g.covered_resources) {
        const int rid = t.resource_index.at(r);
        if (info.group_of_resource[rid] >= 0)
          return std::unexpected("ClusterQueue " + cq.name + " covers resource " + r + " in two resource groups");
        info.group_of_resource[rid] = static_cast<int>(info.groups.size());
        group.resources.push_back(rid);
        if (r == kResourcePods) info.covers_pods = true;
      }
      for (const auto& fq : g.flavors) group.flavors.push_back(t.flavor_index.at(fq.name));
      info.groups.push_back(std::move(group));
    }
    t.cqs.push_back(std::move(info));
  }
  // Children, roots and cycle detection.
  for (std::size_t i = 0; i < t.nodes.size(); ++i) {
    int steps = 0;
    int n = static_cast<int>(i);
    while (t.nodes[n].parent >= 0) {
      n = t.nodes[n].parent;
      if (++steps > static_cast<int>(t.nodes.size()))
        return std::unexpected("the cohort tree above " + t.nodes[i].name + " has a cycle");
    }
    t.nodes[i].root = n;
    t.nodes[i].depth = steps;
    if (t.nodes[i].parent >= 0) t.nodes[t.nodes[i].parent].children.push_back(static_cast<int>(i));
  }
  // Subtree quotas bottom-up (deepest first).
  std::vector<int> order(t.nodes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return t.nodes[a].depth > t.nodes[b].depth; });
  for (int id : order) {
    Tree::Node& n = t.nodes[id];
    for (int fr = 0; fr < t.fr_count; ++fr) {
      std::int64_t q = n.nominal[fr];
      for (int c : n.children) q += t.nodes[c].subtree[fr] - t.nodes[c].guaranteed[fr];
      n.subtree[fr] = q;
      n.guaranteed[fr] = n.lending_limit[fr] == kNoLimit ? 0 : std::max<std::int64_t>(0, q - n.lending_limit[fr]);
    }
  }
  t.subtree_cqs.assign(t.nodes.size(), {});
  for (const auto& info : t.cqs)
    for (int n = info.node; n >= 0; n = t.nodes[n].parent) t.subtree_cqs[n].push_back(info.node);

  state.usage_.assign(t.nodes.size() * t.fr_count, 0);
  state.root_version_.assign(t.nodes.size(), 0);
  state.admitted_by_cq_.assign(cfg.cluster_queues.size(), {});
  state.tree_ = std::move(tree);
  return state;
}

const QuotaConfig& QuotaState::config() const { return tree_->config; }
bool QuotaState::HasClusterQueue(std::string_view name) const { return tree_->cq_node.contains(std::string(name)); }

// ---------------------------------------------------------------------------------------------
// Flavor assignment (Kueue flavorassigner semantics).

namespace {

struct FlavorTry {
  FitMode mode = FitMode::Fit;
  bool borrows = false;
  std::vector<std::string> reasons;
};

// Whether a flavor's nodes can run the pod set at all: the pod set's node selector, restricted to
// the label keys the group's flavors use (as Kueue does), must match the flavor's node labels, and
// its NoSchedule/NoExecute taints must be tolerated by the pod set or the flavor's own tolerations.
std::string FlavorMismatch(const ResourceFlavor& flavor, const PodSet& ps, const std::set<std::string>& group_keys) {
  for (const auto& [key, value] : ps.node_selector) {
    if (!group_keys.contains(key)) continue;
    auto it = flavor.node_labels.find(key);
    if (it == flavor.node_labels.end())
      return "flavor " + flavor.name + " has no node label " + key + ", pod set " + ps.name + " selects " + key +
             "=" + value;
    if (it->second != value)
      return "flavor " + flavor.name + " has node label " + key + "=" + it->second + ", pod set " + ps.name +
             " selects " + key + "=" + value;
  }
  for (const auto& taint : flavor.node_taints) {
    if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
    const bool ok = std::any_of(ps.tolerations.begin(), ps.tolerations.end(),
                                [&](const Toleration& tol) { return Tolerates(tol, taint); }) ||
                    std::any_of(flavor.tolerations.begin(), flavor.tolerations.end(),
                                [&](const Toleration& tol) { return Tolerates(tol, taint); });
    if (!ok)
      return "flavor " + flavor.name + " has untolerated taint " + taint.key + "=" + taint.value + ":" + taint.effect;
  }
  return {};
}

}  // namespace

QuotaEngine::FrAmounts QuotaEngine::ToFr(const QuotaState::Tree& t, const Assignment& a) {
  FrAmounts out;
  for (const auto& u : a.usage) {
    const int f = t.FindFlavor(u.flavor), r = t.FindResource(u.resource);
    if (f >= 0 && r >= 0) out.push_back({t.Fr(f, r), u.amount});
  }
  return out;
}

Assignment QuotaEngine::Assign(const QuotaState& s, const Workload& wl, const std::vector<std::int64_t>& usage) {
  const auto& t = *s.tree_;
  Assignment out;
  out.cluster_queue = wl.cluster_queue;
  auto cq_it = t.cq_node.find(wl.cluster_queue);
  if (cq_it == t.cq_node.end()) {
    out.reasons.push_back("ClusterQueue " + wl.cluster_queue + " does not exist");
    return out;
  }
  const int node = cq_it->second;
  const auto& info = t.cqs[t.nodes[node].cq_index];
  const auto& cq = t.config.cluster_queues[t.nodes[node].cq_index];
  if (cq.stop_policy != StopPolicy::None) {
    out.reasons.push_back("ClusterQueue " + cq.name + " is stopped (stopPolicy " +
                          (cq.stop_policy == StopPolicy::Hold ? "Hold" : "HoldAndDrain") + ")");
    return out;
  }
  const bool can_preempt_within_cq = cq.preemption.within_cluster_queue != WithinClusterQueuePolicy::Never;
  const bool can_preempt_while_borrowing =
      cq.preemption.borrow_within_cohort.policy != BorrowWithinCohortPolicy::Never ||
      (s.options_.fair_sharing && cq.preemption.reclaim_within_cohort != ReclaimWithinCohortPolicy::Never);

  std::vector<std::pair<int, std::int64_t>> assigned;  // fr -> amount over earlier pod sets
  auto assigned_of = [&](int fr) {
    for (const auto& [f, a] : assigned)
      if (f == fr) return a;
    return std::int64_t{0};
  };
  out.mode = FitMode::Fit;
  out.pod_sets.reserve(wl.pod_sets.size());
  assigned.reserve(8);

  for (const auto& ps : wl.pod_sets) {
    PodSetAssignment psa;
    psa.pod_set = ps.name;
    psa.requests = ps.requests;
    if (info.covers_pods) psa.requests.Set(kResourcePods, ps.count);
    // Resources requested, with their group (one flat list; a group's entries keep the request order).
    struct GroupRequest {
      int group;
      int rid;
      std::int64_t amount;
    };
    std::vector<GroupRequest> requested;
    requested.reserve(psa.requests.size());
    for (const auto& [name, amount] : psa.requests) {
      if (amount <= 0) continue;
      const int rid = t.FindResource(name);
      if (rid < 0 || info.group_of_resource[rid] < 0) {
        out.mode = FitMode::NoFit;
        out.reasons.push_back("resource " + name + " is not covered by ClusterQueue " + cq.name);
        continue;
      }
      requested.push_back({info.group_of_resource[rid], rid, amount});
    }
    for (std::size_t g = 0; g < info.groups.size(); ++g) {
      const int gi = static_cast<int>(g);
      if (std::none_of(requested.begin(), requested.end(), [&](const GroupRequest& r) { return r.group == gi; })) continue;
      std::optional<FlavorTry> best;
      int best_flavor = -1;
      std::vector<std::string> all_reasons;
      std::set<std::string> group_keys;
      if (!ps.node_selector.empty())
        for (int f : info.groups[g].flavors)
          for (const auto& [key, value] : t.config.resource_flavors[f].node_labels) group_keys.insert(key);
      for (int f : info.groups[g].flavors) {
        if (std::string why = FlavorMismatch(t.config.resource_flavors[f], ps, group_keys); !why.empty()) {
          all_reasons.push_back(why);
          continue;
        }
        FlavorTry ft;
        for (const auto& [group, rid, amount] : requested) {
          if (group != gi) continue;
          const int fr = t.Fr(f, rid);
          const std::int64_t val = assigned_of(fr) + amount;
          const std::int64_t avail = t.Available(usage, node, fr);
          const std::int64_t max_cap = t.PotentialAvailable(node, fr);
          const std::int64_t nominal = t.nodes[node].subtree[fr];
          const std::int64_t used = t.U(usage, node, fr);
          const std::string& rname = t.resources[rid];
          auto amt = [&](std::int64_t v) { return Amount(rid, t, v); };
          if (val > max_cap) {
            ft.mode = FitMode::NoFit;
            const std::int64_t bl = t.nodes[node].borrowing_limit[fr];
            ft.reasons.push_back("insufficient quota for " + rname + " in flavor " + t.flavors[f] + ": " + amt(val) +
                                 " requested, at most " + amt(std::max<std::int64_t>(0, max_cap)) +
                                 " can ever be available (nominal " + amt(nominal) + ", borrowing limit " +
                                 (bl == kNoLimit ? std::string("none") : amt(bl)) + ")");
            continue;
          }
          const bool borrow = used + val > nominal;
          ft.borrows = ft.borrows || borrow;
          if (val <= avail) continue;
          const std::int64_t unused_nominal = std::clamp<std::int64_t>(nominal - used, 0, std::max<std::int64_t>(0, avail));
          ft.reasons.push_back("insufficient unused quota for " + rname + " in flavor " + t.flavors[f] + ": " + amt(val) +
                               " requested, " + amt(std::max<std::int64_t>(0, avail)) + " available (" +
                               amt(unused_nominal) + " of nominal " + amt(nominal) + " free, " +
                               amt(std::max<std::int64_t>(0, avail - unused_nominal)) + " borrowable)");
          const FitMode m = (val <= t.nodes[node].nominal[fr] || can_preempt_within_cq || can_preempt_while_borrowing)
                                ? FitMode::Preempt
                                : FitMode::NoFit;
          if (m == FitMode::NoFit)
            ft.reasons.back() += "; preemption cannot help: the request exceeds nominal quota, withinClusterQueue is "
                                 "Never and borrowWithinCohort is Never";
          ft.mode = std::min(ft.mode, m);
        }
        for (const auto& r : ft.reasons) all_reasons.push_back(r);
        const bool stop =
            (ft.mode == FitMode::Fit && (!ft.borrows || cq.flavor_fungibility.when_can_borrow == WhenCanBorrow::MayStopSearch)) ||
            (ft.mode == FitMode::Preempt && cq.flavor_fungibility.when_can_preempt == WhenCanPreempt::MayStopSearch);
        const bool better = !best || ft.mode > best->mode || (ft.mode == best->mode && best->borrows && !ft.borrows);
        if (better) {
          best = std::move(ft);
          best_flavor = f;
        }
        if (stop) break;
      }
      if (!best || best->mode == FitMode::NoFit) {
        out.mode = FitMode::NoFit;
        if (all_reasons.empty()) all_reasons.push_back("no flavor of ClusterQueue " + cq.name + " matches pod set " + ps.name);
        for (auto& r : all_reasons) out.reasons.push_back(std::move(r));
        continue;
      }
      out.mode = std::min(out.mode, best->mode);
      out.borrows = out.borrows || best->borrows;
      if (best->mode != FitMode::Fit)
        for (auto& r : best->reasons) out.reasons.push_back(std::move(r));
      for (const auto& [group, rid, amount] : requested) {
        if (group != gi) continue;
        psa.flavors[t.resources[rid]] = t.flavors[best_flavor];
        const int fr = t.Fr(best_flavor, rid);
        bool found = false;
        for (auto& [f, a] : assigned)
          if (f == fr) a += amount, found = true;
        if (!found) assigned.push_back({fr, amount});
      }
    }
    out.pod_sets.push_back(std::move(psa));
  }
  std::sort(assigned.begin(), assigned.end());
  out.usage.reserve(assigned.size());
  for (const auto& [fr, amount] : assigned)
    out.usage.push_back({t.flavors[t.FlavorOf(fr)], t.resources[t.ResourceOf(fr)], amount});
  return out;
}

Assignment QuotaState::Assign(const Workload& workload) const { return QuotaEngine::Assign(*this, workload, usage_); }

std::expected<void, std::string> QuotaState::Admit(const Workload& workload, const Assignment& assignment) {
  const auto& t = *tree_;
  if (admitted_index_.contains(workload.name)) return std::unexpected("workload " + workload.name + " is already admitted");
  auto it = t.cq_node.find(workload.cluster_queue);
  if (it == t.cq_node.end()) return std::unexpected("ClusterQueue " + workload.cluster_queue + " does not exist");
  if (assignment.cluster_queue != workload.cluster_queue)
    return std::unexpected("the assignment of " + workload.name + " is for ClusterQueue " + assignment.cluster_queue);
  AdmittedWorkload aw{workload, assignment, {}, next_sequence_++};
  for (const auto& u : assignment.usage) {
    const int f = t.FindFlavor(u.flavor);
    const int r = t.FindResource(u.resource);
    if (f < 0 || r < 0) return std::unexpected("the assignment of " + workload.name + " names unknown " + u.flavor + "/" + u.resource);
    aw.usage.push_back({t.Fr(f, r), u.amount});
  }
  for (const auto& [fr, amount] : aw.usage) t.AddUsage(usage_, it->second, fr, amount);
  ++root_version_[t.nodes[it->second].root];
  const int cq = t.nodes[it->second].cq_index;
  admitted_index_.emplace(workload.name, std::pair<int, std::size_t>{cq, admitted_by_cq_[cq].size()});
  admitted_by_cq_[cq].push_back(std::move(aw));
  return {};
}

bool QuotaState::Release(std::string_view workload) {
  auto it = admitted_index_.find(std::string(workload));
  if (it == admitted_index_.end()) return false;
  const auto& t = *tree_;
  const auto [cq, slot] = it->second;
  auto& list = admitted_by_cq_[cq];
  const int node = t.cqs[cq].node;
  for (const auto& [fr, amount] : list[slot].usage) t.AddUsage(usage_, node, fr, -amount);
  ++root_version_[t.nodes[node].root];
  admitted_index_.erase(it);
  if (slot + 1 != list.size()) {
    list[slot] = std::move(list.back());
    admitted_index_[list[slot].workload.name].second = slot;
  }
  list.pop_back();
  return true;
}

std::expected<std::string, std::string> QuotaState::ResolveLocalQueue(
    std::string_view namespace_name, std::string_view local_queue,
    const std::map<std::string, std::string>& namespace_labels) const {
  const QuotaConfig& cfg = tree_->config;
  auto lq = std::find_if(cfg.local_queues.begin(), cfg.local_queues.end(), [&](const LocalQueue& q) {
    return q.namespace_name == namespace_name && q.name == local_queue;
  });
  if (lq == cfg.local_queues.end())
    return std::unexpected("LocalQueue " + std::string(local_queue) + " does not exist in namespace " + std::string(namespace_name));
  auto it = tree_->cq_node.find(lq->cluster_queue);
  if (it == tree_->cq_node.end())
    return std::unexpected("LocalQueue " + std::string(namespace_name) + "/" + lq->name + " points at ClusterQueue " +
                           lq->cluster_queue + ", which does not exist");
  const ClusterQueue& cq = cfg.cluster_queues[tree_->nodes[it->second].cq_index];
  if (!cq.namespace_selector.Matches(namespace_labels))
    return std::unexpected("ClusterQueue " + cq.name + " does not admit workloads from namespace " +
                           std::string(namespace_name) + " (its namespaceSelector " +
                           (cq.namespace_selector.present ? "does not match the namespace's labels" : "is not set") + ")");
  return cq.name;
}

std::optional<std::int32_t> QuotaState::PriorityClassValue(std::string_view name) const {
  for (const auto& pc : tree_->config.priority_classes)
    if (pc.name == name) return pc.value;
  return std::nullopt;
}

bool QuotaState::IsAdmitted(std::string_view workload) const { return admitted_index_.contains(std::string(workload)); }

bool QuotaState::ReleaseKeepsNominal(std::string_view workload) const {
  auto it = admitted_index_.find(std::string(workload));
  if (it == admitted_index_.end()) return false;
  const auto& t = *tree_;
  const auto [cq, slot] = it->second;
  const int node = t.cqs[cq].node;
  for (const auto& [fr, amount] : admitted_by_cq_[cq][slot].usage) {
    if (amount > 0 && t.U(usage_, node, fr) - amount < t.nodes[node].subtree[fr]) return false;
  }
  return true;
}

namespace {
int NodeFr(const QuotaState::Tree& t, std::string_view node, std::string_view flavor, std::string_view resource,
           int& node_id) {
  node_id = t.FindNode(node);
  const int f = t.FindFlavor(flavor), r = t.FindResource(resource);
  if (node_id < 0 || f < 0 || r < 0) return -1;
  return t.Fr(f, r);
}
}  // namespace

std::int64_t QuotaState::Usage(std::string_view node, std::string_view flavor, std::string_view resource) const {
  int n;
  const int fr = NodeFr(*tree_, node, flavor, resource, n);
  return fr < 0 ? 0 : tree_->U(usage_, n, fr);
}
std::int64_t QuotaState::Nominal(std::string_view node, std::string_view flavor, std::string_view resource) const {
  int n;
  const int fr = NodeFr(*tree_, node, flavor, resource, n);
  return fr < 0 ? 0 : tree_->nodes[n].subtree[fr];
}
std::int64_t QuotaState::Available(std::string_view node, std::string_view flavor, std::string_view resource) const {
  int n;
  const int fr = NodeFr(*tree_, node, flavor, resource, n);
  return fr < 0 ? 0 : tree_->Available(usage_, n, fr);
}
std::int64_t QuotaState::PotentialAvailable(std::string_view node, std::string_view flavor,
                                            std::string_view resource) const {
  int n;
  const int fr = NodeFr(*tree_, node, flavor, resource, n);
  return fr < 0 ? 0 : tree_->PotentialAvailable(n, fr);
}
std::int64_t QuotaState::DominantResourceShare(std::string_view node) const {
  const int n = tree_->FindNode(node);
  return n < 0 ? 0 : tree_->Share(usage_, n);
}

}  // namespace platoon::quota
