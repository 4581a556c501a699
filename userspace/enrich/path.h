// The absolute path of the object an event changed, from what the kernel
// resolved (an fd's own path, or the directory a relative argument starts from)
// and the argument itself.
#ifndef PERMSENTRY_ENRICH_PATH_H_
#define PERMSENTRY_ENRICH_PATH_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "decode/event.h"

namespace permsentry {

struct ResolvedPath {
  std::string path;  // absolute and normalised (no "//", "." or ".."), bytes as in the kernel
  // How it was obtained: "kernel_path" (rich backend: the struct path the
  // kernel acted on), "kernel_fd" (the object's open file), "kernel_lookup"
  // (the object found in the dcache and walked back to the root),
  // "kernel_parent" (the watched name's directory, walked back, + the name),
  // "kernel_cwd" or "kernel_dirfd" (kernel-resolved base + the argument),
  // "kernel_root" (a chrooted caller's root, kernel-resolved, + its absolute
  // argument),
  // "argument" (an absolute argument, normalised).
  absl::string_view method;  // static text
  // Why the path may not be the whole truth: "truncated" (deeper than the walk
  // bound: leading components missing), "outside_root" (not under the caller's
  // root), "other_mount_namespace" (not reachable from the host's root: named
  // from its own namespace's root), "deleted", "bad_fd", "dotdot_lexical" (".." in the argument was
  // applied to the text; a symlink before it would lead elsewhere),
  // "mount_guessed" (the hook named no mount; one of several mounts of the
  // file system was taken).
  std::vector<std::string> caveats;
  // The caller was chrooted (its root is not the host's): its root as the
  // host names it, and the path as the caller sees it. Empty otherwise.
  std::string process_root;
  std::string path_in_root;
  // For calls that follow symlinks, when the path is a symlink (checked with
  // lstat right after the call): where it points, by realpath(3). Marked
  // "via_symlink" in caveats; the link itself was not changed.
  std::optional<std::string> symlink_target;
};

// Lexical normalisation of an absolute path: collapses "//", "." and "..";
// `dotdot` is set when a ".." removed a component.
std::string NormalizeAbsolutePath(absl::string_view path, bool* dotdot = nullptr);
// The same, of *path in place (no copy when it is normal already).
void NormalizeAbsolutePathInPlace(std::string* path, bool* dotdot = nullptr);

// The last component of a path argument ("a/b/" → "b").
absl::string_view LastComponent(absl::string_view path);

// The changed object's absolute path, or nullopt when the event has none
// (credential calls) or it cannot be known (unreadable argument, bad dirfd).
// For a rename or link: the side that holds the watched name.
std::optional<ResolvedPath> ResolveEventPath(const OpEvent& ev);
// The same into `r` (its strings' buffers reused); false: none.
bool ResolveEventPathInto(const OpEvent& ev, ResolvedPath& r);

// Is a rename's or link's watched side its destination?
bool WatchedOnDestination(const OpEvent& ev);

// A rename's or link's other side (the one ResolveEventPath does not name): the
// kernel's path (rich backend) or the argument as given (tracepoint backend).
const OptionalString& OtherSidePath(const OpEvent& ev);

// Whether the call followed a symlink in its last component: a path-based call
// without nofollow semantics whose path is a symlink now. The kernel does not
// show this to syscall tracepoints, so it is checked after the call (lstat).
// Answers are cached for a few milliseconds per path: a storm of calls on one
// path costs one lstat, not one per event. Not thread-safe.
class SymlinkChecker {
 public:
  SymlinkChecker();
  void Annotate(const OpEvent& ev, ResolvedPath& path);

 private:
  // Where the host's files are seen from here: "" when this process shares
  // init's mount namespace, else "/proc/1/root" (or kthreadd's, where init's
  // cannot be read): a service with PrivateTmp or ProtectSystem has its own,
  // and its /tmp is not the host's.
  std::string host_root_;
  struct Entry {
    int64_t checked_ns;
    std::optional<std::string> target;  // set when the path is a symlink
  };
  absl::flat_hash_map<std::string, Entry> cache_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_ENRICH_PATH_H_
