// Watch-event decoding and the version store.
#include "scheduler/kube/watch.h"

#include <charconv>

namespace platoon::kube {
namespace {

std::string StringField(simdjson::dom::element object, std::string_view key) {
  std::string_view value;
  if (object[key].get(value) == simdjson::SUCCESS) return std::string(value);
  return {};
}

std::optional<std::uint64_t> AsNumber(std::string_view rv) {
  std::uint64_t n = 0;
  if (rv.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), n);
  if (ec != std::errc() || ptr != rv.data() + rv.size()) return std::nullopt;
  return n;
}

}  // namespace

ObjectMeta MetaOf(simdjson::dom::element object) {
  ObjectMeta meta;
  simdjson::dom::element metadata;
  if (object["metadata"].get(metadata) != simdjson::SUCCESS || !metadata.is_object()) return meta;
  meta.name = StringField(metadata, "name");
  meta.namespace_ = StringField(metadata, "namespace");
  meta.uid = StringField(metadata, "uid");
  meta.resource_version = StringField(metadata, "resourceVersion");
  return meta;
}

std::expected<WatchEvent, std::string> DecodeWatchEvent(simdjson::dom::parser& parser, std::string_view line) {
  simdjson::dom::element root;
  if (auto error = parser.parse(line.data(), line.size()).get(root); error != simdjson::SUCCESS)
    return std::unexpected(std::string("watch event is not JSON: ") + simdjson::error_message(error));
  if (!root.is_object()) return std::unexpected("watch event is not a JSON object");
  std::string_view type;
  if (root["type"].get(type) != simdjson::SUCCESS) return std::unexpected("watch event has no \"type\"");
  WatchEvent event;
  if (type == "ADDED") event.type = EventType::Added;
  else if (type == "MODIFIED") event.type = EventType::Modified;
  else if (type == "DELETED") event.type = EventType::Deleted;
  else if (type == "BOOKMARK") event.type = EventType::Bookmark;
  else if (type == "ERROR") event.type = EventType::Error;
  else return std::unexpected("watch event of unknown type \"" + std::string(type) + "\"");
  if (root["object"].get(event.object) != simdjson::SUCCESS || !event.object.is_object())
    return std::unexpected("watch event " + std::string(type) + " has no object");
  event.meta = MetaOf(event.object);
  if (event.type == EventType::Error) {
    std::int64_t code = 0;
    if (event.object["code"].get(code) == simdjson::SUCCESS) event.code = static_cast<int>(code);
    event.message = StringField(event.object, "message");
    if (event.message.empty()) event.message = StringField(event.object, "reason");
  } else if (event.meta.resource_version.empty()) {
    return std::unexpected("watch event " + std::string(type) + " has no metadata.resourceVersion");
  }
  return event;
}

std::optional<int> CompareResourceVersions(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  auto na = AsNumber(a), nb = AsNumber(b);
  if (!na || !nb) return std::nullopt;
  return *na < *nb ? -1 : 1;
}

const ObjectMeta* VersionStore::Find(std::string_view key) const {
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : &it->second;
}

bool VersionStore::Buried(const ObjectMeta& meta) const {
  auto t = tombstones_.find(meta.Key());
  if (t == tombstones_.end()) return false;
  auto order = CompareResourceVersions(meta.resource_version, t->second);
  return order && *order <= 0;
}

void VersionStore::Bury(const ObjectMeta& meta) {
  const std::string key = meta.Key();
  if (!tombstones_.contains(key)) tombstone_order_.push_back(key);
  tombstones_[key] = meta.resource_version;
  if (tombstone_order_.size() > kMaxTombstones) {
    tombstones_.erase(tombstone_order_.front());
    tombstone_order_.erase(tombstone_order_.begin());
  }
}

std::vector<Change> VersionStore::Upsert(const ObjectMeta& meta) {
  std::vector<Change> out;
  const std::string key = meta.Key();
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    if (Buried(meta)) return out;  // a stale event of an object already deleted
    objects_.emplace(key, meta);
    out.push_back({Change::Kind::Upsert, meta, 0});
    return out;
  }
  auto order = CompareResourceVersions(meta.resource_version, it->second.resource_version);
  if (order && *order <= 0) return out;  // duplicate or older than what was applied
  if (!meta.uid.empty() && !it->second.uid.empty() && meta.uid != it->second.uid)
    out.push_back({Change::Kind::Delete, it->second, 0});  // deleted and re-created under the same name
  it->second = meta;
  out.push_back({Change::Kind::Upsert, meta, 0});
  return out;
}

std::vector<Change> VersionStore::Delete(const ObjectMeta& meta) {
  std::vector<Change> out;
  auto it = objects_.find(meta.Key());
  if (it == objects_.end()) {
    if (!Buried(meta)) Bury(meta);  // a delete seen before its object: stale upserts must not follow
    return out;
  }
  if (!meta.uid.empty() && !it->second.uid.empty() && meta.uid != it->second.uid) {
    // The delete of an older incarnation: only when it is newer than what is stored.
    auto order = CompareResourceVersions(meta.resource_version, it->second.resource_version);
    if (!order || *order <= 0) return out;
  } else {
    auto order = CompareResourceVersions(meta.resource_version, it->second.resource_version);
    if (order && *order < 0) return out;
  }
  out.push_back({Change::Kind::Delete, it->second, 0});
  objects_.erase(it);
  Bury(meta);
  return out;
}

std::vector<Change> VersionStore::Replace(const std::vector<ObjectMeta>& listed) {
  std::vector<Change> out;
  tombstones_.clear();
  tombstone_order_.clear();
  std::map<std::string, std::size_t, std::less<>> by_key;
  for (std::size_t i = 0; i < listed.size(); ++i) by_key.insert_or_assign(listed[i].Key(), i);
  for (auto it = objects_.begin(); it != objects_.end();) {
    if (by_key.contains(it->first)) {
      ++it;
      continue;
    }
    out.push_back({Change::Kind::Delete, it->second, 0});
    it = objects_.erase(it);
  }
  for (const auto& [key, i] : by_key) {
    const ObjectMeta& meta = listed[i];
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      objects_.emplace(key, meta);
      out.push_back({Change::Kind::Upsert, meta, i});
      continue;
    }
    if (!meta.uid.empty() && !it->second.uid.empty() && meta.uid != it->second.uid) {
      out.push_back({Change::Kind::Delete, it->second, 0});
    } else {
      auto order = CompareResourceVersions(meta.resource_version, it->second.resource_version);
      if (order && *order <= 0) continue;  // unchanged (or a stale list: keep the newer version)
    }
    it->second = meta;
    out.push_back({Change::Kind::Upsert, meta, i});
  }
  return out;
}

}  // namespace platoon::kube
