// Fuzzes the cluster-file loader (YAML and JSON): a value or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/cluster_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto snap = platoon::config::ParseClusterFile(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  if (!snap && snap.error().empty()) std::abort();  // every refusal says why
  return 0;
}
