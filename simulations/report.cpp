// Simulation outputs: summary.json, timeline.csv and the self-contained report.html, byte-deterministic.
#include "simulations/report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "config/json_write.h"
#include "simulations/text_format.h"

namespace platoon::sim {
namespace {

using config::JsonString;


constexpr std::string_view kSummaryFormat = "platoon-simulation-summary/v1";
// The GPU-allocation points of the FGD SUMMARY table, repeated for platoon's runs.
constexpr int kAllocPoints[] = {50, 80, 90, 95, 100, 105, 110, 120, 130};
// The fragmentation points of the FGD SUMMARY tables.
constexpr int kFragPoints[] = {20, 40, 50, 60, 70, 80, 90, 100};

// Up to 4 decimals, trailing zeros dropped: "4.77", "13.7", "0", "-0.5". Non-finite: "null".
std::string Number(double v) {
  if (!std::isfinite(v)) return "null";
  std::string s = Format("{:.4f}", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

// A streaming JSON writer with fixed layout. Values are written in the order the caller gives.
class Json {
 public:
  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(std::string_view k) {
    Separator();
    out_ += JsonString(k);
    out_ += ": ";
    after_key_ = true;
  }
  void Raw(std::string_view v) {
    Separator();
    out_ += v;
  }
  void String(std::string_view v) { Raw(JsonString(v)); }
  void Int(std::int64_t v) { Raw(std::to_string(v)); }
  void Double(double v) { Raw(Number(v)); }
  void Optional(const std::optional<double>& v) { v ? Double(*v) : Raw("null"); }
  void Bool(bool v) { Raw(v ? "true" : "false"); }
  std::string Take() {
    out_ += '\n';
    return std::move(out_);
  }

 private:
  void Separator() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
      out_ += '\n';
      out_.append(2 * first_.size(), ' ');
    }
  }
  void Open(char c) {
    Separator();
    out_ += c;
    first_.push_back(true);
  }
  void Close(char c) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) {
      out_ += '\n';
      out_.append(2 * first_.size(), ' ');
    }
    out_ += c;
  }
  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

void WriteDistribution(Json& j, std::string_view key, const Distribution& d) {
  j.Key(key);
  j.BeginObject();
  j.Key("count"); j.Int(static_cast<std::int64_t>(d.count));
  j.Key("mean"); j.Double(d.mean);
  j.Key("p50"); j.Double(d.p50);
  j.Key("p95"); j.Double(d.p95);
  j.Key("max"); j.Double(d.max);
  j.EndObject();
}

void WriteSeedStats(Json& j, std::string_view key, const std::vector<double>& values) {
  const SeedStats s = StatsOverSeeds(values);
  j.Key(key);
  if (values.empty()) {
    j.Raw("null");
    return;
  }
  j.BeginObject();
  j.Key("seeds"); j.Int(static_cast<std::int64_t>(s.seeds));
  j.Key("mean"); j.Double(s.mean);
  j.Key("median"); j.Double(s.median);
  j.Key("sd"); j.Double(s.sd);
  j.EndObject();
}

struct PolicyDigest {
  std::vector<RunSummary> summaries;
  std::vector<double> unallocated;  // per seed that has the figure
  std::vector<double> frag;
  std::vector<double> utilisation;
  // mean over seeds of alloc % (and fragmented GPU %) at each arrived % (nullopt where no seed has it)
  std::vector<std::optional<double>> alloc_mean;
  std::vector<std::optional<double>> frag_mean;
};

std::vector<std::optional<double>> MeanOverSeeds(const std::vector<RunSummary>& summaries,
                                                 std::vector<std::optional<double>> RunSummary::*series) {
  std::vector<std::optional<double>> out(kMaxArrivedPct + 1);
  for (int k = 0; k <= kMaxArrivedPct; ++k) {
    double sum = 0;
    int n = 0;
    for (const auto& s : summaries) {
      const auto& v = s.*series;
      if (k < static_cast<int>(v.size()) && v[k]) {
        sum += *v[k];
        ++n;
      }
    }
    if (n > 0) out[k] = sum / n;
  }
  return out;
}

PolicyDigest Digest(const PolicyRuns& p) {
  PolicyDigest d;
  for (const auto& run : p.runs) d.summaries.push_back(Summarise(run));
  d.alloc_mean = MeanOverSeeds(d.summaries, &RunSummary::alloc_pct_by_arrived);
  d.frag_mean = MeanOverSeeds(d.summaries, &RunSummary::frag_pct_by_arrived);
  for (const auto& s : d.summaries) {
    if (s.unallocated_gpu_pct_at_arrived100) d.unallocated.push_back(*s.unallocated_gpu_pct_at_arrived100);
    if (s.frag_pct_at_arrived100) d.frag.push_back(*s.frag_pct_at_arrived100);
    if (s.gpu_utilisation_pct_mean) d.utilisation.push_back(*s.gpu_utilisation_pct_mean);
  }
  return d;
}

void WriteQueues(Json& j, const std::vector<QueueStats>& queues) {
  j.Key("queues");
  j.BeginArray();
  for (const auto& q : queues) {
    j.BeginObject();
    j.Key("queue"); j.String(q.queue.empty() ? "(all)" : q.queue);
    j.Key("jobs"); j.Int(static_cast<std::int64_t>(q.jobs));
    j.Key("started"); j.Int(static_cast<std::int64_t>(q.started));
    WriteDistribution(j, "queueing_delay_s", q.delay_s);
    WriteDistribution(j, "jct_s", q.jct_s);
    j.EndObject();
  }
  j.EndArray();
}

void WriteReferences(Json& j, const std::vector<ReferenceFigures>& refs) {
  j.BeginArray();
  for (const auto& r : refs) {
    j.BeginObject();
    j.Key("source"); j.String(r.source);
    j.Key("policy"); j.String(r.policy);
    j.Key("figures");
    j.BeginObject();
    for (const auto& [name, value] : r.figures) {
      j.Key(name);
      j.Double(value);
    }
    j.EndObject();
    j.EndObject();
  }
  j.EndArray();
}

std::optional<double> ReferenceFigure(const std::vector<ReferenceFigures>& refs, std::string_view policy,
                                      std::string_view figure) {
  for (const auto& r : refs) {
    if (r.policy != policy) continue;
    for (const auto& [name, value] : r.figures) {
      if (name == figure) return value;
    }
  }
  return std::nullopt;
}

std::string SummaryJson(const SimulationReport& report, const std::vector<PolicyDigest>& digests) {
  Json j;
  j.BeginObject();
  j.Key("format"); j.String(kSummaryFormat);
  j.Key("scenario"); j.String(report.scenario);
  j.Key("workload"); j.String(report.workload);
  j.Key("protocol"); j.String(report.protocol);
  j.Key("cluster_gpus"); j.Int(report.cluster_gpus);
  j.Key("policies");
  j.BeginArray();
  for (std::size_t i = 0; i < report.policies.size(); ++i) {
    const auto& p = report.policies[i];
    const auto& d = digests[i];
    j.BeginObject();
    j.Key("policy"); j.String(p.policy);
    j.Key("seeds");
    j.BeginArray();
    for (const auto& r : p.runs) j.Int(static_cast<std::int64_t>(r.seed));
    j.EndArray();
    WriteSeedStats(j, "unallocated_gpu_pct_at_arrived100", d.unallocated);
    WriteSeedStats(j, "frag_pct_at_arrived100", d.frag);
    j.Key("gpu_alloc_pct_mean_by_arrived");
    j.BeginObject();
    for (int k : kAllocPoints) {
      j.Key(std::to_string(k));
      j.Optional(d.alloc_mean[k]);
    }
    j.EndObject();
    j.Key("frag_pct_mean_by_arrived");
    j.BeginObject();
    for (int k : kFragPoints) {
      j.Key(std::to_string(k));
      j.Optional(d.frag_mean[k]);
    }
    j.EndObject();
    WriteSeedStats(j, "gpu_utilisation_pct_mean", d.utilisation);
    std::int64_t preemptions = 0, stranded = 0, unplaced = 0;
    for (const auto& s : d.summaries) {
      preemptions += s.preemptions;
      stranded += s.gangs_stranded;
      unplaced += s.pods_unplaced;
    }
    j.Key("preemptions"); j.Int(preemptions);
    j.Key("gangs_stranded"); j.Int(stranded);
    j.Key("pods_unplaced"); j.Int(unplaced);
    j.Key("runs");
    j.BeginArray();
    for (const auto& s : d.summaries) {
      j.BeginObject();
      j.Key("seed"); j.Int(static_cast<std::int64_t>(s.seed));
      j.Key("unallocated_gpu_pct_at_arrived100"); j.Optional(s.unallocated_gpu_pct_at_arrived100);
      j.Key("frag_pct_at_arrived100"); j.Optional(s.frag_pct_at_arrived100);
      j.Key("gpu_utilisation_pct_mean"); j.Optional(s.gpu_utilisation_pct_mean);
      j.Key("preemptions"); j.Int(s.preemptions);
      j.Key("gangs_stranded"); j.Int(s.gangs_stranded);
      j.Key("pods_unplaced"); j.Int(s.pods_unplaced);
      WriteQueues(j, s.queues);
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  j.Key("references");
  WriteReferences(j, report.references);
  // Side by side: platoon's best policy against each published policy, where both have the figure.
  j.Key("comparison");
  j.BeginObject();
  std::optional<double> best;
  std::string best_policy;
  for (std::size_t i = 0; i < digests.size(); ++i) {
    if (digests[i].unallocated.empty()) continue;
    const double m = StatsOverSeeds(digests[i].unallocated).mean;
    if (!best || m < *best) {
      best = m;
      best_policy = report.policies[i].policy;
    }
  }
  j.Key("best_platoon_policy"); best ? j.String(best_policy) : j.Raw("null");
  j.Key("best_platoon_unallocated_gpu_pct_at_arrived100"); j.Optional(best);
  j.Key("published_unallocated_gpu_pct_at_arrived100");
  j.BeginObject();
  for (const auto& r : report.references) {
    if (auto v = ReferenceFigure(report.references, r.policy, "unallocated_gpu_pct_mean")) {
      j.Key(r.policy);
      j.Double(*v);
    }
  }
  j.EndObject();
  j.Key("beats_every_published_policy");
  bool any_ref = false, beats = best.has_value();
  for (const auto& r : report.references) {
    if (auto v = ReferenceFigure(report.references, r.policy, "unallocated_gpu_pct_mean")) {
      any_ref = true;
      beats = beats && *best < *v;
    }
  }
  (best && any_ref) ? j.Bool(beats) : j.Raw("null");
  // Queueing: each policy's mean delay over all jobs (mean over seeds), and the lowest.
  j.Key("mean_queueing_delay_s");
  j.BeginObject();
  std::optional<double> lowest;
  std::string lowest_policy;
  for (std::size_t i = 0; i < digests.size(); ++i) {
    std::vector<double> per_seed;
    for (const auto& s : digests[i].summaries) {
      if (!s.queues.empty() && s.queues.back().delay_s.count > 0) per_seed.push_back(s.queues.back().delay_s.mean);
    }
    if (per_seed.empty()) continue;
    const double m = StatsOverSeeds(per_seed).mean;
    j.Key(report.policies[i].policy);
    j.Double(m);
    if (!lowest || m < *lowest) {
      lowest = m;
      lowest_policy = report.policies[i].policy;
    }
  }
  j.EndObject();
  j.Key("lowest_mean_queueing_delay_policy"); lowest ? j.String(lowest_policy) : j.Raw("null");
  j.EndObject();
  j.Key("notes");
  j.BeginArray();
  for (const auto& n : report.notes) j.String(n);
  j.EndArray();
  j.EndObject();
  return j.Take();
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::vector<ReferenceFigures> FgdReferences(const ReferenceTable& unallocated, const ReferenceTable* alloc,
                                            const std::string& workload, const ReferenceTable* frag) {
  static constexpr std::string_view kSource =
      "FGD, USENIX ATC'23 (hkust-adsl/kubernetes-scheduler-simulator expected_results, 10 seeds)";
  std::vector<ReferenceFigures> out;
  for (const auto& row : unallocated.rows) {
    if (row.keys.size() < 2 || row.keys[0] != workload) continue;
    ReferenceFigures r;
    r.source = std::string(kSource);
    r.policy = FgdPolicyName(row.keys[1]);
    for (std::string_view col : {"unalloc_pct_mean", "unalloc_pct_median", "unalloc_pct_sd"}) {
      if (auto v = unallocated.Find(row.keys, col)) {
        std::string name = std::string("unallocated_gpu_pct_") + std::string(col.substr(std::string_view("unalloc_pct_").size()));
        r.figures.emplace_back(std::move(name), *v);
      }
    }
    if (alloc != nullptr) {
      for (int k : kAllocPoints) {
        const std::string col = Format("gpu_alloc_pct_mean@{}", k);
        if (auto v = alloc->Find(row.keys, col)) r.figures.emplace_back(col, *v);
      }
    }
    if (frag != nullptr) {
      for (const auto& col : frag->value_columns) {
        if (!col.starts_with("frag_over_total_pct_mean@")) continue;
        if (auto v = frag->Find(row.keys, col)) r.figures.emplace_back(col, *v);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ReferenceFigures> HeliosReferences(const ReferenceTable& queue_delay, const ReferenceTable& jct) {
  static constexpr std::string_view kSource =
      "Helios artifact (S-Lab-System-Group/HeliosArtifact, QSSF service, Philly simulation)";
  std::vector<ReferenceFigures> out;
  for (const auto& policy : queue_delay.value_columns) {
    ReferenceFigures r;
    r.source = std::string(kSource);
    r.policy = policy;
    for (const auto& row : queue_delay.rows) {
      if (auto v = queue_delay.Find(row.keys, policy)) r.figures.emplace_back("queue_delay_s_mean/" + row.keys[0], *v);
    }
    for (const auto& row : jct.rows) {
      if (auto v = jct.Find(row.keys, policy)) r.figures.emplace_back("jct_s_mean/" + row.keys[0], *v);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string RenderSummaryJson(const SimulationReport& report) {
  std::vector<PolicyDigest> digests;
  for (const auto& p : report.policies) digests.push_back(Digest(p));
  return SummaryJson(report, digests);
}

std::string RenderTimelineCsv(const SimulationReport& report) {
  std::string out = "policy,seed,series,x,value\n";
  for (const auto& p : report.policies) {
    const std::string policy = CsvField(p.policy);
    for (const auto& run : p.runs) {
      const RunSummary s = Summarise(run);
      for (std::size_t k = 0; k < s.alloc_pct_by_arrived.size(); ++k) {
        if (s.alloc_pct_by_arrived[k]) {
          out += Format("{},{},alloc_pct_by_arrived,{},{}\n", policy, run.seed, k, Number(*s.alloc_pct_by_arrived[k]));
        }
      }
      for (std::size_t k = 0; k < s.frag_pct_by_arrived.size(); ++k) {
        if (s.frag_pct_by_arrived[k]) {
          out += Format("{},{},frag_pct_by_arrived,{},{}\n", policy, run.seed, k, Number(*s.frag_pct_by_arrived[k]));
        }
      }
      for (const auto& u : run.utilisation) {
        const std::string x = Number(static_cast<double>(u.time_ms) / 1000.0);
        const double pct = u.capacity_gpu_milli > 0
                               ? 100.0 * static_cast<double>(u.used_gpu_milli) / static_cast<double>(u.capacity_gpu_milli)
                               : 0.0;
        out += Format("{},{},gpu_utilisation_pct,{},{}\n", policy, run.seed, x, Number(pct));
        out += Format("{},{},pending_jobs,{},{}\n", policy, run.seed, x, u.pending_jobs);
        out += Format("{},{},running_jobs,{},{}\n", policy, run.seed, x, u.running_jobs);
      }
    }
  }
  return out;
}

namespace {

// Utilisation series thinned to at most kMaxPoints per run for the page (the CSV keeps them all).
constexpr std::size_t kMaxChartPoints = 600;

std::string ChartDataJson(const SimulationReport& report, const std::vector<PolicyDigest>& digests) {
  Json j;
  j.BeginObject();
  j.Key("scenario"); j.String(report.scenario);
  j.Key("workload"); j.String(report.workload);
  j.Key("protocol"); j.String(report.protocol);
  j.Key("policies");
  j.BeginArray();
  for (std::size_t i = 0; i < report.policies.size(); ++i) {
    const auto& p = report.policies[i];
    const auto& d = digests[i];
    j.BeginObject();
    j.Key("name"); j.String(p.policy);
    j.Key("alloc");
    j.BeginArray();
    for (int k = 0; k <= kMaxArrivedPct; ++k) {
      if (!d.alloc_mean[k]) continue;
      j.BeginArray(); j.Int(k); j.Double(*d.alloc_mean[k]); j.EndArray();
    }
    j.EndArray();
    j.Key("frag");
    j.BeginArray();
    for (int k = 0; k <= kMaxArrivedPct; ++k) {
      if (!d.frag_mean[k]) continue;
      j.BeginArray(); j.Int(k); j.Double(*d.frag_mean[k]); j.EndArray();
    }
    j.EndArray();
    j.Key("unallocated"); d.unallocated.empty() ? j.Raw("null") : j.Double(StatsOverSeeds(d.unallocated).mean);
    j.Key("frag100"); d.frag.empty() ? j.Raw("null") : j.Double(StatsOverSeeds(d.frag).mean);
    j.Key("utilisation_mean"); d.utilisation.empty() ? j.Raw("null") : j.Double(StatsOverSeeds(d.utilisation).mean);
    std::int64_t preemptions = 0, stranded = 0;
    for (const auto& s : d.summaries) { preemptions += s.preemptions; stranded += s.gangs_stranded; }
    j.Key("preemptions"); j.Int(preemptions);
    j.Key("gangs_stranded"); j.Int(stranded);
    j.Key("queues");
    j.BeginArray();
    if (!d.summaries.empty()) {
      for (const auto& q : d.summaries.front().queues) {
        j.BeginObject();
        j.Key("queue"); j.String(q.queue.empty() ? "(all)" : q.queue);
        j.Key("mean"); j.Double(q.delay_s.mean);
        j.Key("p50"); j.Double(q.delay_s.p50);
        j.Key("p95"); j.Double(q.delay_s.p95);
        j.Key("jct_mean"); j.Double(q.jct_s.mean);
        j.EndObject();
      }
    }
    j.EndArray();
    j.Key("utilisation");
    j.BeginArray();
    if (!p.runs.empty()) {
      const auto& u = p.runs.front().utilisation;
      const std::size_t step = u.size() > kMaxChartPoints ? (u.size() + kMaxChartPoints - 1) / kMaxChartPoints : 1;
      for (std::size_t k = 0; k < u.size(); k += step) {
        const double pct = u[k].capacity_gpu_milli > 0
                               ? 100.0 * static_cast<double>(u[k].used_gpu_milli) / static_cast<double>(u[k].capacity_gpu_milli)
                               : 0.0;
        j.BeginArray(); j.Double(static_cast<double>(u[k].time_ms) / 3'600'000.0); j.Double(pct); j.EndArray();
      }
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  j.Key("references");
  WriteReferences(j, report.references);
  j.Key("notes");
  j.BeginArray();
  for (const auto& n : report.notes) j.String(n);
  j.EndArray();
  j.EndObject();
  return j.Take();
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The page script: builds the charts from the inlined data, then checks that each canvas has ink.
constexpr std::string_view kPageScript = R"JS(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('platoon-data').textContent);
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  var charts = [];
  Chart.defaults.animation = false;
  Chart.defaults.responsive = false;
  function figure(ref, name) {
    for (var i = 0; i < ref.figures.length; i++) { if (ref.figures[i][0] === name) return ref.figures[i][1]; }
    return null;
  }
  function refFigures(ref) {
    var out = [];
    for (var k in ref.figures) { if (Object.prototype.hasOwnProperty.call(ref.figures, k)) out.push([k, ref.figures[k]]); }
    return out;
  }
  data.references.forEach(function (r) { r.figures = refFigures(r); });
  function fmt(v) { return v === null || v === undefined ? '\u2013' : (Math.round(v * 100) / 100).toFixed(2); }
  function section(id, title) {
    var s = document.createElement('section');
    var h = document.createElement('h2'); h.textContent = title; s.appendChild(h);
    var c = document.createElement('canvas'); c.id = id; c.width = 1300; c.height = 420; s.appendChild(c);
    document.getElementById('charts').appendChild(s);
    return c;
  }
  // 1. Allocation against arrived workload.
  var allocDatasets = [];
  data.policies.forEach(function (p, i) {
    if (p.alloc.length === 0) return;
    allocDatasets.push({ label: 'platoon ' + p.name, data: p.alloc.map(function (a) { return { x: a[0], y: a[1] }; }),
      borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], pointRadius: 0, borderWidth: 2 });
  });
  data.references.forEach(function (r, i) {
    var pts = [];
    r.figures.forEach(function (f) {
      var m = /^gpu_alloc_pct_mean@(\d+)$/.exec(f[0]);
      if (m) pts.push({ x: +m[1], y: f[1] });
    });
    if (pts.length === 0) return;
    allocDatasets.push({ label: 'published ' + r.policy, data: pts, borderDash: [6, 4],
      borderColor: palette[(i + 5) % palette.length], backgroundColor: palette[(i + 5) % palette.length], pointRadius: 3, borderWidth: 1 });
  });
  if (allocDatasets.length > 0) {
    allocDatasets.push({ label: 'ideal (allocated = arrived)', data: [{ x: 0, y: 0 }, { x: 100, y: 100 }, { x: 130, y: 100 }],
      borderColor: '#999', borderDash: [2, 2], pointRadius: 0, borderWidth: 1 });
    charts.push(new Chart(section('chart-alloc', 'GPU allocation against arrived workload (FGD protocol, mean over seeds)'), {
      type: 'line', data: { datasets: allocDatasets },
      options: { parsing: false, scales: { x: { type: 'linear', min: 0, max: 130, title: { display: true, text: 'arrived workload (% of cluster GPUs)' } },
        y: { min: 0, max: 100, title: { display: true, text: 'GPUs allocated (%)' } } } }
    }));
  }
  // 1b. Fragmentation against arrived workload.
  var fragDatasets = [];
  data.policies.forEach(function (p, i) {
    if (p.frag.length === 0) return;
    fragDatasets.push({ label: 'platoon ' + p.name, data: p.frag.map(function (a) { return { x: a[0], y: a[1] }; }),
      borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], pointRadius: 0, borderWidth: 2 });
  });
  if (fragDatasets.length > 0) {
    data.references.forEach(function (r, i) {
      var pts = [];
      r.figures.forEach(function (f) {
        var m = /^frag_over_total_pct_mean@(\d+)$/.exec(f[0]);
        if (m) pts.push({ x: +m[1], y: f[1] });
      });
      if (pts.length === 0) return;
      fragDatasets.push({ label: 'published ' + r.policy, data: pts, borderDash: [6, 4],
        borderColor: palette[(i + 5) % palette.length], backgroundColor: palette[(i + 5) % palette.length], pointRadius: 3, borderWidth: 1 });
    });
    charts.push(new Chart(section('chart-frag', 'Fragmented GPUs against arrived workload (FGD measure, % of all GPUs)'), {
      type: 'line', data: { datasets: fragDatasets },
      options: { parsing: false, scales: { x: { type: 'linear', min: 0, max: 130, title: { display: true, text: 'arrived workload (% of cluster GPUs)' } },
        y: { beginAtZero: true, title: { display: true, text: 'fragmented GPUs (%)' } } } }
    }));
  }
  // 2. Queueing delay per queue.
  var queueNames = [];
  data.policies.forEach(function (p) { p.queues.forEach(function (q) { if (queueNames.indexOf(q.queue) < 0) queueNames.push(q.queue); }); });
  if (queueNames.length > 0) {
    var qd = [];
    data.policies.forEach(function (p, i) {
      ['mean', 'p95'].forEach(function (stat, s) {
        qd.push({ label: p.name + ' ' + stat, backgroundColor: palette[i % palette.length] + (s === 0 ? 'ff' : '80'),
          data: queueNames.map(function (n) { var q = p.queues.find(function (x) { return x.queue === n; }); return q ? q[stat] / 3600 : null; }) });
      });
    });
    charts.push(new Chart(section('chart-queue', 'Queueing delay per queue (hours; mean and p95)'), {
      type: 'bar', data: { labels: queueNames, datasets: qd },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'hours' } } } }
    }));
  }
  // 3. Utilisation over time.
  var ud = [];
  data.policies.forEach(function (p, i) {
    if (p.utilisation.length === 0) return;
    ud.push({ label: p.name, data: p.utilisation.map(function (u) { return { x: u[0], y: u[1] }; }),
      borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], pointRadius: 0, borderWidth: 1.5 });
  });
  if (ud.length > 0) {
    charts.push(new Chart(section('chart-util', 'GPU utilisation over time (first seed)'), {
      type: 'line', data: { datasets: ud },
      options: { parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'virtual time (hours)' } },
        y: { min: 0, max: 100, title: { display: true, text: 'GPUs in use (%)' } } } }
    }));
  }
  // 4. Side-by-side table with the published figures.
  var table = document.getElementById('table');
  var rows = [['who', 'policy', 'unallocated GPU % at 100 % arrived', 'fragmented GPU % at 100 % arrived', 'mean queueing delay (h)', 'mean GPU utilisation %', 'preemptions', 'gangs stranded']];
  data.policies.forEach(function (p) {
    var all = p.queues.find(function (q) { return q.queue === '(all)'; });
    rows.push(['platoon', p.name, fmt(p.unallocated), fmt(p.frag100), all ? fmt(all.mean / 3600) : '\u2013',
      fmt(p.utilisation_mean), String(p.preemptions), String(p.gangs_stranded)]);
  });
  data.references.forEach(function (r) {
    var all = figure(r, 'queue_delay_s_mean/all');
    rows.push(['published', r.policy, fmt(figure(r, 'unallocated_gpu_pct_mean')), fmt(figure(r, 'frag_over_total_pct_mean@100')),
      all === null ? '\u2013' : fmt(all / 3600), '\u2013', '\u2013', '\u2013']);
  });
  rows.forEach(function (r, i) {
    var tr = document.createElement('tr');
    r.forEach(function (c) { var td = document.createElement(i === 0 ? 'th' : 'td'); td.textContent = c; tr.appendChild(td); });
    if (i > 0 && r[0] === 'published') tr.className = 'published';
    table.appendChild(tr);
  });
  // Marker for tests: a chart counts as drawn when its canvas has non-blank pixels.
  var drawn = 0;
  charts.forEach(function (c) {
    c.draw();
    var px = c.ctx.getImageData(0, 0, c.canvas.width, c.canvas.height).data;
    var ink = 0;
    for (var k = 3; k < px.length; k += 4 * 7) { if (px[k] !== 0) ink++; }
    if (ink > 100) drawn++;
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
  document.title = 'platoon report: charts drawn ' + drawn + '/' + charts.length;
})();
)JS";

}  // namespace

std::string RenderReportHtml(const SimulationReport& report) {
  std::vector<PolicyDigest> digests;
  for (const auto& p : report.policies) digests.push_back(Digest(p));
  std::string js(ChartJsSource());
  // An inlined script ends at the first "</script"; the library never contains one, but make sure.
  for (std::size_t pos = 0; (pos = js.find("</script", pos)) != std::string::npos;) js.replace(pos, 2, "<\\/");
  std::string out;
  out.reserve(js.size() + 64 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<title>platoon report: charts pending</title>\n";
  out += "<style>\nbody{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}"
         "h1{font-size:22px}h2{font-size:16px;margin-top:28px}"
         "table{border-collapse:collapse;margin-top:12px}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}"
         "tr.published td{color:#555;font-style:italic}.notes{color:#555;font-size:13px}\n</style>\n</head>\n<body>\n";
  out += Format("<h1>platoon simulate: {}</h1>\n", HtmlEscape(report.scenario));
  out += Format("<p>workload <b>{}</b>, protocol <b>{}</b>, {} GPUs, {} policies. Charts by Chart.js {} (inlined).</p>\n",
                     HtmlEscape(report.workload), HtmlEscape(report.protocol), report.cluster_gpus,
                     report.policies.size(), HtmlEscape(ChartJsVersion()));
  out += "<h2>Platoon beside the published figures</h2>\n<table id=\"table\"></table>\n<div id=\"charts\"></div>\n";
  out += "<div class=\"notes\">\n";
  for (const auto& n : report.notes) out += Format("<p>{}</p>\n", HtmlEscape(n));
  out += "</div>\n";
  out += "<script type=\"application/json\" id=\"platoon-data\">";
  out += ChartDataJson(report, digests);
  out += "</script>\n<script>\n";
  out += js;
  out += "\n</script>\n<script>";
  out += kPageScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

std::expected<void, std::string> WriteReport(const SimulationReport& report, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return std::unexpected(Format("{}: cannot create directory: {}", dir, ec.message()));
  const std::pair<const char*, std::string> files[] = {
      {"summary.json", RenderSummaryJson(report)},
      {"timeline.csv", RenderTimelineCsv(report)},
      {"report.html", RenderReportHtml(report)},
  };
  for (const auto& [name, text] : files) {
    const fs::path path = fs::path(dir) / name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.close();
    if (!f) return std::unexpected(Format("{}: cannot write", path.string()));
  }
  return {};
}

}  // namespace platoon::sim
