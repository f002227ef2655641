// Test fixtures for the gang engine: GPU nodes, gang pods, and a driver that plays kube-scheduler.
#pragma once

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "scheduler/engine.h"

namespace platoon::engine::testing {

inline constexpr std::string_view kRackLabel = "example.com/rack";

inline EngineOptions RackOptions() {
  EngineOptions o;
  o.levels = {{"rack", std::string(kRackLabel), 50.0, topology::LinkKind::Fabric}};
  o.default_bind_timeout = 30;
  o.backoff_initial = 5;
  o.backoff_max = 60;
  return o;
}

inline Node GpuNode(std::string name, int gpus = 8, std::string rack = "") {
  Node n;
  n.name = std::move(name);
  n.uid = "node-" + n.name;
  if (!rack.empty()) n.labels[std::string(kRackLabel)] = rack;
  n.labels["kubernetes.io/hostname"] = n.name;
  n.allocatable = ResourceList{{"cpu", 64000}, {"memory", 512LL << 30}, {"pods", 110}, {"nvidia.com/gpu", gpus}};
  n.capacity = n.allocatable;
  return n;
}

// A member of a scheduler-plugins PodGroup (group empty: a pod of its own).
inline Pod GangPod(std::string name, std::string group, int gpus, std::int32_t priority = 0) {
  Pod p;
  p.name = std::move(name);
  p.uid = "uid-" + p.name;
  p.phase = "Pending";
  if (!group.empty()) p.labels[std::string(kPodGroupLabel)] = group;
  p.requests = ResourceList{{"cpu", 1000}, {"memory", 1LL << 30}, {"pods", 1}};
  if (gpus > 0) p.requests.Set("nvidia.com/gpu", gpus);
  p.priority = priority;
  return p;
}

inline PodGroup Group(std::string name, int min_member, std::optional<int> timeout = std::nullopt) {
  PodGroup g;
  g.name = std::move(name);
  g.min_member = min_member;
  g.schedule_timeout_seconds = timeout;
  return g;
}

inline std::vector<std::string_view> Names(const std::vector<std::string>& names) {
  return {names.begin(), names.end()};
}

// Plays kube-scheduler and the API server: filter every unbound pod against every node, bind to the
// node that passes, post the bindings, evict by deleting pods.
class Driver {
 public:
  explicit Driver(Engine& engine) : engine_(engine) {}

  void AddNode(Node node) {
    nodes_[node.name] = node;
    engine_.UpsertNode(std::move(node), now_);
  }
  void RemoveNode(const std::string& name) {
    nodes_.erase(name);
    engine_.RemoveNode(name, now_);
  }
  void AddPod(Pod pod) {
    pods_[pod.uid] = pod;
    engine_.UpsertPod(std::move(pod), now_);
  }
  void DeletePod(const std::string& uid) {
    pods_.erase(uid);
    engine_.RemovePod(uid, now_);
  }
  void FinishPod(const std::string& uid) {
    auto it = pods_.find(uid);
    if (it == pods_.end()) return;
    it->second.phase = "Succeeded";
    engine_.UpsertPod(it->second, now_);
    finished_.insert(uid);
    pods_.erase(it);
  }
  void Advance(Seconds dt) {
    now_ += dt;
    engine_.AdvanceTime(now_);
    Apply();
  }

  // Filters one pod; returns the node that passed, if any.
  std::optional<std::string> FilterOne(const std::string& uid) {
    const Pod& pod = pods_.at(uid);
    std::vector<std::string> names;
    for (const auto& [name, node] : nodes_) names.push_back(name);
    auto verdicts = engine_.Filter(pod, Names(names), now_);
    Apply();
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (verdicts[i].kind == NodeVerdictKind::Fits) return names[i];
    }
    last_reason_ = verdicts.empty() ? "" : verdicts.front().reason;
    return std::nullopt;
  }

  BindOutcome BindOne(const std::string& uid, const std::string& node) {
    auto out = engine_.Bind(uid, node, now_);
    if (out.kind == BindOutcome::Kind::BindNow) {
      bind_batches_.push_back(out.bindings);
      PostBindings(out.bindings);
    }
    Apply();
    return out;
  }

  // One scheduling round: every unbound pod goes filter -> bind, in the given order.
  void Round(std::mt19937* rng = nullptr) {
    std::vector<std::string> order;
    for (const auto& [uid, pod] : pods_) {
      if (pod.node_name.empty()) order.push_back(uid);
    }
    if (rng) std::ranges::shuffle(order, *rng);
    for (const auto& uid : order) {
      if (!pods_.contains(uid) || !pods_.at(uid).node_name.empty()) continue;
      if (auto node = FilterOne(uid)) BindOne(uid, *node);
    }
  }

  // Drains the engine's actions: evictions delete the pods (the API server's part).
  void Apply() {
    auto actions = engine_.TakeActions();
    for (const auto& e : actions.evictions) {
      evictions_.push_back(e);
      for (const auto& uid : e.pod_uids) {
        if (pods_.contains(uid)) DeletePod(uid);
      }
    }
    for (const auto& s : actions.statuses) statuses_.push_back(s);
  }

  void PostBindings(const std::vector<Binding>& bindings) {
    for (const auto& b : bindings) {
      auto it = pods_.find(b.pod_uid);
      if (it == pods_.end() || !it->second.node_name.empty()) continue;
      it->second.node_name = b.node;
      it->second.phase = "Running";
      for (const auto& [k, v] : b.annotations) it->second.annotations[k] = v;
      ever_bound_.insert(b.pod_uid);
      engine_.UpsertPod(it->second, now_);
    }
  }

  Engine& engine() { return engine_; }
  Seconds now() const { return now_; }
  const std::map<std::string, Pod>& pods() const { return pods_; }
  const std::map<std::string, Node>& nodes() const { return nodes_; }
  const std::vector<EvictAction>& evictions() const { return evictions_; }
  const std::vector<StatusAction>& statuses() const { return statuses_; }
  const std::vector<std::vector<Binding>>& bind_batches() const { return bind_batches_; }
  const std::set<std::string>& ever_bound() const { return ever_bound_; }
  const std::set<std::string>& finished() const { return finished_; }
  const std::string& last_reason() const { return last_reason_; }

  // Live bound pods per node: whole GPUs from the device annotation must be distinct and within the
  // node's GPUs. Returns a description of the first double booking, or empty.
  std::string CheckDevices() const {
    std::map<std::string, std::multiset<int>> used;
    for (const auto& [uid, pod] : pods_) {
      if (pod.node_name.empty()) continue;
      auto a = pod.annotations.find(std::string(kDevicesAnnotation));
      if (a == pod.annotations.end()) continue;
      auto d = DecodeDevices(a->second);
      if (!d) return "undecodable device annotation on " + uid;
      for (int g : d->gpus) used[pod.node_name].insert(g);
    }
    for (const auto& [node, gpus] : used) {
      for (int g : gpus) {
        if (gpus.count(g) > 1) return "GPU " + std::to_string(g) + " on " + node + " is double-booked";
      }
      auto n = nodes_.find(node);
      if (n != nodes_.end() && static_cast<std::int64_t>(gpus.size()) > n->second.allocatable.Get("nvidia.com/gpu")) {
        return "node " + node + " has more GPUs bound than it offers";
      }
    }
    return {};
  }

 private:
  Engine& engine_;
  Seconds now_ = 0;
  std::map<std::string, Node> nodes_;
  std::map<std::string, Pod> pods_;
  std::vector<EvictAction> evictions_;
  std::vector<StatusAction> statuses_;
  std::vector<std::vector<Binding>> bind_batches_;
  std::set<std::string> ever_bound_;
  std::set<std::string> finished_;
  std::string last_reason_;
};

}  // namespace platoon::engine::testing
