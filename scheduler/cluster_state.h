// The node cache and single-pod decisions: resource fit, scoring, binding and victim vetting.
#pragma once

#include <cstdint>
#include <deque>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "policies/score_policy.h"
#include "scheduler/model.h"

namespace platoon {

// Pod labels that make a pod a member of a gang (scheduler-plugins and Kueue plain-pod groups).
inline constexpr std::string_view kPodGroupLabel = "scheduling.x-k8s.io/pod-group";
inline constexpr std::string_view kKueuePodGroupLabel = "kueue.x-k8s.io/pod-group-name";

// "namespace/group" for a gang member, nullopt for a pod in no group.
std::optional<std::string> GangKeyOf(const Pod& pod);

// Transparent hashing so lookups by string_view allocate nothing on the hot path. Deliberately not
// noexcept: libstdc++ then caches each key's hash in its node, so a lookup compares cached hashes
// instead of rehashing every key in the bucket chain (measured: the filter hot path's largest cost).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Where a candidate node stands for a pod. Failed: could pass after preemption or pods finishing;
// Unresolvable: nothing kube-scheduler can do about it (kube-scheduler skips preemption there).
enum class NodeVerdictKind { Fits, Failed, Unresolvable };

struct NodeVerdict {
  NodeVerdictKind kind = NodeVerdictKind::Fits;
  std::string reason;  // a sentence a person can act on; empty when it fits
};

struct BindRequest {
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  std::string node;
};

// Victims kube-scheduler proposes on one node (extender/v1 MetaVictims).
struct NodeVictims {
  std::vector<std::string> pod_uids;
  std::int64_t num_pdb_violations = 0;
  friend bool operator==(const NodeVictims&, const NodeVictims&) = default;
};

struct ClusterCounts {
  std::size_t nodes = 0;
  std::size_t bound_pods = 0;
  std::size_t pending_pods = 0;
};

// The in-memory cluster: nodes with their allocatable resources and the pods bound to them. Not
// thread-safe, not even the const queries (they share a lookup cache): the owner serialises calls.
class ClusterState {
 public:
  // How many unbound pods seen by filter are remembered for the bind that follows.
  static constexpr std::size_t kMaxRememberedPendingPods = 200'000;

  explicit ClusterState(std::unique_ptr<policies::ScorePolicy> score_policy,
                        std::size_t max_pending_pods = kMaxRememberedPendingPods);

  // Adds or replaces a node; its bound pods are kept.
  void UpsertNode(Node node);
  // Removes a node and forgets the pods bound to it. Returns false if it was unknown.
  bool RemoveNode(std::string_view name);
  // Records a pod. A pod with node_name set (and not finished) holds resources on that node; an
  // unbound pod is remembered for its bind. Replaces an earlier record of the same UID.
  void UpsertPod(Pod pod);
  bool RemovePod(std::string_view uid);

  // One verdict per candidate name, in order. A name unknown to the cache fails with a reason.
  std::vector<NodeVerdict> Filter(const Pod& pod, const std::vector<std::string_view>& candidates) const;
  // 0..policies::kMaxNodeScore per candidate, in order; unknown nodes score 0.
  std::vector<int> Score(const Pod& pod, const std::vector<std::string_view>& candidates) const;
  // Binds a pod remembered from filter (or already bound: idempotent per UID). Error: a sentence.
  std::expected<void, std::string> Bind(const BindRequest& request);
  // Keeps only the nodes whose victim set platoon accepts: every gang touched must be evicted whole
  // on that node, and the node must be known. Order of victims is preserved.
  std::map<std::string, NodeVictims> VetVictims(const std::map<std::string, NodeVictims>& proposed) const;

  const Node* FindNode(std::string_view name) const;
  const Pod* FindPod(std::string_view uid) const;
  // Requested resources on a node (sum of its bound pods); nullptr for unknown nodes.
  const ResourceList* RequestedOn(std::string_view node) const;
  ClusterCounts Counts() const;
  const policies::ScorePolicy& score_policy() const { return *score_policy_; }

 private:
  struct NodeEntry {
    Node node;
    ResourceList requested;
    std::unordered_set<std::string> pod_uids;
    std::uint32_t slot = 0;  // its row in hot_
  };

  // The hot path's view of a node, packed so filter and score touch one or two cache lines per node
  // (kube-scheduler sends thousands of names per call): amounts of the resources almost every pod
  // requests, kept in step with NodeEntry. Pods asking for anything else take the general path.
  static constexpr std::size_t kHotResources = 5;  // cpu, memory, pods, ephemeral-storage, nvidia.com/gpu
  struct HotRow {
    std::int64_t allocatable[kHotResources] = {};
    std::int64_t requested[kHotResources] = {};
    bool ready = false;
    bool live = false;
  };
  static int HotIndex(std::string_view resource);
  void RefreshHot(const NodeEntry& entry);

  void Unbind(const Pod& pod);
  // Drops a bound pod from its gang's member set (the set goes when its last member does).
  void ForgetGangMember(const Pod& pod);
  void Remember(Pod pod);
  // The entries of `candidates` (nullptr for unknown names). kube-scheduler sends the same node list
  // cycle after cycle, so the last resolution is kept and reused while the node set is unchanged.
  struct Resolved {
    std::vector<const NodeEntry*> entries;  // nullptr: unknown name
    std::vector<std::uint32_t> slots;       // kNoSlot: unknown name
  };
  static constexpr std::uint32_t kNoSlot = UINT32_MAX;
  const Resolved& Resolve(const std::vector<std::string_view>& candidates) const;

  std::unique_ptr<policies::ScorePolicy> score_policy_;
  StringMap<NodeEntry> nodes_;
  StringMap<Pod> bound_;    // by UID
  // Unbound pods seen by filter, by UID, each stamped with when it was (last) remembered. The order
  // queue may hold stale stamps of pods bound, removed or remembered again since; they are skipped
  // and compacted away, so it stays proportional to pending_.
  struct PendingPod {
    Pod pod;
    std::uint64_t stamp = 0;
  };
  StringMap<PendingPod> pending_;
  std::deque<std::pair<std::uint64_t, std::string>> pending_order_;
  std::uint64_t pending_stamp_ = 0;
  std::size_t max_pending_pods_;
  StringMap<std::unordered_set<std::string>> gang_members_;  // gang key -> bound member UIDs

  std::uint64_t node_set_generation_ = 0;  // bumped when a node is added or removed
  mutable std::uint64_t resolved_generation_ = UINT64_MAX;
  mutable std::string resolved_names_;  // the candidate names, '\0'-separated
  mutable Resolved resolved_;
  std::vector<HotRow> hot_;
  std::vector<std::uint32_t> free_slots_;
};

}  // namespace platoon
