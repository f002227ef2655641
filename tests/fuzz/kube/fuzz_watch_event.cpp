// Fuzzes watch-stream decoding: arbitrary bytes split into lines, each decoded and fed to a version store.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scheduler/kube/watch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static simdjson::dom::parser parser;
  platoon::kube::VersionStore store;
  platoon::kube::LineSplitter lines;
  std::vector<platoon::kube::ObjectMeta> seen;
  lines.Feed(std::string_view(reinterpret_cast<const char*>(data), size), [&](std::string_view line) {
    auto event = platoon::kube::DecodeWatchEvent(parser, line);
    if (!event) return;
    switch (event->type) {
      case platoon::kube::EventType::Added:
      case platoon::kube::EventType::Modified: (void)store.Upsert(event->meta); break;
      case platoon::kube::EventType::Deleted: (void)store.Delete(event->meta); break;
      default: break;
    }
    seen.push_back(event->meta);
  });
  // A relist with everything seen must leave exactly those keys.
  (void)store.Replace(seen);
  return 0;
}
