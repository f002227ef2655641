// The cluster topology: fabric domains, nodes, NUMA nodes, GPUs and NICs as a Boost.Graph, with the
// fabric hierarchy precomputed and per-device use accounted, so placement never searches paths.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "topology/devices.h"
#include "topology/hardware.h"

namespace platoon::topology {

using NodeId = std::uint32_t;
using DomainId = std::uint32_t;
inline constexpr DomainId kRootDomain = 0;
inline constexpr int kRootLevel = -1;  // the whole cluster

enum class VertexKind : std::uint8_t { Domain, Node, Numa, Gpu, Nic };

struct VertexProps {
  VertexKind kind = VertexKind::Domain;
  std::uint32_t owner = 0;  // DomainId for domains, NodeId otherwise
  std::int32_t local = 0;   // NUMA index / GPU index / NIC index within the node
};

struct EdgeProps {
  LinkKind kind = LinkKind::Fabric;
  float gbps = 0.0f;
};

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, VertexProps, EdgeProps>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

// One fabric domain (a switch, block, rack or NVLink clique). Its nodes are the contiguous id range
// [node_begin, node_end): node ids follow a depth-first walk of the domain tree.
struct Domain {
  std::string name;
  int level = kRootLevel;
  DomainId parent = kRootDomain;
  std::vector<DomainId> children;
  NodeId node_begin = 0;
  NodeId node_end = 0;
  int total_gpus = 0;
  int free_gpus = 0;  // whole GPUs free, maintained on every Reserve/Release
};

// A GPU somewhere in the cluster.
struct GpuRef {
  NodeId node = 0;
  int gpu = 0;
  friend bool operator==(const GpuRef&, const GpuRef&) = default;
};

class Topology {
 public:
  // Builds the topology. Node names must be unique and each node's fabric path must name one domain
  // per configured level; nodes are reordered so that every domain's nodes are contiguous.
  // A node whose hardware does not finalise is kept but marked unusable with the reason.
  static std::expected<Topology, std::string> Build(std::vector<FabricLevel> levels, std::vector<NodeHardware> nodes);

  const std::vector<FabricLevel>& levels() const { return levels_; }
  const std::vector<Domain>& domains() const { return domains_; }
  const Domain& domain(DomainId d) const { return domains_[d]; }
  std::size_t node_count() const { return nodes_.size(); }
  const NodeHardware& node(NodeId n) const { return nodes_[n]; }
  const NodeDeviceState& state(NodeId n) const { return states_[n]; }
  // Changes whenever node `n`'s hardware or device state changes, and never repeats in the process
  // (across topologies and rebuilds), so a policy may cache per node on it.
  std::uint64_t StateVersion(NodeId n) const { return versions_[n]; }
  const Graph& graph() const { return graph_; }
  std::optional<NodeId> FindNode(std::string_view name) const;
  // The domain holding node `n` at `level` (kRootLevel: the root).
  DomainId DomainOf(NodeId n, int level) const;
  // Level index for a level name or its node label key; `kubernetes.io/hostname` is the node level
  // (returned as levels().size()).
  std::optional<int> LevelIndex(std::string_view name_or_label) const;
  int node_level() const { return static_cast<int>(levels_.size()); }

  // Per-GPU bandwidth between two nodes (GB/s, one direction): the weakest of each side's NIC egress
  // and every fabric level from their lowest common domain down. Same node: infinity.
  double NodeBandwidth(NodeId a, NodeId b) const;
  // Bottleneck bandwidth of the best path between two GPUs, without any graph search.
  double GpuBandwidth(GpuRef a, GpuRef b) const;
  // Hops between two GPUs: 1 within a node (direct link), else 2 (GPU-NIC-...) + 2 per fabric level
  // crossed up and down to the lowest common domain.
  int HopDistance(GpuRef a, GpuRef b) const;
  // The weakest pairwise bandwidth in a set of GPUs (infinity for fewer than two), and the largest
  // pairwise hop distance. O(GPUs per node squared + nodes squared x levels).
  double SetBottleneck(const std::vector<GpuRef>& gpus) const;
  int SetDiameter(const std::vector<GpuRef>& gpus) const;
  // Lowest common level of two nodes: node_level() when equal, kRootLevel when only the cluster.
  int CommonLevel(NodeId a, NodeId b) const;

  // Marks a node unusable (live label change made it inconsistent). Its reservations stay counted.
  void SetUnusable(NodeId n, std::string reason);

  // Applies a live change of a node's hardware (labels, NodeResourceTopology). A change that keeps the
  // node's shape (GPU, NUMA and NIC counts, MIG layout, fabric path) replaces it in place, clearing any
  // earlier unusable mark; an inconsistent description (unusable, or failing Finalize) keeps the last
  // good hardware and marks the node unusable with the reason. A change of shape returns an error: the
  // caller rebuilds the topology. Reservations are kept in every case.
  std::expected<void, std::string> UpdateNode(NodeId n, NodeHardware hw);

  // Takes the devices of `a` on node `n`; fails, changing nothing, when any is not free.
  std::expected<void, std::string> Reserve(NodeId n, const DeviceAssignment& a);
  // Gives them back; fails, changing nothing, when any is not held.
  std::expected<void, std::string> Release(NodeId n, const DeviceAssignment& a);

  Vertex NodeVertex(NodeId n) const { return node_vertex_[n]; }
  Vertex GpuVertex(GpuRef g) const { return gpu_vertex_base_[g.node] + static_cast<Vertex>(g.gpu); }
  Vertex DomainVertex(DomainId d) const { return d; }

 private:
  void AdjustFree(NodeId n, int delta);
  void Touch(NodeId n);

  std::vector<FabricLevel> levels_;
  std::vector<Domain> domains_;                // [0] is the root
  std::vector<NodeHardware> nodes_;
  std::vector<NodeDeviceState> states_;
  std::vector<std::uint64_t> versions_;        // per node, from a process-wide counter
  std::vector<DomainId> node_domains_;         // nodes x levels, row-major
  std::vector<int> node_free_;                 // whole GPUs free per node (as counted in domains)
  std::unordered_map<std::string, NodeId> by_name_;
  Graph graph_;
  std::vector<Vertex> node_vertex_;
  std::vector<Vertex> gpu_vertex_base_;
};

}  // namespace platoon::topology
