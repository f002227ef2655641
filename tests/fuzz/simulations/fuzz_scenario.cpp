// libFuzzer target: ParseScenario must return a scenario or a file:line error for any YAML input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "simulations/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto s = platoon::sim::ParseScenario(text, "fuzz.yaml", "/base", false);
  if (s && (s->policies.empty() || s->seeds.empty())) __builtin_trap();
  return 0;
}
