// The kubelet Topology Manager's hint merge and the CPU/device manager hint generation, re-derived
// from the kubelet's documented behaviour and test cases.
#include "topology/kubelet_admission.h"

#include <algorithm>
#include <bit>
#include <functional>

#include "topology/text.h"

namespace platoon::topology::kubelet {

NumaMask MaskOf(std::initializer_list<int> ids) {
  NumaMask m = 0;
  for (int i : ids) m |= NumaMask{1} << i;
  return m;
}

std::optional<Policy> ParsePolicy(std::string_view name) {
  if (name == "none") return Policy::None;
  if (name == "best-effort") return Policy::BestEffort;
  if (name == "restricted") return Policy::Restricted;
  if (name == "single-numa-node") return Policy::SingleNumaNode;
  return std::nullopt;
}

std::optional<Scope> ParseScope(std::string_view name) {
  if (name == "container") return Scope::Container;
  if (name == "pod") return Scope::Pod;
  return std::nullopt;
}

namespace {
int Count(NumaMask m) { return std::popcount(m); }
int Count(const TopologyHint& h) { return h.affinity ? Count(*h.affinity) : 0; }
}  // namespace

bool IsNarrower(NumaMask a, NumaMask b) {
  if (Count(a) != Count(b)) return Count(a) < Count(b);
  return a < b;
}

int MaxOfMinAffinityCounts(const std::vector<std::vector<TopologyHint>>& hints) {
  int result = 0;
  for (const auto& list : hints) {
    int narrowest = -1;
    for (const auto& h : list) {
      if (!h.affinity) continue;
      if (narrowest < 0 || Count(*h.affinity) < narrowest) narrowest = Count(*h.affinity);
    }
    result = std::max(result, narrowest);
  }
  return result;
}

const TopologyHint* CompareHints(int best, const TopologyHint* current, const TopologyHint* candidate) {
  if (Count(*candidate) == 0) return current;
  if (current == nullptr) return candidate;
  if (!current->preferred && candidate->preferred) return candidate;
  if (current->preferred && !candidate->preferred) return current;
  const NumaMask cur = *current->affinity, cand = *candidate->affinity;
  if (current->preferred) return IsNarrower(cand, cur) ? candidate : current;
  // Both non-preferred: aim at the widest-needed narrowest affinity (`best` NUMA nodes).
  const int cc = Count(cur), nc = Count(cand);
  if (cc > best) return IsNarrower(cand, cur) ? candidate : current;
  if (cc == best) {
    if (nc != best) return current;
    return IsNarrower(cand, cur) ? candidate : current;
  }
  // cc < best: grow towards `best`, never beyond it.
  if (nc > best) return current;
  if (nc == best) return candidate;
  if (nc > cc) return candidate;
  if (nc == cc && cand < cur) return candidate;
  return current;
}

namespace {

std::vector<std::vector<TopologyHint>> Filter(const std::vector<ProviderHints>& providers) {
  std::vector<std::vector<TopologyHint>> all;
  for (const auto& provider : providers) {
    if (provider.empty()) {
      all.push_back({TopologyHint{std::nullopt, true}});
      continue;
    }
    for (const auto& r : provider) {
      if (!r.hints) all.push_back({TopologyHint{std::nullopt, true}});
      else if (r.hints->empty()) all.push_back({TopologyHint{std::nullopt, false}});
      else all.push_back(*r.hints);
    }
  }
  return all;
}

TopologyHint MergePermutation(NumaMask default_affinity, const std::vector<const TopologyHint*>& perm) {
  bool preferred = true;
  NumaMask merged = default_affinity;
  std::optional<NumaMask> first;
  for (const TopologyHint* h : perm) {
    if (h->affinity) {
      merged &= *h->affinity;
      if (!first) first = *h->affinity;
      else if (*first != *h->affinity) preferred = false;  // preferred only when every affinity agrees
    }
    if (!h->preferred) preferred = false;
  }
  return {merged, preferred};
}

TopologyHint MergeFiltered(NumaMask default_affinity, const std::vector<std::vector<TopologyHint>>& filtered) {
  const int best_count = MaxOfMinAffinityCounts(filtered);
  std::optional<TopologyHint> best;
  std::vector<const TopologyHint*> perm(filtered.size());
  std::function<void(std::size_t)> iterate = [&](std::size_t i) {
    if (i == filtered.size()) {
      const TopologyHint merged = MergePermutation(default_affinity, perm);
      const TopologyHint* chosen = CompareHints(best_count, best ? &*best : nullptr, &merged);
      if (chosen == &merged) best = merged;
      return;
    }
    for (const auto& h : filtered[i]) {
      perm[i] = &h;
      iterate(i + 1);
    }
  };
  iterate(0);
  if (!best) return {default_affinity, false};
  return *best;
}

}  // namespace

TopologyHint Merge(Policy policy, const std::vector<int>& numa_nodes, const std::vector<ProviderHints>& providers) {
  NumaMask default_affinity = 0;
  for (int id : numa_nodes) default_affinity |= NumaMask{1} << id;
  if (policy == Policy::None) return {std::nullopt, true};
  auto filtered = Filter(providers);
  if (policy != Policy::SingleNumaNode) return MergeFiltered(default_affinity, filtered);
  // single-numa-node: only "any NUMA" preferred hints and single-NUMA preferred hints take part.
  for (auto& list : filtered) {
    std::erase_if(list, [](const TopologyHint& h) {
      if (!h.preferred) return true;
      return h.affinity && Count(*h.affinity) != 1;
    });
  }
  TopologyHint best = MergeFiltered(default_affinity, filtered);
  if (best.affinity && *best.affinity == default_affinity) best.affinity.reset();
  return best;
}

bool CanAdmit(Policy policy, const TopologyHint& hint) {
  switch (policy) {
    case Policy::None:
    case Policy::BestEffort: return true;
    case Policy::Restricted:
    case Policy::SingleNumaNode: return hint.preferred;
  }
  return true;
}

std::vector<NumaResources> NumaResourcesOf(const NodeHardware& hw, const NodeDeviceState& state) {
  std::vector<NumaResources> out;
  for (std::size_t u = 0; u < hw.numa.size(); ++u) {
    NumaResources r;
    r.id = hw.numa[u].id;
    r.cpus_total = r.cpus_free = static_cast<int>(hw.numa[u].cpus.size());
    int total = 0, free = 0;
    for (int g : hw.numa[u].gpus) {
      if (hw.IsMig(g)) continue;
      ++total;
      free += state.GpuFree(g) ? 1 : 0;
    }
    if (total > 0) {
      r.devices_total[std::string(kResourceGPU)] = total;
      r.devices_free[std::string(kResourceGPU)] = free;
    }
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// Hints for `request` units given per-NUMA free and total amounts: every NUMA combination whose free
// amount covers the request; preferred when it is as narrow as the smallest combination whose total
// could ever cover it.
std::vector<TopologyHint> GenerateHints(const std::vector<NumaResources>& numa, int request,
                                        const std::function<int(const NumaResources&)>& free,
                                        const std::function<int(const NumaResources&)>& total) {
  std::vector<TopologyHint> hints;
  const std::size_t n = numa.size();
  int min_affinity = static_cast<int>(n);
  std::vector<NumaMask> masks;
  for (std::uint64_t subset = 1; subset < (std::uint64_t{1} << n); ++subset) masks.push_back(subset);
  std::ranges::stable_sort(masks, [](std::uint64_t a, std::uint64_t b) { return std::popcount(a) < std::popcount(b); });
  for (std::uint64_t subset : masks) {
    NumaMask mask = 0;
    int f = 0, t = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!(subset & (std::uint64_t{1} << i))) continue;
      mask |= NumaMask{1} << numa[i].id;
      f += free(numa[i]);
      t += total(numa[i]);
    }
    if (t >= request) min_affinity = std::min(min_affinity, Count(mask));
    if (f >= request) hints.push_back({mask, false});
  }
  for (auto& h : hints) h.preferred = Count(*h.affinity) == min_affinity;
  return hints;
}

int Get(const std::map<std::string, int, std::less<>>& m, std::string_view k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

ProviderHints CpuHints(const KubeletConfig& config, bool guaranteed, std::int64_t cpu_milli,
                       const std::vector<NumaResources>& numa) {
  if (!config.cpu_manager_static || !guaranteed || cpu_milli <= 0 || cpu_milli % 1000 != 0) return {};
  const int cpus = static_cast<int>(cpu_milli / 1000);
  return {{"cpu", GenerateHints(numa, cpus, [](const NumaResources& r) { return r.cpus_free; },
                                [](const NumaResources& r) { return r.cpus_total; })}};
}

ProviderHints DeviceHints(const std::map<std::string, int, std::less<>>& devices, const std::vector<NumaResources>& numa) {
  ProviderHints out;
  for (const auto& [resource, count] : devices) {
    if (count <= 0) continue;
    const std::string res = resource;
    out.push_back({res, GenerateHints(numa, count, [&](const NumaResources& r) { return Get(r.devices_free, res); },
                                      [&](const NumaResources& r) { return Get(r.devices_total, res); })});
  }
  return out;
}

namespace {

// Takes a container's grant from the NUMA nodes of its affinity (lowest id first), as the managers do.
void Allocate(std::vector<NumaResources>& numa, const TopologyHint& hint, std::int64_t cpus,
              const std::map<std::string, int, std::less<>>& devices) {
  auto in = [&](const NumaResources& r) { return !hint.affinity || (*hint.affinity >> r.id) & 1; };
  auto take = [&](auto get, int amount) {
    for (int pass = 0; pass < 2 && amount > 0; ++pass) {
      for (auto& r : numa) {
        if ((pass == 0) != in(r)) continue;
        int& f = get(r);
        const int t = std::min(f, amount);
        f -= t;
        amount -= t;
      }
    }
  };
  take([](NumaResources& r) -> int& { return r.cpus_free; }, static_cast<int>(cpus));
  for (const auto& [res, count] : devices) {
    take([&](NumaResources& r) -> int& { return r.devices_free[res]; }, count);
  }
}

}  // namespace

AdmitResult PredictAdmission(const KubeletConfig& config, std::vector<NumaResources> numa, const PodRequest& pod) {
  std::vector<int> ids;
  for (const auto& r : numa) ids.push_back(r.id);
  auto decide = [&](std::string_view who, std::int64_t cpu_milli, const std::map<std::string, int, std::less<>>& devices)
      -> AdmitResult {
    std::vector<ProviderHints> providers{CpuHints(config, pod.guaranteed, cpu_milli, numa), DeviceHints(devices, numa)};
    AdmitResult r;
    r.hint = Merge(config.policy, ids, providers);
    r.admit = CanAdmit(config.policy, r.hint);
    if (!r.admit) {
      r.reason = Format("TopologyAffinityError: {} cannot be allocated with NUMA locality under the {} policy", who,
                        config.policy == Policy::Restricted ? "restricted" : "single-numa-node");
    }
    return r;
  };
  if (config.policy == Policy::None) return {true, "", {std::nullopt, true}};
  if (config.scope == Scope::Pod) {
    std::int64_t cpu = 0;
    std::map<std::string, int, std::less<>> devices;
    for (const auto& c : pod.containers) {
      cpu += c.cpu_milli;
      for (const auto& [res, n] : c.devices) devices[res] += n;
    }
    for (const auto& c : pod.init_containers) {
      cpu = std::max(cpu, c.cpu_milli);
      for (const auto& [res, n] : c.devices) devices[res] = std::max(devices[res], n);
    }
    return decide("the pod", cpu, devices);
  }
  AdmitResult last{true, "", {std::nullopt, true}};
  for (const auto& c : pod.init_containers) {
    last = decide(Format("init container {}", c.name), c.cpu_milli, c.devices);
    if (!last.admit) return last;
  }
  for (const auto& c : pod.containers) {
    last = decide(Format("container {}", c.name), c.cpu_milli, c.devices);
    if (!last.admit) return last;
    const bool exclusive = config.cpu_manager_static && pod.guaranteed && c.cpu_milli % 1000 == 0;
    Allocate(numa, last.hint, exclusive ? c.cpu_milli / 1000 : 0, c.devices);
  }
  return last;
}

}  // namespace platoon::topology::kubelet
