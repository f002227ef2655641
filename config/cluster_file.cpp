// Cluster file loading: documents -> Nodes, Pods and PodGroups, validated with file:line errors.
#include "config/cluster_file.h"

#include <cstdio>
#include <map>
#include <set>

#include "config/k8s_json.h"
#include "config/yaml_json.h"

namespace platoon::config {
namespace {

using simdjson::dom::element;

struct Context {
  std::string_view file;
  const JsonDocument* doc = nullptr;  // null for raw JSON input (no line map)

  std::string At(std::string_view path, std::string_view message) const {
    std::string out(file);
    if (doc) out += ":" + std::to_string(doc->LineOf(path));
    out += ": ";
    if (!path.empty()) out += std::string(path) + ": ";
    out += message;
    return out;
  }
  std::string At(const DecodeError& e) const { return At(e.path, e.message); }
};

std::expected<void, std::string> AddObject(element obj, const std::string& path, const Context& ctx,
                                           ClusterSnapshot& out, std::string_view default_kind);

std::expected<void, std::string> AddItems(element list, const std::string& path, const Context& ctx,
                                          ClusterSnapshot& out, std::string_view default_kind) {
  if (list.is_null()) return {};
  if (!list.is_array()) return std::unexpected(ctx.At(path, "expected a list"));
  std::size_t i = 0;
  for (element item : ArrayOf(list)) {
    auto r = AddObject(item, path + "[" + std::to_string(i++) + "]", ctx, out, default_kind);
    if (!r) return r;
  }
  return {};
}

std::expected<void, std::string> AddNodeSets(element sets, const std::string& path, const Context& ctx,
                                             ClusterSnapshot& out) {
  if (sets.is_null()) return {};
  if (!sets.is_array()) return std::unexpected(ctx.At(path, "expected a list of node sets"));
  std::size_t i = 0;
  for (element set : ArrayOf(sets)) {
    const std::string sp = path + "[" + std::to_string(i++) + "]";
    std::string prefix;
    std::int64_t count = -1, start = 1;
    element tmpl;
    bool have_template = false;
    if (!set.is_object()) return std::unexpected(ctx.At(sp, "expected a node set object"));
    for (auto field : ObjectOf(set)) {
      if (EqualFold(field.key, "namePrefix") && field.value.is_string()) prefix = std::string(field.value.get_string().value_unsafe());
      else if (EqualFold(field.key, "count") && field.value.is_int64()) count = field.value.get_int64().value_unsafe();
      else if (EqualFold(field.key, "start") && field.value.is_int64()) start = field.value.get_int64().value_unsafe();
      else if (EqualFold(field.key, "template")) tmpl = field.value, have_template = true;
    }
    if (prefix.empty()) return std::unexpected(ctx.At(sp, "namePrefix is required (nodes are named PREFIX-001, PREFIX-002, ...)"));
    if (count < 1 || count > 100000) return std::unexpected(ctx.At(sp + ".count", "count must be between 1 and 100000"));
    if (!have_template) return std::unexpected(ctx.At(sp, "template (a Node) is required"));
    auto node = DecodeNode(tmpl, sp + ".template");
    if (!node) return std::unexpected(ctx.At(node.error()));
    for (std::int64_t k = 0; k < count; ++k) {
      Node copy = *node;
      char num[32];
      std::snprintf(num, sizeof num, "%03lld", static_cast<long long>(start + k));
      copy.name = prefix + "-" + num;
      out.nodes.push_back(std::move(copy));
    }
  }
  return {};
}

constexpr std::string_view kKinds = "Node, Pod, PodGroup, NodeResourceTopology, List or Cluster";

std::expected<void, std::string> AddObject(element obj, const std::string& path, const Context& ctx,
                                           ClusterSnapshot& out, std::string_view default_kind) {
  if (!obj.is_object()) return std::unexpected(ctx.At(path, "expected a Kubernetes object"));
  std::string kind = KindOf(obj);
  if (kind.empty()) kind = std::string(default_kind);
  if (kind == "Node") {
    auto node = DecodeNode(obj, path);
    if (!node) return std::unexpected(ctx.At(node.error()));
    out.nodes.push_back(std::move(*node));
  } else if (kind == "Pod") {
    auto pod = DecodePod(obj, path);
    if (!pod) return std::unexpected(ctx.At(pod.error()));
    out.pods.push_back(std::move(*pod));
  } else if (kind == "PodGroup") {
    auto group = DecodePodGroup(obj, path);
    if (!group) return std::unexpected(ctx.At(group.error()));
    out.pod_groups.push_back(std::move(*group));
  } else if (kind == "NodeResourceTopology") {
    auto nrt = DecodeNodeResourceTopology(obj, path);
    if (!nrt) return std::unexpected(ctx.At(nrt.error()));
    out.node_topologies.push_back(std::move(*nrt));
  } else if (kind == "List" || kind.ends_with("List")) {
    const std::string_view item_kind = kind == "List" ? std::string_view() : std::string_view(kind).substr(0, kind.size() - 4);
    if (!item_kind.empty() && item_kind != "Node" && item_kind != "Pod" && item_kind != "PodGroup" &&
        item_kind != "NodeResourceTopology")
      return std::unexpected(ctx.At(path, "unsupported kind \"" + kind + "\": expected " + std::string(kKinds)));
    for (auto field : ObjectOf(obj))
      if (EqualFold(field.key, "items")) {
        auto r = AddItems(field.value, path.empty() ? "items" : path + ".items", ctx, out, item_kind);
        if (!r) return r;
      }
  } else if (kind == "Cluster") {
    auto join = [&](std::string_view k) { return path.empty() ? std::string(k) : path + "." + std::string(k); };
    for (auto field : ObjectOf(obj)) {
      std::expected<void, std::string> r;
      if (EqualFold(field.key, "nodes")) r = AddItems(field.value, join(field.key), ctx, out, "Node");
      else if (EqualFold(field.key, "pods")) r = AddItems(field.value, join(field.key), ctx, out, "Pod");
      else if (EqualFold(field.key, "podGroups")) r = AddItems(field.value, join(field.key), ctx, out, "PodGroup");
      else if (EqualFold(field.key, "nodeResourceTopologies"))
        r = AddItems(field.value, join(field.key), ctx, out, "NodeResourceTopology");
      else if (EqualFold(field.key, "nodeSets")) r = AddNodeSets(field.value, join(field.key), ctx, out);
      if (!r) return r;
    }
  } else if (kind.empty()) {
    return std::unexpected(ctx.At(path, "object has no kind: expected " + std::string(kKinds)));
  } else {
    return std::unexpected(ctx.At(path, "unsupported kind \"" + kind + "\": expected " + std::string(kKinds)));
  }
  return {};
}

std::expected<void, std::string> Validate(ClusterSnapshot& snap, std::string_view file) {
  std::map<std::string, const Node*, std::less<>> names;
  for (const auto& node : snap.nodes) {
    if (node.name.empty()) return std::unexpected(std::string(file) + ": a node has no metadata.name");
    if (!names.emplace(node.name, &node).second)
      return std::unexpected(std::string(file) + ": node " + node.name + " is defined twice");
  }
  std::set<std::string> uids;
  for (auto& pod : snap.pods) {
    if (pod.name.empty()) return std::unexpected(std::string(file) + ": a pod has no metadata.name");
    if (pod.uid.empty()) pod.uid = pod.namespace_ + "/" + pod.name;  // hand-written files
    if (!uids.insert(pod.uid).second)
      return std::unexpected(std::string(file) + ": pod " + pod.Key() + " (uid " + pod.uid + ") is defined twice");
    if (!pod.node_name.empty() && !names.contains(pod.node_name))
      return std::unexpected(std::string(file) + ": pod " + pod.Key() + " runs on node " + pod.node_name +
                             ", which the file does not define");
  }
  for (const auto& group : snap.pod_groups)
    if (group.name.empty()) return std::unexpected(std::string(file) + ": a PodGroup has no metadata.name");
  std::set<std::string, std::less<>> zoned;
  for (const auto& nrt : snap.node_topologies) {
    auto named = names.find(nrt.name);
    if (named == names.end())
      return std::unexpected(std::string(file) + ": NodeResourceTopology " + nrt.name + " names a node the file does not define");
    if (!zoned.insert(nrt.name).second)
      return std::unexpected(std::string(file) + ": node " + nrt.name + " has two NodeResourceTopology objects");
    const Node& node = *named->second;
    auto hw = topology::HardwareFromLabels(node.name, node.labels, node.allocatable, {});
    if (!hw.usable()) continue;  // the labels' own problem, reported where the node is used
    topology::ApplyNodeResourceTopology(hw, nrt.zones);
    if (!hw.usable()) return std::unexpected(std::string(file) + ": node " + nrt.name + ": " + hw.unusable_reason);
  }
  return {};
}

}  // namespace

std::expected<ClusterSnapshot, std::string> ParseClusterFile(std::string_view text, std::string_view file) {
  ClusterSnapshot snap;
  simdjson::dom::parser parser;
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    // JSON (kubectl -o json): parsed directly; errors carry the field path but no line.
    simdjson::padded_string padded(text);
    auto parsed = parser.parse(padded);
    if (parsed.error())
      return std::unexpected(std::string(file) + ": invalid JSON: " + simdjson::error_message(parsed.error()));
    Context ctx{file, nullptr};
    auto r = parsed.value_unsafe().is_array() ? AddItems(parsed.value_unsafe(), "", ctx, snap, "")
                                              : AddObject(parsed.value_unsafe(), "", ctx, snap, "");
    if (!r) return std::unexpected(r.error());
  } else {
    auto docs = YamlToJson(text, file);
    if (!docs) return std::unexpected(docs.error());
    for (const auto& doc : *docs) {
      simdjson::padded_string padded(doc.json);
      auto parsed = parser.parse(padded);
      if (parsed.error())
        return std::unexpected(std::string(file) + ":" + std::to_string(doc.line) + ": cannot read document");
      Context ctx{file, &doc};
      auto r = AddObject(parsed.value_unsafe(), "", ctx, snap, "");
      if (!r) return std::unexpected(r.error());
    }
  }
  auto valid = Validate(snap, file);
  if (!valid) return std::unexpected(valid.error());
  return snap;
}

std::expected<ClusterSnapshot, std::string> LoadClusterFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return std::unexpected(text.error());
  return ParseClusterFile(*text, path);
}

}  // namespace platoon::config
