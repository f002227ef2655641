// The list-then-watch loop: paging, resuming, relisting on 410, backoff on errors.
#include "scheduler/kube/reflector.h"

#include <cctype>
#include <memory>
#include <random>
#include <vector>

#include "scheduler/extender/log.h"

namespace platoon::kube {

std::string EncodeQueryValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Reflector::Reflector(ApiClient& client, ResourceKind kind, ChangeHandler handler, ReflectorOptions options)
    : client_(client), kind_(std::move(kind)), handler_(std::move(handler)), options_(options) {}

Reflector::~Reflector() { Stop(); }

void Reflector::Start() { thread_ = std::thread([this] { Run(); }); }

void Reflector::RequestStop() {
  stop_ = true;
  cv_.notify_all();
}

void Reflector::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

bool Reflector::WaitSynced(std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!synced_ && !stop_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return synced_;
}

void Reflector::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

std::string Reflector::Query(bool watch, const std::string& continue_token) const {
  std::string q = kind_.path + "?";
  if (watch) {
    q += "watch=true&allowWatchBookmarks=true&resourceVersion=" + EncodeQueryValue(resource_version_) +
         "&timeoutSeconds=" + std::to_string(options_.watch_timeout.count());
  } else {
    q += "limit=" + std::to_string(options_.page_size);
    if (!continue_token.empty()) q += "&continue=" + EncodeQueryValue(continue_token);
  }
  if (!kind_.field_selector.empty()) q += "&fieldSelector=" + EncodeQueryValue(kind_.field_selector);
  return q;
}

bool Reflector::List() {
  // Every page stays parsed until the whole list is known: deletes need the full set first.
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers;
  std::vector<ObjectMeta> metas;
  std::vector<simdjson::dom::element> objects;
  std::string continue_token, list_version;
  do {
    Response r = client_.Get(Query(false, continue_token));
    if (!r.ok()) {
      if (stop_) return false;
      Observe("list_failed");
      log::Warn("list failed", {{"kind", kind_.name}, {"error", r.Describe()}});
      return false;
    }
    auto parser = std::make_unique<simdjson::dom::parser>();
    simdjson::dom::element root;
    if (parser->parse(r.body).get(root) != simdjson::SUCCESS || !root.is_object()) {
      log::Warn("list answer is not JSON", {{"kind", kind_.name}});
      return false;
    }
    simdjson::dom::element metadata;
    continue_token.clear();
    if (root["metadata"].get(metadata) == simdjson::SUCCESS && metadata.is_object()) {
      std::string_view v;
      if (metadata["resourceVersion"].get(v) == simdjson::SUCCESS) list_version = std::string(v);
      if (metadata["continue"].get(v) == simdjson::SUCCESS) continue_token = std::string(v);
    }
    simdjson::dom::array items;
    if (root["items"].get(items) == simdjson::SUCCESS) {
      for (simdjson::dom::element item : items) {
        metas.push_back(MetaOf(item));
        objects.push_back(item);
      }
    }
    parsers.push_back(std::move(parser));
  } while (!continue_token.empty() && !stop_);
  if (stop_) return false;
  auto changes = store_.Replace(metas);
  for (const auto& change : changes) handler_(change, change.kind == Change::Kind::Upsert ? &objects[change.index] : nullptr);
  resource_version_ = list_version;
  ++lists_;
  Observe("listed");
  log::Info("listed", {{"kind", kind_.name}, {"objects", std::to_string(metas.size())}, {"changes", std::to_string(changes.size())},
                        {"resourceVersion", list_version}});
  synced_ = true;
  return true;
}

Reflector::WatchEnd Reflector::Watch() {
  simdjson::dom::parser parser;
  LineSplitter lines;
  WatchEnd end = WatchEnd::Closed;
  std::string failure;
  auto on_line = [&](std::string_view line) {
    auto event = DecodeWatchEvent(parser, line);
    if (!event) {
      failure = event.error();
      end = WatchEnd::Failed;
      return;
    }
    std::vector<Change> changes;
    switch (event->type) {
      case EventType::Added:
      case EventType::Modified: changes = store_.Upsert(event->meta); break;
      case EventType::Deleted: changes = store_.Delete(event->meta); break;
      case EventType::Bookmark: break;
      case EventType::Error:
        failure = "watch ERROR " + std::to_string(event->code) + ": " + event->message;
        end = event->code == 410 ? WatchEnd::Gone : WatchEnd::Failed;
        return;
    }
    for (const auto& change : changes) handler_(change, change.kind == Change::Kind::Upsert ? &event->object : nullptr);
    resource_version_ = event->meta.resource_version;
  };
  Response r = client_.Stream(Query(true, ""), options_.watch_timeout + std::chrono::seconds(30), [&](std::string_view chunk) {
    lines.Feed(chunk, [&](std::string_view line) {
      if (end == WatchEnd::Closed) on_line(line);
    });
    return end == WatchEnd::Closed && !stop_;
  });
  if (end != WatchEnd::Closed) {
    if (!stop_) log::Info("watch ended", {{"kind", kind_.name}, {"reason", failure}});
    return end;
  }
  if (r.status == 410) return WatchEnd::Gone;
  if (!r.error.empty() || r.status < 200 || r.status >= 300) {
    if (!stop_) log::Warn("watch failed", {{"kind", kind_.name}, {"error", r.Describe()}});
    return WatchEnd::Failed;
  }
  return WatchEnd::Closed;
}

void Reflector::Run() {
  std::mt19937 jitter(std::random_device{}());
  auto backoff = options_.backoff_initial;
  bool need_list = true;
  while (!stop_) {
    if (need_list) {
      if (!List()) {
        if (stop_) break;
        std::uniform_int_distribution<long> extra(0, backoff.count() / 2);
        Sleep(backoff + std::chrono::milliseconds(extra(jitter)));
        backoff = std::min(backoff * 2, options_.backoff_max);
        continue;
      }
      need_list = false;
      backoff = options_.backoff_initial;
    }
    const auto started = std::chrono::steady_clock::now();
    const WatchEnd end = Watch();
    if (stop_) break;
    Observe(end == WatchEnd::Closed ? "watch_closed" : end == WatchEnd::Gone ? "watch_gone" : "watch_failed");
    switch (end) {
      case WatchEnd::Closed:
        // A watch the server ends at once (a proxy, a restarting server) must not spin.
        if (std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) Sleep(options_.backoff_initial);
        backoff = options_.backoff_initial;
        break;
      case WatchEnd::Gone:
        log::Info("resourceVersion expired (410 Gone): relisting", {{"kind", kind_.name}, {"resourceVersion", resource_version_}});
        need_list = true;
        break;
      case WatchEnd::Failed: {
        if (stop_) break;
        if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) backoff = options_.backoff_initial;
        std::uniform_int_distribution<long> extra(0, backoff.count() / 2);
        Sleep(backoff + std::chrono::milliseconds(extra(jitter)));
        backoff = std::min(backoff * 2, options_.backoff_max);
        break;
      }
    }
  }
}

}  // namespace platoon::kube
