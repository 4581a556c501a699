#include "rules/rules.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/actions.h"
#include "common/file_patterns.h"
#include "common/syscall_table.h"
#include "common/yaml_error.h"
#include "enrich/xattr_decode.h"

namespace permsentry {
namespace {

// ------------------------------------------------------------------ vocabulary

bool KnownSyscall(absl::string_view name) {
  for (const auto& list : {AllSyscalls(), AllIoUringOps()})
    for (const SyscallInfo& s : list)
      if (s.name == name) return true;
  return false;
}

struct ModeBit {
  absl::string_view name;
  uint32_t bits;
};
constexpr ModeBit kModeBits[] = {
    {"setuid", kModeSetuid},  {"setgid", kModeSetgid},  {"sticky", kModeSticky},
    {"owner_readable", 0400}, {"owner_writable", 0200}, {"owner_executable", 0100},
    {"group_readable", 0040}, {"group_writable", 0020}, {"group_executable", 0010},
    {"world_readable", 0004}, {"world_writable", 0002}, {"world_executable", 0001},
};

struct Named {
  absl::string_view name;
  uint32_t bits;
};
constexpr Named kOutcomes[] = {{"success", static_cast<uint32_t>(Outcome::kSuccess)},
                               {"failure", static_cast<uint32_t>(Outcome::kFailure)},
                               {"unknown", static_cast<uint32_t>(Outcome::kUnknown)},
                               {"any", 7}};
constexpr Named kFileTypes[] = {
    {"file", kTypeFile}, {"dir", kTypeDir}, {"symlink", kTypeSymlink}, {"other", kTypeOther}};
constexpr Named kGrants[] = {{"others", kGrantOthers},
                             {"named_user", kGrantNamedUser},
                             {"non_owner_user", kGrantNonOwnerUser},
                             {"named_group", kGrantNamedGroup},
                             {"any", kGrantOthers | kGrantNamedUser | kGrantNamedGroup}};
constexpr Named kAttributions[] = {
    {"none", 1u << static_cast<int>(Attribution::Kind::kNone)},
    {"agent", 1u << static_cast<int>(Attribution::Kind::kAgent)},
    {"assisted", 1u << static_cast<int>(Attribution::Kind::kAssisted)},
    {"suspected", 1u << static_cast<int>(Attribution::Kind::kSuspected)}};

template <typename T, size_t N>
std::string NamesOf(const T (&table)[N]) {
  std::vector<std::string> v;
  for (const T& t : table) v.emplace_back(t.name);
  return absl::StrJoin(v, ", ");
}

constexpr absl::string_view kConditionKeys[] = {
    "action",        "syscall",
    "outcome",       "path",
    "watched",       "covers_watched",
    "path_changed",  "watch_class",
    "file_type",     "mode_added",
    "mode_removed",  "mode_has",
    "mode_lacks",    "mode_is",
    "owner_to",      "group_to",
    "gid_to",        "acl_grants",
    "file_caps",     "xattr",
    "creds_to_root", "caps_gained",
    "attribution",   "agent",
    "process_name",  "process_executable",
    "ancestor_name", "ancestor_executable",
    "user",          "effective_user",
};

// ------------------------------------------------------------------ parsing helpers

// A key's values: a scalar or a list of scalars, each with its line.
absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> Values(const YAML::Node& node,
                                                                       absl::string_view origin,
                                                                       absl::string_view what,
                                                                       bool allow_empty = false) {
  std::vector<std::pair<std::string, YAML::Mark>> out;
  if (node.IsScalar()) {
    out.emplace_back(node.Scalar(), node.Mark());
  } else if (node.IsSequence() && (node.size() > 0 || allow_empty)) {
    for (const YAML::Node& item : node) {
      if (!item.IsScalar())
        return YamlError(
            origin, item.Mark(),
            absl::StrCat(what, ": expected text, not a ", item.IsMap() ? "mapping" : "list"));
      out.emplace_back(item.Scalar(), item.Mark());
    }
  } else {
    return YamlError(origin, node.Mark(), absl::StrCat(what, ": expected a value or a list"));
  }
  for (const auto& [v, mark] : out)
    if (v.empty()) return YamlError(origin, mark, absl::StrCat(what, ": empty value"));
  return out;
}

absl::StatusOr<bool> Bool(const YAML::Node& node, absl::string_view origin,
                          absl::string_view what) {
  const std::string v = node.IsScalar() ? node.Scalar() : "";
  if (v == "true") return true;
  if (v == "false") return false;
  return YamlError(origin, node.Mark(), absl::StrCat(what, ": expected true or false"));
}

template <typename T, size_t N>
absl::StatusOr<uint32_t> Bits(const YAML::Node& node, absl::string_view origin,
                              absl::string_view what, const T (&table)[N]) {
  absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals = Values(node, origin, what);
  if (!vals.ok()) return vals.status();
  uint32_t bits = 0;
  for (const auto& [v, mark] : *vals) {
    bool found = false;
    for (const T& t : table) {
      if (t.name == v) {
        bits |= t.bits;
        found = true;
      }
    }
    if (!found)
      return YamlError(origin, mark,
                       absl::StrFormat("%s: \"%s\" is not one of %s", what, v, NamesOf(table)));
  }
  return bits;
}

absl::StatusOr<std::vector<Glob>> Globs(const YAML::Node& node, absl::string_view origin,
                                        absl::string_view what, Glob::Kind kind) {
  absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals = Values(node, origin, what);
  if (!vals.ok()) return vals.status();
  std::vector<Glob> out;
  for (const auto& [v, mark] : *vals) {
    absl::StatusOr<Glob> g = Glob::Compile(v, kind);
    if (!g.ok()) return YamlError(origin, mark, absl::StrCat(what, ": ", g.status().message()));
    out.push_back(*std::move(g));
  }
  return out;
}

absl::StatusOr<std::vector<IdSpec>> Ids(const YAML::Node& node, absl::string_view origin,
                                        absl::string_view what) {
  absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals = Values(node, origin, what);
  if (!vals.ok()) return vals.status();
  std::vector<IdSpec> out;
  for (const auto& [v, mark] : *vals) {
    uint32_t id;
    if (absl::SimpleAtoi(v, &id)) {
      out.push_back(IdSpec{.id = id, .name = {}});
    } else if (v.find_first_of(" \t:/") == std::string::npos) {
      out.push_back(IdSpec{.id = std::nullopt, .name = v});
    } else {
      return YamlError(origin, mark,
                       absl::StrFormat("%s: \"%s\" is neither a number nor a name", what, v));
    }
  }
  return out;
}

// Capability names, or "any" (returns mask 0).
absl::StatusOr<uint64_t> Caps(const YAML::Node& node, absl::string_view origin,
                              absl::string_view what) {
  absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals = Values(node, origin, what);
  if (!vals.ok()) return vals.status();
  uint64_t mask = 0;
  for (const auto& [v, mark] : *vals) {
    if (v == "any") {
      if (vals->size() != 1)
        return YamlError(origin, mark, absl::StrCat(what, ": \"any\" stands alone"));
      return 0;
    }
    std::optional<int> bit = CapabilityBit(v);
    if (!bit)
      return YamlError(origin, mark,
                       absl::StrFormat("%s: \"%s\" is not a capability name (CAP_SYS_ADMIN, "
                                       "CAP_SETUID, ...; or any)",
                                       what, v));
    mask |= uint64_t{1} << *bit;
  }
  return mask;
}

bool AnyGlob(const std::vector<Glob>& globs, absl::string_view s) {
  for (const Glob& g : globs)
    if (g.Matches(s)) return true;
  return false;
}

bool IdMatches(const std::vector<IdSpec>& specs, uint32_t id, bool group, NameCache& names) {
  std::optional<std::string> name;
  bool looked = false;
  for (const IdSpec& s : specs) {
    if (s.id) {
      if (*s.id == id) return true;
      continue;
    }
    if (!looked) {
      name = group ? names.GroupName(id) : names.UserName(id);
      looked = true;
    }
    if (name && *name == s.name) return true;
  }
  return false;
}

}  // namespace

// ------------------------------------------------------------------ Condition

absl::StatusOr<Condition> Condition::Parse(const YAML::Node& node, absl::string_view origin,
                                           absl::string_view what, bool exception) {
  if (!node.IsMap() || node.size() == 0)
    return YamlError(origin, node.Mark(),
                     absl::StrCat(what, ": expected a mapping of event fields to values"));
  Condition c;
  c.outcomes_ = exception ? 7
                          : static_cast<uint8_t>(static_cast<uint32_t>(Outcome::kSuccess) |
                                                 static_cast<uint32_t>(Outcome::kUnknown));
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string w = absl::StrCat(what, ".", key);
    const YAML::Node& v = kv.second;
    absl::Status s;
    const auto take_bits = [&](auto& dst, const auto& table) {
      absl::StatusOr<uint32_t> b = Bits(v, origin, w, table);
      if (!b.ok()) return b.status();
      dst = static_cast<std::remove_reference_t<decltype(dst)>>(*b);
      return absl::OkStatus();
    };
    const auto take_globs = [&](std::vector<Glob>& dst, Glob::Kind kind) {
      absl::StatusOr<std::vector<Glob>> g = Globs(v, origin, w, kind);
      if (!g.ok()) return g.status();
      dst = *std::move(g);
      return absl::OkStatus();
    };
    const auto take_ids = [&](std::vector<IdSpec>& dst) {
      absl::StatusOr<std::vector<IdSpec>> ids = Ids(v, origin, w);
      if (!ids.ok()) return ids.status();
      dst = *std::move(ids);
      return absl::OkStatus();
    };
    const auto take_bool = [&](std::optional<bool>& dst) {
      absl::StatusOr<bool> b = Bool(v, origin, w);
      if (!b.ok()) return b.status();
      dst = *b;
      return absl::OkStatus();
    };
    if (key == "action") {
      absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals = Values(v, origin, w);
      if (!vals.ok()) return vals.status();
      for (const auto& [a, mark] : *vals) {
        const int i = ActionIndex(a);
        if (i < 0)
          return YamlError(origin, mark,
                           absl::StrFormat("%s: \"%s\" is not an action (known: %s)", w, a,
                                           absl::StrJoin(Actions(), ", ")));
        c.actions_ |= uint64_t{1} << i;
      }
    } else if (key == "syscall") {
      absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals = Values(v, origin, w);
      if (!vals.ok()) return vals.status();
      for (const auto& [name, mark] : *vals) {
        if (!KnownSyscall(name))
          return YamlError(
              origin, mark,
              absl::StrFormat("%s: \"%s\" is not a syscall permsentry watches", w, name));
        c.syscalls_.push_back(name);
      }
    } else if (key == "outcome") {
      s = take_bits(c.outcomes_, kOutcomes);
    } else if (key == "path") {
      s = take_globs(c.paths_, Glob::Kind::kPath);
    } else if (key == "watched") {
      s = take_bool(c.watched_);
    } else if (key == "covers_watched") {
      s = take_bool(c.covers_watched_);
    } else if (key == "path_changed") {
      s = take_bool(c.path_changed_);
    } else if (key == "watch_class") {
      absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals = Values(v, origin, w);
      if (!vals.ok()) return vals.status();
      for (const auto& [cls, mark] : *vals) c.watch_classes_.push_back(cls);
    } else if (key == "file_type") {
      s = take_bits(c.file_types_, kFileTypes);
    } else if (key == "mode_added") {
      s = take_bits(c.mode_added_, kModeBits);
    } else if (key == "mode_removed") {
      s = take_bits(c.mode_removed_, kModeBits);
    } else if (key == "mode_has") {
      s = take_bits(c.mode_has_, kModeBits);
    } else if (key == "mode_lacks") {
      s = take_bits(c.mode_lacks_, kModeBits);
    } else if (key == "mode_is") {
      absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals = Values(v, origin, w);
      if (!vals.ok()) return vals.status();
      for (const auto& [m, mark] : *vals) {
        uint32_t mode = 0;
        bool ok = m.size() >= 3 && m.size() <= 5 && m[0] == '0';
        for (size_t i = 1; ok && i < m.size(); ++i) {
          ok = m[i] >= '0' && m[i] <= '7';
          mode = mode * 8 + static_cast<uint32_t>(m[i] - '0');
        }
        if (!ok || mode > 07777)
          return YamlError(origin, mark,
                           absl::StrFormat("%s: \"%s\" is not an octal mode such as \"0777\" or "
                                           "\"04755\" (quote it: YAML reads 0777 as a number)",
                                           w, m));
        // "0777" compares the permission bits, "04777" all twelve.
        c.mode_is_.emplace_back(mode, mode > 0777 ? 07777u : 0777u);
      }
    } else if (key == "owner_to") {
      s = take_ids(c.owner_to_);
    } else if (key == "group_to") {
      s = take_ids(c.group_to_);
    } else if (key == "gid_to") {
      s = take_ids(c.gid_to_);
    } else if (key == "acl_grants") {
      s = take_bits(c.acl_grants_, kGrants);
    } else if (key == "file_caps") {
      absl::StatusOr<uint64_t> m = Caps(v, origin, w);
      if (!m.ok()) return m.status();
      c.file_caps_ = true;
      c.file_caps_mask_ = *m;
    } else if (key == "xattr") {
      s = take_globs(c.xattrs_, Glob::Kind::kName);
    } else if (key == "creds_to_root") {
      s = take_bool(c.creds_to_root_);
    } else if (key == "caps_gained") {
      absl::StatusOr<uint64_t> m = Caps(v, origin, w);
      if (!m.ok()) return m.status();
      c.caps_gained_ = true;
      c.caps_gained_mask_ = *m;
    } else if (key == "attribution") {
      s = take_bits(c.attributions_, kAttributions);
    } else if (key == "agent") {
      s = take_globs(c.agents_, Glob::Kind::kName);
    } else if (key == "process_name") {
      s = take_globs(c.process_names_, Glob::Kind::kName);
    } else if (key == "process_executable") {
      s = take_globs(c.process_executables_, Glob::Kind::kName);
    } else if (key == "ancestor_name") {
      s = take_globs(c.ancestor_names_, Glob::Kind::kName);
    } else if (key == "ancestor_executable") {
      s = take_globs(c.ancestor_executables_, Glob::Kind::kName);
    } else if (key == "user") {
      s = take_ids(c.users_);
    } else if (key == "effective_user") {
      s = take_ids(c.effective_users_);
    } else {
      std::vector<absl::string_view> known(std::begin(kConditionKeys), std::end(kConditionKeys));
      return YamlError(origin, kv.first.Mark(),
                       absl::StrFormat("%s: unknown field \"%s\" (known: %s)", what, key,
                                       absl::StrJoin(known, ", ")));
    }
    if (!s.ok()) return s;
  }
  // What Matches cannot do without, from the tests it will make.
  const auto need = [&](bool on, Present b) { c.needs_ |= on ? b : 0u; };
  need(!c.paths_.empty(), kHasPath);
  need(c.file_types_ != 0, kHasFileType);
  need(c.watched_.value_or(false), kIsWatched);
  need(!c.watch_classes_.empty(), kHasWatchClass);
  need(c.covers_watched_.value_or(false), kCoversWatched);
  need(c.path_changed_.value_or(false), kPathChanged);
  need(c.mode_has_ != 0 || c.mode_lacks_ != 0 || !c.mode_is_.empty(), kHasModeAfter);
  need(c.mode_added_ != 0, kModeAdded);
  need(c.mode_removed_ != 0, kModeRemoved);
  need(!c.owner_to_.empty(), kHasOwnerTo);
  need(!c.group_to_.empty(), kHasGroupTo);
  need(c.acl_grants_ != 0, kAclGrants);
  need(c.file_caps_, kFileCapsSet);
  need(c.creds_to_root_.value_or(false), kCredsToRoot);
  need(c.caps_gained_, kCapsGained);
  need(!c.gid_to_.empty(), kGidsGained);
  need(!c.xattrs_.empty(), kHasXattrName);
  need(!c.process_executables_.empty(), kHasExecutable);
  return c;
}

bool Condition::Matches(const Facts& f, NameCache& names) const {
  // Cheapest and most selective first: most events fail on the action or
  // lack a fact the condition needs.
  if (!MayMatch(f)) return false;
  if (!(outcomes_ & static_cast<uint8_t>(f.outcome))) return false;
  if (watched_ && *watched_ != f.watched) return false;
  if (covers_watched_ && *covers_watched_ != f.covers_watched) return false;
  if (path_changed_ && *path_changed_ != f.path_changed) return false;
  if (mode_added_ && !(f.mode_added & mode_added_)) return false;
  if (mode_removed_ && !(f.mode_removed & mode_removed_)) return false;
  if (mode_has_ && !(f.mode_after && (*f.mode_after & mode_has_))) return false;
  if (mode_lacks_ && !(f.mode_after && !(*f.mode_after & mode_lacks_))) return false;
  if (!mode_is_.empty()) {
    if (!f.mode_after) return false;
    bool any = false;
    for (const auto& [value, mask] : mode_is_) any = any || (*f.mode_after & mask) == value;
    if (!any) return false;
  }
  if (file_types_ && !(f.file_type & file_types_)) return false;
  if (acl_grants_ && !(f.acl_grants & acl_grants_)) return false;
  if (file_caps_ && !(f.file_caps_set && (file_caps_mask_ == 0 || (f.file_caps & file_caps_mask_))))
    return false;
  if (creds_to_root_ && *creds_to_root_ != f.creds_to_root) return false;
  if (caps_gained_ &&
      !(f.caps_gained != 0 && (caps_gained_mask_ == 0 || (f.caps_gained & caps_gained_mask_))))
    return false;
  if (attributions_ && !(attributions_ & (1u << static_cast<int>(f.attribution)))) return false;
  if (!syscalls_.empty() &&
      std::find(syscalls_.begin(), syscalls_.end(), f.syscall) == syscalls_.end())
    return false;
  if (!watch_classes_.empty() && std::find(watch_classes_.begin(), watch_classes_.end(),
                                           f.watch_class) == watch_classes_.end())
    return false;
  // Ids before globs: a number compares in one instruction, a glob walks the path.
  if (!owner_to_.empty() && !(f.owner_to && IdMatches(owner_to_, *f.owner_to, false, names)))
    return false;
  if (!gid_to_.empty()) {
    bool any = false;
    for (const uint32_t g : f.gids_gained) any = any || IdMatches(gid_to_, g, true, names);
    if (!any) return false;
  }
  if (!group_to_.empty() && !(f.group_to && IdMatches(group_to_, *f.group_to, true, names)))
    return false;
  if (!paths_.empty() && !(f.path && AnyGlob(paths_, *f.path))) return false;
  if (!xattrs_.empty() && !(f.ev->xattr_name && AnyGlob(xattrs_, *f.ev->xattr_name))) return false;
  if (!agents_.empty() &&
      !(f.ai && f.attribution != Attribution::Kind::kNone && AnyGlob(agents_, f.ai->agent)))
    return false;
  if (!process_names_.empty() && !AnyGlob(process_names_, f.ev->proc.comm)) return false;
  if (!process_executables_.empty() &&
      !(!f.executable.empty() && AnyGlob(process_executables_, f.executable)))
    return false;
  if (!ancestor_names_.empty() || !ancestor_executables_.empty()) {
    bool name_hit = ancestor_names_.empty(), exe_hit = ancestor_executables_.empty();
    if (!name_hit && AnyGlob(ancestor_names_, f.ev->proc.comm)) name_hit = true;
    if (f.ai) {
      for (const AncestryEntry& a : f.ai->ancestry) {
        if (!name_hit && AnyGlob(ancestor_names_, a.name)) name_hit = true;
        if (!exe_hit && !a.executable.empty() && AnyGlob(ancestor_executables_, a.executable))
          exe_hit = true;
      }
    }
    if (!name_hit || !exe_hit) return false;
  }
  if (!users_.empty() && !IdMatches(users_, f.ev->proc.uid, false, names)) return false;
  if (!effective_users_.empty() && !IdMatches(effective_users_, f.ev->proc.euid, false, names))
    return false;
  return true;
}

// ------------------------------------------------------------------ rules

namespace {

absl::StatusOr<std::vector<Condition>> Conditions(const YAML::Node& node, absl::string_view origin,
                                                  absl::string_view what, bool exception) {
  std::vector<Condition> out;
  if (node.IsMap()) {
    absl::StatusOr<Condition> c = Condition::Parse(node, origin, what, exception);
    if (!c.ok()) return c.status();
    out.push_back(*std::move(c));
    return out;
  }
  if (!node.IsSequence() || node.size() == 0)
    return YamlError(origin, node.Mark(),
                     absl::StrCat(what, ": expected a mapping or a list of mappings"));
  for (size_t i = 0; i < node.size(); ++i) {
    absl::StatusOr<Condition> c =
        Condition::Parse(node[i], origin, absl::StrCat(what, "[", i, "]"), exception);
    if (!c.ok()) return c.status();
    out.push_back(*std::move(c));
  }
  return out;
}

bool ValidRuleId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9'))) return false;
  return id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") == absl::string_view::npos;
}

absl::StatusOr<Rule> ParseRule(const YAML::Node& node, absl::string_view origin, bool builtin) {
  if (!node.IsMap())
    return YamlError(origin, node.Mark(),
                     "a rule is a mapping: {id, name, severity, match, except, message}");
  Rule r;
  r.builtin = builtin;
  r.origin = absl::StrFormat("%s:%d", origin, node.Mark().line + 1);
  std::string what = "rule";
  // The id first, so every later error can name the rule.
  if (node["id"]) {
    const YAML::Node& idn = node["id"];
    if (!idn.IsScalar() || !ValidRuleId(idn.Scalar()))
      return YamlError(origin, idn.Mark(),
                       "rule.id: 1 to 64 characters of a-z, 0-9, '-', '_' and '.', starting "
                       "with a letter or digit");
    r.id = idn.Scalar();
    what = absl::StrFormat("rule \"%s\"", r.id);
  } else {
    return YamlError(origin, node.Mark(), "rule: no id");
  }
  bool have_severity = false, have_match = false;
  std::string message = "{rule.name}: {summary}";
  YAML::Mark message_mark = node.Mark();
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "id") continue;
    if (key == "name" || key == "description") {
      if (!v.IsScalar() || v.Scalar().empty())
        return YamlError(origin, v.Mark(), absl::StrCat(what, ": ", key, ": expected text"));
      (key == "name" ? r.name : r.description) = v.Scalar();
    } else if (key == "severity") {
      std::optional<Severity> sev = v.IsScalar() ? ParseSeverity(v.Scalar()) : std::nullopt;
      if (!sev)
        return YamlError(origin, v.Mark(),
                         absl::StrCat(what, ": severity: expected low, medium, high or critical"));
      r.severity = *sev;
      have_severity = true;
    } else if (key == "escalate") {
      absl::StatusOr<bool> b = Bool(v, origin, absl::StrCat(what, ": escalate"));
      if (!b.ok()) return b.status();
      r.escalate = *b;
    } else if (key == "message") {
      if (!v.IsScalar() || v.Scalar().empty())
        return YamlError(origin, v.Mark(), absl::StrCat(what, ": message: expected text"));
      message = v.Scalar();
      message_mark = v.Mark();
    } else if (key == "match" || key == "except") {
      absl::StatusOr<std::vector<Condition>> c =
          Conditions(v, origin, absl::StrCat(what, ": ", key), key == "except");
      if (!c.ok()) return c.status();
      (key == "match" ? r.match : r.except) = *std::move(c);
      have_match = have_match || key == "match";
    } else {
      return YamlError(origin, kv.first.Mark(),
                       absl::StrFormat("%s: unknown key \"%s\" (known: id, name, description, "
                                       "severity, escalate, match, except, message)",
                                       what, key));
    }
  }
  if (r.name.empty()) return YamlError(origin, node.Mark(), absl::StrCat(what, ": no name"));
  if (!have_severity) return YamlError(origin, node.Mark(), absl::StrCat(what, ": no severity"));
  if (!have_match) return YamlError(origin, node.Mark(), absl::StrCat(what, ": no match"));
  absl::StatusOr<MessageTemplate> t = MessageTemplate::Parse(message);
  if (!t.ok())
    return YamlError(origin, message_mark, absl::StrCat(what, ": ", t.status().message()));
  r.message = *std::move(t);
  // The actions any match condition takes: the rule is passed over for others.
  r.match_actions = 0;
  for (const Condition& c : r.match) r.match_actions |= c.actions();
  if (std::any_of(r.match.begin(), r.match.end(),
                  [](const Condition& c) { return c.actions() == 0; }))
    r.match_actions = ~uint64_t{0};
  return r;
}

absl::StatusOr<std::vector<Rule>> ParseRuleList(const YAML::Node& list, absl::string_view origin,
                                                bool builtin) {
  if (!list.IsSequence()) return YamlError(origin, list.Mark(), "rules: expected a list of rules");
  std::vector<Rule> out;
  for (const YAML::Node& item : list) {
    absl::StatusOr<Rule> r = ParseRule(item, origin, builtin);
    if (!r.ok()) return r.status();
    out.push_back(*std::move(r));
  }
  return out;
}

absl::StatusOr<YAML::Node> LoadYaml(absl::string_view text, absl::string_view origin) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    return YamlError(origin, e.mark, absl::StrCat("invalid YAML: ", e.msg));
  }
}

absl::StatusOr<std::vector<Rule>> ParseRuleFileText(absl::string_view text,
                                                    absl::string_view origin, bool builtin) {
  absl::StatusOr<YAML::Node> root = LoadYaml(text, origin);
  if (!root.ok()) return root.status();
  try {
    if (!IsRuleFile(*root))
      return YamlError(origin, root->Mark(), "a rule file holds one key, rules: a list of rules");
    return ParseRuleList((*root)["rules"], origin, builtin);
  } catch (const YAML::Exception& e) {
    return YamlError(origin, e.mark, e.msg);
  }
}

absl::StatusOr<std::vector<Condition>> ParseExclusionsText(absl::string_view text,
                                                           absl::string_view origin) {
  absl::StatusOr<YAML::Node> root = LoadYaml(text, origin);
  if (!root.ok()) return root.status();
  return Conditions((*root)["exclude"], origin, "exclude", true);
}

constexpr char kBuiltinOrigin[] = "<built-in rules>";

}  // namespace

bool IsRuleFile(const YAML::Node& root) {
  return root.IsMap() && root.size() == 1 && root["rules"] && root["rules"].IsSequence();
}

absl::StatusOr<std::vector<Rule>> LoadRuleFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrFormat("%s: cannot read rule file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseRuleFileText(ss.str(), path, false);
}

RuleSet DefaultRuleSet() {
  RuleSet set;
  // The built-in pack is parsed by the same code as users' rules; it is
  // tested to parse, so a failure here is a build defect worth stopping on.
  absl::StatusOr<std::vector<Rule>> rules =
      ParseRuleFileText(DefaultRulesYaml(), kBuiltinOrigin, true);
  absl::StatusOr<std::vector<Condition>> ex =
      ParseExclusionsText(DefaultExclusionsYaml(), "<built-in exclusions>");
  if (!rules.ok() || !ex.ok()) {
    std::fprintf(stderr, "permsentry: built-in rules do not parse: %s\n",
                 std::string((rules.ok() ? ex.status() : rules.status()).message()).c_str());
    std::abort();
  }
  set.rules = *std::move(rules);
  set.exclude = *std::move(ex);
  return set;
}

absl::StatusOr<RuleSet> ParseRuleSet(const YAML::Node& node, absl::string_view origin) {
  if (!node.IsMap()) return YamlError(origin, node.Mark(), "rules: expected a mapping");
  bool defaults = true, exclusions = true;
  std::vector<std::pair<std::string, YAML::Mark>> disable;
  std::vector<Condition> exclude;
  std::vector<Rule> added;
  RuleSet set;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "defaults" || key == "default_exclusions") {
      absl::StatusOr<bool> b = Bool(v, origin, absl::StrCat("rules.", key));
      if (!b.ok()) return b.status();
      (key == "defaults" ? defaults : exclusions) = *b;
    } else if (key == "disable") {
      absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals =
          Values(v, origin, "rules.disable", /*allow_empty=*/true);
      if (!vals.ok()) return vals.status();
      disable = *std::move(vals);
    } else if (key == "exclude") {
      if (v.IsSequence() && v.size() == 0) continue;  // "exclude: []": none added
      absl::StatusOr<std::vector<Condition>> c = Conditions(v, origin, "rules.exclude", true);
      if (!c.ok()) return c.status();
      exclude = *std::move(c);
    } else if (key == "coalesce_window_s") {
      uint32_t s = 0;
      if (!v.IsScalar() || !absl::SimpleAtoi(v.Scalar(), &s) || s > 3600)
        return YamlError(origin, v.Mark(),
                         "rules.coalesce_window_s: expected a whole number of seconds in [0, "
                         "3600] (0: every alert goes out)");
      set.coalesce_window = absl::Seconds(s);
    } else if (key == "files") {
      absl::StatusOr<std::vector<std::pair<std::string, YAML::Mark>>> vals =
          Values(v, origin, "rules.files", /*allow_empty=*/true);
      if (!vals.ok()) return vals.status();
      for (const auto& [pattern, mark] : *vals) {
        if (pattern[0] != '/')
          return YamlError(origin, mark,
                           absl::StrFormat("rules.files: \"%s\" is not an absolute path", pattern));
        const std::optional<std::vector<std::string>> paths = FilesOf(pattern);
        if (!paths)
          return YamlError(origin, mark,
                           absl::StrFormat("rules.files: cannot read rule file %s", pattern));
        for (const std::string& p : *paths) {
          absl::StatusOr<std::vector<Rule>> rules = LoadRuleFile(p);
          if (!rules.ok()) return rules.status();
          for (Rule& r : *rules) added.push_back(std::move(r));
        }
      }
    } else if (key == "custom") {
      absl::StatusOr<std::vector<Rule>> rules = ParseRuleList(v, origin, false);
      if (!rules.ok()) return rules.status();
      for (Rule& r : *rules) added.push_back(std::move(r));
    } else {
      return YamlError(origin, kv.first.Mark(),
                       absl::StrFormat("unknown key \"rules.%s\" (known: defaults, disable, "
                                       "default_exclusions, exclude, coalesce_window_s, files, "
                                       "custom)",
                                       key));
    }
  }
  // Ids are unique among added rules; an added rule with a built-in rule's id
  // replaces it.
  absl::flat_hash_map<std::string, const Rule*> seen;
  for (const Rule& r : added) {
    auto [it, fresh] = seen.emplace(r.id, &r);
    if (!fresh)
      return absl::InvalidArgumentError(absl::StrFormat("%s: rule id \"%s\" is already used at %s",
                                                        r.origin, r.id, it->second->origin));
  }
  RuleSet builtin = DefaultRuleSet();
  absl::flat_hash_set<std::string> known;
  for (const Rule& r : builtin.rules) known.insert(r.id);
  for (const Rule& r : added) known.insert(r.id);
  absl::flat_hash_set<std::string> disabled;
  for (const auto& [id, mark] : disable) {
    if (!known.contains(id))
      return YamlError(origin, mark,
                       absl::StrFormat("rules.disable: no rule has the id \"%s\"", id));
    disabled.insert(id);
  }
  if (defaults) {
    for (Rule& r : builtin.rules)
      if (!seen.contains(r.id) && !disabled.contains(r.id)) set.rules.push_back(std::move(r));
  }
  for (Rule& r : added)
    if (!disabled.contains(r.id)) set.rules.push_back(std::move(r));
  set.default_exclusions = exclusions;
  if (exclusions) set.exclude = std::move(builtin.exclude);
  for (Condition& c : exclude) set.exclude.push_back(std::move(c));
  return set;
}

std::optional<Decision> RuleSet::Evaluate(const Facts& f, NameCache& names) const {
  std::optional<Decision> d;
  for (const Rule& r : rules) {
    bool hit = false;
    if (!r.MayMatchAction(f.action_index)) continue;
    for (const Condition& c : r.match) {
      if (c.MayMatch(f) && c.Matches(f, names)) {
        hit = true;
        break;
      }
    }
    if (!hit) continue;
    bool excepted = false;
    for (const Condition& c : r.except) {
      if (c.MayMatch(f) && c.Matches(f, names)) {
        excepted = true;
        break;
      }
    }
    if (excepted) continue;
    if (!d) {
      // Exclusions are checked once, and only for events some rule wants.
      for (const Condition& c : exclude)
        if (c.MayMatch(f) && c.Matches(f, names)) return std::nullopt;
      d.emplace();
    }
    // A suspicion is reported, but raises nothing: it is a heuristic.
    const bool ai =
        f.attribution == Attribution::Kind::kAgent || f.attribution == Attribution::Kind::kAssisted;
    const Severity sev = r.escalate && ai ? Escalate(r.severity) : r.severity;
    d->matched.push_back(&r);
    if (d->rule == nullptr || sev > d->severity) {
      d->rule = &r;
      d->base = r.severity;
      d->severity = sev;
    }
  }
  if (!d) return std::nullopt;
  // The primary rule first, the others in rule order.
  std::stable_partition(d->matched.begin(), d->matched.end(),
                        [&](const Rule* r) { return r == d->rule; });
  const MessageTemplate::Context ctx{.facts = &f,
                                     .rule_id = d->rule->id,
                                     .rule_name = d->rule->name,
                                     .severity = SeverityName(d->severity),
                                     .names = &names};
  d->message = d->rule->message.Render(ctx);
  return d;
}

}  // namespace permsentry
