#include <fcntl.h>
#include <linux/xattr.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <charconv>

#include "absl/strings/string_view.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attribute/process_table.h"
#include "common/names.h"
#include "enrich/xattr_decode.h"
#include "render/json_writer.h"
#include "render/render.h"

namespace permsentry {
namespace {

using Writer = JsonWriter;

// Thin helpers over the streaming writer: no DOM, one pass, no allocation per
// field beyond the output buffer (the consumer renders at storm rates).
PS_JSON_INLINE void Key(Writer& w, absl::string_view k) { w.Key(k); }
PS_JSON_INLINE void Str(Writer& w, absl::string_view v) { w.String(v); }
PS_JSON_INLINE void KStr(Writer& w, absl::string_view k, absl::string_view v) {
  Key(w, k);
  Str(w, v);
}
// Values the program made itself, with nothing to escape (see CleanString).
PS_JSON_INLINE void KClean(Writer& w, absl::string_view k, absl::string_view v) {
  w.CleanMember(k, v);
}
PS_JSON_INLINE void KNumStr(Writer& w, absl::string_view k, uint64_t v) {
  w.NumberStringMember(k, v);
}
PS_JSON_INLINE void KU64(Writer& w, absl::string_view k, uint64_t v) { w.NumberMember(k, v); }
PS_JSON_INLINE void KI64(Writer& w, absl::string_view k, int64_t v) { w.NumberMember(k, v); }
PS_JSON_INLINE void KBool(Writer& w, absl::string_view k, bool v) { w.BoolMember(k, v); }

// An id argument where (uid_t)-1 means "unchanged": rendered as -1.
void IdValue(Writer& w, uint32_t id) {
  if (id == kUnsetId) {
    w.Int(-1);
  } else {
    w.Uint(id);
  }
}

// Text that may hold any byte (environment values, executable paths): escaped
// so the line stays one line of valid UTF-8.
void KText(Writer& w, absl::string_view k, absl::string_view v) {
  if (IsAscii(v)) return KStr(w, k, v);  // EscapeBytes would return it unchanged
  KStr(w, k, EscapeBytes(v).text);
}

// permsentry.ai and permsentry.ancestry, each rendered on its own (and reused
// for every event sharing the attribution).
std::string AiJson(const Attribution& ai) {
  std::string scratch;
  Writer w(&scratch);
  w.StartObject();
  KClean(w, "attribution", AttributionName(ai.kind));
  if (ai.kind != Attribution::Kind::kNone) {
    if (!ai.agent.empty()) KText(w, "agent", ai.agent);
    if (!ai.session_id.empty()) KText(w, "session_id", ai.session_id);
    KU64(w, "root_pid", ai.root_pid);
    Key(w, "evidence");
    w.StartArray();
    for (const std::string& e : ai.evidence) Str(w, EscapeBytes(e).text);
    w.EndArray();
  }
  w.EndObject();
  return std::string(w.view());
}

std::string AncestryJson(const Attribution& ai) {
  std::string scratch;
  Writer w(&scratch);
  w.StartArray();
  for (const AncestryEntry& a : ai.ancestry) {
    w.StartObject();
    KU64(w, "pid", a.pid);
    KText(w, "name", a.name);
    if (!a.executable.empty()) KText(w, "executable", a.executable);
    w.EndObject();
  }
  w.EndArray();
  return std::string(w.view());
}

std::string CapHex(uint64_t caps) { return absl::StrFormat("0x%016x", caps); }

// A byte string that may need escaping (file names, xattr names): the text, and
// a sibling "<key>_escaped": true when EscapeBytes had to escape it.
void KBytes(Writer& w, absl::string_view k, absl::string_view bytes) {
  if (IsAscii(bytes)) return KStr(w, k, bytes);  // EscapeBytes would return it unchanged
  EscapedBytes e = EscapeBytes(bytes);
  KStr(w, k, e.text);
  if (e.escaped) KBool(w, absl::StrCat(k, "_escaped"), true);
}

// A byte string's member as written in this line, for writing the same bytes
// again under another key without escaping them again (file.path and
// permsentry.path_arg are mostly the same bytes).
struct WrittenBytes {
  const std::string* bytes = nullptr;
  size_t at = 0, len = 0;  // the quoted value, in the writer's view()
  bool escaped = false;
};

WrittenBytes KBytesKept(Writer& w, absl::string_view k, const std::string& bytes) {
  WrittenBytes kept{.bytes = &bytes};
  Key(w, k);
  kept.at = w.view().size();
  if (IsAscii(bytes)) {
    Str(w, bytes);
  } else {
    EscapedBytes e = EscapeBytes(bytes);
    Str(w, e.text);
    kept.escaped = e.escaped;
  }
  kept.len = w.view().size() - kept.at;
  if (kept.escaped) KBool(w, absl::StrCat(k, "_escaped"), true);
  return kept;
}

// KBytes(w, k, bytes), copied from `kept` when it wrote the same bytes.
void KBytesAgain(Writer& w, absl::string_view k, const std::string& bytes,
                 const WrittenBytes& kept) {
  if (kept.bytes == nullptr || (kept.bytes != &bytes && *kept.bytes != bytes))
    return KBytes(w, k, bytes);
  Key(w, k);
  w.RepeatValue(kept.at, kept.len);
  if (kept.escaped) KBool(w, absl::StrCat(k, "_escaped"), true);
}

// What was written since `mark`, as members to place with RawMembers later
// (without the separator written before the first).
absl::string_view Written(const Writer& w, size_t mark) {
  absl::string_view t = w.view().substr(mark);
  if (!t.empty() && t[0] == ',') t.remove_prefix(1);
  return t;
}

}  // namespace

namespace {

// "process", "user" and "group", as members of the event object.
std::string ProcessMembers(const Process& p, const Attribution* ai, NameCache& names_) {
  std::string scratch;
  Writer w(&scratch);
  Key(w, "process");
  w.StartObject();
  KU64(w, "pid", p.pid);
  Key(w, "thread");
  w.StartObject();
  KU64(w, "id", p.tid);
  w.EndObject();
  Key(w, "parent");
  w.StartObject();
  KU64(w, "pid", p.ppid);
  w.EndObject();
  KBytes(w, "name", p.comm);
  if (ai != nullptr && !ai->executable.empty()) KBytes(w, "executable", ai->executable);
  if (ai != nullptr && !ai->args.empty()) {
    // Any bytes a caller chose: escaped like file names.
    Key(w, "args");
    w.StartArray();
    bool escaped = false;
    for (const std::string& arg : ai->args) {
      EscapedBytes e = EscapeBytes(arg);
      Str(w, e.text);
      escaped |= e.escaped;
    }
    w.EndArray();
    KU64(w, "args_count", ai->args.size());
    if (escaped) KBool(w, "args_escaped", true);
    if (ai->args_truncated) KBool(w, "args_truncated", true);
  }
  w.EndObject();

  Key(w, "user");
  w.StartObject();
  KNumStr(w, "id", p.uid);
  if (auto n = names_.UserName(p.uid)) KStr(w, "name", *n);
  Key(w, "effective");
  w.StartObject();
  KNumStr(w, "id", p.euid);
  if (auto n = names_.UserName(p.euid)) KStr(w, "name", *n);
  w.EndObject();
  w.EndObject();

  Key(w, "group");
  w.StartObject();
  KNumStr(w, "id", p.gid);
  if (auto n = names_.GroupName(p.gid)) KStr(w, "name", *n);
  Key(w, "effective");
  w.StartObject();
  KNumStr(w, "id", p.egid);
  w.EndObject();
  w.EndObject();
  return std::string(w.view());
}

// permsentry's "audit", "tty", "cgroup_id" and "process_start_ns", as members.
std::string AuditMembers(const Process& p) {
  std::string scratch;
  Writer w(&scratch);
  Key(w, "audit");
  w.StartObject();
  Key(w, "login_uid");
  IdValue(w, p.loginuid);
  Key(w, "session_id");
  IdValue(w, p.sessionid);
  w.EndObject();
  if (p.tty != 0) KStr(w, "tty", TtyName(p.tty));
  KU64(w, "cgroup_id", p.cgroup_id);
  KU64(w, "process_start_ns", p.start_time_ns);
  return std::string(w.view());
}

void WriteCreds(Writer& w, absl::string_view key, const Creds& c) {
  Key(w, key);
  w.StartObject();
  KU64(w, "uid", c.uid);
  KU64(w, "euid", c.euid);
  KU64(w, "suid", c.suid);
  KU64(w, "fsuid", c.fsuid);
  KU64(w, "gid", c.gid);
  KU64(w, "egid", c.egid);
  KU64(w, "sgid", c.sgid);
  KU64(w, "fsgid", c.fsgid);
  KClean(w, "cap_effective", CapHex(c.cap_effective));
  KClean(w, "cap_permitted", CapHex(c.cap_permitted));
  KClean(w, "cap_inheritable", CapHex(c.cap_inheritable));
  if (c.cap_ambient != 0) KClean(w, "cap_ambient", CapHex(c.cap_ambient));
  if (c.userns != 0) KU64(w, "userns", c.userns);
  w.EndObject();
}

void WriteAtFlags(Writer& w, uint32_t flags) {
  Key(w, "at_flags");
  w.StartArray();
  if (flags & AT_SYMLINK_NOFOLLOW) Str(w, "AT_SYMLINK_NOFOLLOW");
  if (flags & AT_EMPTY_PATH) Str(w, "AT_EMPTY_PATH");
  const uint32_t rest = flags & ~static_cast<uint32_t>(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
  if (rest != 0) Str(w, absl::StrFormat("0x%x", rest));
  w.EndArray();
}

void WriteNames(Writer& w, absl::string_view key, absl::Span<const std::string> names) {
  Key(w, key);
  w.StartArray();
  for (const std::string& n : names) Str(w, n);
  w.EndArray();
}

// permsentry.acl / permsentry.capabilities for the xattrs that carry rights.
// permsentry.mount: what was mounted where. The flags are named in the
// call's own vocabulary (mount(2)'s MS_*, umount2's MNT_*).
void WriteMount(Writer& w, const OpEvent& ev, const Enriched& en) {
  struct Flag {
    uint32_t bit;
    const char* name;
  };
  static constexpr Flag kMs[] = {
      {MS_RDONLY, "MS_RDONLY"}, {MS_NOSUID, "MS_NOSUID"},   {MS_NODEV, "MS_NODEV"},
      {MS_NOEXEC, "MS_NOEXEC"}, {MS_REMOUNT, "MS_REMOUNT"}, {MS_BIND, "MS_BIND"},
      {MS_MOVE, "MS_MOVE"},     {MS_REC, "MS_REC"},         {MS_PRIVATE, "MS_PRIVATE"},
      {MS_SLAVE, "MS_SLAVE"},   {MS_SHARED, "MS_SHARED"},   {MS_UNBINDABLE, "MS_UNBINDABLE"},
  };
  static constexpr Flag kMnt[] = {{MNT_FORCE, "MNT_FORCE"},
                                  {MNT_DETACH, "MNT_DETACH"},
                                  {MNT_EXPIRE, "MNT_EXPIRE"},
                                  {UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW"}};
  Key(w, "mount");
  w.StartObject();
  if (const std::string* src = MountSource(ev)) KBytes(w, "source", *src);
  if (ev.fstype) KBytes(w, "fstype", *ev.fstype);
  const bool move = ev.sc != nullptr && ev.sc->name == "move_mount";
  if (ev.mount_flags && !move) {
    const uint32_t f = *ev.mount_flags;
    KClean(w, "flags", absl::StrFormat("0x%x", f));
    std::vector<std::string> names;
    if (ev.op == Op::kMount) {
      for (const Flag& x : kMs)
        if (f & x.bit) names.emplace_back(x.name);
    } else {
      for (const Flag& x : kMnt)
        if (f & x.bit) names.emplace_back(x.name);
    }
    WriteNames(w, "flag_names", names);
  }
  if (!en.covered.empty()) {
    Key(w, "covers_watched");
    w.StartArray();
    for (const std::string& p : en.covered) Str(w, EscapeBytes(p).text);
    w.EndArray();
  }
  w.EndObject();
}

void WriteRightsXattr(Writer& w, const OpEvent& ev, const Enriched& en, NameCache& names) {
  if (!ev.xattr_name) return;
  const AclKind acl_kind = AclKindOf(*ev.xattr_name);
  if (acl_kind != AclKind::kNone) {
    Key(w, "acl");
    w.StartObject();
    KClean(w, "kind", acl_kind == AclKind::kAccess ? "access" : "default");
    if (ev.op == Op::kXattrRemove) {
      KBool(w, "removed", true);
    } else if (en.rights.acl) {
      const absl::StatusOr<PosixAcl>& acl = *en.rights.acl;
      if (!acl.ok()) {
        KStr(w, "malformed", acl.status().message());
      } else {
        Key(w, "entries");
        w.StartArray();
        for (const AclEntry& e : acl->entries) Str(w, FormatAclEntry(e, names));
        w.EndArray();
        if (acl->truncated) KBool(w, "truncated", true);
      }
    }
    w.EndObject();
    return;
  }
  if (*ev.xattr_name == "security.capability") {
    Key(w, "capabilities");
    w.StartObject();
    if (ev.op == Op::kXattrRemove) {
      KBool(w, "removed", true);
    } else if (en.rights.caps) {
      const absl::StatusOr<FileCaps>& caps = *en.rights.caps;
      if (!caps.ok()) {
        KStr(w, "malformed", caps.status().message());
      } else {
        KU64(w, "revision", caps->revision);
        KBool(w, "effective", caps->effective);
        WriteNames(w, "permitted", CapabilityNames(caps->permitted));
        WriteNames(w, "inheritable", CapabilityNames(caps->inheritable));
        if (caps->rootid) KU64(w, "rootid", *caps->rootid);
      }
    }
    w.EndObject();
  }
}

absl::string_view EventType(Op op) {
  switch (op) {
    case Op::kUnlink:
    case Op::kUmount:
      return "deletion";
    case Op::kLink:
    case Op::kSymlink:
    case Op::kCreate:
    case Op::kMkdir:
    case Op::kMknod:
    case Op::kMount:
      return "creation";
    case Op::kExecCreds:
      return "start";
    default:
      return "change";
  }
}

// Why the state before the call is unknown, from the dcache lookup's flags.
absl::string_view BeforeUnknownReason(const OpEvent& ev) {
  // The rich backend reads every existing object before the change: nothing
  // was there (a creation, or a rename or link onto an unused name).
  if (!ev.call) return ev.success() ? "created" : "not_reached";
  if (!ev.call->lookup_flags) return ev.call->path ? "no_lookup" : "bad_fd";
  const uint16_t f = *ev.call->lookup_flags;
  if (f & PS_LK_AT_EXIT) return "not_cached_before_call";
  if (f & PS_LK_BUDGET) return "lookup_budget";
  if (f & PS_LK_ABSENT) return "absent";
  if (f & PS_LK_NOT_CACHED) return "not_cached";
  return "unresolved";
}

// permsentry.watch: which credential file, and how the kernel recognised it.
void WriteWatch(Writer& w, const OpEvent& ev, const Enriched& en) {
  if (!ev.watch && en.watch != nullptr && !en.covered.empty()) {
    // A mount on or above a watched path: the first entry it covers.
    Key(w, "watch");
    w.StartObject();
    KStr(w, "class", en.watch->cls);
    KBytes(w, "entry", en.watch->pattern);
    KClean(w, "match", "covered_by_mount");
    w.EndObject();
    return;
  }
  if (!ev.watch) return;
  Key(w, "watch");
  w.StartObject();
  const uint32_t how = ev.watch->how;
  if (en.watch) {
    KStr(w, "class", en.watch->cls);
    KBytes(w, "entry", en.watch->pattern);
  }
  KClean(w, "match",
         (how & PS_WM_UNVERIFIED)  ? "unverified_name"
         : (how & PS_WM_OBJECT)    ? "inode"
         : (how & PS_WM_DIR_ENTRY) ? "directory_entry"
                                   : "name");
  if (ev.op == Op::kRename || ev.op == Op::kLink || ev.op == Op::kSymlink)
    KClean(w, "side", (how & PS_WM_PATH2) ? "destination" : "source");
  w.EndObject();
}

// permsentry.alert: the severity before and after escalation, every rule that
// matched, and for a summary of repeats, how many and over what time.
void WriteAlert(Writer& w, const AlertInfo& a, TimestampFormatter& ts) {
  Key(w, "alert");
  w.StartObject();
  KClean(w, "severity", SeverityName(a.severity));
  if (a.base_severity != a.severity) {
    KClean(w, "base_severity", SeverityName(a.base_severity));
    KBool(w, "escalated", true);
  }
  if (!a.matched.empty()) WriteNames(w, "rules", a.matched);
  if (a.coalesced) KBool(w, "coalesced", true);
  if (a.repeats > 0) {
    KU64(w, "repeats", a.repeats);
    KClean(w, "first_seen", ts.Format(a.first_seen));
    KClean(w, "last_seen", ts.Format(a.last_seen));
  }
  w.EndObject();
}

}  // namespace

std::string AlertMessage(const AlertInfo& a) {
  if (a.repeats == 0) return a.message;
  return absl::StrCat(a.message, " (and ", a.repeats, a.repeats == 1 ? " more time" : " more times",
                      " since ", absl::FormatTime("%H:%M:%SZ", a.first_seen, absl::UTCTimeZone()),
                      ")");
}

HealthAlert EventsLostAlert(absl::Time time, uint64_t lost_bulk, uint64_t lost_urgent,
                            uint64_t lost_bulk_total, uint64_t lost_urgent_total) {
  return HealthAlert{
      .time = time,
      .action = "events_lost",
      .rule_id = "sensor-events-lost",
      .rule_name = "the sensor lost events",
      .severity = Severity::kHigh,
      .message = absl::StrFormat(
          "permsentry lost %d events (ring buffer full); %d alert-candidate events overflowed "
          "the wakeup ring and went to the bulk ring",
          lost_bulk, lost_urgent),
      .detail = "lost",
      .strings = {},
      .counters = {{"bulk", lost_bulk},
                   {"urgent", lost_urgent},
                   {"bulk_total", lost_bulk_total},
                   {"urgent_total", lost_urgent_total}}};
}

std::string Renderer::Render(const OpEvent& ev) {
  return Render(ev, Enrich(ev, names_, symlinks_, watch_list_.get()), nullptr);
}

std::string JsonRenderer::Render(const OpEvent& ev, const Enriched& en, const AlertInfo* alert) {
  return std::string(RenderLine(ev, en, alert));
}

// "uid":"0","owner":"root" (or the group's), from the memo when the id is
// the one it was rendered for; the name is looked up only when it is not.
PS_JSON_INLINE void JsonRenderer::IdMembers(Writer& w, IdMemo& memo, uint32_t id,
                                            absl::string_view id_key, absl::string_view name_key,
                                            NameLookup lookup) {
  if (memo.valid && memo.id == id) {
    w.RawMembers(memo.json);
    return;
  }
  const size_t mark = w.view().size();
  KNumStr(w, id_key, id);
  if (auto n = (names_.*lookup)(id)) KStr(w, name_key, *n);
  memo.Keep(id, Written(w, mark));
}

absl::string_view JsonRenderer::RenderLine(const OpEvent& ev, const Enriched& en,
                                           const AlertInfo* alert) {
  return RenderLineInto(&buf_, 0, ev, en, alert);
}

absl::string_view JsonRenderer::RenderLineInto(std::string* out, size_t at, const OpEvent& ev,
                                               const Enriched& en, const AlertInfo* alert) {
  const bool creds_op = IsCredsOp(ev.op);
  Writer w(out, at);
  w.StartObject();
  KClean(w, "@timestamp", timestamps_.Format(ev.time));
  // An alert's message is its rule's; the event's own summary stays beside it.
  const bool is_alert = alert != nullptr && !alert->coalesced;
  // process, user and group: the same for every event of a thread between two
  // credential changes, so a storm renders them once.
  const Process& p = ev.proc;
  if (!(last_proc_.valid && last_proc_.pid == p.pid && last_proc_.tid == p.tid &&
        last_proc_.ppid == p.ppid && last_proc_.uid == p.uid && last_proc_.euid == p.euid &&
        last_proc_.gid == p.gid && last_proc_.egid == p.egid && last_proc_.loginuid == p.loginuid &&
        last_proc_.sessionid == p.sessionid && last_proc_.tty == p.tty &&
        last_proc_.cgroup_id == p.cgroup_id && last_proc_.start_time_ns == p.start_time_ns &&
        last_proc_.comm == p.comm && last_proc_.ai.get() == ev.ai.get())) {
    last_proc_ = ProcessBlock{.valid = true,
                              .pid = p.pid,
                              .tid = p.tid,
                              .ppid = p.ppid,
                              .uid = p.uid,
                              .euid = p.euid,
                              .gid = p.gid,
                              .egid = p.egid,
                              .loginuid = p.loginuid,
                              .sessionid = p.sessionid,
                              .tty = p.tty,
                              .cgroup_id = p.cgroup_id,
                              .start_time_ns = p.start_time_ns,
                              .comm = p.comm,
                              .ai = ev.ai,
                              .json = ProcessMembers(p, ev.ai.get(), names_),
                              .audit_json = AuditMembers(p),
                              .actor = Actor(ev)};
  }
  summary_.clear();
  AppendSummary(&summary_, ev, en, last_proc_.actor);
  const std::string& summary = summary_;
  if (is_alert) {
    KStr(w, "message", AlertMessage(*alert));
  } else if (ev.repeats > 0) {
    // A summary of the kernel's count: said in the line a person reads too.
    KStr(w, "message",
         absl::StrCat(summary, " (and ", ev.repeats, ev.repeats == 1 ? " more time" : " more times",
                      " since ",
                      absl::FormatTime("%H:%M:%SZ", ev.repeats_first, absl::UTCTimeZone()), ")"));
  } else {
    KStr(w, "message", summary);
  }

  const uint8_t outcome = ev.result == Result::kUnknown ? 2 : ev.success() ? 0 : 1;
  const EventBlockKey key{
      .action = ev.action.data(),
      .action_size = ev.action.size(),
      .op = static_cast<uint8_t>(ev.op),
      .outcome = outcome,
      .kind = static_cast<uint8_t>(
          alert == nullptr ? 0 : 1 + (is_alert ? 0 : 8) + static_cast<int>(alert->severity))};
  auto [block, added] = event_blocks_.try_emplace(key);
  if (added || absl::string_view(block->second.action) != ev.action) {
    block->second.action.assign(ev.action.data(), ev.action.size());
    Writer b(&block->second.json);
    Key(b, "event");
    b.StartObject();
    KClean(b, "kind", is_alert ? "alert" : "event");
    if (alert != nullptr) {
      Key(b, "severity");
      b.Int(EcsSeverity(alert->severity));
    }
    Key(b, "category");
    b.StartArray();
    b.CleanString(creds_op ? "process" : "file");
    b.EndArray();
    Key(b, "type");
    b.StartArray();
    b.CleanString(EventType(ev.op));
    b.EndArray();
    KClean(b, "action", ev.action);
    // An io_uring request seen at submission: its result is not known yet.
    KClean(b, "outcome", outcome == 2 ? "unknown" : outcome == 0 ? "success" : "failure");
    KClean(b, "module", "permsentry");
    b.EndObject();
    Key(b, "host");
    b.StartObject();
    KStr(b, "hostname", hostname_);
    b.EndObject();
    block->second.json.resize(b.view().size());
  }
  w.RawMembers(block->second.json);

  if (alert != nullptr) {
    Key(w, "rule");
    w.StartObject();
    KStr(w, "id", alert->rule_id);
    KStr(w, "name", alert->rule_name);
    w.EndObject();
  }

  w.RawMembers(last_proc_.json);

  WrittenBytes file_path;

  if (!creds_op || ev.op == Op::kExecCreds) {
    const FileStateChange& st = en.state;
    Key(w, "file");
    w.StartObject();
    // Unresolved (tracepoint backend): the argument as given, see
    // permsentry.path_resolution.
    if (const std::string* p = ShownPath(ev, en)) file_path = KBytesKept(w, "path", *p);
    const std::optional<InodeState>& inode = ev.inode_after ? ev.inode_after : ev.inode_before;
    if (inode || ev.object) {
      const uint64_t ino = inode ? inode->ino : ev.object->ino;
      const uint32_t dev = inode ? inode->dev : ev.object->dev;
      const uint32_t mode = inode ? inode->mode : ev.object->mode;
      KNumStr(w, "inode", ino);
      char device[24];
      char* d = std::to_chars(device, device + 11, dev >> 20).ptr;
      *d++ = ':';
      d = std::to_chars(d, device + sizeof(device), dev & 0xfffff).ptr;
      KClean(w, "device", absl::string_view(device, static_cast<size_t>(d - device)));
      KClean(w, "type",
             S_ISDIR(mode)   ? "dir"
             : S_ISLNK(mode) ? "symlink"
             : S_ISREG(mode) ? "file"
             : S_ISCHR(mode) ? "char_device"
             : S_ISBLK(mode) ? "block_device"
                             : "other");
    }
    if (st.mode_after) KClean(w, "mode", ModeText(*st.mode_after).view());
    // Owner and group with their names, as last rendered for the same id (a
    // storm's files mostly share both); names are looked up again each minute.
    const int64_t minute = absl::ToUnixSeconds(ev.time) / 60;
    if (minute != id_memo_minute_) {
      owner_memo_.valid = group_memo_.valid = false;
      id_memo_minute_ = minute;
    }
    if (st.uid_after)
      IdMembers(w, owner_memo_, *st.uid_after, "uid", "owner", &NameCache::UserName);
    if (st.gid_after)
      IdMembers(w, group_memo_, *st.gid_after, "gid", "group", &NameCache::GroupName);
    w.EndObject();
  }

  Key(w, "permsentry");
  w.StartObject();
  KClean(w, "operation", OpName(ev.op));
  KClean(w, "hook", HookName(ev.hook));
  if (ev.repeats > 0) {
    // A summary of identical calls the kernel counted instead of sending.
    KU64(w, "repeats", ev.repeats);
    KClean(w, "repeats_first", timestamps_.Format(ev.repeats_first));
    KClean(w, "repeats_last", timestamps_.Format(ev.repeats_last));
  }
  if (ev.sc != nullptr) {
    KClean(w, "syscall", ev.sc->name);
  } else if (ev.syscall_nr) {
    if (const absl::string_view n = OtherSyscallName(*ev.syscall_nr, ev.compat); !n.empty())
      KStr(w, "syscall", n);
    KU64(w, "syscall_nr", *ev.syscall_nr);
  }
  if (ev.compat) KBool(w, "compat_ia32", true);
  if (ev.io_uring) {
    Key(w, "io_uring");
    w.StartObject();
    if (ev.hook == Hook::kIoUring) {
      KU64(w, "opcode", ev.syscall_nr.value_or(0));
      KBool(w, "submitted", true);
    } else {
      KBool(w, "executed", true);  // seen where the kernel ran it (io_uring worker)
    }
    w.EndObject();
  }
  const CallArgs* call = ev.call ? &*ev.call : nullptr;
  if (call != nullptr && ev.hook == Hook::kSyscall) KI64(w, "return_value", call->ret);
  if (!ev.success()) KClean(w, "errno", ErrnoName(ev.error()));
  if (call != nullptr) {
    if (call->path) KBytesAgain(w, "path_arg", *call->path, file_path);
    if (call->path_fault) KBool(w, "path_unreadable", true);
    if (call->path_changed) KBool(w, "path_changed_during_call", true);
    if (call->path2) KBytes(w, "path2_arg", *call->path2);
    if (call->path2_fault) KBool(w, "path2_unreadable", true);
  }
  if (ev.op == Op::kRename || ev.op == Op::kLink) {
    // Both names: the watched side is file.path.
    const OptionalString& other = OtherSidePath(ev);
    const std::string* here = ShownPath(ev, en);
    const bool dest = WatchedOnDestination(ev);
    const std::string* from = dest ? (other ? &*other : nullptr) : here;
    const std::string* to = dest ? here : (other ? &*other : nullptr);
    if (from != nullptr) KBytes(w, "from_path", *from);
    if (to != nullptr) KBytes(w, "to_path", *to);
    if (ev.exchange) KBool(w, "exchange", true);
  }
  if (ev.text) {
    if (ev.op == Op::kSymlink) {
      KBytes(w, "symlink_text", *ev.text);
    } else if (ev.op == Op::kExecCreds) {
      KBytes(w, "executable", *ev.text);
    } else {
      KBytes(w, "text", *ev.text);
    }
  }
  WriteWatch(w, ev, en);
  if (ev.open_flags) {
    KClean(w, "open_flags", OpenFlagsText(*ev.open_flags));
    if (call != nullptr && call->create_mode)
      KClean(w, "create_mode", ModeText(*call->create_mode).view());
    if (call == nullptr && ev.op == Op::kWriteOpen && ev.mode)
      KClean(w, "create_mode", ModeText(*ev.mode).view());  // the mode it was created with
  }
  if (ev.rdev) KStr(w, "rdev", absl::StrCat(*ev.rdev >> 20, ":", *ev.rdev & 0xfffff));
  if (ev.op == Op::kMount || ev.op == Op::kUmount) WriteMount(w, ev, en);
  if (!creds_op) {
    if (en.path) {
      KClean(w, "path_resolution", en.path->method);
      if (!en.path->caveats.empty()) WriteNames(w, "path_caveats", en.path->caveats);
      if (en.path->symlink_target) KBytes(w, "symlink_target", *en.path->symlink_target);
      if (!en.path->process_root.empty()) {
        // A chrooted caller: file.path is the host's name; this is the caller's.
        Key(w, "chroot");
        w.StartObject();
        KBytes(w, "root", en.path->process_root);
        KBytes(w, "path", en.path->path_in_root);
        w.EndObject();
      }
    } else {
      KClean(w, "path_resolution", (ev.path_flags & PS_PATH_BAD_FD) ? "bad_fd" : "unresolved");
    }
    const FileStateChange& st = en.state;
    Key(w, "file");
    w.StartObject();
    if (st.mode_before) KClean(w, "mode_before", ModeText(*st.mode_before).view());
    if (st.uid_before) KNumStr(w, "uid_before", *st.uid_before);
    if (st.gid_before) KNumStr(w, "gid_before", *st.gid_before);
    // Where before/after come from: the inode itself (reached through the
    // kernel's own objects, or the tracepoint backend's fd or dcache lookup),
    // or else the request.
    KClean(w, "state_source",
           !(ev.inode_before || ev.inode_after)    ? "request"
           : call != nullptr && call->lookup_flags ? "kernel_lookup"
                                                   : "kernel_inode");
    if (!ev.inode_before) {
      KBool(w, "before_unknown", true);
      KClean(w, "before_unknown_reason", BeforeUnknownReason(ev));
    }
    if (ev.mode && (ev.op == Op::kMode || call != nullptr))
      KClean(w, "mode_requested", ModeText(*ev.mode).view());
    w.EndObject();
    WriteNames(w, "access_delta", en.delta);
  } else if (!en.delta.empty()) {
    WriteNames(w, "access_delta", en.delta);
  }
  if (ev.sc != nullptr && ev.sc->nofollow) KBool(w, "nofollow", true);
  if (call != nullptr) {
    if (call->fd) KI64(w, "fd", *call->fd);
    for (const auto& [key, fd] :
         {std::pair{"dirfd", call->dirfd}, std::pair{"dirfd2", call->dirfd2}}) {
      if (!fd) continue;
      if (*fd == kAtFdCwd) {
        KClean(w, key, "AT_FDCWD");
      } else {
        KI64(w, key, *fd);
      }
    }
    if (call->at_flags) WriteAtFlags(w, *call->at_flags);
  }
  if (ev.op == Op::kXattrSet || ev.op == Op::kXattrRemove) {
    Key(w, "xattr");
    w.StartObject();
    if (ev.xattr_name) KBytes(w, "name", *ev.xattr_name);
    if (ev.xattr_name_fault) KBool(w, "name_unreadable", true);
    if (ev.xattr_value) {
      w.HexMember("value_hex", *ev.xattr_value);
      KU64(w, "size", ev.xattr_value_size);
      if (ev.xattr_value->size() < ev.xattr_value_size) KBool(w, "value_truncated", true);
      if (ev.xattr_value_fault) KBool(w, "value_unreadable", true);
    }
    // Read back from the caller's memory after the call (tracepoint backend),
    // rather than the kernel's own copy.
    if (ev.xattr_user_copy) KBool(w, "from_caller_memory", true);
    if (ev.xattr_flags && *ev.xattr_flags != 0) {
      Key(w, "flags");
      w.StartArray();
      if (*ev.xattr_flags & XATTR_CREATE) Str(w, "XATTR_CREATE");
      if (*ev.xattr_flags & XATTR_REPLACE) Str(w, "XATTR_REPLACE");
      w.EndArray();
    }
    w.EndObject();
    WriteRightsXattr(w, ev, en, names_);
  }
  if (call != nullptr && !call->requested_ids.empty()) {
    Key(w, "requested_ids");
    w.StartArray();
    for (uint32_t id : call->requested_ids) IdValue(w, id);
    w.EndArray();
  }
  if (ev.creds_before && ev.creds_after) {
    Key(w, "creds");
    w.StartObject();
    WriteCreds(w, "before", *ev.creds_before);
    WriteCreds(w, "after", *ev.creds_after);
    // Supplementary groups set (gids; their names are in access_delta).
    for (const auto& [key, list] : {std::pair{"groups_before", &ev.groups_before},
                                    std::pair{"groups_after", &ev.groups_after}}) {
      if (!*list) continue;
      Key(w, key);
      w.StartArray();
      for (uint32_t g : **list) IdValue(w, g);
      w.EndArray();
    }
    const uint64_t before = ev.creds_before->cap_effective, after = ev.creds_after->cap_effective;
    if (ev.creds_before->userns != ev.creds_after->userns) {
      // Full capabilities in a new user namespace hold over what it owns only.
      KBool(w, "new_user_namespace", true);
    } else {
      if (after & ~before) WriteNames(w, "capabilities_gained", CapabilityNames(after & ~before));
      if (before & ~after) WriteNames(w, "capabilities_lost", CapabilityNames(before & ~after));
    }
    w.EndObject();
  }
  w.RawMembers(last_proc_.audit_json);
  if (ev.urgent) KBool(w, "urgent", true);
  if (last_ai_json_.empty() || ev.ai != last_ai_) {
    const Attribution none;
    last_ai_json_ = AiJson(ev.ai ? *ev.ai : none);
    last_ai_ancestry_json_ = AncestryJson(ev.ai ? *ev.ai : none);
    last_ai_ = ev.ai;
  }
  Key(w, "ai");
  w.RawValue(last_ai_json_);
  Key(w, "ancestry");
  w.RawValue(last_ai_ancestry_json_);
  if (alert != nullptr) {
    KStr(w, "summary", summary);
    WriteAlert(w, *alert, timestamps_);
  }
  w.EndObject();

  // ECS's own fields for the agent (gen_ai.agent.*): a SIEM that knows ECS sees
  // it without a mapping; permsentry.ai keeps the evidence.
  if (ev.ai &&
      (ev.ai->kind == Attribution::Kind::kAgent || ev.ai->kind == Attribution::Kind::kAssisted)) {
    Key(w, "gen_ai");
    w.StartObject();
    Key(w, "agent");
    w.StartObject();
    KText(w, "name", ev.ai->agent);
    KText(w, "id", ev.ai->session_id);
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  // The writer escaped U+2028/U+2029 already (JsonOut does it for other writers).
  return w.Line();
}

std::string JsonRenderer::Render(const HealthAlert& h) {
  Writer w(&buf_);
  w.StartObject();
  KClean(w, "@timestamp", timestamps_.Format(h.time));
  KStr(w, "message", h.message);
  Key(w, "event");
  w.StartObject();
  KClean(w, "kind", "alert");
  Key(w, "severity");
  w.Int(EcsSeverity(h.severity));
  Key(w, "category");
  w.StartArray();
  Str(w, "host");
  w.EndArray();
  KStr(w, "action", h.action);
  KClean(w, "module", "permsentry");
  w.EndObject();
  Key(w, "host");
  w.StartObject();
  KStr(w, "hostname", hostname_);
  w.EndObject();
  Key(w, "rule");
  w.StartObject();
  KStr(w, "id", h.rule_id);
  KStr(w, "name", h.rule_name);
  w.EndObject();
  Key(w, "permsentry");
  w.StartObject();
  Key(w, "alert");
  w.StartObject();
  KClean(w, "severity", SeverityName(h.severity));
  w.EndObject();
  Key(w, h.detail);
  w.StartObject();
  for (const auto& [k, v] : h.strings) KText(w, k, v);
  for (const auto& [k, v] : h.counters) KU64(w, k, v);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  // The writer escaped U+2028/U+2029 already (JsonOut does it for other writers).
  const absl::string_view text = w.view();
  std::string line;
  line.reserve(text.size() + 1);
  line.append(text.data(), text.size());
  line += '\n';
  return line;
}

}  // namespace permsentry
