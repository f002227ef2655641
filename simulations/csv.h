// Streaming CSV reading for trace files: rows as string views, numbers checked, errors with file:line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct gzFile_s;  // zlib's file handle, opened and closed in csv.cpp

namespace platoon::sim {

// A trace file that cannot be used as it is, located at file:line (line 0: the file as a whole).
struct LoadError {
  std::string file;
  std::size_t line = 0;
  std::string message;
  // "path/to/file.csv:17: column num_gpu: \"x\" is not an integer".
  std::string ToString() const;
  friend bool operator==(const LoadError&, const LoadError&) = default;
};

// How a loader treats a bad row. Rejecting is the default: a trace is never silently misread. With
// skip_bad_rows the row is dropped, counted and reported (file:line and why) in LoadReport.
struct LoadOptions {
  bool skip_bad_rows = false;
};

// What a loader did with the rows of one file.
struct LoadReport {
  static constexpr std::size_t kMaxListedBadRows = 100;
  std::size_t rows_loaded = 0;
  std::size_t rows_skipped = 0;
  std::vector<LoadError> skipped;  // the first kMaxListedBadRows skipped rows, in file order
  LoadReport& operator+=(const LoadReport& other);
};

// Reads a comma-separated file row by row. Fields may be double-quoted ("a,b", "say ""hi"""); a
// trailing '\r' is dropped. The reader owns its buffers: the views returned by Fields() are valid
// until the next call to Next().
class CsvReader {
 public:
  // Opens a plain or a gzip-compressed file (`trace.csv` or `trace.csv.gz`): the content decides, not
  // the name, and line numbers in errors count the uncompressed lines.
  static std::expected<CsvReader, LoadError> Open(const std::string& path);
  // Reads from an in-memory text (tests, fuzzers); `name` is used in errors.
  static CsvReader FromString(std::string name, std::string text);

  // Advances to the next row. false at end of input, or when the input cannot be read on (see
  // ReadError()). A malformed row (unterminated quote) is still returned, with RowError() set.
  bool Next();
  // Set when Next() stopped because the file could not be read to its end (an I/O error, corrupt or
  // truncated gzip data), at the line that could not be read. Loaders reject the file then, even
  // with skip_bad_rows: what follows is unknown.
  const std::optional<LoadError>& ReadError() const { return read_error_; }
  const std::vector<std::string_view>& Fields() const { return fields_; }
  const std::string& RowError() const { return row_error_; }
  std::size_t Line() const { return line_; }
  const std::string& Name() const { return name_; }

  LoadError ErrorAt(std::string message) const { return LoadError{name_, line_, std::move(message)}; }

 private:
  struct GzClose {
    void operator()(gzFile_s* file) const;
  };

  CsvReader() = default;
  bool ReadLine(std::string& out);
  bool Refill();
  void Split();

  std::string name_;
  std::unique_ptr<gzFile_s, GzClose> file_;  // plain files are read through zlib as they are
  std::unique_ptr<char[]> file_buffer_;
  std::size_t buffer_pos_ = 0;
  std::size_t buffer_end_ = 0;
  std::optional<LoadError> read_error_;
  std::string text_;        // FromString input
  std::size_t text_pos_ = 0;
  std::string line_text_;
  std::string unquoted_;    // storage for fields that needed unquoting
  std::vector<std::string_view> fields_;
  std::string row_error_;
  std::size_t line_ = 0;
};

// Maps header names to column positions and checks that the required ones are present.
class CsvHeader {
 public:
  // `required` must all be present (in any order); `optional` may be absent. Unknown columns are
  // an error too, so that a renamed column is never ignored by accident.
  static std::expected<CsvHeader, LoadError> Parse(const CsvReader& reader,
                                                   const std::vector<std::string_view>& required,
                                                   const std::vector<std::string_view>& optional);
  // Column index of `name`, or -1 when an optional column is absent.
  int Index(std::string_view name) const;
  std::size_t Width() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
};

// The file name of `path` without a ".gz" suffix and then without its extension:
// ".../trace_6214e9.csv.gz" and ".../trace_6214e9.csv" both give "trace_6214e9".
std::string TraceFileStem(std::string_view path);

// Field parsers: the whole field must be consumed; messages name the column and the text.
std::expected<std::int64_t, std::string> ParseInt(std::string_view column, std::string_view text);
std::expected<double, std::string> ParseDouble(std::string_view column, std::string_view text);

// Shared bookkeeping for loaders: applies LoadOptions to a bad row. Returns the error to give back
// (reject) or nothing (skipped and counted).
std::expected<void, LoadError> HandleBadRow(const LoadOptions& options, LoadReport& report,
                                            LoadError error);

}  // namespace platoon::sim
