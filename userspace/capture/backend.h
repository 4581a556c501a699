// Capture backends: what puts operation records into the rings. Two exist:
//
//   rich        fentry/fexit on the kernel functions that do the work (the
//               objects the kernel resolved, exact state before and after, the
//               real result, io_uring alike; no program on any syscall)
//   tracepoint  the generic syscall tracepoints (tp_btf, or raw_tp), plus
//               io_uring's submission tracepoint: loads wherever BPF does
//
// Both send the same records (include/permsentry/abi/events.h) and share the
// process-lifecycle programs. `auto` runs the rich backend where the kernel
// allows fentry, the tracepoint backend elsewhere, and says why.
//
// The stages above fill a running backend's tables (watch list, agent
// signatures, process table) through KernelTables; the backend knows nothing
// of what they mean.
#ifndef PERMSENTRY_CAPTURE_BACKEND_H_
#define PERMSENTRY_CAPTURE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capture/kernel_table.h"
#include "capture/rings.h"

namespace permsentry {

enum class BackendChoice { kAuto, kTracepoint, kRich };
// The tracepoint backend's program flavour: tp_btf (typed, cheaper reads) with
// raw_tp as the fallback, or either one forced.
enum class TracepointFlavour { kAuto, kTpBtf, kRawTp };

struct CaptureOptions {
  uint32_t bulk_ring_bytes = 16u << 20;
  uint32_t urgent_ring_bytes = 1u << 20;
  uint32_t process_table_entries = 65536;  // live processes the kernel table holds
  bool verbose = false;                    // pass libbpf's log (verifier output) to stderr
  BackendChoice backend = BackendChoice::kAuto;
  TracepointFlavour flavour = TracepointFlavour::kAuto;
};

// What runs, and why: for the start-up line, `status` and `probe`.
struct BackendInfo {
  std::string name;     // "rich" or "tracepoint"
  std::string flavour;  // "fentry", "tp_btf" or "raw_tp"
  std::string reason;   // why this backend (and not the other) runs
  // What it cannot see on this kernel: each a sentence, empty when complete.
  std::vector<std::string> limits;
  bool tracks_processes = true;  // AI attribution needs the lifecycle hooks
  size_t programs = 0;           // programs attached to kernel hooks
};

// Sums of the kernel's per-CPU counters (enum ps_stat).
struct CaptureStats {
  uint64_t events_bulk = 0;
  uint64_t events_urgent = 0;
  uint64_t lost_bulk = 0;
  uint64_t lost_urgent = 0;
  uint64_t no_entry = 0;
  uint64_t proc_full = 0;     // processes not tracked: process table full
  uint64_t proc_missing = 0;  // exec/exit of a process the table did not hold
  uint64_t repeats = 0;       // identical repeats counted in the kernel, not sent
};

class CaptureBackend {
 public:
  virtual ~CaptureBackend() = default;

  // What runs and why (complete after Attach).
  const BackendInfo& Describe() const { return info_; }
  void set_reason(std::string reason) { info_.reason = std::move(reason); }
  // Open the programs, size the maps, and have the kernel verify them. Errors
  // are one readable line.
  virtual absl::Status Load(const CaptureOptions& options) = 0;
  // Attach every program and map the rings: records flow from here on.
  virtual absl::Status Attach(RingReader::RecordHandler handler) = 0;

  // Valid after Attach.
  virtual RingReader& rings() = 0;
  virtual absl::StatusOr<CaptureStats> ReadStats() const = 0;
  virtual KernelTables tables() = 0;
  // Enter every running process into the process table (the task iterator).
  virtual absl::Status SeedProcessTable() = 0;
  // Report every watched credential file some process holds open for
  // writing (opened before the sensor started): run once the watch list is in
  // the kernel.
  virtual absl::Status ScanOpenWriters() = 0;
  // Lossless coalescing in the kernel (bpf/coalesce.bpf.h): a record identical
  // to one sent at most `window` after the last of its kind is counted, not
  // sent. Zero turns it off.
  virtual absl::Status SetCoalesceWindow(absl::Duration window) = 0;
  // Has each CPU send the counts that are due as repeats records (every count,
  // and forget every record, with `all`: at stop). Returns how many CPUs left
  // something for the next call (their table was in use, or the ring full).
  virtual absl::StatusOr<int> FlushRepeats(bool all) = 0;

 protected:
  BackendInfo info_;
};

// The backend `options` ask for, loaded and attached: for kAuto the rich one
// where the kernel allows it, else the tracepoint one (Describe() says why).
absl::StatusOr<std::unique_ptr<CaptureBackend>> StartCapture(const CaptureOptions& options,
                                                             RingReader::RecordHandler handler);

// Each backend, not yet loaded.
std::unique_ptr<CaptureBackend> NewTracepointBackend();
std::unique_ptr<CaptureBackend> NewRichBackend();

// Can this kernel run the rich backend? OK, or why not in one line: fentry and
// fexit must load and attach on the functions it hooks.
absl::Status ProbeRichBackend();

}  // namespace permsentry

#endif  // PERMSENTRY_CAPTURE_BACKEND_H_
