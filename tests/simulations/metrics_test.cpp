// Tests for the run metrics: percentiles, FGD's discretisation by arrived workload, queue statistics.
#include <doctest/doctest.h>

#include "simulations/metrics.h"

using namespace platoon::sim;

TEST_CASE("percentiles use the nearest rank") {
  CHECK(Percentile({}, 50) == 0);
  CHECK(Percentile({5}, 95) == 5);
  CHECK(Percentile({4, 1, 3, 2}, 50) == 2);
  CHECK(Percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 95) == 10);
  CHECK(Percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90) == 9);
  const Distribution d = Distribute({3, 1, 2});
  CHECK(d.count == 3);
  CHECK(d.mean == 2);
  CHECK(d.p50 == 2);
  CHECK(d.max == 3);
}

TEST_CASE("allocation is bucketed by arrived workload as the FGD analysis scripts do") {
  // 10 GPUs. Arrived 10 % then 20 % (allocated 10 %, 15 %) then 100 % and 101 % (allocated 90 %, 92 %).
  RunResult run;
  run.cluster_gpu_milli = 10'000;
  run.allocation = {{1000, 1000, -1}, {2000, 1500, -1}, {10'000, 9000, -1}, {10'100, 9200, -1}};
  const auto v = DiscretiseByArrived(run.allocation, run.cluster_gpu_milli, false);
  REQUIRE(v.size() == 131);
  CHECK(v[10] == 10.0);
  CHECK(v[20] == 15.0);
  CHECK(v[100] == 90.0);
  CHECK(v[101] == 92.0);
  CHECK(v[11] == 10.0);           // no event at 11 %: the events at 10..12 % count
  CHECK_FALSE(v[50].has_value()); // nothing near 50 %
  CHECK(v[99] == 90.0);
  CHECK(v[102] == 92.0);
  const RunSummary s = Summarise(run);
  CHECK(s.unallocated_gpu_pct_at_arrived100 == 10.0);
  CHECK_FALSE(s.frag_pct_at_arrived100.has_value());
}

TEST_CASE("arrived % rounds half to even, like Python's round") {
  RunResult run;
  run.cluster_gpu_milli = 100'000;
  // 2.5 % arrived rounds to 2; 3.5 % rounds to 4.
  run.allocation = {{2500, 1000, 500}, {3500, 3000, 700}};
  const auto v = DiscretiseByArrived(run.allocation, run.cluster_gpu_milli, false);
  CHECK(v[2] == 1.0);
  CHECK(v[4] == 3.0);
  CHECK(v[3] == 2.0);  // the mean of its neighbours 2 and 4
  const auto f = DiscretiseByArrived(run.allocation, run.cluster_gpu_milli, true);
  CHECK(f[2] == 0.5);
  CHECK(f[4] == 0.7);
}

TEST_CASE("queueing delay and JCT are summarised per queue and for all jobs") {
  RunResult run;
  run.jobs = {
      {"b", 0, 10'000, 10'000, 20'000, 0, 8},
      {"a", 0, 2'000, 2'000, 5'000, 0, 1},
      {"a", 1'000, 5'000, 5'000, -1, 1, 1},
      {"a", 2'000, -1, -1, -1, 0, 1},
  };
  run.utilisation = {{0, 500, 1000, 0, 1}, {10'000, 1000, 1000, 0, 2}, {30'000, 0, 1000, 0, 0}};
  run.preemptions = 1;
  const RunSummary s = Summarise(run);
  REQUIRE(s.queues.size() == 3);
  CHECK(s.queues[0].queue == "a");
  CHECK(s.queues[0].jobs == 3);
  CHECK(s.queues[0].started == 2);
  CHECK(s.queues[0].delay_s.mean == doctest::Approx(3.0));  // 2 s and 4 s
  CHECK(s.queues[0].jct_s.count == 1);
  CHECK(s.queues[1].queue == "b");
  CHECK(s.queues[1].delay_s.mean == 10.0);
  CHECK(s.queues[2].queue.empty());
  CHECK(s.queues[2].jobs == 4);
  CHECK(s.queues[2].delay_s.p95 == 10.0);
  // 50 % for 10 s then 100 % for 20 s.
  CHECK(*s.gpu_utilisation_pct_mean == doctest::Approx(250.0 / 3.0));
  CHECK(s.preemptions == 1);
}

TEST_CASE("statistics over seeds use the sample standard deviation") {
  const SeedStats s = StatsOverSeeds({4.0, 5.0, 6.0});
  CHECK(s.seeds == 3);
  CHECK(s.mean == 5.0);
  CHECK(s.median == 5.0);
  CHECK(s.sd == doctest::Approx(1.0));
  CHECK(StatsOverSeeds({1.0, 2.0}).median == 1.5);
  CHECK(StatsOverSeeds({}).seeds == 0);
}
