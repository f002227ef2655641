// Everything a scenario names, loaded: nodes, jobs, queues and published references, ready for the loop.
#include "simulations/scenario_inputs.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "config/cluster_file.h"
#include "config/topology_file.h"
#include "simulations/openb_trace.h"
#include "simulations/philly_trace.h"
#include "simulations/reference_results.h"
#include "simulations/text_format.h"

namespace platoon::sim {
namespace {

constexpr std::string_view kOpenbNote =
    "Data: Alibaba GPU cluster trace v2023 (openb), alibaba/clusterdata cluster-trace-gpu-v2023, for research "
    "or study use; cite Weng et al., Beware of Fragmentation: Scheduling GPU-Sharing Workloads with "
    "Fragmentation Gradient Descent, USENIX ATC 2023.";
constexpr std::string_view kFgdNote =
    "Published figures: FGD artifact expected_results (hkust-adsl/kubernetes-scheduler-simulator, Apache-2.0), "
    "10 seeds (42..51), tune ratio 1.3. platoon's runs use the same protocol with its own random numbers, so "
    "they match the paper in distribution, not pod for pod.";
constexpr std::string_view kPhillyNote =
    "Data: Microsoft Philly traces (msr-fiddle/philly-traces, CC BY 4.0; Jeon et al., USENIX ATC 2019), split "
    "per virtual cluster by the PCS artifact (abdullahfsm/PCS, MIT; model names synthetic); VC sizes from "
    "S-Lab-System-Group/HeliosArtifact (MIT). Each VC's submit times start at 0, so all VCs share one origin.";
constexpr std::string_view kHeliosNote =
    "Published figures: HeliosArtifact QSSF service, Philly simulation 2017-10-01..2017-11-30 with consolidate "
    "placement (Hu et al., SC 2021); a different job window and cluster model from this replay.";


// The cluster file loader's errors are "FILE:LINE: ..." already.
std::expected<config::ClusterSnapshot, LoadError> LoadSnapshot(const std::string& path) {
  auto snap = config::LoadClusterFile(path);
  if (!snap) {
    std::string message = snap.error();
    if (message.starts_with(path + ": ")) message.erase(0, path.size() + 2);
    return std::unexpected(LoadError{path, 0, std::move(message)});
  }
  return std::move(*snap);
}

// A topology file's node: its allocatable from the file, its fabric path as the levels' node labels.
std::expected<TraceNode, std::string> TraceNodeOf(const topology::NodeHardware& hw,
                                                  const std::vector<topology::FabricLevel>& levels) {
  if (hw.cpu_milli <= 0 || hw.memory_bytes <= 0)
    return std::unexpected(Format("node {} has no allocatable cpu or memory: give cpu and memory in its hardware entry",
                                  hw.name));
  TraceNode t;
  t.name = hw.name;
  t.gpus = hw.gpu_count;
  t.gpu_model = hw.gpu_model;
  t.capacity.Set(kResourceCPU, hw.cpu_milli);
  t.capacity.Set(kResourceMemory, hw.memory_bytes);
  t.capacity.Set(kResourcePods, 110);
  // Whole GPUs as nvidia.com/gpu, MIG instances as nvidia.com/mig-<profile> (the device plugin's
  // mixed strategy).
  std::int64_t whole = 0;
  std::map<std::string, std::int64_t> mig;
  for (int g = 0; g < hw.gpu_count; ++g) {
    if (!hw.IsMig(g)) ++whole;
    else for (const auto& profile : hw.mig[static_cast<std::size_t>(g)]) ++mig["nvidia.com/mig-" + profile];
  }
  if (whole > 0) t.capacity.Set(kResourceGPU, whole);
  for (const auto& [resource, count] : mig) t.capacity.Set(resource, count);
  for (std::size_t i = 0; i < hw.fabric.size() && i < levels.size(); ++i) {
    if (!levels[i].node_label.empty() && !hw.fabric[i].domain.empty()) t.labels.emplace_back(levels[i].node_label, hw.fabric[i].domain);
  }
  std::ranges::sort(t.labels);
  t.hardware = hw;
  return t;
}

TraceNode TraceNodeOf(const Node& node) {
  TraceNode t;
  t.name = node.name;
  t.capacity = node.allocatable;
  t.gpus = static_cast<std::int32_t>(node.allocatable.Get(kResourceGPU));
  if (auto m = node.labels.find("nvidia.com/gpu.product"); m != node.labels.end()) t.gpu_model = m->second;
  for (const auto& [k, v] : node.labels) t.labels.emplace_back(k, v);
  t.snapshot = node;
  return t;
}

// Pods of a snapshot as jobs at time 0 that never depart: members of one pod group (scheduler-plugins
// or Kueue plain-pod label) form one gang; running pods of any scheduler hold their capacity;
// pending pods of other schedulers and finished pods are left out.
std::vector<TraceJob> SnapshotJobs(const config::ClusterSnapshot& snap, std::vector<std::string>& notes) {
  std::map<std::string, std::size_t> by_group;
  std::vector<TraceJob> jobs;
  std::size_t skipped = 0;
  for (const Pod& pod : snap.pods) {
    if (pod.Finished() || (pod.node_name.empty() && !pod.scheduler_name.empty() && pod.scheduler_name != "platoon")) {
      ++skipped;
      continue;
    }
    std::string group;
    for (const char* key : {"scheduling.x-k8s.io/pod-group", "kueue.x-k8s.io/pod-group-name"}) {
      if (auto l = pod.labels.find(key); l != pod.labels.end() && !l->second.empty()) group = l->second;
    }
    const std::string key = group.empty() ? "pod/" + pod.Key() : pod.namespace_ + "/" + group;
    auto [it, added] = by_group.try_emplace(key, jobs.size());
    if (added) {
      TraceJob job;
      job.name = group.empty() ? pod.name : group;
      if (auto q = pod.labels.find("kueue.x-k8s.io/queue-name"); q != pod.labels.end()) job.queue = pod.namespace_ + "/" + q->second;
      jobs.push_back(std::move(job));
    }
    TraceJob& job = jobs[it->second];
    PodSet set;
    set.request = pod.requests;
    set.gpus = static_cast<std::int32_t>(pod.requests.Get(kResourceGPU));
    job.pod_sets.push_back(std::move(set));
    job.snapshot_pods.push_back(pod);
  }
  if (skipped > 0) notes.push_back(Format("{} finished pod(s) or pending pod(s) of other schedulers were left out.", skipped));
  return jobs;
}

}  // namespace

std::vector<TraceNode> PhillyNodes(const std::vector<TraceQueue>& vcs, std::int32_t gpus_per_node) {
  std::vector<TraceNode> nodes;
  for (const auto& vc : vcs) {
    for (std::int32_t i = 0; i < vc.nodes; ++i) {
      TraceNode n;
      n.name = Format("philly-{}-{:03}", vc.name, i);
      n.gpus = gpus_per_node;
      n.capacity.Set(kResourceGPU, gpus_per_node);
      n.labels = {{std::string(kPhillyVcLabel), vc.name}};
      nodes.push_back(std::move(n));
    }
  }
  return nodes;
}

std::expected<ScenarioInputs, LoadError> LoadScenarioInputs(const Scenario& s) {
  ScenarioInputs in;
  const LoadOptions options{.skip_bad_rows = s.skip_bad_rows};

  // Quota first: a Philly cluster is built from the VC sizes.
  std::vector<TraceQueue> vcs;
  if (!s.quota_philly_vcs.empty()) {
    auto q = LoadPhillyVcSizes(s.quota_philly_vcs, s.gpus_per_node);
    if (!q) return std::unexpected(q.error());
    vcs = std::move(*q);
  }
  switch (s.cluster) {
    case ClusterSource::TraceNodes: {
      auto nodes = LoadOpenbNodes(s.cluster_path, options);
      if (!nodes) return std::unexpected(nodes.error());
      in.nodes = std::move(nodes->nodes);
      break;
    }
    case ClusterSource::PhillyVcs: {
      auto sizes = LoadPhillyVcSizes(s.cluster_path, s.gpus_per_node);
      if (!sizes) return std::unexpected(sizes.error());
      in.nodes = PhillyNodes(*sizes, s.gpus_per_node);
      if (vcs.empty()) vcs = std::move(*sizes);
      break;
    }
    case ClusterSource::Topology: {
      auto file = config::LoadTopologyFile(s.cluster_path);
      if (!file) {
        const auto& first = file.error().front();
        return std::unexpected(LoadError{first.file, static_cast<std::size_t>(std::max(first.line, 0)), first.message});
      }
      for (const auto& hw : file->nodes) {
        auto node = TraceNodeOf(hw, file->levels);
        if (!node) return std::unexpected(LoadError{s.cluster_path, 0, node.error()});
        in.nodes.push_back(std::move(*node));
      }
      in.levels = file->levels;
      break;
    }
    case ClusterSource::KubectlNodes: {
      auto snap = LoadSnapshot(s.cluster_path);
      if (!snap) return std::unexpected(snap.error());
      std::map<std::string, std::vector<topology::NrtZone>, std::less<>> zones;
      for (auto& nrt : snap->node_topologies) zones.emplace(nrt.name, std::move(nrt.zones));
      for (const Node& node : snap->nodes) {
        in.nodes.push_back(TraceNodeOf(node));
        if (auto z = zones.find(node.name); z != zones.end()) in.nodes.back().zones = std::move(z->second);
      }
      break;
    }
  }

  switch (s.workload) {
    case WorkloadSource::Trace:
      if (s.workload_format == "openb") {
        auto pods = LoadOpenbPods(s.workload_path, options);
        if (!pods) return std::unexpected(pods.error());
        in.jobs = std::move(pods->pods);
        in.report = std::move(pods->report);
        in.workload_name = FgdWorkloadName(s.workload_path);
        in.notes.emplace_back(kOpenbNote);
      } else {
        namespace fs = std::filesystem;
        const bool directory = fs::is_directory(s.workload_path);
        std::string stem = TraceFileStem(s.workload_path);
        if (stem.starts_with("trace_")) stem.erase(0, 6);  // trace_<vc>.csv[.gz]: the VC
        auto jobs = directory ? LoadPhillyDirectory(s.workload_path, options)
                              : LoadPhillyJobs(s.workload_path, stem, options);
        if (!jobs) return std::unexpected(jobs.error());
        in.jobs = std::move(jobs->jobs);
        in.report = std::move(jobs->report);
        in.workload_name = directory ? fs::path(s.workload_path).lexically_normal().filename().string() : stem;
        if (in.workload_name.empty()) in.workload_name = "philly";
        in.notes.emplace_back(kPhillyNote);
      }
      break;
    case WorkloadSource::JobList: {
      auto jobs = LoadJobList(s.workload_path);
      if (!jobs) return std::unexpected(jobs.error());
      in.jobs = std::move(*jobs);
      in.report.rows_loaded = in.jobs.size();
      in.workload_name = std::filesystem::path(s.workload_path).stem().string();
      break;
    }
    case WorkloadSource::KubectlPods: {
      auto snap = LoadSnapshot(s.workload_path);
      if (!snap) return std::unexpected(snap.error());
      in.jobs = SnapshotJobs(*snap, in.notes);
      in.report.rows_loaded = snap->pods.size();
      in.workload_name = std::filesystem::path(s.workload_path).stem().string();
      break;
    }
  }
  if (s.protocol == ProtocolKind::Replay) {
    std::stable_sort(in.jobs.begin(), in.jobs.end(),
                     [](const TraceJob& a, const TraceJob& b) { return a.arrival_ms < b.arrival_ms; });
  }
  if (in.report.rows_skipped > 0) {
    in.notes.push_back(Format("{} bad rows were skipped (skip_bad_rows: true); {} rows loaded.",
                              in.report.rows_skipped, in.report.rows_loaded));
  }

  // Queues: the sized ones, then every other queue the jobs name, with the scenario's nominal GPUs.
  if (!vcs.empty()) {
    in.queues = vcs;
    std::set<std::string> known;
    for (const auto& q : vcs) known.insert(q.name);
    std::map<std::string, std::size_t> extra;
    for (const auto& j : in.jobs) {
      if (!j.queue.empty() && !known.contains(j.queue)) ++extra[j.queue];
    }
    for (const auto& [name, count] : extra) {
      in.queues.push_back(TraceQueue{name, 0, s.unknown_queue_nominal_gpus});
      in.notes.push_back(Format("Queue {} ({} jobs) has no size in the quota file; nominal quota {} GPUs.", name,
                                count, s.unknown_queue_nominal_gpus));
    }
  }

  if (!s.ref_fgd_unallocated.empty()) {
    auto unalloc = LoadReferenceTable(s.ref_fgd_unallocated, 2);
    if (!unalloc) return std::unexpected(unalloc.error());
    std::optional<ReferenceTable> alloc;
    if (!s.ref_fgd_alloc.empty()) {
      auto a = LoadReferenceTable(s.ref_fgd_alloc, 2);
      if (!a) return std::unexpected(a.error());
      alloc = std::move(*a);
    }
    std::optional<ReferenceTable> frag;
    if (!s.ref_fgd_frag.empty()) {
      auto f = LoadReferenceTable(s.ref_fgd_frag, 2);
      if (!f) return std::unexpected(f.error());
      frag = std::move(*f);
    }
    in.references = FgdReferences(*unalloc, alloc ? &*alloc : nullptr, s.ref_fgd_workload, frag ? &*frag : nullptr);
    if (in.references.empty()) {
      return std::unexpected(LoadError{s.file, 0, Format("references: {} has no rows for workload {}",
                                                         s.ref_fgd_unallocated, s.ref_fgd_workload)});
    }
    in.notes.emplace_back(kFgdNote);
  }
  if (!s.ref_helios_queue_delay.empty()) {
    auto q = LoadReferenceTable(s.ref_helios_queue_delay, 1);
    if (!q) return std::unexpected(q.error());
    auto j = LoadReferenceTable(s.ref_helios_jct, 1);
    if (!j) return std::unexpected(j.error());
    auto refs = HeliosReferences(*q, *j);
    in.references.insert(in.references.end(), refs.begin(), refs.end());
    in.notes.emplace_back(kHeliosNote);
  }
  return in;
}

SimulationReport MakeReport(const Scenario& scenario, const ScenarioInputs& inputs) {
  SimulationReport r;
  r.scenario = scenario.name;
  r.workload = inputs.workload_name;
  r.protocol = scenario.protocol == ProtocolKind::Fgd ? "fgd" : "replay";
  for (const auto& n : inputs.nodes) r.cluster_gpus += n.gpus;
  r.references = inputs.references;
  r.notes = inputs.notes;
  return r;
}

}  // namespace platoon::sim
