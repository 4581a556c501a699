#include "capture/sensor.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/syscall_table.h"
#include "permsentry/abi/events.h"
// The skeleton uses the ABI structs in its rodata view, so it comes after them.
#include "permsentry.skel.h"

namespace permsentry {
namespace {

bool g_verbose = false;

// libbpf prints a lot on failure (verifier logs, BTF dumps). Keep it out of the
// way unless asked: errors are reported as one line by the caller.
int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  (void)level;
  if (!g_verbose) return 0;
  return vfprintf(stderr, fmt, args);
}

std::string ErrText(int err) {
  err = err < 0 ? -err : err;
  return absl::StrFormat("%s (%s)", strerrordesc_np(err), strerrorname_np(err));
}

}  // namespace

void Sensor::SkelDeleter::operator()(permsentry_bpf* s) const { permsentry_bpf__destroy(s); }
void Sensor::RingDeleter::operator()(ring_buffer* r) const { ring_buffer__free(r); }

// A negative return stops libbpf's consume loop; the record it was given is
// consumed all the same (its consumer position is stored before it returns).
constexpr int kStopDrain = -EAGAIN;

int Sensor::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Sensor*>(ctx);
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

absl::StatusOr<std::unique_ptr<Sensor>> Sensor::Start(const SensorOptions& options,
                                                      RecordHandler handler) {
  g_verbose = options.verbose;
  libbpf_set_print(LibbpfPrint);

  std::unique_ptr<Sensor> sensor(new Sensor());
  sensor->handler_ = std::move(handler);

  // Prefer tp_btf (typed arguments, cheaper reads); fall back to raw_tp on kernels
  // that refuse it. The choice needs a fresh object each time: a failed load
  // leaves the object unusable.
  std::string tp_btf_error;
  // io_uring's hook is optional: kernels without io_uring (or with an older
  // layout of its requests) still get everything else, and say so.
  // The tracepoint is io_uring_submit_req since 6.4, io_uring_submit_sqe before.
  enum class Uring { kNone, kSubmitReq, kSubmitSqe };
  // The process-lifecycle hooks (AI attribution) are tp_btf programs: a kernel
  // that refuses tp_btf altogether still gets capture without them, and says so.
  struct Attempt {
    bool use_btf;
    Uring io_uring;
    bool process = true;
  };
  std::string io_uring_error, process_error;
  for (const Attempt attempt : {Attempt{true, Uring::kSubmitReq}, Attempt{true, Uring::kSubmitSqe},
                                Attempt{true, Uring::kNone}, Attempt{false, Uring::kNone},
                                Attempt{false, Uring::kNone, /*process=*/false}}) {
    const bool use_btf = attempt.use_btf;
    // The last attempt only after the one before failed for the process hooks.
    if (!attempt.process && process_error.empty()) continue;
    if ((use_btf && options.backend == Backend::kRawTp) ||
        (!use_btf && options.backend == Backend::kTpBtf && !tp_btf_error.empty())) {
      continue;
    }
    // Later attempts only after the earlier ones failed for io_uring's sake.
    if (use_btf && attempt.io_uring != Uring::kSubmitReq && io_uring_error.empty()) continue;
    if (!use_btf) io_uring_error = "the io_uring hook needs the tp_btf backend";
    std::unique_ptr<permsentry_bpf, SkelDeleter> skel(permsentry_bpf__open());
    if (!skel) {
      return absl::InternalError(absl::StrCat("cannot open the BPF object: ", ErrText(errno)));
    }
    int err = bpf_map__set_max_entries(skel->maps.events_bulk, options.bulk_ring_bytes);
    if (err == 0)
      err = bpf_map__set_max_entries(skel->maps.events_urgent, options.urgent_ring_bytes);
    if (err == 0) err = bpf_map__set_max_entries(skel->maps.procs, options.process_table_entries);
    if (err != 0) return absl::InvalidArgumentError(absl::StrCat("ring size: ", ErrText(err)));
    FillBpfTables(skel->rodata->sc_desc, skel->rodata->sc_any);

    bpf_program* enter = use_btf ? skel->progs.ps_sys_enter_btf : skel->progs.ps_sys_enter_raw;
    bpf_program* exit = use_btf ? skel->progs.ps_sys_exit_btf : skel->progs.ps_sys_exit_raw;
    bpf_program__set_autoload(use_btf ? skel->progs.ps_sys_enter_raw : skel->progs.ps_sys_enter_btf,
                              false);
    bpf_program__set_autoload(use_btf ? skel->progs.ps_sys_exit_raw : skel->progs.ps_sys_exit_btf,
                              false);
    bpf_program__set_autoload(skel->progs.ps_io_uring_submit,
                              attempt.io_uring == Uring::kSubmitReq);
    bpf_program__set_autoload(skel->progs.ps_io_uring_submit_sqe,
                              attempt.io_uring == Uring::kSubmitSqe);
    for (bpf_program* p :
         {skel->progs.ps_fork, skel->progs.ps_exec, skel->progs.ps_exit, skel->progs.ps_seed}) {
      bpf_program__set_autoload(p, attempt.process);
    }
    if (options.verbose) {
      // Verifier statistics (instructions processed, states) in the log.
      bpf_program* p;
      bpf_object__for_each_program(p, skel->obj) bpf_program__set_log_level(p, 4);
    }

    err = permsentry_bpf__load(skel.get());
    if (err != 0) {
      // EPERM: not allowed to load BPF at all. EACCES / EINVAL: the verifier
      // rejected a program, which the other tracepoint flavour may pass.
      if (err == -EPERM) {
        return absl::PermissionDeniedError(
            absl::StrCat("the kernel refused to load permsentry's BPF programs: ", ErrText(err),
                         " (root with CAP_BPF/CAP_PERFMON is needed; lockdown or "
                         "kernel.unprivileged_bpf_disabled may also forbid it)"));
      }
      if (attempt.io_uring != Uring::kNone) {
        if (io_uring_error.empty())
          io_uring_error = absl::StrCat("the kernel refused the io_uring hook: ", ErrText(err));
        continue;
      }
      if (!use_btf && attempt.process) {
        process_error = absl::StrCat("the kernel refused the process hooks: ", ErrText(err));
        if (tp_btf_error.empty()) tp_btf_error = ErrText(err);
        continue;
      }
      if (use_btf && options.backend == Backend::kAuto) {
        tp_btf_error = ErrText(err);
        continue;
      }
      if (use_btf) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the kernel rejected the tp_btf programs: ", ErrText(err),
            "; try --backend raw_tp, or `permsentry run --verbose` for the verifier log"));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("the kernel rejected permsentry's BPF programs (tp_btf: ", tp_btf_error,
                       "; raw_tp: ", ErrText(err),
                       "); run `permsentry probe` to see what it allows, or "
                       "`permsentry run --verbose` for the verifier log"));
    }
    bpf_link* enter_link = bpf_program__attach(enter);
    if (enter_link == nullptr) {
      err = -errno;
      if (use_btf && options.backend == Backend::kAuto) {
        tp_btf_error = absl::StrCat("attach: ", ErrText(err));
        continue;
      }
      return absl::FailedPreconditionError(
          absl::StrCat("cannot attach to the sys_enter tracepoint: ", ErrText(err)));
    }
    // Stored in the skeleton so permsentry_bpf__destroy detaches them.
    (use_btf ? skel->links.ps_sys_enter_btf : skel->links.ps_sys_enter_raw) = enter_link;
    bpf_link* exit_link = bpf_program__attach(exit);
    if (exit_link == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot attach to the sys_exit tracepoint: ", ErrText(errno)));
    }
    (use_btf ? skel->links.ps_sys_exit_btf : skel->links.ps_sys_exit_raw) = exit_link;
    if (attempt.io_uring != Uring::kNone) {
      const bool req = attempt.io_uring == Uring::kSubmitReq;
      bpf_program* p = req ? skel->progs.ps_io_uring_submit : skel->progs.ps_io_uring_submit_sqe;
      bpf_link* l = bpf_program__attach(p);
      (req ? skel->links.ps_io_uring_submit : skel->links.ps_io_uring_submit_sqe) = l;
      io_uring_error =
          l == nullptr ? absl::StrCat("cannot attach the io_uring hook: ", ErrText(errno)) : "";
    }
    // Process lifecycle: fork, exec, exit.
    for (bpf_link** link : {&skel->links.ps_fork, &skel->links.ps_exec, &skel->links.ps_exit}) {
      if (!attempt.process || !process_error.empty()) break;
      bpf_program* p = link == &skel->links.ps_fork   ? skel->progs.ps_fork
                       : link == &skel->links.ps_exec ? skel->progs.ps_exec
                                                      : skel->progs.ps_exit;
      *link = bpf_program__attach(p);
      if (*link == nullptr)
        process_error = absl::StrCat("cannot attach ", bpf_program__name(p), ": ", ErrText(errno));
    }
    if (!attempt.process && process_error.empty()) process_error = "not loaded";
    sensor->process_error_ = process_error;
    sensor->io_uring_error_ = io_uring_error;
    sensor->backend_ = use_btf ? "tp_btf" : "raw_tp";
    sensor->skel_ = std::move(skel);
    break;
  }

  // Two ring readers, so the bulk ring can be drained on its own (lifecycle
  // records an alert candidate needs) while a wakeup-ring record is handled.
  ring_buffer* rb = ring_buffer__new(bpf_map__fd(sensor->skel_->maps.events_urgent),
                                     &Sensor::OnRecord, sensor.get(), nullptr);
  if (rb == nullptr) {
    return absl::InternalError(absl::StrCat("cannot map the wakeup ring: ", ErrText(errno)));
  }
  sensor->urgent_ring_.reset(rb);
  rb = ring_buffer__new(bpf_map__fd(sensor->skel_->maps.events_bulk), &Sensor::OnBulkRecord,
                        sensor.get(), nullptr);
  if (rb == nullptr) {
    return absl::InternalError(absl::StrCat("cannot map the bulk ring: ", ErrText(errno)));
  }
  sensor->bulk_ring_.reset(rb);
  // The wakeup ring's positions, read-only, for UrgentPending: page 0 holds
  // the consumer position, page 1 the producer's.
  const long page = sysconf(_SC_PAGESIZE);
  const int ufd = bpf_map__fd(sensor->skel_->maps.events_urgent);
  void* cons = mmap(nullptr, page, PROT_READ, MAP_SHARED, ufd, 0);
  void* prod = mmap(nullptr, page, PROT_READ, MAP_SHARED, ufd, page);
  if (cons != MAP_FAILED) sensor->urgent_cons_page_ = cons;
  if (prod != MAP_FAILED) sensor->urgent_prod_page_ = prod;
  return sensor;
}

int Sensor::OnBulkRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Sensor*>(ctx);
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

Sensor::~Sensor() {
  const long page = sysconf(_SC_PAGESIZE);
  if (urgent_cons_page_ != nullptr) munmap(urgent_cons_page_, page);
  if (urgent_prod_page_ != nullptr) munmap(urgent_prod_page_, page);
  // Rings first: they hold mappings of the skeleton's maps.
  urgent_ring_.reset();
  bulk_ring_.reset();
  skel_.reset();
}

int Sensor::urgent_epoll_fd() const { return ring_buffer__epoll_fd(urgent_ring_.get()); }

bool Sensor::UrgentPending() const {
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

absl::StatusOr<int> Sensor::DrainUrgent() {
  urgent_stop_ = false;
  urgent_done_ = 0;
  const int n = ring_buffer__consume(urgent_ring_.get());
  return Consumed(n, urgent_stop_, urgent_done_);
}

absl::StatusOr<int> Sensor::DrainBulk(int budget) {
  if (in_bulk_) return 0;
  bulk_stop_ = false;
  bulk_done_ = 0;
  bulk_budget_ = budget;
  const int n = ring_buffer__consume(bulk_ring_.get());
  return Consumed(n, bulk_stop_, bulk_done_);
}

absl::StatusOr<int> Sensor::Drain() {
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

namespace {

// Every key of a kernel map (get_next_key from the start; a key deleted while
// walking restarts nothing, the walk just goes on from the next one).
template <typename Key, typename Fn>
void ForEachKey(int fd, Fn&& fn) {
  Key k{}, next{};
  const Key* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    fn(next);
    k = next;
    prev = &k;
  }
}

ps_watch_key ToKey(const InodeId& id) {
  return ps_watch_key{.ino = id.ino, .dev = id.dev, ._pad0 = 0};
}

ps_watch_name_key ToKey(const NameInDir& n) {
  ps_watch_name_key k{};
  k.dir_ino = n.dir.ino;
  k.dir_dev = n.dir.dev;
  std::memcpy(k.name, n.name.data(), std::min(n.name.size(), sizeof(k.name) - 1));
  return k;
}

ps_watch_filter_key ToKey(const std::string& name) {
  ps_watch_filter_key k{};
  std::memcpy(k.name, name.data(), std::min(name.size(), sizeof(k.name) - 1));
  return k;
}

ps_watch_val ToVal(const WatchVal& v) { return ps_watch_val{.cls = v.cls, .flags = v.flags}; }
uint32_t ToVal(uint32_t v) { return v; }

// Bring one kernel hash map from `cur` to `next`.
template <typename Map>
absl::Status SyncMap(int fd, const Map& cur, const Map& next, absl::string_view what) {
  for (const auto& [k, v] : cur) {
    if (next.contains(k)) continue;
    auto key = ToKey(k);
    if (bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT)
      return absl::InternalError(absl::StrCat("removing from ", what, ": ", ErrText(errno)));
  }
  if constexpr (std::is_same_v<typename Map::key_type, InodeId>) {
    // The kernel adds inodes itself (what a rename or link put behind a watched
    // name): whatever the file system no longer shows at a watched place goes.
    std::vector<ps_watch_key> stale;
    ForEachKey<ps_watch_key>(fd, [&](const ps_watch_key& key) {
      if (!next.contains(InodeId{.ino = key.ino, .dev = key.dev})) stale.push_back(key);
    });
    for (const ps_watch_key& s : stale) bpf_map_delete_elem(fd, &s);
  }
  for (const auto& [k, v] : next) {
    auto it = cur.find(k);
    if (it != cur.end() && it->second == v) continue;
    auto key = ToKey(k);
    auto val = ToVal(v);
    if (bpf_map_update_elem(fd, &key, &val, BPF_ANY) != 0)
      return absl::ResourceExhaustedError(
          absl::StrCat("adding to ", what, ": ", ErrText(errno), " (", next.size(), " entries)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Sensor::SetWatch(const KernelWatch& next) {
  // Names and inodes before the filter: a filter hit must find the identity
  // maps ready.
  absl::Status s =
      SyncMap(bpf_map__fd(skel_->maps.watch_names), watch_.names, next.names, "watch_names");
  if (s.ok())
    s = SyncMap(bpf_map__fd(skel_->maps.watch_inodes), watch_.inodes, next.inodes, "watch_inodes");
  if (s.ok())
    s = SyncMap(bpf_map__fd(skel_->maps.watch_filter), watch_.filter, next.filter, "watch_filter");
  if (!s.ok()) {
    watch_ = KernelWatch{};  // unknown state: the next call rewrites everything
    return s;
  }
  watch_ = next;
  return absl::OkStatus();
}

absl::StatusOr<SensorStats> Sensor::ReadStats() const {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return absl::InternalError("cannot count CPUs");
  std::vector<uint64_t> values(static_cast<size_t>(ncpu));
  uint64_t sums[PS_STAT_MAX] = {};
  const int fd = bpf_map__fd(skel_->maps.stats);
  for (uint32_t key = 0; key < PS_STAT_MAX; ++key) {
    if (bpf_map_lookup_elem(fd, &key, values.data()) != 0) {
      return absl::InternalError(absl::StrCat("reading counters: ", ErrText(errno)));
    }
    for (uint64_t v : values) sums[key] += v;
  }
  return SensorStats{.events_bulk = sums[PS_STAT_EVENTS_BULK],
                     .events_urgent = sums[PS_STAT_EVENTS_URGENT],
                     .lost_bulk = sums[PS_STAT_LOST_BULK],
                     .lost_urgent = sums[PS_STAT_LOST_URGENT],
                     .no_entry = sums[PS_STAT_NO_ENTRY],
                     .proc_full = sums[PS_STAT_PROC_FULL],
                     .proc_missing = sums[PS_STAT_PROC_MISSING]};
}

absl::Status Sensor::SetSignatures(const KernelSignatures& next) {
  struct Sync {
    int fd;
    const char* what;
  };
  const int paths_fd = bpf_map__fd(skel_->maps.ai_paths);
  const int env_fd = bpf_map__fd(skel_->maps.ai_env);
  // Removals first, so a changed table never holds two claims at once.
  for (const auto& [k, v] : signatures_.paths)
    if (!next.paths.contains(k)) bpf_map_delete_elem(paths_fd, &k);
  for (const auto& [k, v] : signatures_.env)
    if (!next.env.contains(k)) bpf_map_delete_elem(env_fd, &k);
  for (const auto& [k, v] : next.paths) {
    if (bpf_map_update_elem(paths_fd, &k, &v, BPF_ANY) != 0) {
      signatures_ = KernelSignatures{};
      return absl::ResourceExhaustedError(absl::StrCat("agent signature paths: ", ErrText(errno),
                                                       " (", next.paths.size(), " entries)"));
    }
  }
  for (const auto& [k, v] : next.env) {
    if (bpf_map_update_elem(env_fd, &k, &v, BPF_ANY) != 0) {
      signatures_ = KernelSignatures{};
      return absl::ResourceExhaustedError(absl::StrCat(
          "agent environment markers: ", ErrText(errno), " (", next.env.size(), " entries)"));
    }
  }
  signatures_ = next;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KernelProc>> Sensor::SeedProcesses() {
  bpf_link* link = bpf_program__attach_iter(skel_->progs.ps_seed, nullptr);
  if (link == nullptr)
    return absl::InternalError(absl::StrCat("cannot attach the task iterator: ", ErrText(errno)));
  const int fd = bpf_iter_create(bpf_link__fd(link));
  if (fd < 0) {
    const int err = errno;
    bpf_link__destroy(link);
    return absl::InternalError(absl::StrCat("cannot run the task iterator: ", ErrText(err)));
  }
  char buf[256];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
  close(fd);
  bpf_link__destroy(link);

  std::vector<KernelProc> out;
  const int map_fd = bpf_map__fd(skel_->maps.procs);
  ForEachKey<ps_proc_key>(map_fd, [&](const ps_proc_key& key) {
    KernelProc p{.key = key, .info = {}};
    if (bpf_map_lookup_elem(map_fd, &key, &p.info) == 0) out.push_back(p);
  });
  return out;
}

absl::Status Sensor::WriteProc(const KernelProc& p) {
  // BPF_EXIST: a process that exited meanwhile stays gone.
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.procs), &p.key, &p.info, BPF_EXIST) != 0 &&
      errno != ENOENT) {
    return absl::InternalError(absl::StrCat("process table: ", ErrText(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Sensor::CountProcs() const {
  const int map_fd = bpf_map__fd(skel_->maps.procs);
  size_t n = 0;
  ForEachKey<ps_proc_key>(map_fd, [&](const ps_proc_key&) { ++n; });
  return n;
}

}  // namespace permsentry
