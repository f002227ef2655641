// The engine's actions carried out against the API server: Bindings, Evictions, PodGroup status, Events.
#pragma once

#include <chrono>
#include <expected>
#include <string>
#include <string_view>

#include "scheduler/engine.h"
#include "scheduler/kube/client.h"

namespace platoon::kube {

// The object an Event is about.
struct ObjectReference {
  std::string api_version;  // "v1", "scheduling.x-k8s.io/v1alpha1"
  std::string kind;         // "Pod", "PodGroup"
  std::string namespace_;
  std::string name;
  std::string uid;
};

// --- request bodies (pure) ---
// core/v1 Binding: metadata.uid is the pod UID precondition, annotations travel onto the pod.
std::string BindingJson(const engine::Binding& binding);
// policy/v1 Eviction with a UID precondition (the pod evicted is the one the engine chose).
std::string EvictionJson(std::string_view namespace_, std::string_view name, std::string_view uid);
// core/v1 Event (type Normal or Warning), first/last timestamp `time` (RFC 3339).
std::string EventJson(const ObjectReference& object, std::string_view type, std::string_view reason,
                      std::string_view message, std::string_view time);
// Merge patch for a PodGroup's status: phase plus one condition (type, status True, reason, message).
std::string PodGroupStatusPatch(std::string_view phase, std::string_view condition, std::string_view message,
                                std::string_view time);
// The scheduler-plugins PodGroup phase for an engine status condition.
std::string_view PodGroupPhaseFor(std::string_view condition);
// "2026-11-22T07:00:00Z" for now.
std::string NowRfc3339();

// --- calls ---
// POSTs the Binding. 201: done. 409: done when the pod is already bound to the same node (a repeated
// bind after a restart), else an error saying where it is bound. Error: a sentence.
// `status`, when given, receives the HTTP status of the POST (0: no answer).
// How a Binding is retried when the API server cannot take it now: HTTP 429 (its overload
// protection; Retry-After honoured up to max_wait), 5xx and no answer. Retrying is idempotent: the
// Binding carries the pod's uid as precondition, and a 409 for a pod already on the same node
// counts as done. The whole budget stays well below kube-scheduler's extender httpTimeout, since
// the bind call waits for it.
struct BindRetry {
  int attempts = 5;
  std::chrono::milliseconds first_wait{100};  // doubled after each failed attempt
  std::chrono::milliseconds max_wait{1000};
};
// Posts the Binding, retrying as `retry` says. `status` gets the last HTTP status (0: no answer)
// and `attempts` how many posts were made.
std::expected<void, std::string> PostBinding(ApiClient& client, const engine::Binding& binding, int* status = nullptr,
                                             BindRetry retry = {}, int* attempts = nullptr);

struct EvictOutcome {
  enum class Kind { Evicted, Gone, Blocked, Failed };  // Blocked: 429, a PodDisruptionBudget (retry later)
  Kind kind = Kind::Failed;
  std::string message;
  int status = 0;  // the HTTP status (0: no answer)
};
EvictOutcome EvictPod(ApiClient& client, std::string_view namespace_, std::string_view name, std::string_view uid);

// Sets one annotation on a pod (merge patch). platoon uses it to requeue a gang's pending members in
// kube-scheduler once the gang is admitted (an update of an unschedulable pod moves it to the queue).
Response AnnotatePod(ApiClient& client, std::string_view namespace_, std::string_view name, std::string_view key,
                     std::string_view value);
inline constexpr std::string_view kAdmittedAnnotation = "platoon.dev/admitted";

Response PatchPodGroupStatus(ApiClient& client, std::string_view namespace_, std::string_view name, std::string_view body);
Response PostEvent(ApiClient& client, const ObjectReference& object, std::string_view body);

}  // namespace platoon::kube
