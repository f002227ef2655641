// Published results to put beside platoon's: the FGD paper's SUMMARY tables and Helios' Philly tables.
#include "simulations/reference_results.h"

#include "simulations/text_format.h"

namespace platoon::sim {

std::optional<double> ReferenceTable::Find(const std::vector<std::string>& keys,
                                           std::string_view column) const {
  int col = -1;
  for (std::size_t i = 0; i < value_columns.size(); ++i) {
    if (value_columns[i] == column) col = static_cast<int>(i);
  }
  if (col < 0) return std::nullopt;
  for (const auto& row : rows) {
    if (row.keys == keys) return row.values[col];
  }
  return std::nullopt;
}

std::expected<ReferenceTable, LoadError> ParseReferenceTable(CsvReader reader, int key_columns) {
  if (!reader.Next()) {
    return std::unexpected(reader.ReadError().value_or(reader.ErrorAt("empty file: expected a header row")));
  }
  if (!reader.RowError().empty()) return std::unexpected(reader.ErrorAt("header: " + reader.RowError()));
  ReferenceTable table;
  table.source = reader.Name();
  const std::vector<std::string_view>& header = reader.Fields();  // valid until the next row
  if (header.size() <= static_cast<std::size_t>(key_columns)) {
    return std::unexpected(reader.ErrorAt(Format(
        "header: {} columns, expected {} key columns and at least one value column", header.size(), key_columns)));
  }
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string name(header[i]);
    if (name.empty()) return std::unexpected(reader.ErrorAt(Format("header: column {} has no name", i + 1)));
    (i < static_cast<std::size_t>(key_columns) ? table.key_columns : table.value_columns).push_back(std::move(name));
  }
  const std::size_t width = table.key_columns.size() + table.value_columns.size();
  while (reader.Next()) {
    const auto& f = reader.Fields();
    if (!reader.RowError().empty()) return std::unexpected(reader.ErrorAt(reader.RowError()));
    if (f.size() != width) {
      return std::unexpected(reader.ErrorAt(Format("{} fields, the header has {}", f.size(), width)));
    }
    ReferenceTable::Row row;
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (i < static_cast<std::size_t>(key_columns)) {
        if (f[i].empty()) return std::unexpected(reader.ErrorAt(Format("column {}: empty key", table.key_columns[i])));
        row.keys.emplace_back(f[i]);
      } else {
        auto v = ParseDouble(table.value_columns[i - key_columns], f[i]);
        if (!v) return std::unexpected(reader.ErrorAt(v.error()));
        row.values.push_back(*v);
      }
    }
    for (const auto& other : table.rows) {
      if (other.keys == row.keys) return std::unexpected(reader.ErrorAt("a row with the same keys appears earlier"));
    }
    table.rows.push_back(std::move(row));
  }
  if (reader.ReadError()) return std::unexpected(*reader.ReadError());
  return table;
}

std::expected<ReferenceTable, LoadError> LoadReferenceTable(const std::string& path, int key_columns) {
  auto reader = CsvReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  return ParseReferenceTable(std::move(*reader), key_columns);
}

std::string FgdPolicyName(std::string_view sc_policy) {
  const auto dash = sc_policy.find('-');
  if (dash != std::string_view::npos && dash > 0) {
    bool digits = true;
    for (std::size_t i = 0; i < dash; ++i) digits = digits && sc_policy[i] >= '0' && sc_policy[i] <= '9';
    if (digits) return std::string(sc_policy.substr(dash + 1));
  }
  return std::string(sc_policy);
}

std::string FgdWorkloadName(std::string_view pod_list_path) {
  auto slash = pod_list_path.find_last_of('/');
  std::string_view base = slash == std::string_view::npos ? pod_list_path : pod_list_path.substr(slash + 1);
  if (base.ends_with(".gz")) base.remove_suffix(3);
  if (base.ends_with(".csv")) base.remove_suffix(4);
  return std::string(base);
}

}  // namespace platoon::sim
