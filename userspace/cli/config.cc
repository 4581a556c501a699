#include "cli/config.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "yaml-cpp/yaml.h"

namespace permsentry {
namespace {

absl::Status ErrorAt(absl::string_view origin, const YAML::Mark& mark, absl::string_view what) {
  // yaml-cpp marks are 0-based; editors count from 1.
  return absl::InvalidArgumentError(
      absl::StrFormat("%s:%d: %s", origin, mark.is_null() ? 1 : mark.line + 1, what));
}

absl::StatusOr<uint32_t> ReadUint(absl::string_view origin, const YAML::Node& node,
                                  absl::string_view key, uint32_t min, uint32_t max,
                                  bool power_of_two = false) {
  if (!node.IsScalar())
    return ErrorAt(origin, node.Mark(), absl::StrCat(key, ": expected a number"));
  const std::string& s = node.Scalar();
  uint64_t v = 0;
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) {
    return ErrorAt(origin, node.Mark(),
                   absl::StrFormat("%s: \"%s\" is not a whole number", key, s));
  }
  v = std::stoull(s);
  if (v < min || v > max) {
    return ErrorAt(origin, node.Mark(),
                   absl::StrFormat("%s: %d is out of range [%d, %d]", key, v, min, max));
  }
  if (power_of_two && (v & (v - 1)) != 0) {
    return ErrorAt(origin, node.Mark(), absl::StrFormat("%s: %d is not a power of two", key, v));
  }
  return static_cast<uint32_t>(v);
}

absl::Status RequireMap(absl::string_view origin, const YAML::Node& node, absl::string_view what) {
  if (!node.IsMap())
    return ErrorAt(origin, node.Mark(), absl::StrCat(what, ": expected a mapping"));
  return absl::OkStatus();
}

absl::Status ParseOutput(absl::string_view origin, const YAML::Node& node, Config& c) {
  if (absl::Status s = RequireMap(origin, node, "output"); !s.ok()) return s;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (key == "format") {
      const std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
      if (v == "json") {
        c.format = OutputFormat::kJson;
      } else if (v == "text") {
        c.format = OutputFormat::kText;
      } else {
        return ErrorAt(origin, kv.second.Mark(),
                       absl::StrFormat("output.format: \"%s\" is not one of json, text", v));
      }
    } else {
      return ErrorAt(origin, kv.first.Mark(),
                     absl::StrFormat("unknown key \"output.%s\" (known: format)", key));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseCapture(absl::string_view origin, const YAML::Node& node, Config& c) {
  if (absl::Status s = RequireMap(origin, node, "capture"); !s.ok()) return s;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    absl::StatusOr<uint32_t> v;
    if (key == "bulk_ring_mb") {
      v = ReadUint(origin, kv.second, "capture.bulk_ring_mb", 1, 1024, true);
      if (v.ok()) c.bulk_ring_mb = *v;
    } else if (key == "urgent_ring_kb") {
      v = ReadUint(origin, kv.second, "capture.urgent_ring_kb", 64, 65536, true);
      if (v.ok()) c.urgent_ring_kb = *v;
    } else if (key == "drain_interval_ms") {
      v = ReadUint(origin, kv.second, "capture.drain_interval_ms", 1, 1000);
      if (v.ok()) c.drain_interval_ms = *v;
    } else if (key == "stats_interval_ms") {
      v = ReadUint(origin, kv.second, "capture.stats_interval_ms", 100, 60000);
      if (v.ok()) c.stats_interval_ms = *v;
    } else if (key == "process_table_entries") {
      v = ReadUint(origin, kv.second, "capture.process_table_entries", 1024, 4194304);
      if (v.ok()) c.process_table_entries = *v;
    } else {
      return ErrorAt(origin, kv.first.Mark(),
                     absl::StrFormat("unknown key \"capture.%s\" (known: bulk_ring_mb, "
                                     "urgent_ring_kb, drain_interval_ms, stats_interval_ms, "
                                     "process_table_entries)",
                                     key));
    }
    if (!v.ok()) return v.status();
  }
  return absl::OkStatus();
}

absl::Status ParseWatch(absl::string_view origin, const YAML::Node& node, Config& c) {
  if (absl::Status s = RequireMap(origin, node, "watch"); !s.ok()) return s;
  bool defaults = true;
  std::vector<WatchEntry> added;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (key == "defaults") {
      const std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
      if (v != "true" && v != "false")
        return ErrorAt(origin, kv.second.Mark(), "watch.defaults: expected true or false");
      defaults = v == "true";
    } else if (key == "refresh_interval_s") {
      absl::StatusOr<uint32_t> v = ReadUint(origin, kv.second, "watch.refresh_interval_s", 1, 3600);
      if (!v.ok()) return v.status();
      c.watch_refresh_s = *v;
    } else if (key == "paths") {
      if (!kv.second.IsSequence())
        return ErrorAt(origin, kv.second.Mark(), "watch.paths: expected a list");
      for (const YAML::Node& item : kv.second) {
        std::string path, cls = "custom";
        if (item.IsScalar()) {
          path = item.Scalar();
        } else if (item.IsMap()) {
          for (const auto& f : item) {
            const std::string fk = f.first.as<std::string>();
            if ((fk != "path" && fk != "class") || !f.second.IsScalar()) {
              return ErrorAt(origin, f.first.Mark(),
                             absl::StrFormat("watch.paths: unknown or non-text key \"%s\" "
                                             "(known: path, class)",
                                             fk));
            }
            (fk == "path" ? path : cls) = f.second.Scalar();
          }
        } else {
          return ErrorAt(origin, item.Mark(),
                         "watch.paths: each entry is a path or {path: ..., class: ...}");
        }
        absl::StatusOr<WatchEntry> e = MakeWatchEntry(path, cls);
        if (!e.ok()) {
          return ErrorAt(origin, item.Mark(), absl::StrCat("watch.paths: ", e.status().message()));
        }
        added.push_back(*std::move(e));
      }
    } else {
      return ErrorAt(origin, kv.first.Mark(),
                     absl::StrFormat("unknown key \"watch.%s\" (known: defaults, paths, "
                                     "refresh_interval_s)",
                                     key));
    }
  }
  c.watch = defaults ? DefaultWatchList() : std::vector<WatchEntry>{};
  c.watch.insert(c.watch.end(), added.begin(), added.end());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ReadStrings(absl::string_view origin,
                                                     const YAML::Node& node,
                                                     absl::string_view what) {
  if (!node.IsSequence())
    return ErrorAt(origin, node.Mark(), absl::StrCat(what, ": expected a list"));
  std::vector<std::string> out;
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || item.Scalar().empty())
      return ErrorAt(origin, item.Mark(), absl::StrCat(what, ": expected non-empty text"));
    out.push_back(item.Scalar());
  }
  return out;
}

absl::StatusOr<std::vector<EnvMarker>> ReadMarkers(absl::string_view origin, const YAML::Node& node,
                                                   absl::string_view what) {
  absl::StatusOr<std::vector<std::string>> list = ReadStrings(origin, node, what);
  if (!list.ok()) return list.status();
  std::vector<EnvMarker> out;
  for (size_t i = 0; i < list->size(); ++i) {
    absl::StatusOr<EnvMarker> m = ParseEnvMarker((*list)[i]);
    if (!m.ok())
      return ErrorAt(origin, node[i].Mark(), absl::StrCat(what, ": ", m.status().message()));
    out.push_back(*std::move(m));
  }
  return out;
}

absl::Status ParseAi(absl::string_view origin, const YAML::Node& node, Config& c) {
  if (absl::Status s = RequireMap(origin, node, "ai"); !s.ok()) return s;
  bool defaults = true;
  SignatureSet added;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (key == "defaults") {
      const std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
      if (v != "true" && v != "false")
        return ErrorAt(origin, kv.second.Mark(), "ai.defaults: expected true or false");
      defaults = v == "true";
    } else if (key == "launchers") {
      absl::StatusOr<std::vector<std::string>> l = ReadStrings(origin, kv.second, "ai.launchers");
      if (!l.ok()) return l.status();
      added.launchers = *l;
    } else if (key == "ide_env") {
      absl::StatusOr<std::vector<EnvMarker>> m = ReadMarkers(origin, kv.second, "ai.ide_env");
      if (!m.ok()) return m.status();
      added.ide_env = *m;
    } else if (key == "status_file") {
      if (!kv.second.IsScalar() || kv.second.Scalar().empty() || kv.second.Scalar()[0] != '/')
        return ErrorAt(origin, kv.second.Mark(), "ai.status_file: expected an absolute path");
      c.status_file = kv.second.Scalar();
    } else if (key == "agents") {
      if (!kv.second.IsSequence())
        return ErrorAt(origin, kv.second.Mark(), "ai.agents: expected a list");
      for (const YAML::Node& item : kv.second) {
        if (!item.IsMap())
          return ErrorAt(origin, item.Mark(),
                         "ai.agents: each entry is {name, executables, scripts, env}");
        AgentSignature a;
        for (const auto& f : item) {
          const std::string fk = f.first.as<std::string>();
          const std::string what = absl::StrCat("ai.agents.", fk);
          if (fk == "name") {
            if (!f.second.IsScalar() || f.second.Scalar().empty())
              return ErrorAt(origin, f.second.Mark(), "ai.agents.name: expected text");
            a.agent = f.second.Scalar();
          } else if (fk == "executables" || fk == "scripts") {
            absl::StatusOr<std::vector<std::string>> l = ReadStrings(origin, f.second, what);
            if (!l.ok()) return l.status();
            for (size_t i = 0; i < l->size(); ++i) {
              if (absl::Status st = CheckPathPattern((*l)[i]); !st.ok())
                return ErrorAt(origin, f.second[i].Mark(), absl::StrCat(what, ": ", st.message()));
            }
            (fk == "executables" ? a.executables : a.scripts) = *l;
          } else if (fk == "env") {
            absl::StatusOr<std::vector<EnvMarker>> m = ReadMarkers(origin, f.second, what);
            if (!m.ok()) return m.status();
            a.env = *m;
          } else {
            return ErrorAt(origin, f.first.Mark(),
                           absl::StrFormat("unknown key \"ai.agents.%s\" (known: name, "
                                           "executables, scripts, env)",
                                           fk));
          }
        }
        if (a.agent.empty()) return ErrorAt(origin, item.Mark(), "ai.agents: an entry has no name");
        if (a.executables.empty() && a.scripts.empty() && a.env.empty())
          return ErrorAt(
              origin, item.Mark(),
              absl::StrFormat("ai.agents: \"%s\" has no executables, scripts or env", a.agent));
        added.agents.push_back(std::move(a));
      }
    } else {
      return ErrorAt(origin, kv.first.Mark(),
                     absl::StrFormat("unknown key \"ai.%s\" (known: defaults, agents, launchers, "
                                     "ide_env, status_file)",
                                     key));
    }
  }
  SignatureSet set = defaults ? DefaultSignatures() : SignatureSet{};
  set.agents.insert(set.agents.end(), added.agents.begin(), added.agents.end());
  set.launchers.insert(set.launchers.end(), added.launchers.begin(), added.launchers.end());
  set.ide_env.insert(set.ide_env.end(), added.ide_env.begin(), added.ide_env.end());
  if (absl::StatusOr<KernelSignatures> k = BuildKernelSignatures(set); !k.ok())
    return ErrorAt(origin, node.Mark(), absl::StrCat("ai: ", k.status().message()));
  c.signatures = std::move(set);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(absl::string_view yaml, absl::string_view origin) {
  Config c;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    return ErrorAt(origin, e.mark, absl::StrCat("invalid YAML: ", e.msg));
  }
  if (root.IsNull()) return c;  // empty file: all defaults
  if (absl::Status s = RequireMap(origin, root, "top level"); !s.ok()) return s;
  try {
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      absl::Status s;
      if (key == "output") {
        s = ParseOutput(origin, kv.second, c);
      } else if (key == "capture") {
        s = ParseCapture(origin, kv.second, c);
      } else if (key == "watch") {
        s = ParseWatch(origin, kv.second, c);
      } else if (key == "ai") {
        s = ParseAi(origin, kv.second, c);
      } else {
        s = ErrorAt(origin, kv.first.Mark(),
                    absl::StrFormat("unknown key \"%s\" (known: output, capture, watch, ai)", key));
      }
      if (!s.ok()) return s;
    }
  } catch (const YAML::Exception& e) {
    return ErrorAt(origin, e.mark, e.msg);
  }
  return c;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrFormat("%s: cannot read config file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

namespace {

std::string Quote(const std::string& s) { return absl::StrCat("\"", s, "\""); }

std::string List(const std::vector<std::string>& v) {
  std::vector<std::string> q;
  for (const std::string& s : v) q.push_back(Quote(s));
  return absl::StrCat("[", absl::StrJoin(q, ", "), "]");
}

std::string AiDefaultYaml(const Config& d) {
  std::string agents;
  for (const AgentSignature& a : d.signatures.agents) {
    std::vector<std::string> env;
    for (const EnvMarker& m : a.env) env.push_back(m.text());
    absl::StrAppend(&agents, "  #   - name: ", a.agent,
                    "\n  #     executables: ", List(a.executables),
                    "\n  #     scripts: ", List(a.scripts), "\n  #     env: ", List(env), "\n");
  }
  std::vector<std::string> ide;
  for (const EnvMarker& m : d.signatures.ide_env) ide.push_back(m.text());
  return absl::StrCat(
      "ai:                        # AI agent sessions, recognised at exec in the kernel\n"
      "  defaults: true           # the built-in signatures:\n",
      agents,
      "  agents: []               # more: {name, executables, scripts, env}; paths match\n"
      "                           # trailing components (\"claude\", \"claude/versions/*\"),\n"
      "                           # env is NAME, NAME=VALUE or NAME=PREFIX*\n"
      "  # launchers: interpreters whose argv[1] is matched against scripts (built in):\n"
      "  #   ",
      List(d.signatures.launchers),
      "\n  # ide_env: markers of an IDE terminal (assisted when an agent runs in that IDE):\n"
      "  #   ",
      List(ide), "\n  status_file: ", d.status_file, "   # read by `permsentry status`\n");
}

}  // namespace

std::string DefaultConfigYaml() {
  const Config d;
  std::string watch;
  for (const WatchEntry& e : DefaultWatchList())
    absl::StrAppend(&watch, absl::StrFormat("  #   %-30s %s\n", e.pattern, e.cls));
  return absl::StrCat(
      absl::StrFormat("# permsentry configuration (built-in defaults)\n"
                      "output:\n"
                      "  format: json            # json (ECS, one object per line) | text\n"
                      "capture:\n"
                      "  bulk_ring_mb: %d         # all events; drained every drain_interval_ms\n"
                      "  urgent_ring_kb: %d     # alert candidates; read at once\n"
                      "  drain_interval_ms: %d\n"
                      "  stats_interval_ms: %d  # how often lost-event counters are checked\n"
                      "  process_table_entries: %d  # live processes the kernel's table holds\n",
                      d.bulk_ring_mb, d.urgent_ring_kb, d.drain_interval_ms, d.stats_interval_ms,
                      d.process_table_entries),
      "watch:                     # credential files, recognised by inode identity\n"
      "  defaults: true           # the built-in list:\n",
      watch,
      absl::StrFormat(
          "  paths: []               # more: \"/dir/\" = a directory and its entries,\n"
          "                           # \"~/x\" = x in every home, {path: P, class: C}\n"
          "  refresh_interval_s: %d   # re-read even without a rename or link\n",
          d.watch_refresh_s),
      AiDefaultYaml(d));
}

}  // namespace permsentry
