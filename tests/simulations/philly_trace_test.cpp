// Tests for the Philly per-VC job loader and the VC size list, on the real trace and hand-made rows.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gzip_file.h"
#include "simulations/philly_trace.h"
#include "test_data.h"

using namespace platoon;
using namespace platoon::sim;

TEST_CASE("the twelve Philly per-VC files hold 109,532 jobs") {
  auto jobs = LoadPhillyDirectory(testing::PhillyPerVcDir());
  REQUIRE_MESSAGE(jobs.has_value(), jobs.error().ToString());
  CHECK(jobs->jobs.size() == 109'532);
  CHECK(jobs->report.rows_loaded == 109'532);
  std::map<std::string, std::size_t> per_vc;
  std::map<std::int32_t, std::size_t> gpus_2869ce;
  std::int32_t max_gpus = 0;
  for (const auto& j : jobs->jobs) {
    ++per_vc[j.queue];
    const std::int32_t gpus = static_cast<std::int32_t>(j.TotalGpuMilli() / 1000);
    max_gpus = std::max(max_gpus, gpus);
    if (j.queue == "2869ce") ++gpus_2869ce[gpus];
  }
  CHECK(per_vc.size() == 12);
  CHECK(per_vc["6214e9"] == 51'258);
  CHECK(per_vc["51b7ef"] == 63);
  CHECK(per_vc["ed69ec"] == 1'400);
  CHECK(max_gpus == 48);
  CHECK(gpus_2869ce == std::map<std::int32_t, std::size_t>{{1, 133}, {2, 22}, {4, 34}, {8, 662}, {16, 3}, {32, 102}});
}

TEST_CASE("a Philly job above 8 GPUs is a gang of 8-GPU pods plus the remainder") {
  CHECK(PhillyPodSets(1).size() == 1);
  CHECK(PhillyPodSets(8)[0].gpus == 8);
  auto sixteen = PhillyPodSets(16);
  REQUIRE(sixteen.size() == 1);
  CHECK(sixteen[0].count == 2);
  CHECK(sixteen[0].gpus == 8);
  CHECK(sixteen[0].request.Get(kResourceGPU) == 8);
  auto twelve = PhillyPodSets(12);
  REQUIRE(twelve.size() == 2);
  CHECK(twelve[0].count == 1);
  CHECK(twelve[0].gpus == 8);
  CHECK(twelve[1].count == 1);
  CHECK(twelve[1].gpus == 4);
  auto seven = PhillyPodSets(7);
  CHECK(seven[0].count == 1);
  CHECK(seven[0].gpus == 7);
}

TEST_CASE("Philly service is GPU-seconds: running time is service over GPUs") {
  auto jobs = ParsePhillyJobs(CsvReader::FromString("trace_x.csv",
      "app_id,submit_time,service,num_jobs,sleep_time,model_name\n"
      "0,0.0,16482.0,1,0.0,TransformerModel256\n"
      "1,336541.0,8562099.517582526,8,336541.0,VggnetModel256\n"
      "2,336541.5,3200,16,0.5,Resnet50Model128\n"), "x");
  REQUIRE_MESSAGE(jobs.has_value(), jobs.error().ToString());
  REQUIRE(jobs->jobs.size() == 3);
  CHECK(jobs->jobs[0].name == "x-0");
  CHECK(jobs->jobs[0].queue == "x");
  CHECK(jobs->jobs[0].duration_ms == 16'482'000);
  CHECK(jobs->jobs[1].arrival_ms == 336'541'000);
  CHECK(jobs->jobs[1].duration_ms == 1'070'262'440);  // 8562099.5176 / 8 s, rounded to ms
  CHECK(jobs->jobs[1].work_gpu_seconds == doctest::Approx(8562099.517582526));
  CHECK(jobs->jobs[2].arrival_ms == 336'541'500);
  CHECK(jobs->jobs[2].duration_ms == 200'000);
  CHECK(jobs->jobs[2].TotalPods() == 2);
  CHECK(jobs->jobs[2].IsGang());
  CHECK(jobs->jobs[2].model_name == "Resnet50Model128");
}

TEST_CASE("a bad Philly row is rejected with file:line, or skipped and counted when asked") {
  const std::string text =
      "app_id,submit_time,service,num_jobs,sleep_time,model_name\n"
      "0,10.0,100,1,0,M\n"
      "1,5.0,100,1,0,M\n"      // line 3: goes back in time
      "2,11.0,0,1,0,M\n"       // line 4: no work
      "3,12.0,100,0,0,M\n"     // line 5: no GPUs
      "4,13.0,1e3,x,0,M\n"     // line 6: GPUs not a number
      "0,14.0,100,1,0,M\n"     // line 7: duplicate app_id
      "5,15.0,100,2,0,M\n";
  SUBCASE("rejected") {
    auto jobs = ParsePhillyJobs(CsvReader::FromString("trace_v.csv", text), "v");
    REQUIRE_FALSE(jobs.has_value());
    CHECK(jobs.error().ToString() == "trace_v.csv:3: column submit_time: 5 s is before the previous row's 10 s");
  }
  SUBCASE("skipped") {
    auto jobs = ParsePhillyJobs(CsvReader::FromString("trace_v.csv", text), "v", {.skip_bad_rows = true});
    REQUIRE(jobs.has_value());
    CHECK(jobs->jobs.size() == 2);
    CHECK(jobs->report.rows_skipped == 5);
    std::vector<std::size_t> lines;
    for (const auto& e : jobs->report.skipped) lines.push_back(e.line);
    CHECK(lines == std::vector<std::size_t>{3, 4, 5, 6, 7});
    CHECK(jobs->report.skipped[1].message == "column service: 0 GPU-seconds is not a positive amount of work");
    CHECK(jobs->report.skipped[2].message == "column num_jobs: 0 GPUs is outside 1..4096");
  }
}

TEST_CASE("the Philly VC sizes give 11 VCs in 8-GPU nodes") {
  auto vcs = LoadPhillyVcSizes(testing::PhillyDir() + "/philly_vc.csv.gz");
  REQUIRE_MESSAGE(vcs.has_value(), vcs.error().ToString());
  REQUIRE(vcs->size() == 11);
  CHECK((*vcs)[0] == TraceQueue{"6214e9", 64, 512});
  std::int64_t nodes = 0;
  for (const auto& q : *vcs) nodes += q.nodes;
  CHECK(nodes == 352);
  auto bad = ParsePhillyVcSizes(CsvReader::FromString("vc.csv", "vc,node num\na,4\na,5\n"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().ToString() == "vc.csv:3: VC \"a\" appears twice");
}

TEST_CASE("a Philly directory may mix plain and compressed files, one per VC") {
  const auto dir = std::filesystem::temp_directory_path() / "platoon-philly-gzip-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string header = "app_id,submit_time,service,num_jobs,sleep_time,model_name\n";
  std::ofstream(dir / "trace_a.csv") << header << "0,0.0,100,1,0,M\n";
  testing::WriteGzip(dir / "trace_b.csv.gz", header + "0,5.0,800,8,0,M\n1,6.0,100,1,1,M\n");
  std::ofstream(dir / "notes.txt") << "not a trace\n";
  auto jobs = LoadPhillyDirectory(dir.string());
  REQUIRE_MESSAGE(jobs.has_value(), jobs.error().ToString());
  REQUIRE(jobs->jobs.size() == 3);
  CHECK(jobs->jobs[0].queue == "a");
  CHECK(jobs->jobs[1].queue == "b");
  CHECK(jobs->jobs[1].TotalGpuMilli() == 8000);
  CHECK(jobs->jobs[2].queue == "b");

  testing::WriteGzip(dir / "trace_a.csv.gz", header + "0,0.0,100,1,0,M\n");
  auto twice = LoadPhillyDirectory(dir.string());
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().ToString() == dir.string() + ": trace_a.csv and trace_a.csv.gz hold the same VC: keep one");
  std::filesystem::remove_all(dir);
}
