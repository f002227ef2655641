// Scenario tests: each tests/quota/scenarios/*.yaml holds Kueue objects plus a `kind: Scenario`
// document with a sequence of workloads and the admissions and preemptions Kueue's documentation
// (or platoon's stated departures from it) expects.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/kueue_manifests.h"
#include "quota/quota_state.h"

using namespace platoon;
using namespace platoon::quota;

namespace {

const std::filesystem::path kScenarios = std::filesystem::path(PLATOON_SOURCE_DIR) / "tests/quota/scenarios";

struct Runner {
  std::string file;
  QuotaConfig config;
  std::map<std::string, Workload> workloads;  // every workload seen, by name

  std::int32_t Priority(const YAML::Node& n) {
    if (!n.IsDefined()) return 0;
    for (const auto& pc : config.priority_classes)
      if (pc.name == n.Scalar()) return pc.value;
    return n.as<std::int32_t>();
  }

  ResourceList Requests(const YAML::Node& n) {
    ResourceList out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string name = it->first.Scalar();
      auto q = Quantity::Parse(it->second.Scalar());
      REQUIRE_MESSAGE(q, file << ": " << q.error());
      out.Set(name, ToAmount(name, *q));
    }
    return out;
  }

  Workload Parse(const YAML::Node& n) {
    if (n.IsScalar()) {
      REQUIRE_MESSAGE(workloads.contains(n.Scalar()), file << ": unknown workload " << n.Scalar());
      return workloads.at(n.Scalar());
    }
    Workload wl;
    wl.name = n["name"].Scalar();
    std::string queue = n["queue"].Scalar();
    for (const auto& lq : config.local_queues)  // "namespace/localqueue" resolves through the LocalQueue
      if (lq.namespace_name + "/" + lq.name == queue) queue = lq.cluster_queue;
    wl.cluster_queue = queue;
    wl.priority = Priority(n["priority"]);
    wl.creation_time = n["created"].IsDefined() ? n["created"].as<std::int64_t>() : static_cast<std::int64_t>(workloads.size());
    auto pod_set = [&](const YAML::Node& p) {
      PodSet ps;
      if (p["name"].IsDefined()) ps.name = p["name"].Scalar();
      ps.count = p["count"].IsDefined() ? p["count"].as<std::int32_t>() : 1;
      ps.requests = Requests(p["requests"]);
      if (p["nodeSelector"].IsDefined())
        for (auto it = p["nodeSelector"].begin(); it != p["nodeSelector"].end(); ++it)
          ps.node_selector[it->first.Scalar()] = it->second.Scalar();
      return ps;
    };
    if (n["podSets"].IsDefined())
      for (const auto& p : n["podSets"]) wl.pod_sets.push_back(pod_set(p));
    else
      wl.pod_sets.push_back(pod_set(n));
    workloads[wl.name] = wl;
    return wl;
  }

  static std::vector<std::string> Names(const YAML::Node& n) {
    std::vector<std::string> out;
    if (n.IsDefined())
      for (const auto& x : n) out.push_back(x.Scalar());
    return out;
  }

  void CheckAssignment(const YAML::Node& step, const Assignment& a, bool check_reason = true) {
    if (step["expect"].IsDefined()) CHECK(std::string(ToString(a.mode)) == step["expect"].Scalar());
    if (step["expectBorrows"].IsDefined()) CHECK(a.borrows == step["expectBorrows"].as<bool>());
    if (step["expectFlavor"].IsDefined())
      for (auto it = step["expectFlavor"].begin(); it != step["expectFlavor"].end(); ++it) {
        REQUIRE_FALSE(a.pod_sets.empty());
        auto f = a.pod_sets[0].flavors.find(it->first.Scalar());
        CHECK((f == a.pod_sets[0].flavors.end() ? std::string() : f->second) == it->second.Scalar());
      }
    if (check_reason && step["expectReason"].IsDefined()) {
      const std::string want = step["expectReason"].Scalar();
      CHECK_MESSAGE(a.Message().find(want) != std::string::npos, "reason: " << a.Message() << "\nwant: " << want);
    }
  }

  void Run(QuotaState& s, const YAML::Node& steps) {
    int index = 0;
    for (const auto& step : steps) {
      CAPTURE(index);
      ++index;
      if (step["admit"].IsDefined()) {
        const Workload wl = Parse(step["admit"]);
        CAPTURE(wl.name);
        const Assignment a = s.Assign(wl);
        REQUIRE_MESSAGE(a.mode == FitMode::Fit, wl.name << " does not fit: " << a.Message());
        CheckAssignment(step, a);
        REQUIRE(s.Admit(wl, a));
      } else if (step["assign"].IsDefined()) {
        const Workload wl = Parse(step["assign"]);
        CAPTURE(wl.name);
        CheckAssignment(step, s.Assign(wl));
      } else if (step["preempt"].IsDefined()) {
        const Workload wl = Parse(step["preempt"]);
        CAPTURE(wl.name);
        const Assignment a = s.Assign(wl);
        CheckAssignment(step, a, /*check_reason=*/false);
        const PreemptionResult r = s.FindPreemptionTargets(wl, a);
        std::vector<std::string> got;
        for (const auto& t : r.targets) got.push_back(t.workload);
        std::vector<std::string> want = Names(step["expectTargets"]);
        std::sort(got.begin(), got.end());
        std::sort(want.begin(), want.end());
        CHECK_MESSAGE(got == want, "reasons: " << r.Message());
        if (step["expectTargetReason"].IsDefined())
          for (const auto& t : r.targets) CHECK(std::string(ToString(t.reason)) == step["expectTargetReason"].Scalar());
        if (step["expectReason"].IsDefined()) {
          const std::string want_reason = step["expectReason"].Scalar();
          CHECK_MESSAGE(r.Message().find(want_reason) != std::string::npos, "reason: " << r.Message());
        }
        if (step["admitAfter"].IsDefined() && step["admitAfter"].as<bool>()) {
          for (const auto& t : r.targets) REQUIRE(s.Release(t.workload));
          const Assignment after = s.Assign(wl);
          REQUIRE_MESSAGE(after.mode == FitMode::Fit, after.Message());
          REQUIRE(s.Admit(wl, after));
        }
      } else if (step["release"].IsDefined()) {
        CHECK(s.Release(step["release"].Scalar()));
      } else if (step["pass"].IsDefined()) {
        const YAML::Node p = step["pass"];
        std::vector<Workload> pending;
        for (const auto& w : p["pending"]) pending.push_back(Parse(w));
        AdmissionPassOptions options;
        if (p["preempt"].IsDefined()) options.preempt = p["preempt"].as<bool>();
        const AdmissionPassResult r = s.RunAdmissionPass(pending, options);
        std::vector<std::string> admitted;
        for (const auto& a : r.admitted) admitted.push_back(a.workload);
        std::string pending_text;
        for (const auto& pw : r.pending) pending_text += pw.workload + ": " + pw.reason + "\n";
        if (p["expectAdmitted"].IsDefined()) CHECK_MESSAGE(admitted == Names(p["expectAdmitted"]), "pending:\n" << pending_text);
        if (p["expectPreemptions"].IsDefined()) {
          std::map<std::string, std::vector<std::string>> got, want;
          for (const auto& pr : r.preemptions)
            for (const auto& t : pr.targets) got[pr.preemptor].push_back(t.workload);
          for (auto it = p["expectPreemptions"].begin(); it != p["expectPreemptions"].end(); ++it)
            want[it->first.Scalar()] = Names(it->second);
          for (auto& [k, v] : got) std::sort(v.begin(), v.end());
          for (auto& [k, v] : want) std::sort(v.begin(), v.end());
          CHECK(got == want);
        }
        if (p["expectPending"].IsDefined())
          for (auto it = p["expectPending"].begin(); it != p["expectPending"].end(); ++it) {
            const std::string name = it->first.Scalar();
            auto pw = std::find_if(r.pending.begin(), r.pending.end(), [&](const auto& x) { return x.workload == name; });
            REQUIRE_MESSAGE(pw != r.pending.end(), name << " is not pending");
            CHECK_MESSAGE(pw->reason.find(it->second.Scalar()) != std::string::npos,
                          name << ": " << pw->reason << "\nwant: " << it->second.Scalar());
          }
      } else if (step["expectUsage"].IsDefined()) {
        const YAML::Node u = step["expectUsage"];
        auto q = Quantity::Parse(u["amount"].Scalar());
        REQUIRE(q);
        CHECK(s.Usage(u["node"].Scalar(), u["flavor"].Scalar(), u["resource"].Scalar()) == ToAmount(u["resource"].Scalar(), *q));
      } else if (step["expectAvailable"].IsDefined()) {
        const YAML::Node u = step["expectAvailable"];
        auto q = Quantity::Parse(u["amount"].Scalar());
        REQUIRE(q);
        CHECK(s.Available(u["node"].Scalar(), u["flavor"].Scalar(), u["resource"].Scalar()) == ToAmount(u["resource"].Scalar(), *q));
      } else {
        FAIL("unknown step in " << file);
      }
    }
  }
};

}  // namespace

TEST_CASE("every scenario in tests/quota/scenarios behaves as written") {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(kScenarios))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 8);
  for (const auto& path : files) {
    SUBCASE(path.filename().string().c_str()) {
      Runner runner;
      runner.file = path.string();
      auto cfg = config::LoadKueueManifestFiles({path.string()});
      REQUIRE_MESSAGE(cfg, config::FormatManifestErrors(cfg.error()));
      runner.config = *cfg;
      YAML::Node scenario;
      for (const auto& doc : YAML::LoadAllFromFile(path.string()))
        if (doc["kind"].IsDefined() && doc["kind"].Scalar() == "Scenario") scenario = doc;
      REQUIRE_MESSAGE(scenario.IsDefined(), path << " has no Scenario document");
      QuotaOptions options;
      if (const YAML::Node o = scenario["options"]; o.IsDefined()) {
        if (o["fairSharing"].IsDefined()) options.fair_sharing = o["fairSharing"].as<bool>();
        if (o["protectNominalFromBorrowingPreemption"].IsDefined())
          options.protect_nominal_from_borrowing_preemption = o["protectNominalFromBorrowingPreemption"].as<bool>();
        if (o["waitingHeadBlocksBorrowing"].IsDefined())
          options.waiting_head_blocks_borrowing = o["waitingHeadBlocksBorrowing"].as<bool>();
        if (o["strategies"].IsDefined()) {
          options.fair_sharing_strategies.clear();
          for (const auto& st : o["strategies"])
            options.fair_sharing_strategies.push_back(st.Scalar() == "LessThanInitialShare"
                                                          ? FairPreemptionStrategy::LessThanInitialShare
                                                          : FairPreemptionStrategy::LessThanOrEqualToFinalShare);
        }
      }
      auto state = QuotaState::Build(runner.config, options);
      REQUIRE_MESSAGE(state, state.error());
      runner.Run(*state, scenario["steps"]);
    }
  }
}
