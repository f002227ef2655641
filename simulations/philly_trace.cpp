// Loaders for Microsoft Philly jobs split per virtual cluster (PCS artifact) and the VC sizes (Helios).
#include "simulations/philly_trace.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <unordered_set>

#include "simulations/text_format.h"

namespace platoon::sim {
namespace {

constexpr std::int64_t kMaxGpusPerJob = 4096;
constexpr double kMaxSeconds = 1e12;

std::int64_t SecondsToMs(double s) { return static_cast<std::int64_t>(std::llround(s * 1000.0)); }

std::expected<TraceJob, std::string> ParseJobRow(const std::vector<std::string_view>& f,
                                                 const CsvHeader& h, const std::string& vc,
                                                 std::int64_t& app_id) {
  TraceJob job;
  auto id = ParseInt("app_id", f[h.Index("app_id")]);
  if (!id) return std::unexpected(id.error());
  if (*id < 0) return std::unexpected(Format("column app_id: {} is negative", *id));
  app_id = *id;
  auto submit = ParseDouble("submit_time", f[h.Index("submit_time")]);
  if (!submit) return std::unexpected(submit.error());
  if (*submit < 0 || *submit > kMaxSeconds) {
    return std::unexpected(Format("column submit_time: {} is outside 0..1e12 s", *submit));
  }
  auto service = ParseDouble("service", f[h.Index("service")]);
  if (!service) return std::unexpected(service.error());
  if (*service <= 0 || *service > kMaxSeconds * kMaxGpusPerJob) {
    return std::unexpected(Format("column service: {} GPU-seconds is not a positive amount of work", *service));
  }
  auto gpus = ParseInt("num_jobs", f[h.Index("num_jobs")]);
  if (!gpus) return std::unexpected(gpus.error());
  if (*gpus < 1 || *gpus > kMaxGpusPerJob) {
    return std::unexpected(Format("column num_jobs: {} GPUs is outside 1..{}", *gpus, kMaxGpusPerJob));
  }
  if (int i = h.Index("sleep_time"); i >= 0) {
    auto sleep = ParseDouble("sleep_time", f[i]);
    if (!sleep) return std::unexpected(sleep.error());
    if (*sleep < 0) return std::unexpected(Format("column sleep_time: {} is negative", *sleep));
  }
  job.name = Format("{}-{}", vc, *id);
  job.queue = vc;
  job.arrival_ms = SecondsToMs(*submit);
  job.work_gpu_seconds = *service;
  job.duration_ms = std::max<std::int64_t>(1, SecondsToMs(*service / static_cast<double>(*gpus)));
  job.pod_sets = PhillyPodSets(static_cast<std::int32_t>(*gpus));
  if (int i = h.Index("model_name"); i >= 0) job.model_name = std::string(f[i]);
  return job;
}

}  // namespace

std::vector<PodSet> PhillyPodSets(std::int32_t gpus) {
  std::vector<PodSet> sets;
  auto make = [](std::int32_t count, std::int32_t per_pod) {
    PodSet s;
    s.count = count;
    s.gpus = per_pod;
    s.gpu_milli = kWholeGpuMilli;
    s.request.Set(kResourceGPU, per_pod);
    return s;
  };
  if (gpus <= kPhillyGpusPerNode) {
    sets.push_back(make(1, gpus));
    return sets;
  }
  sets.push_back(make(gpus / kPhillyGpusPerNode, kPhillyGpusPerNode));
  if (gpus % kPhillyGpusPerNode != 0) sets.push_back(make(1, gpus % kPhillyGpusPerNode));
  return sets;
}

std::expected<PhillyJobs, LoadError> ParsePhillyJobs(CsvReader reader, const std::string& vc,
                                                     const LoadOptions& options) {
  if (!reader.Next()) {
    return std::unexpected(reader.ReadError().value_or(reader.ErrorAt("empty file: expected a header row")));
  }
  auto header = CsvHeader::Parse(reader, {"app_id", "submit_time", "service", "num_jobs"},
                                 {"sleep_time", "model_name"});
  if (!header) return std::unexpected(header.error());
  PhillyJobs out;
  std::unordered_set<std::int64_t> app_ids;
  app_ids.reserve(1024);
  std::int64_t last_arrival = 0;
  while (reader.Next()) {
    const auto& f = reader.Fields();
    std::expected<TraceJob, std::string> job = std::unexpected(std::string());
    if (!reader.RowError().empty()) {
      job = std::unexpected(reader.RowError());
    } else if (f.size() != header->Width()) {
      job = std::unexpected(Format("{} fields, the header has {}", f.size(), header->Width()));
    } else {
      std::int64_t app_id = -1;
      job = ParseJobRow(f, *header, vc, app_id);
      if (job && job->arrival_ms < last_arrival) {
        job = std::unexpected(Format("column submit_time: {} s is before the previous row's {} s",
                                          job->arrival_ms / 1000.0, last_arrival / 1000.0));
      } else if (job && !app_ids.insert(app_id).second) {
        job = std::unexpected(Format("app_id of \"{}\" appears twice", job->name));
      }
    }
    if (!job) {
      if (auto r = HandleBadRow(options, out.report, reader.ErrorAt(job.error())); !r) {
        return std::unexpected(r.error());
      }
      continue;
    }
    last_arrival = job->arrival_ms;
    out.jobs.push_back(std::move(*job));
    ++out.report.rows_loaded;
  }
  if (reader.ReadError()) return std::unexpected(*reader.ReadError());
  return out;
}

std::expected<PhillyJobs, LoadError> LoadPhillyJobs(const std::string& path, const std::string& vc,
                                                    const LoadOptions& options) {
  auto reader = CsvReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  return ParsePhillyJobs(std::move(*reader), vc, options);
}

std::expected<PhillyJobs, LoadError> LoadPhillyDirectory(const std::string& dir,
                                                         const LoadOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with("trace_") && (name.ends_with(".csv") || name.ends_with(".csv.gz"))) {
      files.push_back(it->path());
    }
  }
  if (ec) return std::unexpected(LoadError{dir, 0, "cannot list directory: " + ec.message()});
  if (files.empty()) return std::unexpected(LoadError{dir, 0, "no trace_<vc>.csv or trace_<vc>.csv.gz files"});
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> file_of_vc;
  for (const auto& file : files) {
    const auto [it, added] = file_of_vc.emplace(TraceFileStem(file.string()), file.filename().string());
    if (!added) {
      return std::unexpected(LoadError{dir, 0, Format("{} and {} hold the same VC: keep one", it->second,
                                                      file.filename().string())});
    }
  }
  PhillyJobs all;
  std::vector<PhillyJobs> parts;
  std::size_t total = 0;
  for (const auto& file : files) {
    const std::string stem = TraceFileStem(file.string());
    auto part = LoadPhillyJobs(file.string(), stem.substr(6), options);
    if (!part) return std::unexpected(part.error());
    total += part->jobs.size();
    parts.push_back(std::move(*part));
  }
  all.jobs.reserve(total);
  for (auto& part : parts) {
    all.report += part.report;
    all.jobs.insert(all.jobs.end(), std::make_move_iterator(part.jobs.begin()),
                    std::make_move_iterator(part.jobs.end()));
  }
  return all;
}

std::expected<std::vector<TraceQueue>, LoadError> ParsePhillyVcSizes(CsvReader reader,
                                                                    std::int32_t gpus_per_node) {
  if (!reader.Next()) {
    return std::unexpected(reader.ReadError().value_or(reader.ErrorAt("empty file: expected a header row")));
  }
  auto header = CsvHeader::Parse(reader, {"vc", "node num"}, {});
  if (!header) return std::unexpected(header.error());
  std::vector<TraceQueue> out;
  while (reader.Next()) {
    const auto& f = reader.Fields();
    if (!reader.RowError().empty()) return std::unexpected(reader.ErrorAt(reader.RowError()));
    if (f.size() != header->Width()) {
      return std::unexpected(reader.ErrorAt(Format("{} fields, the header has {}", f.size(), header->Width())));
    }
    TraceQueue q;
    q.name = std::string(f[header->Index("vc")]);
    if (q.name.empty()) return std::unexpected(reader.ErrorAt("column vc: empty name"));
    auto nodes = ParseInt("node num", f[header->Index("node num")]);
    if (!nodes) return std::unexpected(reader.ErrorAt(nodes.error()));
    if (*nodes < 0 || *nodes > 1'000'000) {
      return std::unexpected(reader.ErrorAt(Format("column node num: {} is outside 0..1000000", *nodes)));
    }
    for (const auto& other : out) {
      if (other.name == q.name) return std::unexpected(reader.ErrorAt(Format("VC \"{}\" appears twice", q.name)));
    }
    q.nodes = static_cast<std::int32_t>(*nodes);
    q.gpus = std::int64_t{q.nodes} * gpus_per_node;
    out.push_back(std::move(q));
  }
  if (reader.ReadError()) return std::unexpected(*reader.ReadError());
  return out;
}

std::expected<std::vector<TraceQueue>, LoadError> LoadPhillyVcSizes(const std::string& path,
                                                                   std::int32_t gpus_per_node) {
  auto reader = CsvReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  return ParsePhillyVcSizes(std::move(*reader), gpus_per_node);
}

}  // namespace platoon::sim
