// Node hardware: legend parsing, finalisation, and the builders from labels and NodeResourceTopology.
#include "topology/hardware.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "topology/text.h"

namespace platoon::topology {

std::string_view LinkKindName(LinkKind kind) {
  switch (kind) {
    case LinkKind::Self: return "X";
    case LinkKind::NVSwitch: return "NVSwitch";
    case LinkKind::NVLink: return "NVLink";
    case LinkKind::PIX: return "PIX";
    case LinkKind::PXB: return "PXB";
    case LinkKind::PHB: return "PHB";
    case LinkKind::Node: return "NODE";
    case LinkKind::Sys: return "SYS";
    case LinkKind::Fabric: return "fabric";
  }
  return "?";
}

namespace {

std::optional<std::int64_t> ParseInt(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool ModelHasNvswitch(std::string_view model) {
  for (std::string_view key : {"SXM", "HGX", "DGX", "HBM3", "H200", "B200", "GB200", "B300"}) {
    if (model.find(key) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

std::expected<GpuLink, std::string> ParseTopoLegend(std::string_view cell, double nvlink_gbps_per_lane,
                                                    double pcie_gbps, double sys_gbps) {
  if (cell == "X") return GpuLink{LinkKind::Self, 0, 0.0};
  if (cell == "PIX") return GpuLink{LinkKind::PIX, 0, pcie_gbps};
  if (cell == "PXB") return GpuLink{LinkKind::PXB, 0, pcie_gbps};
  if (cell == "PHB") return GpuLink{LinkKind::PHB, 0, pcie_gbps};
  if (cell == "NODE") return GpuLink{LinkKind::Node, 0, std::min(pcie_gbps, sys_gbps)};
  if (cell == "SYS") return GpuLink{LinkKind::Sys, 0, std::min(pcie_gbps, sys_gbps)};
  if (cell.starts_with("NV")) {
    auto lanes = ParseInt(cell.substr(2));
    if (lanes && *lanes > 0 && *lanes <= 64) {
      return GpuLink{LinkKind::NVLink, static_cast<int>(*lanes), nvlink_gbps_per_lane * static_cast<double>(*lanes)};
    }
  }
  return std::unexpected(Format(
      "'{}' is not an nvidia-smi topo legend value (use X, NV<lanes>, PIX, PXB, PHB, NODE or SYS)", cell));
}

std::vector<FabricLevel> AwsFabricLevels() {
  return {{"layer-1", "topology.k8s.aws/network-node-layer-1", 12.5, LinkKind::Fabric},
          {"layer-2", "topology.k8s.aws/network-node-layer-2", 25.0, LinkKind::Fabric},
          {"layer-3", "topology.k8s.aws/network-node-layer-3", 50.0, LinkKind::Fabric}};
}

std::vector<FabricLevel> GkeFabricLevels() {
  return {{"block", "cloud.google.com/gce-topology-block", 12.5, LinkKind::Fabric},
          {"subblock", "cloud.google.com/gce-topology-subblock", 25.0, LinkKind::Fabric},
          {"host", "cloud.google.com/gce-topology-host", 50.0, LinkKind::Fabric}};
}

FabricLevel NvlinkCliqueLevel(double gbps) {
  return {"nvlink-clique", "nvidia.com/gpu.clique", gbps, LinkKind::NVLink};
}

std::expected<void, std::string> Finalize(NodeHardware& hw) {
  if (hw.gpu_count < 0) return std::unexpected("negative GPU count");
  const auto n = static_cast<std::size_t>(hw.gpu_count);
  if (hw.numa.empty()) {
    NumaNode only;
    for (int g = 0; g < hw.gpu_count; ++g) only.gpus.push_back(g);
    for (int i = 0; i < static_cast<int>(hw.nics.size()); ++i) only.nics.push_back(i);
    hw.numa.push_back(std::move(only));
    for (auto& nic : hw.nics) nic.numa = 0;
  }
  hw.gpu_numa.assign(n, -1);
  for (std::size_t u = 0; u < hw.numa.size(); ++u) {
    for (int g : hw.numa[u].gpus) {
      if (g < 0 || g >= hw.gpu_count) {
        return std::unexpected(Format("NUMA node {} lists GPU {}, but the node has {} GPUs",
                                           hw.numa[u].id, g, hw.gpu_count));
      }
      if (hw.gpu_numa[static_cast<std::size_t>(g)] >= 0) {
        return std::unexpected(Format("GPU {} is on two NUMA nodes ({} and {})", g,
                                           hw.numa[static_cast<std::size_t>(hw.gpu_numa[static_cast<std::size_t>(g)])].id,
                                           hw.numa[u].id));
      }
      hw.gpu_numa[static_cast<std::size_t>(g)] = static_cast<int>(u);
    }
    for (int i : hw.numa[u].nics) {
      if (i < 0 || i >= static_cast<int>(hw.nics.size())) {
        return std::unexpected(Format("NUMA node {} lists NIC {}, but the node has {} NICs",
                                           hw.numa[u].id, i, hw.nics.size()));
      }
      hw.nics[static_cast<std::size_t>(i)].numa = static_cast<int>(u);
    }
  }
  for (std::size_t g = 0; g < n; ++g) {
    if (hw.gpu_numa[g] < 0) return std::unexpected(Format("GPU {} is on no NUMA node", g));
  }
  for (const auto& nic : hw.nics) {
    if (!(nic.gbps > 0)) return std::unexpected(Format("NIC {} has no bandwidth", nic.name));
  }
  if (hw.gpu_links.empty()) {
    const bool nvswitch = ModelHasNvswitch(hw.gpu_model) && hw.gpu_count > 1;
    hw.gpu_links.resize(n * n);
    for (std::size_t a = 0; a < n; ++a) {
      for (std::size_t b = 0; b < n; ++b) {
        GpuLink& l = hw.gpu_links[a * n + b];
        if (a == b) l = {LinkKind::Self, 0, 0.0};
        else if (nvswitch) l = {LinkKind::NVSwitch, 18, 18 * kNvlinkGbpsPerLane};
        else if (hw.gpu_numa[a] == hw.gpu_numa[b]) l = {LinkKind::PHB, 0, kPcieGbps};
        else l = {LinkKind::Sys, 0, kSysGbps};
      }
    }
  }
  if (hw.gpu_links.size() != n * n) {
    return std::unexpected(Format("GPU link matrix has {} cells, {} GPUs need {}", hw.gpu_links.size(), n, n * n));
  }
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = 0; b < n; ++b) {
      const GpuLink& l = hw.gpu_links[a * n + b];
      if ((a == b) != (l.kind == LinkKind::Self)) {
        return std::unexpected(Format("GPU link {}-{}: X belongs on the diagonal only", a, b));
      }
      if (!(l == hw.gpu_links[b * n + a])) {
        return std::unexpected(Format("GPU link matrix is not symmetric at GPU{}/GPU{}", a, b));
      }
      if (a != b && !(l.gbps > 0)) return std::unexpected(Format("GPU link {}-{} has no bandwidth", a, b));
    }
  }
  if (!hw.mig.empty() && hw.mig.size() != n) {
    return std::unexpected(Format("MIG layout covers {} GPUs, the node has {}", hw.mig.size(), n));
  }
  // Best egress from each GPU: through the NIC that keeps the most bandwidth (same NUMA node: PCIe).
  hw.gpu_egress.assign(n, 0.0);
  for (std::size_t g = 0; g < n; ++g) {
    for (const auto& nic : hw.nics) {
      const double path = nic.numa == hw.gpu_numa[g] ? kPcieGbps * 2 : kSysGbps;
      hw.gpu_egress[g] = std::max(hw.gpu_egress[g], std::min(nic.gbps, path));
    }
    if (hw.nics.empty()) hw.gpu_egress[g] = 12.5;  // one 100 Gb/s port when nothing is known
  }
  return {};
}

NodeHardware HardwareFromLabels(std::string name, const Labels& labels, const ResourceList& allocatable,
                                const std::vector<FabricLevel>& levels) {
  NodeHardware hw;
  hw.name = std::move(name);
  hw.cpu_milli = allocatable.Get(kResourceCPU);
  hw.memory_bytes = allocatable.Get(kResourceMemory);
  auto label = [&](std::string_view key) -> const std::string* {
    auto it = labels.find(key);
    return it == labels.end() ? nullptr : &it->second;
  };
  auto fail = [&](std::string reason) {
    hw.unusable_reason = std::move(reason);
    hw.gpu_count = 0;
    hw.numa.clear();
    hw.gpu_links.clear();
    hw.mig.clear();
    (void)Finalize(hw);
    return hw;
  };

  // Fabric path: every configured level must be labelled once a lower one is.
  bool missing_above = false;
  std::string missing_level;
  for (const auto& level : levels) {
    const std::string* v = level.node_label.empty() ? nullptr : label(level.node_label);
    if (v == nullptr || v->empty()) {
      missing_above = true;
      if (missing_level.empty()) missing_level = level.node_label;
      hw.fabric.push_back({level.name, ""});
      continue;
    }
    if (missing_above) {
      return fail(Format("label {} is set but the higher level label {} is missing", level.node_label,
                              missing_level));
    }
    hw.fabric.push_back({level.name, *v});
  }
  // Unlabelled levels: the node is a domain of its own there, so it never joins a gang across them.
  for (auto& p : hw.fabric) {
    if (p.domain.empty()) p.domain = "~" + hw.name;
  }

  const std::int64_t whole = allocatable.Get(kResourceGPU);
  std::int64_t mig_instances = 0;
  std::vector<std::pair<std::string, std::int64_t>> mig_resources;
  for (const auto& [res, amount] : allocatable) {
    if (res.starts_with("nvidia.com/mig-") && amount > 0) {
      mig_resources.emplace_back(res.substr(std::string_view("nvidia.com/mig-").size()), amount);
      mig_instances += amount;
    }
  }
  if (const std::string* p = label("nvidia.com/gpu.product")) hw.gpu_model = *p;
  if (const std::string* m = label("nvidia.com/gpu.memory")) {
    auto v = ParseInt(*m);
    if (!v || *v < 0) return fail(Format("label nvidia.com/gpu.memory={} is not MiB", *m));
    hw.gpu_memory_mib = *v;
  }
  const std::string* strategy = label("nvidia.com/mig.strategy");
  if (whole > 1024) return fail(Format("allocatable nvidia.com/gpu={} is not plausible", whole));
  // MIG "single" strategy: every GPU is partitioned alike and each instance is offered as
  // nvidia.com/gpu (the product label carries the profile); each instance is one device here.
  if ((strategy != nullptr && *strategy == "single") || hw.gpu_model.find("-MIG-") != std::string::npos) {
    hw.gpu_count = static_cast<int>(whole);
    const auto n = static_cast<std::size_t>(whole);
    hw.gpu_links.assign(n * n, GpuLink{LinkKind::PHB, 0, kPcieGbps});  // instances share no NVLink
    for (std::size_t g = 0; g < n; ++g) hw.gpu_links[g * n + g] = GpuLink{LinkKind::Self, 0, 0.0};
    if (auto ok = Finalize(hw); !ok) return fail(ok.error());
    return hw;
  }
  std::int64_t count = whole;
  if (const std::string* c = label("nvidia.com/gpu.count")) {
    auto v = ParseInt(*c);
    if (!v || *v < 0) return fail(Format("label nvidia.com/gpu.count={} is not a GPU count", *c));
    count = *v;
    if (whole > count) {
      return fail(Format("allocatable nvidia.com/gpu={} exceeds label nvidia.com/gpu.count={}", whole, count));
    }
  }
  if (count > 1024) return fail(Format("nvidia.com/gpu.count={} is not plausible", count));
  const std::int64_t mig_gpus = count - whole;
  if (mig_instances > 0 && mig_gpus <= 0) {
    return fail(Format("node advertises {} MIG instances but all {} GPUs are whole", mig_instances, count));
  }
  // Without MIG, GPUs the device plugin does not offer (unhealthy, not yet registered) are left out.
  hw.gpu_count = static_cast<int>(mig_instances > 0 ? count : whole);
  if (mig_gpus > 0 && mig_instances > 0) {
    hw.mig.assign(static_cast<std::size_t>(count), {});
    // MIG GPUs are the last ones; instances are spread round-robin (labels do not say which GPU).
    std::size_t next = 0;
    for (const auto& [profile, amount] : mig_resources) {
      for (std::int64_t i = 0; i < amount; ++i) {
        const auto g = static_cast<std::size_t>(whole) + next % static_cast<std::size_t>(mig_gpus);
        hw.mig[g].push_back(profile);
        ++next;
      }
    }
  }
  if (auto ok = Finalize(hw); !ok) return fail(ok.error());
  return hw;
}

void ApplyNodeResourceTopology(NodeHardware& hw, const std::vector<NrtZone>& zones) {
  std::vector<NumaNode> numa;
  int next_gpu = 0;
  int next_cpu = 0;
  for (const auto& z : zones) {
    if (z.type != "Node") continue;
    NumaNode u;
    u.id = static_cast<int>(numa.size());
    if (z.name.starts_with("node-")) {
      if (auto id = ParseInt(std::string_view(z.name).substr(5))) u.id = static_cast<int>(*id);
    }
    const auto cpus = z.capacity.Get(kResourceCPU) / 1000;
    for (std::int64_t c = 0; c < cpus; ++c) u.cpus.push_back(next_cpu++);
    const auto gpus = z.capacity.Get(kResourceGPU);
    for (std::int64_t g = 0; g < gpus; ++g) u.gpus.push_back(next_gpu++);
    numa.push_back(std::move(u));
  }
  if (numa.empty()) return;
  if (next_gpu != hw.gpu_count) {
    hw.unusable_reason = Format("NodeResourceTopology zones hold {} GPUs, the node's labels say {}", next_gpu,
                                     hw.gpu_count);
    return;
  }
  hw.numa = std::move(numa);
  for (auto& u : hw.numa) u.nics.clear();
  for (std::size_t i = 0; i < hw.nics.size(); ++i) {
    hw.numa[std::min<std::size_t>(i * hw.numa.size() / std::max<std::size_t>(hw.nics.size(), 1), hw.numa.size() - 1)]
        .nics.push_back(static_cast<int>(i));
  }
  hw.gpu_links.clear();  // recomputed against the new NUMA layout
  if (auto ok = Finalize(hw); !ok) hw.unusable_reason = ok.error();
}

NodeHardware MergeFileAndLabels(const NodeHardware& file, const NodeHardware& labels) {
  NodeHardware out = file;
  if (!labels.fabric.empty() && file.fabric.empty()) out.fabric = labels.fabric;
  if (labels.cpu_milli > 0) out.cpu_milli = labels.cpu_milli;
  if (labels.memory_bytes > 0) out.memory_bytes = labels.memory_bytes;
  if (out.gpu_memory_mib == 0) out.gpu_memory_mib = labels.gpu_memory_mib;
  if (!labels.usable()) {
    out.unusable_reason = labels.unusable_reason;
  } else if (labels.gpu_count != file.gpu_count) {
    out.unusable_reason = Format("the topology file gives {} {} GPUs, its labels and allocatable offer {}", file.name,
                                 file.gpu_count, labels.gpu_count);
  } else if (!labels.gpu_model.empty() && !file.gpu_model.empty() && labels.gpu_model != file.gpu_model) {
    out.unusable_reason = Format("the topology file says {} has {} GPUs, its labels say {}", file.name, file.gpu_model,
                                 labels.gpu_model);
  }
  if (out.gpu_model.empty()) out.gpu_model = labels.gpu_model;
  return out;
}

}  // namespace platoon::topology
