#include "capture/rings.h"

#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "capture/errors.h"

namespace permsentry {

void RingReader::RingDeleter::operator()(ring_buffer* r) const { ring_buffer__free(r); }

// A negative return stops libbpf's consume loop; the record it was given is
// consumed all the same (its consumer position is stored before it returns).
constexpr int kStopDrain = -EAGAIN;

absl::StatusOr<std::unique_ptr<RingReader>> RingReader::Open(int urgent_map_fd, int bulk_map_fd,
                                                             RecordHandler handler) {
  std::unique_ptr<RingReader> r(new RingReader());
  r->handler_ = std::move(handler);
  // Two ring readers, so the bulk ring can be drained on its own (lifecycle
  // records an alert candidate needs) while a wakeup-ring record is handled.
  ring_buffer* rb = ring_buffer__new(urgent_map_fd, &RingReader::OnUrgentRecord, r.get(), nullptr);
  if (rb == nullptr) {
    return absl::InternalError(absl::StrCat("cannot map the wakeup ring: ", ErrText(errno)));
  }
  r->urgent_.reset(rb);
  rb = ring_buffer__new(bulk_map_fd, &RingReader::OnBulkRecord, r.get(), nullptr);
  if (rb == nullptr) {
    return absl::InternalError(absl::StrCat("cannot map the bulk ring: ", ErrText(errno)));
  }
  r->bulk_.reset(rb);
  // The wakeup ring's positions, read-only, for UrgentPending: page 0 holds
  // the consumer position, page 1 the producer's.
  const long page = sysconf(_SC_PAGESIZE);
  void* cons = mmap(nullptr, page, PROT_READ, MAP_SHARED, urgent_map_fd, 0);
  void* prod = mmap(nullptr, page, PROT_READ, MAP_SHARED, urgent_map_fd, page);
  if (cons != MAP_FAILED) r->urgent_cons_page_ = cons;
  if (prod != MAP_FAILED) r->urgent_prod_page_ = prod;
  return r;
}

RingReader::~RingReader() {
  const long page = sysconf(_SC_PAGESIZE);
  if (urgent_cons_page_ != nullptr) munmap(urgent_cons_page_, page);
  if (urgent_prod_page_ != nullptr) munmap(urgent_prod_page_, page);
}

int RingReader::OnUrgentRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingReader*>(ctx);
  self->in_urgent_ = true;
  const bool stop =
      self->handler_(absl::Span<const uint8_t>(static_cast<const uint8_t*>(data), size));
  self->in_urgent_ = false;
  ++self->urgent_done_;
  if (stop && !self->ignore_stops_) {
    self->urgent_stop_ = true;
    return kStopDrain;
  }
  return 0;
}

int RingReader::OnBulkRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingReader*>(ctx);
  self->in_bulk_ = true;
  const bool stop =
      self->handler_(absl::Span<const uint8_t>(static_cast<const uint8_t*>(data), size));
  self->in_bulk_ = false;
  ++self->bulk_done_;
  if (self->ignore_stops_) return 0;
  // Alert candidates do not wait behind a backlog of ordinary events. (A drain
  // from a wakeup-ring handler is looking for that record's lineage: the
  // record itself still counts as pending then.)
  if (stop || (!self->in_urgent_ && self->UrgentPending()) ||
      self->bulk_done_ >= self->bulk_budget_) {
    self->bulk_stop_ = true;
    return kStopDrain;
  }
  return 0;
}

int RingReader::urgent_epoll_fd() const { return ring_buffer__epoll_fd(urgent_.get()); }

bool RingReader::UrgentPending() const {
  if (urgent_cons_page_ == nullptr || urgent_prod_page_ == nullptr) return false;
  const auto* cons = static_cast<const unsigned long*>(urgent_cons_page_);
  const auto* prod = static_cast<const unsigned long*>(urgent_prod_page_);
  return __atomic_load_n(prod, __ATOMIC_ACQUIRE) != __atomic_load_n(cons, __ATOMIC_ACQUIRE);
}

namespace {

// ring_buffer__consume's count, with our own stop taken as "stopped early".
absl::StatusOr<int> Consumed(int n, bool stopped, int done) {
  if (stopped) return done;
  if (n < 0 && n != -EINTR) return absl::InternalError(absl::StrCat("ring consume: ", ErrText(n)));
  return n > 0 ? n : 0;
}

}  // namespace

absl::StatusOr<int> RingReader::DrainUrgent() {
  urgent_stop_ = false;
  urgent_done_ = 0;
  const int n = ring_buffer__consume(urgent_.get());
  return Consumed(n, urgent_stop_, urgent_done_);
}

absl::StatusOr<int> RingReader::DrainBulk(int budget) {
  if (in_bulk_) return 0;
  bulk_stop_ = false;
  bulk_done_ = 0;
  bulk_budget_ = budget;
  const int n = ring_buffer__consume(bulk_.get());
  return Consumed(n, bulk_stop_, bulk_done_);
}

absl::StatusOr<int> RingReader::Drain() {
  ignore_stops_ = true;
  int total = 0;
  for (;;) {
    absl::StatusOr<int> u = DrainUrgent();
    absl::StatusOr<int> b = DrainBulk();
    if (!u.ok() || !b.ok()) {
      ignore_stops_ = false;
      return !u.ok() ? u : b;
    }
    total += *u + *b;
    if (*u == 0 && *b == 0) break;
  }
  ignore_stops_ = false;
  return total;
}

}  // namespace permsentry
