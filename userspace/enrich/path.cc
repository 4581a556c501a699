#include "enrich/path.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace permsentry {

namespace {

// True when `path` is already normal: starts with '/', no empty, "." or ".."
// components, no trailing '/' (except "/" itself). The common case, so it skips
// the split-and-join.
bool IsNormal(absl::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  if (path.size() == 1) return true;
  if (path.back() == '/') return false;
  size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes at a time, while no '/' is followed by '/' or '.': only such
  // a place needs the closer look below ("/.ssh" is normal, "/./" is not).
  for (; i + 17 <= path.size(); i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(path.data() + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(path.data() + i + 1));
    const __m128i slash = _mm_cmpeq_epi8(a, _mm_set1_epi8('/'));
    const __m128i next =
        _mm_or_si128(_mm_cmpeq_epi8(b, _mm_set1_epi8('/')), _mm_cmpeq_epi8(b, _mm_set1_epi8('.')));
    if (_mm_movemask_epi8(_mm_and_si128(slash, next)) != 0) break;
  }
#endif
  for (; i < path.size(); ++i) {
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

void NormalizeAbsolutePathInPlace(std::string* path, bool* dotdot) {
  if (IsNormal(*path)) return;  // nearly every path: nothing to copy
  *path = NormalizeAbsolutePath(*path, dotdot);
}

absl::string_view LastComponent(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

namespace {

void Caveats(uint16_t f, ResolvedPath& r) {
  if (f & PS_PATH_TRUNCATED) r.caveats.push_back("truncated");
  if (f & PS_PATH_OUTSIDE_ROOT) r.caveats.push_back("outside_root");
  if (f & PS_PATH_OTHER_MNTNS) r.caveats.push_back("other_mount_namespace");
  if (f & PS_PATH_DELETED) r.caveats.push_back("deleted");
  if (f & PS_PATH_MOUNT_GUESSED) r.caveats.push_back("mount_guessed");
}

// A chrooted caller: `root` is its root as the host names it (a prefix of the
// kernel's path); the caller's own view is what follows it.
void SetRoot(absl::string_view root, ResolvedPath& r) {
  if (root.empty() || root == "/") return;
  if (!absl::StartsWith(r.path, root) ||
      (r.path.size() > root.size() && r.path[root.size()] != '/'))
    return;  // ".." in an argument left it (lexically): no view to give
  r.process_root.assign(root.data(), root.size());
  if (r.path.size() == root.size()) {
    r.path_in_root.assign("/");
  } else {
    r.path_in_root.assign(r.path, root.size());
  }
}

// A kernel-resolved path: the object's own (rich backend: always; tracepoint
// backend: fd-named or found by its dcache lookup).
bool KernelPath(const OpEvent& ev, const OptionalString& path, uint16_t f, uint16_t root_len,
                ResolvedPath& r) {
  Caveats(f, r);
  if (!path) return false;  // bad fd: nothing to name
  r.path.assign(*path);     // the kernel's own walk: already canonical
  SetRoot(absl::string_view(*path).substr(0, root_len), r);
  if (!ev.call) {
    r.method = "kernel_path";  // the struct path the kernel acted on
    return true;
  }
  const CallArgs& c = *ev.call;
  r.method = c.lookup_flags && !c.fd && !ev.open_flags ? "kernel_lookup" : "kernel_fd";
  if (r.method == "kernel_lookup" && (*c.lookup_flags & PS_LK_SYMLINK)) {
    // The argument went through a symlink: the path is where it led.
    r.caveats.push_back("via_symlink");
    r.symlink_target = r.path;
  }
  return true;
}

}  // namespace

bool WatchedOnDestination(const OpEvent& ev) { return ev.watch && (ev.watch->how & PS_WM_PATH2); }

std::optional<ResolvedPath> ResolveEventPath(const OpEvent& ev) {
  ResolvedPath r;
  if (!ResolveEventPathInto(ev, r)) return std::nullopt;
  return r;
}

bool ResolveEventPathInto(const OpEvent& ev, ResolvedPath& r) {
  // Emptied, the strings keeping their buffers for this event's path.
  r.path.clear();
  r.method = {};
  r.caveats.clear();
  r.process_root.clear();
  r.path_in_root.clear();
  r.symlink_target.reset();
  // Name operations: the side that holds the watched name.
  const bool second = WatchedOnDestination(ev);
  if (!ev.call) {
    // Rich backend: every path is the kernel's.
    if (second && ev.path2) return KernelPath(ev, ev.path2, ev.path2_flags, ev.path2_root_len, r);
    return KernelPath(ev, ev.path, ev.path_flags, ev.path_root_len, r);
  }
  const uint16_t f = ev.path_flags;
  if (f & PS_PATH_OBJECT) return KernelPath(ev, ev.path, f, ev.path_root_len, r);
  const CallArgs& c = *ev.call;
  const OptionalString& named = second ? c.path2 : c.path;
  Caveats(f, r);
  const absl::string_view root =
      ev.path ? absl::string_view(*ev.path).substr(0, ev.path_root_len) : absl::string_view();
  if (f & PS_PATH_PARENT) {
    if (!ev.path || !named) return false;
    const absl::string_view last = LastComponent(*named);
    r.path.assign(*ev.path).append("/").append(last.data(), last.size());
    NormalizeAbsolutePathInPlace(&r.path);
    r.method = "kernel_parent";
    SetRoot(root, r);
    return true;
  }
  if (!c.path) return false;
  const std::string& arg = IsCredfileOp(ev.op) && named ? *named : *c.path;
  bool dotdot = false;
  if ((f & PS_PATH_BASE) && !arg.empty() && arg[0] == '/') {
    // An absolute argument from a chrooted caller: its root is the base. The
    // argument is normalised on its own first: ".." stops at that root.
    if (!ev.path) return false;
    r.path = NormalizeAbsolutePath(*ev.path + NormalizeAbsolutePath(arg, &dotdot));
    r.method = "kernel_root";
    SetRoot(*ev.path, r);
  } else if (f & PS_PATH_BASE) {
    if (!ev.path) return false;  // bad dirfd
    r.path.assign(*ev.path).append("/").append(arg);
    NormalizeAbsolutePathInPlace(&r.path, &dotdot);
    r.method = (c.dirfd && *c.dirfd != kAtFdCwd) ? "kernel_dirfd" : "kernel_cwd";
    SetRoot(root, r);
  } else if (!arg.empty() && arg[0] == '/') {
    r.path.assign(arg);
    NormalizeAbsolutePathInPlace(&r.path, &dotdot);
    r.method = "argument";
  } else {
    return false;
  }
  if (dotdot) r.caveats.push_back("dotdot_lexical");
  return true;
}

const OptionalString& OtherSidePath(const OpEvent& ev) {
  const bool second = WatchedOnDestination(ev);
  if (!ev.call) return second ? ev.path : ev.path2;
  return second ? ev.call->path : ev.call->path2;
}

SymlinkChecker::SymlinkChecker() {
  // init's, or where it cannot be read (another pid namespace's init, a
  // supervisor that hides it), kthreadd's: the same host root the kernel side
  // names paths from (bpf/path.bpf.h).
  char self[64] = {};
  const ssize_t a = readlink("/proc/self/ns/mnt", self, sizeof(self) - 1);
  if (a <= 0) return;
  for (const char* pid : {"1", "2"}) {
    char host[64] = {};
    const ssize_t b =
        readlink(absl::StrCat("/proc/", pid, "/ns/mnt").c_str(), host, sizeof(host) - 1);
    if (b <= 0) continue;
    if (absl::string_view(self, a) != absl::string_view(host, b))
      host_root_ = absl::StrCat("/proc/", pid, "/root");
    return;
  }
}

void SymlinkChecker::Annotate(const OpEvent& ev, ResolvedPath& path) {
  // The kernel's answers already followed every symlink the call follows.
  if (absl::StartsWith(path.method, "kernel_fd") || path.method == "kernel_lookup" ||
      path.method == "kernel_root" || path.method == "kernel_parent" ||
      path.method == "kernel_path" || !ev.call || !ev.sc || ev.sc->nofollow || IsCredfileOp(ev.op))
    return;
  const CallArgs& c = *ev.call;
  // The dcache lookup walked every component: no symlink on the way.
  if (c.lookup_flags &&
      !(*c.lookup_flags & (PS_LK_NOT_CACHED | PS_LK_ABSENT | PS_LK_UNRESOLVED | PS_LK_SYMLINK)))
    return;
  if (c.at_flags && (*c.at_flags & AT_SYMLINK_NOFOLLOW)) return;
  constexpr int64_t kFreshNs = 10'000'000;  // 10 ms
  constexpr size_t kMaxEntries = 4096;
  const int64_t now = absl::GetCurrentTimeNanos();
  auto it = cache_.find(path.path);
  if (it == cache_.end() || now - it->second.checked_ns > kFreshNs) {
    if (cache_.size() >= kMaxEntries) cache_.clear();
    Entry e{.checked_ns = now, .target = std::nullopt};
    struct stat st;
    const std::string at = host_root_ + path.path;
    if (lstat(at.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      char buf[PATH_MAX];
      if (host_root_.empty()) {
        e.target = realpath(at.c_str(), buf) != nullptr ? std::string(buf) : std::string();
      } else {
        // realpath would leave init's root at its first step: the link's own
        // text, made absolute against its directory.
        const ssize_t n = readlink(at.c_str(), buf, sizeof(buf) - 1);
        const std::string t = n > 0 ? std::string(buf, n) : std::string();
        e.target = t.empty() || t[0] == '/'
                       ? NormalizeAbsolutePath(t.empty() ? "/" : t)
                       : NormalizeAbsolutePath(
                             absl::StrCat(path.path.substr(0, path.path.rfind('/')), "/", t));
        if (t.empty()) e.target = std::string();
      }
    }
    it = cache_.insert_or_assign(path.path, std::move(e)).first;
  }
  if (!it->second.target) return;
  path.caveats.push_back("via_symlink");
  if (!it->second.target->empty()) path.symlink_target = *it->second.target;
}

}  // namespace permsentry
