// Decodes Kubernetes API objects (Pod, Node, PodGroup) from JSON into the engine's views.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "scheduler/model.h"
#include "topology/hardware.h"

namespace platoon::config {

// A decode error: the field path inside the object ("spec.containers[0].resources.requests.cpu")
// and what is wrong with it.
struct DecodeError {
  std::string path;
  std::string message;
  std::string ToString() const { return path.empty() ? message : path + ": " + message; }
};

// Keys are matched case-insensitively, as Go's encoding/json does; unknown keys are ignored; null
// stands for an empty object, array or string; kind/apiVersion are optional. `path` prefixes the
// paths in errors.
std::expected<Pod, DecodeError> DecodePod(simdjson::dom::element json, std::string_view path = "");
std::expected<Node, DecodeError> DecodeNode(simdjson::dom::element json, std::string_view path = "");
std::expected<PodGroup, DecodeError> DecodePodGroup(simdjson::dom::element json, std::string_view path = "");

// A NodeResourceTopology object (topology.node.k8s.io v1alpha1 and v1alpha2, as NFD's topology-updater
// and the RTE publish it): named after its node; each zone with its resources' capacity.
struct NodeResourceTopology {
  std::string name;
  std::vector<topology::NrtZone> zones;
};
std::expected<NodeResourceTopology, DecodeError> DecodeNodeResourceTopology(simdjson::dom::element json,
                                                                            std::string_view path = "");

// Value copies of an element's object or array view, safe to range-for over (iterating
// `e.get_object().value_unsafe()` directly would bind to a destroyed temporary).
inline simdjson::dom::object ObjectOf(simdjson::dom::element e) {
  simdjson::dom::object o;
  [[maybe_unused]] auto error = e.get(o);  // callers check is_object() first
  return o;
}
inline simdjson::dom::array ArrayOf(simdjson::dom::element e) {
  simdjson::dom::array a;
  [[maybe_unused]] auto error = e.get(a);  // callers check is_array() first
  return a;
}

// ASCII case-insensitive equality (Go's decoder falls back to it when no key matches exactly).
bool EqualFold(std::string_view a, std::string_view b);

// The "kind" of an object, or empty.
std::string KindOf(simdjson::dom::element json);

}  // namespace platoon::config
