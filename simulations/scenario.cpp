// Scenario files (simulations/scenarios/*.yaml): what to simulate, read into plain values with file:line errors.
#include "simulations/scenario.h"

#include "config/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "quota/quantity.h"
#include "quota/resources.h"
#include "simulations/text_format.h"

namespace platoon::sim {
namespace {

namespace fs = std::filesystem;

// Internal: a located complaint, thrown only inside this file and turned into LoadError at the edge.
struct Complaint {
  std::size_t line;
  std::string message;
};

std::size_t LineOf(const YAML::Node& n) {
  const auto mark = n.Mark();
  return mark.line >= 0 ? static_cast<std::size_t>(mark.line) + 1 : 0;
}

[[noreturn]] void Fail(const YAML::Node& n, std::string message) { throw Complaint{LineOf(n), std::move(message)}; }

void CheckKeys(const YAML::Node& map, std::string_view where, const std::set<std::string>& allowed) {
  if (!map.IsMap()) Fail(map, Format("{}: expected a mapping", where));
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.contains(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Fail(kv.first, Format("{}: unknown key \"{}\" (expected one of: {})", where, key, list));
    }
  }
}

std::string Scalar(const YAML::Node& n, std::string_view what) {
  if (!n.IsScalar()) Fail(n, Format("{}: expected a single value", what));
  return n.Scalar();
}

std::int64_t Integer(const YAML::Node& n, std::string_view what, std::int64_t lo, std::int64_t hi) {
  auto v = ParseInt(what, Scalar(n, what));
  if (!v) Fail(n, v.error());
  if (*v < lo || *v > hi) Fail(n, Format("{}: {} is outside {}..{}", what, *v, lo, hi));
  return *v;
}

double Real(const YAML::Node& n, std::string_view what) {
  auto v = ParseDouble(what, Scalar(n, what));
  if (!v) Fail(n, v.error());
  return *v;
}

bool Boolean(const YAML::Node& n, std::string_view what) {
  const std::string s = Scalar(n, what);
  if (s == "true") return true;
  if (s == "false") return false;
  Fail(n, Format("{}: \"{}\" is not true or false", what, s));
}

class Resolver {
 public:
  Resolver(std::string base, bool check) : base_(std::move(base)), check_(check) {}
  std::string Path(const YAML::Node& n, std::string_view what, bool directory_ok = false) const {
    const std::string text = Scalar(n, what);
    if (text.empty()) Fail(n, Format("{}: empty path", what));
    fs::path p(text);
    if (p.is_relative()) p = fs::path(base_) / p;
    p = p.lexically_normal();
    if (check_) {
      std::error_code ec;
      if (!fs::exists(p, ec)) Fail(n, Format("{}: {} does not exist", what, p.string()));
      if (!directory_ok && fs::is_directory(p, ec)) Fail(n, Format("{}: {} is a directory, expected a file", what, p.string()));
    }
    return p.string();
  }

 private:
  std::string base_;
  bool check_;
};

void ParseCluster(const YAML::Node& c, const Resolver& r, Scenario& s) {
  CheckKeys(c, "cluster", {"trace_nodes", "philly_vcs", "topology", "kubectl_nodes"});
  if (c.size() != 1) Fail(c, "cluster: give exactly one of trace_nodes, philly_vcs, topology, kubectl_nodes");
  if (auto n = c["trace_nodes"]) {
    CheckKeys(n, "cluster.trace_nodes", {"format", "path"});
    if (!n["path"]) Fail(n, "cluster.trace_nodes: missing path");
    s.cluster = ClusterSource::TraceNodes;
    s.cluster_format = n["format"] ? Scalar(n["format"], "cluster.trace_nodes.format") : "openb";
    if (s.cluster_format != "openb") Fail(n["format"], Format("cluster.trace_nodes.format: \"{}\" is not openb", s.cluster_format));
    s.cluster_path = r.Path(n["path"], "cluster.trace_nodes.path");
  } else if (auto n = c["philly_vcs"]) {
    CheckKeys(n, "cluster.philly_vcs", {"path", "gpus_per_node"});
    if (!n["path"]) Fail(n, "cluster.philly_vcs: missing path");
    s.cluster = ClusterSource::PhillyVcs;
    s.cluster_path = r.Path(n["path"], "cluster.philly_vcs.path");
    if (n["gpus_per_node"]) s.gpus_per_node = static_cast<std::int32_t>(Integer(n["gpus_per_node"], "cluster.philly_vcs.gpus_per_node", 1, 1024));
  } else if (auto n = c["topology"]) {
    s.cluster = ClusterSource::Topology;
    s.cluster_path = r.Path(n, "cluster.topology");
  } else {
    s.cluster = ClusterSource::KubectlNodes;
    s.cluster_path = r.Path(c["kubectl_nodes"], "cluster.kubectl_nodes");
  }
}

void ParseWorkload(const YAML::Node& w, const Resolver& r, Scenario& s) {
  CheckKeys(w, "workload", {"trace", "jobs", "kubectl_pods"});
  if (w.size() != 1) Fail(w, "workload: give exactly one of trace, jobs, kubectl_pods");
  if (auto t = w["trace"]) {
    CheckKeys(t, "workload.trace", {"format", "path", "skip_bad_rows"});
    if (!t["format"]) Fail(t, "workload.trace: missing format (openb or philly)");
    if (!t["path"]) Fail(t, "workload.trace: missing path");
    s.workload = WorkloadSource::Trace;
    s.workload_format = Scalar(t["format"], "workload.trace.format");
    if (s.workload_format != "openb" && s.workload_format != "philly") {
      Fail(t["format"], Format("workload.trace.format: \"{}\" is not openb or philly", s.workload_format));
    }
    s.workload_path = r.Path(t["path"], "workload.trace.path", s.workload_format == "philly");
    if (t["skip_bad_rows"]) s.skip_bad_rows = Boolean(t["skip_bad_rows"], "workload.trace.skip_bad_rows");
  } else if (auto j = w["jobs"]) {
    s.workload = WorkloadSource::JobList;
    s.workload_path = r.Path(j, "workload.jobs");
  } else {
    s.workload = WorkloadSource::KubectlPods;
    s.workload_path = r.Path(w["kubectl_pods"], "workload.kubectl_pods");
  }
}

Scenario ParseRoot(const YAML::Node& root, const Resolver& r) {
  Scenario s;
  if (!root.IsMap()) Fail(root, "a scenario is a mapping with name, cluster, workload and policies");
  CheckKeys(root, "scenario", {"name", "description", "cluster", "quota", "workload", "policies", "seeds", "protocol", "references"});
  if (!root["name"]) Fail(root, "scenario: missing name");
  s.name = Scalar(root["name"], "name");
  if (s.name.empty()) Fail(root["name"], "name: empty");
  if (root["description"]) s.description = Scalar(root["description"], "description");
  if (!root["cluster"]) Fail(root, "scenario: missing cluster");
  ParseCluster(root["cluster"], r, s);
  if (auto q = root["quota"]) {
    CheckKeys(q, "quota", {"kueue", "philly_vcs", "unknown_queue_nominal_gpus"});
    if (q["kueue"]) s.quota_kueue = r.Path(q["kueue"], "quota.kueue", true);
    if (q["philly_vcs"]) s.quota_philly_vcs = r.Path(q["philly_vcs"], "quota.philly_vcs");
    if (q["unknown_queue_nominal_gpus"]) {
      s.unknown_queue_nominal_gpus = Integer(q["unknown_queue_nominal_gpus"], "quota.unknown_queue_nominal_gpus", 0, INT32_MAX);
    }
  }
  if (!root["workload"]) Fail(root, "scenario: missing workload");
  ParseWorkload(root["workload"], r, s);

  const YAML::Node policies = root["policies"];
  if (!policies) Fail(root, "scenario: missing policies (the policies to compare)");
  if (!policies.IsSequence() || policies.size() == 0) Fail(policies, "policies: expected a non-empty list");
  std::set<std::string> seen;
  for (const auto& p : policies) {
    ScenarioPolicy policy;
    if (p.IsScalar()) {
      policy.name = p.Scalar();
    } else {
      CheckKeys(p, "policies[]", {"name", "options"});
      if (!p["name"]) Fail(p, "policies[]: missing name");
      policy.name = Scalar(p["name"], "policies[].name");
      if (auto o = p["options"]) {
        if (!o.IsMap()) Fail(o, "policies[].options: expected a mapping of names to values");
        for (const auto& kv : o) policy.options.emplace_back(kv.first.as<std::string>(), Scalar(kv.second, "policies[].options"));
      }
    }
    if (policy.name.empty()) Fail(p, "policies[]: empty name");
    if (!seen.insert(policy.name).second) Fail(p, Format("policies: \"{}\" is listed twice", policy.name));
    s.policies.push_back(std::move(policy));
  }

  if (auto seeds = root["seeds"]) {
    if (seeds.IsSequence()) {
      for (const auto& v : seeds) s.seeds.push_back(static_cast<std::uint64_t>(Integer(v, "seeds[]", 0, INT64_MAX)));
    } else {
      CheckKeys(seeds, "seeds", {"from", "to"});
      if (!seeds["from"] || !seeds["to"]) Fail(seeds, "seeds: give a list or {from, to}");
      constexpr std::int64_t kMaxSeedsInRange = 10000;
      const auto from = Integer(seeds["from"], "seeds.from", 0, INT64_MAX - kMaxSeedsInRange);
      const auto to = Integer(seeds["to"], "seeds.to", from, from + kMaxSeedsInRange - 1);
      for (auto v = from; v <= to; ++v) s.seeds.push_back(static_cast<std::uint64_t>(v));
    }
    if (s.seeds.empty()) Fail(seeds, "seeds: empty");
  } else {
    s.seeds = {42};
  }

  if (auto p = root["protocol"]) {
    CheckKeys(p, "protocol", {"kind", "tune_ratio", "sample_interval_s"});
    if (p["kind"]) {
      const std::string kind = Scalar(p["kind"], "protocol.kind");
      if (kind == "fgd") s.protocol = ProtocolKind::Fgd;
      else if (kind == "replay") s.protocol = ProtocolKind::Replay;
      else Fail(p["kind"], Format("protocol.kind: \"{}\" is not fgd or replay", kind));
    }
    if (p["tune_ratio"]) {
      s.tune_ratio = Real(p["tune_ratio"], "protocol.tune_ratio");
      if (s.tune_ratio < 0 || s.tune_ratio > 100) Fail(p["tune_ratio"], "protocol.tune_ratio: expected 0..100");
    }
    if (p["sample_interval_s"]) s.sample_interval_s = Integer(p["sample_interval_s"], "protocol.sample_interval_s", 1, 365LL * 86400);
  }
  if (s.protocol == ProtocolKind::Fgd &&
      (s.workload != WorkloadSource::Trace || s.workload_format != "openb" || s.cluster != ClusterSource::TraceNodes)) {
    Fail(root["protocol"], "protocol.kind fgd needs cluster.trace_nodes and an openb workload.trace");
  }

  if (auto refs = root["references"]) {
    CheckKeys(refs, "references", {"fgd_unallocated", "fgd_alloc", "fgd_frag", "fgd_workload", "helios_queue_delay", "helios_jct"});
    if (refs["fgd_unallocated"]) s.ref_fgd_unallocated = r.Path(refs["fgd_unallocated"], "references.fgd_unallocated");
    if (refs["fgd_alloc"]) s.ref_fgd_alloc = r.Path(refs["fgd_alloc"], "references.fgd_alloc");
    if (refs["fgd_frag"]) s.ref_fgd_frag = r.Path(refs["fgd_frag"], "references.fgd_frag");
    if (refs["fgd_workload"]) s.ref_fgd_workload = Scalar(refs["fgd_workload"], "references.fgd_workload");
    if (refs["helios_queue_delay"]) s.ref_helios_queue_delay = r.Path(refs["helios_queue_delay"], "references.helios_queue_delay");
    if (refs["helios_jct"]) s.ref_helios_jct = r.Path(refs["helios_jct"], "references.helios_jct");
    if (s.ref_helios_queue_delay.empty() != s.ref_helios_jct.empty()) {
      Fail(refs, "references: helios_queue_delay and helios_jct go together");
    }
  }
  if (s.ref_fgd_workload.empty() && s.workload_format == "openb") {
    s.ref_fgd_workload = TraceFileStem(s.workload_path);
  }
  return s;
}

std::expected<std::string, LoadError> ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::unexpected(LoadError{path, 0, "cannot open"});
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TraceJob ParseJob(const YAML::Node& n) {
  CheckKeys(n, "jobs[]", {"name", "queue", "arrival_s", "duration_s", "pods", "gpus", "gpu_milli", "cpu", "memory", "gpu_models"});
  TraceJob job;
  if (!n["name"]) Fail(n, "jobs[]: missing name");
  job.name = Scalar(n["name"], "jobs[].name");
  if (job.name.empty()) Fail(n["name"], "jobs[].name: empty");
  if (n["queue"]) job.queue = Scalar(n["queue"], "jobs[].queue");
  auto seconds = [](const YAML::Node& v, std::string_view what) {
    const double s = Real(v, what);
    if (s < 0 || s > 1e12) Fail(v, Format("{}: {} is outside 0..1e12 s", what, s));
    return static_cast<std::int64_t>(std::llround(s * 1000.0));
  };
  if (n["arrival_s"]) job.arrival_ms = seconds(n["arrival_s"], "jobs[].arrival_s");
  if (n["duration_s"]) job.duration_ms = seconds(n["duration_s"], "jobs[].duration_s");
  PodSet set;
  if (n["pods"]) set.count = static_cast<std::int32_t>(Integer(n["pods"], "jobs[].pods", 1, 100000));
  if (n["gpus"]) set.gpus = static_cast<std::int32_t>(Integer(n["gpus"], "jobs[].gpus", 0, 1024));
  if (n["gpu_milli"]) set.gpu_milli = static_cast<std::int32_t>(Integer(n["gpu_milli"], "jobs[].gpu_milli", 1, kWholeGpuMilli));
  if (set.gpu_milli < kWholeGpuMilli && set.gpus != 1) Fail(n["gpu_milli"], "jobs[].gpu_milli: below 1000 only for a pod with gpus: 1");
  for (std::string_view res : {kResourceCPU, kResourceMemory}) {
    if (auto q = n[std::string(res)]) {
      auto parsed = Quantity::Parse(Scalar(q, Format("jobs[].{}", res)));
      if (!parsed) Fail(q, Format("jobs[].{}: {}", res, parsed.error()));
      if (parsed->IsNegative()) Fail(q, Format("jobs[].{}: negative", res));
      set.request.Set(res, ToAmount(res, *parsed));
    }
  }
  if (set.gpus > 0 && set.gpu_milli == kWholeGpuMilli) set.request.Set(kResourceGPU, set.gpus);
  job.pod_sets.push_back(std::move(set));
  if (auto m = n["gpu_models"]) {
    if (!m.IsSequence()) Fail(m, "jobs[].gpu_models: expected a list");
    for (const auto& v : m) job.gpu_models.push_back(Scalar(v, "jobs[].gpu_models[]"));
  }
  return job;
}

}  // namespace

std::expected<Scenario, LoadError> ParseScenario(const std::string& text, const std::string& file,
                                                 const std::string& base_dir, bool check_paths) {
  auto guarded = config::GuardYaml(text);
  if (!guarded) return std::unexpected(LoadError{file, static_cast<std::size_t>(guarded.error().line), guarded.error().message});
  try {
    const YAML::Node root = YAML::Load(*guarded);
    Scenario s = ParseRoot(root, Resolver(base_dir, check_paths));
    s.file = file;
    return s;
  } catch (const Complaint& c) {
    return std::unexpected(LoadError{file, c.line, c.message});
  } catch (const YAML::Exception& e) {
    return std::unexpected(LoadError{file, e.mark.line >= 0 ? static_cast<std::size_t>(e.mark.line) + 1 : 0, e.msg});
  }
}

std::expected<Scenario, LoadError> LoadScenario(const std::string& path, bool check_paths) {
  auto text = ReadText(path);
  if (!text) return std::unexpected(text.error());
  const std::string base = fs::path(path).parent_path().string();
  return ParseScenario(*text, path, base.empty() ? "." : base, check_paths);
}

std::expected<std::vector<TraceJob>, LoadError> ParseJobList(const std::string& text, const std::string& file) {
  auto guarded = config::GuardYaml(text);
  if (!guarded) return std::unexpected(LoadError{file, static_cast<std::size_t>(guarded.error().line), guarded.error().message});
  try {
    const YAML::Node root = YAML::Load(*guarded);
    if (!root.IsMap()) Fail(root, "a job list is a mapping with a jobs: list");
    CheckKeys(root, "job list", {"jobs"});
    const YAML::Node jobs = root["jobs"];
    if (!jobs || !jobs.IsSequence()) Fail(root, "jobs: expected a list");
    std::vector<TraceJob> out;
    std::set<std::string> names;
    for (const auto& j : jobs) {
      TraceJob job = ParseJob(j);
      if (!names.insert(job.name).second) Fail(j, Format("jobs[]: \"{}\" appears twice", job.name));
      out.push_back(std::move(job));
    }
    return out;
  } catch (const Complaint& c) {
    return std::unexpected(LoadError{file, c.line, c.message});
  } catch (const YAML::Exception& e) {
    return std::unexpected(LoadError{file, e.mark.line >= 0 ? static_cast<std::size_t>(e.mark.line) + 1 : 0, e.msg});
  }
}

std::expected<std::vector<TraceJob>, LoadError> LoadJobList(const std::string& path) {
  auto text = ReadText(path);
  if (!text) return std::unexpected(text.error());
  return ParseJobList(*text, path);
}

}  // namespace platoon::sim
