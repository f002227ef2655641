// Device choice inside a node and per-device accounting (whole GPUs, shared fractions, MIG instances).
#include "topology/devices.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>

#include "topology/text.h"

namespace platoon::topology {

int DeviceRequest::GpuEquivalents() const {
  int n = gpus;
  if (gpu_milli > 0 || gpu_memory_mib > 0) n += fraction_devices;
  for (const auto& [profile, count] : mig) n += count > 0 ? 1 : 0;
  return n;
}

namespace {

std::expected<double, std::string> ParseDecimal(std::string_view key, std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) {
    return std::unexpected(Format("annotation {}={} is not a number", key, s));
  }
  return v;
}

}  // namespace

std::expected<DeviceRequest, std::string> DeviceRequestFromPod(const ResourceList& requests,
                                                               const Annotations& annotations) {
  DeviceRequest r;
  r.cpu_milli = requests.Get(kResourceCPU);
  r.memory_bytes = requests.Get(kResourceMemory);
  const auto whole = requests.Get(kResourceGPU);
  if (whole < 0 || whole > 4096) return std::unexpected(Format("nvidia.com/gpu={} is not plausible", whole));
  r.gpus = static_cast<int>(whole);
  for (const auto& [res, amount] : requests) {
    if (res.starts_with(kMigResourcePrefix) && amount > 0) {
      r.mig.emplace_back(res.substr(kMigResourcePrefix.size()), static_cast<int>(amount));
    }
  }
  if (auto it = annotations.find(kGpuFractionDevicesAnnotation); it != annotations.end()) {
    auto v = ParseDecimal(kGpuFractionDevicesAnnotation, it->second);
    if (!v) return std::unexpected(v.error());
    if (*v < 1 || *v > 64 || *v != std::floor(*v)) {
      return std::unexpected(Format("annotation {}={} must be a whole number of GPUs from 1 to 64",
                                         kGpuFractionDevicesAnnotation, it->second));
    }
    r.fraction_devices = static_cast<int>(*v);
  }
  if (auto it = annotations.find(kGpuFractionAnnotation); it != annotations.end()) {
    auto v = ParseDecimal(kGpuFractionAnnotation, it->second);
    if (!v) return std::unexpected(v.error());
    if (!(*v > 0) || *v > 1) {
      return std::unexpected(Format("annotation {}={} must be a fraction of one GPU in (0, 1]",
                                         kGpuFractionAnnotation, it->second));
    }
    if (r.gpus > 0) {
      return std::unexpected(Format("annotation {} and a nvidia.com/gpu request exclude each other",
                                         kGpuFractionAnnotation));
    }
    const int milli = static_cast<int>(std::lround(*v * kMilliPerGpu));
    if (milli >= kMilliPerGpu) {
      r.gpus = r.fraction_devices;  // a fraction of 1 is a whole GPU
    } else {
      r.gpu_milli = std::max(1, milli);
    }
  }
  if (auto it = annotations.find(kGpuMemoryAnnotation); it != annotations.end()) {
    auto v = ParseDecimal(kGpuMemoryAnnotation, it->second);
    if (!v) return std::unexpected(v.error());
    if (!(*v > 0) || *v != std::floor(*v)) {
      return std::unexpected(Format("annotation {}={} must be a positive number of MiB", kGpuMemoryAnnotation,
                                         it->second));
    }
    if (r.gpu_milli > 0 || r.gpus > 0) {
      return std::unexpected(Format("annotation {} excludes {} and nvidia.com/gpu", kGpuMemoryAnnotation,
                                         kGpuFractionAnnotation));
    }
    r.gpu_memory_mib = static_cast<std::int64_t>(*v);
  }
  return r;
}

NodeDeviceState NodeDeviceState::For(const NodeHardware& hw) {
  NodeDeviceState s;
  const auto n = static_cast<std::size_t>(hw.gpu_count);
  s.whole.assign(n, 0);
  s.milli.assign(n, 0);
  s.mig.resize(n);
  for (std::size_t g = 0; g < n && g < hw.mig.size(); ++g) s.mig[g].assign(hw.mig[g].size(), 0);
  return s;
}

int FreeWholeGpus(const NodeHardware& hw, const NodeDeviceState& state) {
  int n = 0;
  for (int g = 0; g < hw.gpu_count; ++g) n += (state.GpuFree(g) && !hw.IsMig(g)) ? 1 : 0;
  return n;
}

bool ModelAllowed(const NodeHardware& hw, const DeviceRequest& req) {
  if (req.gpu_models.empty()) return true;
  return std::ranges::find(req.gpu_models, hw.gpu_model) != req.gpu_models.end();
}

int EffectiveMilli(const NodeHardware& hw, const DeviceRequest& req) {
  if (req.gpu_milli > 0) return req.gpu_milli;
  if (req.gpu_memory_mib <= 0) return 0;
  if (hw.gpu_memory_mib <= 0) return kMilliPerGpu;  // unknown memory: only an idle GPU is safe
  const auto m = (req.gpu_memory_mib * kMilliPerGpu + hw.gpu_memory_mib - 1) / hw.gpu_memory_mib;
  return static_cast<int>(std::min<std::int64_t>(m, kMilliPerGpu));
}

namespace {

struct SetScore {
  double bottleneck = 0;
  int numa_span = 0;
  double total = 0;
  double broken = 0;  // bandwidth from the set to the free GPUs left behind (links it breaks up)
  int leftover = 0;    // free GPUs left on the NUMA nodes touched
  bool valid = false;
};

// Larger is better.
bool Better(const SetScore& a, const SetScore& b) {
  if (!b.valid) return a.valid;
  if (a.bottleneck != b.bottleneck) return a.bottleneck > b.bottleneck;
  if (a.numa_span != b.numa_span) return a.numa_span < b.numa_span;
  if (a.total != b.total) return a.total > b.total;
  if (a.broken != b.broken) return a.broken < b.broken;
  return a.leftover < b.leftover;  // ties keep the earlier (lower ids) set
}

// What scoring a candidate set needs about the free GPUs, computed once per choice.
struct FreeView {
  const std::vector<int>& free;
  std::vector<int> free_per_numa;  // free GPUs per NUMA index
  std::vector<double> reach;       // per GPU id: summed bandwidth to every other free GPU
};

FreeView MakeFreeView(const NodeHardware& hw, const std::vector<int>& free) {
  FreeView v{free, std::vector<int>(std::max<std::size_t>(hw.numa.size(), 32), 0),
             std::vector<double>(static_cast<std::size_t>(hw.gpu_count), 0.0)};
  for (int g : free) {
    v.free_per_numa[static_cast<std::size_t>(hw.gpu_numa[static_cast<std::size_t>(g)])]++;
    for (int h : free)
      if (h != g) v.reach[static_cast<std::size_t>(g)] += hw.Link(g, h).gbps;
  }
  return v;
}

SetScore Score(const NodeHardware& hw, const std::vector<int>& set, const FreeView& view) {
  SetScore s;
  s.valid = true;
  s.bottleneck = std::numeric_limits<double>::infinity();
  unsigned numa_mask = 0;
  int used_per_numa[32] = {};
  double reach = 0;
  for (std::size_t i = 0; i < set.size(); ++i) {
    const int u = hw.gpu_numa[static_cast<std::size_t>(set[i])];
    numa_mask |= 1u << (u & 31);
    used_per_numa[u & 31]++;
    reach += view.reach[static_cast<std::size_t>(set[i])];
    for (std::size_t j = i + 1; j < set.size(); ++j) {
      const double bw = hw.Link(set[i], set[j]).gbps;
      s.bottleneck = std::min(s.bottleneck, bw);
      s.total += bw;
    }
  }
  // Links from the set to the free GPUs left behind: everything the set reaches minus its own pairs.
  s.broken = reach - 2 * s.total;
  s.numa_span = std::popcount(numa_mask);
  for (int u = 0; u < 32; ++u) {
    if (numa_mask & (1u << u)) s.leftover += view.free_per_numa[static_cast<std::size_t>(u)] - used_per_numa[u];
  }
  return s;
}

double Combinations(std::size_t n, std::size_t k) {
  double c = 1;
  for (std::size_t i = 0; i < k; ++i) c = c * static_cast<double>(n - i) / static_cast<double>(i + 1);
  return c;
}

// Pools of at most this many k-subsets are searched exhaustively (every case on nodes of <= 8 GPUs).
constexpr double kExhaustiveLimit = 128;

struct Best {
  std::vector<int> set;
  SetScore score;
  void Consider(const NodeHardware& hw, const std::vector<int>& candidate, const FreeView& view) {
    SetScore sc = Score(hw, candidate, view);
    if (Better(sc, score)) score = sc, set = candidate;
  }
};

void Exhaustive(const NodeHardware& hw, const std::vector<int>& pool, std::size_t k, const FreeView& view, Best& best) {
  std::vector<std::size_t> idx(k);
  for (std::size_t i = 0; i < k; ++i) idx[i] = i;
  std::vector<int> set(k);
  while (true) {
    for (std::size_t i = 0; i < k; ++i) set[i] = pool[idx[i]];
    best.Consider(hw, set, view);
    std::size_t i = k;
    while (i > 0 && idx[i - 1] == pool.size() - k + (i - 1)) --i;
    if (i == 0) break;
    ++idx[i - 1];
    for (std::size_t j = i; j < k; ++j) idx[j] = idx[j - 1] + 1;
  }
}

// Greedy growth from every seed: add the GPU with the strongest weakest link to the set so far (then
// same NUMA node as the seed, then most bandwidth), keeping each candidate's link summary incremental.
void Greedy(const NodeHardware& hw, const std::vector<int>& free, std::size_t k, const FreeView& view, Best& best) {
  const std::size_t n = free.size();
  std::vector<double> mn(n), sum(n);
  std::vector<char> in(n);
  std::vector<int> set;
  for (std::size_t seed = 0; seed < n; ++seed) {
    std::fill(in.begin(), in.end(), 0);
    in[seed] = 1;
    set.assign(1, free[seed]);
    for (std::size_t j = 0; j < n; ++j) mn[j] = sum[j] = hw.Link(free[seed], free[j]).gbps;
    const int seed_numa = hw.gpu_numa[static_cast<std::size_t>(free[seed])];
    while (set.size() < k) {
      std::size_t pick = n;
      bool pick_same = false;
      for (std::size_t j = 0; j < n; ++j) {
        if (in[j]) continue;
        const bool same = hw.gpu_numa[static_cast<std::size_t>(free[j])] == seed_numa;
        if (pick == n || mn[j] > mn[pick] ||
            (mn[j] == mn[pick] && (same > pick_same || (same == pick_same && sum[j] > sum[pick])))) {
          pick = j, pick_same = same;
        }
      }
      in[pick] = 1;
      set.push_back(free[pick]);
      for (std::size_t j = 0; j < n; ++j) {
        const double bw = hw.Link(free[pick], free[j]).gbps;
        mn[j] = std::min(mn[j], bw);
        sum[j] += bw;
      }
    }
    std::ranges::sort(set);
    best.Consider(hw, set, view);
  }
}

std::vector<int> ChooseWhole(const NodeHardware& hw, const std::vector<int>& free, int k) {
  const auto kk = static_cast<std::size_t>(k);
  const FreeView view = MakeFreeView(hw, free);
  Best best;
  if (Combinations(free.size(), kk) <= kExhaustiveLimit) {
    Exhaustive(hw, free, kk, view, best);
    return best.set;
  }
  // Large nodes: exhaustive inside each NUMA node that can hold the pod, plus greedy over the node.
  for (const auto& numa : hw.numa) {
    std::vector<int> pool;
    for (int g : free)
      if (std::ranges::find(numa.gpus, g) != numa.gpus.end()) pool.push_back(g);
    if (pool.size() >= kk && Combinations(pool.size(), kk) <= kExhaustiveLimit) Exhaustive(hw, pool, kk, view, best);
  }
  Greedy(hw, free, kk, view, best);
  return best.set;
}

}  // namespace

std::expected<DeviceAssignment, std::string> ChooseDevices(const NodeHardware& hw, const NodeDeviceState& state,
                                                           const DeviceRequest& req) {
  if (!hw.usable()) return std::unexpected(Format("node {} is unusable: {}", hw.name, hw.unusable_reason));
  if (req.NeedsGpu() && !ModelAllowed(hw, req)) {
    std::string models;
    for (const auto& m : req.gpu_models) models += (models.empty() ? "" : "|") + m;
    return std::unexpected(Format("GPU model {} is not one of {}", hw.gpu_model.empty() ? "unknown" : hw.gpu_model,
                                       models));
  }
  DeviceAssignment a;
  a.cpu_milli = req.cpu_milli;
  a.memory_bytes = req.memory_bytes;
  if (hw.cpu_milli > 0 && state.cpu_milli + req.cpu_milli > hw.cpu_milli) {
    return std::unexpected(Format("Insufficient cpu (requested {}, free {} of {})", FormatAmount(kResourceCPU, req.cpu_milli),
                                       FormatAmount(kResourceCPU, hw.cpu_milli - state.cpu_milli),
                                       FormatAmount(kResourceCPU, hw.cpu_milli)));
  }
  if (hw.memory_bytes > 0 && state.memory_bytes + req.memory_bytes > hw.memory_bytes) {
    return std::unexpected(Format("Insufficient memory (requested {}, free {} of {})",
                                       FormatAmount(kResourceMemory, req.memory_bytes),
                                       FormatAmount(kResourceMemory, hw.memory_bytes - state.memory_bytes),
                                       FormatAmount(kResourceMemory, hw.memory_bytes)));
  }
  if (req.gpus > 0) {
    std::vector<int> free;
    free.reserve(static_cast<std::size_t>(hw.gpu_count));
    for (int g = 0; g < hw.gpu_count; ++g) {
      if (state.GpuFree(g) && !hw.IsMig(g)) free.push_back(g);
    }
    if (static_cast<int>(free.size()) < req.gpus) {
      return std::unexpected(Format("Insufficient nvidia.com/gpu (requested {}, free {} of {})", req.gpus,
                                         free.size(), hw.gpu_count));
    }
    a.gpus = ChooseWhole(hw, free, req.gpus);
    a.bottleneck_gbps = 0;
    if (a.gpus.size() >= 2) {
      a.bottleneck_gbps = std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < a.gpus.size(); ++i)
        for (std::size_t j = i + 1; j < a.gpus.size(); ++j)
          a.bottleneck_gbps = std::min(a.bottleneck_gbps, hw.Link(a.gpus[i], a.gpus[j]).gbps);
    }
  }
  if (const int m = EffectiveMilli(hw, req); m > 0) {
    std::vector<int> cand;
    for (int g = 0; g < hw.gpu_count; ++g) {
      const auto gi = static_cast<std::size_t>(g);
      if (hw.IsMig(g) || state.whole[gi] || std::ranges::find(a.gpus, g) != a.gpus.end()) continue;
      if (state.milli[gi] + m <= kMilliPerGpu) cand.push_back(g);
    }
    if (static_cast<int>(cand.size()) < req.fraction_devices) {
      return std::unexpected(Format("no GPU has {} milli-GPU free (needed on {} GPU{})", m, req.fraction_devices,
                                         req.fraction_devices == 1 ? "" : "s"));
    }
    std::ranges::stable_sort(cand, [&](int x, int y) {
      return state.milli[static_cast<std::size_t>(x)] > state.milli[static_cast<std::size_t>(y)];
    });
    a.shared_gpus.assign(cand.begin(), cand.begin() + req.fraction_devices);
    std::ranges::sort(a.shared_gpus);
    a.gpu_milli = m;
  }
  if (!req.mig.empty()) {
    std::vector<std::vector<std::uint8_t>> taken = state.mig;
    for (const auto& [profile, count] : req.mig) {
      for (int c = 0; c < count; ++c) {
        int best_g = -1, best_i = -1, best_used = -1;
        for (int g = 0; g < hw.gpu_count; ++g) {
          if (!hw.IsMig(g)) continue;
          const auto& inst = hw.mig[static_cast<std::size_t>(g)];
          const auto& tk = taken[static_cast<std::size_t>(g)];
          int used = 0, free_i = -1;
          for (std::size_t i = 0; i < inst.size(); ++i) {
            used += tk[i];
            if (!tk[i] && free_i < 0 && inst[i] == profile) free_i = static_cast<int>(i);
          }
          if (free_i >= 0 && used > best_used) best_g = g, best_i = free_i, best_used = used;
        }
        if (best_g < 0) {
          return std::unexpected(Format("Insufficient nvidia.com/mig-{} (requested {})", profile, count));
        }
        taken[static_cast<std::size_t>(best_g)][static_cast<std::size_t>(best_i)] = 1;
        a.mig.push_back({best_g, best_i});
      }
    }
    std::ranges::sort(a.mig);
  }
  // Locality: the NUMA node(s) of everything chosen, and the NICs that sit there.
  unsigned mask = 0;
  auto note = [&](int g) { mask |= 1u << (hw.gpu_numa[static_cast<std::size_t>(g)] & 31); };
  for (int g : a.gpus) note(g);
  for (int g : a.shared_gpus) note(g);
  for (const auto& m : a.mig) note(m.gpu);
  if (std::popcount(mask) == 1) a.numa = std::countr_zero(mask);
  for (int i = 0; i < static_cast<int>(hw.nics.size()); ++i) {
    if (mask & (1u << (hw.nics[static_cast<std::size_t>(i)].numa & 31))) a.nics.push_back(i);
  }
  return a;
}

namespace {

template <typename T>
bool StrictlyAscending(const std::vector<T>& v) {
  for (std::size_t i = 1; i < v.size(); ++i)
    if (!(v[i - 1] < v[i])) return false;
  return true;
}

}  // namespace

std::expected<void, std::string> Apply(const NodeHardware& hw, NodeDeviceState& state, const DeviceAssignment& a) {
  if (!StrictlyAscending(a.gpus) || !StrictlyAscending(a.shared_gpus) || !StrictlyAscending(a.mig)) {
    return std::unexpected("assignment lists a device twice");
  }
  auto in_range = [&](int g) { return g >= 0 && g < hw.gpu_count; };
  for (int g : a.gpus) {
    if (!in_range(g) || hw.IsMig(g) || !state.GpuFree(g))
      return std::unexpected(Format("GPU {} on {} is not free", g, hw.name));
  }
  if (a.gpu_milli < 0 || a.gpu_milli > kMilliPerGpu) return std::unexpected("bad milli-GPU amount");
  for (int g : a.shared_gpus) {
    if (!in_range(g) || hw.IsMig(g) || state.whole[static_cast<std::size_t>(g)] ||
        std::ranges::binary_search(a.gpus, g) ||
        state.milli[static_cast<std::size_t>(g)] + a.gpu_milli > kMilliPerGpu)
      return std::unexpected(Format("GPU {} on {} has no {} milli-GPU free", g, hw.name, a.gpu_milli));
  }
  for (const auto& m : a.mig) {
    if (!in_range(m.gpu) || !hw.IsMig(m.gpu) || m.instance < 0 ||
        m.instance >= static_cast<int>(hw.mig[static_cast<std::size_t>(m.gpu)].size()) ||
        state.mig[static_cast<std::size_t>(m.gpu)][static_cast<std::size_t>(m.instance)])
      return std::unexpected(Format("MIG instance {}/{} on {} is not free", m.gpu, m.instance, hw.name));
  }
  if (hw.cpu_milli > 0 && state.cpu_milli + a.cpu_milli > hw.cpu_milli) return std::unexpected("Insufficient cpu");
  if (hw.memory_bytes > 0 && state.memory_bytes + a.memory_bytes > hw.memory_bytes)
    return std::unexpected("Insufficient memory");
  for (int g : a.gpus) state.whole[static_cast<std::size_t>(g)] = 1;
  for (int g : a.shared_gpus) state.milli[static_cast<std::size_t>(g)] += static_cast<std::int16_t>(a.gpu_milli);
  for (const auto& m : a.mig) state.mig[static_cast<std::size_t>(m.gpu)][static_cast<std::size_t>(m.instance)] = 1;
  state.cpu_milli += a.cpu_milli;
  state.memory_bytes += a.memory_bytes;
  return {};
}

std::expected<void, std::string> Revert(const NodeHardware& hw, NodeDeviceState& state, const DeviceAssignment& a) {
  if (!StrictlyAscending(a.gpus) || !StrictlyAscending(a.shared_gpus) || !StrictlyAscending(a.mig)) {
    return std::unexpected("assignment lists a device twice");
  }
  auto in_range = [&](int g) { return g >= 0 && g < hw.gpu_count; };
  for (int g : a.gpus) {
    if (!in_range(g) || !state.whole[static_cast<std::size_t>(g)])
      return std::unexpected(Format("GPU {} on {} is not held", g, hw.name));
  }
  for (int g : a.shared_gpus) {
    if (!in_range(g) || state.milli[static_cast<std::size_t>(g)] < a.gpu_milli)
      return std::unexpected(Format("GPU {} on {} does not hold {} milli-GPU", g, hw.name, a.gpu_milli));
  }
  for (const auto& m : a.mig) {
    if (!in_range(m.gpu) || !hw.IsMig(m.gpu) || m.instance < 0 ||
        m.instance >= static_cast<int>(hw.mig[static_cast<std::size_t>(m.gpu)].size()) ||
        !state.mig[static_cast<std::size_t>(m.gpu)][static_cast<std::size_t>(m.instance)])
      return std::unexpected(Format("MIG instance {}/{} on {} is not held", m.gpu, m.instance, hw.name));
  }
  if (state.cpu_milli < a.cpu_milli || state.memory_bytes < a.memory_bytes)
    return std::unexpected("releasing more cpu or memory than held");
  for (int g : a.gpus) state.whole[static_cast<std::size_t>(g)] = 0;
  for (int g : a.shared_gpus) state.milli[static_cast<std::size_t>(g)] -= static_cast<std::int16_t>(a.gpu_milli);
  for (const auto& m : a.mig) state.mig[static_cast<std::size_t>(m.gpu)][static_cast<std::size_t>(m.instance)] = 0;
  state.cpu_milli -= a.cpu_milli;
  state.memory_bytes -= a.memory_bytes;
  return {};
}

int Capacity(const NodeHardware& hw, const NodeDeviceState& state, const DeviceRequest& req, int limit) {
  if (!hw.usable() || limit <= 0) return 0;
  if (req.NeedsGpu() && !ModelAllowed(hw, req)) return 0;
  std::int64_t c = limit;
  if (req.cpu_milli > 0 && hw.cpu_milli > 0) c = std::min(c, (hw.cpu_milli - state.cpu_milli) / req.cpu_milli);
  if (req.memory_bytes > 0 && hw.memory_bytes > 0)
    c = std::min(c, (hw.memory_bytes - state.memory_bytes) / req.memory_bytes);
  if (c <= 0) return 0;
  if (req.gpus > 0) c = std::min<std::int64_t>(c, FreeWholeGpus(hw, state) / req.gpus);
  if (const int m = EffectiveMilli(hw, req); m > 0 && c > 0) {
    std::int64_t slots = 0;
    for (int g = 0; g < hw.gpu_count; ++g) {
      const auto gi = static_cast<std::size_t>(g);
      if (hw.IsMig(g) || state.whole[gi]) continue;
      slots += (kMilliPerGpu - state.milli[gi]) / m;
    }
    c = std::min<std::int64_t>(c, req.fraction_devices == 1 ? slots : slots / req.fraction_devices);
    if (req.fraction_devices > 1) {
      int gpus_with_room = 0;
      for (int g = 0; g < hw.gpu_count; ++g) {
        const auto gi = static_cast<std::size_t>(g);
        if (!hw.IsMig(g) && !state.whole[gi] && state.milli[gi] + m <= kMilliPerGpu) ++gpus_with_room;
      }
      if (gpus_with_room < req.fraction_devices) c = 0;
    }
  }
  for (const auto& [profile, count] : req.mig) {
    if (count <= 0 || c <= 0) continue;
    std::int64_t free = 0;
    for (int g = 0; g < hw.gpu_count; ++g) {
      if (!hw.IsMig(g)) continue;
      const auto& inst = hw.mig[static_cast<std::size_t>(g)];
      for (std::size_t i = 0; i < inst.size(); ++i)
        free += (inst[i] == profile && !state.mig[static_cast<std::size_t>(g)][i]) ? 1 : 0;
    }
    c = std::min<std::int64_t>(c, free / count);
  }
  return static_cast<int>(std::max<std::int64_t>(c, 0));
}

}  // namespace platoon::topology
