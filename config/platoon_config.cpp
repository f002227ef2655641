// PlatoonConfig loading and validation.
#include "config/platoon_config.h"

#include <filesystem>
#include <functional>

#include <simdjson.h>

#include "config/k8s_json.h"
#include "config/yaml_json.h"

namespace platoon::config {
namespace {

using simdjson::dom::element;
using Status = std::expected<void, std::string>;

class Reader {
 public:
  Reader(std::string_view file, const JsonDocument& doc) : file_(file), doc_(doc) {}

  std::string At(std::string_view path, std::string_view message) const {
    return std::string(file_) + ":" + std::to_string(doc_.LineOf(path)) + ": " + std::string(path) + ": " +
           std::string(message);
  }

  // Visits fields; a key outside `known` is an error listing the known keys.
  Status Fields(element e, const std::string& path, std::initializer_list<std::string_view> known,
                const std::function<Status(std::string_view, element, const std::string&)>& f) const {
    if (e.is_null()) return {};
    if (!e.is_object()) return std::unexpected(At(path, "expected a mapping"));
    for (auto field : ObjectOf(e)) {
      const std::string p = path.empty() ? std::string(field.key) : path + "." + std::string(field.key);
      bool ok = false;
      for (auto k : known) ok = ok || EqualFold(k, field.key);
      if (!ok) {
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return std::unexpected(At(p, "unknown field (known here: " + list + ")"));
      }
      Status s = f(field.key, field.value, p);
      if (!s) return s;
    }
    return {};
  }

  std::expected<std::string, std::string> String(element e, const std::string& path) const {
    if (!e.is_string()) return std::unexpected(At(path, "expected a string"));
    return std::string(e.get_string().value_unsafe());
  }

  std::expected<std::int64_t, std::string> Int(element e, const std::string& path, std::int64_t lo,
                                               std::int64_t hi) const {
    if (!e.is_int64()) return std::unexpected(At(path, "expected an integer"));
    const std::int64_t v = e.get_int64().value_unsafe();
    if (v < lo || v > hi)
      return std::unexpected(At(path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi)));
    return v;
  }

 private:
  std::string_view file_;
  const JsonDocument& doc_;
};

Status ValidVerb(const Reader& r, const std::string& path, const std::string& verb) {
  if (verb.empty() || verb.find('/') != std::string::npos || verb.find('%') != std::string::npos)
    return std::unexpected(r.At(path, "a verb is one path segment without '/' or '%'"));
  return {};
}

std::string Resolve(std::string_view base_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

// One entry of topology.levels: {name, nodeLabel, gbps, kind}; the name defaults to the label.
std::expected<topology::FabricLevel, std::string> ParseFabricLevel(const Reader& r, element item, const std::string& path) {
  topology::FabricLevel level;
  Status s = r.Fields(item, path, {"name", "nodeLabel", "gbps", "kind"},
                      [&](std::string_view key, element v, const std::string& p) -> Status {
    if (EqualFold(key, "gbps")) {
      if (!v.is_number()) return std::unexpected(r.At(p, "expected a number (GB/s per GPU, one direction)"));
      const double gbps = v.is_double() ? v.get_double().value_unsafe()
                          : v.is_int64() ? static_cast<double>(v.get_int64().value_unsafe())
                                         : static_cast<double>(v.get_uint64().value_unsafe());
      if (!(gbps > 0) || gbps > 1e6) return std::unexpected(r.At(p, "must be above 0 and at most 1000000"));
      level.gbps = gbps;
      return {};
    }
    auto str = r.String(v, p);
    if (!str) return std::unexpected(str.error());
    if (EqualFold(key, "name")) {
      level.name = *str;
    } else if (EqualFold(key, "nodeLabel")) {
      level.node_label = *str;
    } else if (*str == "Fabric") {
      level.kind = topology::LinkKind::Fabric;
    } else if (*str == "NVLink") {
      level.kind = topology::LinkKind::NVLink;
    } else {
      return std::unexpected(r.At(p, "unknown kind \"" + *str + "\" (known: Fabric, NVLink)"));
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  if (level.node_label.empty()) return std::unexpected(r.At(path, "nodeLabel is required"));
  if (level.name.empty()) level.name = level.node_label;
  return level;
}

Status ParseTopologySettings(const Reader& r, element v, const std::string& path, std::string_view base_dir,
                             TopologySettings& out) {
  Status s = r.Fields(v, path, {"preset", "levels", "kueueTopology", "file", "nvlinkCliques"},
                      [&](std::string_view key, element tv, const std::string& tp) -> Status {
    if (EqualFold(key, "nvlinkCliques")) {
      if (!tv.is_bool()) return std::unexpected(r.At(tp, "expected true or false"));
      out.nvlink_cliques = tv.get_bool().value_unsafe();
      return {};
    }
    if (!EqualFold(key, "levels")) {
      auto str = r.String(tv, tp);
      if (!str) return std::unexpected(str.error());
      if (EqualFold(key, "preset")) {
        if (auto preset = PresetFabricLevels(*str); !preset) return std::unexpected(r.At(tp, preset.error()));
        out.preset = *str;
      } else if (EqualFold(key, "file")) {
        if (str->empty()) return std::unexpected(r.At(tp, "must name a topology file"));
        out.file = Resolve(base_dir, *str);
      } else {
        if (str->empty()) return std::unexpected(r.At(tp, "must name a Kueue Topology"));
        out.kueue_topology = *str;
      }
      return {};
    }
    if (!tv.is_array()) return std::unexpected(r.At(tp, "expected a list of {name, nodeLabel, gbps, kind}, top to bottom"));
    std::size_t i = 0;
    for (element item : ArrayOf(tv)) {
      const std::string ip = tp + "[" + std::to_string(i++) + "]";
      auto level = ParseFabricLevel(r, item, ip);
      if (!level) return std::unexpected(level.error());
      for (const auto& other : out.levels) {
        if (other.node_label == level->node_label || other.name == level->name)
          return std::unexpected(r.At(ip, "level \"" + level->name + "\" (" + level->node_label + ") is listed twice"));
      }
      out.levels.push_back(std::move(*level));
    }
    if (out.levels.empty()) return std::unexpected(r.At(tp, "list at least one level (or leave levels out)"));
    FillMissingBandwidths(out.levels);
    return {};
  });
  if (!s) return s;
  const int sources = !out.levels.empty() + !out.preset.empty() + !out.kueue_topology.empty() + !out.file.empty();
  if (sources > 1) return std::unexpected(r.At(path, "set one of levels, preset, kueueTopology and file"));
  return {};
}

}  // namespace

std::expected<std::int64_t, std::string> ParseDurationMs(std::string_view text) {
  const std::string bad = "\"" + std::string(text) + "\" is not a duration (use e.g. 20s, 1m30s, 250ms, 2h)";
  if (text.empty()) return std::unexpected(bad);
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return std::unexpected(bad);
      ++i;
    }
    if (i == start) return std::unexpected(bad);
    std::int64_t unit = 0;
    if (text.substr(i, 2) == "ms") unit = 1, i += 2;
    else if (i < text.size() && text[i] == 's') unit = 1000, ++i;
    else if (i < text.size() && text[i] == 'm') unit = 60'000, ++i;
    else if (i < text.size() && text[i] == 'h') unit = 3'600'000, ++i;
    else return std::unexpected(bad);
    total += n * unit;
  }
  return total;
}

std::expected<PlatoonConfig, std::string> ParsePlatoonConfig(std::string_view text, std::string_view file,
                                                              std::string_view base_dir) {
  auto docs = YamlToJson(text, file);
  if (!docs) return std::unexpected(docs.error());
  if (docs->size() != 1)
    return std::unexpected(std::string(file) + ": expected exactly one PlatoonConfig document, found " +
                           std::to_string(docs->size()));
  const JsonDocument& doc = docs->front();
  simdjson::dom::parser parser;
  simdjson::padded_string padded(doc.json);
  auto parsed = parser.parse(padded);
  if (parsed.error()) return std::unexpected(std::string(file) + ": cannot read document");
  Reader r(file, doc);
  PlatoonConfig cfg;
  cfg.path = std::string(file);
  bool saw_kind = false;
  Status s = r.Fields(parsed.value_unsafe(), "", {"apiVersion", "kind", "schedulerName", "cluster", "quota", "gang", "topology", "scoring", "extender"},
                      [&](std::string_view key, element v, const std::string& p) -> Status {
    if (EqualFold(key, "apiVersion")) {
      auto str = r.String(v, p);
      if (!str) return std::unexpected(str.error());
      if (*str != kPlatoonApiVersion)
        return std::unexpected(r.At(p, "unsupported apiVersion \"" + *str + "\" (use " + std::string(kPlatoonApiVersion) + ")"));
    } else if (EqualFold(key, "kind")) {
      auto str = r.String(v, p);
      if (!str) return std::unexpected(str.error());
      if (*str != "PlatoonConfig") return std::unexpected(r.At(p, "kind must be PlatoonConfig"));
      saw_kind = true;
    } else if (EqualFold(key, "schedulerName")) {
      auto str = r.String(v, p);
      if (!str) return std::unexpected(str.error());
      if (str->empty()) return std::unexpected(r.At(p, "schedulerName must not be empty"));
      cfg.scheduler_name = *str;
    } else if (EqualFold(key, "cluster")) {
      auto str = r.String(v, p);
      if (!str) return std::unexpected(str.error());
      cfg.cluster_file = Resolve(base_dir, *str);
    } else if (EqualFold(key, "quota")) {
      return r.Fields(v, p, {"kueueFiles"}, [&](std::string_view, element qv, const std::string& qp) -> Status {
        if (!qv.is_array()) return std::unexpected(r.At(qp, "expected a list of Kueue manifest files"));
        std::size_t i = 0;
        for (element item : ArrayOf(qv)) {
          auto str = r.String(item, qp + "[" + std::to_string(i++) + "]");
          if (!str) return std::unexpected(str.error());
          cfg.kueue_files.push_back(Resolve(base_dir, *str));
        }
        return {};
      });
    } else if (EqualFold(key, "gang")) {
      return r.Fields(v, p, {"bindBarrierTimeout", "defaultScheduleTimeout"},
                      [&](std::string_view gk, element gv, const std::string& gp) -> Status {
        auto str = r.String(gv, gp);
        if (!str) return std::unexpected(str.error());
        auto ms = ParseDurationMs(*str);
        if (!ms) return std::unexpected(r.At(gp, ms.error()));
        if (*ms <= 0) return std::unexpected(r.At(gp, "must be longer than 0s"));
        (EqualFold(gk, "bindBarrierTimeout") ? cfg.gang.bind_barrier_timeout_ms : cfg.gang.default_schedule_timeout_ms) = *ms;
        return {};
      });
    } else if (EqualFold(key, "topology")) {
      return ParseTopologySettings(r, v, p, base_dir, cfg.topology);
    } else if (EqualFold(key, "scoring")) {
      return r.Fields(v, p, {"policy", "resources"}, [&](std::string_view sk, element sv, const std::string& sp) -> Status {
        if (EqualFold(sk, "policy")) {
          auto str = r.String(sv, sp);
          if (!str) return std::unexpected(str.error());
          auto policy = policies::MakeScorePolicy(*str);
          if (!policy) return std::unexpected(r.At(sp, policy.error()));
          cfg.scoring.policy = *str;
          return {};
        }
        if (!sv.is_array()) return std::unexpected(r.At(sp, "expected a list of {name, weight}"));
        cfg.scoring.resources.clear();
        std::size_t i = 0;
        for (element item : ArrayOf(sv)) {
          const std::string ip = sp + "[" + std::to_string(i++) + "]";
          policies::ResourceWeight w;
          Status ws = r.Fields(item, ip, {"name", "weight"}, [&](std::string_view wk, element wv, const std::string& wp) -> Status {
            if (EqualFold(wk, "name")) {
              auto str = r.String(wv, wp);
              if (!str) return std::unexpected(str.error());
              w.resource = *str;
            } else {
              auto n = r.Int(wv, wp, 1, 100);
              if (!n) return std::unexpected(n.error());
              w.weight = static_cast<int>(*n);
            }
            return {};
          });
          if (!ws) return ws;
          if (w.resource.empty()) return std::unexpected(r.At(ip, "name is required"));
          cfg.scoring.resources.push_back(std::move(w));
        }
        return {};
      });
    } else if (EqualFold(key, "extender")) {
      auto& e = cfg.extender;
      return r.Fields(v, p, {"urlPrefix", "filterVerb", "prioritizeVerb", "bindVerb", "preemptVerb", "maxRequestBytes",
                             "maxInflightRequestBytes", "maxHeaderBytes", "maxHeaders", "workers", "maxConnections",
                             "keepAliveMaxCount", "keepAliveTimeoutSeconds", "readTimeoutSeconds", "writeTimeoutSeconds",
                             "tlsHandshakeTimeoutSeconds", "threads"},
                      [&](std::string_view ek, element ev, const std::string& ep) -> Status {
        if (EqualFold(ek, "urlPrefix")) {
          auto str = r.String(ev, ep);
          if (!str) return std::unexpected(str.error());
          std::string prefix = *str;
          while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
          if (prefix.empty() || prefix[0] != '/') return std::unexpected(r.At(ep, "urlPrefix must start with '/'"));
          if (prefix == "/") prefix.clear();
          e.url_prefix = prefix;
          return {};
        }
        for (auto [name, target] : {std::pair{"filterVerb", &e.filter_verb}, std::pair{"prioritizeVerb", &e.prioritize_verb},
                                    std::pair{"bindVerb", &e.bind_verb}, std::pair{"preemptVerb", &e.preempt_verb}}) {
          if (!EqualFold(ek, name)) continue;
          auto str = r.String(ev, ep);
          if (!str) return std::unexpected(str.error());
          Status vs = ValidVerb(r, ep, *str);
          if (!vs) return vs;
          *target = *str;
          return {};
        }
        if (EqualFold(ek, "threads"))
          return std::unexpected(r.At(ep, "extender.threads was removed: waiting binds and idle connections no longer "
                                          "hold threads, so no thread count is needed for gangs; delete it (workers "
                                          "sizes the event loop for CPU, default 2)"));
        struct Limit {
          const char* name;
          std::int64_t min, max;
          std::function<void(std::int64_t)> set;
        };
        const Limit limits[] = {
            {"maxRequestBytes", 1024, std::int64_t{1} << 32, [&](std::int64_t n) { e.max_request_bytes = static_cast<std::size_t>(n); }},
            {"maxInflightRequestBytes", 1024, std::int64_t{1} << 36,
             [&](std::int64_t n) { e.max_inflight_request_bytes = static_cast<std::size_t>(n); }},
            {"maxHeaderBytes", 1024, 1 << 20, [&](std::int64_t n) { e.max_header_bytes = static_cast<std::size_t>(n); }},
            {"maxHeaders", 8, 10000, [&](std::int64_t n) { e.max_headers = static_cast<int>(n); }},
            {"workers", 1, 64, [&](std::int64_t n) { e.workers = static_cast<int>(n); }},
            {"maxConnections", 16, 1'000'000, [&](std::int64_t n) { e.max_connections = static_cast<int>(n); }},
            {"keepAliveMaxCount", 1, INT32_MAX, [&](std::int64_t n) { e.keep_alive_max_count = static_cast<int>(n); }},
            {"keepAliveTimeoutSeconds", 1, 86400, [&](std::int64_t n) { e.keep_alive_timeout_seconds = static_cast<int>(n); }},
            {"readTimeoutSeconds", 1, 3600, [&](std::int64_t n) { e.read_timeout_seconds = static_cast<int>(n); }},
            {"writeTimeoutSeconds", 1, 3600, [&](std::int64_t n) { e.write_timeout_seconds = static_cast<int>(n); }},
            {"tlsHandshakeTimeoutSeconds", 1, 3600, [&](std::int64_t n) { e.tls_handshake_timeout_seconds = static_cast<int>(n); }},
        };
        for (const auto& limit : limits) {
          if (!EqualFold(ek, limit.name)) continue;
          auto n = r.Int(ev, ep, limit.min, limit.max);
          if (!n) return std::unexpected(n.error());
          limit.set(*n);
          return {};
        }
        return {};
      });
    }
    return {};
  });
  if (!s) return std::unexpected(s.error());
  if (!saw_kind) return std::unexpected(std::string(file) + ":" + std::to_string(doc.line) + ": kind: PlatoonConfig is required");
  const auto& e = cfg.extender;
  if (e.filter_verb == e.prioritize_verb || e.filter_verb == e.bind_verb || e.filter_verb == e.preempt_verb ||
      e.prioritize_verb == e.bind_verb || e.prioritize_verb == e.preempt_verb || e.bind_verb == e.preempt_verb)
    return std::unexpected(std::string(file) + ": extender verbs must be distinct");
  if (e.max_inflight_request_bytes < e.max_request_bytes)
    return std::unexpected(std::string(file) + ": extender.maxInflightRequestBytes (" + std::to_string(e.max_inflight_request_bytes) +
                           ") must be at least maxRequestBytes (" + std::to_string(e.max_request_bytes) +
                           "), or a body of the largest allowed size could never be read");
  return cfg;
}

std::expected<PlatoonConfig, std::string> LoadPlatoonConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return std::unexpected(text.error());
  return ParsePlatoonConfig(*text, path, std::filesystem::path(path).parent_path().string());
}

}  // namespace platoon::config
