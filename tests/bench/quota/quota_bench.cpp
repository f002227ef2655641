// Quota engine benchmarks: an admission pass over 10,000 pending workloads (100 ClusterQueues, 10
// cohorts; target < 50 ms) and preemption target search among 5,000 admitted workloads (< 5 ms).
#include <benchmark/benchmark.h>

#include <random>

#include "quota/quota_state.h"

using namespace platoon;
using namespace platoon::quota;

namespace {

QuotaConfig Platform(int cohorts, int queues_per_cohort, std::int64_t gpus_per_queue, bool limits = true) {
  QuotaConfig cfg;
  cfg.resource_flavors = {{"h100", {}, {}, {}, {}}, {"a100", {}, {}, {}, {}}};
  for (int c = 0; c < cohorts; ++c) {
    const std::string cohort = "cohort-" + std::to_string(c);
    for (int q = 0; q < queues_per_cohort; ++q) {
      ClusterQueue cq;
      cq.name = cohort + "-queue-" + std::to_string(q);
      cq.cohort = cohort;
      cq.queueing_strategy = q % 2 ? QueueingStrategy::StrictFIFO : QueueingStrategy::BestEffortFIFO;
      cq.preemption.within_cluster_queue = WithinClusterQueuePolicy::LowerPriority;
      cq.preemption.reclaim_within_cohort = ReclaimWithinCohortPolicy::Any;
      cq.preemption.borrow_within_cohort.policy = BorrowWithinCohortPolicy::LowerPriority;
      ResourceGroup cpu_group{{"cpu", "memory"}, {{"h100", {{"cpu", 512'000, std::nullopt, std::nullopt},
                                                              {"memory", 4LL << 40, std::nullopt, std::nullopt}}}}};
      ResourceGroup gpu_group{{"nvidia.com/gpu"},
                              {{"a100", {{"nvidia.com/gpu", gpus_per_queue,
                                                         limits ? std::optional<std::int64_t>(gpus_per_queue) : std::nullopt,
                                                         limits ? std::optional<std::int64_t>(gpus_per_queue / 2) : std::nullopt}}}}};
      // h100 is in the cpu group's flavor list already; GPUs use a100 only to keep groups disjoint.
      cq.resource_groups = {cpu_group, gpu_group};
      cfg.cluster_queues.push_back(std::move(cq));
    }
  }
  return cfg;
}

std::vector<Workload> Pending(const QuotaConfig& cfg, int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> queue(0, cfg.cluster_queues.size() - 1);
  std::uniform_int_distribution<int> gpus(1, 8), prio(0, 5), pods(1, 4);
  std::vector<Workload> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Workload w;
    w.name = "wl-" + std::to_string(i);
    w.cluster_queue = cfg.cluster_queues[queue(rng)].name;
    w.priority = prio(rng);
    w.creation_time = i;
    PodSet ps;
    ps.count = pods(rng);
    const int g = gpus(rng);
    ps.requests = {{"cpu", 8000LL * g}, {"memory", (64LL << 30) * g}, {"nvidia.com/gpu", g}};
    w.pod_sets.push_back(ps);
    out.push_back(std::move(w));
  }
  return out;
}

void BM_AdmissionPass10kPending100Queues10Cohorts(benchmark::State& state) {
  const QuotaConfig cfg = Platform(10, 10, 16);
  const QuotaState base = *QuotaState::Build(cfg);
  const std::vector<Workload> pending = Pending(cfg, 10'000, 7);
  std::size_t admitted = 0, preempted = 0, cycles = 0;
  for (auto _ : state) {
    state.PauseTiming();
    QuotaState s = base;
    std::vector<Workload> copy = pending;
    state.ResumeTiming();
    AdmissionPassResult r = s.RunAdmissionPass(std::move(copy));
    admitted = r.admitted.size();
    preempted = r.preemptions.size();
    cycles = static_cast<std::size_t>(r.cycles);
    benchmark::DoNotOptimize(r);
  }
  state.counters["admitted"] = static_cast<double>(admitted);
  state.counters["preemptions"] = static_cast<double>(preempted);
  state.counters["cycles"] = static_cast<double>(cycles);
}
BENCHMARK(BM_AdmissionPass10kPending100Queues10Cohorts)->Unit(benchmark::kMillisecond);

void BM_AdmissionPassFairSharing10kPending(benchmark::State& state) {
  const QuotaConfig cfg = Platform(10, 10, 16);
  QuotaOptions options;
  options.fair_sharing = true;
  const QuotaState base = *QuotaState::Build(cfg, options);
  const std::vector<Workload> pending = Pending(cfg, 10'000, 7);
  for (auto _ : state) {
    state.PauseTiming();
    QuotaState s = base;
    std::vector<Workload> copy = pending;
    state.ResumeTiming();
    benchmark::DoNotOptimize(s.RunAdmissionPass(std::move(copy)));
  }
}
BENCHMARK(BM_AdmissionPassFairSharing10kPending)->Unit(benchmark::kMillisecond);

// 5,000 one-GPU workloads admitted in one cohort of 10 queues (520 GPUs each): 9 queues borrow, the
// 10th is empty and reclaims 64 GPUs of its nominal quota.
QuotaState FullCohort(bool fair) {
  const QuotaConfig cfg = Platform(1, 10, 520, false);
  QuotaOptions options;
  options.fair_sharing = fair;
  QuotaState s = *QuotaState::Build(cfg, options);
  int n = 0;
  for (int q = 0; q < 9; ++q)
    for (int i = 0; i < 5000 / 9 + 1 && n < 5000; ++i, ++n) {
      Workload w;
      w.name = "adm-" + std::to_string(n);
      w.cluster_queue = cfg.cluster_queues[static_cast<std::size_t>(q)].name;
      w.priority = n % 3;
      w.creation_time = n;
      PodSet ps;
      ps.requests = {{"cpu", 1000}, {"nvidia.com/gpu", 1}};
      w.pod_sets.push_back(ps);
      const Assignment a = s.Assign(w);
      if (a.mode != FitMode::Fit || !s.Admit(w, a)) std::abort();
    }
  return s;
}

void RunPreemptionSearch(benchmark::State& state, bool fair) {
  const QuotaState s = FullCohort(fair);
  Workload p;
  p.name = "preemptor";
  p.cluster_queue = "cohort-0-queue-9";
  p.priority = 5;
  PodSet ps;
  ps.requests = {{"cpu", 64000}, {"nvidia.com/gpu", 264}};
  p.pod_sets.push_back(ps);
  const Assignment a = s.Assign(p);
  if (a.mode != FitMode::Preempt) std::abort();
  std::size_t targets = 0;
  for (auto _ : state) {
    PreemptionResult r = s.FindPreemptionTargets(p, a);
    targets = r.targets.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["admitted"] = static_cast<double>(s.AdmittedCount());
  state.counters["targets"] = static_cast<double>(targets);
}

void BM_PreemptionSearch5kAdmitted(benchmark::State& state) { RunPreemptionSearch(state, false); }
BENCHMARK(BM_PreemptionSearch5kAdmitted)->Unit(benchmark::kMillisecond);

void BM_FairSharingPreemptionSearch5kAdmitted(benchmark::State& state) { RunPreemptionSearch(state, true); }
BENCHMARK(BM_FairSharingPreemptionSearch5kAdmitted)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
