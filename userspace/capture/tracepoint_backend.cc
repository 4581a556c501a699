// The tracepoint backend: tp_btf (or raw_tp) programs on sys_enter/sys_exit,
// io_uring's submission tracepoint, and the process-lifecycle tracepoints.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "capture/bpf_backend.h"
#include "capture/errors.h"
#include "common/syscall_table.h"
#include "permsentry/abi/events.h"
// The skeleton uses the ABI structs in its rodata view, so it comes after them.
#include "permsentry_tp.skel.h"

namespace permsentry {
namespace {

struct SkelDeleter {
  void operator()(permsentry_tp_bpf* s) const { permsentry_tp_bpf__destroy(s); }
};
using Skel = std::unique_ptr<permsentry_tp_bpf, SkelDeleter>;

// io_uring's hook is optional: kernels without io_uring (or with an older
// layout of its requests) still get everything else, and say so. The
// tracepoint is io_uring_submit_req since 6.4, io_uring_submit_sqe before.
enum class Uring { kNone, kSubmitReq, kSubmitSqe };

// Which of the two this kernel has, from its BTF (a tp_btf program names its
// tracepoint by the btf_trace_* typedef): asked before loading, because a
// name missing from vmlinux sends libbpf to the modules' BTF, which only
// CAP_SYS_ADMIN may enumerate. nullopt when the BTF cannot be read: try both.
std::optional<Uring> UringTracepoint() {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return std::nullopt;
  const auto has = [&](const char* name) {
    return btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) >= 0;
  };
  const Uring u = has("btf_trace_io_uring_submit_req")   ? Uring::kSubmitReq
                  : has("btf_trace_io_uring_submit_sqe") ? Uring::kSubmitSqe
                                                         : Uring::kNone;
  btf__free(vmlinux);
  return u;
}

class TracepointBackend : public BpfBackend {
 public:
  ~TracepointBackend() override { Unbind(); }

  absl::Status Load(const CaptureOptions& options) override {
    options_ = options;
    SetLibbpfVerbose(options.verbose);
    // Prefer tp_btf (typed arguments, cheaper reads); fall back to raw_tp on
    // kernels that refuse it. Each attempt needs a fresh object: a failed load
    // leaves it unusable. The process-lifecycle hooks are tp_btf programs: a
    // kernel that refuses tp_btf altogether still gets capture without them.
    struct Attempt {
      bool use_btf;
      Uring io_uring;
      bool process = true;
    };
    const std::optional<Uring> have = UringTracepoint();
    if (have == Uring::kNone) io_uring_error_ = "this kernel has no io_uring submission tracepoint";
    for (const Attempt a : {Attempt{true, Uring::kSubmitReq}, Attempt{true, Uring::kSubmitSqe},
                            Attempt{true, Uring::kNone}, Attempt{false, Uring::kNone},
                            Attempt{false, Uring::kNone, /*process=*/false}}) {
      // The last attempt only after the one before failed for the process hooks.
      if (!a.process && process_error_.empty()) continue;
      if ((a.use_btf && options.flavour == TracepointFlavour::kRawTp) ||
          (!a.use_btf && options.flavour == TracepointFlavour::kTpBtf && !tp_btf_error_.empty()))
        continue;
      // Only the tracepoint this kernel has; without io_uring only when it has
      // none or the hook was refused.
      if (have && a.io_uring != Uring::kNone && a.io_uring != *have) continue;
      if (!have && a.use_btf && a.io_uring != Uring::kSubmitReq && io_uring_error_.empty())
        continue;
      if (have && a.use_btf && a.io_uring == Uring::kNone && *have != Uring::kNone &&
          io_uring_error_.empty())
        continue;
      if (!a.use_btf) io_uring_error_ = "the io_uring hook needs the tp_btf flavour";
      absl::StatusOr<Skel> skel = Open(a.use_btf, a.io_uring, a.process);
      if (!skel.ok()) return skel.status();
      const int err = permsentry_tp_bpf__load(skel->get());
      if (err == 0) {
        skel_ = *std::move(skel);
        use_btf_ = a.use_btf;
        uring_ = a.io_uring;
        process_ = a.process;
        // A hook that loaded after an older kernel refused the newer one's.
        if (a.io_uring != Uring::kNone) io_uring_error_.clear();
        if (!a.process && process_error_.empty()) process_error_ = "not loaded";
        return absl::OkStatus();
      }
      // EPERM: not allowed to load BPF at all. EACCES / EINVAL: the verifier
      // rejected a program, which the other flavour may pass.
      if (err == -EPERM) {
        return absl::PermissionDeniedError(
            absl::StrCat("the kernel refused to load permsentry's BPF programs: ", ErrText(err),
                         " (root with CAP_BPF/CAP_PERFMON is needed; lockdown or "
                         "kernel.unprivileged_bpf_disabled may also forbid it)"));
      }
      if (a.io_uring != Uring::kNone) {
        if (io_uring_error_.empty())
          io_uring_error_ = absl::StrCat("the kernel refused the io_uring hook: ", ErrText(err));
        continue;
      }
      if (!a.use_btf && a.process) {
        process_error_ = absl::StrCat("the kernel refused the process hooks: ", ErrText(err));
        if (tp_btf_error_.empty()) tp_btf_error_ = ErrText(err);
        continue;
      }
      if (a.use_btf && options.flavour == TracepointFlavour::kAuto) {
        tp_btf_error_ = ErrText(err);
        continue;
      }
      if (a.use_btf) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the kernel rejected the tp_btf programs: ", ErrText(err),
            "; try --backend raw_tp, or `permsentry run --verbose` for the verifier log"));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("the kernel rejected permsentry's BPF programs (tp_btf: ", tp_btf_error_,
                       "; raw_tp: ", ErrText(err),
                       "); run `permsentry probe` to see what it allows, or "
                       "`permsentry run --verbose` for the verifier log"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("no tracepoint flavour loads on this kernel (tp_btf: ", tp_btf_error_, ")"));
  }

  absl::Status Attach(RingReader::RecordHandler handler) override {
    permsentry_tp_bpf* s = skel_.get();
    if (s == nullptr) return absl::FailedPreconditionError("not loaded");
    bpf_link** enter = use_btf_ ? &s->links.ps_sys_enter_btf : &s->links.ps_sys_enter_raw;
    bpf_link** exit = use_btf_ ? &s->links.ps_sys_exit_btf : &s->links.ps_sys_exit_raw;
    // Stored in the skeleton so permsentry_tp_bpf__destroy detaches them.
    *enter = bpf_program__attach(use_btf_ ? s->progs.ps_sys_enter_btf : s->progs.ps_sys_enter_raw);
    if (*enter == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot attach to the sys_enter tracepoint: ", ErrText(errno)));
    }
    *exit = bpf_program__attach(use_btf_ ? s->progs.ps_sys_exit_btf : s->progs.ps_sys_exit_raw);
    if (*exit == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot attach to the sys_exit tracepoint: ", ErrText(errno)));
    }
    if (uring_ != Uring::kNone) {
      const bool req = uring_ == Uring::kSubmitReq;
      bpf_link*& l = req ? s->links.ps_io_uring_submit : s->links.ps_io_uring_submit_sqe;
      l = bpf_program__attach(req ? s->progs.ps_io_uring_submit : s->progs.ps_io_uring_submit_sqe);
      if (l == nullptr)
        io_uring_error_ = absl::StrCat("cannot attach the io_uring hook: ", ErrText(errno));
    }
    if (process_) {
      for (auto [link, prog] : {std::pair{&s->links.ps_fork, s->progs.ps_fork},
                                std::pair{&s->links.ps_exec, s->progs.ps_exec},
                                std::pair{&s->links.ps_exit, s->progs.ps_exit}}) {
        *link = bpf_program__attach(prog);
        if (*link == nullptr) {
          process_error_ =
              absl::StrCat("cannot attach ", bpf_program__name(prog), ": ", ErrText(errno));
          break;
        }
      }
    }
    info_.name = "tracepoint";
    info_.flavour = use_btf_ ? "tp_btf" : "raw_tp";
    info_.tracks_processes = process_error_.empty();
    if (!io_uring_error_.empty())
      info_.limits.push_back(
          absl::StrCat("io_uring submissions are not watched: ", io_uring_error_));
    if (!process_error_.empty())
      info_.limits.push_back(absl::StrCat(
          "processes are not tracked, events carry no AI attribution: ", process_error_));
    return Bind(s->obj, process_error_.empty() ? s->progs.ps_seed : nullptr,
                process_error_.empty() ? s->progs.ps_scan_writers : nullptr, std::move(handler));
  }

 private:
  absl::StatusOr<Skel> Open(bool use_btf, Uring uring, bool process) {
    const bpf_object_open_opts open_opts = SkeletonOpenOptions();
    Skel skel(permsentry_tp_bpf__open_opts(&open_opts));
    if (!skel) {
      return absl::InternalError(absl::StrCat("cannot open the BPF object: ", ErrText(errno)));
    }
    permsentry_tp_bpf* s = skel.get();
    if (absl::Status st = SizeMaps(s->obj, options_); !st.ok()) return st;
    FillBpfTables(s->rodata->sc_desc, s->rodata->sc_any);
    bpf_program__set_autoload(use_btf ? s->progs.ps_sys_enter_raw : s->progs.ps_sys_enter_btf,
                              false);
    bpf_program__set_autoload(use_btf ? s->progs.ps_sys_exit_raw : s->progs.ps_sys_exit_btf, false);
    bpf_program__set_autoload(s->progs.ps_io_uring_submit, uring == Uring::kSubmitReq);
    bpf_program__set_autoload(s->progs.ps_io_uring_submit_sqe, uring == Uring::kSubmitSqe);
    for (bpf_program* p : {s->progs.ps_fork, s->progs.ps_exec, s->progs.ps_exit, s->progs.ps_seed,
                           s->progs.ps_scan_writers})
      bpf_program__set_autoload(p, process);
    bpf_program__set_autoattach(s->progs.ps_scan_writers, false);
    return skel;
  }

  CaptureOptions options_;
  Skel skel_;
  bool use_btf_ = true;
  Uring uring_ = Uring::kNone;
  bool process_ = true;
  std::string tp_btf_error_, io_uring_error_, process_error_;
};

}  // namespace

std::unique_ptr<CaptureBackend> NewTracepointBackend() {
  return std::make_unique<TracepointBackend>();
}

}  // namespace permsentry
