// The two ring buffers every backend writes: the bulk ring (no wakeups, drained
// on a timer) and the wakeup ring (alert candidates). Records are handed to one
// handler on the thread that drains.
#ifndef PERMSENTRY_CAPTURE_RINGS_H_
#define PERMSENTRY_CAPTURE_RINGS_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

struct ring_buffer;

namespace permsentry {

class RingReader {
 public:
  // Called once per record. Returns true to stop the drain after this record
  // (the caller has an alert to write out before it reads on).
  using RecordHandler = std::function<bool(absl::Span<const uint8_t> record)>;

  static absl::StatusOr<std::unique_ptr<RingReader>> Open(int urgent_map_fd, int bulk_map_fd,
                                                          RecordHandler handler);
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

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

 private:
  struct RingDeleter {
    void operator()(ring_buffer* r) const;
  };
  RingReader() = default;
  static int OnUrgentRecord(void* ctx, void* data, size_t size);
  // Bulk-ring records: marks the handler as running, so a nested DrainBulk
  // (which would deliver the record being handled again) is refused.
  static int OnBulkRecord(void* ctx, void* data, size_t size);

  std::unique_ptr<ring_buffer, RingDeleter> urgent_;
  std::unique_ptr<ring_buffer, RingDeleter> bulk_;
  RecordHandler handler_;
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
};

}  // namespace permsentry

#endif  // PERMSENTRY_CAPTURE_RINGS_H_
