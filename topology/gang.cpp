// Gang placement over the precomputed fabric hierarchy: capacities per node, sums per domain, descent.
#include "topology/gang.h"

#include <algorithm>
#include <limits>
#include <map>

#include "topology/text.h"

namespace platoon::topology {

void ApplyTopologyAnnotations(GangRequest& req, const Annotations& annotations) {
  if (auto it = annotations.find(kRequiredTopologyAnnotation); it != annotations.end()) req.required_level = it->second;
  if (auto it = annotations.find(kPreferredTopologyAnnotation); it != annotations.end()) req.preferred_level = it->second;
}

namespace {

constexpr std::size_t kMaxTies = 8;  // equally tight domains compared by ring bandwidth

std::string Describe(const DeviceRequest& r) {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : " + ") + part; };
  if (r.gpus > 0) add(Format("{} nvidia.com/gpu", r.gpus));
  if (r.gpu_milli > 0) add(Format("{} milli-GPU", r.gpu_milli));
  if (r.gpu_memory_mib > 0) add(Format("{} MiB of a GPU", r.gpu_memory_mib));
  for (const auto& [p, c] : r.mig) add(Format("{} nvidia.com/mig-{}", c, p));
  if (s.empty()) add(Format("{} cpu", FormatAmount(kResourceCPU, r.cpu_milli)));
  return s;
}

struct Search {
  const Topology& topo;
  const GangRequest& req;
  std::vector<int> cap;             // per node
  std::vector<std::int64_t> prefix;  // prefix sums of cap over node ids

  std::int64_t DomainCap(DomainId d) const {
    const Domain& dom = topo.domain(d);
    return prefix[dom.node_end] - prefix[dom.node_begin];
  }

  std::string LevelName(int level) const {
    if (level == kRootLevel) return "cluster";
    if (level == topo.node_level()) return "node";
    return topo.levels()[static_cast<std::size_t>(level)].name;
  }

  // Distributes `m` members inside domain d; appends (node, count) in depth-first order.
  void Descend(DomainId d, int m, std::vector<std::pair<NodeId, int>>& out) const {
    const Domain& dom = topo.domain(d);
    if (dom.children.empty()) {
      NodeId best = 0;
      int best_cap = std::numeric_limits<int>::max();
      for (NodeId n = dom.node_begin; n < dom.node_end; ++n) {
        if (cap[n] >= m && cap[n] < best_cap) best = n, best_cap = cap[n];
      }
      if (best_cap != std::numeric_limits<int>::max()) {
        out.emplace_back(best, m);
        return;
      }
      std::vector<NodeId> nodes;
      for (NodeId n = dom.node_begin; n < dom.node_end; ++n)
        if (cap[n] > 0) nodes.push_back(n);
      std::ranges::stable_sort(nodes, [&](NodeId a, NodeId b) { return cap[a] > cap[b]; });
      std::ranges::sort(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(std::min(nodes.size(), Needed(nodes, m))));
      for (NodeId n : nodes) {
        if (m == 0) break;
        const int take = std::min(cap[n], m);
        out.emplace_back(n, take);
        m -= take;
      }
      return;
    }
    DomainId best = 0;
    std::int64_t best_cap = std::numeric_limits<std::int64_t>::max();
    for (DomainId c : dom.children) {
      const auto cc = DomainCap(c);
      if (cc >= m && cc < best_cap) best = c, best_cap = cc;
    }
    if (best_cap != std::numeric_limits<std::int64_t>::max()) {
      Descend(best, m, out);
      return;
    }
    std::vector<DomainId> kids(dom.children);
    std::ranges::stable_sort(kids, [&](DomainId a, DomainId b) { return DomainCap(a) > DomainCap(b); });
    // Keep the chosen children in fabric order so ring neighbours stay neighbours.
    std::vector<std::pair<DomainId, int>> chosen;
    int rem = m;
    for (DomainId c : kids) {
      if (rem == 0) break;
      const auto take = static_cast<int>(std::min<std::int64_t>(DomainCap(c), rem));
      if (take <= 0) continue;
      chosen.emplace_back(c, take);
      rem -= take;
    }
    std::ranges::sort(chosen);
    for (const auto& [c, take] : chosen) Descend(c, take, out);
  }

  // The ring bottleneck implied by a layout, from node-to-node bandwidth only (devices not chosen yet).
  double RingEstimate(const std::vector<std::pair<NodeId, int>>& layout) const {
    double bw = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; layout.size() > 1 && i < layout.size(); ++i) {
      bw = std::min(bw, topo.NodeBandwidth(layout[i].first, layout[(i + 1) % layout.size()].first));
    }
    return bw;
  }

  // How many of the largest-first nodes are needed for m members.
  std::size_t Needed(const std::vector<NodeId>& nodes, int m) const {
    std::size_t k = 0;
    for (NodeId n : nodes) {
      if (m <= 0) break;
      m -= cap[n];
      ++k;
    }
    return k;
  }
};

// "; 2 node(s) unusable (n1: why)" when some nodes take no placements at all, else empty.
std::string UnusableNote(const Topology& topo) {
  std::size_t count = 0;
  std::string first;
  for (NodeId n = 0; n < topo.node_count(); ++n) {
    if (topo.node(n).usable()) continue;
    if (count++ == 0) first = topo.node(n).name + ": " + topo.node(n).unusable_reason;
  }
  return count == 0 ? std::string() : Format("; {} node(s) unusable ({}{})", count, first, count > 1 ? ", ..." : "");
}

}  // namespace

std::expected<GangPlan, GangFailure> PlaceGang(const Topology& topo, const GangRequest& req,
                                               const StateOverlay& overlay) {
  auto state_of = [&](NodeId n) -> const NodeDeviceState& {
    auto it = overlay.find(n);
    return it == overlay.end() ? topo.state(n) : it->second;
  };
  if (req.members <= 0) return std::unexpected(GangFailure{"the gang has no members", 0, ""});
  const int depth = static_cast<int>(topo.levels().size());
  int top_allowed = kRootLevel;
  if (!req.required_level.empty()) {
    auto l = topo.LevelIndex(req.required_level);
    if (!l) {
      std::string known;
      for (const auto& lv : topo.levels()) known += (known.empty() ? "" : ", ") + lv.name + (lv.node_label.empty() ? "" : " (" + lv.node_label + ")");
      return std::unexpected(GangFailure{Format("unknown topology level '{}' (known: {})", req.required_level,
                                                     known.empty() ? "none" : known), 0, ""});
    }
    top_allowed = *l;
  }
  if (!req.preferred_level.empty() && !topo.LevelIndex(req.preferred_level)) {
    return std::unexpected(GangFailure{Format("unknown topology level '{}'", req.preferred_level), 0, ""});
  }

  Search s{topo, req, std::vector<int>(topo.node_count(), 0), std::vector<std::int64_t>(topo.node_count() + 1, 0)};
  for (NodeId n = 0; n < topo.node_count(); ++n) {
    s.cap[n] = Capacity(topo.node(n), state_of(n), req.member, req.members);
    if (s.cap[n] > 0 && req.node_filter && !req.node_filter(n)) s.cap[n] = 0;  // the costlier check last
  }
  for (NodeId n = 0; n < topo.node_count(); ++n) s.prefix[n + 1] = s.prefix[n] + s.cap[n];

  std::vector<std::pair<NodeId, int>> layout;
  GangPlan plan;
  bool found = false;
  for (int level = depth; level >= top_allowed && !found; --level) {
    if (level == depth) {
      NodeId best = 0;
      int best_cap = std::numeric_limits<int>::max();
      double best_cost = std::numeric_limits<double>::infinity();
      for (NodeId n = 0; n < topo.node_count(); ++n) {
        if (s.cap[n] < req.members) continue;
        const double cost = req.node_cost ? req.node_cost(n) : 0.0;
        if (cost < best_cost || (cost == best_cost && s.cap[n] < best_cap)) best = n, best_cap = s.cap[n], best_cost = cost;
      }
      if (best_cap != std::numeric_limits<int>::max()) {
        layout.emplace_back(best, req.members);
        plan.level = depth;
        plan.domain = depth > 0 ? topo.DomainOf(best, depth - 1) : kRootDomain;
        found = true;
      }
      continue;
    }
    // Tightest domains at this level; among equally tight ones, the best ring bandwidth.
    std::vector<DomainId> ties;
    std::int64_t best_cap = std::numeric_limits<std::int64_t>::max();
    for (DomainId d = 0; d < topo.domains().size(); ++d) {
      if (topo.domain(d).level != level) continue;
      const auto c = s.DomainCap(d);
      if (c < req.members || c > best_cap) continue;
      if (c < best_cap) ties.clear(), best_cap = c;
      if (ties.size() < kMaxTies) ties.push_back(d);
    }
    double best_ring = -1;
    for (DomainId d : ties) {
      std::vector<std::pair<NodeId, int>> candidate;
      s.Descend(d, req.members, candidate);
      const double ring = s.RingEstimate(candidate);
      if (ring > best_ring) {
        best_ring = ring;
        layout = std::move(candidate);
        plan.level = level;
        plan.domain = d;
        found = true;
      }
    }
  }
  if (!found) {
    GangFailure f;
    if (top_allowed == depth) {  // required on one node
      NodeId largest = 0;
      for (NodeId n = 0; n < topo.node_count(); ++n)
        if (s.cap[n] > s.cap[largest]) largest = n;
      f.largest_fit = topo.node_count() > 0 ? s.cap[largest] : 0;
      f.largest_domain = topo.node_count() > 0 ? topo.node(largest).name : "";
      f.reason = Format("no node can hold all {} members ({} each); the largest, {}, holds {}{}", req.members,
                        Describe(req.member), f.largest_domain, f.largest_fit, UnusableNote(topo));
      return std::unexpected(f);
    }
    DomainId largest = kRootDomain;
    std::int64_t largest_cap = -1;
    for (DomainId d = 0; d < topo.domains().size(); ++d) {
      if (topo.domain(d).level != top_allowed) continue;
      if (s.DomainCap(d) > largest_cap) largest = d, largest_cap = s.DomainCap(d);
    }
    f.largest_fit = static_cast<int>(std::max<std::int64_t>(largest_cap, 0));
    f.largest_domain = topo.domain(largest).name;
    if (top_allowed == kRootLevel) {
      f.reason = Format("the cluster can hold {} of the {} members ({} each; {} of {} GPUs free){}", f.largest_fit,
                             req.members, Describe(req.member), topo.domain(kRootDomain).free_gpus,
                             topo.domain(kRootDomain).total_gpus, UnusableNote(topo));
    } else {
      f.reason = Format("no {} can hold all {} members ({} each); the largest, {}, holds {} ({} of {} GPUs free){}",
                             s.LevelName(top_allowed), req.members, Describe(req.member), f.largest_domain,
                             f.largest_fit, topo.domain(largest).free_gpus, topo.domain(largest).total_gpus,
                             UnusableNote(topo));
    }
    return std::unexpected(f);
  }

  // Devices per node, on scratch copies of the touched nodes' state.
  for (const auto& [n, count] : layout) {
    NodeDeviceState scratch = state_of(n);
    for (int i = 0; i < count; ++i) {
      auto a = ChooseDevices(topo.node(n), scratch, req.member);
      if (!a) {
        return std::unexpected(GangFailure{Format("node {} could not take member {}: {}", topo.node(n).name,
                                                       plan.members.size(), a.error()), 0, ""});
      }
      (void)Apply(topo.node(n), scratch, *a);
      plan.members.push_back({n, std::move(*a)});
    }
    ++plan.nodes_used;
  }
  plan.ring_bottleneck_gbps = RingBottleneck(topo, plan.members);
  return plan;
}

double RingBottleneck(const Topology& topo, const std::vector<MemberPlacement>& members) {
  double bw = std::numeric_limits<double>::infinity();
  if (members.size() == 1) {
    const auto& d = members[0].devices;
    return d.gpus.size() >= 2 ? d.bottleneck_gbps : bw;
  }
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto& a = members[i];
    const auto& b = members[(i + 1) % members.size()];
    if (a.node == b.node) {
      bw = std::min(bw, a.devices.bottleneck_gbps > 0 ? a.devices.bottleneck_gbps : bw);
      if (!a.devices.gpus.empty() && !b.devices.gpus.empty()) {
        bw = std::min(bw, topo.GpuBandwidth({a.node, a.devices.gpus.front()}, {b.node, b.devices.gpus.front()}));
      }
    } else {
      bw = std::min(bw, topo.NodeBandwidth(a.node, b.node));
    }
  }
  return bw;
}

std::expected<void, std::string> ReservePlan(Topology& topo, const GangPlan& plan) {
  for (std::size_t i = 0; i < plan.members.size(); ++i) {
    if (auto ok = topo.Reserve(plan.members[i].node, plan.members[i].devices); !ok) {
      for (std::size_t j = i; j-- > 0;) (void)topo.Release(plan.members[j].node, plan.members[j].devices);
      return std::unexpected(Format("member {}: {}", i, ok.error()));
    }
  }
  return {};
}

namespace {

// Places the pod sets in `order`: the first with `head` already placed, the others inside `inside`
// on the devices left. Returns the plan or the reason the first misfit gives.
std::expected<GroupPlan, std::string> PlaceRest(const Topology& topo, const GroupRequest& req,
                                                const std::vector<std::size_t>& order, const GangPlan& head,
                                                const std::function<bool(NodeId)>& inside) {
  StateOverlay overlay;
  auto promise = [&](const GangPlan& p) {
    for (const auto& m : p.members) {
      auto [it, fresh] = overlay.try_emplace(m.node, topo.state(m.node));
      (void)Apply(topo.node(m.node), it->second, m.devices);
    }
  };
  promise(head);
  GroupPlan plan;
  plan.pod_sets.resize(req.pod_sets.size());
  plan.pod_sets[order[0]] = head;
  for (std::size_t k = 1; k < order.size(); ++k) {
    const auto& ps = req.pod_sets[order[k]];
    auto placed = PlaceGang(topo, GangRequest{ps.count, ps.member, "", "", inside}, overlay);
    if (!placed) return std::unexpected(Format("pod set {}: {}", ps.name, placed.error().reason));
    promise(*placed);
    plan.pod_sets[order[k]] = std::move(*placed);
  }
  std::vector<MemberPlacement> all;
  for (const auto& p : plan.pod_sets) all.insert(all.end(), p.members.begin(), p.members.end());
  plan.ring_bottleneck_gbps = RingBottleneck(topo, all);
  return plan;
}

}  // namespace

std::expected<GroupPlan, GangFailure> PlaceGroup(const Topology& topo, const GroupRequest& req) {
  if (req.pod_sets.empty()) return std::unexpected(GangFailure{"the group has no pod sets", 0, ""});
  std::vector<std::size_t> order(req.pod_sets.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::ranges::stable_sort(order, [&](std::size_t a, std::size_t b) {
    const auto& x = req.pod_sets[a];
    const auto& y = req.pod_sets[b];
    return x.count * x.member.GpuEquivalents() > y.count * y.member.GpuEquivalents();
  });
  const auto& first = req.pod_sets[order[0]];
  auto allowed = [&](NodeId n) { return !req.node_filter || req.node_filter(n); };
  GangRequest primary{first.count, first.member, req.required_level, req.preferred_level, allowed};
  auto head = PlaceGang(topo, primary);
  if (!head) {
    head.error().reason = Format("pod set {}: {}", first.name, head.error().reason);
    return std::unexpected(head.error());
  }
  int top_allowed = kRootLevel;
  if (!req.required_level.empty()) top_allowed = *topo.LevelIndex(req.required_level);  // PlaceGang checked it
  const NodeId anchor = head->members.front().node;
  std::string last_reason;
  // Phase 1: the primary's domain, then each enclosing domain up to the required level.
  for (int level = head->level; level >= top_allowed; --level) {
    const bool one_node = level == topo.node_level();
    const DomainId d = one_node ? kRootDomain : topo.DomainOf(anchor, level);
    const Domain& dom = topo.domain(d);
    auto inside = [&](NodeId n) {
      return allowed(n) && (one_node ? n == anchor : (n >= dom.node_begin && n < dom.node_end));
    };
    auto plan = PlaceRest(topo, req, order, *head, inside);
    if (!plan) {
      last_reason = plan.error();
      continue;
    }
    plan->level = level;
    plan->domain = one_node ? head->domain : d;
    return *plan;
  }
  // Phase 2 (only under a required level): every pod set inside one domain of that level, trying the
  // domains with the fewest free GPUs that could hold the whole group first.
  if (top_allowed > kRootLevel && top_allowed < topo.node_level()) {
    int needed = 0;
    for (const auto& ps : req.pod_sets) needed += ps.count * ps.member.GpuEquivalents();
    std::vector<DomainId> candidates;
    for (DomainId d = 0; d < topo.domains().size(); ++d) {
      if (topo.domain(d).level == top_allowed && topo.domain(d).free_gpus >= needed && d != topo.DomainOf(anchor, top_allowed))
        candidates.push_back(d);
    }
    std::ranges::stable_sort(candidates, [&](DomainId a, DomainId b) { return topo.domain(a).free_gpus < topo.domain(b).free_gpus; });
    if (candidates.size() > 16) candidates.resize(16);
    for (DomainId d : candidates) {
      const Domain& dom = topo.domain(d);
      auto inside = [&](NodeId n) { return allowed(n) && n >= dom.node_begin && n < dom.node_end; };
      auto h = PlaceGang(topo, GangRequest{first.count, first.member, "", "", inside});
      if (!h) continue;
      auto plan = PlaceRest(topo, req, order, *h, inside);
      if (!plan) continue;
      plan->level = top_allowed;
      plan->domain = d;
      return *plan;
    }
  }
  return std::unexpected(GangFailure{last_reason, 0, ""});
}

std::expected<void, std::string> ReserveGroup(Topology& topo, const GroupPlan& plan) {
  for (std::size_t i = 0; i < plan.pod_sets.size(); ++i) {
    if (auto ok = ReservePlan(topo, plan.pod_sets[i]); !ok) {
      for (std::size_t j = i; j-- > 0;) (void)ReleasePlan(topo, plan.pod_sets[j]);
      return ok;
    }
  }
  return {};
}

std::expected<void, std::string> ReleasePlan(Topology& topo, const GangPlan& plan) {
  for (std::size_t i = 0; i < plan.members.size(); ++i) {
    if (auto ok = topo.Release(plan.members[i].node, plan.members[i].devices); !ok) {
      for (std::size_t j = i; j-- > 0;) (void)topo.Reserve(plan.members[j].node, plan.members[j].devices);
      return std::unexpected(Format("member {}: {}", i, ok.error()));
    }
  }
  return {};
}

}  // namespace platoon::topology
