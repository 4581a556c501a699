// The rich backend: fentry/fexit programs on the kernel functions that do the
// work (bpf/rich_*.bpf.c), plus the process-lifecycle tracepoints.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "capture/bpf_backend.h"
#include "capture/errors.h"
#include "permsentry/abi/events.h"
#include "permsentry_rich.skel.h"

namespace permsentry {
namespace {

struct SkelDeleter {
  void operator()(permsentry_rich_bpf* s) const { permsentry_rich_bpf__destroy(s); }
};
struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};
struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};

// Hooked functions some kernels do not have, and why that loses nothing there.
// security_file_truncate (6.2+): before, ftruncate and O_TRUNC pass
// security_path_truncate. vfs_set_acl / vfs_remove_acl (6.2+): before, POSIX
// ACLs pass vfs_setxattr / vfs_removexattr as xattr values.
bool Optional(absl::string_view fn) {
  return fn == "security_file_truncate" || fn == "vfs_set_acl" || fn == "vfs_remove_acl" ||
         fn == "do_file_open_root";
}

// "fexit/vfs_rename" → "vfs_rename"; "" for programs that hook no function.
absl::string_view Target(bpf_program* p) {
  const absl::string_view sec = bpf_program__section_name(p);
  for (absl::string_view prefix : {"fentry/", "fexit/"})
    if (sec.substr(0, prefix.size()) == prefix) return sec.substr(prefix.size());
  return "";
}

class RichBackend : public BpfBackend {
 public:
  ~RichBackend() override { Unbind(); }

  absl::Status Load(const CaptureOptions& options) override {
    SetLibbpfVerbose(options.verbose);
    const bpf_object_open_opts open_opts = SkeletonOpenOptions();
    skel_.reset(permsentry_rich_bpf__open_opts(&open_opts));
    if (!skel_) {
      return absl::InternalError(absl::StrCat("cannot open the BPF object: ", ErrText(errno)));
    }
    if (absl::Status s = SizeMaps(skel_->obj, options); !s.ok()) return s;
    // Every hooked function must be in this kernel, but the optional ones.
    std::unique_ptr<btf, BtfDeleter> vmlinux(btf__load_vmlinux_btf());
    if (!vmlinux) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the kernel's BTF: ", ErrText(errno)));
    }
    std::vector<std::string> missing;
    bpf_program* p;
    bpf_object__for_each_program(p, skel_->obj) {
      const absl::string_view fn = Target(p);
      if (fn.empty()) continue;
      if (btf__find_by_name_kind(vmlinux.get(), std::string(fn).c_str(), BTF_KIND_FUNC) >= 0)
        continue;
      if (Optional(fn)) {
        bpf_program__set_autoload(p, false);
        skipped_.insert(std::string(fn));
      } else {
        missing.push_back(std::string(fn));
      }
    }
    if (!missing.empty()) {
      return absl::FailedPreconditionError(absl::StrCat("this kernel has no ",
                                                        absl::StrJoin(missing, ", "),
                                                        " to hook (the rich backend needs "
                                                        "them)"));
    }
    // Run by SeedProcessTable, not attached with the others.
    bpf_program__set_autoattach(skel_->progs.ps_seed, false);
    bpf_program__set_autoattach(skel_->progs.ps_scan_writers, false);
    // Attached by ScanOpenWriters, only when the scan found a held descriptor.
    bpf_program__set_autoattach(skel_->progs.ps_held_write, false);
    // Run by FlushRepeats on each CPU, on no hook.
    bpf_program__set_autoattach(skel_->progs.ps_coalesce_flush, false);
    const int err = permsentry_rich_bpf__load(skel_.get());
    if (err != 0) {
      if (err == -EPERM) {
        return absl::PermissionDeniedError(
            absl::StrCat("the kernel refused the rich backend's fentry programs: ", ErrText(err),
                         " (lockdown, or a kernel without BPF trampolines)"));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("the kernel rejected the rich backend's programs: ", ErrText(err),
                       "; `permsentry run --backend rich --verbose` shows the verifier log"));
    }
    return absl::OkStatus();
  }

  absl::Status Attach(RingReader::RecordHandler handler) override {
    if (!skel_) return absl::FailedPreconditionError("not loaded");
    if (const int err = permsentry_rich_bpf__attach(skel_.get()); err != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot attach the rich backend's programs: ", ErrText(err)));
    }
    info_.name = "rich";
    info_.flavour = "fentry";
    info_.tracks_processes = true;
    return Bind(skel_->obj, skel_->progs.ps_seed, skel_->progs.ps_scan_writers, std::move(handler));
  }

  // The scan, then the writes through what it found: a hook on every read and
  // write's permission check is attached only when some process holds a
  // watched file open for writing from before the start.
  absl::Status ScanOpenWriters() override {
    if (absl::Status s = BpfBackend::ScanOpenWriters(); !s.ok()) return s;
    if (held_link_ || skel_->bss->ps_held_count == 0) return absl::OkStatus();
    bpf_link* l = bpf_program__attach(skel_->progs.ps_held_write);
    if (l == nullptr) {
      return absl::InternalError(absl::StrCat(
          "cannot attach the hook for writes through held descriptors: ", ErrText(errno)));
    }
    held_link_.reset(l);
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<permsentry_rich_bpf, SkelDeleter> skel_;
  std::unique_ptr<bpf_link, LinkDeleter> held_link_;  // before skel_ in destruction
  absl::flat_hash_set<std::string> skipped_;          // optional functions this kernel lacks
};

}  // namespace

std::unique_ptr<CaptureBackend> NewRichBackend() { return std::make_unique<RichBackend>(); }

}  // namespace permsentry
