// Fuzzes the Kueue manifest loader: a quota config or errors with file:line, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/kueue_manifests.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto cfg = platoon::config::ParseKueueManifests(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  if (!cfg && cfg.error().empty()) std::abort();  // a refusal always says why
  return 0;
}
