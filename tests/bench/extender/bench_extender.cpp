// Extender benchmarks: server-side filter+prioritize latency (p50/p99) at 500/5,000/10,000 node
// names and 1,000 full Node objects, keep-alive throughput over loopback, and memory at 10k nodes.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "scheduler/extender/log.h"
#include "scheduler/extender/server.h"
#include "tests/bench/extender/extender_fixtures.h"

using namespace platoon;
using nlohmann::json;
using namespace platoon::bench;

namespace {

constexpr int kClusterNodes = 10'000;

extender::ExtenderService& Service() {
  static extender::ExtenderService* service = [] {
    log::SetMinLevel(log::Level::Error);
    return new extender::ExtenderService({}, MakeCluster(kClusterNodes));
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
