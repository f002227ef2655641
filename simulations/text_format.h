// A small std::format stand-in (g++ 12 lacks <format>): "{}" and "{:spec}" with spec [0][width][.prec][f|x].
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace platoon::sim {
namespace text_format_detail {

struct Spec {
  bool zero = false;
  int width = 0;
  int precision = -1;
  char type = 0;
};

inline Spec ParseSpec(std::string_view s) {
  Spec spec;
  std::size_t i = 0;
  if (i < s.size() && s[i] == '0') {
    spec.zero = true;
    ++i;
  }
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') spec.width = spec.width * 10 + (s[i++] - '0');
  if (i < s.size() && s[i] == '.') {
    ++i;
    spec.precision = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') spec.precision = spec.precision * 10 + (s[i++] - '0');
  }
  if (i < s.size()) spec.type = s[i];
  return spec;
}

inline void Pad(std::string& out, std::string_view text, const Spec& spec, bool right_align) {
  const int pad = spec.width - static_cast<int>(text.size());
  if (pad > 0 && right_align) out.append(static_cast<std::size_t>(pad), spec.zero ? '0' : ' ');
  out += text;
  if (pad > 0 && !right_align) out.append(static_cast<std::size_t>(pad), ' ');
}

template <typename T>
void Append(std::string& out, const T& value, const Spec& spec) {
  char buf[128];
  if constexpr (std::is_same_v<T, bool>) {
    Pad(out, value ? "true" : "false", spec, false);
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, char>) {
    auto r = std::to_chars(buf, buf + sizeof buf, value, spec.type == 'x' ? 16 : 10);
    Pad(out, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), spec, true);
  } else if constexpr (std::is_floating_point_v<T>) {
    auto r = spec.precision >= 0
                 ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, spec.precision)
                 : std::to_chars(buf, buf + sizeof buf, value);
    Pad(out, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), spec, true);
  } else if constexpr (std::is_same_v<T, char>) {
    Pad(out, std::string_view(&value, 1), spec, false);
  } else {
    Pad(out, std::string_view(value), spec, false);
  }
}

inline void FormatTo(std::string& out, std::string_view fmt) {
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if ((fmt[i] == '{' || fmt[i] == '}') && i + 1 < fmt.size() && fmt[i + 1] == fmt[i]) ++i;
    out += fmt[i];
  }
}

template <typename First, typename... Rest>
void FormatTo(std::string& out, std::string_view fmt, const First& first, const Rest&... rest) {
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if ((c == '{' || c == '}') && i + 1 < fmt.size() && fmt[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '{') {
      const std::size_t close = fmt.find('}', i);
      std::string_view inner = fmt.substr(i + 1, close - i - 1);
      if (!inner.empty() && inner.front() == ':') inner.remove_prefix(1);
      Append(out, first, ParseSpec(inner));
      FormatTo(out, fmt.substr(close + 1), rest...);
      return;
    }
    out += c;
  }
}

}  // namespace text_format_detail

// Format("{} of {:.2f}", 3, 4.5) == "3 of 4.50". Arguments: integers, floating point, bool, char and
// anything convertible to std::string_view.
template <typename... Args>
std::string Format(std::string_view fmt, const Args&... args) {
  std::string out;
  out.reserve(fmt.size() + 16 * sizeof...(Args));
  text_format_detail::FormatTo(out, fmt, args...);
  return out;
}

}  // namespace platoon::sim
