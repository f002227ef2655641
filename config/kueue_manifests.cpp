// Loading Kueue manifests with yaml-cpp and validating them as Kueue's webhooks and CRD schemas do.
#include "config/kueue_manifests.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "config/yaml_json.h"
#include "quota/quantity.h"
#include "quota/resources.h"

namespace platoon::config {

namespace {

using quota::QuotaConfig;

constexpr std::size_t kMaxResourceGroups = 16;
constexpr std::size_t kMaxCoveredResources = 16;
constexpr std::size_t kMaxFlavors = 16;

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (alnum(c) || c == '-') continue;
    if (c == '.' && i > 0 && alnum(s[i - 1]) && i + 1 < s.size() && alnum(s[i + 1])) continue;
    return false;
  }
  return true;
}

// A qualified name (resource names, label keys): optional DNS prefix, then [A-Za-z0-9._-] up to 63.
bool IsQualifiedName(std::string_view s) {
  std::string_view name = s;
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    if (!IsDns1123Subdomain(s.substr(0, slash))) return false;
    name = s.substr(slash + 1);
  }
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

struct Location {
  int line = 0;
  int column = 0;
};
Location At(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

// Accumulates errors for one document.
class Doc {
 public:
  Doc(std::string file, std::vector<ManifestError>& errors) : file_(std::move(file)), errors_(errors) {}

  void SetObject(std::string object) { object_ = std::move(object); }
  const std::string& object() const { return object_; }
  const std::string& file() const { return file_; }

  void Error(const YAML::Node& where, const std::string& field, const std::string& message) {
    const Location loc = At(where);
    errors_.push_back({file_, loc.line, loc.column, object_, field, message});
  }
  void ErrorAt(Location loc, const std::string& field, const std::string& message) {
    errors_.push_back({file_, loc.line, loc.column, object_, field, message});
  }

  // Reports keys outside `allowed` (kubectl's strict field validation).
  void CheckKeys(const YAML::Node& map, const std::string& path, std::initializer_list<std::string_view> allowed) {
    if (!map.IsMap()) return;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        Error(it->first, Join(path, key), "unknown field \"" + key + "\"");
    }
  }

  static std::string Join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  static std::string Index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

  bool ExpectMap(const YAML::Node& n, const std::string& path) {
    if (n.IsMap()) return true;
    if (n.IsNull()) return false;
    Error(n, path, "must be a mapping");
    return false;
  }
  bool ExpectSeq(const YAML::Node& n, const std::string& path) {
    if (n.IsSequence()) return true;
    if (n.IsNull()) return false;
    Error(n, path, "must be a list");
    return false;
  }
  std::optional<std::string> String(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
      Error(n, path, "must be a string");
      return std::nullopt;
    }
    return n.Scalar();
  }
  std::optional<Quantity> Qty(const YAML::Node& n, const std::string& path) {
    auto s = String(n, path);
    if (!s) return std::nullopt;
    auto q = Quantity::Parse(*s);
    if (!q) {
      Error(n, path, q.error());
      return std::nullopt;
    }
    return *q;
  }
  template <typename E>
  std::optional<E> Enum(const YAML::Node& n, const std::string& path, std::initializer_list<std::pair<std::string_view, E>> values) {
    auto s = String(n, path);
    if (!s) return std::nullopt;
    std::string allowed;
    for (const auto& [name, value] : values) {
      if (*s == name) return value;
      allowed += (allowed.empty() ? "" : ", ") + std::string(name);
    }
    Error(n, path, "unsupported value \"" + *s + "\": must be one of " + allowed);
    return std::nullopt;
  }

 private:
  std::string file_;
  std::string object_;
  std::vector<ManifestError>& errors_;
};

// What the cross-object checks need to point back at the source.
struct Reference {
  std::string file;
  Location loc;
  std::string object;
  std::string field;
  std::string target;
};

struct Collected {
  QuotaConfig config;
  std::vector<Reference> flavor_refs;
  std::vector<Reference> cohort_parent_refs;
  std::vector<Reference> cluster_queue_refs;
  std::map<std::string, Reference> definitions;  // "Kind/name" -> where defined
  std::vector<ManifestError> errors;
};

// Parses resourceGroups of a ClusterQueue or Cohort.
std::vector<quota::ResourceGroup> ParseResourceGroups(Doc& doc, Collected& out, const YAML::Node& node,
                                                      const std::string& path, bool has_parent,
                                                      const std::string& parent_field) {
  std::vector<quota::ResourceGroup> groups;
  if (!doc.ExpectSeq(node, path)) return groups;
  if (node.size() > kMaxResourceGroups)
    doc.Error(node, path, "must have at most " + std::to_string(kMaxResourceGroups) + " items, has " + std::to_string(node.size()));
  std::set<std::string> seen_resources, seen_flavors;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node g = node[i];
    const std::string gpath = Doc::Index(path, i);
    if (!doc.ExpectMap(g, gpath)) continue;
    doc.CheckKeys(g, gpath, {"coveredResources", "flavors"});
    quota::ResourceGroup group;
    const YAML::Node covered = g["coveredResources"];
    const std::string cpath = gpath + ".coveredResources";
    if (!covered.IsDefined() || covered.IsNull()) {
      doc.Error(g, cpath, "required field is missing");
    } else if (doc.ExpectSeq(covered, cpath)) {
      if (covered.size() == 0) doc.Error(covered, cpath, "must have at least 1 item");
      if (covered.size() > kMaxCoveredResources)
        doc.Error(covered, cpath, "must have at most " + std::to_string(kMaxCoveredResources) + " items, has " + std::to_string(covered.size()));
      for (std::size_t j = 0; j < covered.size(); ++j) {
        const std::string rpath = Doc::Index(cpath, j);
        auto name = doc.String(covered[j], rpath);
        if (!name) continue;
        if (!IsQualifiedName(*name)) doc.Error(covered[j], rpath, "\"" + *name + "\" is not a valid resource name");
        if (!seen_resources.insert(*name).second)
          doc.Error(covered[j], rpath, "duplicate value \"" + *name + "\": a resource may be covered by only one resource group");
        group.covered_resources.push_back(*name);
      }
    }
    const YAML::Node flavors = g["flavors"];
    const std::string fpath = gpath + ".flavors";
    if (!flavors.IsDefined() || flavors.IsNull()) {
      doc.Error(g, fpath, "required field is missing");
    } else if (doc.ExpectSeq(flavors, fpath)) {
      if (flavors.size() == 0) doc.Error(flavors, fpath, "must have at least 1 item");
      if (flavors.size() > kMaxFlavors)
        doc.Error(flavors, fpath, "must have at most " + std::to_string(kMaxFlavors) + " items, has " + std::to_string(flavors.size()));
      for (std::size_t j = 0; j < flavors.size(); ++j) {
        const YAML::Node f = flavors[j];
        const std::string path_j = Doc::Index(fpath, j);
        if (!doc.ExpectMap(f, path_j)) continue;
        doc.CheckKeys(f, path_j, {"name", "resources"});
        quota::FlavorQuotas fq;
        auto name = doc.String(f["name"], path_j + ".name");
        if (!name) {
          doc.Error(f, path_j + ".name", "required field is missing");
        } else {
          fq.name = *name;
          if (!IsDns1123Subdomain(*name))
            doc.Error(f["name"], path_j + ".name", "\"" + *name + "\" is not a valid name (lowercase DNS-1123 subdomain)");
          if (!seen_flavors.insert(*name).second)
            doc.Error(f["name"], path_j + ".name", "duplicate value \"" + *name + "\": a flavor may appear in only one resource group");
          out.flavor_refs.push_back({doc.file(), At(f["name"]), doc.object(), path_j + ".name", *name});
        }
        const YAML::Node res = f["resources"];
        const std::string rpath = path_j + ".resources";
        if (!res.IsDefined() || res.IsNull()) {
          doc.Error(f, rpath, "required field is missing");
        } else if (doc.ExpectSeq(res, rpath)) {
          if (res.size() != group.covered_resources.size())
            doc.Error(res, rpath, "must have the same number of resources as the coveredResources (" +
                                      std::to_string(res.size()) + " vs " + std::to_string(group.covered_resources.size()) + ")");
          for (std::size_t k = 0; k < res.size(); ++k) {
            const YAML::Node r = res[k];
            const std::string path_k = Doc::Index(rpath, k);
            if (!doc.ExpectMap(r, path_k)) continue;
            doc.CheckKeys(r, path_k, {"name", "nominalQuota", "borrowingLimit", "lendingLimit"});
            quota::ResourceQuota rq;
            auto rname = doc.String(r["name"], path_k + ".name");
            if (!rname) {
              doc.Error(r, path_k + ".name", "required field is missing");
              continue;
            }
            rq.name = *rname;
            if (k < group.covered_resources.size() && *rname != group.covered_resources[k])
              doc.Error(r["name"], path_k + ".name",
                        "\"" + *rname + "\" must match the name in coveredResources (\"" + group.covered_resources[k] + "\")");
            auto nominal = doc.Qty(r["nominalQuota"], path_k + ".nominalQuota");
            if (!r["nominalQuota"].IsDefined()) doc.Error(r, path_k + ".nominalQuota", "required field is missing");
            if (nominal) {
              if (nominal->IsNegative()) doc.Error(r["nominalQuota"], path_k + ".nominalQuota", "must be greater than or equal to 0");
              rq.nominal_quota = ToAmount(*rname, *nominal);
            }
            if (auto b = doc.Qty(r["borrowingLimit"], path_k + ".borrowingLimit")) {
              if (b->IsNegative()) doc.Error(r["borrowingLimit"], path_k + ".borrowingLimit", "must be greater than or equal to 0");
              if (!has_parent)
                doc.Error(r["borrowingLimit"], path_k + ".borrowingLimit", "must be nil when " + parent_field + " is empty");
              rq.borrowing_limit = ToAmount(*rname, *b);
            }
            if (auto l = doc.Qty(r["lendingLimit"], path_k + ".lendingLimit")) {
              if (l->IsNegative()) doc.Error(r["lendingLimit"], path_k + ".lendingLimit", "must be greater than or equal to 0");
              if (!has_parent)
                doc.Error(r["lendingLimit"], path_k + ".lendingLimit", "must be nil when " + parent_field + " is empty");
              if (nominal && *l > *nominal)
                doc.Error(r["lendingLimit"], path_k + ".lendingLimit",
                          "must be less than or equal to the nominalQuota (" + l->ToString() + " > " + nominal->ToString() + ")");
              rq.lending_limit = ToAmount(*rname, *l);
            }
            fq.resources.push_back(rq);
          }
        }
        group.flavors.push_back(std::move(fq));
      }
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

std::int64_t ParseWeight(Doc& doc, const YAML::Node& spec, const std::string& path) {
  const YAML::Node fs = spec["fairSharing"];
  if (!fs.IsDefined() || !doc.ExpectMap(fs, path)) return 1000;
  doc.CheckKeys(fs, path, {"weight"});
  auto w = doc.Qty(fs["weight"], path + ".weight");
  if (!w) return 1000;
  if (w->IsNegative()) doc.Error(fs["weight"], path + ".weight", "must be greater than or equal to 0");
  return w->MilliValue();
}

quota::LabelSelector ParseSelector(Doc& doc, const YAML::Node& n, const std::string& path) {
  quota::LabelSelector sel;
  if (!n.IsDefined() || n.IsNull()) return sel;
  if (!doc.ExpectMap(n, path)) return sel;
  sel.present = true;
  doc.CheckKeys(n, path, {"matchLabels", "matchExpressions"});
  if (const YAML::Node ml = n["matchLabels"]; ml.IsDefined() && doc.ExpectMap(ml, path + ".matchLabels")) {
    for (auto it = ml.begin(); it != ml.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (!IsQualifiedName(key)) doc.Error(it->first, path + ".matchLabels", "\"" + key + "\" is not a valid label key");
      sel.requirements.push_back({key, "In", {it->second.IsScalar() ? it->second.Scalar() : std::string()}});
    }
  }
  if (const YAML::Node me = n["matchExpressions"]; me.IsDefined() && doc.ExpectSeq(me, path + ".matchExpressions")) {
    for (std::size_t i = 0; i < me.size(); ++i) {
      const std::string p = Doc::Index(path + ".matchExpressions", i);
      if (!doc.ExpectMap(me[i], p)) continue;
      doc.CheckKeys(me[i], p, {"key", "operator", "values"});
      quota::LabelSelectorRequirement req;
      req.key = doc.String(me[i]["key"], p + ".key").value_or("");
      if (req.key.empty()) doc.Error(me[i], p + ".key", "required field is missing");
      req.op = doc.String(me[i]["operator"], p + ".operator").value_or("");
      const YAML::Node values = me[i]["values"];
      if (values.IsDefined() && doc.ExpectSeq(values, p + ".values"))
        for (std::size_t j = 0; j < values.size(); ++j)
          if (auto v = doc.String(values[j], Doc::Index(p + ".values", j))) req.values.push_back(*v);
      if (req.op == "In" || req.op == "NotIn") {
        if (req.values.empty()) doc.Error(me[i], p + ".values", "must be specified when `operator` is 'In' or 'NotIn'");
      } else if (req.op == "Exists" || req.op == "DoesNotExist") {
        if (!req.values.empty()) doc.Error(values, p + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      } else {
        doc.Error(me[i]["operator"].IsDefined() ? me[i]["operator"] : me[i], p + ".operator",
                  "not a valid selector operator \"" + req.op + "\": must be one of In, NotIn, Exists, DoesNotExist");
      }
      sel.requirements.push_back(std::move(req));
    }
  }
  return sel;
}

void ParseResourceFlavor(Doc& doc, Collected& out, const YAML::Node& spec, const std::string& name) {
  quota::ResourceFlavor rf;
  rf.name = name;
  if (spec.IsDefined() && doc.ExpectMap(spec, "spec")) {
    doc.CheckKeys(spec, "spec", {"nodeLabels", "nodeTaints", "tolerations", "topologyName"});
    if (const YAML::Node nl = spec["nodeLabels"]; nl.IsDefined() && doc.ExpectMap(nl, "spec.nodeLabels")) {
      if (nl.size() > 8) doc.Error(nl, "spec.nodeLabels", "must have at most 8 items");
      for (auto it = nl.begin(); it != nl.end(); ++it) {
        const std::string key = it->first.Scalar();
        if (!IsQualifiedName(key)) doc.Error(it->first, "spec.nodeLabels", "\"" + key + "\" is not a valid label key");
        rf.node_labels[key] = doc.String(it->second, "spec.nodeLabels." + key).value_or("");
      }
    }
    if (const YAML::Node nt = spec["nodeTaints"]; nt.IsDefined() && doc.ExpectSeq(nt, "spec.nodeTaints")) {
      if (nt.size() > 8) doc.Error(nt, "spec.nodeTaints", "must have at most 8 items");
      for (std::size_t i = 0; i < nt.size(); ++i) {
        const std::string p = Doc::Index("spec.nodeTaints", i);
        if (!doc.ExpectMap(nt[i], p)) continue;
        doc.CheckKeys(nt[i], p, {"key", "value", "effect", "timeAdded"});
        quota::Taint t;
        t.key = doc.String(nt[i]["key"], p + ".key").value_or("");
        if (t.key.empty()) doc.Error(nt[i], p + ".key", "required field is missing");
        t.value = doc.String(nt[i]["value"], p + ".value").value_or("");
        auto effect = doc.Enum<std::string>(nt[i]["effect"], p + ".effect",
                                            {{"NoSchedule", "NoSchedule"}, {"PreferNoSchedule", "PreferNoSchedule"}, {"NoExecute", "NoExecute"}});
        if (!nt[i]["effect"].IsDefined()) doc.Error(nt[i], p + ".effect", "required field is missing");
        t.effect = effect.value_or("");
        rf.node_taints.push_back(t);
      }
    }
    if (const YAML::Node tl = spec["tolerations"]; tl.IsDefined() && doc.ExpectSeq(tl, "spec.tolerations")) {
      if (tl.size() > 8) doc.Error(tl, "spec.tolerations", "must have at most 8 items");
      for (std::size_t i = 0; i < tl.size(); ++i) {
        const std::string p = Doc::Index("spec.tolerations", i);
        if (!doc.ExpectMap(tl[i], p)) continue;
        doc.CheckKeys(tl[i], p, {"key", "operator", "value", "effect", "tolerationSeconds"});
        quota::Toleration t;
        t.key = doc.String(tl[i]["key"], p + ".key").value_or("");
        t.op = doc.Enum<std::string>(tl[i]["operator"], p + ".operator", {{"Equal", "Equal"}, {"Exists", "Exists"}}).value_or("Equal");
        t.value = doc.String(tl[i]["value"], p + ".value").value_or("");
        t.effect = doc.String(tl[i]["effect"], p + ".effect").value_or("");
        if (t.op == "Exists" && !t.value.empty()) doc.Error(tl[i]["value"], p + ".value", "must be empty when `operator` is 'Exists'");
        rf.tolerations.push_back(t);
      }
    }
    rf.topology_name = doc.String(spec["topologyName"], "spec.topologyName").value_or("");
  }
  out.config.resource_flavors.push_back(std::move(rf));
}

void ParseClusterQueue(Doc& doc, Collected& out, const YAML::Node& spec, const std::string& name, bool v1beta2) {
  quota::ClusterQueue cq;
  cq.name = name;
  if (!spec.IsDefined() || !doc.ExpectMap(spec, "spec")) {
    out.config.cluster_queues.push_back(std::move(cq));
    return;
  }
  const std::string_view cohort_field = v1beta2 ? "cohortName" : "cohort";
  doc.CheckKeys(spec, "spec", {cohort_field, "resourceGroups", "queueingStrategy", "namespaceSelector", "preemption",
                               "flavorFungibility", "fairSharing", "stopPolicy", "admissionChecks",
                               "admissionChecksStrategy", "admissionScope"});
  if (auto cohort = doc.String(spec[std::string(cohort_field)], "spec." + std::string(cohort_field))) {
    cq.cohort = *cohort;
    if (!cohort->empty() && !IsDns1123Subdomain(*cohort))
      doc.Error(spec[std::string(cohort_field)], "spec." + std::string(cohort_field),
                "\"" + *cohort + "\" is not a valid name (lowercase DNS-1123 subdomain)");
  }
  const YAML::Node groups = spec["resourceGroups"];
  if (groups.IsDefined())
    cq.resource_groups = ParseResourceGroups(doc, out, groups, "spec.resourceGroups", !cq.cohort.empty(),
                                             "spec." + std::string(cohort_field));
  using QS = quota::QueueingStrategy;
  if (auto qs = doc.Enum<QS>(spec["queueingStrategy"], "spec.queueingStrategy",
                             {{"BestEffortFIFO", QS::BestEffortFIFO}, {"StrictFIFO", QS::StrictFIFO}}))
    cq.queueing_strategy = *qs;
  cq.namespace_selector = ParseSelector(doc, spec["namespaceSelector"], "spec.namespaceSelector");
  if (const YAML::Node p = spec["preemption"]; p.IsDefined() && doc.ExpectMap(p, "spec.preemption")) {
    doc.CheckKeys(p, "spec.preemption", {"withinClusterQueue", "reclaimWithinCohort", "borrowWithinCohort"});
    using W = quota::WithinClusterQueuePolicy;
    using R = quota::ReclaimWithinCohortPolicy;
    using B = quota::BorrowWithinCohortPolicy;
    if (auto w = doc.Enum<W>(p["withinClusterQueue"], "spec.preemption.withinClusterQueue",
                             {{"Never", W::Never}, {"LowerPriority", W::LowerPriority},
                              {"LowerOrNewerEqualPriority", W::LowerOrNewerEqualPriority}}))
      cq.preemption.within_cluster_queue = *w;
    if (auto r = doc.Enum<R>(p["reclaimWithinCohort"], "spec.preemption.reclaimWithinCohort",
                             {{"Never", R::Never}, {"LowerPriority", R::LowerPriority}, {"Any", R::Any}}))
      cq.preemption.reclaim_within_cohort = *r;
    if (const YAML::Node b = p["borrowWithinCohort"]; b.IsDefined() && doc.ExpectMap(b, "spec.preemption.borrowWithinCohort")) {
      doc.CheckKeys(b, "spec.preemption.borrowWithinCohort", {"policy", "maxPriorityThreshold"});
      if (auto pol = doc.Enum<B>(b["policy"], "spec.preemption.borrowWithinCohort.policy",
                                 {{"Never", B::Never}, {"LowerPriority", B::LowerPriority}}))
        cq.preemption.borrow_within_cohort.policy = *pol;
      if (auto th = doc.String(b["maxPriorityThreshold"], "spec.preemption.borrowWithinCohort.maxPriorityThreshold")) {
        std::int32_t v = 0;
        auto [ptr, ec] = std::from_chars(th->data(), th->data() + th->size(), v);
        if (ec != std::errc() || ptr != th->data() + th->size())
          doc.Error(b["maxPriorityThreshold"], "spec.preemption.borrowWithinCohort.maxPriorityThreshold",
                    "must be a 32-bit integer, got \"" + *th + "\"");
        else
          cq.preemption.borrow_within_cohort.max_priority_threshold = v;
      }
    }
    if (cq.preemption.reclaim_within_cohort == R::Never && cq.preemption.borrow_within_cohort.policy != B::Never)
      doc.Error(p, "spec.preemption", "reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never");
  }
  if (const YAML::Node ff = spec["flavorFungibility"]; ff.IsDefined() && doc.ExpectMap(ff, "spec.flavorFungibility")) {
    doc.CheckKeys(ff, "spec.flavorFungibility", {"whenCanBorrow", "whenCanPreempt"});
    using WB = quota::WhenCanBorrow;
    using WP = quota::WhenCanPreempt;
    if (auto b = doc.Enum<WB>(ff["whenCanBorrow"], "spec.flavorFungibility.whenCanBorrow",
                              {{"Borrow", WB::MayStopSearch}, {"MayStopSearch", WB::MayStopSearch}, {"TryNextFlavor", WB::TryNextFlavor}}))
      cq.flavor_fungibility.when_can_borrow = *b;
    if (auto pr = doc.Enum<WP>(ff["whenCanPreempt"], "spec.flavorFungibility.whenCanPreempt",
                               {{"Preempt", WP::MayStopSearch}, {"MayStopSearch", WP::MayStopSearch}, {"TryNextFlavor", WP::TryNextFlavor}}))
      cq.flavor_fungibility.when_can_preempt = *pr;
  }
  cq.fair_sharing_weight_milli = ParseWeight(doc, spec, "spec.fairSharing");
  using SP = quota::StopPolicy;
  if (auto sp = doc.Enum<SP>(spec["stopPolicy"], "spec.stopPolicy", {{"None", SP::None}, {"Hold", SP::Hold}, {"HoldAndDrain", SP::HoldAndDrain}}))
    cq.stop_policy = *sp;
  out.config.cluster_queues.push_back(std::move(cq));
}

void ParseCohort(Doc& doc, Collected& out, const YAML::Node& spec, const std::string& name, Location loc) {
  quota::Cohort co;
  co.name = name;
  if (spec.IsDefined() && doc.ExpectMap(spec, "spec")) {
    doc.CheckKeys(spec, "spec", {"parentName", "resourceGroups", "fairSharing"});
    if (auto parent = doc.String(spec["parentName"], "spec.parentName")) {
      co.parent_name = *parent;
      if (!parent->empty() && !IsDns1123Subdomain(*parent))
        doc.Error(spec["parentName"], "spec.parentName", "\"" + *parent + "\" is not a valid name (lowercase DNS-1123 subdomain)");
      if (*parent == name) doc.Error(spec["parentName"], "spec.parentName", "a Cohort cannot be its own parent");
      out.cohort_parent_refs.push_back({doc.file(), At(spec["parentName"]), doc.object(), "spec.parentName", *parent});
    }
    if (const YAML::Node groups = spec["resourceGroups"]; groups.IsDefined())
      co.resource_groups = ParseResourceGroups(doc, out, groups, "spec.resourceGroups", !co.parent_name.empty(), "spec.parentName");
    co.fair_sharing_weight_milli = ParseWeight(doc, spec, "spec.fairSharing");
  }
  (void)loc;
  out.config.cohorts.push_back(std::move(co));
}

// A Topology's levels as Kueue validates them: 1 to 16 distinct qualified label keys, top to bottom,
// kubernetes.io/hostname only as the lowest.
void ParseTopology(Doc& doc, Collected& out, const YAML::Node& spec, const std::string& name, const YAML::Node& root) {
  quota::KueueTopology topology{name, {}};
  const YAML::Node levels = spec.IsDefined() && spec.IsMap() ? spec["levels"] : YAML::Node();
  if (spec.IsDefined() && doc.ExpectMap(spec, "spec")) doc.CheckKeys(spec, "spec", {"levels"});
  if (!levels.IsDefined()) {
    doc.Error(spec.IsDefined() ? spec : root, "spec.levels", "required field is missing");
    return;
  }
  if (!doc.ExpectSeq(levels, "spec.levels")) return;
  if (levels.size() < 1 || levels.size() > 16)
    doc.Error(levels, "spec.levels", "must have 1 to 16 items, has " + std::to_string(levels.size()));
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const std::string p = Doc::Index("spec.levels", i);
    if (!doc.ExpectMap(levels[i], p)) continue;
    doc.CheckKeys(levels[i], p, {"nodeLabel"});
    auto label = doc.String(levels[i]["nodeLabel"], p + ".nodeLabel");
    if (!label || label->empty()) {
      if (!levels[i]["nodeLabel"].IsDefined()) doc.Error(levels[i], p + ".nodeLabel", "required field is missing");
      continue;
    }
    if (!IsQualifiedName(*label)) doc.Error(levels[i]["nodeLabel"], p + ".nodeLabel", "\"" + *label + "\" is not a valid label key");
    if (std::ranges::find(topology.node_labels, *label) != topology.node_labels.end())
      doc.Error(levels[i]["nodeLabel"], p + ".nodeLabel", "\"" + *label + "\" is used by two levels");
    if (*label == "kubernetes.io/hostname" && i + 1 != levels.size())
      doc.Error(levels[i]["nodeLabel"], p + ".nodeLabel", "kubernetes.io/hostname can only be the lowest level");
    topology.node_labels.push_back(*label);
  }
  out.config.topologies.push_back(std::move(topology));
}

void ParseDocument(const YAML::Node& root, const std::string& file, Collected& out) {
  Doc doc(file, out.errors);
  if (!root.IsMap()) {
    doc.Error(root, "", "a manifest must be a mapping with apiVersion and kind");
    return;
  }
  const std::string api = doc.String(root["apiVersion"], "apiVersion").value_or("");
  const std::string kind = doc.String(root["kind"], "kind").value_or("");
  if (kind == "List") {
    if (const YAML::Node items = root["items"]; items.IsDefined() && doc.ExpectSeq(items, "items"))
      for (std::size_t i = 0; i < items.size(); ++i) ParseDocument(items[i], file, out);
    return;
  }
  if (!api.starts_with("kueue.x-k8s.io/")) return;  // other API groups are not ours to check
  static const std::set<std::string> kKinds = {"ResourceFlavor", "ClusterQueue", "Cohort", "LocalQueue", "WorkloadPriorityClass",
                                               "Topology"};
  if (!kKinds.contains(kind)) return;  // Workload, AdmissionCheck, ...: not quota objects
  const std::string version = api.substr(std::string_view("kueue.x-k8s.io/").size());
  const bool v1beta2 = version == "v1beta2";
  const bool ok_version =
      version == "v1beta1" || v1beta2 || ((kind == "Cohort" || kind == "Topology") && version == "v1alpha1");
  const YAML::Node meta = root["metadata"];
  std::string name, ns;
  if (meta.IsDefined() && doc.ExpectMap(meta, "metadata")) {
    name = doc.String(meta["name"], "metadata.name").value_or("");
    ns = doc.String(meta["namespace"], "metadata.namespace").value_or("");
  }
  doc.SetObject(kind + " " + (name.empty() ? "<unnamed>" : name));
  if (!ok_version) {
    doc.Error(root["apiVersion"], "apiVersion", "unsupported version \"" + api + "\" for " + kind + ": use kueue.x-k8s.io/v1beta1 or v1beta2");
    return;
  }
  if (name.empty()) {
    doc.Error(meta.IsDefined() ? meta : root, "metadata.name", "required field is missing");
    return;
  }
  if (!IsDns1123Subdomain(name))
    doc.Error(meta["name"], "metadata.name", "\"" + name + "\" is not a valid name (lowercase DNS-1123 subdomain)");
  doc.CheckKeys(root, "", {"apiVersion", "kind", "metadata", "spec", "status", "value", "description"});
  const std::string key = kind + "/" + (kind == "LocalQueue" ? (ns.empty() ? "default" : ns) + "/" : "") + name;
  if (auto it = out.definitions.find(key); it != out.definitions.end()) {
    doc.Error(meta["name"], "metadata.name",
              "duplicate " + kind + " \"" + name + "\" (first defined at " + it->second.file + ":" + std::to_string(it->second.loc.line) + ")");
    return;
  }
  out.definitions[key] = {file, At(root), doc.object(), "", name};
  const YAML::Node spec = root["spec"];
  if (kind == "ResourceFlavor") {
    ParseResourceFlavor(doc, out, spec, name);
  } else if (kind == "ClusterQueue") {
    ParseClusterQueue(doc, out, spec, name, v1beta2);
  } else if (kind == "Cohort") {
    ParseCohort(doc, out, spec, name, At(root));
  } else if (kind == "LocalQueue") {
    quota::LocalQueue lq{ns.empty() ? "default" : ns, name, ""};
    if (spec.IsDefined() && doc.ExpectMap(spec, "spec")) {
      doc.CheckKeys(spec, "spec", {"clusterQueue", "stopPolicy", "fairSharing"});
      lq.cluster_queue = doc.String(spec["clusterQueue"], "spec.clusterQueue").value_or("");
    }
    if (lq.cluster_queue.empty())
      doc.Error(spec.IsDefined() ? spec : root, "spec.clusterQueue", "required field is missing");
    else
      out.cluster_queue_refs.push_back({file, At(spec["clusterQueue"]), doc.object(), "spec.clusterQueue", lq.cluster_queue});
    out.config.local_queues.push_back(std::move(lq));
  } else if (kind == "Topology") {
    ParseTopology(doc, out, spec, name, root);
  } else if (kind == "WorkloadPriorityClass") {
    quota::WorkloadPriorityClass pc;
    pc.name = name;
    const YAML::Node value = root["value"];
    if (!value.IsDefined()) {
      doc.Error(root, "value", "required field is missing");
    } else if (auto s = doc.String(value, "value")) {
      auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), pc.value);
      if (ec != std::errc() || ptr != s->data() + s->size()) doc.Error(value, "value", "must be a 32-bit integer, got \"" + *s + "\"");
    }
    pc.description = doc.String(root["description"], "description").value_or("");
    out.config.priority_classes.push_back(std::move(pc));
  }
}

void ParseText(std::string_view text, const std::string& file, Collected& out) {
  auto guarded = GuardYaml(text);
  if (!guarded) {
    out.errors.push_back({file, guarded.error().line, 0, "", "", "invalid YAML: " + guarded.error().message});
    return;
  }
  try {
    const std::vector<YAML::Node> docs = YAML::LoadAll(*guarded);
    for (const auto& d : docs) {
      if (d.IsNull()) continue;
      try {
        ParseDocument(d, file, out);
      } catch (const YAML::Exception& e) {
        out.errors.push_back({file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0, "", "", e.msg});
      }
    }
  } catch (const YAML::Exception& e) {
    out.errors.push_back({file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0, "",
                          "", "invalid YAML: " + e.msg});
  }
}

// Files in the order given, then by position.
void SortErrors(std::vector<ManifestError>& errors) {
  std::map<std::string, std::size_t> file_order;
  for (const auto& e : errors) file_order.emplace(e.file, file_order.size());
  std::stable_sort(errors.begin(), errors.end(), [&](const ManifestError& a, const ManifestError& b) {
    const std::size_t fa = file_order.at(a.file), fb = file_order.at(b.file);
    if (fa != fb) return fa < fb;
    if (a.line != b.line) return a.line < b.line;
    return a.column < b.column;
  });
}

void CrossCheck(Collected& out) {
  auto err = [&](const Reference& r, const std::string& message) {
    out.errors.push_back({r.file, r.loc.line, r.loc.column, r.object, r.field, message});
  };
  std::set<std::string> flavors, cqs, cohorts;
  for (const auto& f : out.config.resource_flavors) flavors.insert(f.name);
  for (const auto& c : out.config.cluster_queues) cqs.insert(c.name);
  for (const auto& c : out.config.cohorts) cohorts.insert(c.name);
  for (const auto& r : out.flavor_refs)
    if (!flavors.contains(r.target)) err(r, "ResourceFlavor \"" + r.target + "\" does not exist");
  for (const auto& r : out.cluster_queue_refs)
    if (!cqs.contains(r.target)) err(r, "ClusterQueue \"" + r.target + "\" does not exist");
  // Cycles among cohorts (Kueue marks every cohort of a cycle inactive).
  std::map<std::string, std::string> parent;
  for (const auto& c : out.config.cohorts) parent[c.name] = c.parent_name;
  for (const auto& r : out.cohort_parent_refs) {
    const std::string self = r.object.substr(std::string_view("Cohort ").size());
    std::string at = r.target;
    for (std::size_t steps = 0; !at.empty() && steps <= parent.size(); ++steps) {
      if (at == self) {
        if (r.target != self) err(r, "parent \"" + r.target + "\" makes a cycle in the cohort tree");
        break;
      }
      auto it = parent.find(at);
      at = it == parent.end() ? std::string() : it->second;
    }
  }
}

}  // namespace

std::string ManifestError::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!object.empty()) out += object + ": ";
  if (!field.empty()) out += field + ": ";
  return out + message;
}

std::string FormatManifestErrors(const std::vector<ManifestError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.ToString() + "\n";
  return out;
}

std::expected<QuotaConfig, std::vector<ManifestError>> ParseKueueManifests(std::string_view text, std::string_view file_name) {
  Collected out;
  ParseText(text, std::string(file_name), out);
  CrossCheck(out);
  SortErrors(out.errors);
  if (!out.errors.empty()) return std::unexpected(std::move(out.errors));
  return std::move(out.config);
}

std::expected<QuotaConfig, std::vector<ManifestError>> LoadKueueManifestFiles(const std::vector<std::string>& paths) {
  Collected out;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      out.errors.push_back({path, 0, 0, "", "", "cannot open file"});
      continue;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    ParseText(ss.str(), path, out);
  }
  CrossCheck(out);
  SortErrors(out.errors);
  if (!out.errors.empty()) return std::unexpected(std::move(out.errors));
  return std::move(out.config);
}

}  // namespace platoon::config
