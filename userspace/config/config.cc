#include "config/config.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_patterns.h"
#include "common/yaml_error.h"
#include "yaml-cpp/yaml.h"

namespace permsentry {
namespace {

absl::Status ErrorAt(absl::string_view origin, const YAML::Mark& mark, absl::string_view what) {
  return YamlError(origin, mark, what);
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

absl::StatusOr<bool> ReadBool(absl::string_view origin, const YAML::Node& node,
                              absl::string_view key) {
  const std::string v = node.IsScalar() ? node.Scalar() : "";
  if (v != "true" && v != "false")
    return ErrorAt(origin, node.Mark(), absl::StrCat(key, ": expected true or false"));
  return v == "true";
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
    const std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
    if (key == "format") {
      if (v == "json") {
        c.format = OutputFormat::kJson;
      } else if (v == "text") {
        c.format = OutputFormat::kText;
      } else {
        return ErrorAt(origin, kv.second.Mark(),
                       absl::StrFormat("output.format: \"%s\" is not one of json, text", v));
      }
    } else if (key == "color") {
      if (v == "auto") {
        c.color = ColorMode::kAuto;
      } else if (v == "always") {
        c.color = ColorMode::kAlways;
      } else if (v == "never") {
        c.color = ColorMode::kNever;
      } else {
        return ErrorAt(
            origin, kv.second.Mark(),
            absl::StrFormat("output.color: \"%s\" is not one of auto, always, never", v));
      }
    } else if (key == "events") {
      if (v != "all" && v != "alerts")
        return ErrorAt(origin, kv.second.Mark(),
                       absl::StrFormat("output.events: \"%s\" is not one of all, alerts", v));
      c.stdout_alerts_only = v == "alerts";
    } else if (key == "min_severity") {
      std::optional<Severity> s = ParseSeverity(v);
      if (!s)
        return ErrorAt(origin, kv.second.Mark(),
                       "output.min_severity: expected low, medium, high or critical");
      c.stdout_min_severity = *s;
    } else if (key == "buffer_mb") {
      absl::StatusOr<uint32_t> n = ReadUint(origin, kv.second, "output.buffer_mb", 1, 4096);
      if (!n.ok()) return n.status();
      c.stdout_buffer_mb = *n;
    } else {
      return ErrorAt(origin, kv.first.Mark(),
                     absl::StrFormat("unknown key \"output.%s\" (known: format, color, events, "
                                     "min_severity, buffer_mb)",
                                     key));
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
    } else if (key == "coalesce_window_ms") {
      v = ReadUint(origin, kv.second, "capture.coalesce_window_ms", 0, 60000);
      if (v.ok()) c.coalesce_window_ms = *v;
    } else {
      return ErrorAt(origin, kv.first.Mark(),
                     absl::StrFormat("unknown key \"capture.%s\" (known: bulk_ring_mb, "
                                     "urgent_ring_kb, drain_interval_ms, stats_interval_ms, "
                                     "process_table_entries, coalesce_window_ms)",
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
      absl::StatusOr<bool> b = ReadBool(origin, kv.second, "watch.defaults");
      if (!b.ok()) return b.status();
      defaults = *b;
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

// Agent signature entries: {name, executables, scripts, env}, as `ai.agents`
// and signature packs (agents.d files) write them. `what` names the list.
absl::StatusOr<std::vector<AgentSignature>> ParseAgentList(absl::string_view origin,
                                                           const YAML::Node& node,
                                                           absl::string_view what) {
  if (!node.IsSequence())
    return ErrorAt(origin, node.Mark(), absl::StrCat(what, ": expected a list"));
  std::vector<AgentSignature> out;
  for (const YAML::Node& item : node) {
    if (!item.IsMap())
      return ErrorAt(origin, item.Mark(),
                     absl::StrCat(what, ": each entry is {name, executables, scripts, env}"));
    AgentSignature a;
    for (const auto& f : item) {
      const std::string fk = f.first.as<std::string>();
      const std::string field = absl::StrCat(what, ".", fk);
      if (fk == "name") {
        if (!f.second.IsScalar() || f.second.Scalar().empty() || f.second.Scalar().size() > 64 ||
            f.second.Scalar().find_first_not_of(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789._-") != std::string::npos)
          return ErrorAt(origin, f.second.Mark(),
                         absl::StrCat(field, ": expected 1-64 letters, digits, '.', '_' or '-'"));
        a.agent = f.second.Scalar();
      } else if (fk == "executables" || fk == "scripts") {
        absl::StatusOr<std::vector<std::string>> l = ReadStrings(origin, f.second, field);
        if (!l.ok()) return l.status();
        for (size_t i = 0; i < l->size(); ++i) {
          if (absl::Status st = CheckPathPattern((*l)[i]); !st.ok())
            return ErrorAt(origin, f.second[i].Mark(), absl::StrCat(field, ": ", st.message()));
        }
        (fk == "executables" ? a.executables : a.scripts) = *l;
      } else if (fk == "env") {
        absl::StatusOr<std::vector<EnvMarker>> m = ReadMarkers(origin, f.second, field);
        if (!m.ok()) return m.status();
        a.env = *m;
      } else {
        return ErrorAt(origin, f.first.Mark(),
                       absl::StrFormat("unknown key \"%s.%s\" (known: name, executables, "
                                       "scripts, env)",
                                       what, fk));
      }
    }
    if (a.agent.empty())
      return ErrorAt(origin, item.Mark(), absl::StrCat(what, ": an entry has no name"));
    if (a.executables.empty() && a.scripts.empty() && a.env.empty())
      return ErrorAt(
          origin, item.Mark(),
          absl::StrFormat("%s: \"%s\" has no executables, scripts or env", what, a.agent));
    a.origin = absl::StrFormat("%s:%d", origin, item.Mark().line + 1);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

bool IsAgentPack(const YAML::Node& root) {
  return root.IsMap() && root.size() == 1 && root["agents"] && root["agents"].IsSequence();
}

absl::StatusOr<std::vector<AgentSignature>> LoadAgentPack(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return absl::NotFoundError(absl::StrFormat("%s: cannot read agent signature pack", path));
  std::stringstream ss;
  ss << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(ss.str());
  } catch (const YAML::ParserException& e) {
    return ErrorAt(path, e.mark, absl::StrCat("invalid YAML: ", e.msg));
  }
  if (!IsAgentPack(root))
    return ErrorAt(path, root.Mark(),
                   "an agent signature pack holds only `agents:`, a list of {name, executables, "
                   "scripts, env}");
  try {
    return ParseAgentList(path, root["agents"], "agents");
  } catch (const YAML::Exception& e) {
    return ErrorAt(path, e.mark, e.msg);
  }
}

absl::StatusOr<SignatureSet> MergeSignatures(bool defaults, std::vector<AgentSignature> added,
                                             SignatureSet extra) {
  // Names are unique among added signatures; one with a built-in's name
  // replaces it (a fleet's pack can correct a built-in signature).
  absl::flat_hash_map<std::string, const AgentSignature*> seen;
  for (const AgentSignature& a : added) {
    auto [it, fresh] = seen.emplace(a.agent, &a);
    if (!fresh)
      return absl::InvalidArgumentError(absl::StrFormat("%s: agent \"%s\" is already defined at %s",
                                                        a.origin, a.agent, it->second->origin));
  }
  SignatureSet set = defaults ? DefaultSignatures() : SignatureSet{};
  std::erase_if(set.agents, [&](const AgentSignature& a) { return seen.contains(a.agent); });
  set.agents.insert(set.agents.end(), std::make_move_iterator(added.begin()),
                    std::make_move_iterator(added.end()));
  set.launchers.insert(set.launchers.end(), extra.launchers.begin(), extra.launchers.end());
  set.ide_env.insert(set.ide_env.end(), extra.ide_env.begin(), extra.ide_env.end());
  if (extra.generic_env_set) set.generic_env = std::move(extra.generic_env);
  set.suspect = std::move(extra.suspect);
  if (absl::StatusOr<KernelSignatures> k = BuildKernelSignatures(set); !k.ok()) return k.status();
  return set;
}

namespace {

absl::Status ParseAi(absl::string_view origin, const YAML::Node& node, Config& c) {
  if (absl::Status s = RequireMap(origin, node, "ai"); !s.ok()) return s;
  bool defaults = true;
  SignatureSet extra;
  std::vector<AgentSignature> added;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (key == "defaults") {
      absl::StatusOr<bool> b = ReadBool(origin, kv.second, "ai.defaults");
      if (!b.ok()) return b.status();
      defaults = *b;
    } else if (key == "launchers") {
      absl::StatusOr<std::vector<std::string>> l = ReadStrings(origin, kv.second, "ai.launchers");
      if (!l.ok()) return l.status();
      extra.launchers = *l;
    } else if (key == "ide_env") {
      absl::StatusOr<std::vector<EnvMarker>> m = ReadMarkers(origin, kv.second, "ai.ide_env");
      if (!m.ok()) return m.status();
      extra.ide_env = *m;
    } else if (key == "generic_env") {
      if (kv.second.IsSequence() && kv.second.size() == 0) {
        extra.generic_env_set = true;  // "generic_env: []": none
        continue;
      }
      absl::StatusOr<std::vector<std::string>> l = ReadStrings(origin, kv.second, "ai.generic_env");
      if (!l.ok()) return l.status();
      for (size_t i = 0; i < l->size(); ++i) {
        absl::StatusOr<EnvMarker> m = ParseEnvMarker((*l)[i]);
        if (!m.ok() || m->mode != PS_AIV_ANY)
          return ErrorAt(origin, kv.second[i].Mark(),
                         absl::StrFormat("ai.generic_env: \"%s\" is not a variable's name "
                                         "(letters, digits and _)",
                                         (*l)[i]));
      }
      extra.generic_env = *l;
      extra.generic_env_set = true;
    } else if (key == "suspected") {
      absl::StatusOr<bool> b = ReadBool(origin, kv.second, "ai.suspected");
      if (!b.ok()) return b.status();
      extra.suspect.enabled = *b;
    } else if (key == "suspect_min_age_s") {
      uint32_t v = 0;
      if (!kv.second.IsScalar() || !absl::SimpleAtoi(kv.second.Scalar(), &v) || v > 86400)
        return ErrorAt(origin, kv.second.Mark(),
                       "ai.suspect_min_age_s: expected a whole number of seconds in [0, 86400]");
      extra.suspect.min_age_ns = uint64_t{v} * 1'000'000'000;
    } else if (key == "status_file") {
      if (!kv.second.IsScalar() || kv.second.Scalar().empty() || kv.second.Scalar()[0] != '/')
        return ErrorAt(origin, kv.second.Mark(), "ai.status_file: expected an absolute path");
      c.status_file = kv.second.Scalar();
    } else if (key == "agents") {
      absl::StatusOr<std::vector<AgentSignature>> l =
          ParseAgentList(origin, kv.second, "ai.agents");
      if (!l.ok()) return l.status();
      added.insert(added.end(), l->begin(), l->end());
    } else if (key == "files") {
      absl::StatusOr<std::vector<std::string>> l = ReadStrings(origin, kv.second, "ai.files");
      if (!l.ok()) return l.status();
      for (size_t i = 0; i < l->size(); ++i) {
        const std::string& pattern = (*l)[i];
        if (pattern[0] != '/')
          return ErrorAt(origin, kv.second[i].Mark(),
                         absl::StrFormat("ai.files: \"%s\" is not an absolute path", pattern));
        const std::optional<std::vector<std::string>> paths = FilesOf(pattern);
        if (!paths)
          return ErrorAt(origin, kv.second[i].Mark(),
                         absl::StrFormat("ai.files: cannot read agent signature pack %s", pattern));
        for (const std::string& p : *paths) {
          absl::StatusOr<std::vector<AgentSignature>> pack = LoadAgentPack(p);
          if (!pack.ok()) return pack.status();
          added.insert(added.end(), pack->begin(), pack->end());
        }
      }
    } else {
      return ErrorAt(origin, kv.first.Mark(),
                     absl::StrFormat("unknown key \"ai.%s\" (known: defaults, agents, files, "
                                     "launchers, ide_env, generic_env, suspected, "
                                     "suspect_min_age_s, status_file)",
                                     key));
    }
  }
  absl::StatusOr<SignatureSet> set = MergeSignatures(defaults, std::move(added), std::move(extra));
  if (!set.ok()) {
    // A clash inside a pack or between entries already names its place.
    if (absl::StrContains(set.status().message(), " is already defined at ")) return set.status();
    return ErrorAt(origin, node.Mark(), absl::StrCat("ai: ", set.status().message()));
  }
  c.signatures = *std::move(set);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadText(absl::string_view origin, const YAML::Node& node,
                                     absl::string_view what) {
  if (!node.IsScalar() || node.Scalar().empty())
    return ErrorAt(origin, node.Mark(), absl::StrCat(what, ": expected text"));
  return node.Scalar();
}

// `sinks:` — a list of {type: file|journald|syslog|webhook, ...}.
absl::Status ParseSinks(absl::string_view origin, const YAML::Node& node, Config& c) {
  if (!node.IsSequence()) return ErrorAt(origin, node.Mark(), "sinks: expected a list");
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& item = node[i];
    const std::string what = absl::StrCat("sinks[", i, "]");
    if (!item.IsMap() || !item["type"])
      return ErrorAt(origin, item.Mark(),
                     absl::StrCat(what,
                                  ": expected a mapping with a type (file, journald, "
                                  "syslog, webhook)"));
    SinkConfig s;
    s.origin = absl::StrFormat("%s:%d", origin, item.Mark().line + 1);
    const std::string type = item["type"].IsScalar() ? item["type"].Scalar() : "";
    // Per type: its keys besides the common ones, and its defaults.
    std::vector<absl::string_view> known = {"type", "min_severity", "queue", "attempts"};
    if (type == "file") {
      s.type = SinkConfig::Type::kFile;
      known.insert(known.end(), {"path", "max_size_mb", "keep"});
    } else if (type == "journald") {
      s.type = SinkConfig::Type::kJournald;
      s.max_attempts = 5;
    } else if (type == "syslog") {
      s.type = SinkConfig::Type::kSyslog;
      s.min_severity = Severity::kMedium;
      known.insert(known.end(),
                   {"address", "facility", "app_name", "hostname", "sd_id", "message"});
    } else if (type == "webhook") {
      s.type = SinkConfig::Type::kWebhook;
      s.min_severity = Severity::kHigh;
      s.queue = 1000;
      s.max_attempts = 4;
      known.insert(known.end(), {"url", "format", "headers", "timeout_ms"});
    } else {
      return ErrorAt(origin, item["type"].Mark(),
                     absl::StrFormat("%s.type: \"%s\" is not one of file, journald, syslog, "
                                     "webhook",
                                     what, type));
    }
    bool have_required = type == "journald";
    for (const auto& kv : item) {
      const std::string key = kv.first.as<std::string>();
      const std::string w = absl::StrCat(what, ".", key);
      const YAML::Node& v = kv.second;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        return ErrorAt(origin, kv.first.Mark(),
                       absl::StrFormat("unknown key \"%s\" for a %s sink (known: %s)", w, type,
                                       absl::StrJoin(known, ", ")));
      }
      if (key == "type") continue;
      absl::StatusOr<std::string> text;
      if (key == "min_severity") {
        std::optional<Severity> sev = v.IsScalar() ? ParseSeverity(v.Scalar()) : std::nullopt;
        if (!sev)
          return ErrorAt(origin, v.Mark(),
                         absl::StrCat(w, ": expected low, medium, high or critical"));
        s.min_severity = *sev;
      } else if (key == "queue") {
        absl::StatusOr<uint32_t> n = ReadUint(origin, v, w, 1, 1000000);
        if (!n.ok()) return n.status();
        s.queue = *n;
      } else if (key == "attempts") {
        absl::StatusOr<uint32_t> n = ReadUint(origin, v, w, 0, 1000);
        if (!n.ok()) return n.status();
        s.max_attempts = static_cast<int>(*n);
      } else if (key == "path") {
        if (!(text = ReadText(origin, v, w)).ok()) return text.status();
        if ((*text)[0] != '/')
          return ErrorAt(origin, v.Mark(), absl::StrCat(w, ": expected an absolute path"));
        s.file.path = *text;
        have_required = true;
      } else if (key == "max_size_mb") {
        absl::StatusOr<uint32_t> n = ReadUint(origin, v, w, 1, 1 << 20);
        if (!n.ok()) return n.status();
        s.file.max_bytes = uint64_t{*n} << 20;
      } else if (key == "keep") {
        absl::StatusOr<uint32_t> n = ReadUint(origin, v, w, 0, 1000);
        if (!n.ok()) return n.status();
        s.file.keep = static_cast<int>(*n);
      } else if (key == "address") {
        if (!(text = ReadText(origin, v, w)).ok()) return text.status();
        // host:port, [v6]:port
        const size_t colon = text->rfind(':');
        std::string host = colon == std::string::npos ? "" : text->substr(0, colon);
        const std::string port = colon == std::string::npos ? "" : text->substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
          host = host.substr(1, host.size() - 2);
        uint32_t p = 0;
        if (host.empty() || !absl::SimpleAtoi(port, &p) || p == 0 || p > 65535)
          return ErrorAt(origin, v.Mark(),
                         absl::StrFormat("%s: \"%s\" is not HOST:PORT (syslog goes over TCP, "
                                         "e.g. logs.example.com:514)",
                                         w, *text));
        s.syslog.host = host;
        s.syslog.port = port;
        have_required = true;
      } else if (key == "facility") {
        std::optional<int> f = v.IsScalar() ? SyslogFacility(v.Scalar()) : std::nullopt;
        if (!f)
          return ErrorAt(origin, v.Mark(),
                         absl::StrCat(w,
                                      ": expected a facility name (auth, authpriv, daemon, "
                                      "local0 ... local7, ...)"));
        s.syslog.facility = *f;
      } else if (key == "app_name" || key == "hostname" || key == "sd_id") {
        if (!(text = ReadText(origin, v, w)).ok()) return text.status();
        for (const char ch : *text) {
          if (ch < 33 || ch > 126 || (key == "sd_id" && (ch == '=' || ch == ']' || ch == '"')))
            return ErrorAt(origin, v.Mark(), absl::StrCat(w, ": printable ASCII without spaces"));
        }
        (key == "app_name"   ? s.syslog.app_name
         : key == "hostname" ? s.syslog.hostname
                             : s.syslog.sd_id) = *text;
      } else if (key == "message") {
        const std::string m = v.IsScalar() ? v.Scalar() : "";
        if (m != "json" && m != "text")
          return ErrorAt(origin, v.Mark(), absl::StrCat(w, ": expected json or text"));
        s.syslog.json_message = m == "json";
      } else if (key == "url") {
        if (!(text = ReadText(origin, v, w)).ok()) return text.status();
        if (!absl::StartsWith(*text, "http://") && !absl::StartsWith(*text, "https://"))
          return ErrorAt(origin, v.Mark(),
                         absl::StrCat(w, ": expected an http:// or https:// URL"));
        s.webhook.url = *text;
        have_required = true;
      } else if (key == "format") {
        const std::string f = v.IsScalar() ? v.Scalar() : "";
        if (f != "json" && f != "slack")
          return ErrorAt(origin, v.Mark(), absl::StrCat(w, ": expected json or slack"));
        s.webhook.slack = f == "slack";
      } else if (key == "headers") {
        if (!v.IsMap())
          return ErrorAt(origin, v.Mark(),
                         absl::StrCat(w, ": expected a mapping of header names to values"));
        for (const auto& h : v) {
          const std::string name = h.first.as<std::string>();
          const std::string value = h.second.IsScalar() ? h.second.Scalar() : "";
          if (name.empty() || name.find_first_of(": \r\n") != std::string::npos ||
              value.find_first_of("\r\n") != std::string::npos)
            return ErrorAt(origin, h.first.Mark(), absl::StrCat(w, ": bad header \"", name, "\""));
          s.webhook.headers.push_back(absl::StrCat(name, ": ", value));
        }
      } else if (key == "timeout_ms") {
        absl::StatusOr<uint32_t> n = ReadUint(origin, v, w, 100, 120000);
        if (!n.ok()) return n.status();
        s.webhook.timeout = absl::Milliseconds(*n);
      }
    }
    if (!have_required) {
      return ErrorAt(origin, item.Mark(),
                     absl::StrFormat("%s: a %s sink needs %s", what, type,
                                     type == "file"     ? "a path"
                                     : type == "syslog" ? "an address"
                                                        : "a url"));
    }
    // The identity of the sink for reloads: every setting, in a fixed order.
    s.key = absl::StrCat(
        type, "|", SeverityName(s.min_severity), "|", s.queue, "|", s.max_attempts, "|",
        s.file.path, "|", s.file.max_bytes, "|", s.file.keep, "|", s.syslog.host, "|",
        s.syslog.port, "|", s.syslog.facility, "|", s.syslog.app_name, "|", s.syslog.hostname, "|",
        s.syslog.sd_id, "|", s.syslog.json_message, "|", s.webhook.url, "|", s.webhook.slack, "|",
        absl::StrJoin(s.webhook.headers, "\n"), "|", absl::ToInt64Milliseconds(s.webhook.timeout));
    c.sinks.push_back(std::move(s));
  }
  return absl::OkStatus();
}

absl::Status ParseMetrics(absl::string_view origin, const YAML::Node& node, Config& c) {
  if (absl::Status s = RequireMap(origin, node, "metrics"); !s.ok()) return s;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "enabled") {
      absl::StatusOr<bool> b = ReadBool(origin, v, "metrics.enabled");
      if (!b.ok()) return b.status();
      c.metrics_enabled = *b;
    } else if (key == "address") {
      const std::string a = v.IsScalar() ? v.Scalar() : "";
      const size_t colon = a.rfind(':');
      uint32_t port = 0;
      if (colon == std::string::npos || colon == 0 ||
          !absl::SimpleAtoi(a.substr(colon + 1), &port) || port > 65535)
        return ErrorAt(origin, v.Mark(),
                       "metrics.address: expected HOST:PORT (an IPv4 address or localhost)");
      c.metrics_address = a;
    } else {
      return ErrorAt(origin, kv.first.Mark(),
                     absl::StrFormat("unknown key \"metrics.%s\" (known: enabled, address)", key));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseTail(absl::string_view origin, const YAML::Node& node, Config& c) {
  if (absl::Status s = RequireMap(origin, node, "tail"); !s.ok()) return s;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "enabled") {
      absl::StatusOr<bool> b = ReadBool(origin, v, "tail.enabled");
      if (!b.ok()) return b.status();
      c.tail_enabled = *b;
    } else if (key == "socket") {
      if (!v.IsScalar() || v.Scalar().empty() || v.Scalar()[0] != '/' || v.Scalar().size() > 107)
        return ErrorAt(origin, v.Mark(),
                       "tail.socket: expected an absolute path of at most 107 bytes");
      c.tail.socket_path = v.Scalar();
    } else if (key == "group") {
      if (!v.IsScalar() || v.Scalar().empty())
        return ErrorAt(origin, v.Mark(), "tail.group: expected a group name");
      c.tail.group = v.Scalar();
    } else if (key == "backlog") {
      absl::StatusOr<uint32_t> n = ReadUint(origin, v, "tail.backlog", 0, 1000000);
      if (!n.ok()) return n.status();
      c.tail.backlog_events = *n;
    } else if (key == "client_buffer_kb") {
      absl::StatusOr<uint32_t> n = ReadUint(origin, v, "tail.client_buffer_kb", 64, 1 << 20);
      if (!n.ok()) return n.status();
      c.tail.client_buffer_bytes = size_t{*n} << 10;
    } else {
      return ErrorAt(origin, kv.first.Mark(),
                     absl::StrFormat("unknown key \"tail.%s\" (known: enabled, socket, group, "
                                     "backlog, client_buffer_kb)",
                                     key));
    }
  }
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
  if (IsRuleFile(root))
    return ErrorAt(origin, root.Mark(),
                   "this is a rule file (rules: a list), not a configuration: name it in the "
                   "configuration's rules.files");
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
      } else if (key == "rules") {
        absl::StatusOr<RuleSet> rules = ParseRuleSet(kv.second, origin);
        if (rules.ok()) {
          c.rules = *std::move(rules);
        } else {
          s = rules.status();
        }
      } else if (key == "sinks") {
        s = ParseSinks(origin, kv.second, c);
      } else if (key == "tail") {
        s = ParseTail(origin, kv.second, c);
      } else if (key == "metrics") {
        s = ParseMetrics(origin, kv.second, c);
      } else {
        s = ErrorAt(origin, kv.first.Mark(),
                    absl::StrFormat("unknown key \"%s\" (known: output, capture, watch, ai, "
                                    "rules, sinks, tail, metrics)",
                                    key));
      }
      if (!s.ok()) return s;
    }
  } catch (const YAML::Exception& e) {
    return ErrorAt(origin, e.mark, e.msg);
  }
  return c;
}

absl::StatusOr<std::string> CheckConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrFormat("%s: cannot read config file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(ss.str());
  } catch (const YAML::ParserException& e) {
    return ErrorAt(path, e.mark, absl::StrCat("invalid YAML: ", e.msg));
  }
  if (IsRuleFile(root)) {
    absl::StatusOr<std::vector<Rule>> rules = LoadRuleFile(path);
    if (!rules.ok()) return rules.status();
    return absl::StrFormat("%s: ok (rule file: %d rules)", path, rules->size());
  }
  if (IsAgentPack(root)) {
    absl::StatusOr<std::vector<AgentSignature>> pack = LoadAgentPack(path);
    if (!pack.ok()) return pack.status();
    std::vector<std::string> names;
    for (const AgentSignature& a : *pack) names.push_back(a.agent);
    // Checked against the built-in table as the sensor would merge it.
    absl::StatusOr<SignatureSet> merged = MergeSignatures(true, *pack, SignatureSet{});
    if (!merged.ok())
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", merged.status().message()));
    return absl::StrFormat("%s: ok (agent signature pack: %d agents: %s)", path, pack->size(),
                           absl::StrJoin(names, ", "));
  }
  absl::StatusOr<Config> cfg = ParseConfig(ss.str(), path);
  if (!cfg.ok()) return cfg.status();
  std::vector<std::string> sinks;
  for (const SinkConfig& s : cfg->sinks) sinks.push_back(s.Describe());
  return absl::StrFormat(
      "%s: ok (%d rules, %d credential-file entries, %d agent signatures, %s output, sinks: %s, "
      "tail %s)",
      path, cfg->rules.rules.size(), cfg->watch.size(), cfg->signatures.agents.size(),
      cfg->format == OutputFormat::kJson ? "json" : "text",
      sinks.empty() ? "none" : absl::StrJoin(sinks, ", "),
      cfg->tail_enabled ? cfg->tail.socket_path : "off");
}

std::optional<Config> LoadConfigOrSay(const std::string& path) {
  absl::StatusOr<Config> c = LoadConfigFile(path);
  if (!c.ok()) {
    std::fprintf(stderr, "permsentry: %s\n", std::string(c.status().message()).c_str());
    return std::nullopt;
  }
  return *std::move(c);
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
      "                           # env is NAME, NAME=VALUE or NAME=PREFIX*; a name that\n"
      "                           # is built in replaces the built-in signature\n"
      "  files: []                # signature packs (\"/etc/permsentry/agents.d/*.yaml\"):\n"
      "                           # agents: [...], merged like ai.agents\n"
      "  generic_env: ",
      List(d.signatures.generic_env),
      "   # markers any agent may set, whose value\n"
      "                           # names it (AI_AGENT=NAME): sessions for agents nobody\n"
      "                           # listed; a listed agent's own marker wins\n"
      "  suspected: ",
      d.signatures.suspect.enabled ? "true" : "false",
      "          # `suspected`: no signature matched, but a long-lived program\n"
      "                           # (on a terminal, or a login's interpreter) starts\n"
      "                           # shells without a terminal that make changes\n"
      "  suspect_min_age_s: ",
      d.signatures.suspect.min_age_ns / 1'000'000'000,
      "     # how long that program must have run\n"
      "  # launchers: interpreters whose argv[1] is matched against scripts (built in):\n"
      "  #   ",
      List(d.signatures.launchers),
      "\n  # ide_env: markers of an IDE terminal (assisted when an agent runs in that IDE):\n"
      "  #   ",
      List(ide), "\n  status_file: ", d.status_file, "   # read by `permsentry status`\n");
}

// Lines of YAML as comments, indented.
std::string Commented(absl::string_view yaml, absl::string_view indent) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(yaml, '\n')) {
    if (line.empty()) continue;
    absl::StrAppend(&out, indent, "# ", line, "\n");
  }
  return out;
}

std::string RulesDefaultYaml(const Config& d) {
  return absl::StrCat(
      "rules:\n"
      "  defaults: true           # the built-in pack, listed at the end\n"
      "  default_exclusions: true # package managers (below): never alerted on\n"
      "  disable: []              # rule ids to turn off\n"
      "  exclude: []              # more exclusions: conditions, as in a rule's except\n",
      absl::StrFormat("  coalesce_window_s: %d    # repeats of an alert (rule, process, path) "
                      "are counted into one summary\n",
                      absl::ToInt64Seconds(d.rules.coalesce_window)),
      "  files: []                # rule files (\"/etc/permsentry/rules.d/*.yaml\"): rules: [...]\n"
      "  custom: []               # rules here (a rule with a built-in id replaces it)\n",
      Commented(DefaultExclusionsYaml(), "  "),
      "sinks: []                  # where alerts go besides stdout and the tail socket:\n"
      "  # - {type: file, path: /var/log/permsentry/alerts.jsonl, max_size_mb: 100, keep: 5}\n"
      "  # - {type: journald, min_severity: low}\n"
      "  # - {type: syslog, address: \"logs.example.com:514\", facility: auth, min_severity: "
      "medium}\n"
      "  # - {type: webhook, url: \"https://hooks.slack.com/services/...\", format: slack,\n"
      "  #    min_severity: high, headers: {Authorization: \"Bearer ...\"}}\n"
      "  # every sink: min_severity, queue (alerts held while it is down), attempts\n",
      absl::StrFormat("tail:                       # the live stream for `permsentry tail`\n"
                      "  enabled: true\n"
                      "  socket: %s\n"
                      "  group: %s        # besides root, who may tail (mode 0660)\n"
                      "  backlog: %d           # events kept for tail --since\n"
                      "  client_buffer_kb: %d    # a tail further behind is cut loose\n",
                      d.tail.socket_path, d.tail.group, d.tail.backlog_events,
                      d.tail.client_buffer_bytes >> 10),
      absl::StrFormat("metrics:                    # Prometheus text format on GET /metrics\n"
                      "  enabled: false\n"
                      "  address: %s   # HOST:PORT; keep it on loopback or a trusted net\n",
                      d.metrics_address),
      "# The built-in rules (rules.defaults):\n", Commented(DefaultRulesYaml(), ""));
}

}  // namespace

std::vector<std::string> RestartOnlyChanges(const Config& running, const Config& next) {
  std::vector<std::string> out;
  const auto check = [&](bool differs, const char* key) {
    if (differs) out.push_back(key);
  };
  check(running.bulk_ring_mb != next.bulk_ring_mb, "capture.bulk_ring_mb");
  check(running.urgent_ring_kb != next.urgent_ring_kb, "capture.urgent_ring_kb");
  check(running.drain_interval_ms != next.drain_interval_ms, "capture.drain_interval_ms");
  check(running.stats_interval_ms != next.stats_interval_ms, "capture.stats_interval_ms");
  check(running.process_table_entries != next.process_table_entries,
        "capture.process_table_entries");
  check(running.stdout_buffer_mb != next.stdout_buffer_mb, "output.buffer_mb");
  check(running.status_file != next.status_file, "ai.status_file");
  check(running.tail_enabled != next.tail_enabled, "tail.enabled");
  check(running.tail.socket_path != next.tail.socket_path, "tail.socket");
  check(running.tail.group != next.tail.group, "tail.group");
  check(running.tail.backlog_events != next.tail.backlog_events, "tail.backlog");
  check(running.tail.client_buffer_bytes != next.tail.client_buffer_bytes, "tail.client_buffer_kb");
  check(running.metrics_enabled != next.metrics_enabled, "metrics.enabled");
  check(running.metrics_address != next.metrics_address, "metrics.address");
  return out;
}

std::string DefaultConfigYaml() {
  const Config d;
  std::string watch;
  for (const WatchEntry& e : DefaultWatchList())
    absl::StrAppend(&watch, absl::StrFormat("  #   %-30s %s\n", e.pattern, e.cls));
  return absl::StrCat(
      absl::StrFormat(
          "# permsentry configuration (built-in defaults)\n"
          "output:                     # stdout\n"
          "  format: json            # json (ECS, one object per line) | text\n"
          "  color: auto             # text: auto (on a terminal) | always | never\n"
          "  events: all             # all | alerts\n"
          "  min_severity: low       # with events: alerts\n"
          "  buffer_mb: %d           # a slow reader's backlog before events are dropped\n"
          "capture:\n"
          "  bulk_ring_mb: %d         # all events; drained every drain_interval_ms\n"
          "  urgent_ring_kb: %d     # alert candidates; read at once\n"
          "  drain_interval_ms: %d\n"
          "  stats_interval_ms: %d  # how often lost-event counters are checked\n"
          "  process_table_entries: %d  # live processes the kernel's table holds\n"
          "  coalesce_window_ms: %d  # identical repeats (same process, object, call,\n"
          "                           # result and state) within this of the last are\n"
          "                           # counted in the kernel and reported as one event\n"
          "                           # with permsentry.repeats; 0: off. Alert\n"
          "                           # candidates are never coalesced\n",
          d.stdout_buffer_mb, d.bulk_ring_mb, d.urgent_ring_kb, d.drain_interval_ms,
          d.stats_interval_ms, d.process_table_entries, d.coalesce_window_ms),
      "watch:                     # credential files, recognised by inode identity\n"
      "  defaults: true           # the built-in list:\n",
      watch,
      absl::StrFormat(
          "  paths: []               # more: \"/dir/\" = a directory and its entries,\n"
          "                           # \"~/x\" = x in every home, {path: P, class: C}\n"
          "  refresh_interval_s: %d   # re-read even without a rename or link\n",
          d.watch_refresh_s),
      AiDefaultYaml(d), RulesDefaultYaml(d));
}

}  // namespace permsentry
