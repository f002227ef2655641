// Fit, borrowing and lending: Kueue's cluster queue and cohort concepts, number for number.
#include <doctest/doctest.h>

#include "tests/quota/builders.h"

using namespace platoon;
using namespace platoon::quota;
using namespace platoon::quota::testing;

namespace {
constexpr std::int64_t kGi = 1024LL * 1024 * 1024;
}

TEST_CASE("a ClusterQueue admits while cpu, memory and pods stay within nominal quota") {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"default-flavor"});
  cfg.cluster_queues.push_back(Cq("cluster-queue", "",
                                  {Group({"cpu", "memory", "pods"},
                                         {Flavor("default-flavor", {{"cpu", 9000}, {"memory", 36 * kGi}, {"pods", 5}})})}));
  QuotaState s = MustBuild(cfg);

  SUBCASE("cpu is the limit") {
    CHECK(AdmitIfFits(s, Wl("a", "cluster-queue", {{"cpu", 6000}})).mode == FitMode::Fit);
    const Assignment b = s.Assign(Wl("b", "cluster-queue", {{"cpu", 4000}}));
    CHECK(b.mode == FitMode::Preempt);
    REQUIRE(b.reasons.size() == 1);
    CHECK(b.reasons[0] ==
          "insufficient unused quota for cpu in flavor default-flavor: 4 requested, 3 available (3 of nominal 9 free, "
          "0 borrowable)");
    CHECK(AdmitIfFits(s, Wl("c", "cluster-queue", {{"cpu", 3000}})).mode == FitMode::Fit);
    CHECK(s.Usage("cluster-queue", "default-flavor", "cpu") == 9000);
  }
  SUBCASE("the reserved resource pods counts pods, not requests") {
    CHECK(AdmitIfFits(s, Wl("a", "cluster-queue", {{"cpu", 1000}}, 0, 0, 4)).mode == FitMode::Fit);
    CHECK(s.Usage("cluster-queue", "default-flavor", "pods") == 4);
    const Assignment b = s.Assign(Wl("b", "cluster-queue", {{"cpu", 1000}}, 0, 0, 2));
    CHECK(b.mode == FitMode::Preempt);
    CHECK(b.Message().find("for pods in flavor default-flavor: 2 requested, 1 available") != std::string::npos);
  }
  SUBCASE("a request larger than the queue can ever give never fits") {
    const Assignment a = s.Assign(Wl("big", "cluster-queue", {{"cpu", 10000}}));
    CHECK(a.mode == FitMode::NoFit);
    CHECK(a.Message() ==
          "insufficient quota for cpu in flavor default-flavor: 10 requested, at most 9 can ever be available "
          "(nominal 9, borrowing limit none)");
  }
  SUBCASE("a resource the queue does not cover never fits") {
    const Assignment a = s.Assign(Wl("gpu", "cluster-queue", {{"nvidia.com/gpu", 1}}));
    CHECK(a.mode == FitMode::NoFit);
    CHECK(a.Message() == "resource nvidia.com/gpu is not covered by ClusterQueue cluster-queue");
  }
  SUBCASE("release gives the quota back") {
    AdmitIfFits(s, Wl("a", "cluster-queue", {{"cpu", 9000}}));
    CHECK(s.Assign(Wl("b", "cluster-queue", {{"cpu", 1000}})).mode == FitMode::Preempt);
    CHECK(s.Release("a"));
    CHECK_FALSE(s.Release("a"));
    CHECK(s.Assign(Wl("b", "cluster-queue", {{"cpu", 1000}})).mode == FitMode::Fit);
  }
  SUBCASE("admitting the same workload twice is refused") {
    const Workload w = Wl("a", "cluster-queue", {{"cpu", 1000}});
    REQUIRE(s.Admit(w, s.Assign(w)));
    CHECK_FALSE(s.Admit(w, s.Assign(w)));
  }
}

TEST_CASE("flavors are tried in the order the ClusterQueue lists them") {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"spot", "on-demand"});
  cfg.cluster_queues.push_back(
      Cq("cq", "", {Group({"cpu"}, {Flavor("spot", {{"cpu", 2000}}), Flavor("on-demand", {{"cpu", 4000}})})}));
  QuotaState s = MustBuild(cfg);
  CHECK(FlavorOf(AdmitIfFits(s, Wl("a", "cq", {{"cpu", 2000}})), "cpu") == "spot");
  CHECK(FlavorOf(AdmitIfFits(s, Wl("b", "cq", {{"cpu", 1000}})), "cpu") == "on-demand");
  CHECK(FlavorOf(AdmitIfFits(s, Wl("c", "cq", {{"cpu", 3000}})), "cpu") == "on-demand");
  const Assignment d = s.Assign(Wl("d", "cq", {{"cpu", 1000}}));
  CHECK(d.mode == FitMode::Preempt);
  // Every flavor needs preemption: the first one is kept, and only its shortfall is reported.
  CHECK(FlavorOf(d, "cpu") == "spot");
  CHECK(d.Message() == "insufficient unused quota for cpu in flavor spot: 1 requested, 0 available (0 of nominal 2 free, "
                       "0 borrowable)");
}

TEST_CASE("a pod set's node selector and tolerations decide which flavors it may use") {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"a100", "h100"});
  cfg.resource_flavors[0].node_labels = {{"gpu", "a100"}};
  cfg.resource_flavors[1].node_labels = {{"gpu", "h100"}};
  cfg.resource_flavors[1].node_taints = {{"dedicated", "training", "NoSchedule"}};
  cfg.cluster_queues.push_back(Cq("cq", "", {Group({"nvidia.com/gpu"}, {Flavor("a100", {{"nvidia.com/gpu", 8}}),
                                                                         Flavor("h100", {{"nvidia.com/gpu", 8}})})}));
  QuotaState s = MustBuild(cfg);
  Workload w = Wl("w", "cq", {{"nvidia.com/gpu", 4}});
  w.pod_sets[0].node_selector = {{"gpu", "h100"}};
  Assignment a = s.Assign(w);
  CHECK(a.mode == FitMode::NoFit);
  CHECK(a.Message().find("untolerated taint dedicated=training:NoSchedule") != std::string::npos);
  w.pod_sets[0].tolerations = {{"dedicated", "Equal", "training", "NoSchedule"}};
  a = s.Assign(w);
  CHECK(a.mode == FitMode::Fit);
  CHECK(FlavorOf(a, "nvidia.com/gpu") == "h100");
  SUBCASE("a selector key no flavor of the group uses is ignored") {
    w.pod_sets[0].node_selector = {{"zone", "eu-1"}};
    CHECK(FlavorOf(s.Assign(w), "nvidia.com/gpu") == "a100");
  }
  SUBCASE("a flavor without a key the group uses does not match a selector on it") {
    QuotaConfig c2 = cfg;
    c2.resource_flavors[0].node_labels.clear();
    QuotaState s2 = MustBuild(c2);
    w.pod_sets[0].node_selector = {{"gpu", "a100"}};
    const Assignment b = s2.Assign(w);
    CHECK(b.mode == FitMode::NoFit);
    CHECK(b.Message().find("flavor a100 has no node label gpu, pod set main selects gpu=a100") != std::string::npos);
  }
}

TEST_CASE("ClusterQueues in a cohort borrow each other's unused quota") {
  // Kueue's cohort example: team-a 9 cpu, team-b 12 cpu.
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"default"});
  auto make = [&](std::optional<std::int64_t> a_borrow, std::optional<std::int64_t> b_lend) {
    cfg.cluster_queues = {Cq("team-a", "team-ab", {Group({"cpu"}, {Flavor("default", {{"cpu", 9000, a_borrow}})})}),
                          Cq("team-b", "team-ab", {Group({"cpu"}, {Flavor("default", {{"cpu", 12000, std::nullopt, b_lend}})})})};
    return MustBuild(cfg);
  };
  SUBCASE("without limits team-a can use 9 + 12 = 21 while team-b is idle") {
    QuotaState s = make(std::nullopt, std::nullopt);
    CHECK(s.Available("team-a", "default", "cpu") == 21000);
    const Assignment a = AdmitIfFits(s, Wl("a1", "team-a", {{"cpu", 21000}}));
    CHECK(a.mode == FitMode::Fit);
    CHECK(a.borrows);
    CHECK(s.Usage("team-ab", "default", "cpu") == 21000);
    const Assignment b = s.Assign(Wl("b1", "team-b", {{"cpu", 1000}}));
    CHECK(b.mode == FitMode::Preempt);  // team-b must reclaim
    CHECK(b.Message() ==
          "insufficient unused quota for cpu in flavor default: 1 requested, 0 available (0 of nominal 12 free, "
          "0 borrowable)");
  }
  SUBCASE("borrowingLimit caps what team-a takes beyond its nominal") {
    QuotaState s = make(1000, std::nullopt);
    CHECK(s.Available("team-a", "default", "cpu") == 10000);
    CHECK(s.PotentialAvailable("team-a", "default", "cpu") == 10000);
    const Assignment a = s.Assign(Wl("a1", "team-a", {{"cpu", 11000}}));
    CHECK(a.mode == FitMode::NoFit);
    CHECK(a.Message() ==
          "insufficient quota for cpu in flavor default: 11 requested, at most 10 can ever be available (nominal 9, "
          "borrowing limit 1)");
  }
  SUBCASE("lendingLimit caps what team-b lends and keeps the rest for itself") {
    QuotaState s = make(std::nullopt, 2000);
    CHECK(s.Available("team-a", "default", "cpu") == 11000);
    CHECK(AdmitIfFits(s, Wl("a1", "team-a", {{"cpu", 11000}})).mode == FitMode::Fit);
    CHECK(s.Available("team-b", "default", "cpu") == 10000);
    CHECK(AdmitIfFits(s, Wl("b1", "team-b", {{"cpu", 10000}})).mode == FitMode::Fit);
    CHECK(s.Available("team-b", "default", "cpu") == 0);
  }
  SUBCASE("a borrower's usage counts in the cohort only above what the borrower keeps") {
    QuotaState s = make(std::nullopt, 2000);
    AdmitIfFits(s, Wl("b1", "team-b", {{"cpu", 5000}}));
    // team-b keeps 10 cpu back; the 5 it uses come out of that, none out of the cohort's pool.
    CHECK(s.Usage("team-ab", "default", "cpu") == 0);
    CHECK(s.Available("team-a", "default", "cpu") == 11000);
    AdmitIfFits(s, Wl("b2", "team-b", {{"cpu", 6000}}));
    CHECK(s.Usage("team-ab", "default", "cpu") == 1000);
    CHECK(s.Available("team-a", "default", "cpu") == 10000);
  }
}

TEST_CASE("hierarchical cohorts lend their own quota and respect lending limits at every level") {
  // root(own 4 gpus) <- org-a (lendingLimit 2 on its subtree) <- cq-a1 (8), cq-a2 (0)
  //                  <- cq-b (4)
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"h100"});
  cfg.cohorts = {Co("root", "", {Group({"nvidia.com/gpu"}, {Flavor("h100", {{"nvidia.com/gpu", 4}})})}),
                 Co("org-a", "root", {Group({"nvidia.com/gpu"}, {Flavor("h100", {{"nvidia.com/gpu", 0, std::nullopt, 2}})})})};
  cfg.cluster_queues = {Cq("cq-a1", "org-a", {Group({"nvidia.com/gpu"}, {Flavor("h100", {{"nvidia.com/gpu", 8}})})}),
                        Cq("cq-a2", "org-a", {Group({"nvidia.com/gpu"}, {Flavor("h100", {{"nvidia.com/gpu", 0}})})}),
                        Cq("cq-b", "root", {Group({"nvidia.com/gpu"}, {Flavor("h100", {{"nvidia.com/gpu", 4}})})})};
  QuotaState s = MustBuild(cfg);
  CHECK(s.Nominal("org-a", "h100", "nvidia.com/gpu") == 8);
  CHECK(s.Nominal("root", "h100", "nvidia.com/gpu") == 4 + 2 + 4);
  // cq-b sees its 4, the root's 4 and the 2 org-a lends.
  CHECK(s.Available("cq-b", "h100", "nvidia.com/gpu") == 10);
  // cq-a2 sees org-a's 8 plus the root's own 4 and cq-b's 4.
  CHECK(s.Available("cq-a2", "h100", "nvidia.com/gpu") == 16);
  Assignment b = AdmitIfFits(s, Wl("b", "cq-b", {{"nvidia.com/gpu", 10}}));
  CHECK(b.mode == FitMode::Fit);
  // org-a's 6 guaranteed GPUs stay available to its queues.
  CHECK(s.Available("cq-a1", "h100", "nvidia.com/gpu") == 6);
  const Assignment a = s.Assign(Wl("a", "cq-a1", {{"nvidia.com/gpu", 8}}));
  CHECK(a.mode == FitMode::Preempt);
  CHECK(a.Message() ==
        "insufficient unused quota for nvidia.com/gpu in flavor h100: 8 requested, 6 available (6 of nominal 8 free, "
        "0 borrowable)");
}

TEST_CASE("flavorFungibility decides between borrowing in one flavor and trying the next") {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"reserved", "spot"});
  cfg.cluster_queues = {
      Cq("cq", "co", {Group({"cpu"}, {Flavor("reserved", {{"cpu", 2000}}), Flavor("spot", {{"cpu", 8000}})})}),
      Cq("lender", "co", {Group({"cpu"}, {Flavor("reserved", {{"cpu", 8000}}), Flavor("spot", {{"cpu", 0}})})})};
  SUBCASE("whenCanBorrow Borrow stops at the first flavor that fits by borrowing") {
    QuotaState s = MustBuild(cfg);
    const Assignment a = s.Assign(Wl("w", "cq", {{"cpu", 4000}}));
    CHECK(a.mode == FitMode::Fit);
    CHECK(a.borrows);
    CHECK(FlavorOf(a, "cpu") == "reserved");
  }
  SUBCASE("whenCanBorrow TryNextFlavor prefers a later flavor that fits without borrowing") {
    cfg.cluster_queues[0].flavor_fungibility.when_can_borrow = WhenCanBorrow::TryNextFlavor;
    QuotaState s = MustBuild(cfg);
    const Assignment a = s.Assign(Wl("w", "cq", {{"cpu", 4000}}));
    CHECK(a.mode == FitMode::Fit);
    CHECK_FALSE(a.borrows);
    CHECK(FlavorOf(a, "cpu") == "spot");
  }
  SUBCASE("whenCanPreempt Preempt stops at the first flavor where preemption would help") {
    cfg.cluster_queues[0].flavor_fungibility.when_can_preempt = WhenCanPreempt::MayStopSearch;
    cfg.cluster_queues[1].resource_groups[0].flavors[0].resources[0].nominal_quota = 0;
    QuotaState s = MustBuild(cfg);
    AdmitIfFits(s, Wl("x", "cq", {{"cpu", 2000}}));
    const Assignment a = s.Assign(Wl("w", "cq", {{"cpu", 1000}}));
    CHECK(a.mode == FitMode::Preempt);
    CHECK(FlavorOf(a, "cpu") == "reserved");
  }
  SUBCASE("whenCanPreempt TryNextFlavor takes a later flavor that fits") {
    cfg.cluster_queues[1].resource_groups[0].flavors[0].resources[0].nominal_quota = 0;
    QuotaState s = MustBuild(cfg);
    AdmitIfFits(s, Wl("x", "cq", {{"cpu", 2000}}));
    const Assignment a = s.Assign(Wl("w", "cq", {{"cpu", 1000}}));
    CHECK(a.mode == FitMode::Fit);
    CHECK(FlavorOf(a, "cpu") == "spot");
  }
}

TEST_CASE("pod sets of one workload are assigned together, each seeing the earlier ones' usage") {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"f1", "f2"});
  cfg.cluster_queues = {Cq("cq", "", {Group({"cpu"}, {Flavor("f1", {{"cpu", 3000}}), Flavor("f2", {{"cpu", 3000}})})})};
  QuotaState s = MustBuild(cfg);
  Workload w = Wl("w", "cq", {{"cpu", 2000}});
  PodSet worker;
  worker.name = "worker";
  worker.requests = {{"cpu", 2000}};
  w.pod_sets.push_back(worker);
  const Assignment a = s.Assign(w);
  CHECK(a.mode == FitMode::Fit);
  CHECK(FlavorOf(a, "cpu", 0) == "f1");
  CHECK(FlavorOf(a, "cpu", 1) == "f2");
}

TEST_CASE("a stopped ClusterQueue admits nothing and says so") {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"f"});
  cfg.cluster_queues = {Cq("cq", "", {Group({"cpu"}, {Flavor("f", {{"cpu", 3000}})})})};
  cfg.cluster_queues[0].stop_policy = StopPolicy::Hold;
  QuotaState s = MustBuild(cfg);
  const Assignment a = s.Assign(Wl("w", "cq", {{"cpu", 1000}}));
  CHECK(a.mode == FitMode::NoFit);
  CHECK(a.Message() == "ClusterQueue cq is stopped (stopPolicy Hold)");
}

TEST_CASE("building the tree rejects what Kueue would leave inactive") {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"f"});
  SUBCASE("an unknown flavor") {
    cfg.cluster_queues = {Cq("cq", "", {Group({"cpu"}, {Flavor("nope", {{"cpu", 1}})})})};
    auto s = QuotaState::Build(cfg);
    REQUIRE_FALSE(s);
    CHECK(s.error() == "ClusterQueue cq refers to ResourceFlavor nope, which does not exist");
  }
  SUBCASE("a cohort cycle") {
    cfg.cohorts = {Co("a", "b"), Co("b", "a")};
    auto s = QuotaState::Build(cfg);
    REQUIRE_FALSE(s);
    CHECK(s.error().find("has a cycle") != std::string::npos);
  }
}

TEST_CASE("the cohort tree description follows usage as workloads are admitted") {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"h100"});
  cfg.cluster_queues = {Cq("a", "co", {Group({"nvidia.com/gpu"}, {Flavor("h100", {{"nvidia.com/gpu", 4, 2, 1}})})}),
                        Cq("b", "co", {Group({"nvidia.com/gpu"}, {Flavor("h100", {{"nvidia.com/gpu", 4}})})})};
  QuotaState s = MustBuild(cfg);
  AdmitIfFits(s, Wl("w", "a", {{"nvidia.com/gpu", 5}}));
  CHECK(s.DescribeCohortTree() ==
        "Cohort co\n"
        "  h100/nvidia.com/gpu: nominal 5 (own 0), borrowable 0, lendable 0, max usable 5, in use 2\n"
        "  ClusterQueue a [BestEffortFIFO]\n"
        "    h100/nvidia.com/gpu: nominal 4, borrowable 2 (borrowingLimit 2), lendable 1 (lendingLimit 1), max usable 6, in use 5\n"
        "  ClusterQueue b [BestEffortFIFO]\n"
        "    h100/nvidia.com/gpu: nominal 4, borrowable 1, lendable 4, max usable 5, in use 0\n");
}

TEST_CASE("a LocalQueue leads to its ClusterQueue only for namespaces the selector admits") {
  QuotaConfig cfg;
  cfg.resource_flavors = Flavors({"f"});
  cfg.cluster_queues = {Cq("team-a", "", {Group({"cpu"}, {Flavor("f", {{"cpu", 1000}})})}),
                        Cq("closed", "", {Group({"cpu"}, {Flavor("f", {{"cpu", 1000}})})})};
  cfg.cluster_queues[0].namespace_selector.requirements = {{"team", "In", {"a"}}};
  cfg.cluster_queues[1].namespace_selector = {};  // absent: matches nothing, as in Kueue
  cfg.local_queues = {{"ns-a", "training", "team-a"}, {"ns-a", "old", "closed"}, {"ns-a", "gone", "nope"}};
  cfg.priority_classes = {{"production", 1000, ""}};
  QuotaState s = MustBuild(cfg);
  CHECK(s.ResolveLocalQueue("ns-a", "training", {{"team", "a"}}) == "team-a");
  CHECK(s.ResolveLocalQueue("ns-a", "training", {{"team", "b"}}).error() ==
        "ClusterQueue team-a does not admit workloads from namespace ns-a (its namespaceSelector does not match the "
        "namespace's labels)");
  CHECK(s.ResolveLocalQueue("ns-a", "old", {}).error().ends_with("(its namespaceSelector is not set)"));
  CHECK(s.ResolveLocalQueue("ns-a", "gone", {}).error() ==
        "LocalQueue ns-a/gone points at ClusterQueue nope, which does not exist");
  CHECK(s.ResolveLocalQueue("ns-b", "training", {}).error() == "LocalQueue training does not exist in namespace ns-b");
  CHECK(s.PriorityClassValue("production") == 1000);
  CHECK_FALSE(s.PriorityClassValue("nope"));
}
