// `permsentry check-config FILE...`: validate configuration files without
// running anything (config management runs it before it ships a file).
#include <cstdio>
#include <string>

#include "absl/strings/string_view.h"
#include "cli/commands.h"
#include "config/config.h"

namespace permsentry {
namespace {

constexpr char kUsage[] =
    "usage: permsentry check-config FILE [FILE...]\n"
    "\n"
    "Parse each configuration file as `permsentry run --config FILE` would (rule\n"
    "files it names included), or each rule file (a file holding only `rules:`\n"
    "with a list), and print one line per file: \"FILE: ok\" with what it holds,\n"
    "or the first error as \"FILE:LINE: reason\". Needs no privileges and touches\n"
    "nothing.\n"
    "\n"
    "Exit status: 0 when every file is valid, 2 when one is not (or bad usage).\n";

}  // namespace

int CheckConfigCommand(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  int status = kExitOk;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
  }
  for (int i = 1; i < argc; ++i) {
    absl::StatusOr<std::string> r = CheckConfigFile(argv[i]);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", std::string(r.status().message()).c_str());
      status = kExitUsage;
      continue;
    }
    std::printf("%s\n", r->c_str());
  }
  return status;
}

}  // namespace permsentry
