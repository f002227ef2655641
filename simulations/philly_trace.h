// Loaders for Microsoft Philly jobs split per virtual cluster (PCS artifact) and the VC sizes (Helios).
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "simulations/csv.h"
#include "simulations/trace.h"

namespace platoon::sim {

inline constexpr std::int32_t kPhillyGpusPerNode = 8;

struct PhillyJobs {
  std::vector<TraceJob> jobs;  // in file order (files in name order for a directory)
  LoadReport report;
};

// `app_id,submit_time,service,num_jobs,sleep_time,model_name` of one VC; `vc` becomes each job's
// queue. num_jobs is the job's GPU count: up to 8 it is one pod; above 8 it is a gang of 8-GPU pods
// plus one pod with the remainder, each on its own node. service is work in GPU-seconds, so the
// running time is service / num_jobs. submit_time must not decrease; app_id is unique per file.
std::expected<PhillyJobs, LoadError> LoadPhillyJobs(const std::string& path, const std::string& vc,
                                                    const LoadOptions& options = {});
std::expected<PhillyJobs, LoadError> ParsePhillyJobs(CsvReader reader, const std::string& vc,
                                                     const LoadOptions& options = {});
// Every `trace_<vc>.csv` or `trace_<vc>.csv.gz` in `dir`, in file name order; the VC is the part
// after "trace_". Two files of one VC (plain and compressed) are an error.
std::expected<PhillyJobs, LoadError> LoadPhillyDirectory(const std::string& dir,
                                                         const LoadOptions& options = {});

// `vc,node num`: each VC's size in 8-GPU nodes.
std::expected<std::vector<TraceQueue>, LoadError> LoadPhillyVcSizes(
    const std::string& path, std::int32_t gpus_per_node = kPhillyGpusPerNode);
std::expected<std::vector<TraceQueue>, LoadError> ParsePhillyVcSizes(
    CsvReader reader, std::int32_t gpus_per_node = kPhillyGpusPerNode);

// Splits a GPU count into pod sets as above: {n} up to 8; {8 x k, remainder} above.
std::vector<PodSet> PhillyPodSets(std::int32_t gpus);

}  // namespace platoon::sim
