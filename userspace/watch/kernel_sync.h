// Keeps a running backend's watch tables (KernelTables: watch_inodes,
// watch_names, watch_filter) equal to a KernelWatch, writing only what
// changed: a refresh that finds nothing new costs no map update.
#ifndef PERMSENTRY_WATCH_KERNEL_SYNC_H_
#define PERMSENTRY_WATCH_KERNEL_SYNC_H_

#include "absl/status/status.h"
#include "capture/kernel_table.h"
#include "watch/watch_list.h"

namespace permsentry {

class WatchSync {
 public:
  explicit WatchSync(const KernelTables& tables) : tables_(tables) {}

  // Make the tables hold `next`. On error they hold a mix of old and new
  // entries (every one of them valid) and the next call rewrites everything.
  // The kernel adds inodes itself (what a rename or link put behind a watched
  // name): whatever the file system no longer shows at a watched place goes.
  absl::Status Apply(const KernelWatch& next);
  const KernelWatch& current() const { return current_; }

 private:
  KernelTables tables_;
  KernelWatch current_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_WATCH_KERNEL_SYNC_H_
