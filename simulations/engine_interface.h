// The narrow interfaces the simulation loop drives; the engine driver implements them (no logic here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "simulations/scenario.h"
#include "simulations/trace.h"

namespace platoon::sim {

// The FGD protocol (GenerateFgdWorkload): nodes are added once, then pods arrive one at a time and
// never depart. After each Place the loop records an AllocationPoint from the two queries below.
class PodPlacer {
 public:
  virtual ~PodPlacer() = default;
  // Called once per node, in FgdWorkload::node_order, before any pod.
  virtual void AddNode(const TraceNode& node) = 0;
  // Offers one pod, as kube-scheduler would (its default filters included). Returns whether the pod
  // was bound. Earlier pods stay where they are.
  virtual bool Place(const TraceJob& pod) = 0;
  // GPU milli held by bound pods.
  virtual std::int64_t AllocatedGpuMilli() const = 0;
  // Idle GPU milli that is fragmented by FGD's measure, or -1 when the policy does not compute it.
  virtual std::int64_t FragmentedGpuMilli() const = 0;
};

// What the engine decided at one moment of a trace replay.
struct ReplayAction {
  enum class Kind { Started, Evicted };
  Kind kind = Kind::Started;
  std::size_t job = 0;  // index into ScenarioInputs::jobs
  friend bool operator==(const ReplayAction&, const ReplayAction&) = default;
};

// A trace replay on a virtual clock. The loop owns time: it submits arrivals, reports completions of
// jobs that ran their duration_ms, and asks for decisions; an evicted job is resubmitted by the loop
// (restart) and its record counts a preemption. Calls come in non-decreasing now_ms.
class ReplayEngine {
 public:
  virtual ~ReplayEngine() = default;
  virtual void AddNode(const TraceNode& node) = 0;
  virtual void AddQueue(const TraceQueue& queue) = 0;
  virtual void Submit(std::size_t job, const TraceJob& spec, std::int64_t now_ms) = 0;
  // Every pod of a running job finished at now_ms; its capacity is free from then.
  virtual void Complete(std::size_t job, std::int64_t now_ms) = 0;
  // Runs admission (and preemption) at now_ms; whole gangs started and whole workloads evicted, in
  // the order decided.
  virtual std::vector<ReplayAction> Advance(std::int64_t now_ms) = 0;
  virtual std::int64_t UsedGpuMilli() const = 0;
  // Gangs with some but not all pods bound right now (the loop sums it into gangs_stranded).
  virtual std::int64_t GangsPartlyBound() const = 0;
};

// Builds the engine for one policy entry of a scenario (name and options as written there).
using PodPlacerFactory = std::function<std::unique_ptr<PodPlacer>(const ScenarioPolicy& policy)>;
using ReplayEngineFactory = std::function<std::unique_ptr<ReplayEngine>(const ScenarioPolicy& policy)>;

}  // namespace platoon::sim
