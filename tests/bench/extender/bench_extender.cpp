// Extender benchmarks: server-side filter+prioritize latency (p50/p99) at 500/5,000/10,000 node
// names and 1,000 full Node objects, keep-alive throughput over loopback, and memory at 10k nodes.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "scheduler/extender/log.h"
#include "scheduler/extender/server.h"

using namespace platoon;
using nlohmann::json;

namespace {

constexpr int kClusterNodes = 10'000;

std::string NodeName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "gpu-node-%05d", i);
  return buf;
}

// A 10,000-node GPU cluster with a third of the GPUs in use.
std::unique_ptr<ClusterState> MakeCluster() {
  auto state = std::make_unique<ClusterState>(std::move(*policies::MakeScorePolicy("MostAllocated")));
  for (int i = 0; i < kClusterNodes; ++i) {
    Node n;
    n.name = NodeName(i);
    n.labels = {{"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"}, {"topology.kubernetes.io/zone", "zone-" + std::to_string(i % 3)}};
    n.allocatable = {{"cpu", 192000}, {"memory", 2000LL << 30}, {"nvidia.com/gpu", 8}, {"pods", 110}};
    state->UpsertNode(n);
    if (i % 3 == 0) {
      Pod p;
      p.name = "running-" + std::to_string(i);
      p.uid = p.name;
      p.node_name = n.name;
      p.requests = {{"cpu", 32000}, {"memory", 200LL << 30}, {"nvidia.com/gpu", 4}, {"pods", 1}};
      state->UpsertPod(p);
    }
  }
  return state;
}

json PodJson() {
  return {{"metadata", {{"name", "trainer-0"}, {"namespace", "ml"}, {"uid", "5f1e7c1a-0000-4000-8000-000000000001"},
                        {"labels", {{"app", "trainer"}, {"kueue.x-k8s.io/queue-name", "team-a"}}}}},
          {"spec", {{"schedulerName", "platoon"},
                    {"containers", {{{"name", "trainer"}, {"image", "nvcr.io/nvidia/pytorch:24.05-py3"},
                                     {"resources", {{"requests", {{"cpu", "16"}, {"memory", "128Gi"}, {"nvidia.com/gpu", "2"}}},
                                                    {"limits", {{"nvidia.com/gpu", "2"}}}}}}}},
                    {"tolerations", {{{"key", "nvidia.com/gpu"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}}}}},
          {"status", {{"phase", "Pending"}}}};
}

std::string NamesRequest(int n) {
  json names = json::array();
  for (int i = 0; i < n; ++i) names.push_back(NodeName(i));
  return json{{"Pod", PodJson()}, {"NodeNames", names}}.dump();
}

// Full Node objects as kube-scheduler sends them without nodeCacheCapable: upstream's fixture with
// a realistic image list (images dominate real Node objects).
std::string NodesRequest(int n) {
  std::ifstream in(std::string(PLATOON_SHARED_DATA_DIR) + "/k8s-wire/HEAD.core.v1.Node.json");
  std::stringstream s;
  s << in.rdbuf();
  json base = json::parse(s.str());
  base.erase("kind");
  base.erase("apiVersion");
  base["status"]["allocatable"] = {{"cpu", "192"}, {"memory", "2000Gi"}, {"nvidia.com/gpu", "8"}, {"pods", "110"}};
  json images = json::array();
  for (int k = 0; k < 12; ++k)
    images.push_back({{"names", {"registry.example.com/ml/image-" + std::to_string(k) + "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                 "registry.example.com/ml/image-" + std::to_string(k) + ":v1." + std::to_string(k)}},
                      {"sizeBytes", 1234567890 + k}});
  base["status"]["images"] = images;
  json items = json::array();
  for (int i = 0; i < n; ++i) {
    json node = base;
    node["metadata"]["name"] = NodeName(i);
    items.push_back(std::move(node));
  }
  return json{{"Pod", PodJson()}, {"Nodes", {{"metadata", json::object()}, {"items", items}}}}.dump();
}

extender::ExtenderService& Service() {
  static extender::ExtenderService* service = [] {
    log::SetMinLevel(log::Level::Error);
    return new extender::ExtenderService({}, MakeCluster());
  }();
  return *service;
}

void ReportPercentiles(benchmark::State& state, std::vector<double>& micros) {
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros[std::min(micros.size() - 1, static_cast<std::size_t>(p * micros.size()))]; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["max_us"] = micros.back();
}

// Server-side cost of one scheduling cycle's extender work: filter then prioritize, same body.
void BM_FilterPrioritize(benchmark::State& state, std::string body) {
  auto& service = Service();
  std::vector<double> micros;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto f = service.Filter(body);
    auto p = service.Prioritize(body);
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    if (f.status != 200 || p.status != 200) state.SkipWithError("non-200 answer");
    benchmark::DoNotOptimize(f.body.data());
  }
  state.counters["request_KB"] = static_cast<double>(body.size()) / 1024.0;
  ReportPercentiles(state, micros);
}

// Requests per second over one keep-alive connection (filter, 500 names), real HTTP on loopback.
void BM_HttpKeepAliveFilter500(benchmark::State& state) {
  static extender::ExtenderServer* server = [] {
    auto* s = new extender::ExtenderServer(Service(), {});
    if (!s->Start("127.0.0.1", 0, "127.0.0.1", 0)) std::abort();
    return s;
  }();
  const std::string body = NamesRequest(500);
  httplib::Client client("127.0.0.1", server->port());
  client.set_tcp_nodelay(true);
  client.set_keep_alive(true);
  std::vector<double> micros;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto res = client.Post("/platoon/filter", body, "application/json");
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    if (!res || res->status != 200) state.SkipWithError("request failed");
  }
  state.counters["requests_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  ReportPercentiles(state, micros);
}

void BM_MemoryAt10kNodes(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Service().settings());
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["cached_nodes"] = kClusterNodes;
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

BENCHMARK_CAPTURE(BM_FilterPrioritize, names_500, NamesRequest(500))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_FilterPrioritize, names_5000, NamesRequest(5000))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_FilterPrioritize, names_10000, NamesRequest(10000))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_FilterPrioritize, full_nodes_1000, NodesRequest(1000))->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HttpKeepAliveFilter500)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MemoryAt10kNodes)->Iterations(1);

BENCHMARK_MAIN();
