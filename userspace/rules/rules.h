// Rules: which events become alerts, how severe, and what the alert says.
//
// A rule matches when any of its `match` conditions holds and none of its
// `except` conditions does; a condition holds when every key in it holds, and
// a key holds when any of its listed values does. Global exclusions (`exclude`,
// by default the package managers) stop every rule. Of the rules an event
// matches, the most severe names the alert; an AI session's change (agent or
// assisted) is escalated one severity unless the rule says `escalate: false`.
#ifndef PERMSENTRY_RULES_RULES_H_
#define PERMSENTRY_RULES_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/names.h"
#include "common/severity.h"
#include "rules/facts.h"
#include "rules/glob.h"
#include "rules/template.h"
#include "yaml-cpp/yaml.h"

namespace permsentry {

// A uid or gid as written in a rule: a number, or a name looked up when the
// event is judged (users created later are matched too).
struct IdSpec {
  std::optional<uint32_t> id;
  std::string name;
};

class Condition {
 public:
  // `exception`: an `except` or `exclude` entry, whose outcome defaults to any
  // (a `match` defaults to success and unknown: calls that changed something,
  // or io_uring requests whose result is not known).
  static absl::StatusOr<Condition> Parse(const YAML::Node& node, absl::string_view origin,
                                         absl::string_view what, bool exception);
  bool Matches(const Facts& f, NameCache& names) const;
  // The first test of Matches, inline: most conditions name actions, and most
  // events are of another one (`action_index` -1: an action no rule names).
  bool MayMatchAction(int action_index) const {
    return actions_ == 0 || (action_index >= 0 && (actions_ & (uint64_t{1} << action_index)));
  }
  // The action test and the facts the condition needs (Present bits): what
  // Evaluate checks inline before calling Matches.
  uint64_t actions() const { return actions_; }
  bool MayMatch(const Facts& f) const {
    return MayMatchAction(f.action_index) && (needs_ & ~f.present) == 0;
  }

 private:
  uint64_t actions_ = 0;  // bit per ActionIndex; 0: any
  uint32_t needs_ = 0;    // Present bits every match requires (set by Parse)
  std::vector<std::string> syscalls_;
  uint8_t outcomes_ = 0;  // Outcome bits
  std::vector<Glob> paths_;
  std::optional<bool> watched_;
  std::optional<bool> covers_watched_;
  std::optional<bool> path_changed_;
  std::vector<std::string> watch_classes_;
  uint8_t file_types_ = 0;
  uint32_t mode_added_ = 0, mode_removed_ = 0, mode_has_ = 0, mode_lacks_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> mode_is_;  // (value, mask)
  std::vector<IdSpec> owner_to_, group_to_, gid_to_;
  uint32_t acl_grants_ = 0;
  bool file_caps_ = false;
  uint64_t file_caps_mask_ = 0;  // 0 with file_caps_: any
  std::vector<Glob> xattrs_;
  std::optional<bool> creds_to_root_;
  bool caps_gained_ = false;
  uint64_t caps_gained_mask_ = 0;  // 0 with caps_gained_: any
  uint8_t attributions_ = 0;       // 1 << Attribution::Kind
  std::vector<Glob> agents_;
  std::vector<Glob> process_names_, process_executables_;
  std::vector<Glob> ancestor_names_, ancestor_executables_;
  std::vector<IdSpec> users_, effective_users_;
};

struct Rule {
  std::string id;
  std::string name;
  std::string description;
  Severity severity = Severity::kMedium;
  MessageTemplate message;
  bool escalate = true;
  std::vector<Condition> match;  // any of
  // Bit per ActionIndex some match condition takes; all ones when one takes
  // any action (and for rules not made by the parser).
  uint64_t match_actions = ~uint64_t{0};
  bool MayMatchAction(int action_index) const {
    return match_actions == ~uint64_t{0} ||
           (action_index >= 0 && (match_actions & (uint64_t{1} << action_index)));
  }
  std::vector<Condition> except;  // none of
  std::string origin;             // "FILE:LINE" (or "<built-in rules>:LINE")
  bool builtin = false;
};

struct Decision {
  const Rule* rule = nullptr;  // the most severe match (the first of equals)
  Severity base = Severity::kLow;
  Severity severity = Severity::kLow;  // after escalation
  std::vector<const Rule*> matched;    // every match, `rule` first
  std::string message;                 // the primary rule's, rendered
};

struct RuleSet {
  std::vector<Rule> rules;
  std::vector<Condition> exclude;
  bool default_exclusions = true;
  // Repeats of one alert (same rule, process and path) within this window are
  // counted into one summary instead of going out each time. Zero: off.
  absl::Duration coalesce_window = absl::Seconds(10);

  std::optional<Decision> Evaluate(const Facts& f, NameCache& names) const;
};

// The `rules:` section of the config (a mapping). Rule files it names are read.
absl::StatusOr<RuleSet> ParseRuleSet(const YAML::Node& node, absl::string_view origin);
// Only the built-in pack and exclusions.
RuleSet DefaultRuleSet();
// A rule file: `rules:` holding a list of rules.
absl::StatusOr<std::vector<Rule>> LoadRuleFile(const std::string& path);
// The built-in pack as YAML (printed by --print-default-config, and the
// source of DefaultRuleSet).
absl::string_view DefaultRulesYaml();
absl::string_view DefaultExclusionsYaml();

// Is `node` (a whole YAML document) a rule file rather than a config file?
bool IsRuleFile(const YAML::Node& root);

}  // namespace permsentry

#endif  // PERMSENTRY_RULES_RULES_H_
