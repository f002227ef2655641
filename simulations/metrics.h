// What a simulation run measured, as plain values, and the headline metrics computed from them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace platoon::sim {

// After each scheduling event of the FGD protocol (one pod arrived and was placed or not).
struct AllocationPoint {
  std::int64_t arrived_gpu_milli = 0;    // GPU milli of every pod arrived so far, placed or not
  std::int64_t allocated_gpu_milli = 0;  // GPU milli held by placed pods
  std::int64_t frag_gpu_milli = -1;      // fragmented idle GPU milli (FGD's measure); -1 unmeasured
  friend bool operator==(const AllocationPoint&, const AllocationPoint&) = default;
};

// Cluster state at a moment of virtual time (trace replays).
struct UtilisationPoint {
  std::int64_t time_ms = 0;
  std::int64_t used_gpu_milli = 0;
  std::int64_t capacity_gpu_milli = 0;
  std::int64_t pending_jobs = 0;
  std::int64_t running_jobs = 0;
  friend bool operator==(const UtilisationPoint&, const UtilisationPoint&) = default;
};

// One job's life in a run. start_ms/end_ms are -1 when it never started/finished.
struct JobRecord {
  std::string queue;
  std::int64_t arrival_ms = 0;
  std::int64_t start_ms = -1;   // when the whole gang was last admitted and bound
  std::int64_t first_start_ms = -1;
  std::int64_t end_ms = -1;
  std::int32_t preemptions = 0; // times the job was evicted and restarted
  std::int32_t gpus = 0;
  friend bool operator==(const JobRecord&, const JobRecord&) = default;
};

// Everything one (policy, seed) run hands to the writers. The simulation loop fills it; nothing here
// knows how placement was decided.
struct RunResult {
  std::string policy;
  std::uint64_t seed = 0;
  std::int64_t cluster_gpu_milli = 0;
  std::vector<AllocationPoint> allocation;   // FGD protocol runs
  std::vector<UtilisationPoint> utilisation; // trace replays, in time order
  std::vector<JobRecord> jobs;               // trace replays
  std::int64_t preemptions = 0;              // workloads evicted
  std::int64_t gangs_stranded = 0;           // gangs seen partly bound at any point (must be 0)
  std::int64_t pods_unplaced = 0;            // pods that never found a node
};

struct Distribution {
  std::size_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p95 = 0;
  double max = 0;
  friend bool operator==(const Distribution&, const Distribution&) = default;
};

struct QueueStats {
  std::string queue;             // "" for all queues together
  std::size_t jobs = 0;
  std::size_t started = 0;
  Distribution delay_s;          // first start - arrival, over started jobs
  Distribution jct_s;            // end - arrival, over finished jobs
  friend bool operator==(const QueueStats&, const QueueStats&) = default;
};

// Headline metrics of one run.
struct RunSummary {
  std::string policy;
  std::uint64_t seed = 0;
  // FGD's discretisation: index k (0..130) = mean GPU allocation % over events whose arrived % rounds
  // to k (else to k-1..k+1); nullopt where no event is near.
  std::vector<std::optional<double>> alloc_pct_by_arrived;
  std::vector<std::optional<double>> frag_pct_by_arrived;  // fragmented GPU as % of all GPUs
  std::optional<double> unallocated_gpu_pct_at_arrived100;
  std::optional<double> frag_pct_at_arrived100;
  std::vector<QueueStats> queues;  // sorted by name, then one with queue "" for all jobs
  std::optional<double> gpu_utilisation_pct_mean;  // time-weighted over the utilisation series
  std::int64_t preemptions = 0;
  std::int64_t gangs_stranded = 0;
  std::int64_t pods_unplaced = 0;
};

inline constexpr int kMaxArrivedPct = 130;

// Nearest-rank percentile (p in 0..100) of unsorted values; 0 for none.
double Percentile(std::vector<double> values, double p);
Distribution Distribute(std::vector<double> values);

// FGD's merge_alloc_discrete: arrived % rounded half to even, the metric rounded to 2 decimals,
// averaged per arrived % bucket, the mean rounded to 2 decimals.
std::vector<std::optional<double>> DiscretiseByArrived(const std::vector<AllocationPoint>& points,
                                                       std::int64_t cluster_gpu_milli, bool fragmentation);

RunSummary Summarise(const RunResult& run);

// Several seeds of one policy: mean, median and standard deviation of a per-seed figure.
struct SeedStats {
  std::size_t seeds = 0;
  double mean = 0;
  double median = 0;
  double sd = 0;  // sample standard deviation (n - 1), 0 for one seed
  friend bool operator==(const SeedStats&, const SeedStats&) = default;
};
SeedStats StatsOverSeeds(const std::vector<double>& values);

}  // namespace platoon::sim
