// Watch lines decode into events; the version store turns duplicates, reordering, re-creation and
// relists into exactly the changes the engine must see.
#include <doctest/doctest.h>

#include <random>

#include "scheduler/kube/watch.h"

using namespace platoon::kube;

namespace {
ObjectMeta Pod(std::string name, std::string rv, std::string uid) { return ObjectMeta{std::move(name), "ns", std::move(uid), std::move(rv)}; }
}  // namespace

TEST_CASE("watch lines decode into typed events with the object's identity") {
  simdjson::dom::parser parser;
  SUBCASE("ADDED / MODIFIED / DELETED carry the object") {
    auto e = DecodeWatchEvent(parser, R"({"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"a","namespace":"ns","uid":"u1","resourceVersion":"42"},"spec":{}}})");
    REQUIRE_MESSAGE(e, e.error());
    CHECK(e->type == EventType::Modified);
    CHECK(e->meta == ObjectMeta{"a", "ns", "u1", "42"});
    CHECK(e->object["spec"].is_object());
  }
  SUBCASE("a bookmark carries only a resourceVersion") {
    auto e = DecodeWatchEvent(parser, R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"99","annotations":{"k8s.io/initial-events-end":"true"}}}})");
    REQUIRE(e);
    CHECK(e->type == EventType::Bookmark);
    CHECK(e->meta.resource_version == "99");
  }
  SUBCASE("an ERROR event carries the Status code (410: relist)") {
    auto e = DecodeWatchEvent(parser, R"J({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (80)","reason":"Expired","code":410}})J");
    REQUIRE(e);
    CHECK(e->type == EventType::Error);
    CHECK(e->code == 410);
    CHECK(e->message == "too old resource version: 5 (80)");
  }
  SUBCASE("malformed lines are errors, not events") {
    CHECK_FALSE(DecodeWatchEvent(parser, "{\"type\":\"ADDED\""));
    CHECK_FALSE(DecodeWatchEvent(parser, R"({"object":{}})"));
    CHECK_FALSE(DecodeWatchEvent(parser, R"({"type":"SYNC","object":{}})"));
    CHECK_FALSE(DecodeWatchEvent(parser, R"({"type":"ADDED","object":{"metadata":{"name":"x"}}})"));
    CHECK_FALSE(DecodeWatchEvent(parser, R"({"type":"ADDED"})"));
  }
}

TEST_CASE("a streamed body is split into whole lines whatever the chunking") {
  const std::string body = "{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}\n";
  for (std::size_t step : {1u, 2u, 5u, 100u}) {
    LineSplitter splitter;
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < body.size(); i += step)
      splitter.Feed(std::string_view(body).substr(i, step), [&](std::string_view l) { lines.emplace_back(l); });
    CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"});
    CHECK(splitter.buffered() == 0);
  }
}

TEST_CASE("resourceVersions compare as numbers when both are numbers") {
  CHECK(CompareResourceVersions("9", "10") == -1);
  CHECK(CompareResourceVersions("10", "9") == 1);
  CHECK(CompareResourceVersions("10", "10") == 0);
  CHECK(CompareResourceVersions("abc", "abc") == 0);
  CHECK_FALSE(CompareResourceVersions("abc", "10").has_value());
}

TEST_CASE("the version store drops duplicates and stale events") {
  VersionStore store;
  using K = Change::Kind;
  auto first = store.Upsert(Pod("a", "10", "u1"));
  REQUIRE(first.size() == 1);
  CHECK(first[0].kind == K::Upsert);
  CHECK(store.Upsert(Pod("a", "10", "u1")).empty());  // duplicate
  CHECK(store.Upsert(Pod("a", "9", "u1")).empty());   // older
  CHECK(store.Upsert(Pod("a", "11", "u1")).size() == 1);
  CHECK(store.Delete(Pod("a", "10", "u1")).empty());  // a delete older than what was applied
  auto del = store.Delete(Pod("a", "12", "u1"));
  REQUIRE(del.size() == 1);
  CHECK(del[0].kind == K::Delete);
  CHECK(del[0].meta.uid == "u1");
  CHECK(store.Delete(Pod("a", "12", "u1")).empty());  // unknown now
  CHECK(store.size() == 0);
}

TEST_CASE("an object re-created under the same name is a delete of the old uid, then an upsert") {
  VersionStore store;
  (void)store.Upsert(Pod("a", "10", "u1"));
  auto changes = store.Upsert(Pod("a", "20", "u2"));
  REQUIRE(changes.size() == 2);
  CHECK(changes[0] == Change{Change::Kind::Delete, Pod("a", "10", "u1"), 0});
  CHECK(changes[1] == Change{Change::Kind::Upsert, Pod("a", "20", "u2"), 0});
  // The old incarnation's late DELETED event (older than u2's version) removes nothing.
  CHECK(store.Delete(Pod("a", "15", "u1")).empty());
  CHECK(store.Find("ns/a")->uid == "u2");
}

TEST_CASE("a relist synthesises deletes for objects gone and upserts only what changed") {
  VersionStore store;
  (void)store.Upsert(Pod("keep", "1", "k"));
  (void)store.Upsert(Pod("change", "2", "c"));
  (void)store.Upsert(Pod("gone", "3", "g"));
  (void)store.Upsert(Pod("recreated", "4", "r1"));
  std::vector<ObjectMeta> listed{Pod("keep", "1", "k"), Pod("change", "7", "c"), Pod("recreated", "8", "r2"),
                                 Pod("new", "9", "n")};
  auto changes = store.Replace(listed);
  std::vector<Change> want{
      {Change::Kind::Delete, Pod("gone", "3", "g"), 0},
      {Change::Kind::Upsert, Pod("change", "7", "c"), 1},
      {Change::Kind::Upsert, Pod("new", "9", "n"), 3},
      {Change::Kind::Delete, Pod("recreated", "4", "r1"), 0},
      {Change::Kind::Upsert, Pod("recreated", "8", "r2"), 2},
  };
  CHECK(changes == want);
  CHECK(store.size() == 4);
  CHECK(store.Replace(listed).empty());  // the same list again changes nothing
}

TEST_CASE("any interleaving of duplicated, delayed events yields the final state exactly once per version") {
  // Property: feed a random mix of an object's history (upserts and one final delete, with
  // duplicates and reordering) and check that the applied versions rise strictly and that the
  // final applied state matches the newest event.
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::pair<bool, int>> history;  // (is_delete, rv)
    const int versions = 2 + static_cast<int>(rng() % 6);
    for (int v = 1; v <= versions; ++v) history.push_back({false, v * 10});
    const bool deleted = rng() % 2 == 0;
    if (deleted) history.push_back({true, (versions + 1) * 10});
    std::vector<std::pair<bool, int>> stream = history;
    for (int d = 0; d < 4; ++d) stream.push_back(history[rng() % history.size()]);
    // Delay some events: swap a few neighbours.
    for (int s = 0; s < 3; ++s) {
      std::size_t i = rng() % (stream.size() - 1);
      std::swap(stream[i], stream[i + 1]);
    }
    VersionStore store;
    int applied = 0;
    bool present = false;
    for (auto [is_delete, rv] : stream) {
      auto meta = Pod("x", std::to_string(rv), "u");
      auto changes = is_delete ? store.Delete(meta) : store.Upsert(meta);
      for (const auto& c : changes) {
        const int got = std::stoi(c.meta.resource_version);
        if (c.kind == Change::Kind::Upsert) {
          CHECK(got > applied);
          applied = got;
          present = true;
        } else {
          present = false;
        }
      }
    }
    // A stale upsert arriving after the delete does not resurrect the object (tombstones).
    CHECK(present == !deleted);
    if (!deleted) CHECK(applied == versions * 10);  // the newest version is the one applied last
  }
}
