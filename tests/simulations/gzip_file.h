// Writes gzip files for the tests of compressed trace reading.
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <string>

namespace platoon::sim::testing {

// `text`, gzip-compressed, as `path` (what `gzip -9` writes, give or take the header).
inline void WriteGzip(const std::filesystem::path& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb9");
  REQUIRE(file != nullptr);
  if (!text.empty()) REQUIRE(gzwrite(file, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

}  // namespace platoon::sim::testing
