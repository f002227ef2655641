// Simulation outputs: summary.json, timeline.csv and the self-contained report.html, byte-deterministic.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simulations/metrics.h"
#include "simulations/reference_results.h"

namespace platoon::sim {

// One policy's runs, one RunResult per seed (in seed order).
struct PolicyRuns {
  std::string policy;
  std::vector<RunResult> runs;
};

// A published figure set for one policy (FGD paper, Helios artifact), placed beside platoon's.
struct ReferenceFigures {
  std::string source;  // e.g. "FGD ATC'23 (hkust-adsl/kubernetes-scheduler-simulator expected_results)"
  std::string policy;  // e.g. "FGD", "fifo_consolidate"
  std::vector<std::pair<std::string, double>> figures;  // metric name -> value, in display order
  friend bool operator==(const ReferenceFigures&, const ReferenceFigures&) = default;
};

struct SimulationReport {
  std::string scenario;        // scenario name
  std::string workload;        // e.g. "openb_pod_list_default", "philly-per-vc"
  std::string protocol;        // "fgd" or "replay"
  std::int64_t cluster_gpus = 0;
  std::vector<PolicyRuns> policies;
  std::vector<ReferenceFigures> references;
  std::vector<std::string> notes;  // free text shown in the report (data attribution, caveats)
};

// The FGD artifact's published figures for `workload` (e.g. "openb_pod_list_default"), one entry per
// policy: unallocated GPU % at 100 % arrived (mean, median, sd) and, when `alloc` is given, the GPU
// allocation % at each arrived point of SUMMARY_alloc_ratio_by_arrived ("gpu_alloc_pct_mean@50", ...),
// and when `frag` is given the fragmented GPU % of all GPUs of SUMMARY_frag_amount_pct_of_total_by_arrived
// ("frag_over_total_pct_mean@20", ...).
std::vector<ReferenceFigures> FgdReferences(const ReferenceTable& unallocated, const ReferenceTable* alloc,
                                            const std::string& workload, const ReferenceTable* frag = nullptr);
// Helios' per-VC average queueing delay and JCT per policy (fifo_consolidate, ...): figures
// "queue_delay_s_mean/<vc>" and "jct_s_mean/<vc>" (vc "all" for the whole cluster).
std::vector<ReferenceFigures> HeliosReferences(const ReferenceTable& queue_delay, const ReferenceTable& jct);

// Fixed key order, fixed number formatting (integers plain, other numbers with at most 4
// decimals, trailing zeros dropped), two-space indentation, '\n' line ends.
std::string RenderSummaryJson(const SimulationReport& report);
// Long format: policy,seed,series,x,value. Series: alloc_pct_by_arrived and frag_pct_by_arrived (x =
// arrived %), gpu_utilisation_pct, pending_jobs, running_jobs (x = virtual seconds).
std::string RenderTimelineCsv(const SimulationReport& report);
// One page, no network at view time: the charting library (Chart.js, pinned in
// simulations/report/package-lock.json) and the data are inlined. When every chart has drawn, the
// page sets document.title to "platoon report: charts drawn N/N" and body[data-charts-drawn].
std::string RenderReportHtml(const SimulationReport& report);

// Writes summary.json, timeline.csv and report.html into `dir` (created if missing).
std::expected<void, std::string> WriteReport(const SimulationReport& report, const std::string& dir);

// The inlined library: its version and minified source.
std::string_view ChartJsVersion();
std::string_view ChartJsSource();

}  // namespace platoon::sim
