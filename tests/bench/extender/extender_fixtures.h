// Extender benchmark fixtures: a GPU cluster for the node cache and the request bodies
// kube-scheduler sends (node names, or full Node objects without nodeCacheCapable).
#pragma once

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "scheduler/cluster_state.h"

namespace platoon::bench {

using nlohmann::json;

inline std::string NodeName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "gpu-node-%05d", i);
  return buf;
}

// A GPU cluster of `nodes` nodes with a third of the GPUs in use.
inline std::unique_ptr<ClusterState> MakeCluster(int nodes) {
  auto state = std::make_unique<ClusterState>(std::move(*policies::MakeScorePolicy("MostAllocated")));
  for (int i = 0; i < nodes; ++i) {
    Node n;
    n.name = NodeName(i);
    n.labels = {{"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"}, {"topology.kubernetes.io/zone", "zone-" + std::to_string(i % 3)}};
    n.allocatable = {{"cpu", 192000}, {"memory", 2000LL << 30}, {"nvidia.com/gpu", 8}, {"pods", 110}};
    state->UpsertNode(n);
    if (i % 3 == 0) {
      Pod p;
      p.name = "running-" + std::to_string(i);
      p.uid = p.name;
      p.node_name = n.name;
      p.requests = {{"cpu", 32000}, {"memory", 200LL << 30}, {"nvidia.com/gpu", 4}, {"pods", 1}};
      state->UpsertPod(p);
    }
  }
  return state;
}

inline json PodJson() {
  return {{"metadata", {{"name", "trainer-0"}, {"namespace", "ml"}, {"uid", "5f1e7c1a-0000-4000-8000-000000000001"},
                        {"labels", {{"app", "trainer"}, {"kueue.x-k8s.io/queue-name", "team-a"}}}}},
          {"spec", {{"schedulerName", "platoon"},
                    {"containers", {{{"name", "trainer"}, {"image", "nvcr.io/nvidia/pytorch:24.05-py3"},
                                     {"resources", {{"requests", {{"cpu", "16"}, {"memory", "128Gi"}, {"nvidia.com/gpu", "2"}}},
                                                    {"limits", {{"nvidia.com/gpu", "2"}}}}}}}},
                    {"tolerations", {{{"key", "nvidia.com/gpu"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}}}}},
          {"status", {{"phase", "Pending"}}}};
}

inline std::string NamesRequest(int n) {
  json names = json::array();
  for (int i = 0; i < n; ++i) names.push_back(NodeName(i));
  return json{{"Pod", PodJson()}, {"NodeNames", names}}.dump();
}

// Full Node objects as kube-scheduler sends them without nodeCacheCapable: upstream's fixture with
// a realistic image list (images dominate real Node objects).
inline std::string NodesRequest(int n) {
  std::ifstream in(std::string(PLATOON_SHARED_DATA_DIR) + "/k8s-wire/HEAD.core.v1.Node.json");
  std::stringstream s;
  s << in.rdbuf();
  json base = json::parse(s.str());
  base.erase("kind");
  base.erase("apiVersion");
  base["status"]["allocatable"] = {{"cpu", "192"}, {"memory", "2000Gi"}, {"nvidia.com/gpu", "8"}, {"pods", "110"}};
  json images = json::array();
  for (int k = 0; k < 12; ++k)
    images.push_back({{"names", {"registry.example.com/ml/image-" + std::to_string(k) + "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                 "registry.example.com/ml/image-" + std::to_string(k) + ":v1." + std::to_string(k)}},
                      {"sizeBytes", 1234567890 + k}});
  base["status"]["images"] = images;
  json items = json::array();
  for (int i = 0; i < n; ++i) {
    json node = base;
    node["metadata"]["name"] = NodeName(i);
    items.push_back(std::move(node));
  }
  return json{{"Pod", PodJson()}, {"Nodes", {{"metadata", json::object()}, {"items", items}}}}.dump();
}

}  // namespace platoon::bench
