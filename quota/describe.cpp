// Text rendering of the resolved cohort tree for `platoon check`.
#include <algorithm>
#include <functional>

#include "quota/quota_tree.h"

namespace platoon::quota {

std::string QuotaState::DescribeCohortTree() const {
  const Tree& t = *tree_;
  std::string out;
  auto amount = [&](int fr, std::int64_t v) { return FormatAmount(t.resources[t.ResourceOf(fr)], v); };
  std::function<void(int, int)> walk = [&](int node, int indent) {
    const Tree::Node& n = t.nodes[node];
    const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
    out += pad + (n.is_cq ? "ClusterQueue " : "Cohort ") + n.name;
    if (n.weight_milli != 1000) out += " (fair sharing weight " + FormatAmount("cpu", n.weight_milli) + ")";
    if (n.is_cq) {
      const auto& cq = t.config.cluster_queues[n.cq_index];
      out += cq.queueing_strategy == QueueingStrategy::StrictFIFO ? " [StrictFIFO]" : " [BestEffortFIFO]";
    }
    out += "\n";
    for (int fr = 0; fr < t.fr_count; ++fr) {
      if (!n.has_quota[fr] && n.subtree[fr] == 0 && t.U(usage_, node, fr) == 0) continue;
      const std::int64_t potential = t.PotentialAvailable(node, fr);
      const std::int64_t lendable = n.parent >= 0 ? n.subtree[fr] - n.guaranteed[fr] : 0;
      out += pad + "  " + t.flavors[t.FlavorOf(fr)] + "/" + t.resources[t.ResourceOf(fr)] + ": nominal " +
             amount(fr, n.subtree[fr]);
      if (!n.is_cq && n.nominal[fr] != n.subtree[fr]) out += " (own " + amount(fr, n.nominal[fr]) + ")";
      out += ", borrowable " + amount(fr, std::max<std::int64_t>(0, potential - n.subtree[fr]));
      if (n.borrowing_limit[fr] != kNoLimit) out += " (borrowingLimit " + amount(fr, n.borrowing_limit[fr]) + ")";
      out += ", lendable " + amount(fr, lendable);
      if (n.lending_limit[fr] != kNoLimit) out += " (lendingLimit " + amount(fr, n.lending_limit[fr]) + ")";
      out += ", max usable " + amount(fr, potential) + ", in use " + amount(fr, t.U(usage_, node, fr)) + "\n";
    }
    std::vector<int> children = n.children;
    std::sort(children.begin(), children.end(), [&](int a, int b) {
      if (t.nodes[a].is_cq != t.nodes[b].is_cq) return !t.nodes[a].is_cq;
      return t.nodes[a].name < t.nodes[b].name;
    });
    for (int c : children) walk(c, indent + 1);
  };
  std::vector<int> roots;
  for (std::size_t i = 0; i < t.nodes.size(); ++i)
    if (t.nodes[i].parent < 0) roots.push_back(static_cast<int>(i));
  std::sort(roots.begin(), roots.end(), [&](int a, int b) {
    if (t.nodes[a].is_cq != t.nodes[b].is_cq) return !t.nodes[a].is_cq;
    return t.nodes[a].name < t.nodes[b].name;
  });
  for (int r : roots) walk(r, 0);
  return out;
}

}  // namespace platoon::quota
