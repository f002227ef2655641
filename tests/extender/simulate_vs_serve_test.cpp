// The engine as `platoon simulate` drives it (simulations/engine_driver) and as `platoon serve` runs it
// behind the extender, driven over loopback HTTP by the scripted kube-scheduler: the same events must
// give the same bindings (pod, node, devices); over HTTP no earlier, and at most kube-scheduler's
// maximum backoff later.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <map>
#include <tuple>

#include "simulations/engine_driver.h"
#include "simulations/prng.h"
#include "tests/extender/kube_scheduler_driver.h"

using namespace platoon;
using namespace platoon::testing::kube;

namespace {

using Bound = std::tuple<double, std::string, std::string, std::string>;  // time, uid, node, devices

// A random trace: 2-5 nodes of 2-8 GPUs, 6-14 jobs of 1-4 pods of 1-8 GPUs arriving over ten minutes,
// some finishing, turned into the informer's events with the simulator's own object builders.
std::vector<Event> RandomEvents(std::uint64_t seed) {
  sim::Prng rng(seed);
  std::vector<Event> events;
  const int nodes = 2 + static_cast<int>(rng.UniformBelow(4));
  for (int n = 0; n < nodes; ++n) {
    sim::TraceNode t;
    t.name = "node-" + std::to_string(n);
    t.gpus = 2 + static_cast<std::int32_t>(rng.UniformBelow(7));
    t.gpu_model = "G";
    t.capacity.Set(kResourceGPU, t.gpus);
    t.capacity.Set(kResourceCPU, 64'000);
    events.push_back(NodeAdded{sim::NodeOf(t)});
  }
  const int jobs = 6 + static_cast<int>(rng.UniformBelow(9));
  std::vector<std::string> running;
  for (int j = 0; j < jobs; ++j) {
    sim::TraceJob job;
    job.name = "job-" + std::to_string(j);
    sim::PodSet set;
    set.count = 1 + static_cast<std::int32_t>(rng.UniformBelow(4));
    set.gpus = 1 + static_cast<std::int32_t>(rng.UniformBelow(8));
    set.request.Set(kResourceGPU, set.gpus);
    set.request.Set(kResourceCPU, 1000);
    job.pod_sets.push_back(set);
    if (auto g = sim::PodGroupOf(job, static_cast<std::size_t>(j), 0)) events.push_back(PodGroupAdded{*g});
    for (const auto& pod : sim::PodsOf(job, static_cast<std::size_t>(j), 0)) {
      events.push_back(PodCreated{pod});
      running.push_back(pod.uid);
    }
    events.push_back(TimeAdvanced{static_cast<Seconds>(1 + rng.UniformBelow(60))});
    if (!running.empty() && rng.UniformBelow(3) == 0) {
      const auto k = rng.UniformBelow(running.size());
      events.push_back(PodCompleted{running[k]});
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
  events.push_back(TimeAdvanced{30});
  return events;
}

// `platoon simulate`'s side: the EngineDriver fed the same events, scheduling after each.
std::vector<Bound> Simulated(const std::vector<Event>& events) {
  sim::EngineDriver driver({}, std::nullopt);
  REQUIRE(driver.Init().has_value());
  double now = 0;
  std::vector<Bound> out;
  std::map<std::string, bool> bound;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (auto* n = std::get_if<NodeAdded>(&e)) driver.AddNode(n->node, now);
    if (auto* g = std::get_if<PodGroupAdded>(&e)) driver.AddPodGroup(g->group, now);
    if (auto* p = std::get_if<PodCreated>(&e)) driver.AddPod(p->pod, now);
    if (auto* c = std::get_if<PodCompleted>(&e)) {
      if (bound[c->uid]) driver.FinishPod(c->uid, now);
      else driver.DeletePod(c->uid, now);  // never bound: the completion is of a pod that is not running
    }
    if (auto* t = std::get_if<TimeAdvanced>(&e)) now += t->by;
    for (const auto& b : driver.Schedule(now)) {
      bound[b.uid] = true;
      out.emplace_back(now, b.uid, b.node, b.devices);
    }
  }
  return out;
}

std::vector<Bound> Served(const std::vector<Event>& events) {
  DriverOptions options;
  options.transport = Transport::Http;
  KubeSchedulerDriver driver(options);
  std::vector<Event> applied;
  for (const Event& e : events) {
    // A completion of a pod that never bound is its deletion (the simulator's reading, above).
    if (auto* c = std::get_if<PodCompleted>(&e)) {
      auto it = driver.pods().find(c->uid);
      if (it != driver.pods().end() && it->second.node_name.empty()) {
        driver.Apply(PodDeleted{c->uid});
        continue;
      }
    }
    driver.Apply(e);
  }
  CHECK(driver.anomalies().empty());
  std::vector<Bound> out;
  for (const auto& d : driver.decisions()) out.emplace_back(d.at, d.pod_uid, d.node, d.devices);
  return out;
}

}  // namespace

TEST_CASE("simulate and serve make the same decisions for the same events (100 random traces over HTTP)") {
  std::size_t decisions = 0;
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    CAPTURE(seed);
    const auto events = RandomEvents(seed);
    auto simulated = Simulated(events);
    auto served = Served(events);
    // Pod, node and devices must agree. The simulator retries a pending pod as soon as the engine
    // admits its gang; kube-scheduler retries an unschedulable pod when its backoff expires, so over
    // HTTP a binding may come up to one maximum backoff (10 s) later, never earlier.
    auto key = [](const Bound& b) { return std::tuple(std::get<1>(b), std::get<2>(b), std::get<3>(b)); };
    std::ranges::sort(simulated, {}, key);
    std::ranges::sort(served, {}, key);
    REQUIRE(simulated.size() == served.size());
    for (std::size_t i = 0; i < served.size(); ++i) {
      CHECK(key(simulated[i]) == key(served[i]));
      CHECK(std::get<0>(served[i]) >= std::get<0>(simulated[i]));
      CHECK(std::get<0>(served[i]) <= std::get<0>(simulated[i]) + DriverOptions{}.max_backoff);
    }
    decisions += served.size();
  }
  MESSAGE(decisions << " bindings compared");
  CHECK(decisions > 300);
}

TEST_CASE("one seed from SVS_SEED, printed: its events and both sides' bindings" * doctest::skip(std::getenv("SVS_SEED") == nullptr)) {
  const auto events = RandomEvents(std::stoull(std::getenv("SVS_SEED")));
  for (std::size_t i = 0; i < events.size(); ++i) std::printf("%zu %s\n", i, Describe(events[i]).c_str());
  for (const auto& [e, uid, node, dev] : Simulated(events)) std::printf("sim   %.0f %s %s %s\n", e, uid.c_str(), node.c_str(), dev.c_str());
  for (const auto& [e, uid, node, dev] : Served(events)) std::printf("serve %.0f %s %s %s\n", e, uid.c_str(), node.c_str(), dev.c_str());
}
