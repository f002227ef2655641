// libFuzzer target: ParseReferenceTable must return a table or a located error for any input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "simulations/reference_results.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (int keys : {1, 2}) {
    auto t = platoon::sim::ParseReferenceTable(platoon::sim::CsvReader::FromString("r.csv", text), keys);
    if (t) {
      for (const auto& row : t->rows) {
        if (row.values.size() != t->value_columns.size()) __builtin_trap();
      }
    }
  }
  return 0;
}
