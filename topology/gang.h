// Gang placement: every member of a pod group on the fabric at once, in the tightest domain that fits.
#pragma once

#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "topology/devices.h"
#include "topology/topology.h"

namespace platoon::topology {

// Kueue Topology Aware Scheduling pod-set annotations; the value is a level's node label key.
inline constexpr std::string_view kRequiredTopologyAnnotation = "kueue.x-k8s.io/podset-required-topology";
inline constexpr std::string_view kPreferredTopologyAnnotation = "kueue.x-k8s.io/podset-preferred-topology";

// A gang of identical members (one pod set).
struct GangRequest {
  int members = 0;
  DeviceRequest member;
  std::string required_level;   // level name or node label key: all members inside one such domain
  std::string preferred_level;  // try inside one such domain first, spill above it when needed
  // Optional eligibility from the engine (taints, selectors, node affinity). Empty: every node.
  std::function<bool(NodeId)> node_filter;
};

// Reads the Kueue annotations into a request's level fields (absent annotations leave them empty).
void ApplyTopologyAnnotations(GangRequest& req, const Annotations& pod_set_annotations);

struct MemberPlacement {
  NodeId node = 0;
  DeviceAssignment devices;
  friend bool operator==(const MemberPlacement&, const MemberPlacement&) = default;
};

// A plan: member i goes to members[i]. Nothing is reserved until Topology::ReservePlan.
struct GangPlan {
  std::vector<MemberPlacement> members;
  DomainId domain = kRootDomain;  // the lowest domain holding every member
  int level = kRootLevel;         // its level (node_level() when the gang fits on one node)
  int nodes_used = 0;
  double ring_bottleneck_gbps = 0.0;  // weakest hop of the ring through the members, in order
  friend bool operator==(const GangPlan&, const GangPlan&) = default;
};

struct GangFailure {
  std::string reason;        // "no rack can hold 64 members ...; the largest, rack-3, holds 48 (...)"
  int largest_fit = 0;       // members the best domain of the limiting level could hold
  std::string largest_domain;
};

// Chooses a placement for the whole gang. Tries the node level, then each fabric level from the
// bottom up (never above `required_level`); at each level picks the domain whose capacity for this
// gang is the smallest that still holds every member (tightest fit), and inside it fills sub-domains
// largest-first so the members stay close. Pure: reads the topology, changes nothing.
std::expected<GangPlan, GangFailure> PlaceGang(const Topology& topo, const GangRequest& req);

// The ring bottleneck of a member order: the weakest link between consecutive members (wrapping),
// using the members' GPUs within a node and the fabric between nodes.
double RingBottleneck(const Topology& topo, const std::vector<MemberPlacement>& members);

// Reserves every member of a plan, or none (rolls back on the first failure).
std::expected<void, std::string> ReservePlan(Topology& topo, const GangPlan& plan);
std::expected<void, std::string> ReleasePlan(Topology& topo, const GangPlan& plan);

}  // namespace platoon::topology
