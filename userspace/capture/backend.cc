#include "capture/backend.h"

#include "absl/strings/str_cat.h"

namespace permsentry {
namespace {

absl::Status LoadAndAttach(CaptureBackend& b, const CaptureOptions& options,
                           RingReader::RecordHandler handler) {
  absl::Status s = b.Load(options);
  if (s.ok()) s = b.Attach(std::move(handler));
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CaptureBackend>> StartCapture(const CaptureOptions& options,
                                                             RingReader::RecordHandler handler) {
  std::string rich_refused;
  if (options.backend != BackendChoice::kTracepoint) {
    absl::Status s = ProbeRichBackend();
    if (s.ok()) {
      std::unique_ptr<CaptureBackend> rich = NewRichBackend();
      s = LoadAndAttach(*rich, options, handler);
      if (s.ok()) {
        rich->set_reason(options.backend == BackendChoice::kRich
                             ? "asked for (--backend rich)"
                             : "this kernel attaches fentry/fexit programs to the functions "
                               "that change permissions");
        return rich;
      }
    }
    if (options.backend == BackendChoice::kRich) {
      return absl::FailedPreconditionError(
          absl::StrCat("the rich backend cannot run on this kernel: ", s.message(),
                       " (--backend tracepoint runs on syscall tracepoints)"));
    }
    rich_refused = std::string(s.message());
  }
  std::unique_ptr<CaptureBackend> tp = NewTracepointBackend();
  if (absl::Status s = LoadAndAttach(*tp, options, std::move(handler)); !s.ok()) return s;
  tp->set_reason(options.backend == BackendChoice::kTracepoint
                     ? "asked for (--backend tracepoint)"
                     : absl::StrCat("the rich backend cannot run on this kernel: ", rich_refused));
  return tp;
}

}  // namespace permsentry
