// Fuzzes the PlatoonConfig loader: a config or an error with file:line, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/platoon_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto cfg = platoon::config::ParsePlatoonConfig(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml", "");
  if (!cfg && cfg.error().find("fuzz.yaml") == std::string::npos) std::abort();
  return 0;
}
