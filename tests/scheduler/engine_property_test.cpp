// Property tests of the gang engine over random event sequences (fixed seeds), and the
// scheduler-plugins#117 deadlock reproduction.
#include <doctest/doctest.h>

#include <random>

#include "tests/scheduler/engine_fixtures.h"

namespace platoon::engine {
namespace {

using testing::Driver;
using testing::GangPod;
using testing::GpuNode;
using testing::Group;
using testing::RackOptions;

struct JobSpec {
  std::string name;
  int members = 1;
  int gpus = 1;
  std::int32_t priority = 0;
  bool complete = true;  // false: one member never arrives
  bool launcher = false; // one more member without GPUs (a second pod set)
  int generation = 0;    // bumped when evicted and recreated (as a Job controller does)
};

// Tracks jobs through the driver: recreation after eviction, finishing after a run time.
class Harness {
 public:
  Harness(Engine& engine, bool use_quota, std::int64_t nominal)
      : d_(engine), use_quota_(use_quota), nominal_(nominal) {}

  Driver& d() { return d_; }

  void AddJob(const JobSpec& job) {
    jobs_[job.name] = job;
    d_.engine().UpsertPodGroup(Group(job.name, job.members + (job.launcher ? 1 : 0)), d_.now());
  }
  Pod MemberPod(const JobSpec& job, int i) const {
    Pod p = GangPod(job.name + "-g" + std::to_string(job.generation) + "-" + std::to_string(i), job.name, job.gpus,
                    job.priority);
    if (use_quota_) p.labels[std::string(kQueueNameLabel)] = "queue-a";
    return p;
  }
  std::vector<Pod> Members(const std::string& name) const {
    std::vector<Pod> out;
    const JobSpec& job = jobs_.at(name);
    const int n = job.complete ? job.members : job.members - 1;
    for (int i = 0; i < n; ++i) out.push_back(MemberPod(job, i));
    if (job.launcher) {
      Pod launcher = MemberPod(job, n);
      launcher.name += "-launcher";
      launcher.uid += "-launcher";
      launcher.requests.Set("nvidia.com/gpu", 0);
      out.push_back(launcher);
    }
    return out;
  }

  // Evicted jobs are recreated with fresh pods; running jobs finish after `run_time`.
  void Maintain(Seconds run_time) {
    for (std::size_t i = handled_evictions_; i < d_.evictions().size(); ++i) {
      std::string name = d_.evictions()[i].gang.substr(std::string("default/").size());
      auto& job = jobs_.at(name);
      job.generation++;
      for (auto& p : Members(name)) d_.AddPod(p);
      started_.erase(name);
    }
    handled_evictions_ = d_.evictions().size();
    for (auto& [name, job] : jobs_) {
      if (done_.contains(name)) continue;
      std::vector<std::string> uids;
      int bound = 0;
      for (const auto& [uid, pod] : d_.pods()) {
        if (pod.labels.at(std::string(kPodGroupLabel)) != name) continue;
        uids.push_back(uid);
        bound += pod.node_name.empty() ? 0 : 1;
      }
      if (bound > 0 && !started_.contains(name)) started_[name] = d_.now();
      if (bound > 0 && bound == static_cast<int>(uids.size()) && d_.now() - started_[name] >= run_time) {
        for (const auto& uid : uids) d_.FinishPod(uid);
        done_.insert(name);
      }
    }
  }

  // The invariants that must hold after every step. Returns the first violation, or empty.
  std::string Check() const {
    std::map<std::string, std::pair<int, int>> per_job;  // bound, live
    std::int64_t quota_gpus = 0;
    for (const auto& [uid, pod] : d_.pods()) {
      auto& [bound, live] = per_job[pod.labels.at(std::string(kPodGroupLabel))];
      live++;
      if (!pod.node_name.empty()) {
        bound++;
        if (use_quota_) quota_gpus += pod.requests.Get("nvidia.com/gpu");
      }
    }
    for (const auto& [name, counts] : per_job) {
      if (counts.first != 0 && counts.first != counts.second) {
        return "job " + name + " is partly bound: " + std::to_string(counts.first) + " of " + std::to_string(counts.second);
      }
    }
    if (use_quota_ && quota_gpus > nominal_) return "quota exceeded: " + std::to_string(quota_gpus) + " GPUs bound";
    return d_.CheckDevices();
  }

  const std::map<std::string, JobSpec>& jobs() const { return jobs_; }
  const std::set<std::string>& done() const { return done_; }

 private:
  Driver d_;
  bool use_quota_;
  std::int64_t nominal_;
  std::map<std::string, JobSpec> jobs_;
  std::map<std::string, Seconds> started_;
  std::set<std::string> done_;
  std::size_t handled_evictions_ = 0;
};

quota::QuotaConfig Quota(std::int64_t gpus) {
  quota::QuotaConfig c;
  c.resource_flavors = {{"default", {}, {}, {}, {}}};
  quota::ClusterQueue cq;
  cq.name = "team-a";
  cq.namespace_selector.present = true;
  cq.preemption.within_cluster_queue = quota::WithinClusterQueuePolicy::LowerPriority;
  cq.resource_groups = {{{"cpu", "memory", "nvidia.com/gpu"},
                         {{"default", {{"cpu", 1'000'000, {}, {}}, {"memory", 1LL << 50, {}, {}}, {"nvidia.com/gpu", gpus, {}, {}}}}}}};
  c.cluster_queues = {cq};
  c.local_queues = {{"default", "queue-a", "team-a"}};
  return c;
}

// One random run. Returns the first violated property, or empty.
std::string RandomRun(std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  EngineOptions options = RackOptions();
  options.default_bind_timeout = static_cast<Seconds>(pick(5, 30));
  Engine engine(options);
  const bool use_quota = pick(0, 1) == 1;
  const int node_count = pick(3, 6);
  std::vector<Node> nodes;
  std::int64_t total_gpus = 0;
  for (int i = 0; i < node_count; ++i) {
    nodes.push_back(GpuNode("n" + std::to_string(i), pick(0, 1) ? 8 : 4, "r" + std::to_string(i % 2)));
    total_gpus += nodes.back().allocatable.Get("nvidia.com/gpu");
  }
  const std::int64_t nominal = use_quota ? total_gpus * 3 / 4 : total_gpus;
  if (use_quota && !engine.ReplaceQuota(Quota(nominal), 0)) return "quota config rejected";
  Harness h(engine, use_quota, nominal);
  for (const auto& n : nodes) h.d().AddNode(n);

  // Jobs that fit on the cluster (and in the quota), a few that never get all their members.
  const int job_count = pick(4, 12);
  std::vector<Pod> arrivals;
  for (int j = 0; j < job_count; ++j) {
    JobSpec job;
    job.name = "job" + std::to_string(j);
    job.gpus = pick(1, 4);
    job.members = pick(1, std::max<int>(1, static_cast<int>(std::min(nominal, total_gpus / 2)) / job.gpus));
    job.priority = pick(0, 2);
    job.complete = pick(0, 9) != 0 || job.members == 1;
    job.launcher = pick(0, 3) == 0;
    h.AddJob(job);
    for (auto& p : h.Members(job.name)) arrivals.push_back(p);
  }
  std::ranges::shuffle(arrivals, rng);

  std::optional<Node> removed;
  std::size_t next = 0;
  for (int step = 0; step < 400; ++step) {
    const int what = pick(0, 9);
    if (what <= 2 && next < arrivals.size()) {
      h.d().AddPod(arrivals[next++]);
    } else if (what <= 4) {
      h.d().Advance(pick(1, 8));
    } else if (what == 5 && !removed) {
      // A node vanishes mid-gang: only one without bound pods (a real one takes its pods with it).
      const auto& n = nodes[static_cast<std::size_t>(pick(0, node_count - 1))];
      bool busy = false;
      for (const auto& [uid, pod] : h.d().pods()) busy |= pod.node_name == n.name;
      if (!busy) {
        removed = n;
        h.d().RemoveNode(n.name);
      }
    } else if (what == 6 && removed) {
      h.d().AddNode(*removed);
      removed.reset();
    } else {
      // kube-scheduler: filter every unbound pod in random order; some binds are late.
      std::vector<std::string> order;
      for (const auto& [uid, pod] : h.d().pods()) {
        if (pod.node_name.empty()) order.push_back(uid);
      }
      std::ranges::shuffle(order, rng);
      for (const auto& uid : order) {
        if (!h.d().pods().contains(uid) || !h.d().pods().at(uid).node_name.empty()) continue;
        auto node = h.d().FilterOne(uid);
        if (node && pick(0, 3) != 0) h.d().BindOne(uid, *node);
        if (auto v = h.Check(); !v.empty()) return v;
      }
    }
    h.Maintain(20);
    if (auto v = h.Check(); !v.empty()) return v;
  }
  // Everything arrives, nodes come back, binds are prompt: every complete job must run.
  while (next < arrivals.size()) h.d().AddPod(arrivals[next++]);
  if (removed) h.d().AddNode(*removed);
  for (int round = 0; round < 400 && h.done().size() < h.jobs().size(); ++round) {
    h.d().Round(&rng);
    h.d().Advance(7);
    h.Maintain(20);
    if (auto v = h.Check(); !v.empty()) return v;
  }
  for (const auto& [name, job] : h.jobs()) {
    if (job.complete && !h.done().contains(name)) {
      std::string reason;
      for (const auto& q : engine.Pending(h.d().now()).queues) {
        for (const auto& g : q.gangs) {
          if (g.gang == "default/" + name) reason = std::string(ToString(g.phase)) + ": " + g.reason;
        }
      }
      return "job " + name + " that fits never ran (" + reason + ")";
    }
  }
  return {};
}

TEST_CASE("random event sequences: no gang partly bound, no device double-booked, quota kept, every fitting gang runs") {
  for (std::uint32_t seed = 1; seed <= 1000; ++seed) {
    INFO("seed " << seed);
    const std::string violation = RandomRun(seed);
    CHECK_MESSAGE(violation.empty(), violation);
    if (!violation.empty()) break;
  }
}

TEST_CASE("scheduler-plugins#117: 60 jobs of 1 to 8 GPUs on two 8-GPU nodes all run, without deadlock") {
  Engine engine(RackOptions());
  Harness h(engine, false, 0);
  h.d().AddNode(GpuNode("node-a", 8));
  h.d().AddNode(GpuNode("node-b", 8));
  std::mt19937 rng(117);
  std::vector<Pod> arrivals;
  for (int j = 0; j < 60; ++j) {
    JobSpec job;
    job.name = "job" + std::to_string(j);
    job.members = std::uniform_int_distribution<int>(1, 8)(rng);  // one GPU per worker
    job.gpus = 1;
    h.AddJob(job);
    for (auto& p : h.Members(job.name)) arrivals.push_back(p);
  }
  // Every pod of every job is pending at once, in an interleaved order: the case that deadlocked
  // a per-pod scheduler (half-placed gangs holding each other's GPUs).
  std::ranges::shuffle(arrivals, rng);
  for (auto& p : arrivals) h.d().AddPod(p);
  int rounds = 0;
  while (h.done().size() < 60 && rounds < 2000) {
    h.d().Round(&rng);
    h.d().Advance(5);
    h.Maintain(10);
    REQUIRE(h.Check().empty());
    ++rounds;
  }
  CHECK(h.done().size() == 60);
  MESSAGE("all 60 jobs ran in " << rounds << " scheduling rounds");
}

}  // namespace
}  // namespace platoon::engine
