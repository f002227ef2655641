// Filter for a planned gang member at 5,000 nodes through the extender with the gang engine attached:
// server-side (ExtenderService::Filter on the JSON body: parse + decide + encode, in process, and each
// part alone) and end to end over loopback HTTP. Issue #5's target: under 100 us server-side.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "scheduler/extender/log.h"
#include "scheduler/extender/server.h"
#include "scheduler/extender/wire.h"

namespace platoon {
namespace {

using nlohmann::json;
constexpr int kNodes = 5000;

std::string NodeName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "gpu-node-%05d", i);
  return buf;
}

Node FabricNode(int i) {
  Node n;
  n.name = NodeName(i);
  n.labels = {{"example.com/rack", "rack-" + std::to_string(i / 32)}, {"example.com/block", "block-" + std::to_string(i / 256)},
              {"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"}};
  n.allocatable = {{"cpu", 192000}, {"memory", 2000LL << 30}, {"nvidia.com/gpu", 8}, {"pods", 110}};
  n.capacity = n.allocatable;
  return n;
}

// Member i of gang "trainer" (8 members, 8 GPUs each), as the engine knows it.
Pod Member(int i) {
  Pod p;
  p.name = "trainer-" + std::to_string(i);
  p.namespace_ = "ml";
  p.uid = "5f1e7c1a-0000-4000-8000-00000000000" + std::to_string(i);
  p.phase = "Pending";
  p.scheduler_name = "platoon";
  p.labels = {{std::string(kPodGroupLabel), "trainer"}, {"app", "trainer"}};
  p.requests = {{"cpu", 16000}, {"memory", 128LL << 30}, {"nvidia.com/gpu", 8}, {"pods", 1}};
  return p;
}

// The same member as kube-scheduler 1.36 sends it (compact, Go field order, nodeCacheCapable: true).
std::string FilterBody(const Pod& pod) {
  nlohmann::ordered_json p = {
      {"metadata",
       {{"name", pod.name}, {"namespace", pod.namespace_}, {"uid", pod.uid}, {"resourceVersion", "812734"},
        {"creationTimestamp", "2026-11-22T07:00:00Z"},
        {"labels", {{"app", "trainer"}, {std::string(kPodGroupLabel), "trainer"}}}}},
      {"spec",
       {{"containers",
         {{{"name", "trainer"}, {"image", "nvcr.io/nvidia/pytorch:24.05-py3"},
           {"resources", {{"limits", {{"nvidia.com/gpu", "8"}}}, {"requests", {{"cpu", "16"}, {"memory", "128Gi"}, {"nvidia.com/gpu", "8"}}}}},
           {"terminationMessagePath", "/dev/termination-log"}, {"terminationMessagePolicy", "File"},
           {"imagePullPolicy", "IfNotPresent"}}}},
        {"restartPolicy", "Never"}, {"terminationGracePeriodSeconds", 30}, {"dnsPolicy", "ClusterFirst"},
        {"serviceAccountName", "default"}, {"serviceAccount", "default"}, {"securityContext", json::object()},
        {"schedulerName", "platoon"},
        {"tolerations", {{{"key", "nvidia.com/gpu"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}}},
        {"priority", 0}, {"enableServiceLinks", true}, {"preemptionPolicy", "PreemptLowerPriority"}}},
      {"status", {{"phase", "Pending"}, {"qosClass", "Burstable"}}}};
  json names = json::array();
  for (int i = 0; i < kNodes; ++i) names.push_back(NodeName(i));
  return "{\"Pod\":" + p.dump() + ",\"Nodes\":null,\"NodeNames\":" + names.dump() + "}";
}

// One service with the engine attached: 5,000 8-GPU nodes (32 per rack, 8 racks per block) and a
// planned gang of 8 whole-node members.
struct Fixture {
  extender::ExtenderService service{{}, std::make_unique<ClusterState>(std::move(*policies::MakeScorePolicy("LeastAllocated")))};
  std::string body = FilterBody(Member(3));
  Fixture() {
    log::SetMinLevel(log::Level::Error);
    engine::EngineOptions o;
    o.levels = {{"block", "example.com/block", 25.0, topology::LinkKind::Fabric},
                {"rack", "example.com/rack", 50.0, topology::LinkKind::Fabric}};
    auto e = std::make_unique<engine::Engine>(o);
    for (int i = 0; i < kNodes; ++i) e->UpsertNode(FabricNode(i), 0);
    PodGroup pg;
    pg.name = "trainer";
    pg.namespace_ = "ml";
    pg.min_member = 8;
    e->UpsertPodGroup(pg, 0);
    for (int i = 0; i < 8; ++i) e->UpsertPod(Member(i), 0);
    e->AdvanceTime(1);
    service.AttachEngine(std::move(e), [] { return 1.0; });
  }
  static Fixture& Get() {
    static Fixture* f = new Fixture();
    return *f;
  }
};

void Report(benchmark::State& state, std::vector<double>& micros) {
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros[std::min(micros.size() - 1, static_cast<std::size_t>(p * micros.size()))]; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
}

int PassedNodes(const std::string& body) {
  const json r = json::parse(body);
  return r["NodeNames"].is_array() ? static_cast<int>(r["NodeNames"].size()) : 0;
}

// Server-side: the whole verb as the HTTP handler calls it (parse + engine decision + encode).
void BM_ServiceFilterPlannedMemberAt5000Nodes(benchmark::State& state) {
  auto& f = Fixture::Get();
  std::vector<double> micros;
  std::size_t response_bytes = 0;
  extender::Reply reply;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    reply = f.service.Filter(f.body);
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    response_bytes = reply.body.size();
    benchmark::DoNotOptimize(reply.body.data());
  }
  if (reply.status != 200 || PassedNodes(reply.body) != 1) state.SkipWithError("the planned node did not pass alone");
  state.counters["request_KB"] = static_cast<double>(f.body.size()) / 1024.0;
  state.counters["response_KB"] = static_cast<double>(response_bytes) / 1024.0;
  Report(state, micros);
}
BENCHMARK(BM_ServiceFilterPlannedMemberAt5000Nodes)->Unit(benchmark::kMicrosecond);

// The parts alone: decoding the request, and the engine's decision.
void BM_DecodeFilterArgsAt5000Nodes(benchmark::State& state) {
  auto& f = Fixture::Get();
  extender::WireDecoder decoder;
  for (auto _ : state) {
    auto args = decoder.DecodeFilterArgs(f.body);
    if (!args) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(args);
  }
}
BENCHMARK(BM_DecodeFilterArgsAt5000Nodes)->Unit(benchmark::kMicrosecond);

void BM_EngineDecideAt5000Nodes(benchmark::State& state) {
  auto& f = Fixture::Get();
  extender::WireDecoder decoder;
  auto args = decoder.DecodeFilterArgs(f.body);
  for (auto _ : state) {
    auto d = f.service.WithEngine([&](engine::Engine& e) { return e.Decide(args->pod, args->node_names, 1); });
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_EngineDecideAt5000Nodes)->Unit(benchmark::kMicrosecond);

// End to end over loopback: one keep-alive connection, as kube-scheduler's extender client.
void BM_HttpFilterPlannedMemberAt5000Nodes(benchmark::State& state) {
  auto& f = Fixture::Get();
  static extender::ExtenderServer* server = [&] {
    auto* s = new extender::ExtenderServer(f.service, {});
    if (!s->Start("127.0.0.1", 0, "127.0.0.1", 0)) std::abort();
    return s;
  }();
  httplib::Client client("127.0.0.1", server->port());
  client.set_tcp_nodelay(true);
  client.set_keep_alive(true);
  std::vector<double> micros;
  std::string last;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto res = client.Post("/platoon/filter", f.body, "application/json");
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    if (!res || res->status != 200) {
      state.SkipWithError("request failed");
      break;
    }
    last = std::move(res->body);
  }
  if (!last.empty() && PassedNodes(last) != 1) state.SkipWithError("the planned node did not pass alone");
  Report(state, micros);
}
BENCHMARK(BM_HttpFilterPlannedMemberAt5000Nodes)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace platoon

BENCHMARK_MAIN();
