// Tests for the published-results tables (FGD SUMMARY files, Helios Philly results).
#include <doctest/doctest.h>

#include "simulations/reference_results.h"
#include "simulations/report.h"
#include "test_data.h"

using namespace platoon::sim;

TEST_CASE("the FGD unallocated-GPU summary gives 4.77 % for FGD on the default trace") {
  auto t = LoadReferenceTable(testing::FgdResultsDir() + "/SUMMARY_unallocated_gpu_pct_at_arrived100.csv.gz", 2);
  REQUIRE_MESSAGE(t.has_value(), t.error().ToString());
  CHECK(t->rows.size() == 102);  // 17 workloads x 6 policies
  CHECK(t->Find({"openb_pod_list_default", "06-FGD"}, "unalloc_pct_mean") == 4.77);
  CHECK(t->Find({"openb_pod_list_default", "05-BestFit"}, "unalloc_pct_mean") == 7.14);
  CHECK(t->Find({"openb_pod_list_default", "01-Random"}, "unalloc_pct_mean") == 13.70);
  CHECK_FALSE(t->Find({"openb_pod_list_default", "06-FGD"}, "no_such_column").has_value());
  auto refs = FgdReferences(*t, nullptr, "openb_pod_list_default");
  REQUIRE(refs.size() == 6);
  CHECK(refs[5].policy == "FGD");
  CHECK(refs[5].figures[0] == std::pair<std::string, double>{"unallocated_gpu_pct_mean", 4.77});
}

TEST_CASE("every FGD summary table loads") {
  for (const char* name : {"SUMMARY_alloc_ratio_by_arrived.csv.gz", "SUMMARY_frag_amount_pct_of_total_by_arrived.csv.gz",
                           "SUMMARY_frag_ratio_by_arrived.csv.gz"}) {
    CAPTURE(name);
    auto t = LoadReferenceTable(testing::FgdResultsDir() + "/" + name, 2);
    REQUIRE_MESSAGE(t.has_value(), t.error().ToString());
    CHECK(t->rows.size() == 102);
  }
  auto alloc = LoadReferenceTable(testing::FgdResultsDir() + "/SUMMARY_alloc_ratio_by_arrived.csv.gz", 2);
  CHECK(alloc->Find({"openb_pod_list_cpu050", "01-Random"}, "gpu_alloc_pct_mean@100") == 89.02);
}

TEST_CASE("the Helios Philly tables give per-VC delay and JCT per policy") {
  auto q = LoadReferenceTable(testing::PhillyDir() + "/helios_artifact_qssf_philly_results_queue_avg_seconds.csv.gz", 1);
  auto j = LoadReferenceTable(testing::PhillyDir() + "/helios_artifact_qssf_philly_results_jct_avg_seconds.csv.gz", 1);
  REQUIRE(q.has_value());
  REQUIRE(j.has_value());
  CHECK(q->value_columns == std::vector<std::string>{"fifo_consolidate", "sjf_consolidate", "srtf_consolidate", "qssf_consolidate"});
  CHECK(q->Find({"all"}, "fifo_consolidate") == 56531);
  CHECK(j->Find({"6214e9"}, "qssf_consolidate") == 26022);
  auto refs = HeliosReferences(*q, *j);
  REQUIRE(refs.size() == 4);
  CHECK(refs[0].policy == "fifo_consolidate");
  CHECK(refs[0].figures.size() == 24);
}

TEST_CASE("a reference table with a non-number is rejected at its line") {
  auto t = ParseReferenceTable(CsvReader::FromString("r.csv", "k,v\na,1\nb,x\n"), 1);
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().ToString() == "r.csv:3: column v: \"x\" is not a finite number");
}

TEST_CASE("FGD policy and workload names are normalised") {
  CHECK(FgdPolicyName("06-FGD") == "FGD");
  CHECK(FgdPolicyName("03-GpuClustering") == "GpuClustering");
  CHECK(FgdPolicyName("FGD") == "FGD");
  CHECK(FgdWorkloadName("../x/openb_pod_list_default.csv") == "openb_pod_list_default");
  CHECK(FgdWorkloadName("../x/openb_pod_list_default.csv.gz") == "openb_pod_list_default");
}

TEST_CASE("a reference row wider than the header is rejected (found by fuzz_reference_table)") {
  auto t = ParseReferenceTable(CsvReader::FromString("r.csv", "workload,sc_policy,n\nw,01-Random,10,13.70,13.75\n"), 2);
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().ToString() == "r.csv:2: 5 fields, the header has 3");
}
