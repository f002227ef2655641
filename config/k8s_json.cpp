// Kubernetes object decoding with Go encoding/json's leniency: case-insensitive keys, nulls, extras.
#include "config/k8s_json.h"

#include <cctype>
#include <cstdio>

namespace platoon::config {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
template <typename T>
using Result = std::expected<T, DecodeError>;
using Status = std::expected<void, DecodeError>;

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string Index(std::string_view path, std::size_t i) { return std::string(path) + "[" + std::to_string(i) + "]"; }

std::string_view TypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "a number";
    case element_type::STRING: return "a string";
    case element_type::BOOL: return "a boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "a value";
}

DecodeError WrongType(std::string_view path, std::string_view want, element e) {
  return {std::string(path), "expected " + std::string(want) + ", found " + std::string(TypeName(e.type()))};
}

// Visits every field of an object; null is an empty object.
template <typename F>
Status ForFields(element e, std::string_view path, F&& f) {
  if (e.is_null()) return {};
  if (!e.is_object()) return std::unexpected(WrongType(path, "an object", e));
  for (auto field : ObjectOf(e)) {
    Status s = f(field.key, field.value);
    if (!s) return s;
  }
  return {};
}

// Visits every element of an array; null is an empty array.
template <typename F>
Status ForArray(element e, std::string_view path, F&& f) {
  if (e.is_null()) return {};
  if (!e.is_array()) return std::unexpected(WrongType(path, "an array", e));
  std::size_t i = 0;
  for (element item : ArrayOf(e)) {
    Status s = f(item, Index(path, i));
    if (!s) return s;
    ++i;
  }
  return {};
}

// Strings; null is empty; integers and booleans are accepted as their text (YAML-born documents).
Result<std::string> GetString(element e, std::string_view path) {
  switch (e.type()) {
    case element_type::STRING: return std::string(e.get_string().value_unsafe());
    case element_type::NULL_VALUE: return std::string();
    case element_type::INT64: return std::to_string(e.get_int64().value_unsafe());
    case element_type::UINT64: return std::to_string(e.get_uint64().value_unsafe());
    case element_type::BOOL: return std::string(e.get_bool().value_unsafe() ? "true" : "false");
    default: return std::unexpected(WrongType(path, "a string", e));
  }
}

Result<std::int64_t> GetInt(element e, std::string_view path) {
  switch (e.type()) {
    case element_type::INT64: return e.get_int64().value_unsafe();
    case element_type::UINT64: {
      auto v = e.get_uint64().value_unsafe();
      if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::unexpected(DecodeError{std::string(path), "integer out of range"});
      return static_cast<std::int64_t>(v);
    }
    case element_type::NULL_VALUE: return 0;
    default: return std::unexpected(WrongType(path, "an integer", e));
  }
}

Result<bool> GetBool(element e, std::string_view path) {
  if (e.is_null()) return false;
  if (!e.is_bool()) return std::unexpected(WrongType(path, "a boolean", e));
  return e.get_bool().value_unsafe();
}

Result<Labels> GetStringMap(element e, std::string_view path) {
  Labels out;
  Status s = ForFields(e, path, [&](std::string_view key, element value) -> Status {
    auto v = GetString(value, Join(path, key));
    if (!v) return std::unexpected(v.error());
    out.insert_or_assign(std::string(key), std::move(*v));
    return {};
  });
  if (!s) return std::unexpected(s.error());
  return out;
}

// A quantity: a JSON string in the quantity grammar, or a JSON number (Quantity.UnmarshalJSON takes both).
Result<Quantity> GetQuantity(element e, std::string_view path) {
  std::string text;
  switch (e.type()) {
    case element_type::STRING: text = std::string(e.get_string().value_unsafe()); break;
    case element_type::INT64: text = std::to_string(e.get_int64().value_unsafe()); break;
    case element_type::UINT64: text = std::to_string(e.get_uint64().value_unsafe()); break;
    case element_type::DOUBLE: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.9f", e.get_double().value_unsafe());
      text = buf;
      break;
    }
    case element_type::NULL_VALUE: return Quantity();
    default: return std::unexpected(WrongType(path, "a quantity", e));
  }
  auto q = Quantity::Parse(text);
  if (!q) return std::unexpected(DecodeError{std::string(path), q.error()});
  return *q;
}

// A resource list as requests/limits/allocatable carry it. Negative amounts are rejected.
Result<ResourceList> GetResourceList(element e, std::string_view path) {
  ResourceList out;
  Status s = ForFields(e, path, [&](std::string_view key, element value) -> Status {
    const std::string field = Join(path, key);
    auto q = GetQuantity(value, field);
    if (!q) return std::unexpected(q.error());
    if (q->IsNegative())
      return std::unexpected(DecodeError{field, "negative quantity " + q->ToString() + " is not allowed"});
    out.Set(key, ToAmount(key, *q));
    return {};
  });
  if (!s) return std::unexpected(s.error());
  return out;
}

struct Metadata {
  std::string name, namespace_, uid, creation_timestamp;
  bool deleting = false;
  Labels labels, annotations;
};

Result<Metadata> GetMetadata(element e, std::string_view path) {
  Metadata m;
  Status s = ForFields(e, path, [&](std::string_view key, element v) -> Status {
    const std::string p = Join(path, key);
    Result<std::string> str;
    if (EqualFold(key, "name")) {
      if (!(str = GetString(v, p))) return std::unexpected(str.error());
      m.name = *str;
    } else if (EqualFold(key, "namespace")) {
      if (!(str = GetString(v, p))) return std::unexpected(str.error());
      m.namespace_ = *str;
    } else if (EqualFold(key, "uid")) {
      if (!(str = GetString(v, p))) return std::unexpected(str.error());
      m.uid = *str;
    } else if (EqualFold(key, "creationTimestamp")) {
      if (!(str = GetString(v, p))) return std::unexpected(str.error());
      m.creation_timestamp = *str;
    } else if (EqualFold(key, "deletionTimestamp")) {
      m.deleting = !v.is_null();
    } else if (EqualFold(key, "labels")) {
      auto l = GetStringMap(v, p);
      if (!l) return std::unexpected(l.error());
      m.labels = std::move(*l);
    } else if (EqualFold(key, "annotations")) {
      auto a = GetStringMap(v, p);
      if (!a) return std::unexpected(a.error());
      m.annotations = std::move(*a);
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  return m;
}

Result<TaintEffect> ParseEffect(std::string_view text, std::string_view path) {
  if (text == "NoSchedule") return TaintEffect::NoSchedule;
  if (text == "PreferNoSchedule") return TaintEffect::PreferNoSchedule;
  if (text == "NoExecute") return TaintEffect::NoExecute;
  (void)path;
  return TaintEffect::Unknown;  // a newer API value: never tolerated by accident
}

Result<Toleration> GetToleration(element e, std::string_view path) {
  Toleration t;
  Status s = ForFields(e, path, [&](std::string_view key, element v) -> Status {
    const std::string p = Join(path, key);
    auto str = GetString(v, p);
    if (EqualFold(key, "tolerationSeconds")) return {};
    if (!str) return std::unexpected(str.error());
    if (EqualFold(key, "key")) {
      t.key = *str;
    } else if (EqualFold(key, "operator")) {
      if (*str == "Exists") t.op = Toleration::Operator::Exists;
      else if (*str == "Equal" || str->empty()) t.op = Toleration::Operator::Equal;
      else t.op = Toleration::Operator::Unknown;
    } else if (EqualFold(key, "value")) {
      t.value = *str;
    } else if (EqualFold(key, "effect")) {
      if (str->empty()) return {};
      auto eff = ParseEffect(*str, p);
      if (!eff) return std::unexpected(eff.error());
      t.effect = *eff;
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  return t;
}

Result<NodeSelectorRequirement> GetRequirement(element e, std::string_view path) {
  NodeSelectorRequirement r;
  Status s = ForFields(e, path, [&](std::string_view key, element v) -> Status {
    const std::string p = Join(path, key);
    if (EqualFold(key, "key")) {
      auto str = GetString(v, p);
      if (!str) return std::unexpected(str.error());
      r.key = *str;
    } else if (EqualFold(key, "operator")) {
      auto str = GetString(v, p);
      if (!str) return std::unexpected(str.error());
      using Op = NodeSelectorRequirement::Operator;
      static constexpr std::pair<std::string_view, Op> kOps[] = {{"In", Op::In},         {"NotIn", Op::NotIn},
                                                                 {"Exists", Op::Exists}, {"DoesNotExist", Op::DoesNotExist},
                                                                 {"Gt", Op::Gt},         {"Lt", Op::Lt}};
      bool found = false;
      for (const auto& [name, op] : kOps)
        if (*str == name) r.op = op, found = true;
      if (!found) r.op = Op::Unknown;
    } else if (EqualFold(key, "values")) {
      r.values.clear();  // a repeated key replaces the list, as Go's encoding/json does
      return ForArray(v, p, [&](element item, const std::string& ip) -> Status {
        auto str = GetString(item, ip);
        if (!str) return std::unexpected(str.error());
        r.values.push_back(std::move(*str));
        return {};
      });
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  return r;
}

Result<std::vector<NodeSelectorTerm>> GetRequiredNodeAffinity(element affinity, std::string_view path) {
  std::vector<NodeSelectorTerm> terms;
  Status s = ForFields(affinity, path, [&](std::string_view key, element node_affinity) -> Status {
    if (!EqualFold(key, "nodeAffinity")) return {};
    const std::string na_path = Join(path, key);
    return ForFields(node_affinity, na_path, [&](std::string_view k2, element required) -> Status {
      if (!EqualFold(k2, "requiredDuringSchedulingIgnoredDuringExecution")) return {};
      const std::string req_path = Join(na_path, k2);
      return ForFields(required, req_path, [&](std::string_view k3, element list) -> Status {
        if (!EqualFold(k3, "nodeSelectorTerms")) return {};
        terms.clear();  // a repeated key replaces the list
        return ForArray(list, Join(req_path, k3), [&](element term, const std::string& tp) -> Status {
          NodeSelectorTerm out;
          Status ts = ForFields(term, tp, [&](std::string_view k4, element exprs) -> Status {
            // matchFields only supports metadata.name; treated like a label on the node name.
            const bool fields = EqualFold(k4, "matchFields");
            if (!EqualFold(k4, "matchExpressions") && !fields) return {};
            return ForArray(exprs, Join(tp, k4), [&](element req, const std::string& rp) -> Status {
              auto r = GetRequirement(req, rp);
              if (!r) return std::unexpected(r.error());
              if (fields) r->key = "metadata.name";
              out.push_back(std::move(*r));
              return {};
            });
          });
          if (!ts) return ts;
          terms.push_back(std::move(out));
          return {};
        });
      });
    });
  });
  if (!s) return std::unexpected(s.error());
  return terms;
}

struct ContainerRequests {
  ResourceList requests;
  bool restartable = false;  // a sidecar: init container with restartPolicy Always
};

// requests, defaulted from limits where a request is absent (API server defaulting).
Result<ContainerRequests> GetContainer(element e, std::string_view path) {
  ContainerRequests c;
  ResourceList limits;
  bool have_requests = false;
  Status s = ForFields(e, path, [&](std::string_view key, element v) -> Status {
    const std::string p = Join(path, key);
    if (EqualFold(key, "restartPolicy")) {
      auto str = GetString(v, p);
      if (!str) return std::unexpected(str.error());
      c.restartable = *str == "Always";
    } else if (EqualFold(key, "resources")) {
      return ForFields(v, p, [&](std::string_view rk, element rv) -> Status {
        if (EqualFold(rk, "requests")) {
          auto r = GetResourceList(rv, Join(p, rk));
          if (!r) return std::unexpected(r.error());
          c.requests = std::move(*r);
          have_requests = true;
        } else if (EqualFold(rk, "limits")) {
          auto r = GetResourceList(rv, Join(p, rk));
          if (!r) return std::unexpected(r.error());
          limits = std::move(*r);
        }
        return {};
      });
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  for (const auto& [name, amount] : limits)
    if (!have_requests || c.requests.Get(name) == 0) c.requests.Set(name, amount);
  return c;
}

// kube-scheduler's effective pod request (component-helpers PodRequests), pods=1 added.
ResourceList EffectiveRequests(const std::vector<ContainerRequests>& containers,
                               const std::vector<ContainerRequests>& init_containers, const ResourceList& overhead,
                               const std::optional<ResourceList>& pod_level) {
  ResourceList sum;
  for (const auto& c : containers) sum += c.requests;
  ResourceList restartable;
  ResourceList init_max;
  for (const auto& ic : init_containers) {
    if (ic.restartable) {
      sum += ic.requests;
      restartable += ic.requests;
    } else {
      init_max = ResourceList::Max(init_max, ic.requests + restartable);
    }
  }
  ResourceList out = ResourceList::Max(sum, init_max);
  if (pod_level) {
    for (const auto& [name, amount] : *pod_level) out.Set(name, amount);
  }
  out += overhead;
  out.Set(kResourcePods, 1);
  return out;
}

// One entry of a zone's resources: its name and capacity (allocatable and available change with use;
// the layout is what counts).
Status AddZoneResource(element r, const std::string& path, ResourceList& capacity) {
  std::string name;
  std::optional<Quantity> amount;
  Status s = ForFields(r, path, [&](std::string_view key, element v) -> Status {
    if (EqualFold(key, "name")) {
      auto text = GetString(v, Join(path, key));
      if (!text) return std::unexpected(text.error());
      name = std::move(*text);
    } else if (EqualFold(key, "capacity")) {
      auto q = GetQuantity(v, Join(path, key));
      if (!q) return std::unexpected(q.error());
      amount = *q;
    }
    return {};
  });
  if (!s) return s;
  if (name.empty()) return std::unexpected(DecodeError{path, "a zone resource needs a name"});
  if (!amount) return std::unexpected(DecodeError{path, "resource " + name + " has no capacity"});
  if (amount->IsNegative()) return std::unexpected(DecodeError{Join(path, "capacity"), "negative capacity"});
  capacity.Set(name, ToAmount(name, *amount));
  return {};
}

Result<topology::NrtZone> GetNrtZone(element z, const std::string& path) {
  topology::NrtZone zone;
  Status s = ForFields(z, path, [&](std::string_view key, element v) -> Status {
    const std::string p = Join(path, key);
    if (EqualFold(key, "name") || EqualFold(key, "type")) {
      auto text = GetString(v, p);
      if (!text) return std::unexpected(text.error());
      (EqualFold(key, "name") ? zone.name : zone.type) = std::move(*text);
    } else if (EqualFold(key, "resources")) {
      return ForArray(v, p, [&](element r, const std::string& rp) { return AddZoneResource(r, rp, zone.capacity); });
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  return zone;
}

}  // namespace

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string KindOf(element json) {
  std::string kind;
  if (!json.is_object()) return kind;
  for (auto field : ObjectOf(json))
    if (EqualFold(field.key, "kind") && field.value.is_string()) kind = std::string(field.value.get_string().value_unsafe());
  return kind;
}

std::expected<Pod, DecodeError> DecodePod(element json, std::string_view path) {
  Pod pod;
  std::vector<ContainerRequests> containers, init_containers;
  ResourceList overhead;
  std::optional<ResourceList> pod_level;
  Status s = ForFields(json, path, [&](std::string_view key, element v) -> Status {
    const std::string p = Join(path, key);
    if (EqualFold(key, "metadata")) {
      auto m = GetMetadata(v, p);
      if (!m) return std::unexpected(m.error());
      pod.name = m->name;
      if (!m->namespace_.empty()) pod.namespace_ = m->namespace_;
      pod.uid = m->uid;
      pod.creation_timestamp = m->creation_timestamp;
      pod.terminating = m->deleting;
      pod.labels = std::move(m->labels);
      pod.annotations = std::move(m->annotations);
    } else if (EqualFold(key, "spec")) {
      return ForFields(v, p, [&](std::string_view sk, element sv) -> Status {
        const std::string sp = Join(p, sk);
        auto assign_string = [&](std::string& out) -> Status {
          auto str = GetString(sv, sp);
          if (!str) return std::unexpected(str.error());
          out = std::move(*str);
          return {};
        };
        if (EqualFold(sk, "schedulerName")) return assign_string(pod.scheduler_name);
        if (EqualFold(sk, "nodeName")) return assign_string(pod.node_name);
        if (EqualFold(sk, "priorityClassName")) return assign_string(pod.priority_class_name);
        if (EqualFold(sk, "priority")) {
          auto i = GetInt(sv, sp);
          if (!i) return std::unexpected(i.error());
          if (*i < INT32_MIN || *i > INT32_MAX) return std::unexpected(DecodeError{sp, "priority out of int32 range"});
          pod.priority = static_cast<std::int32_t>(*i);
          return {};
        }
        if (EqualFold(sk, "nodeSelector")) {
          auto m = GetStringMap(sv, sp);
          if (!m) return std::unexpected(m.error());
          pod.node_selector = std::move(*m);
          return {};
        }
        if (EqualFold(sk, "affinity")) {
          auto terms = GetRequiredNodeAffinity(sv, sp);
          if (!terms) return std::unexpected(terms.error());
          pod.required_node_affinity = std::move(*terms);
          return {};
        }
        if (EqualFold(sk, "tolerations")) {
          pod.tolerations.clear();  // a repeated key replaces the list, as Go's encoding/json does
          return ForArray(sv, sp, [&](element t, const std::string& tp) -> Status {
            auto tol = GetToleration(t, tp);
            if (!tol) return std::unexpected(tol.error());
            pod.tolerations.push_back(std::move(*tol));
            return {};
          });
        }
        if (EqualFold(sk, "containers") || EqualFold(sk, "initContainers")) {
          auto& list = EqualFold(sk, "containers") ? containers : init_containers;
          list.clear();
          return ForArray(sv, sp, [&](element c, const std::string& cp) -> Status {
            auto cr = GetContainer(c, cp);
            if (!cr) return std::unexpected(cr.error());
            list.push_back(std::move(*cr));
            return {};
          });
        }
        if (EqualFold(sk, "overhead")) {
          auto r = GetResourceList(sv, sp);
          if (!r) return std::unexpected(r.error());
          overhead = std::move(*r);
          return {};
        }
        if (EqualFold(sk, "resources") && !sv.is_null()) {
          ResourceList requests;
          Status rs = ForFields(sv, sp, [&](std::string_view rk, element rv) -> Status {
            if (!EqualFold(rk, "requests") && !EqualFold(rk, "limits")) return {};
            auto r = GetResourceList(rv, Join(sp, rk));
            if (!r) return std::unexpected(r.error());
            if (EqualFold(rk, "requests")) {
              for (const auto& [n, a] : *r) requests.Set(n, a);
            } else {
              for (const auto& [n, a] : *r)
                if (requests.Get(n) == 0) requests.Set(n, a);
            }
            return {};
          });
          if (!rs) return rs;
          if (!requests.empty()) pod_level = std::move(requests);
          return {};
        }
        return {};
      });
    } else if (EqualFold(key, "status")) {
      return ForFields(v, p, [&](std::string_view sk, element sv) -> Status {
        if (!EqualFold(sk, "phase")) return {};
        auto str = GetString(sv, Join(p, sk));
        if (!str) return std::unexpected(str.error());
        pod.phase = std::move(*str);
        return {};
      });
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  pod.requests = EffectiveRequests(containers, init_containers, overhead, pod_level);
  return pod;
}

std::expected<Node, DecodeError> DecodeNode(element json, std::string_view path) {
  Node node;
  bool have_allocatable = false;
  Status s = ForFields(json, path, [&](std::string_view key, element v) -> Status {
    const std::string p = Join(path, key);
    if (EqualFold(key, "metadata")) {
      auto m = GetMetadata(v, p);
      if (!m) return std::unexpected(m.error());
      node.name = m->name;
      node.uid = m->uid;
      node.labels = std::move(m->labels);
      node.annotations = std::move(m->annotations);
    } else if (EqualFold(key, "spec")) {
      return ForFields(v, p, [&](std::string_view sk, element sv) -> Status {
        const std::string sp = Join(p, sk);
        if (EqualFold(sk, "unschedulable")) {
          auto b = GetBool(sv, sp);
          if (!b) return std::unexpected(b.error());
          node.unschedulable = *b;
        } else if (EqualFold(sk, "taints")) {
          node.taints.clear();  // a repeated key replaces the list, as Go's encoding/json does
          return ForArray(sv, sp, [&](element t, const std::string& tp) -> Status {
            Taint taint;
            Status ts = ForFields(t, tp, [&](std::string_view tk, element tv) -> Status {
              const std::string fp = Join(tp, tk);
              if (EqualFold(tk, "timeAdded")) return {};
              auto str = GetString(tv, fp);
              if (!str) return std::unexpected(str.error());
              if (EqualFold(tk, "key")) taint.key = *str;
              else if (EqualFold(tk, "value")) taint.value = *str;
              else if (EqualFold(tk, "effect")) {
                auto eff = ParseEffect(*str, fp);
                if (!eff) return std::unexpected(eff.error());
                taint.effect = *eff;
              }
              return {};
            });
            if (!ts) return ts;
            node.taints.push_back(std::move(taint));
            return {};
          });
        }
        return {};
      });
    } else if (EqualFold(key, "status")) {
      return ForFields(v, p, [&](std::string_view sk, element sv) -> Status {
        const std::string sp = Join(p, sk);
        if (EqualFold(sk, "capacity")) {
          auto r = GetResourceList(sv, sp);
          if (!r) return std::unexpected(r.error());
          node.capacity = std::move(*r);
        } else if (EqualFold(sk, "allocatable")) {
          auto r = GetResourceList(sv, sp);
          if (!r) return std::unexpected(r.error());
          node.allocatable = std::move(*r);
          have_allocatable = true;
        } else if (EqualFold(sk, "conditions")) {
          return ForArray(sv, sp, [&](element c, const std::string& cp) -> Status {
            std::string type, status;
            Status cs = ForFields(c, cp, [&](std::string_view ck, element cv) -> Status {
              if (!EqualFold(ck, "type") && !EqualFold(ck, "status")) return {};
              auto str = GetString(cv, Join(cp, ck));
              if (!str) return std::unexpected(str.error());
              (EqualFold(ck, "type") ? type : status) = std::move(*str);
              return {};
            });
            if (!cs) return cs;
            if (type == "Ready") node.ready = status == "True";
            return {};
          });
        }
        return {};
      });
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  if (!have_allocatable) node.allocatable = node.capacity;
  return node;
}

std::expected<PodGroup, DecodeError> DecodePodGroup(element json, std::string_view path) {
  PodGroup group;
  Status s = ForFields(json, path, [&](std::string_view key, element v) -> Status {
    const std::string p = Join(path, key);
    if (EqualFold(key, "metadata")) {
      auto m = GetMetadata(v, p);
      if (!m) return std::unexpected(m.error());
      group.name = m->name;
      if (!m->namespace_.empty()) group.namespace_ = m->namespace_;
      group.creation_timestamp = m->creation_timestamp;
    } else if (EqualFold(key, "spec")) {
      return ForFields(v, p, [&](std::string_view sk, element sv) -> Status {
        const std::string sp = Join(p, sk);
        if (EqualFold(sk, "minMember")) {
          auto i = GetInt(sv, sp);
          if (!i) return std::unexpected(i.error());
          if (*i < 0 || *i > INT32_MAX) return std::unexpected(DecodeError{sp, "minMember must be between 0 and 2^31-1"});
          group.min_member = static_cast<std::int32_t>(*i);
        } else if (EqualFold(sk, "minResources")) {
          auto r = GetResourceList(sv, sp);
          if (!r) return std::unexpected(r.error());
          group.min_resources = std::move(*r);
        } else if (EqualFold(sk, "scheduleTimeoutSeconds")) {
          if (sv.is_null()) return {};
          auto i = GetInt(sv, sp);
          if (!i) return std::unexpected(i.error());
          if (*i < 0 || *i > INT32_MAX) return std::unexpected(DecodeError{sp, "scheduleTimeoutSeconds must be >= 0"});
          group.schedule_timeout_seconds = static_cast<std::int32_t>(*i);
        }
        return {};
      });
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  return group;
}

std::expected<NodeResourceTopology, DecodeError> DecodeNodeResourceTopology(element json, std::string_view path) {
  NodeResourceTopology out;
  Status s = ForFields(json, path, [&](std::string_view key, element v) -> Status {
    const std::string p = Join(path, key);
    if (EqualFold(key, "metadata")) {
      auto m = GetMetadata(v, p);
      if (!m) return std::unexpected(m.error());
      out.name = m->name;
    } else if (EqualFold(key, "zones")) {
      return ForArray(v, p, [&](element z, const std::string& zp) -> Status {
        auto zone = GetNrtZone(z, zp);
        if (!zone) return std::unexpected(zone.error());
        out.zones.push_back(std::move(*zone));
        return {};
      });
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  if (out.name.empty()) return std::unexpected(DecodeError{Join(path, "metadata.name"), "a NodeResourceTopology is named after its node"});
  return out;
}

}  // namespace platoon::config
