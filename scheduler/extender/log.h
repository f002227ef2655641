// Structured log lines for the edges (logfmt on stderr): time, level, message, key=value pairs.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace platoon::log {

enum class Level { Debug, Info, Warn, Error };

void SetMinLevel(Level level);
// Parses "debug", "info", "warn", "error"; false if unknown.
bool ParseLevel(std::string_view text, Level& out);
// One logfmt line, newline included. Values with spaces, quotes, '=', backslashes or control bytes
// (NUL, CR, LF, ...) are quoted and escaped, so a value can never end the line or forge another.
std::string FormatLine(Level level, std::string_view message,
                       std::initializer_list<std::pair<std::string_view, std::string>> fields = {});
void Write(Level level, std::string_view message,
           std::initializer_list<std::pair<std::string_view, std::string>> fields = {});

inline void Info(std::string_view m, std::initializer_list<std::pair<std::string_view, std::string>> f = {}) {
  Write(Level::Info, m, f);
}
inline void Warn(std::string_view m, std::initializer_list<std::pair<std::string_view, std::string>> f = {}) {
  Write(Level::Warn, m, f);
}
inline void Error(std::string_view m, std::initializer_list<std::pair<std::string_view, std::string>> f = {}) {
  Write(Level::Error, m, f);
}
inline void Debug(std::string_view m, std::initializer_list<std::pair<std::string_view, std::string>> f = {}) {
  Write(Level::Debug, m, f);
}

}  // namespace platoon::log
