// What a simulation run measured, as plain values, and the headline metrics computed from them.
#include "simulations/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace platoon::sim {
namespace {

// Python's round(x, digits) for the values these tables hold: half to even at the last digit.
double RoundHalfEven(double x, int digits) {
  const double scale = std::pow(10.0, digits);
  const double scaled = x * scale;
  double r = std::floor(scaled);
  const double diff = scaled - r;
  if (diff > 0.5 || (diff == 0.5 && std::fmod(r, 2.0) != 0.0)) r += 1.0;
  return r / scale;
}

}  // namespace

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const auto idx = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[idx];
}

Distribution Distribute(std::vector<double> values) {
  Distribution d;
  d.count = values.size();
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;  // sorted order: the same sum on every run
  d.mean = sum / static_cast<double>(values.size());
  d.p50 = Percentile(values, 50);
  d.p95 = Percentile(values, 95);
  d.max = values.back();
  return d;
}

std::vector<std::optional<double>> DiscretiseByArrived(const std::vector<AllocationPoint>& points,
                                                       std::int64_t cluster_gpu_milli, bool fragmentation) {
  std::vector<std::optional<double>> out(kMaxArrivedPct + 1);
  if (cluster_gpu_milli <= 0) return out;
  // bucket -> (sum, count) of the rounded metric.
  std::map<long, std::pair<double, std::size_t>> buckets;
  const double total = static_cast<double>(cluster_gpu_milli);
  for (const auto& p : points) {
    if (fragmentation && p.frag_gpu_milli < 0) continue;
    const double arrived = RoundHalfEven(static_cast<double>(p.arrived_gpu_milli) / total * 100.0, 0);
    const double metric = fragmentation ? static_cast<double>(p.frag_gpu_milli) / total * 100.0
                                        : RoundHalfEven(static_cast<double>(p.allocated_gpu_milli) / total * 100.0, 2);
    auto& b = buckets[std::lround(arrived)];
    b.first += metric;
    ++b.second;
  }
  for (int k = 0; k <= kMaxArrivedPct; ++k) {
    double sum = 0;
    std::size_t n = 0;
    if (auto it = buckets.find(k); it != buckets.end()) {
      sum = it->second.first;
      n = it->second.second;
    } else {
      for (int j = k - 1; j <= k + 1; ++j) {
        if (auto jt = buckets.find(j); jt != buckets.end()) {
          sum += jt->second.first;
          n += jt->second.second;
        }
      }
    }
    if (n > 0) out[k] = RoundHalfEven(sum / static_cast<double>(n), 2);
  }
  return out;
}

RunSummary Summarise(const RunResult& run) {
  RunSummary s;
  s.policy = run.policy;
  s.seed = run.seed;
  s.preemptions = run.preemptions;
  s.gangs_stranded = run.gangs_stranded;
  s.pods_unplaced = run.pods_unplaced;
  if (!run.allocation.empty()) {
    s.alloc_pct_by_arrived = DiscretiseByArrived(run.allocation, run.cluster_gpu_milli, false);
    s.frag_pct_by_arrived = DiscretiseByArrived(run.allocation, run.cluster_gpu_milli, true);
    if (s.alloc_pct_by_arrived[100]) {
      s.unallocated_gpu_pct_at_arrived100 = RoundHalfEven(100.0 - *s.alloc_pct_by_arrived[100], 2);
    }
    s.frag_pct_at_arrived100 = s.frag_pct_by_arrived[100];
  }
  if (!run.jobs.empty()) {
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by_queue;
    std::map<std::string, std::pair<std::size_t, std::size_t>> counts;
    std::vector<double> all_delay, all_jct;
    std::size_t all_started = 0;
    for (const auto& j : run.jobs) {
      auto& q = by_queue[j.queue];
      auto& c = counts[j.queue];
      ++c.first;
      if (j.first_start_ms >= 0) {
        const double d = static_cast<double>(j.first_start_ms - j.arrival_ms) / 1000.0;
        q.first.push_back(d);
        all_delay.push_back(d);
        ++c.second;
        ++all_started;
      }
      if (j.end_ms >= 0) {
        const double t = static_cast<double>(j.end_ms - j.arrival_ms) / 1000.0;
        q.second.push_back(t);
        all_jct.push_back(t);
      }
    }
    for (auto& [name, v] : by_queue) {
      QueueStats qs;
      qs.queue = name;
      qs.jobs = counts[name].first;
      qs.started = counts[name].second;
      qs.delay_s = Distribute(std::move(v.first));
      qs.jct_s = Distribute(std::move(v.second));
      s.queues.push_back(std::move(qs));
    }
    QueueStats all;
    all.jobs = run.jobs.size();
    all.started = all_started;
    all.delay_s = Distribute(std::move(all_delay));
    all.jct_s = Distribute(std::move(all_jct));
    s.queues.push_back(std::move(all));
  }
  if (run.utilisation.size() >= 2) {
    // Each point holds until the next one.
    double weighted = 0;
    double span = 0;
    for (std::size_t i = 0; i + 1 < run.utilisation.size(); ++i) {
      const auto& p = run.utilisation[i];
      const double dt = static_cast<double>(run.utilisation[i + 1].time_ms - p.time_ms);
      if (dt <= 0 || p.capacity_gpu_milli <= 0) continue;
      weighted += dt * static_cast<double>(p.used_gpu_milli) / static_cast<double>(p.capacity_gpu_milli);
      span += dt;
    }
    if (span > 0) s.gpu_utilisation_pct_mean = 100.0 * weighted / span;
  }
  return s;
}

SeedStats StatsOverSeeds(const std::vector<double>& values) {
  SeedStats s;
  s.seeds = values.size();
  if (values.empty()) return s;
  std::vector<double> v = values;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  const std::size_t n = v.size();
  s.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  if (n > 1) {
    double sq = 0;
    for (double x : v) sq += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(sq / static_cast<double>(n - 1));
  }
  return s;
}

}  // namespace platoon::sim
