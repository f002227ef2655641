// The engine's views of Kubernetes objects: only the fields scheduling decisions need, as plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "quota/resources.h"

namespace platoon {

using Labels = std::map<std::string, std::string, std::less<>>;

// Unknown: a value this version does not know (the API may grow); matched conservatively.
enum class TaintEffect { NoSchedule, PreferNoSchedule, NoExecute, Unknown };

struct Taint {
  std::string key;
  std::string value;
  TaintEffect effect = TaintEffect::NoSchedule;
  friend bool operator==(const Taint&, const Taint&) = default;
};

struct Toleration {
  enum class Operator { Equal, Exists, Unknown };  // Unknown tolerates nothing
  std::string key;  // empty with Exists: tolerates every taint
  Operator op = Operator::Equal;
  std::string value;
  std::optional<TaintEffect> effect;  // empty: every effect
  friend bool operator==(const Toleration&, const Toleration&) = default;
};

// One requirement of a node selector term (requiredDuringScheduling node affinity).
struct NodeSelectorRequirement {
  enum class Operator { In, NotIn, Exists, DoesNotExist, Gt, Lt, Unknown };  // Unknown matches no node
  std::string key;
  Operator op = Operator::In;
  std::vector<std::string> values;
  friend bool operator==(const NodeSelectorRequirement&, const NodeSelectorRequirement&) = default;
};

// Terms are ORed; the requirements inside a term are ANDed (Kubernetes NodeSelector semantics).
using NodeSelectorTerm = std::vector<NodeSelectorRequirement>;

struct Pod {
  std::string name;
  std::string namespace_ = "default";
  std::string uid;
  std::string scheduler_name;
  std::string node_name;  // empty: not bound
  std::string phase;      // Pending, Running, Succeeded, Failed, Unknown
  std::string creation_timestamp;  // RFC 3339 as the API server writes it
  bool terminating = false;        // deletionTimestamp set
  Labels labels;
  Labels annotations;
  // Effective request as kube-scheduler computes it: max(sum of containers (with sidecars),
  // largest init container) + overhead, or the pod-level request where set; always pods=1.
  ResourceList requests;
  Labels node_selector;
  std::vector<NodeSelectorTerm> required_node_affinity;
  std::vector<Toleration> tolerations;
  std::int32_t priority = 0;
  std::string priority_class_name;

  std::string Key() const { return namespace_ + "/" + name; }
  // A pod that no longer holds resources on its node.
  bool Finished() const { return phase == "Succeeded" || phase == "Failed"; }
  friend bool operator==(const Pod&, const Pod&) = default;
};

struct Node {
  std::string name;
  std::string uid;
  Labels labels;
  Labels annotations;
  std::vector<Taint> taints;
  ResourceList capacity;
  ResourceList allocatable;
  bool unschedulable = false;
  bool ready = true;
  friend bool operator==(const Node&, const Node&) = default;
};

// scheduler-plugins PodGroup (scheduling.x-k8s.io/v1alpha1).
struct PodGroup {
  std::string name;
  std::string namespace_ = "default";
  std::int32_t min_member = 1;
  ResourceList min_resources;
  std::optional<std::int32_t> schedule_timeout_seconds;
  std::string creation_timestamp;
  std::string Key() const { return namespace_ + "/" + name; }
  friend bool operator==(const PodGroup&, const PodGroup&) = default;
};

}  // namespace platoon
