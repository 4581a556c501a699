// The attribution stage's side of a running backend's tables: the agent
// signatures the exec hook matches (ai_paths, ai_env) and the process table
// (procs) the startup seed reads back and completes.
#ifndef PERMSENTRY_ATTRIBUTE_KERNEL_SYNC_H_
#define PERMSENTRY_ATTRIBUTE_KERNEL_SYNC_H_

#include <vector>

#include "absl/status/statusor.h"
#include "attribute/seed.h"
#include "attribute/signatures.h"
#include "capture/kernel_table.h"

namespace permsentry {

class AttributionSync {
 public:
  explicit AttributionSync(const KernelTables& tables) : tables_(tables) {}

  // Make ai_paths and ai_env hold `next` (removals first, so a changed table
  // never holds two claims at once).
  absl::Status SetSignatures(const KernelSignatures& next);
  // Every entry of the kernel's process table.
  std::vector<KernelProc> ReadProcs() const;
  // Write back one entry the seed changed (one that exited meanwhile stays gone).
  absl::Status WriteProc(const KernelProc& p);
  size_t CountProcs() const;

 private:
  KernelTables tables_;
  KernelSignatures current_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_ATTRIBUTE_KERNEL_SYNC_H_
