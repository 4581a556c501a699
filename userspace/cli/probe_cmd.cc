// `permsentry probe`: what this kernel allows, and the backend `run` would use.
#include <cstdio>
#include <string>
#include "absl/strings/string_view.h"

#include "capture/probe.h"
#include "cli/commands.h"

namespace permsentry {
namespace {

constexpr char kProbeUsage[] =
    "usage: permsentry probe\n"
    "\n"
    "Load (and where it matters attach) a minimal BPF program of each kind this\n"
    "sensor may use, and print what this kernel allows: program types, hooks,\n"
    "helpers, and the capture backend `permsentry run` will choose, with the\n"
    "reason. Needs root for meaningful answers. Exit status 0 when a capture\n"
    "backend is usable, 1 if not.\n";

void PrintItems(const char* title, const std::vector<ProbeItem>& items) {
  std::printf("%s:\n", title);
  for (const ProbeItem& it : items) {
    std::printf("  %-40s %s%s%s\n", it.name.c_str(), it.ok ? "yes" : "no",
                it.detail.empty() ? "" : "  ", it.detail.c_str());
  }
}

}  // namespace

int ProbeCommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kProbeUsage, stdout);
      return kExitOk;
    }
    std::fprintf(stderr, "permsentry probe: unexpected argument \"%s\"\n%s", argv[i], kProbeUsage);
    return kExitUsage;
  }
  const ProbeReport r = ProbeKernel();
  std::printf("kernel:  %s\nroot:    %s\nBTF:     %s\n\n", r.kernel_release.c_str(),
              r.root ? "yes" : "no (results below will mostly say no: run as root)",
              r.btf ? "yes (/sys/kernel/btf/vmlinux)" : "no");
  PrintItems("program types", r.program_types);
  PrintItems("hooks (load + attach)", r.hooks);
  PrintItems("helpers (for tracing programs)", r.helpers);
  std::printf("\nrich backend: %s (%s)\n", r.rich_ok ? "yes" : "no", r.rich_detail.c_str());
  std::printf("backend: %s\n  why: %s\n", r.backend.c_str(), r.backend_reason.c_str());
  return r.backend == "none" ? kExitFailure : kExitOk;
}

}  // namespace permsentry
