// Tests for the Alibaba openb node and pod list loaders, on the real trace and on hand-made rows.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "gzip_file.h"
#include "simulations/openb_trace.h"
#include "test_data.h"

using namespace platoon;
using namespace platoon::sim;

namespace {
constexpr const char* kPodHeader =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";
}

TEST_CASE("the openb GPU node list has 1,213 nodes and 6,212 GPUs") {
  auto nodes = LoadOpenbNodes(testing::OpenbDir() + "/openb_node_list_gpu_node.csv.gz");
  REQUIRE_MESSAGE(nodes.has_value(), nodes.error().ToString());
  CHECK(nodes->nodes.size() == 1213);
  CHECK(nodes->report.rows_loaded == 1213);
  CHECK(nodes->report.rows_skipped == 0);
  std::int64_t gpus = 0, cpu = 0;
  std::map<std::string, std::int64_t> by_model;
  for (const auto& n : nodes->nodes) {
    gpus += n.gpus;
    cpu += n.capacity.Get(kResourceCPU);
    by_model[n.gpu_model] += n.gpus;
    CHECK(n.capacity.Get(kResourceGPU) == n.gpus);
  }
  CHECK(gpus == 6212);
  CHECK(cpu == 107'018'000);
  CHECK(by_model["G2"] == 4392);
  CHECK(by_model["T4"] == 842);
  CHECK(by_model["A10"] == 2);
  CHECK(nodes->nodes[0].name == "openb-node-0000");
  CHECK(nodes->nodes[0].capacity.Get(kResourceMemory) == 262144 * kBytesPerMiB);
}

TEST_CASE("the openb all-node list adds 310 CPU-only nodes") {
  auto nodes = LoadOpenbNodes(testing::OpenbDir() + "/openb_node_list_all_node.csv.gz");
  REQUIRE_MESSAGE(nodes.has_value(), nodes.error().ToString());
  CHECK(nodes->nodes.size() == 1523);
  std::size_t cpu_only = 0;
  for (const auto& n : nodes->nodes) cpu_only += n.gpus == 0 ? 1 : 0;
  CHECK(cpu_only == 310);
}

TEST_CASE("every openb pod list loads with the row counts the data README gives") {
  const std::map<std::string, std::size_t> rows = {
      {"default", 8152}, {"gpushare20", 8152}, {"gpushare100", 8152}, {"gpuspec33", 8152},
      {"multigpu20", 8324}, {"multigpu30", 8508}, {"multigpu40", 8746}, {"multigpu50", 9061},
      {"cpu0", 7064}, {"cpu300", 10094}};
  for (const auto& [name, count] : rows) {
    CAPTURE(name);
    auto pods = LoadOpenbPods(testing::OpenbDir() + "/openb_pod_list_" + name + ".csv.gz");
    REQUIRE_MESSAGE(pods.has_value(), pods.error().ToString());
    CHECK(pods->pods.size() == count);
  }
}

TEST_CASE("the default openb pod list has the README's shape") {
  auto pods = LoadOpenbPods(testing::OpenbDir() + "/openb_pod_list_default.csv.gz");
  REQUIRE(pods.has_value());
  std::size_t cpu_only = 0, shared = 0, two = 0, four = 0, eight = 0, no_sched = 0;
  std::int64_t gpu_milli = 0;
  for (const auto& p : pods->pods) {
    REQUIRE(p.pod_sets.size() == 1);
    const auto& s = p.pod_sets[0];
    gpu_milli += p.TotalGpuMilli();
    cpu_only += s.gpus == 0;
    shared += s.gpus == 1 && s.gpu_milli < 1000;
    two += s.gpus == 2;
    four += s.gpus == 4;
    eight += s.gpus == 8;
    no_sched += p.trace_scheduled_ms < 0;
    if (s.gpu_milli < 1000) CHECK(s.request.Get(kResourceGPU) == 0);
  }
  CHECK(cpu_only == 1088);
  CHECK(shared == 3078);
  CHECK(two == 16);
  CHECK(four == 15);
  CHECK(eight == 44);
  CHECK(gpu_milli == 6'086'800);
  CHECK(no_sched == 897);
  CHECK(pods->pods[0].name == "openb-pod-0000");
  CHECK(pods->pods[1].arrival_ms == 427061000);
  CHECK(pods->pods[1].duration_ms == (12902960 - 427061) * 1000LL);
}

TEST_CASE("gpu_spec is a '|'-separated list of allowed GPU models") {
  auto pods = ParseOpenbPods(CsvReader::FromString("p.csv", std::string(kPodHeader) +
      "p0,1000,1024,1,1000,V100M16|V100M32,LS,Running,0,10,0\n"
      "p1,1000,1024,1,500,,LS,Running,0,10,0\n"
      "p2,1000,1024,1,500,nan,LS,Running,0,10,0\n"));
  REQUIRE_MESSAGE(pods.has_value(), pods.error().ToString());
  CHECK(pods->pods[0].gpu_models == std::vector<std::string>{"V100M16", "V100M32"});
  CHECK(pods->pods[1].gpu_models.empty());
  CHECK(pods->pods[2].gpu_models.empty());
  auto real = LoadOpenbPods(testing::OpenbDir() + "/openb_pod_list_gpuspec33.csv.gz");
  REQUIRE(real.has_value());
  std::size_t constrained = 0;
  for (const auto& p : real->pods) constrained += !p.gpu_models.empty();
  CHECK(constrained == 2388);
}

TEST_CASE("a bad openb row is rejected with file:line, or skipped and counted when asked") {
  const std::string text = std::string(kPodHeader) +
                           "p0,1000,1024,1,1000,,LS,Running,0,10,0\n"
                           "p1,1000,1024,2,500,,LS,Running,0,10,0\n"      // line 3: shared multi-GPU
                           "p2,1000,abc,1,1000,,LS,Running,0,10,0\n"      // line 4: memory
                           "p3,1000,1024,1,1000,,LS,Running,20,10,0\n"    // line 5: deleted before created
                           "p0,1000,1024,0,0,,LS,Running,0,10,0\n"        // line 6: duplicate
                           "p5,1000,1024,0,0,,LS,Running,0,10\n"          // line 7: too few fields
                           "p6,1000,1024,9,1000,,LS,Running,0,10,0\n"     // line 8: 9 GPUs
                           "p7,1000,1024,0,0,T4,LS,Running,0,10,0\n"      // line 9: spec without GPU
                           "p8,1000,1024,1,1000,T4||G2,LS,Running,0,10,0\n"  // line 10: empty model
                           "p9,1000,1024,1,0,,LS,Running,0,10,0\n";       // line 11: gpu without share
  SUBCASE("rejected by default, at the first bad row") {
    auto pods = ParseOpenbPods(CsvReader::FromString("bad.csv", text));
    REQUIRE_FALSE(pods.has_value());
    CHECK(pods.error().ToString() ==
          "bad.csv:3: column gpu_milli: 500 with num_gpu 2 (only single-GPU pods share a GPU)");
  }
  SUBCASE("skipped, counted and listed with skip_bad_rows") {
    auto pods = ParseOpenbPods(CsvReader::FromString("bad.csv", text), LoadOptions{.skip_bad_rows = true});
    REQUIRE(pods.has_value());
    CHECK(pods->pods.size() == 1);
    CHECK(pods->report.rows_loaded == 1);
    CHECK(pods->report.rows_skipped == 9);
    REQUIRE(pods->report.skipped.size() == 9);
    std::vector<std::size_t> lines;
    for (const auto& e : pods->report.skipped) lines.push_back(e.line);
    CHECK(lines == std::vector<std::size_t>{3, 4, 5, 6, 7, 8, 9, 10, 11});
    CHECK(pods->report.skipped[1].message == "column memory_mib: \"abc\" is not an integer");
    CHECK(pods->report.skipped[2].message == "column deletion_time: 10 is before creation_time 20");
    CHECK(pods->report.skipped[3].message == "pod \"p0\" appears twice");
    CHECK(pods->report.skipped[4].message == "10 fields, the header has 11");
  }
}

TEST_CASE("a bad node row names the problem") {
  const std::string header = "sn,cpu_milli,memory_mib,gpu,model\n";
  auto check = [&](std::string row, std::string message) {
    CAPTURE(row);
    auto nodes = ParseOpenbNodes(CsvReader::FromString("n.csv", header + row));
    REQUIRE_FALSE(nodes.has_value());
    CHECK(nodes.error().ToString() == "n.csv:2: " + message);
  };
  check("n0,64000,1024,2,\n", "column model: a node with 2 GPUs needs a model");
  check("n0,64000,1024,0,T4\n", "column model: \"T4\" given for a node without GPUs");
  check("n0,-5,1024,0,\n", "column cpu_milli: -5 is outside 0..1099511627776");
  check(",64000,1024,0,\n", "column sn: empty node name");
}

TEST_CASE("the five-column multigpu pod lists load without times") {
  auto pods = LoadOpenbPods(testing::OpenbDir() + "/openb_pod_list_multigpu50.csv.gz");
  REQUIRE(pods.has_value());
  CHECK(pods->pods[0].arrival_ms == 0);
  CHECK(pods->pods[0].duration_ms == kNeverDeparts);
  CHECK(pods->pods[0].qos.empty());
}

TEST_CASE("a truncated compressed pod list is rejected, even with skip_bad_rows, and the plain list still loads") {
  const auto dir = std::filesystem::temp_directory_path() / "platoon-openb-gzip-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string text = kPodHeader;
  for (int i = 0; i < 100'000; ++i) {
    text += "p" + std::to_string(i) + "," + std::to_string(1000 + i % 977) + ",1024,1," + std::to_string(100 + i % 900) +
            ",,LS,Running,0,10,0\n";
  }
  std::ofstream(dir / "pods.csv", std::ios::binary) << text;
  testing::WriteGzip(dir / "pods.csv.gz", text);
  std::string bytes;
  {
    std::ifstream in(dir / "pods.csv.gz", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(dir / "cut.csv.gz", std::ios::binary) << bytes.substr(0, bytes.size() * 2 / 3);

  auto plain = LoadOpenbPods((dir / "pods.csv").string());
  auto gz = LoadOpenbPods((dir / "pods.csv.gz").string());
  REQUIRE_MESSAGE(plain.has_value(), plain.error().ToString());
  REQUIRE_MESSAGE(gz.has_value(), gz.error().ToString());
  CHECK(plain->pods.size() == 100'000);
  CHECK(gz->pods.size() == 100'000);
  CHECK(gz->pods.back().name == plain->pods.back().name);
  CHECK(gz->pods.back().TotalGpuMilli() == plain->pods.back().TotalGpuMilli());
  for (bool skip : {false, true}) {
    CAPTURE(skip);
    auto cut = LoadOpenbPods((dir / "cut.csv.gz").string(), LoadOptions{.skip_bad_rows = skip});
    REQUIRE_FALSE(cut.has_value());
    CHECK(cut.error().file == (dir / "cut.csv.gz").string());
    CHECK(cut.error().line > 2);
    CHECK(cut.error().message == "gzip: unexpected end of file");
  }
  std::filesystem::remove_all(dir);
}
