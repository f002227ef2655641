// Command-line flag parsing for the subcommands.
#include <charconv>

#include "scheduler/app/commands.h"

namespace platoon::app {

std::expected<ParsedFlags, std::string> ParseFlags(const std::vector<std::string_view>& args,
                                                   const std::vector<FlagSpec>& specs) {
  ParsedFlags out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--")) {
      out.positional.emplace_back(arg);
      continue;
    }
    std::string_view name = arg.substr(2);
    std::string value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
      inline_value = true;
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == name) spec = &s;
    if (!spec) return std::unexpected("unknown flag --" + std::string(name));
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= args.size()) return std::unexpected("flag --" + std::string(name) + " needs a value");
      value = std::string(args[++i]);
    } else if (!spec->takes_value && inline_value) {
      return std::unexpected("flag --" + std::string(name) + " takes no value");
    }
    out.values.insert_or_assign(std::string(name), value);
  }
  return out;
}

std::expected<std::pair<std::string, int>, std::string> ParseHostPort(std::string_view text) {
  std::string_view host, port;
  if (text.starts_with("[")) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return std::unexpected("\"" + std::string(text) + "\" is not [IPv6]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::unexpected("\"" + std::string(text) + "\" is not HOST:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535)
    return std::unexpected("\"" + std::string(port) + "\" is not a port number (0-65535)");
  return std::pair{std::string(host), p};
}

}  // namespace platoon::app
