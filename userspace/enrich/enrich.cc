// The enrich stage's per-event product, and the one-line summary built from it.
#include "enrich/enrich.h"

#include <fcntl.h>
#include <sys/mount.h>

#include <charconv>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "watch/watch_list.h"

namespace permsentry {
namespace {

void Put(std::string* out, absl::string_view v) { out->append(v.data(), v.size()); }

// A number appended without StrAppend's general machinery (several per line).
template <typename T>
void PutNumber(std::string* out, T v) {
  char buf[24];
  out->append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof(buf), v).ptr - buf));
}

void AppendId(std::string* out, uint32_t id) {
  if (id == kUnsetId) {
    out->append("-1");
  } else {
    PutNumber(out, id);
  }
}

void AppendQuoted(std::string* out, absl::string_view bytes) {
  out->push_back('"');
  AppendForText(out, bytes);
  out->push_back('"');
}

void AppendTarget(std::string* out, const OpEvent& ev, const Enriched& en) {
  if (en.path) return AppendQuoted(out, en.path->path);
  if (ev.call) {
    if (ev.call->path) return AppendQuoted(out, *ev.call->path);
    if (ev.call->path_fault) {
      out->append("<unreadable path>");
      return;
    }
    if (ev.call->fd) {
      out->append("fd ");
      PutNumber(out, *ev.call->fd);
      return;
    }
  }
  if (ev.object) {
    out->append("inode ");
    PutNumber(out, ev.object->ino);
  }
}

// What names the call in the summary: the syscall when known, else the
// operation ("chmod", "credfile_write").
absl::string_view CallName(const OpEvent& ev) { return ev.sc != nullptr ? ev.sc->name : ev.action; }

// Is `watched` the mount point `target` or under it?
bool Covers(absl::string_view target, absl::string_view watched) {
  if (target == "/") return true;
  return watched == target || (absl::StartsWith(watched, target) &&
                               watched.size() > target.size() && watched[target.size()] == '/');
}

// The watched paths a mount or unmount at the event's target covers; the
// first one's entry names the class. Mounts are rare: the list is expanded
// each time (homes included), never cached stale.
void CoveredWatches(const OpEvent& ev, const std::vector<WatchEntry>& list, Enriched& en) {
  const std::string* target = ShownPath(ev, en);
  if (target == nullptr || target->empty() || (*target)[0] != '/') return;
  // A remount or a propagation change (MS_PRIVATE, ...) puts nothing new there.
  const bool move = ev.sc != nullptr && ev.sc->name == "move_mount";
  if (ev.op == Op::kMount && ev.mount_flags && !move &&
      (*ev.mount_flags & (MS_REMOUNT | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)))
    return;
  for (const WatchEntry& e : list) {
    for (const std::string& p : ExpandWatchEntry(e)) {
      if (!Covers(*target, p)) continue;
      if (en.watch == nullptr) en.watch = &e;
      en.covered.push_back(p);
    }
  }
}

}  // namespace

const std::string* MountSource(const OpEvent& ev) {
  if (ev.text) return &*ev.text;
  if (ev.call && ev.call->path2) return &*ev.call->path2;
  return nullptr;
}

Enriched Enrich(const OpEvent& ev, NameCache& names, SymlinkChecker& symlinks,
                const std::vector<WatchEntry>* watch_list) {
  Enriched en;
  EnrichInto(ev, names, symlinks, watch_list, en);
  return en;
}

void EnrichInto(const OpEvent& ev, NameCache& names, SymlinkChecker& symlinks,
                const std::vector<WatchEntry>* watch_list, Enriched& en) {
  if (!ResolveEventPathInto(ev, en.path.Reuse())) en.path.reset();
  en.state = FileStateOf(ev);
  en.rights = DecodeRights(ev);
  AccessDeltaInto(ev, en.state, en.rights, names, en.delta);
  if (en.path && ev.success()) symlinks.Annotate(ev, *en.path);
  en.watch = nullptr;
  if (ev.watch && watch_list && ev.watch->cls < watch_list->size())
    en.watch = &(*watch_list)[ev.watch->cls];
  en.covered.clear();
  if ((ev.op == Op::kMount || ev.op == Op::kUmount) && watch_list != nullptr) {
    CoveredWatches(ev, *watch_list, en);
    for (size_t i = 0; i < en.covered.size() && i < 3; ++i)
      en.delta.push_back(absl::StrCat(ev.op == Op::kMount ? "covers" : "uncovers", " watched ",
                                      EscapeForText(en.covered[i])));
    if (en.covered.size() > 3)
      en.delta.push_back(absl::StrCat("and ", en.covered.size() - 3, " more watched paths"));
  }
}

const std::string* ShownPath(const OpEvent& ev, const Enriched& en) {
  if (en.path) return &en.path->path;
  if (ev.call && ev.call->path) return &*ev.call->path;
  return nullptr;
}

std::string OpenFlagsText(uint32_t flags) {
  std::vector<absl::string_view> parts;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      parts.push_back("O_RDONLY");
      break;
    case O_WRONLY:
      parts.push_back("O_WRONLY");
      break;
    case O_RDWR:
      parts.push_back("O_RDWR");
      break;
    default:
      parts.push_back("O_ACCMODE");
  }
  if (flags & O_CREAT) parts.push_back("O_CREAT");
  if (flags & O_EXCL) parts.push_back("O_EXCL");
  if (flags & O_TRUNC) parts.push_back("O_TRUNC");
  if (flags & O_APPEND) parts.push_back("O_APPEND");
  if ((flags & O_TMPFILE) == O_TMPFILE) parts.push_back("O_TMPFILE");
  if (flags & O_NOFOLLOW) parts.push_back("O_NOFOLLOW");
  return absl::StrJoin(parts, "|");
}

std::string Summary(const OpEvent& ev, const Enriched& en) {
  std::string out;
  AppendSummary(&out, ev, en);
  return out;
}

void AppendSummary(std::string* out, const OpEvent& ev, const Enriched& en,
                   absl::string_view actor) {
  // Appended piece by piece into the caller's buffer: at storm rates a
  // temporary string per piece was most of the cost of a line.
  const absl::string_view name = CallName(ev);
  const auto space_target = [&] {
    out->push_back(' ');
    AppendTarget(out, ev, en);
  };
  switch (ev.op) {
    case Op::kMode:
      Put(out, name);
      space_target();
      out->push_back(' ');
      if (en.state.mode_before) {
        AppendMode(out, *en.state.mode_before);
      } else {
        out->push_back('?');
      }
      out->append(" -> ");
      AppendMode(out, ev.mode.value_or(0));
      break;
    case Op::kOwner:
      Put(out, name);
      space_target();
      out->append(" to ");
      if (ev.owner) {
        PutNumber(out, *ev.owner);
      } else {
        out->append("-1");
      }
      out->push_back(':');
      if (ev.group) {
        PutNumber(out, *ev.group);
      } else {
        out->append("-1");
      }
      break;
    case Op::kXattrSet:
    case Op::kXattrRemove:
      Put(out, name);
      out->push_back(' ');
      AppendForText(out, ev.xattr_name ? absl::string_view(*ev.xattr_name) : "?");
      out->append(" on ");
      AppendTarget(out, ev, en);
      break;
    case Op::kCreds:
      Put(out, name);
      if (ev.call && !ev.call->requested_ids.empty()) {
        out->push_back('(');
        for (size_t i = 0; i < ev.call->requested_ids.size(); ++i) {
          if (i > 0) out->append(", ");
          AppendId(out, ev.call->requested_ids[i]);
        }
        out->push_back(')');
      }
      break;
    case Op::kExecCreds:
      out->append("exec of ");
      if (ev.text) {
        AppendQuoted(out, *ev.text);
      } else {
        AppendTarget(out, ev, en);
      }
      out->append(" with new credentials");
      break;
    case Op::kCreate:
    case Op::kMkdir:
    case Op::kMknod:
    case Op::kUmount:
      Put(out, ev.action);
      space_target();
      break;
    case Op::kMount: {
      // "mount tmpfs "none" on "/etc/sudoers.d"", "mount "/tmp/x" on "/etc/shadow"".
      Put(out, ev.action);
      if (ev.fstype) {
        out->push_back(' ');
        AppendForText(out, *ev.fstype);
      }
      if (const std::string* src = MountSource(ev)) {
        out->push_back(' ');
        AppendQuoted(out, *src);
      }
      out->append(" on ");
      AppendTarget(out, ev, en);
      break;
    }
    case Op::kWriteOpen:
      Put(out, ev.action);
      space_target();
      absl::StrAppend(out, " (", name, " ", OpenFlagsText(ev.open_flags.value_or(0)), ")");
      break;
    case Op::kTruncate:
    case Op::kUnlink:
    case Op::kWrite:
      Put(out, ev.action);
      space_target();
      absl::StrAppend(out, " (", name, ")");
      break;
    case Op::kRename:
    case Op::kLink:
    case Op::kSymlink: {
      // source -> destination, whichever side is watched.
      const OptionalString& other = OtherSidePath(ev);
      const std::string here = en.path ? en.path->path : std::string("?");
      const bool dest = WatchedOnDestination(ev) || ev.op == Op::kSymlink;
      const std::string from =
          ev.op == Op::kSymlink
              ? ev.text.value_or(ev.call && ev.call->path ? *ev.call->path : std::string("?"))
          : dest ? other.value_or("?")
                 : here;
      const std::string to = dest ? here : other.value_or("?");
      Put(out, ev.action);
      out->push_back(' ');
      AppendQuoted(out, from);
      out->append(" -> ");
      AppendQuoted(out, to);
      absl::StrAppend(out, " (", name, ", watched ");
      AppendTarget(out, ev, en);
      out->push_back(')');
      break;
    }
  }
  if (ev.watch) {
    absl::StrAppend(out, " [credential file: ",
                    en.watch ? en.watch->cls : absl::string_view("unverified name"), "]");
  }
  out->append(" by ");
  if (actor.empty()) {
    AppendActor(out, ev);
  } else {
    Put(out, actor);
  }
  AppendAiTag(out, ev);
  out->append(": ");
  if (ev.result == Result::kUnknown)
    absl::StrAppend(out, ev.io_uring ? "submitted via io_uring, " : "", "result unknown: ");
  if (!ev.success()) {
    absl::StrAppend(out, "failed ", ErrnoName(ev.error()));
  } else if (!en.delta.empty()) {
    AppendAccessDelta(out, en.delta);
  } else {
    out->append("success");
  }
}

void AppendAccessDelta(std::string* out, absl::Span<const std::string> delta) {
  for (size_t i = 0; i < delta.size(); ++i) {
    if (i > 0) out->append("; ");
    AppendForText(out, delta[i]);
  }
}

std::string Actor(const OpEvent& ev) {
  std::string out;
  AppendActor(&out, ev);
  return out;
}

void AppendActor(std::string* out, const OpEvent& ev) {
  AppendForText(out, ev.proc.comm);
  out->append(" (pid ");
  PutNumber(out, ev.proc.pid);
  out->append(", uid ");
  PutNumber(out, ev.proc.uid);
  out->push_back(')');
}

std::string AiTag(const OpEvent& ev) {
  std::string out;
  AppendAiTag(&out, ev);
  return out;
}

void AppendAiTag(std::string* out, const OpEvent& ev) {
  if (!ev.ai) return;
  // "claude, session S]": how an agent's own change and its neighbour's end.
  const auto agent_and_session = [&] {
    AppendForText(out, ev.ai->agent);
    out->append(", session ");
    AppendForText(out, ev.ai->session_id);
    out->push_back(']');
  };
  switch (ev.ai->kind) {
    case Attribution::Kind::kAgent:
      out->append(" [AI agent ");
      agent_and_session();
      return;
    case Attribution::Kind::kAssisted:
      if (ev.ai->declared_advice) {
        out->append(" [assisted: declared advice from ");
        AppendForText(out, ev.ai->agent);
        out->push_back(']');
        return;
      }
      out->append(" [assisted: beside AI agent ");
      agent_and_session();
      return;
    case Attribution::Kind::kSuspected:
      absl::StrAppend(out, " [suspected AI agent: pid ", ev.ai->root_pid, "]");
      return;
    default:
      return;
  }
}

}  // namespace permsentry
