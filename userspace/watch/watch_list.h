// The credential-file watch list: which files and directories hold credentials,
// and what the kernel needs to know to recognise them by identity (inode numbers
// of the files, of their directories, and the watched names in those
// directories). Rebuilt from the file system whenever a rename or link may have
// put a new inode behind a watched name.
#ifndef PERMSENTRY_WATCH_WATCH_LIST_H_
#define PERMSENTRY_WATCH_WATCH_LIST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "permsentry/abi/events.h"

namespace permsentry {

struct WatchEntry {
  // As configured. Absolute; a trailing '/' makes it a directory (itself and
  // every entry in it); '*' matches within one component; a leading "~/" means
  // the same path under every home directory in the password database.
  std::string pattern;
  std::string cls;  // what kind of credential it holds: "sudoers", "authorized_keys", ...
  bool directory = false;
};

// The built-in list (README "Credential files").
std::vector<WatchEntry> DefaultWatchList();

// Validate one configured entry: the error says what is wrong with it.
absl::StatusOr<WatchEntry> MakeWatchEntry(absl::string_view pattern, absl::string_view cls);

// The absolute paths an entry names right now (globs and homes expanded; paths
// that do not exist are kept when their directory does, so a watched name is
// recognised the moment it is created).
std::vector<std::string> ExpandWatchEntry(const WatchEntry& entry);

// Map keys as the kernel sees them (see include/permsentry/abi/events.h).
struct InodeId {
  uint64_t ino = 0;
  uint32_t dev = 0;  // kernel encoding: major << 20 | minor
  bool operator==(const InodeId&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const InodeId& k) {
    return H::combine(std::move(h), k.ino, k.dev);
  }
};
struct NameInDir {
  InodeId dir;
  std::string name;
  bool operator==(const NameInDir&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const NameInDir& k) {
    return H::combine(std::move(h), k.dir, k.name);
  }
};

struct WatchVal {
  uint32_t cls = 0;    // index of the first entry that covers it
  uint32_t flags = 0;  // PS_WF_*
  bool operator==(const WatchVal&) const = default;
};

// Everything the kernel maps hold for one watch list.
struct KernelWatch {
  absl::flat_hash_map<InodeId, WatchVal> inodes;
  absl::flat_hash_map<NameInDir, WatchVal> names;
  absl::flat_hash_map<std::string, uint32_t> filter;  // PS_NF_* per name
  size_t paths_present = 0;                           // watched paths that exist now
  bool operator==(const KernelWatch&) const = default;
};

// Look the list up on the file system. Entry i gets class index i (the first
// entry that covers an inode or name wins).
KernelWatch BuildKernelWatch(const std::vector<WatchEntry>& list);

// st_dev (userspace encoding) → the kernel's dev_t encoding.
uint32_t KernelDev(uint64_t st_dev);

}  // namespace permsentry

#endif  // PERMSENTRY_WATCH_WATCH_LIST_H_
