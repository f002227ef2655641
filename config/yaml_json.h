// YAML documents as JSON text, with the source line of every field, so one JSON decoder serves both.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace platoon::config {

// One YAML document rendered as JSON. `lines` maps a field path in the decoder's syntax
// ("spec.containers[0].resources") to its 1-based line in the source file.
struct JsonDocument {
  std::string json;
  int line = 1;  // where the document starts
  std::unordered_map<std::string, int> lines;

  // The line of `path` or of its nearest ancestor that has one.
  int LineOf(std::string_view path) const;
};

// "file:line: message" errors for YAML syntax problems. Plain scalars become JSON numbers, booleans
// or null where YAML 1.2's core schema says so; quoted scalars stay strings. Documents that are
// empty are skipped.
std::expected<std::vector<JsonDocument>, std::string> YamlToJson(std::string_view text, std::string_view file);

// yaml-cpp 0.7 loops forever, allocating without bound, on some malformed inputs (a ',' where a root
// node starts or ends, a tag running into the end of input; found by fuzzing). Every loader that
// hands text to YAML::Load or YAML::LoadAll passes it through this guard first: it returns the text
// to parse (with a trailing newline) or where and why the parse would not end.
// Syntax errors are left for the caller's parse to report in its own words.
struct YamlRunaway {
  int line = 0;         // 1-based, where the parser stopped making progress
  std::string message;  // what to do about it
};
std::expected<std::string, YamlRunaway> GuardYaml(std::string_view text);

// Reads a whole file. Error: "FILE: cannot read: reason".
std::expected<std::string, std::string> ReadFile(const std::string& path);

}  // namespace platoon::config
