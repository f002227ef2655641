// Tests for the streaming CSV reader and field parsers.
#include <doctest/doctest.h>

#include "simulations/csv.h"

using namespace platoon::sim;

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
