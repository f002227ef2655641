// The topology file (kind: Topology): on-premises fabric tree and per-node hardware, loaded and checked.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "topology/hardware.h"
#include "topology/topology.h"

namespace platoon::config {

// One problem in a topology file, with where it is and what to do about it.
struct TopologyFileError {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no single place
  int column = 0;  // 1-based
  std::string message;
  std::string ToString() const;  // "file:line:column: message"
  friend bool operator==(const TopologyFileError&, const TopologyFileError&) = default;
};

// The validated content of a topology file: fabric levels (top to bottom) and every node's hardware
// with its fabric path filled in. Plain values; no YAML types cross this header.
struct TopologyFile {
  std::vector<topology::FabricLevel> levels;
  std::vector<topology::NodeHardware> nodes;
};

// Parses and validates a topology document. Reports every problem found (not just the first), each
// with file:line. The format is documented in topology/README.md.
std::expected<TopologyFile, std::vector<TopologyFileError>> ParseTopologyFile(std::string_view yaml,
                                                                              std::string_view file_name);
// Reads `path` and parses it.
std::expected<TopologyFile, std::vector<TopologyFileError>> LoadTopologyFile(const std::string& path);

// Builds the in-memory topology from a loaded file.
std::expected<topology::Topology, std::string> BuildTopology(const TopologyFile& file);

// Expands "dgx-[001-032]" into dgx-001 .. dgx-032 (zero padding follows the first bound). Names without
// a range come back alone. Fails on a malformed or reversed range.
std::expected<std::vector<std::string>, std::string> ExpandNameRange(std::string_view pattern);

}  // namespace platoon::config
