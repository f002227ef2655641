// Gang placement: every member of a pod group on the fabric at once, in the tightest domain that fits.
#pragma once

#include <expected>
#include <functional>
#include <map>
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
  // Optional placement policy for a gang that fits on one node: among the nodes that can hold every
  // member, the lowest cost wins (ties: the tightest, then the lowest id). Empty: the tightest node.
  std::function<double(NodeId)> node_cost;
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

// Device use of nodes already promised to earlier pod sets of the same group, read in place of the
// topology's own state. Empty: the topology's state as is.
using StateOverlay = std::map<NodeId, NodeDeviceState>;

// Chooses a placement for the whole gang. Tries the node level, then each fabric level from the
// bottom up (never above `required_level`); at each level picks the domain whose capacity for this
// gang is the smallest that still holds every member (tightest fit), and inside it fills sub-domains
// largest-first so the members stay close. Pure: reads the topology, changes nothing.
std::expected<GangPlan, GangFailure> PlaceGang(const Topology& topo, const GangRequest& req,
                                               const StateOverlay& overlay = {});

// A gang of several pod sets (a launcher and its workers, or differently sized members).
struct PodSetRequest {
  std::string name;
  int count = 0;
  DeviceRequest member;
};

struct GroupRequest {
  std::vector<PodSetRequest> pod_sets;
  std::string required_level;
  std::string preferred_level;
  std::function<bool(NodeId)> node_filter;
};

// A group plan: one GangPlan per pod set (in request order), all inside `domain`.
struct GroupPlan {
  std::vector<GangPlan> pod_sets;
  DomainId domain = kRootDomain;
  int level = kRootLevel;
  double ring_bottleneck_gbps = 0.0;  // over every member of every pod set, in order
};

// Places the pod set needing the most GPUs first (tightest domain, as PlaceGang), then the others
// inside that domain on the devices left; when they do not fit, widens the domain one level at a
// time (never above the required level) and tries again. Pure.
std::expected<GroupPlan, GangFailure> PlaceGroup(const Topology& topo, const GroupRequest& req);
std::expected<void, std::string> ReserveGroup(Topology& topo, const GroupPlan& plan);

// The ring bottleneck of a member order: the weakest link between consecutive members (wrapping),
// using the members' GPUs within a node and the fabric between nodes.
double RingBottleneck(const Topology& topo, const std::vector<MemberPlacement>& members);

// Reserves every member of a plan, or none (rolls back on the first failure).
std::expected<void, std::string> ReservePlan(Topology& topo, const GangPlan& plan);
std::expected<void, std::string> ReleasePlan(Topology& topo, const GangPlan& plan);

}  // namespace platoon::topology
