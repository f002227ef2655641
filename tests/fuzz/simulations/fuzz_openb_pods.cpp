// libFuzzer target: ParseOpenbPods must return rows or a located error for any input, never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "simulations/openb_trace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (bool skip : {false, true}) {
    auto r = platoon::sim::ParseOpenbPods(platoon::sim::CsvReader::FromString("fuzz.csv", text), {.skip_bad_rows = skip});
    if (!r && r.error().line == 0 && !text.empty()) __builtin_trap();  // rows are always located
    if (r && !skip && r->report.rows_skipped != 0) __builtin_trap();   // never skipped unless asked
  }
  return 0;
}
