// Watch-stream decoding and the per-object version store that keeps the engine's event stream free of
// duplicates, stale events and objects that vanished while no watch was open. Pure: no I/O.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

namespace platoon::kube {

// The identity and version of one object.
struct ObjectMeta {
  std::string name;
  std::string namespace_;  // empty for cluster-scoped objects
  std::string uid;
  std::string resource_version;
  std::string Key() const { return namespace_.empty() ? name : namespace_ + "/" + name; }
  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};

// metadata.{name,namespace,uid,resourceVersion} of an object (missing fields are empty).
ObjectMeta MetaOf(simdjson::dom::element object);

enum class EventType { Added, Modified, Deleted, Bookmark, Error };

// One line of a watch stream. `object` points into the parser that decoded it (valid until its next
// parse). For Error events, `code` and `message` come from the Status object (410: relist).
struct WatchEvent {
  EventType type = EventType::Error;
  ObjectMeta meta;
  simdjson::dom::element object;
  int code = 0;
  std::string message;
};

// Decodes one newline-delimited watch event ({"type":"ADDED","object":{...}}). Error: a sentence.
std::expected<WatchEvent, std::string> DecodeWatchEvent(simdjson::dom::parser& parser, std::string_view line);

// Splits a streamed body into complete lines: feed chunks, get whole lines (without '\n').
class LineSplitter {
 public:
  template <typename F>
  void Feed(std::string_view chunk, F&& on_line) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i] != '\n') continue;
      pending_.append(chunk.substr(start, i - start));
      if (!pending_.empty()) on_line(std::string_view(pending_));
      pending_.clear();
      start = i + 1;
    }
    pending_.append(chunk.substr(start));
  }
  void Reset() { pending_.clear(); }
  std::size_t buffered() const { return pending_.size(); }

 private:
  std::string pending_;
};

// Orders two resourceVersions: both decimal (what every API server writes) compare as numbers;
// otherwise only equality is known (nullopt when different).
std::optional<int> CompareResourceVersions(std::string_view a, std::string_view b);

// What the engine must be told.
struct Change {
  enum class Kind { Upsert, Delete };
  Kind kind = Kind::Upsert;
  ObjectMeta meta;         // for Delete: the last version the engine saw (its uid is the one to remove)
  std::size_t index = 0;   // Replace: the listed object this Upsert refers to
  friend bool operator==(const Change&, const Change&) = default;
};

// The last version seen of every object of one kind, by namespace/name. Its answers turn a stream
// with duplicates, reordering, re-creations and gaps into exactly the changes to apply, in order.
class VersionStore {
 public:
  // ADDED or MODIFIED: nothing when the version is not newer than the stored one (or than the
  // object's delete, when it was deleted); a Delete of the
  // old object first when the name now belongs to a new uid; then the Upsert.
  std::vector<Change> Upsert(const ObjectMeta& meta);
  // DELETED: a Delete unless the object is unknown or the event is older than what was seen.
  std::vector<Change> Delete(const ObjectMeta& meta);
  // A full list: Deletes for objects gone (synthesised), then Upserts (index into `listed`) for new
  // or changed objects; unchanged ones produce nothing. The store then holds exactly the list.
  std::vector<Change> Replace(const std::vector<ObjectMeta>& listed);

  std::size_t size() const { return objects_.size(); }
  const ObjectMeta* Find(std::string_view key) const;

  // Deleted objects are remembered (up to this many, oldest forgotten first) so that a stale event
  // arriving after the delete cannot bring them back; a relist clears them.
  static constexpr std::size_t kMaxTombstones = 10000;

 private:
  bool Buried(const ObjectMeta& meta) const;
  void Bury(const ObjectMeta& meta);

  std::map<std::string, ObjectMeta, std::less<>> objects_;
  std::map<std::string, std::string, std::less<>> tombstones_;  // key -> resourceVersion of the delete
  std::vector<std::string> tombstone_order_;
};

}  // namespace platoon::kube
