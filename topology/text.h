// A small "{}"-placeholder formatter for messages (g++ 12 has no <format>).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace platoon::topology {

namespace text_detail {
inline void FormatRest(std::ostringstream& out, std::string_view fmt) { out << fmt; }

template <typename T, typename... Rest>
void FormatRest(std::ostringstream& out, std::string_view fmt, const T& first, const Rest&... rest) {
  const auto at = fmt.find("{}");
  if (at == std::string_view::npos) {
    out << fmt;
    return;
  }
  out << fmt.substr(0, at) << first;
  FormatRest(out, fmt.substr(at + 2), rest...);
}
}  // namespace text_detail

// Replaces each "{}" in `fmt` with the next argument, streamed.
template <typename... Args>
std::string Format(std::string_view fmt, const Args&... args) {
  std::ostringstream out;
  text_detail::FormatRest(out, fmt, args...);
  return out.str();
}

}  // namespace platoon::topology
