// The node cache's single-pod decisions, including the no-overcommit property under random binds.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "scheduler/cluster_state.h"

using namespace platoon;

namespace {
Node MakeNode(std::string name, int gpus, std::int64_t cpu_milli) {
  Node n;
  n.name = std::move(name);
  n.allocatable = {{"cpu", cpu_milli}, {"nvidia.com/gpu", gpus}, {"pods", 110}};
  return n;
}
Pod MakePod(std::string uid, int gpus, std::int64_t cpu_milli) {
  Pod p;
  p.name = uid;
  p.uid = std::move(uid);
  p.requests = {{"cpu", cpu_milli}, {"nvidia.com/gpu", gpus}, {"pods", 1}};
  return p;
}
std::unique_ptr<ClusterState> NewState(const char* policy = "LeastAllocated") {
  return std::make_unique<ClusterState>(std::move(*policies::MakeScorePolicy(policy)));
}
}  // namespace

TEST_CASE("filter sorts nodes into fits, failed and unresolvable with reasons") {
  auto state = NewState();
  state->UpsertNode(MakeNode("gpu", 8, 64000));
  state->UpsertNode(MakeNode("cpu", 0, 64000));
  Node not_ready = MakeNode("sick", 8, 64000);
  not_ready.ready = false;
  state->UpsertNode(not_ready);
  auto verdicts = state->Filter(MakePod("p", 4, 1000), {"gpu", "cpu", "sick", "ghost"});
  REQUIRE(verdicts.size() == 4);
  CHECK(verdicts[0].kind == NodeVerdictKind::Fits);
  CHECK(verdicts[1].kind == NodeVerdictKind::Unresolvable);
  CHECK(verdicts[1].reason == "node has no nvidia.com/gpu (requested 4)");
  CHECK(verdicts[2].kind == NodeVerdictKind::Unresolvable);
  CHECK(verdicts[3].kind == NodeVerdictKind::Failed);
}

TEST_CASE("scoring follows the configured policy") {
  for (const char* policy : {"LeastAllocated", "MostAllocated"}) {
    CAPTURE(policy);
    auto state = NewState(policy);
    state->UpsertNode(MakeNode("empty", 8, 64000));
    state->UpsertNode(MakeNode("busy", 8, 64000));
    Pod running = MakePod("r", 6, 32000);
    running.node_name = "busy";
    state->UpsertPod(running);
    auto scores = state->Score(MakePod("p", 1, 1000), {"empty", "busy", "ghost"});
    CHECK(scores[2] == 0);
    if (std::string(policy) == "LeastAllocated") CHECK(scores[0] > scores[1]);
    else CHECK(scores[1] > scores[0]);
  }
}

TEST_CASE("finished and removed pods give their resources back") {
  auto state = NewState();
  state->UpsertNode(MakeNode("n", 8, 64000));
  Pod p = MakePod("a", 8, 1000);
  p.node_name = "n";
  state->UpsertPod(p);
  CHECK(state->RequestedOn("n")->Get("nvidia.com/gpu") == 8);
  p.phase = "Succeeded";
  state->UpsertPod(p);
  CHECK(state->RequestedOn("n")->Get("nvidia.com/gpu") == 0);
  Pod q = MakePod("b", 2, 1000);
  q.node_name = "n";
  state->UpsertPod(q);
  CHECK(state->RemovePod("b"));
  CHECK(state->RequestedOn("n")->Get("nvidia.com/gpu") == 0);
  CHECK(state->RemoveNode("n"));
  CHECK(state->Counts().nodes == 0);
}

TEST_CASE("property: random filter and bind sequences never overcommit a node") {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    auto state = NewState();
    std::vector<std::string> names;
    for (int i = 0; i < 6; ++i) {
      names.push_back("n" + std::to_string(i));
      state->UpsertNode(MakeNode(names.back(), 8, 32000));
    }
    std::vector<std::string_view> candidates(names.begin(), names.end());
    for (int i = 0; i < 200; ++i) {
      Pod pod = MakePod("p" + std::to_string(i), static_cast<int>(rng() % 5), static_cast<std::int64_t>(rng() % 8000));
      state->UpsertPod(pod);
      auto verdicts = state->Filter(pod, candidates);
      // Bind to a random node, feasible or not: the engine must refuse what does not fit.
      const std::size_t pick = rng() % names.size();
      auto bound = state->Bind({"default", pod.name, pod.uid, names[pick]});
      CHECK(bound.has_value() == (verdicts[pick].kind == NodeVerdictKind::Fits));
      if (rng() % 4 == 0) state->RemovePod("p" + std::to_string(rng() % (i + 1)));
      for (const auto& n : names) {
        const ResourceList* used = state->RequestedOn(n);
        REQUIRE(used);
        CHECK(used->Get("nvidia.com/gpu") <= 8);
        CHECK(used->Get("cpu") <= 32000);
        CHECK(used->Get("nvidia.com/gpu") >= 0);
      }
    }
  }
}

TEST_CASE("property: the packed fast path decides and scores exactly as the general arithmetic") {
  for (const char* policy_name : {"LeastAllocated", "MostAllocated"}) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      CAPTURE(policy_name);
      CAPTURE(seed);
      std::mt19937_64 rng(seed);
      auto state = NewState(policy_name);
      auto reference = policies::MakeScorePolicy(policy_name);
      REQUIRE(reference);
      std::vector<std::string> names;
      for (int i = 0; i < 12; ++i) {
        names.push_back("n" + std::to_string(i));
        Node n = MakeNode(names.back(), static_cast<int>(rng() % 9), static_cast<std::int64_t>(1000 + rng() % 64000));
        n.allocatable.Set("memory", static_cast<std::int64_t>(rng() % (64LL << 30)));
        n.ready = rng() % 10 != 0;
        state->UpsertNode(n);
      }
      for (int i = 0; i < 30; ++i) {
        Pod p = MakePod("r" + std::to_string(i), static_cast<int>(rng() % 3), static_cast<std::int64_t>(rng() % 4000));
        p.node_name = names[rng() % names.size()];
        state->UpsertPod(p);
      }
      std::vector<std::string_view> candidates(names.begin(), names.end());
      candidates.push_back("ghost");
      for (int i = 0; i < 20; ++i) {
        Pod pod = MakePod("q" + std::to_string(i), static_cast<int>(rng() % 4), static_cast<std::int64_t>(rng() % 8000));
        if (rng() % 3 == 0) pod.requests.Set("example.com/fpga", 1);  // not packed: general path
        auto verdicts = state->Filter(pod, candidates);
        auto scores = state->Score(pod, candidates);
        for (std::size_t c = 0; c + 1 < candidates.size(); ++c) {
          const Node* node = state->FindNode(candidates[c]);
          const ResourceList* used = state->RequestedOn(candidates[c]);
          const bool fits = node->ready && Fits(pod.requests, *used, node->allocatable).empty();
          CHECK((verdicts[c].kind == NodeVerdictKind::Fits) == fits);
          CHECK(verdicts[c].reason.empty() == fits);
          const policies::NodeResourceView view{node->name, node->allocatable, *used};
          CHECK(scores[c] == std::clamp((*reference)->Score(pod.requests, view), 0, policies::kMaxNodeScore));
        }
        CHECK(verdicts.back().kind == NodeVerdictKind::Failed);
        CHECK(scores.back() == 0);
      }
    }
  }
}

TEST_CASE("unbound pods are remembered for their bind up to a cap, least recently filtered first out") {
  auto state = std::make_unique<ClusterState>(std::move(*policies::MakeScorePolicy("LeastAllocated")), 2);
  Node node = MakeNode("n", 8, 1'000'000);
  node.allocatable.Set("pods", 10'000);
  state->UpsertNode(node);
  // Many pods filtered and bound: none of them counts against the cap afterwards.
  for (int i = 0; i < 1000; ++i) {
    Pod p = MakePod("bound-" + std::to_string(i), 0, 1);
    state->UpsertPod(p);
    REQUIRE(state->Bind({"default", p.name, p.uid, "n"}));
  }
  for (const char* uid : {"a", "b"}) state->UpsertPod(MakePod(uid, 0, 1));
  state->UpsertPod(MakePod("a", 0, 1));  // filtered again: now the most recent
  state->UpsertPod(MakePod("c", 0, 1));  // over the cap: b goes
  CHECK(state->Counts().pending_pods == 2);
  CHECK(state->Bind({"default", "a", "a", "n"}));
  CHECK(state->Bind({"default", "c", "c", "n"}));
  auto forgotten = state->Bind({"default", "b", "b", "n"});
  REQUIRE_FALSE(forgotten);
  CHECK(forgotten.error().find("unknown to platoon") != std::string::npos);
}
