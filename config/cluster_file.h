// Cluster files: the node cache for standalone serve, and cluster snapshots for check and simulate.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "config/k8s_json.h"
#include "scheduler/model.h"

namespace platoon::config {

struct ClusterSnapshot {
  std::vector<Node> nodes;
  std::vector<Pod> pods;  // with spec.nodeName: running on that node; without: pending
  std::vector<PodGroup> pod_groups;
  std::vector<NodeResourceTopology> node_topologies;  // NUMA zones per node
};

// Reads YAML (one or many documents) or JSON. Accepted documents: Node, Pod, PodGroup,
// NodeResourceTopology, a List / NodeList / PodList (what `kubectl get nodes,pods -o json` prints), and platoon's own
// `kind: Cluster` with `nodes`, `nodeSets` (N copies of a Node template named PREFIX-001..),
// `pods`, `podGroups` and `nodeResourceTopologies`. Errors are "FILE:LINE: field: what is wrong".
std::expected<ClusterSnapshot, std::string> LoadClusterFile(const std::string& path);
std::expected<ClusterSnapshot, std::string> ParseClusterFile(std::string_view text, std::string_view file);

}  // namespace platoon::config
