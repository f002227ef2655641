// Kubernetes resource quantities ("100m", "1.5Gi", "2e3"), parsed and printed as the API server does.
#pragma once

#include <compare>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace platoon {

// 128-bit integer for exact nano-unit arithmetic (a GCC/Clang extension).
__extension__ using Int128 = __int128;

// How a quantity prints: the suffix family it was written with (apimachinery's Format).
enum class QuantityFormat { DecimalSI, BinarySI, DecimalExponent };

// A resource.Quantity. The amount is held exactly in nano-units (10^-9), the finest precision the
// API server keeps; finer input is rounded up, as apimachinery does. Regular value type.
class Quantity {
 public:
  // Largest magnitude accepted, in whole units: 2^63-1 (apimachinery's int64 fast path).
  static constexpr std::int64_t kMaxUnits = INT64_MAX;

  Quantity() = default;

  // Parses the Kubernetes quantity grammar. Errors are sentences naming the input.
  static std::expected<Quantity, std::string> Parse(std::string_view text);
  static Quantity FromUnits(std::int64_t units, QuantityFormat format = QuantityFormat::DecimalSI);
  static Quantity FromMilli(std::int64_t milli, QuantityFormat format = QuantityFormat::DecimalSI);

  // The canonical string the API server writes back ("1.5Gi" -> "1536Mi", "0.5" -> "500m").
  std::string ToString() const;

  // Whole units rounded up (apimachinery Value()) and milli-units rounded up (MilliValue()).
  std::int64_t Value() const;
  std::int64_t MilliValue() const;
  Int128 Nanos() const { return nanos_; }
  QuantityFormat Format() const { return format_; }
  bool IsZero() const { return nanos_ == 0; }
  bool IsNegative() const { return nanos_ < 0; }

  friend bool operator==(const Quantity& a, const Quantity& b) { return a.nanos_ == b.nanos_; }
  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) {
    return a.nanos_ <=> b.nanos_;
  }

 private:
  Int128 nanos_ = 0;
  QuantityFormat format_ = QuantityFormat::DecimalSI;
};

}  // namespace platoon
