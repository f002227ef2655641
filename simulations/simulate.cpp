// The simulation loop: FGD protocol runs and trace replays on the engine, in parallel over runs.
#include "simulations/simulate.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include "simulations/text_format.h"
#include <map>
#include <mutex>
#include <queue>
#include <thread>

#include "config/fabric_levels.h"
#include "config/kueue_manifests.h"
#include "policies/fragmentation.h"
#include "policies/placement.h"

namespace platoon::sim {

namespace {

// The topology file's description of the nodes that came from one.
std::vector<topology::NodeHardware> FileHardwareOf(const std::vector<TraceNode>& nodes) {
  std::vector<topology::NodeHardware> out;
  for (const auto& n : nodes)
    if (n.hardware) out.push_back(*n.hardware);
  return out;
}

engine::EngineOptions OptionsFor(const PolicySettings& settings, std::uint64_t seed) {
  engine::EngineOptions options;
  options.preemption = settings.preemption;
  if (!settings.placement.empty()) {
    auto made = policies::MakePlacementPolicy(settings.placement, seed);
    if (made) options.placement = std::shared_ptr<policies::PlacementPolicy>(std::move(*made));
  }
  return options;
}

// FGD's fragmentation of the idle GPUs, kept per node and summed, against a fixed workload mix.
class FragmentationMeter {
 public:
  explicit FragmentationMeter(const FgdWorkload& workload) {
    for (std::size_t i = 0; i < workload.pods.size(); ++i) {
      for (const auto& pod : PodsOf(workload.pods[i], i, 0)) {
        if (auto req = engine::DeviceRequestOf(pod)) mix_.Observe(*req);
      }
    }
  }
  void Update(const topology::Topology& topo, const std::string& node) {
    auto n = topo.FindNode(node);
    if (!n) return;
    const double f = policies::ExpectedFragmentation(policies::LoadOf(topo.node(*n), topo.state(*n)), mix_);
    auto [it, added] = per_node_.try_emplace(node, 0.0);
    total_ += f - it->second;
    it->second = f;
  }
  void Seed(const topology::Topology& topo) {
    for (topology::NodeId n = 0; n < topo.node_count(); ++n) Update(topo, topo.node(n).name);
  }
  std::int64_t Total() const { return static_cast<std::int64_t>(total_ + 0.5); }

 private:
  policies::WorkloadMix mix_;
  std::map<std::string, double> per_node_;
  double total_ = 0;
};

}  // namespace

RunResult RunFgd(const ScenarioPolicy& policy, const PolicySettings& settings, std::uint64_t seed,
                 const std::vector<TraceNode>& nodes, const FgdWorkload& workload) {
  RunResult r;
  r.policy = policy.name;
  r.seed = seed;
  r.cluster_gpu_milli = workload.cluster_gpu_milli;
  EngineDriver driver(OptionsFor(settings, seed), std::nullopt);
  (void)driver.Init();
  driver.engine().SetFileHardware(FileHardwareOf(nodes));
  for (std::size_t i : workload.node_order) driver.AddNode(NodeOf(nodes[i]), 0, nodes[i].zones);
  FragmentationMeter meter(workload);
  meter.Seed(driver.engine().Topology());
  std::int64_t arrived = 0;
  r.allocation.reserve(workload.pods.size());
  for (std::size_t i = 0; i < workload.pods.size(); ++i) {
    const TraceJob& job = workload.pods[i];
    const double now = static_cast<double>(i + 1);
    const auto pods = PodsOf(job, i, 0);
    for (const auto& pod : pods) driver.AddPod(pod, now);
    const auto bound = driver.Schedule(now);
    if (bound.size() < pods.size()) {
      for (const auto& pod : pods) driver.DeletePod(pod.uid, now);
      r.pods_unplaced += static_cast<std::int64_t>(pods.size());
    }
    for (const auto& b : bound) meter.Update(driver.engine().Topology(), b.node);
    arrived += job.TotalGpuMilli();
    r.allocation.push_back({arrived, driver.BoundGpuMilli(), meter.Total()});
  }
  return r;
}

RunResult RunReplay(const ScenarioPolicy& policy, const PolicySettings& settings, std::uint64_t seed,
                    const ReplaySetup& setup) {
  const auto& jobs = *setup.jobs;
  RunResult r;
  r.policy = policy.name;
  r.seed = seed;
  for (const auto& n : *setup.nodes) r.cluster_gpu_milli += std::int64_t{n.gpus} * kWholeGpuMilli;
  auto options = OptionsFor(settings, seed);
  options.levels = setup.levels;
  EngineDriver driver(std::move(options), setup.quota);
  if (auto ok = driver.Init(); !ok) {
    r.pods_unplaced = -1;
    return r;
  }
  driver.engine().SetFileHardware(FileHardwareOf(*setup.nodes));
  for (const auto& n : *setup.nodes) driver.AddNode(NodeOf(n), 0, n.zones);

  struct JobState {
    int attempt = 0;
    int bound = 0;
    std::string gang;  // the current attempt's gang key
    bool running = false;
    bool counted_stranded = false;
    std::vector<std::string> uids;
  };
  std::vector<JobState> state(jobs.size());
  r.jobs.resize(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    r.jobs[i].queue = jobs[i].queue;
    r.jobs[i].arrival_ms = jobs[i].arrival_ms;
    r.jobs[i].gpus = static_cast<std::int32_t>((jobs[i].TotalGpuMilli() + kWholeGpuMilli - 1) / kWholeGpuMilli);
  }
  std::map<std::string, std::size_t> job_of_uid;
  std::map<std::string, std::size_t> job_of_gang;
  // Completions: (time, job, attempt), earliest first.
  using Completion = std::tuple<std::int64_t, std::size_t, int>;
  std::priority_queue<Completion, std::vector<Completion>, std::greater<>> completions;
  std::size_t next_arrival = 0;
  std::int64_t next_sample = 0;
  std::int64_t pending_jobs = 0, running_jobs = 0;

  auto submit = [&](std::size_t j, double now) {
    JobState& s = state[j];
    s.bound = 0;
    s.uids.clear();
    if (auto g = PodGroupOf(jobs[j], j, s.attempt)) driver.AddPodGroup(*g, now);
    const auto pods = PodsOf(jobs[j], j, s.attempt);
    s.gang = engine::Engine::GangKeyFor(pods.front());
    job_of_gang[s.gang] = j;
    for (const auto& pod : pods) {
      s.uids.push_back(pod.uid);
      job_of_uid[pod.uid] = j;
      driver.AddPod(pod, now);
      if (!pod.node_name.empty()) ++s.bound;  // running in the snapshot
    }
    ++pending_jobs;
    if (s.bound == static_cast<int>(s.uids.size())) {
      s.running = true;
      --pending_jobs;
      ++running_jobs;
      const auto now_ms = static_cast<std::int64_t>(std::llround(now * 1000.0));
      r.jobs[j].start_ms = r.jobs[j].first_start_ms = now_ms;
      if (jobs[j].duration_ms != kNeverDeparts) completions.emplace(now_ms + jobs[j].duration_ms, j, s.attempt);
    }
  };

  auto schedule = [&](std::int64_t now_ms) {
    const double now = static_cast<double>(now_ms) / 1000.0;
    std::vector<std::size_t> touched;  // jobs that got binds in this pass
    for (int guard = 0; guard < 64; ++guard) {
      for (const auto& b : driver.Schedule(now)) {
        const std::size_t j = job_of_uid.at(b.uid);
        touched.push_back(j);
        JobState& s = state[j];
        if (++s.bound == static_cast<int>(s.uids.size())) {
          s.running = true;
          --pending_jobs;
          ++running_jobs;
          r.jobs[j].start_ms = now_ms;
          if (r.jobs[j].first_start_ms < 0) r.jobs[j].first_start_ms = now_ms;
          if (jobs[j].duration_ms != kNeverDeparts) completions.emplace(now_ms + jobs[j].duration_ms, j, s.attempt);
        }
      }
      auto evictions = driver.TakeEvictions();
      if (evictions.empty()) break;
      for (const auto& e : evictions) {
        auto it = job_of_gang.find(e.gang);
        if (it == job_of_gang.end()) continue;
        const std::size_t j = it->second;
        JobState& s = state[j];
        for (const auto& uid : s.uids) {
          driver.DeletePod(uid, now);
          job_of_uid.erase(uid);
        }
        job_of_gang.erase(it);
        if (s.running) --running_jobs, ++pending_jobs;
        s.running = false;
        --pending_jobs;  // resubmitted below
        ++r.jobs[j].preemptions;
        ++r.preemptions;
        ++s.attempt;
        submit(j, now);
      }
    }
    // Stranded: a gang with some but not all of its pods bound once the binds settled.
    for (std::size_t j : touched) {
      JobState& s = state[j];
      if (s.bound > 0 && s.bound < static_cast<int>(s.uids.size()) && !s.counted_stranded) {
        s.counted_stranded = true;
        ++r.gangs_stranded;
      }
    }
  };

  const std::int64_t interval = std::max<std::int64_t>(1, setup.sample_interval_ms);
  while (next_arrival < jobs.size() || !completions.empty()) {
    std::int64_t t = std::numeric_limits<std::int64_t>::max();
    if (next_arrival < jobs.size()) t = jobs[next_arrival].arrival_ms;
    if (!completions.empty()) t = std::min(t, std::get<0>(completions.top()));
    while (next_sample <= t) {
      r.utilisation.push_back({next_sample, driver.BoundGpuMilli(), r.cluster_gpu_milli, pending_jobs, running_jobs});
      next_sample += interval;
    }
    const double now = static_cast<double>(t) / 1000.0;
    while (!completions.empty() && std::get<0>(completions.top()) == t) {
      const auto [when, j, attempt] = completions.top();
      completions.pop();
      JobState& s = state[j];
      if (attempt != s.attempt || !s.running) continue;  // evicted since
      for (const auto& uid : s.uids) {
        driver.FinishPod(uid, now);
        job_of_uid.erase(uid);
      }
      s.running = false;
      --running_jobs;
      r.jobs[j].end_ms = when;
      job_of_gang.erase(s.gang);
    }
    while (next_arrival < jobs.size() && jobs[next_arrival].arrival_ms == t) submit(next_arrival++, now);
    schedule(t);
  }
  r.utilisation.push_back({next_sample, driver.BoundGpuMilli(), r.cluster_gpu_milli, pending_jobs, running_jobs});
  return r;
}

std::expected<SimulationReport, std::string> Simulate(const Scenario& scenario, const ScenarioInputs& inputs,
                                                      const SimulateOptions& options) {
  SimulationReport report = MakeReport(scenario, inputs);
  std::vector<PolicySettings> settings;
  for (const auto& p : scenario.policies) {
    auto s = ReadPolicy(p);
    if (!s) return std::unexpected(s.error());
    settings.push_back(*s);
  }
  // Per seed, the FGD workload (shared by every policy); per policy, the replay quota.
  std::vector<FgdWorkload> workloads;
  std::vector<ReplaySetup> replays;
  if (scenario.protocol == ProtocolKind::Fgd) {
    for (auto seed : scenario.seeds) {
      auto w = GenerateFgdWorkload(inputs.nodes, inputs.jobs, {seed, scenario.tune_ratio});
      if (!w) return std::unexpected(Format("FGD workload for seed {}: {}", seed, w.error()));
      workloads.push_back(std::move(*w));
    }
  } else {
    std::optional<quota::QuotaConfig> kueue;
    if (!scenario.quota_kueue.empty()) {
      auto loaded = config::LoadKueueManifestFiles({scenario.quota_kueue});
      if (!loaded) return std::unexpected(config::FormatManifestErrors(loaded.error()));
      kueue = std::move(*loaded);
    }
    const bool has_quota = kueue || !inputs.queues.empty();
    // Fabric levels: the topology file's when it is the cluster, else as serve takes them when its
    // config has no topology section (the Kueue Topology).
    auto levels = config::ResolveFabricLevels({}, kueue ? &*kueue : nullptr);
    if (!levels) return std::unexpected(scenario.quota_kueue + ": " + levels.error());
    if (!inputs.levels.empty()) levels = inputs.levels;
    for (const auto& s : settings) {
      ReplaySetup setup{&inputs.nodes, &inputs.jobs, std::nullopt, scenario.sample_interval_s * 1000, *levels};
      if (has_quota) {
        auto q = ReplayQuota(kueue, inputs.queues, inputs.jobs, scenario.unknown_queue_nominal_gpus, s);
        if (!q) return std::unexpected(q.error());
        EngineDriver check({}, *q);
        if (auto ok = check.Init(); !ok) return std::unexpected("quota: " + ok.error());
        setup.quota = std::move(*q);
      }
      replays.push_back(std::move(setup));
    }
  }

  const std::size_t seeds = scenario.seeds.size();
  const std::size_t total = scenario.policies.size() * seeds;
  std::vector<RunResult> results(total);
  std::atomic<std::size_t> next{0};
  std::mutex progress_mutex;
  std::size_t done = 0;
  auto worker = [&] {
    for (std::size_t k = next++; k < total; k = next++) {
      const std::size_t p = k / seeds, s = k % seeds;
      const auto seed = scenario.seeds[s];
      results[k] = scenario.protocol == ProtocolKind::Fgd
                       ? RunFgd(scenario.policies[p], settings[p], seed, inputs.nodes, workloads[s])
                       : RunReplay(scenario.policies[p], settings[p], seed, replays[p]);
      std::lock_guard lock(progress_mutex);
      ++done;
      if (options.on_progress) options.on_progress(done, total);
    }
  };
  const int threads = std::clamp<int>(options.threads, 1, static_cast<int>(std::max<std::size_t>(total, 1)));
  std::vector<std::jthread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  pool.clear();

  for (std::size_t p = 0; p < scenario.policies.size(); ++p) {
    PolicyRuns runs{scenario.policies[p].name, {}};
    for (std::size_t s = 0; s < seeds; ++s) runs.runs.push_back(std::move(results[p * seeds + s]));
    report.policies.push_back(std::move(runs));
  }
  return report;
}

}  // namespace platoon::sim
