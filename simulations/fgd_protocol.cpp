// The FGD paper's workload protocol on openb: pods shuffled per seed, topped up to 130 % of GPU capacity.
#include "simulations/fgd_protocol.h"

#include <algorithm>
#include <numeric>

#include "simulations/prng.h"
#include "simulations/text_format.h"

namespace platoon::sim {

std::expected<FgdWorkload, std::string> GenerateFgdWorkload(const std::vector<TraceNode>& nodes,
                                                            const std::vector<TraceJob>& pods,
                                                            const FgdProtocolOptions& options) {
  if (nodes.empty()) return std::unexpected("the FGD protocol needs a node list; it is empty");
  if (pods.empty()) return std::unexpected("the FGD protocol needs a pod list; it is empty");
  FgdWorkload out;
  out.seed = options.seed;
  for (const auto& n : nodes) out.cluster_gpu_milli += std::int64_t{n.gpus} * kWholeGpuMilli;
  if (out.cluster_gpu_milli == 0) return std::unexpected("the FGD protocol needs GPU nodes; the node list has no GPUs");
  for (const auto& p : pods) {
    if (p.pod_sets.size() != 1 || p.pod_sets[0].count != 1) {
      return std::unexpected(Format("job \"{}\" is a gang; the FGD protocol replays single pods", p.name));
    }
  }

  Prng rng(options.seed);
  std::vector<std::size_t> by_name(pods.size());
  std::iota(by_name.begin(), by_name.end(), std::size_t{0});
  std::stable_sort(by_name.begin(), by_name.end(),
                   [&](std::size_t a, std::size_t b) { return pods[a].name < pods[b].name; });

  std::vector<std::size_t> order = by_name;
  rng.Shuffle(order);
  std::vector<TraceJob> list;
  list.reserve(order.size() * 2);
  for (std::size_t i : order) list.push_back(pods[i]);
  std::int64_t total = 0;
  for (const auto& p : list) total += p.TotalGpuMilli();
  if (total == 0) return std::unexpected("the FGD protocol needs GPU pods; the pod list asks for no GPUs");

  const double target = options.tune_ratio * static_cast<double>(out.cluster_gpu_milli);
  if (options.tune_ratio > 0 && static_cast<double>(total) > target) {
    while (static_cast<double>(total) > target && !list.empty()) {
      const auto idx = static_cast<std::size_t>(rng.UniformBelow(list.size()));
      total -= list[idx].TotalGpuMilli();
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(idx));
      ++out.removed_pods;
    }
  }
  out.original_pods = list.size();
  // Either down or up, never both (the artifact's if/else): a list tuned down ends at or below target.
  if (options.tune_ratio > 0 && out.removed_pods == 0 && static_cast<double>(total) < target) {
    for (std::size_t i = 0;; ++i) {
      const TraceJob& source = pods[by_name[static_cast<std::size_t>(rng.UniformBelow(by_name.size()))]];
      const PodSet& set = source.pod_sets[0];
      const std::int64_t per_gpu_share = set.gpus > 0 ? set.gpu_milli : 0;
      if (static_cast<double>(total + per_gpu_share) > target) break;
      TraceJob copy = source;
      copy.name = Format("{}-tuned-{}", source.name, i);
      total += copy.TotalGpuMilli();
      list.push_back(std::move(copy));
      ++out.resampled_pods;
    }
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    list[i].arrival_ms = static_cast<std::int64_t>(i);
    list[i].duration_ms = kNeverDeparts;
  }
  out.pods = std::move(list);
  out.workload_gpu_milli = total;

  std::vector<std::size_t> nodes_by_name(nodes.size());
  std::iota(nodes_by_name.begin(), nodes_by_name.end(), std::size_t{0});
  std::stable_sort(nodes_by_name.begin(), nodes_by_name.end(),
                   [&](std::size_t a, std::size_t b) { return nodes[a].name < nodes[b].name; });
  rng.Shuffle(nodes_by_name);
  out.node_order = std::move(nodes_by_name);
  return out;
}

}  // namespace platoon::sim
