#include "enrich/path.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace permsentry {

namespace {

// True when `path` is already normal: starts with '/', no empty, "." or ".."
// components, no trailing '/' (except "/" itself). The common case, so it skips
// the split-and-join.
bool IsNormal(absl::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  if (path.size() == 1) return true;
  if (path.back() == '/') return false;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '/') continue;
    const absl::string_view rest = path.substr(i + 1);
    if (rest.empty() || rest[0] == '/') return false;
    if (rest[0] == '.' && (rest.size() == 1 || rest[1] == '/')) return false;
    if (rest.size() >= 2 && rest[0] == '.' && rest[1] == '.' &&
        (rest.size() == 2 || rest[2] == '/'))
      return false;
  }
  return true;
}

}  // namespace

std::string NormalizeAbsolutePath(absl::string_view path, bool* dotdot) {
  if (IsNormal(path)) return std::string(path);
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

absl::string_view LastComponent(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
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
    // A path-based call's object found by the dcache lookup, or an fd's file.
    r.method = ev.lookup_flags && !ev.fd && !ev.open_flags ? "kernel_lookup" : "kernel_fd";
    if (r.method == "kernel_lookup" && (*ev.lookup_flags & PS_LK_SYMLINK)) {
      // The argument went through a symlink: the path is where it led.
      r.caveats.push_back("via_symlink");
      r.symlink_target = r.path;
    }
    return r;
  }
  // Name operations: which of the two paths holds the watched name.
  const bool second = ev.watch && (ev.watch->how & PS_WM_PATH2);
  const std::optional<std::string>& named = second ? ev.path2 : ev.path;
  if (f & PS_RES_PARENT) {
    if (!ev.resolved || !named) return std::nullopt;
    const absl::string_view last = LastComponent(*named);
    r.path = NormalizeAbsolutePath(absl::StrCat(*ev.resolved, "/", last));
    r.method = "kernel_parent";
    return r;
  }
  if (!ev.path) return std::nullopt;
  const std::string& arg = IsCredfileFamily(ev.sc->family) && named ? *named : *ev.path;
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

void SymlinkChecker::Annotate(const SyscallEvent& ev, ResolvedPath& path) {
  // The kernel's answers already followed every symlink the call follows.
  if (absl::StartsWith(path.method, "kernel_fd") || path.method == "kernel_lookup" ||
      path.method == "kernel_parent" || ev.sc->nofollow || IsCredfileFamily(ev.sc->family))
    return;
  // The dcache lookup walked every component: no symlink on the way.
  if (ev.lookup_flags &&
      !(*ev.lookup_flags & (PS_LK_NOT_CACHED | PS_LK_ABSENT | PS_LK_UNRESOLVED | PS_LK_SYMLINK)))
    return;
  if (ev.at_flags && (*ev.at_flags & AT_SYMLINK_NOFOLLOW)) return;
  constexpr int64_t kFreshNs = 10'000'000;  // 10 ms
  constexpr size_t kMaxEntries = 4096;
  const int64_t now = absl::GetCurrentTimeNanos();
  auto it = cache_.find(path.path);
  if (it == cache_.end() || now - it->second.checked_ns > kFreshNs) {
    if (cache_.size() >= kMaxEntries) cache_.clear();
    Entry e{.checked_ns = now, .target = std::nullopt};
    struct stat st;
    if (lstat(path.path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      char buf[PATH_MAX];
      e.target = realpath(path.path.c_str(), buf) != nullptr ? std::string(buf) : std::string();
    }
    it = cache_.insert_or_assign(path.path, std::move(e)).first;
  }
  if (!it->second.target) return;
  path.caveats.push_back("via_symlink");
  if (!it->second.target->empty()) path.symlink_target = *it->second.target;
}

}  // namespace permsentry
