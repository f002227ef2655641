// Topology file loader: yaml-cpp at the edge, every problem reported with file:line and what to fix.
#include "config/topology_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "config/yaml_json.h"
#include "quota/quantity.h"
#include "quota/resources.h"
#include "topology/text.h"

namespace platoon::config {

using topology::Format;

std::string TopologyFileError::ToString() const {
  if (line <= 0) return Format("{}: {}", file, message);
  return Format("{}:{}:{}: {}", file, line, column, message);
}

std::expected<std::vector<std::string>, std::string> ExpandNameRange(std::string_view pattern) {
  const auto open = pattern.find('[');
  if (open == std::string_view::npos) return std::vector<std::string>{std::string(pattern)};
  const auto close = pattern.find(']', open);
  const auto dash = pattern.find('-', open);
  if (close == std::string_view::npos || dash == std::string_view::npos || dash > close) {
    return std::unexpected(Format("name range '{}' must look like prefix[001-032]suffix", pattern));
  }
  const auto lo_s = pattern.substr(open + 1, dash - open - 1);
  const auto hi_s = pattern.substr(dash + 1, close - dash - 1);
  long lo = 0, hi = 0;
  auto r1 = std::from_chars(lo_s.data(), lo_s.data() + lo_s.size(), lo);
  auto r2 = std::from_chars(hi_s.data(), hi_s.data() + hi_s.size(), hi);
  if (lo_s.empty() || hi_s.empty() || r1.ptr != lo_s.data() + lo_s.size() || r2.ptr != hi_s.data() + hi_s.size() ||
      lo > hi || hi - lo > 100000) {
    return std::unexpected(Format("name range '{}' needs two numbers, low before high", pattern));
  }
  std::vector<std::string> out;
  for (long i = lo; i <= hi; ++i) {
    std::string num = std::to_string(i);
    if (num.size() < lo_s.size()) num.insert(0, lo_s.size() - num.size(), '0');
    out.push_back(std::string(pattern.substr(0, open)) + num + std::string(pattern.substr(close + 1)));
  }
  return out;
}

namespace {

using topology::FabricLevel;
using topology::NodeHardware;

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  std::vector<TopologyFileError> errors;

  void Error(const YAML::Node& at, std::string message) { Error(at.Mark(), std::move(message)); }
  void Error(const YAML::Mark& m, std::string message) {
    errors.push_back({file_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0, std::move(message)});
  }

  void CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, std::string_view what) {
    for (const auto& kv : map) {
      const auto key = kv.first.as<std::string>();
      if (std::ranges::find(allowed, key) == allowed.end()) {
        std::string known;
        for (auto k : allowed) known += (known.empty() ? "" : ", ") + std::string(k);
        Error(kv.first, Format("unknown key '{}' in {} (known keys: {})", key, what, known));
      }
    }
  }

  bool IsMap(const YAML::Node& n, const YAML::Node& parent, std::string_view what) {
    if (n.IsMap()) return true;
    Error(n.IsDefined() ? n : parent, Format("{} must be a mapping", what));
    return false;
  }

  std::optional<std::string> String(const YAML::Node& map, std::string_view key, bool required, std::string_view what) {
    const YAML::Node v = map[std::string(key)];
    if (!v.IsDefined() || v.IsNull()) {
      if (required) Error(map, Format("{} has no '{}'", what, key));
      return std::nullopt;
    }
    if (!v.IsScalar()) {
      Error(v, Format("'{}' in {} must be a single value", key, what));
      return std::nullopt;
    }
    return v.Scalar();
  }

  std::optional<double> Number(const YAML::Node& map, std::string_view key, bool required, std::string_view what,
                               std::string_view hint = "") {
    const YAML::Node v = map[std::string(key)];
    if (!v.IsDefined() || v.IsNull()) {
      if (required) Error(map, Format("{} has no '{}'{}", what, key, hint));
      return std::nullopt;
    }
    double d = 0;
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    auto r = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || d < 0) {
      Error(v, Format("'{}' in {} must be a non-negative number, not '{}'", key, what, s));
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::vector<int>> IntList(const YAML::Node& v, std::string_view what) {
    std::vector<int> out;
    if (v.IsScalar()) {  // "0-55,112-167"
      std::stringstream ss(v.Scalar());
      std::string part;
      while (std::getline(ss, part, ',')) {
        int a = 0, b = 0;
        const auto dash = part.find('-');
        const std::string lo = part.substr(0, dash), hi = dash == std::string::npos ? lo : part.substr(dash + 1);
        auto r1 = std::from_chars(lo.data(), lo.data() + lo.size(), a);
        auto r2 = std::from_chars(hi.data(), hi.data() + hi.size(), b);
        if (lo.empty() || r1.ptr != lo.data() + lo.size() || r2.ptr != hi.data() + hi.size() || a > b) {
          Error(v, Format("{} '{}' must be a list like 0-55,112-167", what, v.Scalar()));
          return std::nullopt;
        }
        for (int i = a; i <= b; ++i) out.push_back(i);
      }
      return out;
    }
    if (!v.IsSequence()) {
      Error(v, Format("{} must be a list of numbers", what));
      return std::nullopt;
    }
    for (const auto& item : v) {
      int x = 0;
      const std::string s = item.IsScalar() ? item.Scalar() : "";
      auto r = std::from_chars(s.data(), s.data() + s.size(), x);
      if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
        Error(item, Format("{} must hold numbers, not '{}'", what, s));
        return std::nullopt;
      }
      out.push_back(x);
    }
    return out;
  }

  // Fills hardware from a spec mapping (a `hardware:` entry or a node's inline description).
  bool Hardware(const YAML::Node& spec, NodeHardware& hw, std::string_view what) {
    const std::size_t before = errors.size();
    if (auto v = String(spec, "gpuModel", false, what)) hw.gpu_model = *v;
    if (auto v = Number(spec, "gpuMemoryMiB", false, what)) hw.gpu_memory_mib = static_cast<std::int64_t>(*v);
    if (auto v = Number(spec, "gpus", false, what)) hw.gpu_count = static_cast<int>(*v);
    if (auto v = String(spec, "cpu", false, what)) {
      auto q = Quantity::Parse(*v);
      if (!q) Error(spec["cpu"], Format("cpu '{}' in {}: {}", *v, what, q.error()));
      else hw.cpu_milli = ToAmount(kResourceCPU, *q);
    }
    if (auto v = String(spec, "memory", false, what)) {
      auto q = Quantity::Parse(*v);
      if (!q) Error(spec["memory"], Format("memory '{}' in {}: {}", *v, what, q.error()));
      else hw.memory_bytes = ToAmount(kResourceMemory, *q);
    }
    const double lane = Number(spec, "nvlinkGBpsPerLane", false, what).value_or(topology::kNvlinkGbpsPerLane);
    const double pcie = Number(spec, "pcieGBps", false, what).value_or(topology::kPcieGbps);
    const double sys = Number(spec, "sysGBps", false, what).value_or(topology::kSysGbps);

    std::map<std::string, int> nic_index;
    if (const YAML::Node nics = spec["nics"]; nics.IsDefined()) {
      if (!nics.IsSequence()) Error(nics, Format("nics in {} must be a list", what));
      for (const auto& n : nics) {
        if (!IsMap(n, nics, "a NIC")) continue;
        CheckKeys(n, {"name", "bandwidthGBps", "rail"}, "a NIC");
        topology::Nic nic;
        nic.name = String(n, "name", true, Format("a NIC of {}", what)).value_or("");
        auto bw = Number(n, "bandwidthGBps", true, Format("NIC {} of {}", nic.name, what),
                         ": add the NIC's bandwidth in GB/s (400 Gb/s NDR = 50)");
        nic.gbps = bw.value_or(0);
        if (bw && *bw == 0) Error(n["bandwidthGBps"], Format("NIC {} of {} has zero bandwidth", nic.name, what));
        nic.rail = static_cast<int>(Number(n, "rail", false, "a NIC").value_or(-1));
        if (!nic_index.emplace(nic.name, static_cast<int>(hw.nics.size())).second) {
          Error(n, Format("NIC {} appears twice in {}", nic.name, what));
        }
        hw.nics.push_back(std::move(nic));
      }
    }
    if (const YAML::Node numa = spec["numa"]; numa.IsDefined()) {
      if (!numa.IsSequence()) Error(numa, Format("numa in {} must be a list", what));
      std::map<int, int> gpu_owner;
      std::map<int, int> nic_owner;
      for (const auto& u : numa) {
        if (!IsMap(u, numa, "a NUMA node")) continue;
        CheckKeys(u, {"id", "cpus", "gpus", "nics"}, "a NUMA node");
        topology::NumaNode node;
        node.id = static_cast<int>(Number(u, "id", false, "a NUMA node").value_or(static_cast<double>(hw.numa.size())));
        if (u["cpus"].IsDefined()) node.cpus = IntList(u["cpus"], "cpus").value_or(std::vector<int>{});
        if (u["gpus"].IsDefined()) node.gpus = IntList(u["gpus"], "gpus").value_or(std::vector<int>{});
        for (int g : node.gpus) {
          if (g < 0 || g >= hw.gpu_count) {
            Error(u["gpus"], Format("NUMA node {} lists GPU {}, but {} has {} GPUs (gpus: {})", node.id, g, what,
                                    hw.gpu_count, hw.gpu_count));
          } else if (auto [it, fresh] = gpu_owner.emplace(g, node.id); !fresh) {
            Error(u["gpus"], Format("GPU {} is on two NUMA nodes ({} and {}); list each GPU under one NUMA node",
                                    g, it->second, node.id));
          }
        }
        if (const YAML::Node ns = u["nics"]; ns.IsDefined()) {
          for (const auto& name : ns) {
            const std::string s = name.IsScalar() ? name.Scalar() : "";
            auto it = nic_index.find(s);
            if (it == nic_index.end()) {
              Error(name, Format("NUMA node {} lists NIC '{}', which is not under nics", node.id, s));
            } else if (auto [o, fresh] = nic_owner.emplace(it->second, node.id); !fresh) {
              Error(name, Format("NIC {} is on two NUMA nodes ({} and {})", s, o->second, node.id));
            } else {
              node.nics.push_back(it->second);
            }
          }
        }
        hw.numa.push_back(std::move(node));
      }
      for (const auto& [name, i] : nic_index) {
        if (!nic_owner.contains(i)) Error(numa, Format("NIC {} of {} is on no NUMA node: list it under numa[].nics", name, what));
      }
      for (int g = 0; g < hw.gpu_count; ++g) {
        if (!gpu_owner.contains(g)) Error(numa, Format("GPU {} of {} is on no NUMA node: list it under numa[].gpus", g, what));
      }
    }
    const YAML::Node links = spec["gpuLinks"];
    const YAML::Node all = spec["gpuLinksAll"];
    if (links.IsDefined() && all.IsDefined()) Error(all, Format("{} has both gpuLinks and gpuLinksAll; keep one", what));
    const auto n = static_cast<std::size_t>(std::max(hw.gpu_count, 0));
    if (all.IsDefined()) {
      auto cell = topology::ParseTopoLegend(all.IsScalar() ? all.Scalar() : "", lane, pcie, sys);
      if (!cell) Error(all, Format("gpuLinksAll: {}", cell.error()));
      else {
        if (cell->kind == topology::LinkKind::NVLink) cell->kind = topology::LinkKind::NVSwitch;
        hw.gpu_links.assign(n * n, *cell);
        for (std::size_t g = 0; g < n; ++g) hw.gpu_links[g * n + g] = {topology::LinkKind::Self, 0, 0.0};
      }
    } else if (links.IsDefined()) {
      if (!links.IsSequence() || links.size() != n) {
        Error(links, Format("gpuLinks in {} needs {} rows (one per GPU, as printed by nvidia-smi topo -m), has {}", what,
                            n, links.IsSequence() ? links.size() : 0));
      } else {
        hw.gpu_links.resize(n * n);
        for (std::size_t r = 0; r < n; ++r) {
          std::stringstream ss(links[r].IsScalar() ? links[r].Scalar() : "");
          std::vector<std::string> cells;
          for (std::string c; ss >> c;) cells.push_back(c);
          if (!cells.empty() && cells.front().starts_with("GPU")) cells.erase(cells.begin());
          if (cells.size() != n) {
            Error(links[r], Format("gpuLinks row {} has {} cells, expected {} (one per GPU)", r, cells.size(), n));
            continue;
          }
          for (std::size_t c = 0; c < n; ++c) {
            auto cell = topology::ParseTopoLegend(cells[c], lane, pcie, sys);
            if (!cell) {
              Error(links[r], Format("gpuLinks row {} column {}: {}", r, c, cell.error()));
            } else {
              hw.gpu_links[r * n + c] = *cell;
            }
          }
        }
      }
    }
    if (const YAML::Node mig = spec["mig"]; mig.IsDefined()) {
      if (!mig.IsMap()) Error(mig, Format("mig in {} must map a GPU index to its MIG profiles", what));
      hw.mig.assign(n, {});
      for (const auto& kv : mig) {
        int g = -1;
        const std::string key = kv.first.Scalar();
        auto r = std::from_chars(key.data(), key.data() + key.size(), g);
        if (r.ptr != key.data() + key.size() || g < 0 || g >= hw.gpu_count) {
          Error(kv.first, Format("mig key '{}' is not a GPU index of {} (0..{})", key, what, hw.gpu_count - 1));
          continue;
        }
        for (const auto& p : kv.second) hw.mig[static_cast<std::size_t>(g)].push_back(p.Scalar());
      }
    }
    if (errors.size() != before) return false;
    if (auto ok = topology::Finalize(hw); !ok) {
      Error(spec, Format("{}: {}", what, ok.error()));
      return false;
    }
    return true;
  }

  std::expected<TopologyFile, std::vector<TopologyFileError>> Load(const YAML::Node& root) {
    TopologyFile out;
    if (!root.IsMap()) {
      Error(root, "a topology file is a mapping with levels, domains, hardware and nodes");
      return std::unexpected(errors);
    }
    CheckKeys(root, {"apiVersion", "kind", "levels", "domains", "hardware", "nodes"}, "the topology file");
    if (auto kind = String(root, "kind", false, "the file"); kind && *kind != "Topology") {
      Error(root["kind"], Format("kind is '{}'; a topology file has kind: Topology", *kind));
    }

    // Levels.
    std::map<std::string, int> level_index;
    if (const YAML::Node levels = root["levels"]; levels.IsDefined()) {
      for (const auto& l : levels) {
        if (!IsMap(l, levels, "a level")) continue;
        CheckKeys(l, {"name", "nodeLabel", "bandwidthGBps", "link"}, "a level");
        FabricLevel level;
        level.name = String(l, "name", true, "a level").value_or("");
        level.node_label = String(l, "nodeLabel", false, "a level").value_or("");
        auto bw = Number(l, "bandwidthGBps", true, Format("level '{}'", level.name),
                         Format(": add the per-GPU bandwidth in GB/s between two nodes whose closest shared domain "
                                "is one {} (400 Gb/s = 50)", level.name));
        level.gbps = bw.value_or(0);
        if (bw && *bw == 0) Error(l["bandwidthGBps"], Format("level '{}' has zero bandwidth", level.name));
        if (auto link = String(l, "link", false, "a level")) {
          if (*link == "NVLink") level.kind = topology::LinkKind::NVLink;
          else if (*link != "fabric") Error(l["link"], Format("link '{}' must be fabric or NVLink", *link));
        }
        if (!level_index.emplace(level.name, static_cast<int>(out.levels.size())).second) {
          Error(l, Format("level '{}' appears twice", level.name));
        }
        out.levels.push_back(std::move(level));
      }
    }

    // Domains: the switch tree.
    struct DomainEntry {
      std::string name, parent;
      int level = -1;
      YAML::Node node;
    };
    std::vector<DomainEntry> domains;
    std::unordered_map<std::string, std::size_t> domain_index;
    std::map<std::string, std::pair<std::string, YAML::Mark>> listed_nodes;  // node -> (domain, where)
    if (const YAML::Node ds = root["domains"]; ds.IsDefined()) {
      for (const auto& d : ds) {
        if (!IsMap(d, ds, "a domain")) continue;
        CheckKeys(d, {"name", "level", "parent", "nodes"}, "a domain");
        DomainEntry e{"", "", -1, static_cast<const YAML::Node&>(d)};
        e.name = String(d, "name", true, "a domain").value_or("");
        e.parent = String(d, "parent", false, "a domain").value_or("");
        const auto level = String(d, "level", true, Format("domain '{}'", e.name)).value_or("");
        if (auto it = level_index.find(level); it != level_index.end()) e.level = it->second;
        else if (!level.empty()) Error(d["level"], Format("domain '{}' has unknown level '{}'", e.name, level));
        if (!domain_index.emplace(e.name, domains.size()).second) Error(d, Format("domain '{}' appears twice", e.name));
        if (const YAML::Node ns = d["nodes"]; ns.IsDefined()) {
          for (const auto& name : ns) {
            auto names = ExpandNameRange(name.Scalar());
            if (!names) {
              Error(name, names.error());
              continue;
            }
            for (auto& nn : *names) listed_nodes.insert_or_assign(nn, std::make_pair(e.name, name.Mark()));
          }
        }
        domains.push_back(std::move(e));
      }
    }
    // Parents, cycles and level order.
    for (const auto& e : domains) {
      if (e.parent.empty()) {
        if (e.level > 0) {
          Error(e.node, Format("domain '{}' at level {} needs a parent at level {}", e.name, out.levels[static_cast<std::size_t>(e.level)].name,
                               out.levels[static_cast<std::size_t>(e.level - 1)].name));
        }
        continue;
      }
      auto it = domain_index.find(e.parent);
      if (it == domain_index.end()) {
        Error(e.node["parent"], Format("domain '{}' has unknown parent '{}'", e.name, e.parent));
        continue;
      }
      // Walk up looking for a cycle.
      std::vector<std::string> chain{e.name};
      std::set<std::string> seen{e.name};
      std::string cur = e.parent;
      bool cycle = false;
      while (!cur.empty()) {
        chain.push_back(cur);
        if (!seen.insert(cur).second) {
          cycle = true;
          break;
        }
        auto p = domain_index.find(cur);
        if (p == domain_index.end()) break;
        cur = domains[p->second].parent;
      }
      if (cycle) {
        std::string path;
        for (const auto& c : chain) path += (path.empty() ? "" : " -> ") + c;
        Error(e.node["parent"], Format("domains form a cycle: {}; a domain's parent must sit one level above it", path));
        continue;
      }
      const auto& parent = domains[it->second];
      if (e.level >= 0 && parent.level >= 0 && parent.level != e.level - 1) {
        Error(e.node["parent"], Format("domain '{}' (level {}) has parent '{}' at level {}; the parent must be at the level just above",
                                       e.name, out.levels[static_cast<std::size_t>(e.level)].name, parent.name,
                                       out.levels[static_cast<std::size_t>(parent.level)].name));
      }
    }

    // Hardware templates.
    std::map<std::string, NodeHardware> templates;
    if (const YAML::Node hs = root["hardware"]; hs.IsDefined()) {
      if (!hs.IsMap()) Error(hs, "hardware must map a name to a node description");
      for (const auto& kv : hs) {
        const std::string name = kv.first.Scalar();
        if (!IsMap(kv.second, kv.first, Format("hardware '{}'", name))) continue;
        CheckKeys(kv.second, {"gpuModel", "gpuMemoryMiB", "gpus", "cpu", "memory", "nvlinkGBpsPerLane", "pcieGBps", "sysGBps",
                              "numa", "nics", "gpuLinks", "gpuLinksAll", "mig"},
                  Format("hardware '{}'", name));
        NodeHardware hw;
        if (Hardware(kv.second, hw, Format("hardware '{}'", name))) templates.emplace(name, std::move(hw));
        else templates.emplace(name, NodeHardware{});
      }
    }

    // Nodes.
    std::set<std::string> node_names;
    const std::string lowest = out.levels.empty() ? "" : out.levels.back().name;
    if (const YAML::Node ns = root["nodes"]; ns.IsDefined()) {
      for (const auto& n : ns) {
        if (!IsMap(n, ns, "a node")) continue;
        CheckKeys(n, {"name", "hardware", "domain", "gpuModel", "gpuMemoryMiB", "gpus", "cpu", "memory", "nvlinkGBpsPerLane",
                      "pcieGBps", "sysGBps", "numa", "nics", "gpuLinks", "gpuLinksAll", "mig"},
                  "a node");
        const auto pattern = String(n, "name", true, "a node").value_or("");
        auto names = ExpandNameRange(pattern);
        if (!names) {
          Error(n["name"], names.error());
          continue;
        }
        NodeHardware hw;
        if (auto t = String(n, "hardware", false, "a node")) {
          auto it = templates.find(*t);
          if (it == templates.end()) {
            Error(n["hardware"], Format("node '{}' uses unknown hardware '{}'", pattern, *t));
            continue;
          }
          hw = it->second;
        } else if (!Hardware(n, hw, Format("node '{}'", pattern))) {
          continue;
        }
        const auto domain = String(n, "domain", false, "a node");
        for (auto& name : *names) {
          NodeHardware one = hw;
          one.name = name;
          if (!node_names.insert(name).second) {
            Error(n, Format("node '{}' appears twice", name));
            continue;
          }
          std::string dom = domain.value_or("");
          if (auto l = listed_nodes.find(name); l != listed_nodes.end()) {
            if (!dom.empty() && dom != l->second.first) {
              Error(l->second.second, Format("node '{}' is listed under domain '{}' but says domain: {}", name,
                                             l->second.first, dom));
            }
            dom = l->second.first;
          }
          if (!out.levels.empty()) {
            if (dom.empty()) {
              Error(n, Format("node '{}' has no domain: give it domain: <a {} domain>", name, lowest));
              continue;
            }
            auto it = domain_index.find(dom);
            if (it == domain_index.end()) {
              Error(domain ? n["domain"] : n, Format("node '{}' hangs from unknown domain '{}'", name, dom));
              continue;
            }
            std::vector<topology::FabricPlacement> path;
            std::size_t cur = it->second;
            for (std::size_t guard = 0; guard <= domains.size(); ++guard) {
              path.push_back({domains[cur].level >= 0 ? out.levels[static_cast<std::size_t>(domains[cur].level)].name : "?",
                              domains[cur].name});
              if (domains[cur].parent.empty()) break;
              auto p = domain_index.find(domains[cur].parent);
              if (p == domain_index.end()) break;
              cur = p->second;
            }
            std::ranges::reverse(path);
            if (domains[it->second].level != static_cast<int>(out.levels.size()) - 1) {
              Error(domain ? n["domain"] : n, Format("node '{}' hangs from domain '{}', which is not at the lowest level ({})",
                                                     name, dom, lowest));
              continue;
            }
            one.fabric = std::move(path);
          }
          out.nodes.push_back(std::move(one));
        }
      }
    }
    for (const auto& [name, where] : listed_nodes) {
      if (!node_names.contains(name)) {
        Error(where.second, Format("domain '{}' lists unknown node '{}': add it under nodes or remove it here",
                                   where.first, name));
      }
    }
    if (!errors.empty()) return std::unexpected(errors);
    return out;
  }

 private:
  std::string file_;
};

}  // namespace

std::expected<TopologyFile, std::vector<TopologyFileError>> ParseTopologyFile(std::string_view yaml,
                                                                              std::string_view file_name) {
  Loader loader{std::string(file_name)};
  auto guarded = GuardYaml(yaml);
  if (!guarded) {
    loader.errors.push_back({std::string(file_name), guarded.error().line, 0, guarded.error().message});
    return std::unexpected(loader.errors);
  }
  try {
    const YAML::Node root = YAML::Load(*guarded);
    return loader.Load(root);
  } catch (const YAML::Exception& e) {
    loader.errors.push_back({std::string(file_name), e.mark.line >= 0 ? e.mark.line + 1 : 0,
                             e.mark.column >= 0 ? e.mark.column + 1 : 0, e.msg});
    return std::unexpected(loader.errors);
  }
}

std::expected<TopologyFile, std::vector<TopologyFileError>> LoadTopologyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected(std::vector<TopologyFileError>{{path, 0, 0, "cannot read the file"}});
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseTopologyFile(ss.str(), path);
}

std::expected<topology::Topology, std::string> BuildTopology(const TopologyFile& file) {
  return topology::Topology::Build(file.levels, file.nodes);
}

}  // namespace platoon::config
