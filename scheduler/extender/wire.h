// kube-scheduler extender/v1 wire format: request decoding and response encoding, byte-compatible
// with Go's encoding/json (case-insensitive keys in, PascalCase keys out, integers only).
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "config/json_write.h"
#include "scheduler/cluster_state.h"
#include "scheduler/model.h"

namespace platoon::extender {

// Why a request was refused; maps to an HTTP 4xx and the errors metric.
enum class WireErrorKind { MalformedJson, WrongType, MissingField, InvalidValue };

struct WireError {
  WireErrorKind kind = WireErrorKind::MalformedJson;
  std::string message;
};
std::string_view WireErrorKindName(WireErrorKind kind);

// ExtenderArgs. Exactly one of the node forms is used: `nodes_mode` (nodeCacheCapable: false, full
// Node objects whose raw JSON is kept to echo back) or names (nodeCacheCapable: true).
struct FilterArgs {
  Pod pod;
  bool nodes_mode = false;
  std::vector<std::string_view> node_names;  // names in request order (both modes)
  std::vector<std::string> node_json;        // nodes_mode: each item re-serialised, same order
};

struct PreemptArgs {
  Pod pod;
  std::map<std::string, NodeVictims> victims;  // from NodeNameToMetaVictims, else NodeNameToVictims
};

// Decodes requests. One decoder per thread: the string_views it returns point into its buffers and
// stay valid until its next call.
class WireDecoder {
 public:
  std::expected<FilterArgs, WireError> DecodeFilterArgs(std::string_view body);
  std::expected<BindRequest, WireError> DecodeBindingArgs(std::string_view body);
  std::expected<PreemptArgs, WireError> DecodePreemptionArgs(std::string_view body);
  // Gives back buffers grown past 1 MiB by a big body. Invalidates what the last call returned.
  void Trim();

 private:
  std::expected<simdjson::dom::element, WireError> Parse(std::string_view body);
  simdjson::dom::parser parser_;
  simdjson::padded_string buffer_;
};

// Responses, exactly as Go's json.Marshal writes the extender/v1 types. Messages have '%' replaced
// (kube-scheduler passes Error through a format string).
struct FilterResult {
  std::vector<std::string_view> passed;  // node names, in request order
  std::vector<std::pair<std::string_view, std::string>> failed;
  std::vector<std::pair<std::string_view, std::string>> unresolvable;
  std::string error;
};
// names mode: NodeNames set, Nodes null. nodes mode: Nodes = NodeList of the passed nodes' JSON.
std::string EncodeFilterResult(const FilterResult& result, const FilterArgs& args);
std::string EncodeHostPriorityList(const std::vector<std::string_view>& hosts, const std::vector<std::int64_t>& scores);
std::string EncodeBindingResult(std::string_view error);
std::string EncodePreemptionResult(const std::map<std::string, NodeVictims>& victims);
// The body of every 4xx: {"Error":"..."}, which kube-scheduler also understands.
std::string EncodeError(std::string_view message);

using config::AppendJsonString;
// '%' would be read as a format verb by kube-scheduler.
std::string SanitizeMessage(std::string_view message);

}  // namespace platoon::extender
