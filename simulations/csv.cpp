// Streaming CSV reading for trace files: rows as string views, numbers checked, errors with file:line.
#include "simulations/csv.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "simulations/text_format.h"

namespace platoon::sim {

std::string LoadError::ToString() const {
  if (line == 0) return Format("{}: {}", file, message);
  return Format("{}:{}: {}", file, line, message);
}

LoadReport& LoadReport::operator+=(const LoadReport& other) {
  rows_loaded += other.rows_loaded;
  rows_skipped += other.rows_skipped;
  for (const auto& e : other.skipped) {
    if (skipped.size() >= kMaxListedBadRows) break;
    skipped.push_back(e);
  }
  return *this;
}

namespace {
constexpr std::size_t kBufferSize = 1 << 20;        // uncompressed text, split into lines
constexpr unsigned kGzipInputBufferSize = 1 << 18;  // zlib's own buffer for the file's bytes
}  // namespace

void CsvReader::GzClose::operator()(gzFile_s* file) const {
  if (file != nullptr) gzclose_r(file);
}

std::expected<CsvReader, LoadError> CsvReader::Open(const std::string& path) {
  CsvReader reader;
  reader.name_ = path;
  // zlib reads a gzip file decompressed and any other file as it is ("transparent" reading).
  errno = 0;
  reader.file_.reset(gzopen(path.c_str(), "rb"));
  if (!reader.file_) {
    return std::unexpected(LoadError{path, 0, Format("cannot open: {}",
                                                          std::generic_category().message(errno))});
  }
  gzbuffer(reader.file_.get(), kGzipInputBufferSize);
  reader.file_buffer_ = std::make_unique<char[]>(kBufferSize);
  return reader;
}

CsvReader CsvReader::FromString(std::string name, std::string text) {
  CsvReader reader;
  reader.name_ = std::move(name);
  reader.text_ = std::move(text);
  return reader;
}

bool CsvReader::Refill() {
  buffer_pos_ = buffer_end_ = 0;
  const int n = gzread(file_.get(), file_buffer_.get(), static_cast<unsigned>(kBufferSize));
  if (n > 0) {
    buffer_end_ = static_cast<std::size_t>(n);
    return true;
  }
  int code = Z_OK;
  const char* message = gzerror(file_.get(), &code);
  if (n == 0 && code == Z_OK) return false;  // the end of the file (of the last gzip member)
  // Z_BUF_ERROR: the file ends inside a gzip stream (truncated); Z_DATA_ERROR: corrupt data;
  // Z_ERRNO: the read failed. zlib's message starts with the path, which LoadError already gives.
  std::string_view text = message != nullptr ? message : "";
  if (text.starts_with(name_) && text.substr(name_.size()).starts_with(": ")) text.remove_prefix(name_.size() + 2);
  if (text.empty()) text = "read error";
  read_error_ = LoadError{name_, line_ + 1, Format(code == Z_ERRNO ? "cannot read: {}" : "gzip: {}", text)};
  return false;
}

bool CsvReader::ReadLine(std::string& out) {
  if (file_) {
    if (read_error_) return false;
    out.clear();
    bool any = false;
    while (true) {
      if (buffer_pos_ == buffer_end_ && !Refill()) return any && !read_error_;  // a last line without '\n'
      const char* begin = file_buffer_.get() + buffer_pos_;
      const std::size_t available = buffer_end_ - buffer_pos_;
      if (const void* newline = std::memchr(begin, '\n', available)) {
        const auto length = static_cast<std::size_t>(static_cast<const char*>(newline) - begin);
        out.append(begin, length);
        buffer_pos_ += length + 1;
        return true;
      }
      out.append(begin, available);
      buffer_pos_ = buffer_end_;
      any = true;
    }
  }
  if (text_pos_ >= text_.size()) return false;
  std::size_t end = text_.find('\n', text_pos_);
  if (end == std::string::npos) end = text_.size();
  out.assign(text_, text_pos_, end - text_pos_);
  text_pos_ = end + 1;
  return true;
}

bool CsvReader::Next() {
  if (!ReadLine(line_text_)) return false;
  ++line_;
  if (!line_text_.empty() && line_text_.back() == '\r') line_text_.pop_back();
  Split();
  return true;
}

void CsvReader::Split() {
  fields_.clear();
  row_error_.clear();
  const std::string_view line = line_text_;
  if (line.find('"') == std::string_view::npos) {
    std::size_t start = 0;
    while (true) {
      std::size_t comma = line.find(',', start);
      if (comma == std::string_view::npos) {
        fields_.push_back(line.substr(start));
        return;
      }
      fields_.push_back(line.substr(start, comma - start));
      start = comma + 1;
    }
  }
  // Quoted fields: unquote into one buffer sized up front so views stay valid.
  unquoted_.clear();
  unquoted_.reserve(line.size());
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t i = 0;
  while (true) {
    const std::size_t begin = unquoted_.size();
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            unquoted_.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        unquoted_.push_back(line[i++]);
      }
      if (!closed) {
        row_error_ = "unterminated quoted field";
      } else if (i < line.size() && line[i] != ',') {
        row_error_ = "text after a closing quote";
        while (i < line.size() && line[i] != ',') unquoted_.push_back(line[i++]);
      }
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') row_error_ = "quote inside an unquoted field";
        unquoted_.push_back(line[i++]);
      }
    }
    spans.emplace_back(begin, unquoted_.size() - begin);
    if (i >= line.size()) break;
    ++i;  // the comma
    if (i == line.size()) {
      spans.emplace_back(unquoted_.size(), 0);
      break;
    }
  }
  const std::string_view all = unquoted_;
  for (const auto& [b, n] : spans) fields_.push_back(all.substr(b, n));
}

std::expected<CsvHeader, LoadError> CsvHeader::Parse(const CsvReader& reader,
                                                     const std::vector<std::string_view>& required,
                                                     const std::vector<std::string_view>& optional) {
  CsvHeader header;
  if (!reader.RowError().empty()) return std::unexpected(reader.ErrorAt("header: " + reader.RowError()));
  for (std::string_view f : reader.Fields()) {
    std::string name(f);
    // Tolerate a UTF-8 byte order mark on the first column and surrounding blanks.
    if (header.names_.empty() && name.starts_with("\xEF\xBB\xBF")) name.erase(0, 3);
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (std::find(header.names_.begin(), header.names_.end(), name) != header.names_.end()) {
      return std::unexpected(reader.ErrorAt(Format("header: column \"{}\" appears twice", name)));
    }
    const bool known = std::find(required.begin(), required.end(), name) != required.end() ||
                       std::find(optional.begin(), optional.end(), name) != optional.end();
    if (!known) {
      return std::unexpected(reader.ErrorAt(Format(
          "header: unknown column \"{}\" (this loader reads only the documented columns)", name)));
    }
    header.names_.push_back(std::move(name));
  }
  for (std::string_view r : required) {
    if (header.Index(r) < 0) {
      return std::unexpected(reader.ErrorAt(Format("header: missing column \"{}\"", r)));
    }
  }
  return header;
}

int CsvHeader::Index(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::string TraceFileStem(std::string_view path) {
  std::string name = std::filesystem::path(path).filename().string();
  if (name.ends_with(".gz")) name.resize(name.size() - 3);
  return std::filesystem::path(name).stem().string();
}

std::expected<std::int64_t, std::string> ParseInt(std::string_view column, std::string_view text) {
  std::int64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (text.empty() || ec != std::errc() || ptr != last) {
    if (ec == std::errc::result_out_of_range) {
      return std::unexpected(Format("column {}: \"{}\" is out of range", column, text));
    }
    return std::unexpected(Format("column {}: \"{}\" is not an integer", column, text));
  }
  return value;
}

std::expected<double, std::string> ParseDouble(std::string_view column, std::string_view text) {
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (text.empty() || ec != std::errc() || ptr != last || !std::isfinite(value)) {
    return std::unexpected(Format("column {}: \"{}\" is not a finite number", column, text));
  }
  return value;
}

std::expected<void, LoadError> HandleBadRow(const LoadOptions& options, LoadReport& report,
                                            LoadError error) {
  if (!options.skip_bad_rows) return std::unexpected(std::move(error));
  ++report.rows_skipped;
  if (report.skipped.size() < LoadReport::kMaxListedBadRows) report.skipped.push_back(std::move(error));
  return {};
}

}  // namespace platoon::sim
