// libFuzzer target: ParsePhillyJobs must return jobs or a located error for any input, never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "simulations/philly_trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (bool skip : {false, true}) {
    auto r = platoon::sim::ParsePhillyJobs(platoon::sim::CsvReader::FromString("trace_f.csv", text), "f",
                                           {.skip_bad_rows = skip});
    if (r) {
      for (const auto& j : r->jobs) {
        if (j.duration_ms < 1 || j.TotalGpuMilli() <= 0) __builtin_trap();
      }
    }
  }
  auto vcs = platoon::sim::ParsePhillyVcSizes(platoon::sim::CsvReader::FromString("vc.csv", text));
  (void)vcs;
  return 0;
}
