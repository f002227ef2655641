// Prediction of the kubelet Topology Manager: hint generation, hint merge and admission per policy.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "topology/devices.h"
#include "topology/hardware.h"

namespace platoon::topology::kubelet {

// Bit i set = NUMA node with id i.
using NumaMask = std::uint64_t;

NumaMask MaskOf(std::initializer_list<int> numa_ids);

// A NUMA affinity with a preference, as the kubelet's TopologyHint (nullopt affinity = "any").
struct TopologyHint {
  std::optional<NumaMask> affinity;
  bool preferred = false;
  friend bool operator==(const TopologyHint&, const TopologyHint&) = default;
};

// One resource's hints from a provider. `hints` nullopt: no preference (Go nil); empty: the resource
// cannot be satisfied on any NUMA combination.
struct ResourceHints {
  std::string resource;
  std::optional<std::vector<TopologyHint>> hints;
};
// A hint provider's answer (CPU manager, device manager, ...). Empty: no preference at all.
using ProviderHints = std::vector<ResourceHints>;

enum class Policy { None, BestEffort, Restricted, SingleNumaNode };
enum class Scope { Container, Pod };

std::optional<Policy> ParsePolicy(std::string_view name);  // "none", "best-effort", ...
std::optional<Scope> ParseScope(std::string_view name);    // "container", "pod"

// Narrower: fewer NUMA nodes, or as many with the lower mask value.
bool IsNarrower(NumaMask a, NumaMask b);

// The largest, over providers' resources, of the narrowest hint each offers (the kubelet's
// bestNonPreferredAffinityCount).
int MaxOfMinAffinityCounts(const std::vector<std::vector<TopologyHint>>& hints);

// The kubelet's hint comparison during a merge: returns `current` or `candidate` (never a copy).
const TopologyHint* CompareHints(int best_non_preferred_affinity_count, const TopologyHint* current,
                                 const TopologyHint* candidate);

// Merges providers' hints as the policy does for one container (or a pod, in pod scope).
// `numa_nodes` are the machine's NUMA node ids.
TopologyHint Merge(Policy policy, const std::vector<int>& numa_nodes, const std::vector<ProviderHints>& providers);

struct AdmitResult {
  bool admit = true;
  std::string reason;  // "TopologyAffinityError: ..." when refused
  TopologyHint hint;
  friend bool operator==(const AdmitResult&, const AdmitResult&) = default;
};

// Whether the policy admits a merged hint: none and best-effort always; restricted and single-numa-node
// only a preferred hint.
bool CanAdmit(Policy policy, const TopologyHint& hint);

// Free and total resources of one NUMA node, as the kubelet's managers see them.
struct NumaResources {
  int id = 0;
  int cpus_total = 0;
  int cpus_free = 0;
  std::map<std::string, int, std::less<>> devices_total;  // device plugin resources ("nvidia.com/gpu")
  std::map<std::string, int, std::less<>> devices_free;
};

// The NUMA view of a node from platoon's model: CPUs per NUMA node (all free; the caller subtracts
// what exclusive pods hold) and whole GPUs free per NUMA node.
std::vector<NumaResources> NumaResourcesOf(const NodeHardware& hw, const NodeDeviceState& state);

struct KubeletConfig {
  Policy policy = Policy::None;
  Scope scope = Scope::Container;
  bool cpu_manager_static = false;  // --cpu-manager-policy=static
};

struct ContainerRequest {
  std::string name;
  std::int64_t cpu_milli = 0;
  std::map<std::string, int, std::less<>> devices;
};

struct PodRequest {
  bool guaranteed = false;  // Guaranteed QoS class (requests == limits for every container)
  std::vector<ContainerRequest> init_containers;
  std::vector<ContainerRequest> containers;
};

// CPU manager (static policy) hints for an exclusive CPU request; no preference when the request is
// not eligible (not Guaranteed or not whole CPUs).
ProviderHints CpuHints(const KubeletConfig& config, bool guaranteed, std::int64_t cpu_milli,
                       const std::vector<NumaResources>& numa);
// Device manager hints for device plugin resources.
ProviderHints DeviceHints(const std::map<std::string, int, std::less<>>& devices,
                          const std::vector<NumaResources>& numa);

// Predicts the kubelet's admission of a pod: per container (container scope, in init then app order,
// each app container's grant taken from the free resources before the next) or once for the pod.
AdmitResult PredictAdmission(const KubeletConfig& config, std::vector<NumaResources> numa, const PodRequest& pod);

}  // namespace platoon::topology::kubelet
