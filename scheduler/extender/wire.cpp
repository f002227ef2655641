// extender/v1 request decoding (simdjson DOM, Go-style leniency) and response encoding.
#include "scheduler/extender/wire.h"

#include <algorithm>
#include <cstring>

#include <charconv>

#include "config/k8s_json.h"

namespace platoon::extender {
namespace {

using config::ArrayOf;
using config::EqualFold;
using config::ObjectOf;
using simdjson::dom::element;

WireError Wrong(std::string message) { return {WireErrorKind::WrongType, std::move(message)}; }

// The value of the last key equal to `name` ignoring case: Go's encoding/json matches keys to a
// struct field case-insensitively and assigns each in turn, so of duplicate keys the last wins.
bool Field(element obj, std::string_view name, element& out) {
  if (!obj.is_object()) return false;
  bool found = false;
  for (auto field : ObjectOf(obj)) {
    if (field.key == name || EqualFold(field.key, name)) {
      out = field.value;
      found = true;
    }
  }
  return found;
}

std::expected<std::string_view, WireError> StringField(element obj, std::string_view name) {
  element v;
  if (!Field(obj, name, v) || v.is_null()) return std::string_view{};
  if (!v.is_string()) return std::unexpected(Wrong(std::string(name) + " must be a string"));
  return v.get_string().value_unsafe();
}

std::expected<Pod, WireError> PodField(element root) {
  element pod_json;
  if (!Field(root, "Pod", pod_json) || pod_json.is_null())
    return std::unexpected(WireError{WireErrorKind::MissingField, "Pod is required"});
  auto pod = config::DecodePod(pod_json, "Pod");
  if (!pod) return std::unexpected(WireError{WireErrorKind::InvalidValue, pod.error().ToString()});
  return std::move(*pod);
}

std::expected<std::vector<std::string>, WireError> VictimUids(element pods, std::string_view path, bool meta) {
  std::vector<std::string> uids;
  if (pods.is_null()) return uids;
  if (!pods.is_array()) return std::unexpected(Wrong(std::string(path) + " must be an array"));
  for (element p : ArrayOf(pods)) {
    if (p.is_null()) continue;
    if (!p.is_object()) return std::unexpected(Wrong(std::string(path) + " items must be objects"));
    element uid;
    if (meta) {
      if (!Field(p, "UID", uid)) continue;
    } else {
      element metadata;
      if (!Field(p, "metadata", metadata) || !Field(metadata, "uid", uid)) continue;
    }
    if (uid.is_null()) continue;
    if (!uid.is_string()) return std::unexpected(Wrong(std::string(path) + " UID must be a string"));
    uids.emplace_back(uid.get_string().value_unsafe());
  }
  return uids;
}

std::expected<std::map<std::string, NodeVictims>, WireError> VictimMap(element map, std::string_view path, bool meta) {
  std::map<std::string, NodeVictims> out;
  if (map.is_null()) return out;
  if (!map.is_object()) return std::unexpected(Wrong(std::string(path) + " must be an object"));
  for (auto node : ObjectOf(map)) {
    NodeVictims victims;
    const std::string p = std::string(path) + "." + std::string(node.key);
    if (!node.value.is_null()) {
      if (!node.value.is_object()) return std::unexpected(Wrong(p + " must be an object"));
      element pods, pdb;
      if (Field(node.value, "Pods", pods)) {
        auto uids = VictimUids(pods, p + ".Pods", meta);
        if (!uids) return std::unexpected(uids.error());
        victims.pod_uids = std::move(*uids);
      }
      if (Field(node.value, "NumPDBViolations", pdb) && !pdb.is_null()) {
        if (!pdb.is_int64()) return std::unexpected(Wrong(p + ".NumPDBViolations must be an integer"));
        victims.num_pdb_violations = pdb.get_int64().value_unsafe();
      }
    }
    out.insert_or_assign(std::string(node.key), std::move(victims));
  }
  return out;
}

void AppendFailedMap(std::string& out, const std::vector<std::pair<std::string_view, std::string>>& entries) {
  out += '{';
  bool first = true;
  for (const auto& [name, reason] : entries) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, name);
    out += ':';
    AppendJsonString(out, SanitizeMessage(reason));
  }
  out += '}';
}

}  // namespace

std::string_view WireErrorKindName(WireErrorKind kind) {
  switch (kind) {
    case WireErrorKind::MalformedJson: return "malformed_json";
    case WireErrorKind::WrongType: return "wrong_type";
    case WireErrorKind::MissingField: return "missing_field";
    case WireErrorKind::InvalidValue: return "invalid_value";
  }
  return "unknown";
}

void WireDecoder::Trim() {
  constexpr std::size_t kKeep = 1u << 20;
  if (buffer_.size() <= kKeep && parser_.capacity() <= kKeep) return;
  buffer_ = simdjson::padded_string();
  parser_ = simdjson::dom::parser();
}

std::expected<element, WireError> WireDecoder::Parse(std::string_view body) {
  // One padded buffer per decoder, grown as needed: a fresh one per request was a malloc and page
  // faults for every 80 KB filter body. The parser reads up to SIMDJSON_PADDING bytes past the end.
  if (buffer_.data() == nullptr || buffer_.size() < body.size())
    buffer_ = simdjson::padded_string(std::max({body.size(), 2 * buffer_.size(), std::size_t{4096}}));
  std::memcpy(buffer_.data(), body.data(), body.size());
  std::memset(buffer_.data() + body.size(), 0, simdjson::SIMDJSON_PADDING);
  auto parsed = parser_.parse(buffer_.data(), body.size(), false);
  if (parsed.error())
    return std::unexpected(WireError{WireErrorKind::MalformedJson,
                                     std::string("request body is not valid JSON: ") + simdjson::error_message(parsed.error())});
  element root = parsed.value_unsafe();
  if (!root.is_object()) return std::unexpected(Wrong("request body must be a JSON object"));
  return root;
}

std::expected<FilterArgs, WireError> WireDecoder::DecodeFilterArgs(std::string_view body) {
  auto root = Parse(body);
  if (!root) return std::unexpected(root.error());
  FilterArgs args;
  auto pod = PodField(*root);
  if (!pod) return std::unexpected(pod.error());
  args.pod = std::move(*pod);
  element names, nodes;
  const bool have_names = Field(*root, "NodeNames", names) && !names.is_null();
  const bool have_nodes = Field(*root, "Nodes", nodes) && !nodes.is_null();
  if (have_names) {
    if (!names.is_array()) return std::unexpected(Wrong("NodeNames must be an array of strings"));
    args.node_names.reserve(ArrayOf(names).size());
    for (element n : ArrayOf(names)) {
      if (!n.is_string()) return std::unexpected(Wrong("NodeNames must be an array of strings"));
      args.node_names.push_back(n.get_string().value_unsafe());
    }
  } else if (have_nodes) {
    // nodeCacheCapable: false. Echo back exactly the node objects that pass.
    args.nodes_mode = true;
    if (!nodes.is_object()) return std::unexpected(Wrong("Nodes must be a NodeList object"));
    element items;
    if (Field(nodes, "items", items) && !items.is_null()) {
      if (!items.is_array()) return std::unexpected(Wrong("Nodes.items must be an array"));
      std::size_t i = 0;
      for (element item : ArrayOf(items)) {
        element metadata, name;
        if (!Field(item, "metadata", metadata) || !Field(metadata, "name", name) || !name.is_string())
          return std::unexpected(WireError{WireErrorKind::MissingField,
                                           "Nodes.items[" + std::to_string(i) + "].metadata.name is required"});
        args.node_names.push_back(name.get_string().value_unsafe());
        args.node_json.push_back(simdjson::minify(item));
        ++i;
      }
    }
  }
  return args;
}

std::expected<BindRequest, WireError> WireDecoder::DecodeBindingArgs(std::string_view body) {
  auto root = Parse(body);
  if (!root) return std::unexpected(root.error());
  BindRequest req;
  for (auto [key, target] : {std::pair{"PodName", &req.pod_name}, std::pair{"PodNamespace", &req.pod_namespace},
                             std::pair{"PodUID", &req.pod_uid}, std::pair{"Node", &req.node}}) {
    auto v = StringField(*root, key);
    if (!v) return std::unexpected(v.error());
    *target = std::string(*v);
  }
  if (req.pod_uid.empty()) return std::unexpected(WireError{WireErrorKind::MissingField, "PodUID is required"});
  if (req.node.empty()) return std::unexpected(WireError{WireErrorKind::MissingField, "Node is required"});
  return req;
}

std::expected<PreemptArgs, WireError> WireDecoder::DecodePreemptionArgs(std::string_view body) {
  auto root = Parse(body);
  if (!root) return std::unexpected(root.error());
  PreemptArgs args;
  auto pod = PodField(*root);
  if (!pod) return std::unexpected(pod.error());
  args.pod = std::move(*pod);
  element meta, full;
  if (Field(*root, "NodeNameToMetaVictims", meta) && !meta.is_null()) {
    auto v = VictimMap(meta, "NodeNameToMetaVictims", true);
    if (!v) return std::unexpected(v.error());
    args.victims = std::move(*v);
  } else if (Field(*root, "NodeNameToVictims", full) && !full.is_null()) {
    auto v = VictimMap(full, "NodeNameToVictims", false);
    if (!v) return std::unexpected(v.error());
    args.victims = std::move(*v);
  }
  return args;
}

std::string SanitizeMessage(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    if (c == '%') out += " percent";
    else out += c;
  }
  return out;
}

std::string EncodeFilterResult(const FilterResult& result, const FilterArgs& args) {
  std::string out;
  out.reserve(64 + result.passed.size() * 24 + (result.failed.size() + result.unresolvable.size()) * 96);
  out += "{\"Nodes\":";
  if (args.nodes_mode) {
    out += "{\"metadata\":{},\"items\":[";
    // Echo the objects of the passing nodes, in request order.
    std::size_t next = 0;
    bool first = true;
    for (std::size_t i = 0; i < args.node_names.size() && next < result.passed.size(); ++i) {
      if (args.node_names[i].data() != result.passed[next].data()) continue;
      if (!first) out += ',';
      first = false;
      out += args.node_json[i];
      ++next;
    }
    out += "]},\"NodeNames\":null";
  } else {
    out += "null,\"NodeNames\":[";
    bool first = true;
    for (std::string_view name : result.passed) {
      if (!first) out += ',';
      first = false;
      AppendJsonString(out, name);
    }
    out += ']';
  }
  out += ",\"FailedNodes\":";
  AppendFailedMap(out, result.failed);
  out += ",\"FailedAndUnresolvableNodes\":";
  AppendFailedMap(out, result.unresolvable);
  out += ",\"Error\":";
  AppendJsonString(out, SanitizeMessage(result.error));
  out += '}';
  return out;
}

std::string EncodeHostPriorityList(const std::vector<std::string_view>& hosts, const std::vector<std::int64_t>& scores) {
  std::string out;
  out.reserve(2 + hosts.size() * 40);
  out += '[';
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (i) out += ',';
    out.append(R"({"Host":)");
    AppendJsonString(out, hosts[i]);
    out.append(R"(,"Score":)");
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, scores[i]);
    out.append(digits, end);
    out += '}';
  }
  out += ']';
  return out;
}

std::string EncodeBindingResult(std::string_view error) {
  std::string out = "{\"Error\":";
  AppendJsonString(out, SanitizeMessage(error));
  out += '}';
  return out;
}

std::string EncodePreemptionResult(const std::map<std::string, NodeVictims>& victims) {
  std::string out = "{\"NodeNameToMetaVictims\":{";
  bool first = true;
  for (const auto& [node, v] : victims) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, node);
    out += ":{\"Pods\":[";
    for (std::size_t i = 0; i < v.pod_uids.size(); ++i) {
      if (i) out += ',';
      out += "{\"UID\":";
      AppendJsonString(out, v.pod_uids[i]);
      out += '}';
    }
    out += "],\"NumPDBViolations\":" + std::to_string(v.num_pdb_violations) + "}";
  }
  out += "}}";
  return out;
}

std::string EncodeError(std::string_view message) { return EncodeBindingResult(message); }

}  // namespace platoon::extender
