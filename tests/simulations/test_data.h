// Paths to the shared trace data used by the simulations tests.
#pragma once

#include <string>

namespace platoon::sim::testing {

inline std::string OpenbDir() { return std::string(PLATOON_SHARED_DATA_DIR) + "/traces/alibaba-gpu-v2023/csv"; }
inline std::string FgdResultsDir() {
  return std::string(PLATOON_SHARED_DATA_DIR) + "/traces/alibaba-gpu-v2023/fgd_expected_results";
}
inline std::string PhillyPerVcDir() { return std::string(PLATOON_SHARED_DATA_DIR) + "/traces/philly-per-vc"; }
inline std::string PhillyDir() { return std::string(PLATOON_SHARED_DATA_DIR) + "/traces/philly"; }

}  // namespace platoon::sim::testing
