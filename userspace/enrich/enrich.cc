// The enrich stage's per-event product, and the one-line summary built from it.
#include "enrich/enrich.h"

#include <fcntl.h>
#include <sys/mount.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "watch/watch_list.h"

namespace permsentry {
namespace {

std::string IdText(uint32_t id) { return id == kUnsetId ? "-1" : absl::StrCat(id); }

std::string Target(const OpEvent& ev, const Enriched& en) {
  if (en.path) return absl::StrCat("\"", EscapeForText(en.path->path), "\"");
  if (ev.call) {
    if (ev.call->path) return absl::StrCat("\"", EscapeForText(*ev.call->path), "\"");
    if (ev.call->path_fault) return "<unreadable path>";
    if (ev.call->fd) return absl::StrCat("fd ", *ev.call->fd);
  }
  if (ev.object) return absl::StrCat("inode ", ev.object->ino);
  return "";
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
  Enriched en{
      .path = ResolveEventPath(ev), .state = FileStateOf(ev), .delta = AccessDelta(ev, names)};
  if (en.path && ev.success()) symlinks.Annotate(ev, *en.path);
  if (ev.watch && watch_list && ev.watch->cls < watch_list->size())
    en.watch = &(*watch_list)[ev.watch->cls];
  if ((ev.op == Op::kMount || ev.op == Op::kUmount) && watch_list != nullptr) {
    CoveredWatches(ev, *watch_list, en);
    for (size_t i = 0; i < en.covered.size() && i < 3; ++i)
      en.delta.push_back(absl::StrCat(ev.op == Op::kMount ? "covers" : "uncovers", " watched ",
                                      EscapeForText(en.covered[i])));
    if (en.covered.size() > 3)
      en.delta.push_back(absl::StrCat("and ", en.covered.size() - 3, " more watched paths"));
  }
  return en;
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
  const absl::string_view name = CallName(ev);
  std::string what;
  switch (ev.op) {
    case Op::kMode:
      what = absl::StrCat(name, " ", Target(ev, en), " ",
                          en.state.mode_before ? FormatMode(*en.state.mode_before) : "?", " -> ",
                          FormatMode(ev.mode.value_or(0)));
      break;
    case Op::kOwner:
      what =
          absl::StrCat(name, " ", Target(ev, en), " to ", ev.owner ? absl::StrCat(*ev.owner) : "-1",
                       ":", ev.group ? absl::StrCat(*ev.group) : "-1");
      break;
    case Op::kXattrSet:
    case Op::kXattrRemove:
      what = absl::StrCat(name, " ", EscapeForText(ev.xattr_name.value_or("?")), " on ",
                          Target(ev, en));
      break;
    case Op::kCreds:
      if (ev.call && !ev.call->requested_ids.empty()) {
        std::vector<std::string> ids;
        for (uint32_t id : ev.call->requested_ids) ids.push_back(IdText(id));
        what = absl::StrCat(name, "(", absl::StrJoin(ids, ", "), ")");
      } else {
        what = std::string(name);
      }
      break;
    case Op::kExecCreds:
      what = absl::StrCat(
          "exec of ", ev.text ? absl::StrCat("\"", EscapeForText(*ev.text), "\"") : Target(ev, en),
          " with new credentials");
      break;
    case Op::kCreate:
    case Op::kMkdir:
    case Op::kMknod:
      what = absl::StrCat(ev.action, " ", Target(ev, en));
      break;
    case Op::kMount: {
      // "mount tmpfs "none" on "/etc/sudoers.d"", "mount "/tmp/x" on "/etc/shadow"".
      const std::string* src = MountSource(ev);
      what = absl::StrCat(
          ev.action, ev.fstype ? " " : "", ev.fstype ? EscapeForText(*ev.fstype) : "",
          src ? absl::StrCat(" \"", EscapeForText(*src), "\"") : "", " on ", Target(ev, en));
      break;
    }
    case Op::kUmount:
      what = absl::StrCat(ev.action, " ", Target(ev, en));
      break;
    case Op::kWriteOpen:
      what = absl::StrCat(ev.action, " ", Target(ev, en), " (", name, " ",
                          OpenFlagsText(ev.open_flags.value_or(0)), ")");
      break;
    case Op::kTruncate:
    case Op::kUnlink:
    case Op::kWrite:
      what = absl::StrCat(ev.action, " ", Target(ev, en), " (", name, ")");
      break;
    case Op::kRename:
    case Op::kLink:
    case Op::kSymlink: {
      // source -> destination, whichever side is watched.
      const std::optional<std::string> other = OtherSidePath(ev);
      const std::string here = en.path ? en.path->path : std::string("?");
      const bool dest = WatchedOnDestination(ev) || ev.op == Op::kSymlink;
      const std::string from =
          ev.op == Op::kSymlink
              ? ev.text.value_or(ev.call && ev.call->path ? *ev.call->path : std::string("?"))
          : dest ? other.value_or("?")
                 : here;
      const std::string to = dest ? here : other.value_or("?");
      what = absl::StrCat(ev.action, " \"", EscapeForText(from), "\" -> \"", EscapeForText(to),
                          "\" (", name, ", watched ", Target(ev, en), ")");
      break;
    }
  }
  if (ev.watch) {
    absl::StrAppend(&what, " [credential file: ",
                    en.watch ? en.watch->cls : absl::string_view("unverified name"), "]");
  }
  std::string outcome;
  if (!ev.success()) {
    outcome = absl::StrCat("failed ", ErrnoName(ev.error()));
  } else if (!en.delta.empty()) {
    outcome = EscapeForText(absl::StrJoin(en.delta, "; "));
  } else {
    outcome = "success";
  }
  if (ev.result == Result::kUnknown)
    outcome =
        absl::StrCat(ev.io_uring ? "submitted via io_uring, " : "", "result unknown: ", outcome);
  return absl::StrCat(what, " by ", Actor(ev), AiTag(ev), ": ", outcome);
}

std::string Actor(const OpEvent& ev) {
  return absl::StrCat(EscapeForText(ev.proc.comm), " (pid ", ev.proc.pid, ", uid ", ev.proc.uid,
                      ")");
}

std::string AiTag(const OpEvent& ev) {
  if (ev.ai && ev.ai->kind == Attribution::Kind::kAgent) {
    return absl::StrCat(" [AI agent ", EscapeForText(ev.ai->agent), ", session ",
                        EscapeForText(ev.ai->session_id), "]");
  }
  if (ev.ai && ev.ai->kind == Attribution::Kind::kAssisted && ev.ai->declared_advice) {
    return absl::StrCat(" [assisted: declared advice from ", EscapeForText(ev.ai->agent), "]");
  }
  if (ev.ai && ev.ai->kind == Attribution::Kind::kAssisted) {
    return absl::StrCat(" [assisted: beside AI agent ", EscapeForText(ev.ai->agent), ", session ",
                        EscapeForText(ev.ai->session_id), "]");
  }
  if (ev.ai && ev.ai->kind == Attribution::Kind::kSuspected) {
    return absl::StrCat(" [suspected AI agent: pid ", ev.ai->root_pid, "]");
  }
  return "";
}

}  // namespace permsentry
