#include "rules/template.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "enrich/xattr_decode.h"

namespace permsentry {
namespace {

enum Field {
  kFilePath,
  kFileMode,
  kFileModeBefore,
  kFileOwner,
  kFileOwnerBefore,
  kFileGroup,
  kProcessName,
  kProcessPid,
  kProcessExecutable,
  kProcessParentPid,
  kUserName,
  kUserId,
  kUserEffectiveId,
  kEventAction,
  kEventOutcome,
  kSyscall,
  kAccessDelta,
  kSummary,
  kActor,
  kAiTag,
  kAiAttribution,
  kAiAgent,
  kAiSessionId,
  kAiRootPid,
  kWatchClass,
  kXattrName,
  kFileCaps,
  kCapsGained,
  kRuleId,
  kRuleName,
  kSeverity,
  kFieldCount,
};

constexpr absl::string_view kNames[kFieldCount] = {
    "file.path",
    "file.mode",
    "file.mode_before",
    "file.owner",
    "file.owner_before",
    "file.group",
    "process.name",
    "process.pid",
    "process.executable",
    "process.parent.pid",
    "user.name",
    "user.id",
    "user.effective.id",
    "event.action",
    "event.outcome",
    "syscall",
    "access_delta",
    "summary",
    "actor",
    "ai.tag",
    "ai.attribution",
    "ai.agent",
    "ai.session_id",
    "ai.root_pid",
    "watch.class",
    "xattr.name",
    "file_caps",
    "caps_gained",
    "rule.id",
    "rule.name",
    "severity",
};

std::string UserText(NameCache& names, std::optional<uint32_t> uid) {
  if (!uid) return "?";
  if (auto n = names.UserName(*uid)) return *n;
  return absl::StrCat(*uid);
}

std::string GroupText(NameCache& names, std::optional<uint32_t> gid) {
  if (!gid) return "?";
  if (auto n = names.GroupName(*gid)) return *n;
  return absl::StrCat(*gid);
}

std::string Value(int field, const MessageTemplate::Context& c) {
  const Facts& f = *c.facts;
  const OpEvent& ev = *f.ev;
  const Enriched& en = *f.en;
  const FileStateChange& st = en.state;
  NameCache& names = *c.names;
  const Attribution* ai = f.ai;
  switch (static_cast<Field>(field)) {
    case kFilePath:
      return f.path ? EscapeForText(*f.path) : "?";
    case kFileMode:
      return f.mode_after ? FormatMode(*f.mode_after) : "?";
    case kFileModeBefore:
      return st.mode_before ? FormatMode(*st.mode_before) : "?";
    case kFileOwner:
      return UserText(names, f.owner_to ? f.owner_to : st.uid_after ? st.uid_after : st.uid_before);
    case kFileOwnerBefore:
      return UserText(names, st.uid_before);
    case kFileGroup:
      return GroupText(names, f.group_to     ? f.group_to
                              : st.gid_after ? st.gid_after
                                             : st.gid_before);
    case kProcessName:
      return EscapeForText(ev.proc.comm);
    case kProcessPid:
      return absl::StrCat(ev.proc.pid);
    case kProcessExecutable:
      return f.executable.empty() ? "?" : EscapeForText(f.executable);
    case kProcessParentPid:
      return absl::StrCat(ev.proc.ppid);
    case kUserName:
      return UserText(names, ev.proc.uid);
    case kUserId:
      return absl::StrCat(ev.proc.uid);
    case kUserEffectiveId:
      return absl::StrCat(ev.proc.euid);
    case kEventAction:
      return std::string(f.action);
    case kEventOutcome:
      return f.outcome == Outcome::kSuccess   ? "success"
             : f.outcome == Outcome::kFailure ? "failure"
                                              : "unknown";
    case kSyscall:
      return std::string(f.syscall);
    case kAccessDelta:
      return en.delta.empty() ? (ev.success() ? "no access change" : "failed")
                              : EscapeForText(absl::StrJoin(en.delta, "; "));
    case kSummary:
      return Summary(ev, en);
    case kActor:
      return Actor(ev);
    case kAiTag:
      return AiTag(ev);
    case kAiAttribution:
      return AttributionName(f.attribution);
    case kAiAgent:
      return ai && !ai->agent.empty() ? EscapeForText(ai->agent) : "none";
    case kAiSessionId:
      return ai && !ai->session_id.empty() ? EscapeForText(ai->session_id) : "none";
    case kAiRootPid:
      return ai && ai->root_pid ? absl::StrCat(ai->root_pid) : "none";
    case kWatchClass:
      return f.watch_class.empty() ? (f.watched ? "unverified" : "none")
                                   : std::string(f.watch_class);
    case kXattrName:
      return ev.xattr_name ? EscapeForText(*ev.xattr_name) : "?";
    case kFileCaps:
      return f.file_caps ? absl::StrJoin(CapabilityNames(f.file_caps), ",") : "none";
    case kCapsGained:
      return f.caps_gained ? absl::StrJoin(CapabilityNames(f.caps_gained), ",") : "none";
    case kRuleId:
      return std::string(c.rule_id);
    case kRuleName:
      return std::string(c.rule_name);
    case kSeverity:
      return std::string(c.severity);
    case kFieldCount:
      break;
  }
  return "?";
}

}  // namespace

std::vector<absl::string_view> MessageTemplate::FieldNames() {
  return std::vector<absl::string_view>(std::begin(kNames), std::end(kNames));
}

absl::StatusOr<MessageTemplate> MessageTemplate::Parse(absl::string_view text) {
  MessageTemplate t;
  t.text_ = std::string(text);
  std::string lit;
  const auto flush = [&] {
    if (!lit.empty()) t.parts_.push_back(Part{.field = -1, .literal = std::move(lit)});
    lit.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      lit.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      lit.push_back('}');
      ++i;
    } else if (c == '{') {
      const size_t close = text.find('}', i);
      if (close == absl::string_view::npos)
        return absl::InvalidArgumentError("message: \"{\" without its \"}\" (\"{{\" for a brace)");
      const absl::string_view name = text.substr(i + 1, close - i - 1);
      int field = -1;
      for (int k = 0; k < kFieldCount; ++k)
        if (kNames[k] == name) field = k;
      if (field < 0) {
        return absl::InvalidArgumentError(absl::StrFormat("message: unknown field {%s} (known: %s)",
                                                          name, absl::StrJoin(FieldNames(), ", ")));
      }
      flush();
      t.parts_.push_back(Part{.field = field, .literal = {}});
      i = close;
    } else if (c == '}') {
      return absl::InvalidArgumentError("message: \"}\" without its \"{\" (\"}}\" for a brace)");
    } else {
      lit.push_back(c);
    }
  }
  flush();
  return t;
}

namespace {

// The fields the built-in messages use, appended in place (an alert's message
// is rendered for every alert); false for the others, which Value makes.
bool AppendValue(int field, const MessageTemplate::Context& c, std::string* out) {
  const Facts& f = *c.facts;
  const OpEvent& ev = *f.ev;
  const Enriched& en = *f.en;
  switch (static_cast<Field>(field)) {
    case kFilePath:
      if (f.path == nullptr) return false;
      AppendForText(out, *f.path);
      return true;
    case kFileMode:
      if (!f.mode_after) return false;
      AppendMode(out, *f.mode_after);
      return true;
    case kFileModeBefore:
      if (!en.state.mode_before) return false;
      AppendMode(out, *en.state.mode_before);
      return true;
    case kAccessDelta:
      if (en.delta.empty()) return false;
      AppendAccessDelta(out, en.delta);
      return true;
    case kSummary:
      AppendSummary(out, ev, en);
      return true;
    case kActor:
      AppendActor(out, ev);
      return true;
    case kAiTag:
      AppendAiTag(out, ev);
      return true;
    case kRuleName:
      out->append(c.rule_name.data(), c.rule_name.size());
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string MessageTemplate::Render(const Context& ctx) const {
  std::string out;
  out.reserve(256);
  for (const Part& p : parts_) {
    if (p.field < 0) {
      out += p.literal;
    } else if (!AppendValue(p.field, ctx, &out)) {
      out += Value(p.field, ctx);
    }
  }
  return out;
}

}  // namespace permsentry
