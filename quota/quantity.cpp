// Kubernetes quantity grammar and canonical printing (semantics of apimachinery resource.Quantity).
#include "quota/quantity.h"

#include <algorithm>
#include <cctype>

namespace platoon {
namespace {

constexpr Int128 kNanosPerUnit = 1'000'000'000;

std::string Describe(std::string_view text) {
  std::string out = "quantity \"";
  for (char c : text.substr(0, 64)) out += (std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  if (text.size() > 64) out += "...";
  out += "\"";
  return out;
}

std::string ToDecimal(Int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  __extension__ using UInt128 = unsigned __int128;
  UInt128 u = neg ? static_cast<UInt128>(-(v + 1)) + 1 : static_cast<UInt128>(v);
  std::string s;
  while (u > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

// Suffix -> (base, exponent). Decimal SI exponents are powers of ten, binary ones powers of two.
struct Suffix {
  std::string_view text;
  int base;
  int exponent;
};
constexpr Suffix kSuffixes[] = {
    {"Ki", 2, 10}, {"Mi", 2, 20}, {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
    {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"", 10, 0},   {"k", 10, 3},  {"M", 10, 6},
    {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18},
};

std::string_view DecimalSuffix(int exponent) {
  for (const auto& s : kSuffixes)
    if (s.base == 10 && s.exponent == exponent) return s.text;
  return {};
}

}  // namespace

std::expected<Quantity, std::string> Quantity::Parse(std::string_view text) {
  const std::string what = Describe(text);
  if (text.empty()) return std::unexpected("empty quantity: expected a number such as \"2\", \"500m\" or \"16Gi\"");
  std::size_t pos = 0;
  bool negative = false;
  if (text[pos] == '+' || text[pos] == '-') {
    negative = text[pos] == '-';
    ++pos;
  }
  const std::size_t int_begin = pos;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  std::string_view int_digits = text.substr(int_begin, pos - int_begin);
  std::string_view frac_digits;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t frac_begin = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
    frac_digits = text.substr(frac_begin, pos - frac_begin);
  }
  if (int_digits.empty() && frac_digits.empty())
    return std::unexpected(what + " does not start with a number");

  // Suffix: binary SI, decimal SI, or a decimal exponent "e<int>" / "E<int>".
  std::string_view rest = text.substr(pos);
  QuantityFormat format = QuantityFormat::DecimalSI;
  int base = 10;
  int exponent = 0;
  bool matched = false;
  if (rest.size() >= 2 && (rest[0] == 'e' || rest[0] == 'E') &&
      (std::isdigit(static_cast<unsigned char>(rest[1])) || rest[1] == '+' || rest[1] == '-')) {
    std::size_t p = 1;
    bool exp_negative = false;
    if (rest[p] == '+' || rest[p] == '-') exp_negative = rest[p++] == '-';
    if (p >= rest.size()) return std::unexpected(what + " has an exponent with no digits");
    long exp = 0;
    for (; p < rest.size(); ++p) {
      if (!std::isdigit(static_cast<unsigned char>(rest[p])))
        return std::unexpected(what + " has an unknown suffix \"" + std::string(rest) + "\"");
      exp = exp * 10 + (rest[p] - '0');
      if (exp > 1000) return std::unexpected(what + " is out of range (exponent too large)");
    }
    exponent = static_cast<int>(exp_negative ? -exp : exp);
    format = QuantityFormat::DecimalExponent;
    matched = true;
  } else {
    for (const auto& s : kSuffixes) {
      if (rest == s.text) {
        base = s.base;
        exponent = s.exponent;
        format = s.base == 2 ? QuantityFormat::BinarySI : QuantityFormat::DecimalSI;
        matched = true;
        break;
      }
    }
  }
  if (!matched)
    return std::unexpected(what + " has an unknown suffix \"" + std::string(rest) +
                           "\" (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<N>)");

  // Digits without leading zeros; the value is digits * 10^(-frac_len) * base^exponent.
  std::string digits = std::string(int_digits) + std::string(frac_digits);
  int scale10 = -static_cast<int>(frac_digits.size());
  std::size_t nz = digits.find_first_not_of('0');
  if (nz == std::string::npos) {
    Quantity q;
    q.format_ = format;
    return q;
  }
  digits.erase(0, nz);
  // Drop trailing zeros into the decimal scale so long inputs like "1000000000000000000000m" fit.
  while (digits.size() > 1 && digits.back() == '0') {
    digits.pop_back();
    ++scale10;
  }
  const std::string too_large = what + " is too large: at most 2^63-1 whole units are accepted";
  if (digits.size() > 38) return std::unexpected(too_large);
  Int128 mantissa = 0;
  for (char c : digits) mantissa = mantissa * 10 + (c - '0');

  // nanos = mantissa * 10^(scale10 + 9) * base^exponent, with rounding up below one nano.
  int dec = scale10 + 9 + (base == 10 ? exponent : 0);
  int bin = base == 2 ? exponent : 0;
  constexpr Int128 kLimit = static_cast<Int128>(kMaxUnits) * kNanosPerUnit;
  Int128 value = mantissa;
  for (int i = 0; i < bin; ++i) {
    value *= 2;
    if (value > kLimit) return std::unexpected(too_large);
  }
  if (dec >= 0) {
    for (int i = 0; i < dec; ++i) {
      value *= 10;
      if (value > kLimit) return std::unexpected(too_large);
    }
  } else {
    bool remainder = false;
    for (int i = 0; i < -dec && value > 0; ++i) {
      if (value % 10 != 0) remainder = true;
      value /= 10;
    }
    if (-dec > 40) remainder = true;
    if (remainder) value += 1;  // apimachinery rounds away from zero to the nearest nano
  }
  if (value > kLimit) return std::unexpected(too_large);
  Quantity q;
  q.nanos_ = negative ? -value : value;
  q.format_ = format;
  return q;
}

Quantity Quantity::FromUnits(std::int64_t units, QuantityFormat format) {
  Quantity q;
  q.nanos_ = static_cast<Int128>(units) * kNanosPerUnit;
  q.format_ = format;
  return q;
}

Quantity Quantity::FromMilli(std::int64_t milli, QuantityFormat format) {
  Quantity q;
  q.nanos_ = static_cast<Int128>(milli) * 1'000'000;
  q.format_ = format;
  return q;
}

std::int64_t Quantity::Value() const {
  Int128 v = nanos_ / kNanosPerUnit;
  if (nanos_ % kNanosPerUnit != 0 && nanos_ > 0) v += 1;
  return static_cast<std::int64_t>(v);
}

std::int64_t Quantity::MilliValue() const {
  Int128 v = nanos_ / 1'000'000;
  if (nanos_ % 1'000'000 != 0 && nanos_ > 0) v += 1;
  if (v > INT64_MAX) return INT64_MAX;
  return static_cast<std::int64_t>(v);
}

std::string Quantity::ToString() const {
  if (nanos_ == 0) return "0";
  QuantityFormat format = format_;
  if (format == QuantityFormat::BinarySI) {
    // Small or fractional binary amounts print as decimal SI, as apimachinery does.
    const Int128 k1024 = 1024 * kNanosPerUnit;
    if ((nanos_ > -k1024 && nanos_ < k1024) || nanos_ % kNanosPerUnit != 0) format = QuantityFormat::DecimalSI;
  }
  if (format == QuantityFormat::BinarySI) {
    Int128 units = nanos_ / kNanosPerUnit;
    int exponent = 0;
    while (units % 1024 == 0 && exponent < 60) {
      units /= 1024;
      exponent += 10;
    }
    for (const auto& s : kSuffixes)
      if (s.base == 2 && s.exponent == exponent) return ToDecimal(units) + std::string(s.text);
    return ToDecimal(units);  // exponent 0
  }
  // Decimal: strip factors of ten, then lower the exponent to a multiple of three.
  Int128 mantissa = nanos_;
  int exponent = -9;
  while (mantissa % 10 == 0) {
    mantissa /= 10;
    ++exponent;
  }
  int adjust = ((exponent % 3) + 3) % 3;
  for (int i = 0; i < adjust; ++i) mantissa *= 10;
  exponent -= adjust;
  if (format == QuantityFormat::DecimalExponent) {
    if (exponent == 0) return ToDecimal(mantissa);
    return ToDecimal(mantissa) + "e" + std::to_string(exponent);
  }
  // Beyond "E", keep growing the mantissa so the printed value stays exact.
  while (exponent > 18) {
    mantissa *= 1000;
    exponent -= 3;
  }
  return ToDecimal(mantissa) + std::string(DecimalSuffix(exponent));
}

}  // namespace platoon
