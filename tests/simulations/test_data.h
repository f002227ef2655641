// Paths to the trace data used by the simulations tests: the repository's copy in simulations/data/
// (every CSV gzip-compressed, read as it is by the loaders).
#pragma once

#include <string>

namespace platoon::sim::testing {

inline std::string TracesDir() { return std::string(PLATOON_SOURCE_DIR) + "/simulations/data/traces"; }
inline std::string OpenbDir() { return TracesDir() + "/alibaba-gpu-v2023/csv"; }
inline std::string FgdResultsDir() { return TracesDir() + "/alibaba-gpu-v2023/fgd_expected_results"; }
inline std::string PhillyPerVcDir() { return TracesDir() + "/philly-per-vc"; }
inline std::string PhillyDir() { return TracesDir() + "/philly"; }

}  // namespace platoon::sim::testing
