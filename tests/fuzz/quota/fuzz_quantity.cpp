// Fuzzes Quantity::Parse and checks the round trip: a canonical string parses back to the same amount.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "quota/quantity.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto q = platoon::Quantity::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!q) return 0;
  auto again = platoon::Quantity::Parse(q->ToString());
  if (!again || *again != *q || again->ToString() != q->ToString()) std::abort();
  return 0;
}
