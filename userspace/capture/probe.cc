#include "capture/probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "capture/backend.h"

namespace permsentry {
namespace {

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<btf, BtfDeleter>;

std::string Errno(int err) {
  return absl::StrFormat("%s (%s)", strerrordesc_np(err), strerrorname_np(err));
}

// Program types that take no expected attach type.
constexpr auto kNoAttachType = static_cast<bpf_attach_type>(0);

// "mov r0, 0; exit": the smallest program every verifier accepts.
constexpr bpf_insn kReturnZero[] = {
    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
    {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
};

// Load a minimal program; returns its fd or -errno.
int LoadMinimal(bpf_prog_type type, bpf_attach_type attach, int btf_id) {
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = attach;
  opts.attach_btf_id = btf_id;
  const int fd = bpf_prog_load(type, nullptr, "GPL", kReturnZero, 2, &opts);
  return fd >= 0 ? fd : -errno;
}

int BtfId(const btf* vmlinux, const char* name, int kind) {
  if (vmlinux == nullptr) return -ENOENT;
  return btf__find_by_name_kind(vmlinux, name, kind);
}

// Load a BTF-typed program (tp_btf, fentry, lsm) against `target` and attach it.
ProbeItem ProbeBtfHook(const btf* vmlinux, std::string name, bpf_prog_type type,
                       bpf_attach_type attach, const char* target, int kind) {
  ProbeItem item{.name = std::move(name)};
  const int id = BtfId(vmlinux, target, kind);
  if (id < 0) {
    item.detail = absl::StrCat(target, " not in kernel BTF");
    return item;
  }
  Fd prog(LoadMinimal(type, attach, id));
  if (!prog.valid()) {
    item.detail = absl::StrCat("load: ", Errno(-prog.get()));
    return item;
  }
  Fd link(bpf_raw_tracepoint_open(nullptr, prog.get()));
  if (!link.valid()) {
    item.detail = absl::StrCat("attach: ", Errno(errno));
    return item;
  }
  item.ok = true;
  return item;
}

ProbeItem ProbeRawTp(const char* tp) {
  ProbeItem item{.name = absl::StrCat("raw_tp/", tp)};
  Fd prog(LoadMinimal(BPF_PROG_TYPE_RAW_TRACEPOINT, kNoAttachType, 0));
  if (!prog.valid()) {
    item.detail = absl::StrCat("load: ", Errno(-prog.get()));
    return item;
  }
  Fd link(bpf_raw_tracepoint_open(tp, prog.get()));
  if (!link.valid()) {
    item.detail = absl::StrCat("attach: ", Errno(errno));
    return item;
  }
  item.ok = true;
  return item;
}

// A classic tracepoint (perf event + PERF_EVENT_IOC_SET_BPF).
ProbeItem ProbeTracepoint(const char* category, const char* event) {
  ProbeItem item{.name = absl::StrCat("tp/", category, "/", event)};
  int id = -1;
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    std::ifstream in(absl::StrCat(root, "/events/", category, "/", event, "/id"));
    if (in >> id) break;
  }
  if (id < 0) {
    item.detail = "no tracefs id (tracefs not mounted at /sys/kernel/tracing?)";
    return item;
  }
  Fd prog(LoadMinimal(BPF_PROG_TYPE_TRACEPOINT, kNoAttachType, 0));
  if (!prog.valid()) {
    item.detail = absl::StrCat("load: ", Errno(-prog.get()));
    return item;
  }
  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.size = sizeof(attr);
  attr.config = static_cast<uint64_t>(id);
  Fd pe(static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC)));
  if (!pe.valid()) {
    item.detail = absl::StrCat("perf_event_open: ", Errno(errno));
    return item;
  }
  if (ioctl(pe.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) != 0) {
    item.detail = absl::StrCat("attach: ", Errno(errno));
    return item;
  }
  item.ok = true;
  return item;
}

ProbeItem ProbeKprobe() {
  ProbeItem item{.name = "kprobe/security_path_chmod"};
  std::ifstream in("/sys/bus/event_source/devices/kprobe/type");
  int type = -1;
  if (!(in >> type)) {
    item.detail = "no kprobe PMU: kprobes not built into this kernel";
    return item;
  }
  Fd prog(LoadMinimal(BPF_PROG_TYPE_KPROBE, kNoAttachType, 0));
  if (!prog.valid()) {
    item.detail = absl::StrCat("load: ", Errno(-prog.get()));
    return item;
  }
  perf_event_attr attr{};
  attr.type = static_cast<uint32_t>(type);
  attr.size = sizeof(attr);
  static const char kFunc[] = "security_path_chmod";
  attr.config1 = reinterpret_cast<uint64_t>(kFunc);
  Fd pe(static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC)));
  if (!pe.valid() || ioctl(pe.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) != 0) {
    item.detail = absl::StrCat("attach: ", Errno(errno));
    return item;
  }
  item.ok = true;
  return item;
}

ProbeItem ProbeIterTask(const btf* vmlinux) {
  ProbeItem item{.name = "iter/task"};
  const int id = BtfId(vmlinux, "bpf_iter_task", BTF_KIND_FUNC);
  if (id < 0) {
    item.detail = "bpf_iter_task not in kernel BTF";
    return item;
  }
  Fd prog(LoadMinimal(BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, id));
  if (!prog.valid()) {
    item.detail = absl::StrCat("load: ", Errno(-prog.get()));
    return item;
  }
  item.ok = true;
  return item;
}

ProbeItem ProbeProgType(const char* name, bpf_prog_type type) {
  const int r = libbpf_probe_bpf_prog_type(type, nullptr);
  return ProbeItem{
      .name = name, .ok = r == 1, .detail = r == 1 ? "" : (r == 0 ? "not supported" : Errno(-r))};
}

ProbeItem ProbeHelper(const char* name, bpf_func_id id) {
  const int r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT, id, nullptr);
  return ProbeItem{
      .name = name,
      .ok = r == 1,
      .detail = r == 1 ? "" : (r == 0 ? "not available to tracing programs" : Errno(-r))};
}

// (major, minor) of the running kernel.
std::pair<int, int> KernelVersion(const std::string& release) {
  std::vector<std::string> parts = absl::StrSplit(release, absl::MaxSplits('.', 2));
  int major = 0, minor = 0;
  if (parts.size() >= 2) {
    major = std::atoi(parts[0].c_str());
    minor = std::atoi(parts[1].c_str());
  }
  return {major, minor};
}

std::string KernelRelease() {
  utsname u{};
  return uname(&u) == 0 ? u.release : "unknown";
}

}  // namespace

absl::Status ProbeRichBackend() {
  BtfPtr vmlinux(btf__load_vmlinux_btf());
  if (!vmlinux) return absl::FailedPreconditionError("no kernel BTF to attach fentry programs by");
  // One entry hook, one completion, one credential hook: what the kernel
  // refuses for one (lockdown, no BPF trampolines) it refuses for all.
  for (const auto& [name, attach, fn] :
       {std::tuple{"fexit/security_path_chmod", BPF_TRACE_FEXIT, "security_path_chmod"},
        std::tuple{"fexit/notify_change", BPF_TRACE_FEXIT, "notify_change"},
        std::tuple{"fentry/commit_creds", BPF_TRACE_FENTRY, "commit_creds"}}) {
    ProbeItem it =
        ProbeBtfHook(vmlinux.get(), name, BPF_PROG_TYPE_TRACING, attach, fn, BTF_KIND_FUNC);
    if (!it.ok) return absl::FailedPreconditionError(absl::StrCat(name, ": ", it.detail));
  }
  return absl::OkStatus();
}

absl::Status CheckPrerequisites() {
  if (geteuid() != 0) {
    return absl::PermissionDeniedError(
        "permsentry needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE) to load its BPF "
        "programs; run it with sudo");
  }
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    return absl::FailedPreconditionError(
        "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): permsentry needs a "
        "kernel built with CONFIG_DEBUG_INFO_BTF=y");
  }
  const std::string release = KernelRelease();
  const auto [major, minor] = KernelVersion(release);
  if (major < 5 || (major == 5 && minor < 17)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "kernel %s is too old: permsentry needs 5.17 or newer (BPF ring buffer, bpf_loop, "
        "task storage)",
        release));
  }
  return absl::OkStatus();
}

ProbeReport ProbeKernel() {
  ProbeReport r;
  r.kernel_release = KernelRelease();
  r.root = geteuid() == 0;
  BtfPtr vmlinux(btf__load_vmlinux_btf());
  r.btf = vmlinux != nullptr;

  r.program_types = {
      ProbeProgType("tracepoint", BPF_PROG_TYPE_TRACEPOINT),
      ProbeProgType("raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT),
      // tracing and lsm programs cannot be probed without a target: see the hooks.
      ProbeProgType("kprobe", BPF_PROG_TYPE_KPROBE),
  };
  const btf* v = vmlinux.get();
  r.hooks = {
      ProbeBtfHook(v, "tp_btf/sys_enter", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP,
                   "btf_trace_sys_enter", BTF_KIND_TYPEDEF),
      ProbeBtfHook(v, "tp_btf/sys_exit", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP,
                   "btf_trace_sys_exit", BTF_KIND_TYPEDEF),
      ProbeRawTp("sys_enter"),
      ProbeRawTp("sys_exit"),
      ProbeRawTp("sched_process_fork"),
      ProbeRawTp("sched_process_exec"),
      ProbeRawTp("sched_process_exit"),
      ProbeRawTp("io_uring_submit_req"),
      ProbeIterTask(v),
      ProbeTracepoint("syscalls", "sys_enter_fchmodat"),
      ProbeTracepoint("syscalls", "sys_enter_chmod"),
      ProbeBtfHook(v, "fentry/security_path_chmod", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY,
                   "security_path_chmod", BTF_KIND_FUNC),
      ProbeBtfHook(v, "fexit/commit_creds", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, "commit_creds",
                   BTF_KIND_FUNC),
      ProbeBtfHook(v, "lsm/path_chmod", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "bpf_lsm_path_chmod",
                   BTF_KIND_FUNC),
      ProbeKprobe(),
  };
  r.helpers = {
      ProbeHelper("bpf_ringbuf_output", BPF_FUNC_ringbuf_output),
      ProbeHelper("bpf_get_current_task_btf", BPF_FUNC_get_current_task_btf),
      ProbeHelper("bpf_probe_read_user_str", BPF_FUNC_probe_read_user_str),
      ProbeHelper("bpf_ktime_get_boot_ns", BPF_FUNC_ktime_get_boot_ns),
      ProbeHelper("bpf_get_current_cgroup_id", BPF_FUNC_get_current_cgroup_id),
      ProbeHelper("bpf_loop", BPF_FUNC_loop),
  };

  const auto ok = [&](absl::string_view name) {
    for (const ProbeItem& h : r.hooks)
      if (h.name == name) return h.ok;
    return false;
  };
  const absl::Status rich = ProbeRichBackend();
  r.rich_ok = rich.ok();
  r.rich_detail =
      rich.ok() ? "fentry/fexit attach to the functions it hooks" : std::string(rich.message());
  std::string tracepoint;
  if (ok("tp_btf/sys_enter") && ok("tp_btf/sys_exit")) {
    tracepoint = "tracepoint (tp_btf/sys_enter + sys_exit)";
  } else if (ok("raw_tp/sys_enter") && ok("raw_tp/sys_exit")) {
    tracepoint = "tracepoint (raw_tp/sys_enter + sys_exit)";
  }
  if (r.rich_ok) {
    r.backend = "rich (fentry/fexit on the functions that change permissions)";
    r.backend_reason = r.rich_detail;
  } else if (!tracepoint.empty()) {
    r.backend = tracepoint;
    r.backend_reason = absl::StrCat("the rich backend cannot run: ", r.rich_detail);
  } else {
    r.backend = "none";
    r.backend_reason = absl::StrCat("the rich backend cannot run (", r.rich_detail,
                                    ") and neither tp_btf nor raw_tp syscall tracepoints attach");
  }
  return r;
}

}  // namespace permsentry
