// The kernel side's lifecycle: open → configure → load → attach the BPF skeleton,
// read its two ring buffers, read its counters, detach. RAII throughout: dropping
// the Sensor detaches every program and frees every map.
#ifndef PERMSENTRY_CAPTURE_SENSOR_H_
#define PERMSENTRY_CAPTURE_SENSOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "attribute/seed.h"
#include "attribute/signatures.h"
#include "watch/watch_list.h"

struct permsentry_bpf;
struct ring_buffer;

namespace permsentry {

// Which syscall tracepoint flavour to load. kAuto tries tp_btf, then raw_tp.
enum class Backend { kAuto, kTpBtf, kRawTp };

struct SensorOptions {
  uint32_t bulk_ring_bytes = 32u << 20;
  uint32_t urgent_ring_bytes = 1u << 20;
  uint32_t process_table_entries = 65536;  // live processes the kernel table holds
  bool verbose = false;                    // pass libbpf's log to stderr
  Backend backend = Backend::kAuto;
};

// Sums of the kernel's per-CPU counters (enum ps_stat).
struct SensorStats {
  uint64_t events_bulk = 0;
  uint64_t events_urgent = 0;
  uint64_t lost_bulk = 0;
  uint64_t lost_urgent = 0;
  uint64_t no_entry = 0;
  uint64_t proc_full = 0;     // processes not tracked: process table full
  uint64_t proc_missing = 0;  // exec/exit of a process the table did not hold
};

class Sensor {
 public:
  // Called once per ring-buffer record, on the thread that drains. Returns
  // true to stop the drain after this record (the caller has an alert to
  // write out before it reads on).
  using RecordHandler = std::function<bool(absl::Span<const uint8_t> record)>;

  // Load and attach everything. Errors are one readable line.
  static absl::StatusOr<std::unique_ptr<Sensor>> Start(const SensorOptions& options,
                                                       RecordHandler handler);
  ~Sensor();
  Sensor(const Sensor&) = delete;
  Sensor& operator=(const Sensor&) = delete;

  // An fd that polls readable when the wakeup ring has records (the bulk ring
  // never wakes anyone: it is drained on a timer).
  int urgent_epoll_fd() const;
  // Does the wakeup ring hold records? Two loads from its mapped positions, no
  // syscall: asked after every bulk record.
  bool UrgentPending() const;
  // The wakeup ring, until it is empty or the handler asks to stop.
  absl::StatusOr<int> DrainUrgent();
  // The bulk ring, until it is empty, the handler asks to stop, the wakeup
  // ring has a record (alert candidates go first), or `budget` records. Safe
  // from a handler running for a wakeup-ring record (an alert candidate whose
  // process's fork and exec records are still in the bulk ring); not from a
  // bulk-ring handler.
  absl::StatusOr<int> DrainBulk(int budget = 1 << 30);
  // Both rings, until both are empty, whatever the handler says (at exit).
  absl::StatusOr<int> Drain();

  // Agent signatures into the kernel's maps (only what changed is written).
  absl::Status SetSignatures(const KernelSignatures& next);
  // Run the task iterator (every running process into the table), then read
  // the table back.
  absl::StatusOr<std::vector<KernelProc>> SeedProcesses();
  absl::Status WriteProc(const KernelProc& p);
  // Entries in the kernel's process table now.
  absl::StatusOr<size_t> CountProcs() const;

  absl::StatusOr<SensorStats> ReadStats() const;

  // Make the kernel's watch maps hold `next`: only what changed is written, so a
  // refresh that finds nothing new costs no map update. On error the maps hold
  // a mix of old and new entries (every one of them valid) and the next call
  // repairs it.
  absl::Status SetWatch(const KernelWatch& next);
  const KernelWatch& watch() const { return watch_; }
  const std::string& backend() const { return backend_; }
  // Why io_uring submissions are not watched, or empty when they are.
  const std::string& io_uring_error() const { return io_uring_error_; }
  // Why processes are not tracked (no AI attribution), or empty when they are.
  const std::string& process_error() const { return process_error_; }

 private:
  struct SkelDeleter {
    void operator()(permsentry_bpf* s) const;
  };
  struct RingDeleter {
    void operator()(ring_buffer* r) const;
  };

  Sensor() = default;
  static int OnRecord(void* ctx, void* data, size_t size);
  // Bulk-ring records: marks the handler as running, so a nested DrainBulk
  // (which would deliver the record being handled again) is refused.
  static int OnBulkRecord(void* ctx, void* data, size_t size);

  std::unique_ptr<permsentry_bpf, SkelDeleter> skel_;
  std::unique_ptr<ring_buffer, RingDeleter> urgent_ring_;
  std::unique_ptr<ring_buffer, RingDeleter> bulk_ring_;
  bool in_bulk_ = false;    // a bulk-ring handler is running
  bool in_urgent_ = false;  // a wakeup-ring handler is running
  bool urgent_stop_ = false;
  bool bulk_stop_ = false;
  int urgent_done_ = 0;
  int bulk_budget_ = 0;
  int bulk_done_ = 0;
  bool ignore_stops_ = false;
  // The wakeup ring's consumer and producer positions, mapped read-only.
  void* urgent_cons_page_ = nullptr;
  void* urgent_prod_page_ = nullptr;
  RecordHandler handler_;
  std::string backend_;
  std::string io_uring_error_;
  std::string process_error_;
  KernelWatch watch_;  // what the kernel maps hold
  KernelSignatures signatures_;
};

}  // namespace permsentry

#endif  // PERMSENTRY_CAPTURE_SENSOR_H_
