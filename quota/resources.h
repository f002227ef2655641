// Resource names and resource lists: the amounts that quota, fit and placement add and compare.
#pragma once

#include <cstdint>
#include <expected>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quota/quantity.h"

namespace platoon {

inline constexpr std::string_view kResourceCPU = "cpu";
inline constexpr std::string_view kResourceMemory = "memory";
inline constexpr std::string_view kResourcePods = "pods";
inline constexpr std::string_view kResourceEphemeralStorage = "ephemeral-storage";
inline constexpr std::string_view kResourceGPU = "nvidia.com/gpu";

// Amounts are int64 in each resource's accounting unit, as Kueue keeps them: milli-units for cpu,
// whole units (bytes, devices, pods) for everything else.
std::int64_t ToAmount(std::string_view resource, const Quantity& q);
// Prints an amount as the API server would print the quantity ("1500m", "16Gi", "8").
std::string FormatAmount(std::string_view resource, std::int64_t amount);

// An ordered map from resource name to amount, kept as a small sorted vector (a handful of entries,
// compared on the hot path). Absent means zero. Regular value type.
class ResourceList {
 public:
  using Entry = std::pair<std::string, std::int64_t>;

  ResourceList() = default;
  ResourceList(std::initializer_list<Entry> entries);

  std::int64_t Get(std::string_view name) const;
  void Set(std::string_view name, std::int64_t amount);
  void Add(std::string_view name, std::int64_t amount);
  ResourceList& operator+=(const ResourceList& other);
  ResourceList& operator-=(const ResourceList& other);
  friend ResourceList operator+(ResourceList a, const ResourceList& b) { return a += b; }
  friend ResourceList operator-(ResourceList a, const ResourceList& b) { return a -= b; }

  // Each entry the larger of the two (for init containers against the sum of app containers).
  static ResourceList Max(const ResourceList& a, const ResourceList& b);

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  // "cpu=2, memory=16Gi, nvidia.com/gpu=8", for messages and logs.
  std::string ToString() const;

  friend bool operator==(const ResourceList&, const ResourceList&) = default;

 private:
  std::vector<Entry> entries_;  // sorted by name, no zero entries
};

// A resource the request does not fit, with the numbers a person needs to act.
struct Insufficient {
  std::string resource;
  std::int64_t requested = 0;
  std::int64_t used = 0;
  std::int64_t capacity = 0;
  friend bool operator==(const Insufficient&, const Insufficient&) = default;
};

// kube-scheduler's NodeResourcesFit arithmetic: every requested resource must satisfy
// used + requested <= capacity. Returns the resources that do not (empty: it fits).
std::vector<Insufficient> Fits(const ResourceList& request, const ResourceList& used,
                               const ResourceList& capacity);

// "Insufficient nvidia.com/gpu (requested 4, free 2 of 8)".
std::string DescribeInsufficient(const std::vector<Insufficient>& missing);

}  // namespace platoon
