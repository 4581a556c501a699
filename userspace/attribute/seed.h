// The startup seed: processes that were running before the sensor started.
// The kernel's task iterator has entered each under its current parent; here
// each is checked against the signatures (from /proc), recognised roots start
// their sessions, and sessions spread to the descendants the table links.
#ifndef PERMSENTRY_ATTRIBUTE_SEED_H_
#define PERMSENTRY_ATTRIBUTE_SEED_H_

#include <functional>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "attribute/proc_fs.h"
#include "attribute/process_table.h"
#include "attribute/signatures.h"
#include "permsentry/abi/events.h"

namespace permsentry {

struct KernelProc {
  ps_proc_key key;
  ps_proc_info info;
};

using ProcReader = std::function<std::optional<ProcFsInfo>(uint32_t pid)>;

// Updates `procs` in place and fills `table`. Returns the indexes of the
// entries whose session changed: the caller writes those back to the kernel.
std::vector<size_t> SeedSessions(std::vector<KernelProc>& procs, const SignatureSet& sigs,
                                 ProcessTable& table, absl::Time now, const ProcReader& read);

}  // namespace permsentry

#endif  // PERMSENTRY_ATTRIBUTE_SEED_H_
