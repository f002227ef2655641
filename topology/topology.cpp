// The cluster topology: building the graph and the fabric hierarchy, bandwidth queries, accounting.
#include "topology/topology.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "topology/text.h"

namespace platoon::topology {

namespace {

// Fabric paths for nodes whose path does not match the configured levels: a domain of their own.
void NormalisePath(NodeHardware& hw, const std::vector<FabricLevel>& levels) {
  bool ok = hw.fabric.size() == levels.size();
  for (std::size_t l = 0; ok && l < levels.size(); ++l) {
    ok = hw.fabric[l].level == levels[l].name && !hw.fabric[l].domain.empty();
  }
  if (ok) return;
  if (hw.usable()) {
    hw.unusable_reason = Format("fabric path does not name a domain at every level ({} given, {} levels)",
                                     hw.fabric.size(), levels.size());
  }
  hw.fabric.clear();
  for (const auto& level : levels) hw.fabric.push_back({level.name, "~" + hw.name});
}

}  // namespace

std::expected<Topology, std::string> Topology::Build(std::vector<FabricLevel> levels, std::vector<NodeHardware> nodes) {
  std::unordered_set<std::string> level_names;
  for (const auto& level : levels) {
    if (level.name.empty()) return std::unexpected("a fabric level has no name");
    if (!level_names.insert(level.name).second) return std::unexpected(Format("fabric level {} appears twice", level.name));
    if (!(level.gbps > 0)) return std::unexpected(Format("fabric level {} has no bandwidth", level.name));
  }
  Topology t;
  t.levels_ = std::move(levels);
  const std::size_t depth = t.levels_.size();
  for (auto& hw : nodes) {
    if (auto ok = Finalize(hw); !ok) {
      hw.unusable_reason = ok.error();
      hw.gpu_count = 0;
      hw.numa.clear();
      hw.nics.clear();
      hw.gpu_links.clear();
      hw.mig.clear();
      (void)Finalize(hw);
    }
    NormalisePath(hw, t.levels_);
  }
  std::vector<std::size_t> order(nodes.size());
  std::iota(order.begin(), order.end(), 0);
  std::ranges::sort(order, [&](std::size_t a, std::size_t b) {
    const auto& pa = nodes[a].fabric;
    const auto& pb = nodes[b].fabric;
    for (std::size_t l = 0; l < depth; ++l) {
      if (pa[l].domain != pb[l].domain) return pa[l].domain < pb[l].domain;
    }
    return nodes[a].name < nodes[b].name;
  });
  t.nodes_.reserve(nodes.size());
  for (std::size_t i : order) t.nodes_.push_back(std::move(nodes[i]));
  for (NodeId n = 0; n < t.nodes_.size(); ++n) {
    if (!t.by_name_.emplace(t.nodes_[n].name, n).second) {
      return std::unexpected(Format("node {} appears twice", t.nodes_[n].name));
    }
  }

  // Domains in depth-first order: a new domain opens at level l when the path prefix changes.
  t.domains_.push_back(Domain{"cluster", kRootLevel, kRootDomain, {}, 0, static_cast<NodeId>(t.nodes_.size()), 0, 0});
  t.node_domains_.resize(t.nodes_.size() * depth);
  std::vector<DomainId> open(depth, kRootDomain);
  for (NodeId n = 0; n < t.nodes_.size(); ++n) {
    const auto& path = t.nodes_[n].fabric;
    bool changed = n == 0;
    for (std::size_t l = 0; l < depth; ++l) {
      if (!changed && path[l].domain != t.nodes_[n - 1].fabric[l].domain) changed = true;
      if (changed) {
        if (open[l] != kRootDomain) t.domains_[open[l]].node_end = n;
        const DomainId parent = l == 0 ? kRootDomain : open[l - 1];
        const auto id = static_cast<DomainId>(t.domains_.size());
        t.domains_.push_back(Domain{path[l].domain, static_cast<int>(l), parent, {}, n, n, 0, 0});
        t.domains_[parent].children.push_back(id);
        open[l] = id;
      }
      t.node_domains_[n * depth + l] = open[l];
    }
  }
  for (std::size_t l = 0; l < depth; ++l) {
    if (open[l] != kRootDomain) t.domains_[open[l]].node_end = static_cast<NodeId>(t.nodes_.size());
  }

  // Accounting.
  t.versions_.assign(t.nodes_.size(), 0);
  for (NodeId n = 0; n < t.nodes_.size(); ++n) t.Touch(n);
  t.states_.reserve(t.nodes_.size());
  t.node_free_.assign(t.nodes_.size(), 0);
  for (NodeId n = 0; n < t.nodes_.size(); ++n) {
    t.states_.push_back(NodeDeviceState::For(t.nodes_[n]));
    const int free = FreeWholeGpus(t.nodes_[n], t.states_[n]);
    t.node_free_[n] = free;
    t.domains_[kRootDomain].total_gpus += t.nodes_[n].gpu_count;
    t.domains_[kRootDomain].free_gpus += free;
    for (std::size_t l = 0; l < depth; ++l) {
      Domain& d = t.domains_[t.node_domains_[n * depth + l]];
      d.total_gpus += t.nodes_[n].gpu_count;
      d.free_gpus += free;
    }
  }

  // The graph: domains first (vertex id == domain id), then per node its node, NUMA, GPU, NIC vertices.
  const double cluster_gbps = depth > 0 ? t.levels_.front().gbps / 2 : 12.5;
  Graph& g = t.graph_;
  for (DomainId d = 0; d < t.domains_.size(); ++d) boost::add_vertex(VertexProps{VertexKind::Domain, d, 0}, g);
  for (DomainId d = 1; d < t.domains_.size(); ++d) {
    const Domain& dom = t.domains_[d];
    const double bw = dom.parent == kRootDomain ? cluster_gbps : t.levels_[static_cast<std::size_t>(dom.level - 1)].gbps;
    const LinkKind kind = dom.parent == kRootDomain ? LinkKind::Fabric : t.levels_[static_cast<std::size_t>(dom.level - 1)].kind;
    boost::add_edge(dom.parent, d, EdgeProps{kind, static_cast<float>(bw)}, g);
  }
  t.node_vertex_.resize(t.nodes_.size());
  t.gpu_vertex_base_.resize(t.nodes_.size());
  for (NodeId n = 0; n < t.nodes_.size(); ++n) {
    const NodeHardware& hw = t.nodes_[n];
    const DomainId leaf = depth > 0 ? t.node_domains_[n * depth + depth - 1] : kRootDomain;
    const double leaf_bw = depth > 0 ? t.levels_.back().gbps : cluster_gbps;
    const Vertex nv = boost::add_vertex(VertexProps{VertexKind::Node, n, 0}, g);
    t.node_vertex_[n] = nv;
    const Vertex numa0 = static_cast<Vertex>(boost::num_vertices(g));
    for (std::size_t u = 0; u < hw.numa.size(); ++u) {
      boost::add_vertex(VertexProps{VertexKind::Numa, n, static_cast<std::int32_t>(u)}, g);
      boost::add_edge(nv, numa0 + u, EdgeProps{LinkKind::Node, static_cast<float>(kSysGbps * 4)}, g);
      for (std::size_t v = 0; v < u; ++v) {
        boost::add_edge(numa0 + v, numa0 + u, EdgeProps{LinkKind::Sys, static_cast<float>(kSysGbps)}, g);
      }
    }
    const Vertex gpu0 = static_cast<Vertex>(boost::num_vertices(g));
    t.gpu_vertex_base_[n] = gpu0;
    for (int k = 0; k < hw.gpu_count; ++k) {
      boost::add_vertex(VertexProps{VertexKind::Gpu, n, k}, g);
      boost::add_edge(numa0 + static_cast<Vertex>(hw.gpu_numa[static_cast<std::size_t>(k)]), gpu0 + static_cast<Vertex>(k),
                      EdgeProps{LinkKind::PHB, static_cast<float>(kPcieGbps)}, g);
    }
    for (int a = 0; a < hw.gpu_count; ++a) {
      for (int b = a + 1; b < hw.gpu_count; ++b) {
        const GpuLink& l = hw.Link(a, b);
        if (l.kind == LinkKind::NVLink || l.kind == LinkKind::NVSwitch) {
          boost::add_edge(gpu0 + static_cast<Vertex>(a), gpu0 + static_cast<Vertex>(b),
                          EdgeProps{l.kind, static_cast<float>(l.gbps)}, g);
        }
      }
    }
    for (std::size_t i = 0; i < hw.nics.size(); ++i) {
      const Vertex v = boost::add_vertex(VertexProps{VertexKind::Nic, n, static_cast<std::int32_t>(i)}, g);
      boost::add_edge(numa0 + static_cast<Vertex>(hw.nics[i].numa), v, EdgeProps{LinkKind::PIX, static_cast<float>(kPcieGbps * 2)}, g);
      boost::add_edge(v, leaf, EdgeProps{LinkKind::Fabric, static_cast<float>(std::min(hw.nics[i].gbps, leaf_bw))}, g);
    }
    if (hw.nics.empty()) boost::add_edge(nv, leaf, EdgeProps{LinkKind::Fabric, static_cast<float>(std::min(12.5, leaf_bw))}, g);
  }
  return t;
}

std::optional<NodeId> Topology::FindNode(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

DomainId Topology::DomainOf(NodeId n, int level) const {
  if (level < 0) return kRootDomain;
  return node_domains_[n * levels_.size() + static_cast<std::size_t>(level)];
}

std::optional<int> Topology::LevelIndex(std::string_view key) const {
  if (key == "kubernetes.io/hostname") return node_level();
  for (std::size_t l = 0; l < levels_.size(); ++l) {
    if (levels_[l].name == key || (!levels_[l].node_label.empty() && levels_[l].node_label == key)) {
      return static_cast<int>(l);
    }
  }
  return std::nullopt;
}

int Topology::CommonLevel(NodeId a, NodeId b) const {
  if (a == b) return node_level();
  int common = kRootLevel;
  for (std::size_t l = 0; l < levels_.size(); ++l) {
    if (DomainOf(a, static_cast<int>(l)) != DomainOf(b, static_cast<int>(l))) break;
    common = static_cast<int>(l);
  }
  return common;
}

double Topology::NodeBandwidth(NodeId a, NodeId b) const {
  if (a == b) return std::numeric_limits<double>::infinity();
  const int common = CommonLevel(a, b);
  double bw = common == kRootLevel ? (levels_.empty() ? 12.5 : levels_.front().gbps / 2) : std::numeric_limits<double>::infinity();
  for (std::size_t l = static_cast<std::size_t>(std::max(common, 0)); l < levels_.size(); ++l) bw = std::min(bw, levels_[l].gbps);
  auto egress = [&](NodeId n) {
    double e = 0;
    for (double x : nodes_[n].gpu_egress) e = std::max(e, x);
    return nodes_[n].gpu_egress.empty() ? 12.5 : e;
  };
  // Multi-node NVLink domains (a common level of NVLink kind) bypass the NICs.
  if (common >= 0 && levels_[static_cast<std::size_t>(common)].kind != LinkKind::Fabric) return bw;
  return std::min({bw, egress(a), egress(b)});
}

double Topology::GpuBandwidth(GpuRef a, GpuRef b) const {
  if (a.node == b.node) {
    if (a.gpu == b.gpu) return std::numeric_limits<double>::infinity();
    return nodes_[a.node].Link(a.gpu, b.gpu).gbps;
  }
  const int common = CommonLevel(a.node, b.node);
  double bw = NodeBandwidth(a.node, b.node);
  if (common >= 0 && levels_[static_cast<std::size_t>(common)].kind != LinkKind::Fabric) return bw;
  return std::min({bw, nodes_[a.node].gpu_egress[static_cast<std::size_t>(a.gpu)],
                   nodes_[b.node].gpu_egress[static_cast<std::size_t>(b.gpu)]});
}

int Topology::HopDistance(GpuRef a, GpuRef b) const {
  if (a.node == b.node) {
    if (a.gpu == b.gpu) return 0;
    const NodeHardware& hw = nodes_[a.node];
    const LinkKind k = hw.Link(a.gpu, b.gpu).kind;
    if (k == LinkKind::NVLink || k == LinkKind::NVSwitch) return 1;
    return hw.gpu_numa[static_cast<std::size_t>(a.gpu)] == hw.gpu_numa[static_cast<std::size_t>(b.gpu)] ? 2 : 3;
  }
  const int deepest = static_cast<int>(levels_.size()) - 1;
  return 6 + 2 * (deepest - CommonLevel(a.node, b.node));
}

namespace {

// GPUs grouped by node, in first-seen node order.
std::vector<std::pair<NodeId, std::vector<int>>> ByNode(const std::vector<GpuRef>& gpus) {
  std::vector<std::pair<NodeId, std::vector<int>>> out;
  for (const auto& g : gpus) {
    auto it = std::ranges::find_if(out, [&](const auto& p) { return p.first == g.node; });
    if (it == out.end()) out.push_back({g.node, {g.gpu}});
    else it->second.push_back(g.gpu);
  }
  return out;
}

}  // namespace

double Topology::SetBottleneck(const std::vector<GpuRef>& gpus) const {
  double bw = std::numeric_limits<double>::infinity();
  const auto groups = ByNode(gpus);
  for (const auto& [n, list] : groups) {
    for (std::size_t i = 0; i < list.size(); ++i)
      for (std::size_t j = i + 1; j < list.size(); ++j) bw = std::min(bw, GpuBandwidth({n, list[i]}, {n, list[j]}));
  }
  for (std::size_t a = 0; a < groups.size(); ++a) {
    for (std::size_t b = a + 1; b < groups.size(); ++b) {
      for (int ga : groups[a].second)
        for (int gb : groups[b].second) bw = std::min(bw, GpuBandwidth({groups[a].first, ga}, {groups[b].first, gb}));
    }
  }
  return bw;
}

int Topology::SetDiameter(const std::vector<GpuRef>& gpus) const {
  int hops = 0;
  for (std::size_t i = 0; i < gpus.size(); ++i)
    for (std::size_t j = i + 1; j < gpus.size(); ++j) hops = std::max(hops, HopDistance(gpus[i], gpus[j]));
  return hops;
}

void Topology::Touch(NodeId n) {
  static std::atomic<std::uint64_t> counter{0};
  versions_[n] = ++counter;
}

void Topology::SetUnusable(NodeId n, std::string reason) {
  Touch(n);
  nodes_[n].unusable_reason = reason.empty() ? std::string("marked unusable") : std::move(reason);
}

std::expected<void, std::string> Topology::UpdateNode(NodeId n, NodeHardware hw) {
  if (n >= nodes_.size()) return std::unexpected("unknown node id");
  Touch(n);
  NodeHardware& cur = nodes_[n];
  if (hw.usable()) {
    if (auto ok = Finalize(hw); !ok) hw.unusable_reason = ok.error();
  }
  if (!hw.usable()) {
    cur.unusable_reason = hw.unusable_reason;
    return {};
  }
  if (hw.name != cur.name) return std::unexpected(Format("node {} cannot be renamed {}", cur.name, hw.name));
  if (hw.fabric != cur.fabric) {
    return std::unexpected(Format("node {} moved in the fabric; rebuild the topology", cur.name));
  }
  auto numa_shape = [](const NodeHardware& h) {
    std::vector<std::size_t> shape;
    for (const auto& u : h.numa) shape.push_back(u.gpus.size() * 1000 + u.nics.size());
    return shape;
  };
  if (hw.gpu_count != cur.gpu_count || hw.nics.size() != cur.nics.size() || hw.mig != cur.mig ||
      hw.gpu_numa != cur.gpu_numa || numa_shape(hw) != numa_shape(cur)) {
    return std::unexpected(Format("node {} changed shape ({} GPUs, was {}); rebuild the topology", cur.name,
                                  hw.gpu_count, cur.gpu_count));
  }
  cur = std::move(hw);
  return {};
}

void Topology::AdjustFree(NodeId n, int delta) {
  if (delta == 0) return;
  node_free_[n] += delta;
  domains_[kRootDomain].free_gpus += delta;
  for (std::size_t l = 0; l < levels_.size(); ++l) domains_[node_domains_[n * levels_.size() + l]].free_gpus += delta;
}

std::expected<void, std::string> Topology::Reserve(NodeId n, const DeviceAssignment& a) {
  if (n >= nodes_.size()) return std::unexpected("unknown node id");
  if (auto ok = Apply(nodes_[n], states_[n], a); !ok) return ok;
  Touch(n);
  AdjustFree(n, FreeWholeGpus(nodes_[n], states_[n]) - node_free_[n]);
  return {};
}

std::expected<void, std::string> Topology::Release(NodeId n, const DeviceAssignment& a) {
  if (n >= nodes_.size()) return std::unexpected("unknown node id");
  if (auto ok = Revert(nodes_[n], states_[n], a); !ok) return ok;
  Touch(n);
  AdjustFree(n, FreeWholeGpus(nodes_[n], states_[n]) - node_free_[n]);
  return {};
}

}  // namespace platoon::topology
