// Request bodies and calls for the engine's actions.
#include "scheduler/kube/actions.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <ctime>

#include <nlohmann/json.hpp>

namespace platoon::kube {

std::string BindingJson(const engine::Binding& binding) {
  nlohmann::json j = {{"apiVersion", "v1"},
                      {"kind", "Binding"},
                      {"metadata", {{"name", binding.pod_name}, {"namespace", binding.pod_namespace}, {"uid", binding.pod_uid}}},
                      {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", binding.node}}}};
  if (!binding.annotations.empty()) j["metadata"]["annotations"] = binding.annotations;
  return j.dump();
}

std::string EvictionJson(std::string_view namespace_, std::string_view name, std::string_view uid) {
  nlohmann::json j = {{"apiVersion", "policy/v1"},
                      {"kind", "Eviction"},
                      {"metadata", {{"name", name}, {"namespace", namespace_}}}};
  if (!uid.empty()) j["deleteOptions"] = {{"preconditions", {{"uid", uid}}}};
  return j.dump();
}

std::string EventJson(const ObjectReference& object, std::string_view type, std::string_view reason,
                      std::string_view message, std::string_view time) {
  nlohmann::json involved = {{"apiVersion", object.api_version}, {"kind", object.kind}, {"name", object.name}};
  if (!object.namespace_.empty()) involved["namespace"] = object.namespace_;
  if (!object.uid.empty()) involved["uid"] = object.uid;
  std::string note(message.substr(0, 1024));  // the API server refuses messages over 1 KiB
  nlohmann::json j = {{"apiVersion", "v1"},
                      {"kind", "Event"},
                      {"metadata", {{"generateName", object.name + "."}, {"namespace", object.namespace_.empty() ? "default" : object.namespace_}}},
                      {"involvedObject", involved},
                      {"reason", reason},
                      {"message", note},
                      {"type", type},
                      {"source", {{"component", "platoon"}}},
                      {"firstTimestamp", time},
                      {"lastTimestamp", time},
                      {"count", 1}};
  return j.dump();
}

std::string_view PodGroupPhaseFor(std::string_view condition) {
  if (condition == "Admitted") return "Scheduling";
  if (condition == "Scheduled") return "Scheduled";
  return "Pending";  // Pending, Preempting, BarrierTimeout, Preempted, Evicted: waiting to be placed (again)
}

std::string PodGroupStatusPatch(std::string_view phase, std::string_view condition, std::string_view message,
                                std::string_view time) {
  nlohmann::json cond = {{"type", condition}, {"status", "True"}, {"reason", condition},
                         {"message", std::string(message.substr(0, 1024))}, {"lastTransitionTime", time}};
  nlohmann::json j = {{"status", {{"phase", phase}, {"conditions", nlohmann::json::array({cond})}}}};
  return j.dump();
}

std::string NowRfc3339() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {
std::string PodPath(std::string_view ns, std::string_view name) {
  return "/api/v1/namespaces/" + std::string(ns) + "/pods/" + std::string(name);
}
}  // namespace

namespace {
bool Retryable(const Response& r) { return !r.error.empty() || r.status == 429 || (r.status >= 500 && r.status <= 504); }
}  // namespace

std::expected<void, std::string> PostBinding(ApiClient& client, const engine::Binding& binding, int* status, BindRetry retry,
                                             int* attempts) {
  const std::string path = PodPath(binding.pod_namespace, binding.pod_name);
  const std::string body = BindingJson(binding);
  Response r;
  auto wait = retry.first_wait;
  for (int attempt = 1;; ++attempt) {
    r = client.Post(path + "/binding", body);
    if (attempts) *attempts = attempt;
    if (!Retryable(r) || attempt >= retry.attempts) break;
    auto pause = std::min(wait, retry.max_wait);
    if (r.status == 429 && r.retry_after_seconds > 0)
      pause = std::min<std::chrono::milliseconds>(std::chrono::seconds(r.retry_after_seconds), retry.max_wait);
    std::this_thread::sleep_for(pause);
    wait *= 2;
  }
  if (status) *status = r.status;
  if (r.status == 201 || r.status == 200) return {};
  if (r.status == 409) {
    // Already bound (a bind repeated after a restart, or by another binder): fine if to the same node.
    Response got = client.Get(path);
    if (got.ok()) {
      auto j = nlohmann::json::parse(got.body, nullptr, false);
      if (j.is_object() && j.contains("metadata") && j["metadata"].is_object() && j.contains("spec") && j["spec"].is_object()) {
        const auto text = [](const nlohmann::json& o, const char* key) {
          auto it = o.find(key);
          return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        const std::string uid = text(j["metadata"], "uid");
        const std::string node = text(j["spec"], "nodeName");
        if (uid == binding.pod_uid && node == binding.node) return {};
        if (uid != binding.pod_uid) return std::unexpected("pod was re-created (uid " + uid + ", expected " + binding.pod_uid + ")");
        if (!node.empty()) return std::unexpected("pod is already bound to " + node);
      }
    }
  }
  return std::unexpected("binding " + binding.pod_namespace + "/" + binding.pod_name + " to " + binding.node +
                         " failed: " + r.Describe());
}

EvictOutcome EvictPod(ApiClient& client, std::string_view namespace_, std::string_view name, std::string_view uid) {
  Response r = client.Post(PodPath(namespace_, name) + "/eviction", EvictionJson(namespace_, name, uid));
  if (r.status == 201 || r.status == 200) return {EvictOutcome::Kind::Evicted, "evicted", r.status};
  if (r.status == 404) return {EvictOutcome::Kind::Gone, "pod is already gone", r.status};
  if (r.status == 409 && r.body.find("Precondition failed") != std::string::npos)
    return {EvictOutcome::Kind::Gone, "pod was re-created: " + r.Describe(), r.status};
  if (r.status == 429) return {EvictOutcome::Kind::Blocked, r.Describe(), r.status};
  return {EvictOutcome::Kind::Failed, r.Describe(), r.status};
}

Response AnnotatePod(ApiClient& client, std::string_view namespace_, std::string_view name, std::string_view key,
                     std::string_view value) {
  nlohmann::json patch = {{"metadata", {{"annotations", {{key, value}}}}}};
  return client.Patch(PodPath(namespace_, name), patch.dump(), "application/merge-patch+json");
}

Response PatchPodGroupStatus(ApiClient& client, std::string_view namespace_, std::string_view name, std::string_view body) {
  return client.Patch("/apis/scheduling.x-k8s.io/v1alpha1/namespaces/" + std::string(namespace_) + "/podgroups/" +
                          std::string(name) + "/status",
                      std::string(body), "application/merge-patch+json");
}

Response PostEvent(ApiClient& client, const ObjectReference& object, std::string_view body) {
  const std::string ns = object.namespace_.empty() ? "default" : object.namespace_;
  return client.Post("/api/v1/namespaces/" + ns + "/events", std::string(body));
}

}  // namespace platoon::kube
