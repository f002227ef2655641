// Kueue manifests (kueue.x-k8s.io v1beta1/v1beta2, multi-document YAML) -> validated quota objects.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "quota/model.h"

namespace platoon::config {

// One problem in a manifest, located so a person can fix it.
struct ManifestError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string object;  // "ClusterQueue team-a", empty when the document has no kind/name yet
  std::string field;   // "spec.resourceGroups[0].flavors[1].resources[0].nominalQuota"
  std::string message;
  // "kueue.yaml:12:9: ClusterQueue team-a: spec.cohort: ..."
  std::string ToString() const;
};

// Parses and validates every document of the text as Kueue's webhooks and CRD schemas would, then
// checks references across objects (flavors, cohorts, ClusterQueues). Documents of other API groups
// are skipped. All errors are returned, not only the first. Never throws.
std::expected<quota::QuotaConfig, std::vector<ManifestError>> ParseKueueManifests(std::string_view text,
                                                                                 std::string_view file_name);

// Reads the files and parses them together (references may cross files).
std::expected<quota::QuotaConfig, std::vector<ManifestError>> LoadKueueManifestFiles(
    const std::vector<std::string>& paths);

// Errors one per line.
std::string FormatManifestErrors(const std::vector<ManifestError>& errors);

}  // namespace platoon::config
