// Tests for the streaming CSV reader and field parsers.
#include <doctest/doctest.h>

#include "simulations/csv.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "gzip_file.h"

using namespace platoon::sim;

namespace {

struct Rows {
  std::vector<std::pair<std::size_t, std::vector<std::string>>> rows;  // line, fields
  std::vector<std::string> row_errors;
};

Rows ReadAll(CsvReader reader) {
  Rows out;
  while (reader.Next()) {
    out.rows.emplace_back(reader.Line(), std::vector<std::string>(reader.Fields().begin(), reader.Fields().end()));
    out.row_errors.push_back(reader.RowError());
  }
  return out;
}

std::filesystem::path FreshDir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("the CSV reader splits plain and quoted fields and counts lines") {
  auto r = CsvReader::FromString("t.csv", "a,b,c\r\n1,\"x,y\",\"say \"\"hi\"\"\"\n,,\n");
  REQUIRE(r.Next());
  CHECK(r.Line() == 1);
  CHECK(r.Fields() == std::vector<std::string_view>{"a", "b", "c"});
  REQUIRE(r.Next());
  CHECK(r.Line() == 2);
  CHECK(r.RowError().empty());
  CHECK(r.Fields() == std::vector<std::string_view>{"1", "x,y", "say \"hi\""});
  REQUIRE(r.Next());
  CHECK(r.Fields() == std::vector<std::string_view>{"", "", ""});
  CHECK_FALSE(r.Next());
}

TEST_CASE("a malformed quoted field is flagged, not guessed") {
  SUBCASE("unterminated") {
    auto r = CsvReader::FromString("t.csv", "\"abc,d\n");
    REQUIRE(r.Next());
    CHECK(r.RowError() == "unterminated quoted field");
  }
  SUBCASE("text after the closing quote") {
    auto r = CsvReader::FromString("t.csv", "\"ab\"c,d\n");
    REQUIRE(r.Next());
    CHECK(r.RowError() == "text after a closing quote");
  }
  SUBCASE("quote inside an unquoted field") {
    auto r = CsvReader::FromString("t.csv", "ab\"c,d\n");
    REQUIRE(r.Next());
    CHECK(r.RowError() == "quote inside an unquoted field");
  }
}

TEST_CASE("numbers must use the whole field") {
  CHECK(ParseInt("n", "42").value() == 42);
  CHECK(ParseInt("n", "+7").value() == 7);
  CHECK(ParseInt("n", "-3").value() == -3);
  CHECK(ParseInt("n", "4x").error() == "column n: \"4x\" is not an integer");
  CHECK(ParseInt("n", "").error() == "column n: \"\" is not an integer");
  CHECK(ParseInt("n", "1.0").has_value() == false);
  CHECK(ParseInt("n", "99999999999999999999").error() == "column n: \"99999999999999999999\" is out of range");
  CHECK(ParseDouble("x", "6.0").value() == 6.0);
  CHECK(ParseDouble("x", "8562099.517582526").value() == doctest::Approx(8562099.517582526));
  CHECK_FALSE(ParseDouble("x", "nan").has_value());
  CHECK_FALSE(ParseDouble("x", "1e400").has_value());
  CHECK_FALSE(ParseDouble("x", "1.5 ").has_value());
}

TEST_CASE("the header must name the documented columns exactly once") {
  auto parse = [](std::string text) {
    auto r = CsvReader::FromString("h.csv", std::move(text));
    r.Next();
    return CsvHeader::Parse(r, {"a", "b"}, {"c"});
  };
  CHECK(parse("b,a\n").has_value());
  CHECK(parse("a,b,c\n")->Index("c") == 2);
  CHECK(parse("a,b\n")->Index("c") == -1);
  CHECK(parse("a\n").error().ToString() == "h.csv:1: header: missing column \"b\"");
  CHECK(parse("a,b,d\n").error().message.find("unknown column \"d\"") != std::string::npos);
  CHECK(parse("a,b,a\n").error().message == "header: column \"a\" appears twice");
}

TEST_CASE("a missing file is an error naming it") {
  auto r = CsvReader::Open("/nonexistent/trace.csv");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().ToString().starts_with("/nonexistent/trace.csv: cannot open"));
}

TEST_CASE("a gzip-compressed file reads as the plain file does, line numbers included") {
  const auto dir = FreshDir("platoon-csv-gzip-test");
  // CRLF, quoted fields, a line longer than the reader's 1 MiB buffer, no newline at the end.
  const std::string text = "a,b,c\r\n1,\"x,y\",\"say \"\"hi\"\"\"\n" + std::string(3'000'000, 'w') + ",2,3\n\n,,\n4,5,6";
  std::ofstream(dir / "t.csv", std::ios::binary) << text;
  testing::WriteGzip(dir / "t.csv.gz", text);
  testing::WriteGzip(dir / "compressed-but-named.csv", text);  // the content decides, not the name
  auto plain = CsvReader::Open((dir / "t.csv").string());
  auto gz = CsvReader::Open((dir / "t.csv.gz").string());
  auto named = CsvReader::Open((dir / "compressed-but-named.csv").string());
  REQUIRE(plain.has_value());
  REQUIRE(gz.has_value());
  REQUIRE(named.has_value());
  const Rows expected = ReadAll(CsvReader::FromString("t.csv", text));
  REQUIRE(expected.rows.size() == 6);
  CHECK(expected.rows[2].second[0].size() == 3'000'000);
  CHECK(expected.rows[5] == std::pair<std::size_t, std::vector<std::string>>{6, {"4", "5", "6"}});
  const Rows from_plain = ReadAll(std::move(*plain));
  const Rows from_gz = ReadAll(std::move(*gz));
  const Rows from_named = ReadAll(std::move(*named));
  CHECK(from_plain.rows == expected.rows);
  CHECK(from_gz.rows == expected.rows);
  CHECK(from_named.rows == expected.rows);
  CHECK(from_gz.row_errors == expected.row_errors);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a truncated or corrupt gzip file is an error at the line where reading stopped") {
  const auto dir = FreshDir("platoon-csv-gzip-bad-test");
  std::string text = "name,value\n";
  for (int i = 0; i < 200'000; ++i) text += "row-" + std::to_string(i * 7919 % 1'000'003) + "," + std::to_string(i) + "\n";
  testing::WriteGzip(dir / "whole.csv.gz", text);
  const std::string bytes = ReadBytes(dir / "whole.csv.gz");
  REQUIRE(bytes.size() > 1000);

  SUBCASE("truncated") {
    std::ofstream(dir / "cut.csv.gz", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    auto r = CsvReader::Open((dir / "cut.csv.gz").string());
    REQUIRE(r.has_value());
    std::size_t rows = 0;
    while (r->Next()) {
      ++rows;
      CHECK(r->Fields().size() == 2);  // never a partial last row
    }
    REQUIRE(r->ReadError().has_value());
    CHECK(rows > 1);
    CHECK(rows < 200'001);
    CHECK(r->ReadError()->line == rows + 1);
    CHECK(r->ReadError()->ToString() ==
          (dir / "cut.csv.gz").string() + ":" + std::to_string(rows + 1) + ": gzip: unexpected end of file");
  }
  SUBCASE("corrupt") {
    std::string bad = bytes;
    for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bad[i] = static_cast<char>(~bad[i]);
    std::ofstream(dir / "bad.csv.gz", std::ios::binary) << bad;
    auto r = CsvReader::Open((dir / "bad.csv.gz").string());
    REQUIRE(r.has_value());
    while (r->Next()) {
    }
    REQUIRE(r->ReadError().has_value());
    CHECK(r->ReadError()->line > 1);
    CHECK(r->ReadError()->message.starts_with("gzip: "));
  }
  SUBCASE("whole") {
    auto r = CsvReader::Open((dir / "whole.csv.gz").string());
    REQUIRE(r.has_value());
    std::size_t rows = 0;
    while (r->Next()) ++rows;
    CHECK(rows == 200'001);
    CHECK_FALSE(r->ReadError().has_value());
  }
  SUBCASE("a directory") {
    auto r = CsvReader::Open(dir.string());
    if (r.has_value()) {
      CHECK_FALSE(r->Next());
      REQUIRE(r->ReadError().has_value());
      CHECK(r->ReadError()->ToString().starts_with(dir.string() + ":1: cannot read: "));
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a trace file's stem drops .gz and then the extension") {
  CHECK(TraceFileStem("../x/trace_6214e9.csv.gz") == "trace_6214e9");
  CHECK(TraceFileStem("../x/trace_6214e9.csv") == "trace_6214e9");
  CHECK(TraceFileStem("trace_6214e9") == "trace_6214e9");
  CHECK(TraceFileStem("/a.b/openb_pod_list_default.csv.gz") == "openb_pod_list_default");
}
