// A stand-in for an AI agent, for the attribution tests. Installed (copied)
// under an agent's name (claude, codex, ...), so the sensor sees the
// executable an agent has; it then spawns its command the way the real agent
// does.
//
//   fake_agent [--setenv K=V]... [--clear-env] [--setsid] [--detach]
//              [--storm N --chmod-every M --chmod-file F] -- CMD [ARGS...]
//
//   --setenv K=V   a marker the agent sets for what it spawns
//   --clear-env    spawn with an empty environment (plus the --setenv ones),
//                  as Codex does
//   --setsid       spawn in a new session (Codex, opencode)
//   --detach       do not wait for CMD (the agent exits first)
//   --storm N      fork N short-lived children first (each exits at once);
//                  every M-th one chmods F to 0600 + (i / M) % 2 * 044 before it exits
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

int main(int argc, char** argv) {
  std::vector<std::string> setenvs;
  bool clear_env = false, new_session = false, detach = false;
  long storm = 0, every = 0;
  const char* storm_file = nullptr;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--setenv" && i + 1 < argc) {
      setenvs.push_back(argv[++i]);
    } else if (a == "--clear-env") {
      clear_env = true;
    } else if (a == "--setsid") {
      new_session = true;
    } else if (a == "--detach") {
      detach = true;
    } else if (a == "--storm" && i + 1 < argc) {
      storm = std::atol(argv[++i]);
    } else if (a == "--chmod-every" && i + 1 < argc) {
      every = std::atol(argv[++i]);
    } else if (a == "--chmod-file" && i + 1 < argc) {
      storm_file = argv[++i];
    } else {
      std::fprintf(stderr, "fake_agent: bad argument %s\n", argv[i]);
      return 2;
    }
  }
  if (clear_env) clearenv();
  for (const std::string& kv : setenvs) putenv(strdup(kv.c_str()));

  for (long n = 0; n < storm; ++n) {
    const pid_t p = fork();
    if (p == 0) {
      if (every > 0 && storm_file != nullptr && n % every == 0)
        chmod(storm_file, static_cast<mode_t>(0600 + ((n / every) % 2) * 044));
      _exit(0);
    }
    if (p < 0) return 3;
    waitpid(p, nullptr, 0);
  }
  if (i >= argc) return 0;

  const pid_t child = fork();
  if (child < 0) return 3;
  if (child == 0) {
    if (new_session) setsid();
    execvp(argv[i], argv + i);
    _exit(127);
  }
  if (detach) return 0;
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
