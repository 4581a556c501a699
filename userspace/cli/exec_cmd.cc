// `permsentry exec --agent NAME [--session ID] -- CMD ARGS...`: run CMD as the
// root of a declared AI agent session.
//
// It sets PERMSENTRY_AGENT=NAME[/ID] and execs CMD. The sensor's exec hook
// sees the marker in the new program's environment and, in the kernel, makes
// the process the root of a session its whole subtree inherits. Nothing here
// needs privileges, and nothing can be taken away: a process that is already
// in a session keeps it (the kernel only starts a session for a process in
// none), and the tag lives in the kernel's process table, where no user can
// reach it. A declared session id is only a label: the sensor tells a user's
// label apart from another user's live session of the same name.
#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "attribute/signatures.h"
#include "cli/commands.h"

namespace permsentry {
namespace {

constexpr char kUsage[] =
    "usage: permsentry exec --agent NAME [--session ID] -- CMD [ARGS...]\n"
    "\n"
    "Run CMD as an AI agent session: every change CMD or anything it starts makes\n"
    "(through sudo, setsid, daemons...) is attributed to agent NAME. For agents\n"
    "the built-in signatures do not recognise, CI bots and scripted runs. Needs no\n"
    "privileges; a command already inside an agent session stays in that session.\n"
    "\n"
    "  -a, --agent NAME    agent name events carry (letters, digits, . _ -; max 64)\n"
    "  -s, --session ID    session id events carry (letters, digits, . _ : @ -;\n"
    "                      max 128); default: one the sensor makes up\n"
    "  -h, --help          this help\n"
    "\n"
    "Exit status: CMD's, or 2 for bad usage, 127 when CMD cannot be run.\n";

bool ValidToken(absl::string_view s, size_t max, absl::string_view extra) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || extra.find(c) != absl::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

int ExecCommand(int argc, char** argv) {
  static const option kLong[] = {
      {"agent", required_argument, nullptr, 'a'},
      {"session", required_argument, nullptr, 's'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  std::string agent, session;
  optind = 1;
  // "+": stop at the first non-option, so CMD's own options are CMD's.
  for (int c; (c = getopt_long(argc, argv, "+a:s:h", kLong, nullptr)) != -1;) {
    switch (c) {
      case 'a':
        agent = optarg;
        break;
      case 's':
        session = optarg;
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        return kExitOk;
      default:
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
  }
  if (agent.empty()) {
    std::fprintf(stderr, "permsentry exec: --agent NAME is required\n%s", kUsage);
    return kExitUsage;
  }
  if (!ValidToken(agent, 64, "")) {
    std::fprintf(stderr,
                 "permsentry exec: agent name \"%s\" must be 1-64 letters, digits, '.', '_' or "
                 "'-'\n",
                 agent.c_str());
    return kExitUsage;
  }
  if (!session.empty() && !ValidToken(session, 128, ":@")) {
    std::fprintf(stderr,
                 "permsentry exec: session id \"%s\" must be 1-128 letters, digits, '.', '_', "
                 "':', '@' or '-'\n",
                 session.c_str());
    return kExitUsage;
  }
  if (optind >= argc) {
    std::fprintf(stderr, "permsentry exec: no command given\n%s", kUsage);
    return kExitUsage;
  }
  const std::string value = session.empty() ? agent : absl::StrCat(agent, "/", session);
  if (setenv(kDeclaredEnv, value.c_str(), 1) != 0) {
    std::fprintf(stderr, "permsentry exec: %s\n", strerror(errno));
    return kExitFailure;
  }
  execvp(argv[optind], argv + optind);
  std::fprintf(stderr, "permsentry exec: cannot run %s: %s\n", argv[optind], strerror(errno));
  return 127;
}

}  // namespace permsentry
