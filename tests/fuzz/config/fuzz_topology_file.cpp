// Fuzzes the topology file loader and graph build: a topology or errors with file:line, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/topology_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = platoon::config::ParseTopologyFile(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  if (!file) {
    if (file.error().empty()) std::abort();
    return 0;
  }
  if (file->nodes.size() <= 64) (void)platoon::config::BuildTopology(*file);  // bounded work per input
  return 0;
}
