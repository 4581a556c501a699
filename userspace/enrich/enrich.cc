// The enrich stage's per-event product, and the one-line summary built from it.
#include "enrich/enrich.h"

#include <fcntl.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace permsentry {
namespace {

std::string IdText(uint32_t id) { return id == kUnsetId ? "-1" : absl::StrCat(id); }

std::string Target(const SyscallEvent& ev, const Enriched& en) {
  if (en.path) return absl::StrCat("\"", EscapeForText(en.path->path), "\"");
  if (ev.path) return absl::StrCat("\"", EscapeForText(*ev.path), "\"");
  if (ev.path_fault) return "<unreadable path>";
  if (ev.fd) return absl::StrCat("fd ", *ev.fd);
  return "";
}

}  // namespace

std::string FormatMode(uint32_t mode) {
  mode &= 07777;
  char out[6];
  int n = 0;
  out[n++] = '0';
  if (mode > 0777) out[n++] = static_cast<char>('0' + (mode >> 9));
  out[n++] = static_cast<char>('0' + ((mode >> 6) & 7));
  out[n++] = static_cast<char>('0' + ((mode >> 3) & 7));
  out[n++] = static_cast<char>('0' + (mode & 7));
  return std::string(out, n);
}

Enriched Enrich(const SyscallEvent& ev, NameCache& names, SymlinkChecker& symlinks,
                const std::vector<WatchEntry>* watch_list) {
  Enriched en{
      .path = ResolveEventPath(ev), .state = FileStateOf(ev), .delta = AccessDelta(ev, names)};
  if (en.path && ev.success()) symlinks.Annotate(ev, *en.path);
  if (ev.watch && watch_list && ev.watch->cls < watch_list->size())
    en.watch = &(*watch_list)[ev.watch->cls];
  return en;
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

std::string Summary(const SyscallEvent& ev, const Enriched& en) {
  const SyscallInfo& sc = *ev.sc;
  std::string what;
  switch (sc.family) {
    case Family::kChmod:
      what = absl::StrCat(sc.name, " ", Target(ev, en), " ",
                          en.state.mode_before ? FormatMode(*en.state.mode_before) : "?", " -> ",
                          FormatMode(ev.mode.value_or(0)));
      break;
    case Family::kChown:
      what = absl::StrCat(sc.name, " ", Target(ev, en), " to ",
                          ev.owner ? absl::StrCat(*ev.owner) : "-1", ":",
                          ev.group ? absl::StrCat(*ev.group) : "-1");
      break;
    case Family::kSetXattr:
    case Family::kRemoveXattr:
      what = absl::StrCat(sc.name, " ", EscapeForText(ev.xattr_name.value_or("?")), " on ",
                          Target(ev, en));
      break;
    case Family::kSetId: {
      std::vector<std::string> ids;
      for (uint32_t id : ev.requested_ids) ids.push_back(IdText(id));
      what = absl::StrCat(sc.name, "(", absl::StrJoin(ids, ", "), ")");
      break;
    }
    case Family::kSetGroups:
    case Family::kCapset:
      what = std::string(sc.name);
      break;
    case Family::kOpen:
      what = absl::StrCat(sc.action, " ", Target(ev, en), " (", sc.name, " ",
                          OpenFlagsText(ev.open_flags.value_or(0)), ")");
      break;
    case Family::kTruncate:
    case Family::kUnlink:
      what = absl::StrCat(sc.action, " ", Target(ev, en), " (", sc.name, ")");
      break;
    case Family::kRename:
    case Family::kLink:
    case Family::kSymlink:
      what = absl::StrCat(sc.action, " \"", EscapeForText(ev.path.value_or("?")), "\" -> \"",
                          EscapeForText(ev.path2.value_or("?")), "\" (", sc.name, ", watched ",
                          Target(ev, en), ")");
      break;
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
  if (sc.io_uring) outcome = absl::StrCat("submitted via io_uring, result unknown: ", outcome);
  return absl::StrCat(what, " by ", Actor(ev), AiTag(ev), ": ", outcome);
}

std::string Actor(const SyscallEvent& ev) {
  return absl::StrCat(EscapeForText(ev.proc.comm), " (pid ", ev.proc.pid, ", uid ", ev.proc.uid,
                      ")");
}

std::string AiTag(const SyscallEvent& ev) {
  if (ev.ai && ev.ai->kind == Attribution::Kind::kAgent) {
    return absl::StrCat(" [AI agent ", EscapeForText(ev.ai->agent), ", session ",
                        EscapeForText(ev.ai->session_id), "]");
  }
  if (ev.ai && ev.ai->kind == Attribution::Kind::kAssisted) {
    return absl::StrCat(" [assisted: beside AI agent ", EscapeForText(ev.ai->agent), ", session ",
                        EscapeForText(ev.ai->session_id), "]");
  }
  return "";
}

}  // namespace permsentry
