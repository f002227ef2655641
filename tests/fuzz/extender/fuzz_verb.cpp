// Fuzzes one extender verb end to end in process: decode, decide on a small cluster, encode.
// Whatever the bytes, the service must answer 200 or 4xx with a JSON body and never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "scheduler/extender/log.h"
#include "scheduler/extender/server.h"

namespace {
platoon::extender::ExtenderService* g_service = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  platoon::log::SetMinLevel(platoon::log::Level::Error);
  auto state = std::make_unique<platoon::ClusterState>(std::move(*platoon::policies::MakeScorePolicy("LeastAllocated")));
  for (const char* name : {"node1", "nodename", "foo", "n1"}) {
    platoon::Node n;
    n.name = name;
    n.allocatable = {{"cpu", 8000}, {"nvidia.com/gpu", 8}, {"pods", 110}};
    state->UpsertNode(n);
  }
  g_service = new platoon::extender::ExtenderService({}, std::move(state));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
#if defined(PLATOON_FUZZ_VERB_filter)
  auto reply = g_service->Filter(body);
  if (reply.status == 200) (void)g_service->Prioritize(body);
#elif defined(PLATOON_FUZZ_VERB_bind)
  platoon::extender::Reply reply;
  g_service->Bind(body, [&](platoon::extender::Reply r) { reply = std::move(r); });  // no engine: answered at once
#else
  auto reply = g_service->Preempt(body);
#endif
  if ((reply.status != 200 && reply.status != 400) || reply.body.empty() || (reply.body[0] != '{' && reply.body[0] != '['))
    std::abort();
  return 0;
}
