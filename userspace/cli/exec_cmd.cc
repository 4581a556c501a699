// `permsentry exec --agent NAME [--session ID] -- CMD ARGS...`: run CMD as the
// root of a declared AI agent session.
// `permsentry exec --assisted-by NAME -- CMD ARGS...`: run CMD as a human
// following advice from NAME (a chat assistant, which no process tree shows).
//
// It sets PERMSENTRY_AGENT=NAME[/ID] (or PERMSENTRY_ASSISTED=NAME) and execs
// CMD. The sensor's exec hook sees the marker in the new program's environment
// and, in the kernel, makes the process the root of a session its whole
// subtree inherits. Nothing here needs privileges, and nothing can be taken
// away: a process that is already in an agent session keeps it (the kernel
// only starts a session for a process in none, or in a human's declared
// one), and the tag lives in the kernel's process table, where no user can
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
    "       permsentry exec --assisted-by NAME -- CMD [ARGS...]\n"
    "\n"
    "Run CMD as an AI agent session: every change CMD or anything it starts makes\n"
    "(through sudo, setsid, daemons...) is attributed to agent NAME. For agents\n"
    "the built-in signatures do not recognise, CI bots and scripted runs. Needs no\n"
    "privileges; a command already inside an agent session stays in that session.\n"
    "\n"
    "With --assisted-by, declare instead that a human runs CMD on advice from NAME\n"
    "(a chat assistant in a browser, which no process on this host shows): its\n"
    "changes are attributed `assisted`, with the declaration as evidence. For a\n"
    "whole terminal: permsentry exec --assisted-by NAME -- \"$SHELL\". An agent\n"
    "started from there is still recognised as that agent.\n"
    "\n"
    "  -a, --agent NAME        agent name events carry (letters, digits, . _ -;\n"
    "                          max 64)\n"
    "  -s, --session ID        session id events carry (letters, digits, . _ : @ -;\n"
    "                          max 128); default: one the sensor makes up\n"
    "  -A, --assisted-by NAME  the assistant whose advice CMD follows (as --agent)\n"
    "  -h, --help              this help\n"
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
      {"assisted-by", required_argument, nullptr, 'A'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  std::string agent, session, assisted;
  optind = 1;
  // "+": stop at the first non-option, so CMD's own options are CMD's.
  for (int c; (c = getopt_long(argc, argv, "+a:s:A:h", kLong, nullptr)) != -1;) {
    switch (c) {
      case 'a':
        agent = optarg;
        break;
      case 's':
        session = optarg;
        break;
      case 'A':
        assisted = optarg;
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        return kExitOk;
      default:
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
  }
  if (agent.empty() == assisted.empty()) {
    std::fprintf(stderr, "permsentry exec: give one of --agent NAME or --assisted-by NAME\n%s",
                 kUsage);
    return kExitUsage;
  }
  if (!assisted.empty() && !session.empty()) {
    std::fprintf(stderr, "permsentry exec: --session goes with --agent, not --assisted-by\n");
    return kExitUsage;
  }
  const std::string& name = agent.empty() ? assisted : agent;
  if (!ValidToken(name, 64, "")) {
    std::fprintf(stderr,
                 "permsentry exec: %s name \"%s\" must be 1-64 letters, digits, '.', '_' or "
                 "'-'\n",
                 agent.empty() ? "assistant" : "agent", name.c_str());
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
  const std::string value = session.empty() ? name : absl::StrCat(name, "/", session);
  if (setenv(agent.empty() ? kAssistedEnv : kDeclaredEnv, value.c_str(), 1) != 0) {
    std::fprintf(stderr, "permsentry exec: %s\n", strerror(errno));
    return kExitFailure;
  }
  execvp(argv[optind], argv + optind);
  std::fprintf(stderr, "permsentry exec: cannot run %s: %s\n", argv[optind], strerror(errno));
  return 127;
}

}  // namespace permsentry
