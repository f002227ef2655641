// Loaders for Alibaba's 2023 GPU trace ("openb"): node list and pod lists, as the FGD paper used them.
#include "simulations/openb_trace.h"

#include <unordered_set>

#include "simulations/text_format.h"

namespace platoon::sim {
namespace {

constexpr std::int64_t kMaxGpusPerPod = 8;
constexpr std::int64_t kMaxMilliCpu = std::int64_t{1} << 40;
constexpr std::int64_t kMaxMemoryMiB = std::int64_t{1} << 30;

bool IsNan(std::string_view s) { return s.empty() || s == "nan" || s == "NaN"; }

// A model name: letters, digits, '-', '_', '.'.
bool ValidModel(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::expected<std::int64_t, std::string> IntIn(std::string_view column, std::string_view text,
                                               std::int64_t lo, std::int64_t hi) {
  auto v = ParseInt(column, text);
  if (!v) return v;
  if (*v < lo || *v > hi) {
    return std::unexpected(Format("column {}: {} is outside {}..{}", column, *v, lo, hi));
  }
  return v;
}

std::expected<TraceNode, std::string> ParseNodeRow(const std::vector<std::string_view>& f,
                                                   const CsvHeader& h) {
  TraceNode node;
  node.name = std::string(f[h.Index("sn")]);
  if (node.name.empty()) return std::unexpected("column sn: empty node name");
  auto cpu = IntIn("cpu_milli", f[h.Index("cpu_milli")], 0, kMaxMilliCpu);
  if (!cpu) return std::unexpected(cpu.error());
  auto mem = IntIn("memory_mib", f[h.Index("memory_mib")], 0, kMaxMemoryMiB);
  if (!mem) return std::unexpected(mem.error());
  auto gpu = IntIn("gpu", f[h.Index("gpu")], 0, 1024);
  if (!gpu) return std::unexpected(gpu.error());
  std::string_view model = f[h.Index("model")];
  if (*gpu > 0) {
    if (IsNan(model)) return std::unexpected(Format("column model: a node with {} GPUs needs a model", *gpu));
    if (!ValidModel(model)) return std::unexpected(Format("column model: \"{}\" is not a model name", model));
    node.gpu_model = std::string(model);
  } else if (!IsNan(model)) {
    return std::unexpected(Format("column model: \"{}\" given for a node without GPUs", model));
  }
  node.gpus = static_cast<std::int32_t>(*gpu);
  node.capacity.Set(kResourceCPU, *cpu);
  node.capacity.Set(kResourceMemory, *mem * kBytesPerMiB);
  node.capacity.Set(kResourceGPU, *gpu);
  return node;
}

std::expected<TraceJob, std::string> ParsePodRow(const std::vector<std::string_view>& f,
                                                 const CsvHeader& h) {
  TraceJob job;
  job.name = std::string(f[h.Index("name")]);
  if (job.name.empty()) return std::unexpected("column name: empty pod name");
  auto cpu = IntIn("cpu_milli", f[h.Index("cpu_milli")], 0, kMaxMilliCpu);
  if (!cpu) return std::unexpected(cpu.error());
  auto mem = IntIn("memory_mib", f[h.Index("memory_mib")], 0, kMaxMemoryMiB);
  if (!mem) return std::unexpected(mem.error());
  auto num_gpu = IntIn("num_gpu", f[h.Index("num_gpu")], 0, kMaxGpusPerPod);
  if (!num_gpu) return std::unexpected(num_gpu.error());
  auto gpu_milli = IntIn("gpu_milli", f[h.Index("gpu_milli")], 0, kWholeGpuMilli);
  if (!gpu_milli) return std::unexpected(gpu_milli.error());
  if (*num_gpu == 0 && *gpu_milli != 0) {
    return std::unexpected(Format("column gpu_milli: {} for a pod with num_gpu 0", *gpu_milli));
  }
  if (*num_gpu > 0 && *gpu_milli == 0) {
    return std::unexpected(Format("column gpu_milli: 0 for a pod with num_gpu {}", *num_gpu));
  }
  if (*num_gpu > 1 && *gpu_milli != kWholeGpuMilli) {
    return std::unexpected(Format(
        "column gpu_milli: {} with num_gpu {} (only single-GPU pods share a GPU)", *gpu_milli, *num_gpu));
  }
  PodSet set;
  set.count = 1;
  set.gpus = static_cast<std::int32_t>(*num_gpu);
  set.gpu_milli = *num_gpu == 0 ? kWholeGpuMilli : static_cast<std::int32_t>(*gpu_milli);
  set.request.Set(kResourceCPU, *cpu);
  set.request.Set(kResourceMemory, *mem * kBytesPerMiB);
  if (set.gpus > 0 && set.gpu_milli == kWholeGpuMilli) set.request.Set(kResourceGPU, set.gpus);
  job.pod_sets.push_back(std::move(set));

  if (int i = h.Index("gpu_spec"); i >= 0 && !IsNan(f[i])) {
    std::string_view spec = f[i];
    std::size_t start = 0;
    while (true) {
      std::size_t bar = spec.find('|', start);
      std::string_view model = spec.substr(start, bar == std::string_view::npos ? spec.npos : bar - start);
      if (!ValidModel(model)) {
        return std::unexpected(Format("column gpu_spec: \"{}\" is not a '|'-separated model list", spec));
      }
      job.gpu_models.emplace_back(model);
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    if (*num_gpu == 0) {
      return std::unexpected(Format("column gpu_spec: \"{}\" on a pod without GPUs", spec));
    }
  }
  if (int i = h.Index("qos"); i >= 0) job.qos = std::string(f[i]);
  const int ci = h.Index("creation_time");
  const int di = h.Index("deletion_time");
  const int si = h.Index("scheduled_time");
  if (ci >= 0) {
    auto created = IntIn("creation_time", f[ci], 0, INT64_MAX / 1000);
    if (!created) return std::unexpected(created.error());
    job.arrival_ms = *created * 1000;
    if (di >= 0 && !f[di].empty()) {
      auto deleted = IntIn("deletion_time", f[di], 0, INT64_MAX / 1000);
      if (!deleted) return std::unexpected(deleted.error());
      if (*deleted < *created) {
        return std::unexpected(Format("column deletion_time: {} is before creation_time {}", *deleted, *created));
      }
      job.duration_ms = (*deleted - *created) * 1000;
    }
    if (si >= 0 && !f[si].empty()) {
      auto scheduled = IntIn("scheduled_time", f[si], 0, INT64_MAX / 1000);
      if (!scheduled) return std::unexpected(scheduled.error());
      job.trace_scheduled_ms = *scheduled * 1000;
    }
  }
  return job;
}

}  // namespace

std::expected<OpenbNodes, LoadError> ParseOpenbNodes(CsvReader reader, const LoadOptions& options) {
  if (!reader.Next()) {
    return std::unexpected(reader.ReadError().value_or(reader.ErrorAt("empty file: expected a header row")));
  }
  auto header = CsvHeader::Parse(reader, {"sn", "cpu_milli", "memory_mib", "gpu", "model"}, {});
  if (!header) return std::unexpected(header.error());
  OpenbNodes out;
  std::unordered_set<std::string> names;
  while (reader.Next()) {
    const auto& f = reader.Fields();
    std::expected<TraceNode, std::string> node = std::unexpected(std::string());
    if (!reader.RowError().empty()) {
      node = std::unexpected(reader.RowError());
    } else if (f.size() != header->Width()) {
      node = std::unexpected(Format("{} fields, the header has {}", f.size(), header->Width()));
    } else {
      node = ParseNodeRow(f, *header);
      if (node && !names.insert(node->name).second) {
        node = std::unexpected(Format("node \"{}\" appears twice", node->name));
      }
    }
    if (!node) {
      if (auto r = HandleBadRow(options, out.report, reader.ErrorAt(node.error())); !r) {
        return std::unexpected(r.error());
      }
      continue;
    }
    out.nodes.push_back(std::move(*node));
    ++out.report.rows_loaded;
  }
  if (reader.ReadError()) return std::unexpected(*reader.ReadError());
  return out;
}

std::expected<OpenbNodes, LoadError> LoadOpenbNodes(const std::string& path, const LoadOptions& options) {
  auto reader = CsvReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  return ParseOpenbNodes(std::move(*reader), options);
}

std::expected<OpenbPods, LoadError> ParseOpenbPods(CsvReader reader, const LoadOptions& options) {
  if (!reader.Next()) {
    return std::unexpected(reader.ReadError().value_or(reader.ErrorAt("empty file: expected a header row")));
  }
  auto header = CsvHeader::Parse(
      reader, {"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"},
      {"gpu_spec", "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time"});
  if (!header) return std::unexpected(header.error());
  if ((header->Index("deletion_time") >= 0 || header->Index("scheduled_time") >= 0) &&
      header->Index("creation_time") < 0) {
    return std::unexpected(reader.ErrorAt("header: deletion_time/scheduled_time without creation_time"));
  }
  OpenbPods out;
  std::unordered_set<std::string> names;
  names.reserve(1024);
  while (reader.Next()) {
    const auto& f = reader.Fields();
    std::expected<TraceJob, std::string> pod = std::unexpected(std::string());
    if (!reader.RowError().empty()) {
      pod = std::unexpected(reader.RowError());
    } else if (f.size() != header->Width()) {
      pod = std::unexpected(Format("{} fields, the header has {}", f.size(), header->Width()));
    } else {
      pod = ParsePodRow(f, *header);
      if (pod && !names.insert(pod->name).second) {
        pod = std::unexpected(Format("pod \"{}\" appears twice", pod->name));
      }
    }
    if (!pod) {
      if (auto r = HandleBadRow(options, out.report, reader.ErrorAt(pod.error())); !r) {
        return std::unexpected(r.error());
      }
      continue;
    }
    out.pods.push_back(std::move(*pod));
    ++out.report.rows_loaded;
  }
  if (reader.ReadError()) return std::unexpected(*reader.ReadError());
  return out;
}

std::expected<OpenbPods, LoadError> LoadOpenbPods(const std::string& path, const LoadOptions& options) {
  auto reader = CsvReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  return ParseOpenbPods(std::move(*reader), options);
}

}  // namespace platoon::sim
