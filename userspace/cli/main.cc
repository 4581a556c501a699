// permsentry: see permissions and credentials change, as they change.
#include <cstdio>
#include <cstring>
#include "absl/strings/string_view.h"

#include "cli/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: permsentry <command> [options]\n"
    "\n"
    "Watches every permission, ownership, ACL/capability xattr and credential change\n"
    "on this host from the kernel (eBPF), prints one event per line, and raises\n"
    "alerts on the changes that open access.\n"
    "\n"
    "commands:\n"
    "  run      attach to the kernel, stream events, raise alerts (needs root)\n"
    "  tail     print the running sensor's live events and alerts\n"
    "  probe    show which BPF program types, hooks and helpers this kernel allows\n"
    "  exec     run a command as a declared AI agent session\n"
    "  status   the running sensor's live AI sessions and process table\n"
    "  check-config  validate configuration files without running anything\n"
    "\n"
    "Run `permsentry <command> --help` for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return permsentry::kExitUsage;
  }
  const absl::string_view cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return permsentry::kExitOk;
  }
  if (cmd == "--version" || cmd == "version") {
    std::puts("permsentry " PERMSENTRY_VERSION);
    return permsentry::kExitOk;
  }
  if (cmd == "run") return permsentry::RunCommand(argc - 1, argv + 1);
  if (cmd == "probe") return permsentry::ProbeCommand(argc - 1, argv + 1);
  if (cmd == "exec") return permsentry::ExecCommand(argc - 1, argv + 1);
  if (cmd == "status") return permsentry::StatusCommand(argc - 1, argv + 1);
  if (cmd == "check-config") return permsentry::CheckConfigCommand(argc - 1, argv + 1);
  if (cmd == "tail") return permsentry::TailCommand(argc - 1, argv + 1);
  std::fprintf(stderr, "permsentry: unknown command \"%s\"\n\n%s", argv[1], kUsage);
  return permsentry::kExitUsage;
}
