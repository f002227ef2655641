// Fuzzes kubeconfig parsing (YAML, base64 data fields); referenced files always fail to read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "scheduler/kube/kubeconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto no_files = [](const std::string& path) -> std::expected<std::string, std::string> {
    return std::unexpected("cannot read " + path);
  };
  (void)platoon::kube::ParseKubeconfig(text, "/fuzz/kubeconfig", no_files);
  (void)platoon::kube::ParseKubeconfig(text, "/fuzz/kubeconfig", no_files, "other");
  (void)platoon::kube::ParseServerUrl(text);
  (void)platoon::kube::DecodeBase64(text);
  return 0;
}
