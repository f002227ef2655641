// Published results to put beside platoon's: the FGD paper's SUMMARY tables and Helios' Philly tables.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "simulations/csv.h"

namespace platoon::sim {

// A table keyed by its first `key_columns` text columns, every other column a number. Covers
// fgd_expected_results/SUMMARY_*.csv (keys workload, sc_policy) and
// helios_artifact_qssf_philly_results_*.csv (key vc).
struct ReferenceTable {
  struct Row {
    std::vector<std::string> keys;
    std::vector<double> values;  // one per value_columns entry
    friend bool operator==(const Row&, const Row&) = default;
  };
  std::string source;  // the file it came from
  std::vector<std::string> key_columns;
  std::vector<std::string> value_columns;
  std::vector<Row> rows;

  // The value at the row whose keys equal `keys` and the column named `column`.
  std::optional<double> Find(const std::vector<std::string>& keys, std::string_view column) const;
};

std::expected<ReferenceTable, LoadError> LoadReferenceTable(const std::string& path, int key_columns);
std::expected<ReferenceTable, LoadError> ParseReferenceTable(CsvReader reader, int key_columns);

// "06-FGD" -> "FGD", "01-Random" -> "Random": the FGD artifact's policy ids without the order prefix.
std::string FgdPolicyName(std::string_view sc_policy);
// "openb_pod_list_default" (FGD tables) for a pod list file path ".../openb_pod_list_default.csv" or
// ".../openb_pod_list_default.csv.gz".
std::string FgdWorkloadName(std::string_view pod_list_path);

}  // namespace platoon::sim
