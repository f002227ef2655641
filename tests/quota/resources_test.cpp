// Resource lists add, subtract and report misfits with the numbers a person needs.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "quota/resources.h"

using namespace platoon;

TEST_CASE("resource lists keep amounts by name and drop zeros") {
  ResourceList a{{"cpu", 2000}, {"memory", 1024}};
  ResourceList b{{"cpu", 500}, {"nvidia.com/gpu", 1}};
  ResourceList sum = a + b;
  CHECK(sum.Get("cpu") == 2500);
  CHECK(sum.Get("nvidia.com/gpu") == 1);
  CHECK(sum.Get("absent") == 0);
  ResourceList back = sum - b;
  CHECK(back == a);
  back.Set("memory", 0);
  CHECK(back.size() == 1);
}

TEST_CASE("amounts print as the API server would") {
  CHECK(FormatAmount("cpu", 1500) == "1500m");
  CHECK(FormatAmount("cpu", 2000) == "2");
  CHECK(FormatAmount("memory", 16LL << 30) == "16Gi");
  CHECK(FormatAmount("nvidia.com/gpu", 8) == "8");
  CHECK(ToAmount("cpu", *Quantity::Parse("1.5")) == 1500);
  CHECK(ToAmount("memory", *Quantity::Parse("1Gi")) == (1LL << 30));
}

TEST_CASE("formatted amounts are the canonical quantity text for every magnitude and sign") {
  std::mt19937_64 rng(20261122);
  std::vector<std::int64_t> amounts = {0, 1, -1, 999, -999, 1000, -1000, 1001, 999'999, 1'000'000, -1'000'000,
                                       1'500'000, 12'000, std::numeric_limits<std::int64_t>::max(),
                                       std::numeric_limits<std::int64_t>::min()};
  for (int i = 0; i < 20'000; ++i) {
    const int digits = static_cast<int>(rng() % 19);
    std::int64_t v = static_cast<std::int64_t>(rng() % 1'000'000'000'000'000'000ULL);
    for (int d = 0; d < digits % 6; ++d) v /= 10;
    if (rng() % 2) v = v / 1000 * 1000;
    amounts.push_back(rng() % 2 ? -v : v);
    amounts.push_back(static_cast<std::int64_t>(rng() % 3000) - 1500);
  }
  for (const std::int64_t v : amounts) {
    CAPTURE(v);
    CHECK(FormatAmount("cpu", v) == Quantity::FromMilli(v).ToString());
    CHECK(FormatAmount("nvidia.com/gpu", v) == Quantity::FromUnits(v).ToString());
    CHECK(FormatAmount("pods", v) == Quantity::FromUnits(v).ToString());
  }
}

TEST_CASE("a request fits only when every resource has room") {
  ResourceList capacity{{"cpu", 8000}, {"nvidia.com/gpu", 8}, {"pods", 110}};
  ResourceList used{{"cpu", 4000}, {"nvidia.com/gpu", 6}, {"pods", 3}};
  SUBCASE("fits") { CHECK(Fits({{"cpu", 4000}, {"nvidia.com/gpu", 2}, {"pods", 1}}, used, capacity).empty()); }
  SUBCASE("one resource short") {
    auto missing = Fits({{"cpu", 1000}, {"nvidia.com/gpu", 4}, {"pods", 1}}, used, capacity);
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].resource == "nvidia.com/gpu");
    CHECK(DescribeInsufficient(missing) == "Insufficient nvidia.com/gpu (requested 4, free 2 of 8)");
  }
  SUBCASE("a resource the node does not have") {
    auto missing = Fits({{"example.com/fpga", 1}}, used, capacity);
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].capacity == 0);
  }
}
