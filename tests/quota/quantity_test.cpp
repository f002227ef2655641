// Quantities parse and print exactly as the Kubernetes API server does.
#include <doctest/doctest.h>

#include "quota/quantity.h"

using platoon::Quantity;

namespace {
std::string Canonical(std::string_view in) {
  auto q = Quantity::Parse(in);
  REQUIRE_MESSAGE(q.has_value(), std::string(in) << ": " << (q ? "" : q.error()));
  return q->ToString();
}
}  // namespace

TEST_CASE("quantities print in the API server's canonical form") {
  // Cases from apimachinery's documented round-trip behaviour.
  const std::pair<const char*, const char*> cases[] = {
      {"0", "0"},          {"0m", "0"},           {"0Ki", "0"},         {"100m", "100m"},
      {"1", "1"},          {"1000m", "1"},        {"1500m", "1500m"},   {"1.5", "1500m"},
      {"0.5", "500m"},     {"2e3", "2e3"},        {"2E3", "2e3"},       {"1000", "1k"},
      {"1500", "1500"},    {"1k", "1k"},          {"1M", "1M"},         {"1.5Gi", "1536Mi"},
      {"1Ki", "1Ki"},      {"1024", "1024"},      {"1024Ki", "1Mi"},    {"512Ki", "512Ki"},
      {"0.5Ki", "512"},    {"1.5Ki", "1536"},     {"16Gi", "16Gi"},     {"1Ei", "1Ei"},
      {"1n", "1n"},        {"1u", "1u"},          {"0.1n", "1n"},       {"1e-3", "1e-3"},
      {"1e9", "1e9"},      {"12e6", "12e6"},      {"100e-3", "100e-3"}, {".5", "500m"},
      {"5.", "5"},         {"+5", "5"},           {"-5", "-5"},         {"-100m", "-100m"},
      {"1Ti", "1Ti"},      {"1.1Ki", "1126400m"}, {"8", "8"},           {"129e6", "129e6"},
      {"1E", "1E"},        {"62.5Ki", "64000"},   {"64000", "64k"},        {"7Ei", "7Ei"},        {"9e18", "9e18"},     {"1000000000000000000000m", "1E"},
  };
  for (const auto& [in, want] : cases) {
    CAPTURE(in);
    CHECK(Canonical(in) == want);
  }
}

TEST_CASE("quantity values round up to whole and milli units") {
  CHECK(Quantity::Parse("100m")->Value() == 1);
  CHECK(Quantity::Parse("100m")->MilliValue() == 100);
  CHECK(Quantity::Parse("1.5Gi")->Value() == 1610612736);
  CHECK(Quantity::Parse("2e3")->Value() == 2000);
  CHECK(Quantity::Parse("1Ki")->Value() == 1024);
  CHECK(Quantity::Parse("1n")->MilliValue() == 1);
  CHECK(Quantity::Parse("8")->MilliValue() == 8000);
}

TEST_CASE("invalid and huge quantities are rejected with a message naming the input") {
  const char* bad[] = {"", "abc", "1.0.0", "1 Gi", " 1", "1Gb", "1e", "1e+", "--1", "1ki", "Gi",
                       ".", "1.5.Gi", "1e1000000", "10Ei", "99999999999999999999", "1e19", "0x10"};
  for (const char* in : bad) {
    CAPTURE(in);
    auto q = Quantity::Parse(in);
    CHECK_FALSE(q.has_value());
    if (!q) CHECK(!q.error().empty());
  }
  auto huge = Quantity::Parse("10Ei");
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.error().find("too large") != std::string::npos);
}

TEST_CASE("quantities compare by amount, whatever their format") {
  CHECK(*Quantity::Parse("1Ki") == *Quantity::Parse("1024"));
  CHECK(*Quantity::Parse("1") == *Quantity::Parse("1000m"));
  CHECK(*Quantity::Parse("1k") < *Quantity::Parse("1Ki"));
}
