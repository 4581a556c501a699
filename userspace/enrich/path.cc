#include "enrich/path.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace permsentry {

std::string NormalizeAbsolutePath(absl::string_view path, bool* dotdot) {
  std::vector<absl::string_view> parts;
  for (absl::string_view c : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) {
        parts.pop_back();
        if (dotdot) *dotdot = true;
      }
      continue;  // "/.." is "/"
    }
    parts.push_back(c);
  }
  return "/" + absl::StrJoin(parts, "/");
}

std::optional<ResolvedPath> ResolveEventPath(const SyscallEvent& ev) {
  const uint16_t f = ev.resolve_flags;
  ResolvedPath r;
  if (f & PS_RES_TRUNCATED) r.caveats.push_back("truncated");
  if (f & PS_RES_OUTSIDE_ROOT) r.caveats.push_back("outside_root");
  if (f & PS_RES_DELETED) r.caveats.push_back("deleted");

  if (f & PS_RES_OBJECT) {
    if (!ev.resolved) return std::nullopt;  // bad fd: nothing to name
    r.path = *ev.resolved;                  // the kernel's own walk: already canonical
    r.method = "kernel_fd";
    return r;
  }
  if (!ev.path) return std::nullopt;
  const std::string& arg = *ev.path;
  bool dotdot = false;
  if (f & PS_RES_BASE) {
    if (!ev.resolved) return std::nullopt;  // bad dirfd
    r.path = NormalizeAbsolutePath(*ev.resolved + "/" + arg, &dotdot);
    r.method = (ev.dirfd && *ev.dirfd != kAtFdCwd) ? "kernel_dirfd" : "kernel_cwd";
  } else if (!arg.empty() && arg[0] == '/') {
    r.path = NormalizeAbsolutePath(arg, &dotdot);
    r.method = "argument";
  } else {
    return std::nullopt;
  }
  if (dotdot) r.caveats.push_back("dotdot_lexical");
  return r;
}

void AnnotateSymlink(const SyscallEvent& ev, ResolvedPath& path) {
  if (path.method == "kernel_fd" || ev.sc->nofollow) return;
  if (ev.at_flags && (*ev.at_flags & AT_SYMLINK_NOFOLLOW)) return;
  struct stat st;
  if (lstat(path.path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return;
  path.caveats.push_back("via_symlink");
  char buf[PATH_MAX];
  if (realpath(path.path.c_str(), buf) != nullptr) path.symlink_target = buf;
}

}  // namespace permsentry
