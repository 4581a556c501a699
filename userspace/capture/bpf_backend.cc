#include "capture/bpf_backend.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "capture/errors.h"
#include "permsentry/abi/events.h"

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

}  // namespace

std::string ErrText(int err) {
  err = err < 0 ? -err : err;
  return absl::StrFormat("%s (%s)", strerrordesc_np(err), strerrorname_np(err));
}

void SetLibbpfVerbose(bool verbose) {
  g_verbose = verbose;
  libbpf_set_print(LibbpfPrint);
}

bpf_object_open_opts SkeletonOpenOptions() {
  // The kernel's BTF where it publishes it; elsewhere libbpf finds it itself
  // (and then needs CAP_SYS_ADMIN for the module scan).
  static constexpr char kVmlinuxBtf[] = "/sys/kernel/btf/vmlinux";
  bpf_object_open_opts o{};
  o.sz = sizeof(o);
  if (access(kVmlinuxBtf, R_OK) == 0) o.btf_custom_path = kVmlinuxBtf;
  return o;
}

BpfTable::BpfTable(bpf_map* map)
    : fd_(bpf_map__fd(map)),
      name_(bpf_map__name(map)),
      key_size_(bpf_map__key_size(map)),
      value_size_(bpf_map__value_size(map)) {}

absl::Status BpfTable::Update(const void* key, const void* value) {
  if (bpf_map_update_elem(fd_, key, value, BPF_ANY) == 0) return absl::OkStatus();
  const int err = errno;
  const std::string msg = absl::StrCat("adding to ", name_, ": ", ErrText(err));
  return err == E2BIG || err == ENOMEM ? absl::ResourceExhaustedError(msg)
                                       : absl::InternalError(msg);
}

absl::Status BpfTable::UpdateExisting(const void* key, const void* value) {
  if (bpf_map_update_elem(fd_, key, value, BPF_EXIST) == 0) return absl::OkStatus();
  if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(name_, ": no such entry"));
  return absl::InternalError(absl::StrCat("updating ", name_, ": ", ErrText(errno)));
}

absl::Status BpfTable::Delete(const void* key) {
  if (bpf_map_delete_elem(fd_, key) == 0 || errno == ENOENT) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("removing from ", name_, ": ", ErrText(errno)));
}

bool BpfTable::Lookup(const void* key, void* value) const {
  return bpf_map_lookup_elem(fd_, key, value) == 0;
}

void BpfTable::ForEachKey(const std::function<void(const void* key)>& fn) const {
  std::vector<uint8_t> k(key_size_), next(key_size_);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd_, prev, next.data()) == 0) {
    fn(next.data());
    k = next;
    prev = k.data();
  }
}

absl::Status BpfBackend::SizeMaps(bpf_object* obj, const CaptureOptions& options) {
  const struct {
    const char* name;
    uint32_t entries;
  } sizes[] = {{"events_bulk", options.bulk_ring_bytes},
               {"events_urgent", options.urgent_ring_bytes},
               {"procs", options.process_table_entries}};
  for (const auto& s : sizes) {
    bpf_map* m = bpf_object__find_map_by_name(obj, s.name);
    if (m == nullptr) return absl::InternalError(absl::StrCat("no map ", s.name));
    if (const int err = bpf_map__set_max_entries(m, s.entries); err != 0)
      return absl::InvalidArgumentError(absl::StrCat(s.name, " size: ", ErrText(err)));
  }
  if (options.verbose) {
    // Verifier statistics (instructions processed, states) in the log.
    bpf_program* p;
    bpf_object__for_each_program(p, obj) bpf_program__set_log_level(p, 4);
  }
  return absl::OkStatus();
}

absl::Status BpfBackend::Bind(bpf_object* obj, bpf_program* seed, bpf_program* scan,
                              RingReader::RecordHandler handler) {
  obj_ = obj;
  seed_ = seed;
  scan_ = scan;
  // Attached by the skeleton: loaded and auto-attached (the iterators and
  // the optional hooks are run or attached on their own).
  info_.programs = 0;
  bpf_program* p;
  bpf_object__for_each_program(p, obj) {
    if (bpf_program__fd(p) >= 0 && bpf_program__autoattach(p)) ++info_.programs;
  }
  const auto fd = [&](const char* name) {
    bpf_map* m = bpf_object__find_map_by_name(obj, name);
    return m != nullptr ? bpf_map__fd(m) : -1;
  };
  stats_fd_ = fd("stats");
  coalesce_conf_fd_ = fd("coalesce_conf");
  if (bpf_program* f = bpf_object__find_program_by_name(obj, "ps_coalesce_flush"); f != nullptr)
    flush_fd_ = bpf_program__fd(f);
  absl::StatusOr<std::unique_ptr<RingReader>> r =
      RingReader::Open(fd("events_urgent"), fd("events_bulk"), std::move(handler));
  if (!r.ok()) return r.status();
  rings_ = *std::move(r);
  const auto table = [&](const char* name) -> KernelTable* {
    bpf_map* m = bpf_object__find_map_by_name(obj, name);
    if (m == nullptr) return nullptr;
    tables_.push_back(std::make_unique<BpfTable>(m));
    return tables_.back().get();
  };
  by_role_ = KernelTables{.watch_inodes = table("watch_inodes"),
                          .watch_names = table("watch_names"),
                          .watch_filter = table("watch_filter"),
                          .ai_paths = table("ai_paths"),
                          .ai_env = table("ai_env"),
                          .procs = table("procs")};
  return absl::OkStatus();
}

void BpfBackend::Unbind() {
  rings_.reset();
  tables_.clear();
  by_role_ = KernelTables{};
  obj_ = nullptr;
}

KernelTables BpfBackend::tables() { return by_role_; }

absl::StatusOr<CaptureStats> BpfBackend::ReadStats() const {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return absl::InternalError("cannot count CPUs");
  std::vector<uint64_t> values(static_cast<size_t>(ncpu));
  uint64_t sums[PS_STAT_MAX] = {};
  for (uint32_t key = 0; key < PS_STAT_MAX; ++key) {
    if (bpf_map_lookup_elem(stats_fd_, &key, values.data()) != 0) {
      return absl::InternalError(absl::StrCat("reading counters: ", ErrText(errno)));
    }
    for (uint64_t v : values) sums[key] += v;
  }
  return CaptureStats{.events_bulk = sums[PS_STAT_EVENTS_BULK],
                      .events_urgent = sums[PS_STAT_EVENTS_URGENT],
                      .lost_bulk = sums[PS_STAT_LOST_BULK],
                      .lost_urgent = sums[PS_STAT_LOST_URGENT],
                      .no_entry = sums[PS_STAT_NO_ENTRY],
                      .proc_full = sums[PS_STAT_PROC_FULL],
                      .proc_missing = sums[PS_STAT_PROC_MISSING],
                      .repeats = sums[PS_STAT_REPEATS]};
}

absl::Status BpfBackend::SetCoalesceWindow(absl::Duration window) {
  if (coalesce_conf_fd_ < 0) return absl::FailedPreconditionError("not attached");
  const uint32_t key = 0;
  ps_coalesce_conf conf{};
  conf.window_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(window));
  if (bpf_map_update_elem(coalesce_conf_fd_, &key, &conf, BPF_ANY) != 0)
    return absl::InternalError(absl::StrCat("setting the coalescing window: ", ErrText(errno)));
  coalesce_window_ = window;
  return absl::OkStatus();
}

absl::StatusOr<int> BpfBackend::FlushRepeats(bool all) {
  if (flush_fd_ < 0 || coalesce_conf_fd_ < 0) return 0;
  const uint32_t key = 0;
  ps_coalesce_conf conf{};
  conf.window_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(coalesce_window_));
  conf.flush_all = all ? 1 : 0;
  // flush_all is read by the flush only: the hooks see the window alone.
  if (all && bpf_map_update_elem(coalesce_conf_fd_, &key, &conf, BPF_ANY) != 0)
    return absl::InternalError(absl::StrCat("flushing repeats: ", ErrText(errno)));
  int left = 0;
  const int ncpu = libbpf_num_possible_cpus();
  for (int cpu = 0; cpu < ncpu; ++cpu) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU,
                .cpu = static_cast<uint32_t>(cpu));
    if (bpf_prog_test_run_opts(flush_fd_, &opts) != 0) {
      if (errno == ENXIO) continue;  // possible but offline: its table is idle
      return absl::InternalError(
          absl::StrCat("flushing repeats on CPU ", cpu, ": ", ErrText(errno)));
    }
    if (opts.retval != 0) ++left;
  }
  if (all) {
    conf.flush_all = 0;
    (void)bpf_map_update_elem(coalesce_conf_fd_, &key, &conf, BPF_ANY);
  }
  return left;
}

namespace {

// Run an iterator program once, to its end (its output is its records).
absl::Status RunIterator(bpf_program* prog, absl::string_view what) {
  bpf_link* link = bpf_program__attach_iter(prog, nullptr);
  if (link == nullptr)
    return absl::InternalError(absl::StrCat("cannot attach the ", what, ": ", ErrText(errno)));
  const int fd = bpf_iter_create(bpf_link__fd(link));
  if (fd < 0) {
    const int err = errno;
    bpf_link__destroy(link);
    return absl::InternalError(absl::StrCat("cannot run the ", what, ": ", ErrText(err)));
  }
  char buf[256];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
  close(fd);
  bpf_link__destroy(link);
  return absl::OkStatus();
}

}  // namespace

absl::Status BpfBackend::SeedProcessTable() {
  if (seed_ == nullptr) return absl::FailedPreconditionError("the process hooks are not loaded");
  return RunIterator(seed_, "task iterator");
}

absl::Status BpfBackend::ScanOpenWriters() {
  if (scan_ == nullptr) return absl::FailedPreconditionError("the startup scan is not loaded");
  return RunIterator(scan_, "open-file iterator");
}

}  // namespace permsentry
