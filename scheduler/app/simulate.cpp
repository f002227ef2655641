// `platoon simulate`: runs a scenario on the engine with a virtual clock and writes the report.
#include <charconv>
#include <chrono>
#include <optional>
#include <cstdio>
#include <string>
#include <thread>

#include "scheduler/app/commands.h"
#include "simulations/metrics.h"
#include "simulations/progress.h"
#include "simulations/report.h"
#include "simulations/scenario.h"
#include "simulations/scenario_inputs.h"
#include "simulations/simulate.h"
#include "simulations/text_format.h"

namespace platoon::app {
namespace {

constexpr const char* kSimulateHelp =
    "Usage: platoon simulate SCENARIO [options]\n"
    "\n"
    "Replays a scenario (simulations/scenarios/*.yaml: a cluster, optional Kueue quota, a trace or job\n"
    "list, the policies to compare, seeds) on platoon's engine with a virtual clock, playing\n"
    "kube-scheduler's default filters and binds around it, and writes summary.json, timeline.csv and a\n"
    "self-contained report.html. The same scenario and seeds give the same bytes.\n"
    "\n"
    "Options:\n"
    "  --out DIR         output directory (default: simulation-<scenario name>)\n"
    "  --threads N       runs (policy x seed) in parallel (default: the machine's cores); results do\n"
    "                    not depend on it\n"
    "  --policy NAMES    only these policies of the scenario, comma-separated\n"
    "  --seeds LIST      override the scenario's seeds: 42 | 42,43 | 42-51\n"
    "  --skip-bad-rows   drop trace rows that fail validation (counted and listed) instead of failing\n"
    "  --quiet           no progress bar and no summary table\n"
    "  --help            show this help\n"
    "\n"
    "Examples:\n"
    "  platoon simulate simulations/scenarios/small-cohort.yaml --out /tmp/small\n"
    "  platoon simulate simulations/scenarios/openb-default-fgd.yaml --seeds 42 --out /tmp/openb\n";

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string::npos ? text.size() : comma;
    if (end > start) out.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// A whole decimal number, nothing else.
std::optional<std::uint64_t> ParseSeed(const std::string& text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::expected<std::vector<std::uint64_t>, std::string> ParseSeeds(const std::string& text) {
  std::vector<std::uint64_t> seeds;
  for (const auto& part : SplitComma(text)) {
    const auto dash = part.find('-');
    const auto from = ParseSeed(dash == std::string::npos ? part : part.substr(0, dash));
    const auto to = dash == std::string::npos ? from : ParseSeed(part.substr(dash + 1));
    if (!from || !to) {
      return std::unexpected("--seeds: \"" + part + "\" is not a seed, a list (42,43) or a range (42-51)");
    }
    if (*to < *from || *to - *from > 10000) return std::unexpected("--seeds: bad range \"" + part + "\"");
    for (auto s = *from; s <= *to; ++s) seeds.push_back(s);
  }
  if (seeds.empty()) return std::unexpected(std::string("--seeds: no seed given"));
  return seeds;
}

std::string Fixed(double v) { return sim::Format("{:.2f}", v); }

void PrintSummary(const sim::SimulationReport& report, bool fgd) {
  std::printf("%-24s %s\n", "policy", fgd ? "unallocated GPU % at 100 % arrived (mean over seeds)"
                                          : "jobs started   queue delay mean / p95 (s)   GPU util %   preemptions   stranded");
  for (const auto& p : report.policies) {
    std::vector<double> unalloc, delay_mean, delay_p95, util;
    std::int64_t preemptions = 0, stranded = 0;
    std::size_t jobs = 0, started = 0;
    for (const auto& run : p.runs) {
      const auto s = sim::Summarise(run);
      if (s.unallocated_gpu_pct_at_arrived100) unalloc.push_back(*s.unallocated_gpu_pct_at_arrived100);
      if (!s.queues.empty()) {
        jobs += s.queues.back().jobs;
        started += s.queues.back().started;
        delay_mean.push_back(s.queues.back().delay_s.mean);
        delay_p95.push_back(s.queues.back().delay_s.p95);
      }
      if (s.gpu_utilisation_pct_mean) util.push_back(*s.gpu_utilisation_pct_mean);
      preemptions += s.preemptions;
      stranded += s.gangs_stranded;
    }
    if (fgd) {
      const auto st = sim::StatsOverSeeds(unalloc);
      std::printf("%-24s %s (sd %s, %zu seeds)\n", p.policy.c_str(), Fixed(st.mean).c_str(), Fixed(st.sd).c_str(), st.seeds);
    } else {
      const std::string ratio = std::to_string(started) + "/" + std::to_string(jobs);
      std::printf("%-24s %12s %12s / %-12s %10s %13lld %10lld\n", p.policy.c_str(), ratio.c_str(),
                  Fixed(sim::StatsOverSeeds(delay_mean).mean).c_str(), Fixed(sim::StatsOverSeeds(delay_p95).mean).c_str(),
                  Fixed(sim::StatsOverSeeds(util).mean).c_str(), static_cast<long long>(preemptions),
                  static_cast<long long>(stranded));
    }
  }
}

}  // namespace

int RunSimulate(const std::vector<std::string_view>& args) {
  auto flags = ParseFlags(args, {{"out"}, {"threads"}, {"policy"}, {"seeds"}, {"skip-bad-rows", false},
                                 {"quiet", false}, {"help", false}});
  if (!flags) {
    std::fprintf(stderr, "platoon simulate: %s\n\n%s", flags.error().c_str(), kSimulateHelp);
    return 2;
  }
  if (flags->Has("help")) {
    std::fputs(kSimulateHelp, stdout);
    return 0;
  }
  if (flags->positional.size() != 1) {
    std::fprintf(stderr, "platoon simulate: expected one SCENARIO file\n\n%s", kSimulateHelp);
    return 2;
  }
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (flags->Has("threads")) {
    try {
      threads = std::stoi(flags->Get("threads"));
    } catch (const std::exception&) {
      threads = 0;
    }
    if (threads < 1 || threads > 256) {
      std::fprintf(stderr, "platoon simulate: --threads must be a number from 1 to 256\n");
      return 2;
    }
  }
  auto scenario = sim::LoadScenario(flags->positional.front());
  if (!scenario) {
    std::fprintf(stderr, "platoon simulate: %s\n", scenario.error().ToString().c_str());
    return 1;
  }
  if (flags->Has("skip-bad-rows")) scenario->skip_bad_rows = true;
  if (flags->Has("seeds")) {
    auto seeds = ParseSeeds(flags->Get("seeds"));
    if (!seeds) {
      std::fprintf(stderr, "platoon simulate: %s\n", seeds.error().c_str());
      return 2;
    }
    scenario->seeds = std::move(*seeds);
  }
  if (flags->Has("policy")) {
    std::vector<sim::ScenarioPolicy> chosen;
    for (const auto& name : SplitComma(flags->Get("policy"))) {
      auto it = std::ranges::find(scenario->policies, name, &sim::ScenarioPolicy::name);
      if (it == scenario->policies.end()) {
        std::string known;
        for (const auto& p : scenario->policies) known += (known.empty() ? "" : ", ") + p.name;
        std::fprintf(stderr, "platoon simulate: --policy: the scenario has no policy \"%s\" (it has: %s)\n", name.c_str(),
                     known.c_str());
        return 2;
      }
      chosen.push_back(*it);
    }
    scenario->policies = std::move(chosen);
  }
  const std::string out = flags->Get("out", "simulation-" + scenario->name);
  const bool quiet = flags->Has("quiet");

  const auto started = std::chrono::steady_clock::now();
  auto inputs = sim::LoadScenarioInputs(*scenario);
  if (!inputs) {
    std::fprintf(stderr, "platoon simulate: %s\n", inputs.error().ToString().c_str());
    return 1;
  }
  if (inputs->report.rows_skipped > 0 && !quiet) {
    std::fprintf(stderr, "platoon simulate: skipped %zu bad row(s) (listed in summary.json notes)\n",
                 inputs->report.rows_skipped);
  }
  const std::size_t runs = scenario->policies.size() * scenario->seeds.size();
  sim::ProgressBar::Options bar_options;
  if (quiet) bar_options.tty = 0;
  sim::ProgressBar bar("simulate " + scenario->name, runs, bar_options);
  sim::SimulateOptions options;
  options.threads = threads;
  options.on_progress = [&](std::size_t done, std::size_t) { bar.Update(done); };
  auto report = sim::Simulate(*scenario, *inputs, options);
  bar.Finish();
  if (!report) {
    std::fprintf(stderr, "platoon simulate: %s\n", report.error().c_str());
    return 1;
  }
  if (auto written = sim::WriteReport(*report, out); !written) {
    std::fprintf(stderr, "platoon simulate: cannot write the report: %s\n", written.error().c_str());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!quiet) {
    PrintSummary(*report, scenario->protocol == sim::ProtocolKind::Fgd);
    if (scenario->protocol != sim::ProtocolKind::Fgd) std::printf("(queueing delay over the jobs that started; means over seeds)\n");
    std::printf("\n%zu run(s) in %.1f s; wrote %s/summary.json, timeline.csv, report.html\n", runs, seconds, out.c_str());
  }
  return 0;
}

}  // namespace platoon::app
