// Fuzzes Quantity::Parse and checks the round trip: a canonical string parses back to the same amount,
// and printing is stable from the second round on. (Not from the first: like apimachinery, a binary
// amount that is not a multiple of 1024 prints without a suffix, "62.5Ki" -> "64000", which then
// reads as decimal and prints as "64k".)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "quota/quantity.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto q = platoon::Quantity::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!q) return 0;
  auto again = platoon::Quantity::Parse(q->ToString());
  if (!again || *again != *q) std::abort();
  auto third = platoon::Quantity::Parse(again->ToString());
  if (!third || *third != *q || third->ToString() != again->ToString()) std::abort();
  return 0;
}
