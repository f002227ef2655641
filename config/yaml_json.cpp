// YAML -> JSON with a line map (yaml-cpp at the edge; its exceptions become file:line errors).
#include "config/yaml_json.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace platoon::config {
namespace {

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

bool IsPlainNumber(const std::string& s) {
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  return std::regex_match(s, kInt) || std::regex_match(s, kFloat);
}

class Emitter {
 public:
  explicit Emitter(JsonDocument& doc) : doc_(doc) {}

  void Emit(const YAML::Node& node, const std::string& path, int depth) {
    if (depth > 200) throw YAML::Exception(node.Mark(), "document nests deeper than 200 levels");
    if (node.Mark().line >= 0) doc_.lines.emplace(path, node.Mark().line + 1);
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined: doc_.json += "null"; break;
      case YAML::NodeType::Scalar: EmitScalar(node); break;
      case YAML::NodeType::Sequence: {
        doc_.json += '[';
        std::size_t i = 0;
        for (const auto& item : node) {
          if (i) doc_.json += ',';
          Emit(item, path + "[" + std::to_string(i) + "]", depth + 1);
          ++i;
        }
        doc_.json += ']';
        break;
      }
      case YAML::NodeType::Map: {
        doc_.json += '{';
        bool first = true;
        for (const auto& kv : node) {
          if (!first) doc_.json += ',';
          first = false;
          const std::string key = kv.first.Scalar();
          AppendJsonString(doc_.json, key);
          doc_.json += ':';
          const std::string child = path.empty() ? key : path + "." + key;
          if (kv.first.Mark().line >= 0) doc_.lines.emplace(child, kv.first.Mark().line + 1);
          Emit(kv.second, child, depth + 1);
        }
        doc_.json += '}';
        break;
      }
    }
  }

 private:
  void EmitScalar(const YAML::Node& node) {
    const std::string& s = node.Scalar();
    if (node.Tag() == "!") {  // quoted: always a string
      AppendJsonString(doc_.json, s);
      return;
    }
    if (s == "true" || s == "True" || s == "TRUE") doc_.json += "true";
    else if (s == "false" || s == "False" || s == "FALSE") doc_.json += "false";
    else if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") doc_.json += "null";
    else if (IsPlainNumber(s)) {
      // Keep integers exact; other numbers stay text so quantities like "1.5" keep their digits.
      static const std::regex kInt("[-+]?[0-9]{1,18}");
      if (std::regex_match(s, kInt)) doc_.json += (s[0] == '+' ? s.substr(1) : s);
      else AppendJsonString(doc_.json, s);
    } else {
      AppendJsonString(doc_.json, s);
    }
  }

  JsonDocument& doc_;
};

}  // namespace

int JsonDocument::LineOf(std::string_view path) const {
  std::string p(path);
  while (true) {
    if (auto it = lines.find(p); it != lines.end()) return it->second;
    const auto cut = p.find_last_of(".[");
    if (cut == std::string::npos) return line;
    p.erase(cut);
  }
}

std::expected<std::vector<JsonDocument>, std::string> YamlToJson(std::string_view text, std::string_view file) {
  std::vector<JsonDocument> docs;
  try {
    std::vector<YAML::Node> nodes = YAML::LoadAll(std::string(text));
    for (const auto& node : nodes) {
      if (node.IsNull()) continue;
      JsonDocument doc;
      doc.line = node.Mark().line >= 0 ? node.Mark().line + 1 : 1;
      Emitter(doc).Emit(node, "", 0);
      docs.push_back(std::move(doc));
    }
  } catch (const YAML::Exception& e) {
    std::ostringstream out;
    out << file << ":" << (e.mark.line >= 0 ? e.mark.line + 1 : 0) << ": " << e.msg;
    return std::unexpected(out.str());
  }
  return docs;
}

std::expected<std::string, std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return std::unexpected(path + ": read error");
  return buf.str();
}

}  // namespace platoon::config
