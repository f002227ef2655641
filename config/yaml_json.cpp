// YAML -> JSON with a line map (yaml-cpp at the edge; its exceptions become file:line errors).
#include "config/yaml_json.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "config/json_write.h"

namespace platoon::config {
namespace {

bool IsPlainNumber(const std::string& s) {
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  return std::regex_match(s, kInt) || std::regex_match(s, kFloat);
}

// Builds JSON straight from yaml-cpp's parse events (no YAML::Node tree), recording each field's
// line. It also bounds the work: yaml-cpp 0.7 has inputs on which its parser loops forever emitting
// events (a ',' where a root node should start or end, e.g. ", x" or "\"a\","; found by fuzzing),
// so more events than the input could possibly hold abort the parse with an error.
class JsonBuilder final : public YAML::EventHandler {
 public:
  JsonBuilder(std::vector<JsonDocument>& docs, std::size_t input_size)
      : docs_(docs), max_events_(4 * input_size + 64) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    docs_.emplace_back();
    doc_ = &docs_.back();
    doc_->line = mark.line >= 0 ? mark.line + 1 : 1;
    stack_.clear();
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Count(mark);
    if (KeyPending(mark, "")) return;
    BeginValue(mark, anchor);
    doc_->json += "null";
    EndValue(anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Count(mark);
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw YAML::ParserException(mark, "alias to an unknown anchor");
    if (!stack_.empty() && stack_.back().map && stack_.back().expect_key)
      throw YAML::ParserException(mark, "aliases cannot be used as mapping keys here");
    BeginValue(mark, 0);
    doc_->json += it->second;
    EndValue(0);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Count(mark);
    if (KeyPending(mark, value)) return;
    BeginValue(mark, anchor);
    if (tag == "!") {  // quoted: always a string
      AppendJsonString(doc_->json, value);
    } else if (value == "true" || value == "True" || value == "TRUE") {
      doc_->json += "true";
    } else if (value == "false" || value == "False" || value == "FALSE") {
      doc_->json += "false";
    } else if (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL") {
      doc_->json += "null";
    } else if (IsPlainNumber(value)) {
      // Keep integers exact; other numbers stay text so quantities like "1.5" keep their digits.
      static const std::regex kInt("[-+]?[0-9]{1,18}");
      if (std::regex_match(value, kInt)) doc_->json += (value[0] == '+' ? value.substr(1) : value);
      else AppendJsonString(doc_->json, value);
    } else {
      AppendJsonString(doc_->json, value);
    }
    EndValue(anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    Count(mark);
    RejectComplexKey(mark);
    BeginValue(mark, anchor);
    doc_->json += '[';
    stack_.push_back({false, true, 0, CurrentPath(), "", anchor, doc_->json.size() - 1});
  }
  void OnSequenceEnd() override {
    doc_->json += ']';
    Close();
  }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    Count(mark);
    RejectComplexKey(mark);
    BeginValue(mark, anchor);
    doc_->json += '{';
    stack_.push_back({true, true, 0, CurrentPath(), "", anchor, doc_->json.size() - 1});
  }
  void OnMapEnd() override {
    doc_->json += '}';
    Close();
  }

 private:
  struct Frame {
    bool map;
    bool expect_key;  // maps: the next event is a key
    std::size_t count;
    std::string path;  // this container's path
    std::string key;   // maps: the pending key
    YAML::anchor_t anchor;
    std::size_t json_start;
  };

  void Count(const YAML::Mark& mark) {
    if (++events_ > max_events_)
      throw YAML::ParserException(mark, "the YAML parser stopped making progress near here (a stray ',' outside "
                                        "brackets?); quote the value or remove the comma");
    if (!doc_) throw YAML::ParserException(mark, "content outside a document");
    if (stack_.size() > 200) throw YAML::ParserException(mark, "document nests deeper than 200 levels");
  }
  void RejectComplexKey(const YAML::Mark& mark) {
    if (!stack_.empty() && stack_.back().map && stack_.back().expect_key)
      throw YAML::ParserException(mark, "mapping keys must be plain strings, not lists or mappings");
  }
  // A scalar in key position: remember it and emit `"key":`.
  bool KeyPending(const YAML::Mark& mark, const std::string& key) {
    if (stack_.empty() || !stack_.back().map || !stack_.back().expect_key) return false;
    Frame& f = stack_.back();
    if (f.count++) doc_->json += ',';
    AppendJsonString(doc_->json, key);
    doc_->json += ':';
    f.key = key;
    f.expect_key = false;
    if (mark.line >= 0) doc_->lines.emplace(ChildPath(f), mark.line + 1);
    return true;
  }
  std::string ChildPath(const Frame& f) const {
    if (f.map) return f.path.empty() ? f.key : f.path + "." + f.key;
    return f.path + "[" + std::to_string(f.count) + "]";
  }
  std::string CurrentPath() const {
    if (stack_.empty()) return "";
    const Frame& f = stack_.back();
    return f.map ? ChildPath(f) : f.path + "[" + std::to_string(f.count - 1) + "]";
  }
  void BeginValue(const YAML::Mark& mark, YAML::anchor_t) {
    if (!stack_.empty() && !stack_.back().map) {
      Frame& f = stack_.back();
      if (f.count) doc_->json += ',';
      if (mark.line >= 0) doc_->lines.emplace(ChildPath(f), mark.line + 1);
      ++f.count;
    } else if (stack_.empty() && !doc_->json.empty()) {
      throw YAML::ParserException(mark, "a document has more than one root node");
    }
    value_start_ = doc_->json.size();
  }
  void EndValue(YAML::anchor_t anchor) {
    if (anchor) anchors_[anchor] = doc_->json.substr(value_start_);
    if (!stack_.empty() && stack_.back().map) stack_.back().expect_key = true;
  }
  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.anchor) anchors_[f.anchor] = doc_->json.substr(f.json_start);
    if (!stack_.empty() && stack_.back().map) stack_.back().expect_key = true;
  }

  std::vector<JsonDocument>& docs_;
  JsonDocument* doc_ = nullptr;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, std::string> anchors_;
  std::size_t events_ = 0;
  std::size_t max_events_;
  std::size_t value_start_ = 0;
};

// Counts parse events and stops a runaway parse (see GuardYaml).
class EventCounter final : public YAML::EventHandler {
 public:
  explicit EventCounter(std::size_t input_size) : max_events_(4 * input_size + 64) {}
  void OnDocumentStart(const YAML::Mark& m) override { Count(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { Count(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Count(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { Count(m); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Count(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override { Count(m); }
  void OnMapEnd() override {}
  bool runaway = false;
  int line = 0;

 private:
  struct Stop {};
  void Count(const YAML::Mark& m) {
    if (++events_ <= max_events_) return;
    runaway = true;
    line = m.line >= 0 ? m.line + 1 : 0;
    throw Stop{};
  }
  std::size_t events_ = 0;
  std::size_t max_events_;

 public:
  using StopType = Stop;
};

}  // namespace

std::expected<std::string, YamlRunaway> GuardYaml(std::string_view text) {
  std::string input(text);
  EventCounter counter(input.size());
  try {
    std::istringstream stream(input);
    YAML::Parser parser(stream);
    while (parser.HandleNextDocument(counter)) {
    }
  } catch (const EventCounter::StopType&) {
  } catch (const YAML::Exception&) {
    // A syntax error: the caller's own parse reports it.
  }
  if (counter.runaway)
    return std::unexpected(YamlRunaway{counter.line, "the YAML parser stopped making progress near here (a stray ',' "
                                                     "outside brackets?); quote the value or remove the comma"});
  return input;
}

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
    std::string input(text);
    std::istringstream stream(input);
    YAML::Parser parser(stream);
    JsonBuilder builder(docs, input.size());
    while (parser.HandleNextDocument(builder)) {
    }
    // Empty documents ("---" alone, or only comments) carry nothing.
    std::erase_if(docs, [](const JsonDocument& d) { return d.json.empty() || d.json == "null"; });
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
