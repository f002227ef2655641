// The platoon subcommands; each returns the process exit code (0 ok, 1 failure, 2 usage error).
#pragma once

#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace platoon::app {

int RunServe(const std::vector<std::string_view>& args);
int RunCheck(const std::vector<std::string_view>& args);
int RunExplain(const std::vector<std::string_view>& args);
int RunSimulate(const std::vector<std::string_view>& args);

// Minimal GNU-style flag parsing shared by the subcommands: --name value, --name=value, and
// boolean --name. Unknown flags are an error naming the flag.
struct FlagSpec {
  std::string name;
  bool takes_value = true;
};
struct ParsedFlags {
  std::map<std::string, std::string, std::less<>> values;
  std::vector<std::string> positional;
  bool Has(std::string_view name) const { return values.contains(name); }
  std::string Get(std::string_view name, std::string fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};
std::expected<ParsedFlags, std::string> ParseFlags(const std::vector<std::string_view>& args,
                                                   const std::vector<FlagSpec>& specs);

// "HOST:PORT" (IPv6 as "[::1]:8888"). Error: a sentence.
std::expected<std::pair<std::string, int>, std::string> ParseHostPort(std::string_view text);

}  // namespace platoon::app
