// Resource list arithmetic and the kube-scheduler fit check.
#include "quota/resources.h"

#include <algorithm>

namespace platoon {

std::int64_t ToAmount(std::string_view resource, const Quantity& q) {
  return resource == kResourceCPU ? q.MilliValue() : q.Value();
}

std::string FormatAmount(std::string_view resource, std::int64_t amount) {
  if (resource == kResourceCPU) return Quantity::FromMilli(amount).ToString();
  if (resource == kResourceMemory || resource == kResourceEphemeralStorage ||
      resource.starts_with("hugepages-"))
    return Quantity::FromUnits(amount, QuantityFormat::BinarySI).ToString();
  return Quantity::FromUnits(amount).ToString();
}

ResourceList::ResourceList(std::initializer_list<Entry> entries) {
  for (const auto& [name, amount] : entries) Add(name, amount);
}

std::int64_t ResourceList::Get(std::string_view name) const {
  // A handful of entries whose names mostly differ in length: a linear scan that compares lengths
  // first beats a binary search of string comparisons (this is the filter hot path).
  for (const auto& [entry_name, amount] : entries_)
    if (entry_name.size() == name.size() && std::char_traits<char>::compare(entry_name.data(), name.data(), name.size()) == 0)
      return amount;
  return 0;
}

void ResourceList::Set(std::string_view name, std::int64_t amount) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const Entry& e, std::string_view n) { return e.first < n; });
  if (it != entries_.end() && it->first == name) {
    if (amount == 0)
      entries_.erase(it);
    else
      it->second = amount;
  } else if (amount != 0) {
    entries_.insert(it, Entry{std::string(name), amount});
  }
}

void ResourceList::Add(std::string_view name, std::int64_t amount) { Set(name, Get(name) + amount); }

ResourceList& ResourceList::operator+=(const ResourceList& other) {
  for (const auto& [name, amount] : other.entries_) Add(name, amount);
  return *this;
}

ResourceList& ResourceList::operator-=(const ResourceList& other) {
  for (const auto& [name, amount] : other.entries_) Add(name, -amount);
  return *this;
}

ResourceList ResourceList::Max(const ResourceList& a, const ResourceList& b) {
  ResourceList out = a;
  for (const auto& [name, amount] : b.entries_)
    if (amount > out.Get(name)) out.Set(name, amount);
  return out;
}

std::string ResourceList::ToString() const {
  std::string out;
  for (const auto& [name, amount] : entries_) {
    if (!out.empty()) out += ", ";
    out += name + "=" + FormatAmount(name, amount);
  }
  return out.empty() ? "none" : out;
}

std::vector<Insufficient> Fits(const ResourceList& request, const ResourceList& used,
                               const ResourceList& capacity) {
  std::vector<Insufficient> missing;
  for (const auto& [name, amount] : request) {
    if (amount <= 0) continue;
    const std::int64_t cap = capacity.Get(name);
    const std::int64_t in_use = used.Get(name);
    if (in_use + amount > cap) missing.push_back({name, amount, in_use, cap});
  }
  return missing;
}

std::string DescribeInsufficient(const std::vector<Insufficient>& missing) {
  std::string out;
  for (const auto& m : missing) {
    if (!out.empty()) out += "; ";
    const std::int64_t free = std::max<std::int64_t>(0, m.capacity - m.used);
    if (m.capacity <= 0) {
      out += "node has no " + m.resource + " (requested " + FormatAmount(m.resource, m.requested) + ")";
      continue;
    }
    out += "Insufficient " + m.resource + " (requested " + FormatAmount(m.resource, m.requested) +
           ", free " + FormatAmount(m.resource, free) + " of " + FormatAmount(m.resource, m.capacity) + ")";
  }
  return out;
}

}  // namespace platoon
