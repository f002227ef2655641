// libFuzzer target: ParseJobList must return jobs or a file:line error for any YAML input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "simulations/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto jobs = platoon::sim::ParseJobList(text, "fuzz.yaml");
  if (jobs) {
    for (const auto& j : *jobs) {
      if (j.pod_sets.empty() || j.TotalPods() < 1) __builtin_trap();
    }
  }
  return 0;
}
