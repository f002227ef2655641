// Single-pod decisions over the node cache.
#include "scheduler/cluster_state.h"

#include <algorithm>

namespace platoon {

std::optional<std::string> GangKeyOf(const Pod& pod) {
  for (std::string_view label : {kPodGroupLabel, kKueuePodGroupLabel}) {
    auto it = pod.labels.find(label);
    if (it != pod.labels.end() && !it->second.empty()) return pod.namespace_ + "/" + it->second;
  }
  return std::nullopt;
}

ClusterState::ClusterState(std::unique_ptr<policies::ScorePolicy> score_policy, std::size_t max_pending_pods)
    : score_policy_(std::move(score_policy)), max_pending_pods_(max_pending_pods) {}

int ClusterState::HotIndex(std::string_view resource) {
  static constexpr std::string_view kHot[kHotResources] = {kResourceCPU, kResourceMemory, kResourcePods,
                                                           kResourceEphemeralStorage, kResourceGPU};
  for (std::size_t i = 0; i < kHotResources; ++i)
    if (kHot[i] == resource) return static_cast<int>(i);
  return -1;
}

void ClusterState::RefreshHot(const NodeEntry& entry) {
  HotRow& row = hot_[entry.slot];
  row = HotRow{};
  row.live = true;
  row.ready = entry.node.ready;
  for (const auto& [name, amount] : entry.node.allocatable)
    if (int i = HotIndex(name); i >= 0) row.allocatable[i] = amount;
  for (const auto& [name, amount] : entry.requested)
    if (int i = HotIndex(name); i >= 0) row.requested[i] = amount;
}

void ClusterState::UpsertNode(Node node) {
  auto it = nodes_.find(node.name);
  if (it == nodes_.end()) {
    std::uint32_t slot;
    if (free_slots_.empty()) {
      slot = static_cast<std::uint32_t>(hot_.size());
      hot_.emplace_back();
    } else {
      slot = free_slots_.back();
      free_slots_.pop_back();
    }
    std::string name = node.name;
    it = nodes_.emplace(std::move(name), NodeEntry{std::move(node), {}, {}, slot}).first;
    ++node_set_generation_;
  } else {
    it->second.node = std::move(node);
  }
  RefreshHot(it->second);
}

bool ClusterState::RemoveNode(std::string_view name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return false;
  for (const auto& uid : it->second.pod_uids) {
    auto pod = bound_.find(uid);
    if (pod == bound_.end()) continue;
    ForgetGangMember(pod->second);
    bound_.erase(pod);
  }
  hot_[it->second.slot] = HotRow{};
  free_slots_.push_back(it->second.slot);
  nodes_.erase(it);
  ++node_set_generation_;
  return true;
}

void ClusterState::Unbind(const Pod& pod) {
  auto node = nodes_.find(pod.node_name);
  if (node != nodes_.end()) {
    node->second.requested -= pod.requests;
    node->second.pod_uids.erase(pod.uid);
    RefreshHot(node->second);
  }
  ForgetGangMember(pod);
}

void ClusterState::ForgetGangMember(const Pod& pod) {
  auto gang = GangKeyOf(pod);
  if (!gang) return;
  auto members = gang_members_.find(*gang);
  if (members == gang_members_.end()) return;
  members->second.erase(pod.uid);
  if (members->second.empty()) gang_members_.erase(members);
}

void ClusterState::Remember(Pod pod) {
  const std::uint64_t stamp = ++pending_stamp_;
  std::string uid = pod.uid;
  pending_.insert_or_assign(uid, PendingPod{std::move(pod), stamp});
  pending_order_.emplace_back(stamp, std::move(uid));
  auto is_stale = [this](const std::pair<std::uint64_t, std::string>& entry) {
    auto live = pending_.find(entry.second);
    return live == pending_.end() || live->second.stamp != entry.first;
  };
  // Forget the least recently remembered pods beyond the cap; stale entries are only skipped.
  while (!pending_order_.empty()) {
    const bool stale = is_stale(pending_order_.front());
    if (!stale && pending_.size() <= max_pending_pods_) break;
    if (!stale) pending_.erase(pending_order_.front().second);
    pending_order_.pop_front();
  }
  if (pending_order_.size() > 2 * pending_.size() + 1024) std::erase_if(pending_order_, is_stale);
}

void ClusterState::UpsertPod(Pod pod) {
  if (auto old = bound_.find(pod.uid); old != bound_.end()) {
    Unbind(old->second);
    bound_.erase(old);
  }
  if (pod.node_name.empty()) {
    Remember(std::move(pod));
    return;
  }
  pending_.erase(pod.uid);
  if (pod.Finished()) return;  // holds nothing
  auto node = nodes_.find(pod.node_name);
  if (node != nodes_.end()) {
    node->second.requested += pod.requests;
    node->second.pod_uids.insert(pod.uid);
    RefreshHot(node->second);
  }
  if (auto gang = GangKeyOf(pod)) gang_members_[*gang].insert(pod.uid);
  std::string uid = pod.uid;
  bound_.insert_or_assign(std::move(uid), std::move(pod));
}

bool ClusterState::RemovePod(std::string_view uid) {
  if (auto it = bound_.find(uid); it != bound_.end()) {
    Unbind(it->second);
    bound_.erase(it);
    return true;
  }
  return pending_.erase(std::string(uid)) > 0;
}

const ClusterState::Resolved& ClusterState::Resolve(const std::vector<std::string_view>& candidates) const {
  bool same = resolved_generation_ == node_set_generation_ && resolved_.slots.size() == candidates.size();
  std::size_t offset = 0;
  for (std::size_t i = 0; same && i < candidates.size(); ++i) {
    const std::string_view name = candidates[i];
    same = resolved_names_.size() >= offset + name.size() + 1 &&
           std::string_view(resolved_names_).substr(offset, name.size()) == name && resolved_names_[offset + name.size()] == '\0';
    offset += name.size() + 1;
  }
  if (same && offset == resolved_names_.size()) return resolved_;
  resolved_names_.clear();
  resolved_.entries.clear();
  resolved_.slots.clear();
  resolved_.entries.reserve(candidates.size());
  resolved_.slots.reserve(candidates.size());
  for (std::string_view name : candidates) {
    resolved_names_.append(name);
    resolved_names_.push_back('\0');
    auto it = nodes_.find(name);
    resolved_.entries.push_back(it == nodes_.end() ? nullptr : &it->second);
    resolved_.slots.push_back(it == nodes_.end() ? kNoSlot : it->second.slot);
  }
  resolved_generation_ = node_set_generation_;
  return resolved_;
}

std::vector<NodeVerdict> ClusterState::Filter(const Pod& pod,
                                              const std::vector<std::string_view>& candidates) const {
  const Resolved& resolved = Resolve(candidates);
  // The pod's request on the hot resources; any other resource sends every node the general way.
  std::int64_t hot_request[kHotResources] = {};
  bool all_hot = true;
  for (const auto& [name, amount] : pod.requests) {
    if (int i = HotIndex(name); i >= 0) hot_request[i] = amount;
    else if (amount > 0) all_hot = false;
  }
  std::vector<NodeVerdict> verdicts(candidates.size());
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const std::uint32_t slot = resolved.slots[c];
    if (slot == kNoSlot) {
      verdicts[c] = {NodeVerdictKind::Failed,
                     "node is not in platoon's node cache yet; it will be considered once platoon has seen it"};
      continue;
    }
    if (all_hot) {
      const HotRow& row = hot_[slot];
      bool fits = row.ready;
      for (std::size_t i = 0; fits && i < kHotResources; ++i)
        fits = hot_request[i] <= 0 || row.requested[i] + hot_request[i] <= row.allocatable[i];
      if (fits) continue;  // verdict defaults to Fits
    }
    // Does not fit (or needs the general check): the full arithmetic, with the reason.
    const NodeEntry& entry = *resolved.entries[c];
    if (!entry.node.ready) {
      verdicts[c] = {NodeVerdictKind::Unresolvable, "node is not Ready"};
      continue;
    }
    auto missing = Fits(pod.requests, entry.requested, entry.node.allocatable);
    if (missing.empty()) continue;
    // A resource the node does not have at all cannot be freed by preemption.
    const bool impossible = std::any_of(missing.begin(), missing.end(), [](const Insufficient& m) {
      return m.requested > m.capacity;
    });
    verdicts[c] = {impossible ? NodeVerdictKind::Unresolvable : NodeVerdictKind::Failed, DescribeInsufficient(missing)};
  }
  return verdicts;
}

std::vector<int> ClusterState::Score(const Pod& pod, const std::vector<std::string_view>& candidates) const {
  const Resolved& resolved = Resolve(candidates);
  std::vector<int> scores(candidates.size(), 0);
  // Policies that are a weighted mean over resource amounts read the packed rows.
  const std::vector<policies::ResourceWeight>* weights = score_policy_->AllocationWeights();
  std::vector<std::pair<int, int>> hot_weights;  // (hot index, weight)
  std::int64_t hot_request[kHotResources] = {};
  bool fast = weights != nullptr;
  if (fast) {
    for (const auto& w : *weights) {
      const int i = HotIndex(w.resource);
      if (i < 0) fast = false;
      else hot_weights.emplace_back(i, w.weight);
    }
    for (const auto& [name, amount] : pod.requests)
      if (int i = HotIndex(name); i >= 0) hot_request[i] = amount;
  }
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    if (resolved.slots[c] == kNoSlot) continue;
    int score;
    if (fast) {
      const HotRow& row = hot_[resolved.slots[c]];
      std::int64_t total = 0, weight_sum = 0;
      for (const auto& [i, weight] : hot_weights) {
        if (row.allocatable[i] <= 0) continue;
        total += score_policy_->AllocationScore(row.requested[i] + hot_request[i], row.allocatable[i]) * weight;
        weight_sum += weight;
      }
      score = weight_sum == 0 ? 0 : static_cast<int>(total / weight_sum);
    } else {
      const NodeEntry& entry = *resolved.entries[c];
      const policies::NodeResourceView view{entry.node.name, entry.node.allocatable, entry.requested};
      score = score_policy_->Score(pod.requests, view);
    }
    scores[c] = std::clamp(score, 0, policies::kMaxNodeScore);
  }
  return scores;
}

std::expected<void, std::string> ClusterState::Bind(const BindRequest& request) {
  const std::string who = "pod " + request.pod_namespace + "/" + request.pod_name;
  if (auto it = bound_.find(request.pod_uid); it != bound_.end()) {
    if (it->second.node_name == request.node) return {};  // a retried bind: already done
    return std::unexpected(who + " is already bound to node " + it->second.node_name +
                           "; refusing to bind it to " + request.node);
  }
  auto pending = pending_.find(request.pod_uid);
  if (pending == pending_.end())
    return std::unexpected(who + " (uid " + request.pod_uid +
                           ") is unknown to platoon: bind only pods that went through its filter");
  auto node = nodes_.find(request.node);
  if (node == nodes_.end()) return std::unexpected("node " + request.node + " is not in platoon's node cache");
  auto missing = Fits(pending->second.pod.requests, node->second.requested, node->second.node.allocatable);
  if (!missing.empty())
    return std::unexpected(who + " no longer fits node " + request.node + ": " + DescribeInsufficient(missing));
  Pod pod = std::move(pending->second.pod);
  pending_.erase(pending);
  pod.node_name = request.node;
  UpsertPod(std::move(pod));
  return {};
}

std::map<std::string, NodeVictims> ClusterState::VetVictims(
    const std::map<std::string, NodeVictims>& proposed) const {
  std::map<std::string, NodeVictims> accepted;
  for (const auto& [node, victims] : proposed) {
    if (!nodes_.contains(node)) continue;
    const std::unordered_set<std::string> on_node(victims.pod_uids.begin(), victims.pod_uids.end());
    bool breaks_gang = false;
    for (const auto& uid : victims.pod_uids) {
      auto pod = bound_.find(uid);
      if (pod == bound_.end()) continue;
      auto gang = GangKeyOf(pod->second);
      if (!gang) continue;
      auto members = gang_members_.find(*gang);
      if (members == gang_members_.end()) continue;
      for (const auto& member : members->second)
        if (!on_node.contains(member)) breaks_gang = true;
      if (breaks_gang) break;
    }
    if (!breaks_gang) accepted.emplace(node, victims);
  }
  return accepted;
}

const Node* ClusterState::FindNode(std::string_view name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second.node;
}

const Pod* ClusterState::FindPod(std::string_view uid) const {
  if (auto it = bound_.find(uid); it != bound_.end()) return &it->second;
  if (auto it = pending_.find(uid); it != pending_.end()) return &it->second.pod;
  return nullptr;
}

const ResourceList* ClusterState::RequestedOn(std::string_view node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : &it->second.requested;
}

ClusterCounts ClusterState::Counts() const { return {nodes_.size(), bound_.size(), pending_.size()}; }

}  // namespace platoon
