// `permsentry tail`: the running sensor's live stream, from its Unix socket.
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "common/actions.h"
#include "config/config.h"
#include "render/tail_text.h"
#include "rules/rules.h"
#include "sinks/tail_server.h"

namespace permsentry {
namespace {

constexpr char kUsage[] =
    "usage: permsentry tail [--json | --text] [--alerts-only] [--ai-only]\n"
    "                       [--min-severity low|medium|high|critical] [--action ACTION]...\n"
    "                       [--path GLOB]... [--since DURATION] [--no-follow]\n"
    "                       [--socket PATH | --config FILE] [--color auto|always|never]\n"
    "\n"
    "Print the running sensor's events and alerts as they happen. On a terminal\n"
    "each is one readable line (alerts with their severity in colour); piped, or\n"
    "with --json, each is the sensor's JSON line (ECS), one per line.\n"
    "\n"
    "  --alerts-only        alerts only (rule matches, sensor health), not every event\n"
    "  --ai-only            changes made in or beside an AI agent session only\n"
    "  --min-severity S     alerts of at least severity S (implies --alerts-only)\n"
    "  --action ACTION      only this event.action (chmod, chown, setxattr, setuid,\n"
    "                       credfile_write, ...); repeat for several\n"
    "  --path GLOB          only changes to paths matching GLOB (\"/etc/**\",\n"
    "                       \"/home/*/.ssh/*\"); repeat for several\n"
    "  --since DURATION     first replay what the sensor kept from the last\n"
    "                       DURATION (\"90s\", \"10m\", \"1h\"), then go live\n"
    "  --no-follow          exit after the replay instead of going live\n"
    "  --socket PATH        the sensor's socket (default: tail.socket of --config, or\n"
    "                       /run/permsentry/tail.sock)\n"
    "  --config FILE        read tail.socket from the sensor's configuration\n"
    "  --json, --text       force one form (default: text on a terminal, else JSON)\n"
    "  --color WHEN         colour text: auto (on a terminal), always, never\n"
    "\n"
    "Only root and members of the socket's group (tail.group, default permsentry)\n"
    "may connect. Exit status: 0 on Ctrl-C (or after --no-follow's replay), 1 when\n"
    "the sensor is not reachable, refuses, or ends the stream, 2 for bad usage.\n";

volatile std::sig_atomic_t g_interrupted = 0;
volatile std::sig_atomic_t g_socket = -1;
// A signal that lands between the flag check and the next read() would leave
// that read blocked until the sensor spoke again: shutting the socket down
// (async-signal-safe) makes it return at once, whenever the signal comes.
void OnInterrupt(int) {
  g_interrupted = 1;
  if (g_socket >= 0) shutdown(g_socket, SHUT_RDWR);
}

int UsageError(const std::string& what) {
  std::fprintf(stderr, "permsentry tail: %s\n%s", what.c_str(), kUsage);
  return kExitUsage;
}

// Why connect() failed, said for a person.
std::string ConnectError(const std::string& path, int err) {
  if (err == ENOENT || err == ECONNREFUSED) {
    return absl::StrCat("no sensor is serving ", path,
                        " (is `permsentry run` running? is tail.socket set elsewhere in its "
                        "config?)");
  }
  if (err == EACCES || err == EPERM) {
    std::string group = "its group";
    struct stat st;
    if (stat(path.c_str(), &st) == 0) {
      if (struct group* g = getgrgid(st.st_gid)) group = absl::StrCat("group ", g->gr_name);
    }
    return absl::StrCat("permission denied on ", path, ": only root and members of ", group,
                        " may tail the sensor");
  }
  return absl::StrCat("cannot connect to ", path, ": ", strerror(err));
}

bool WriteAll(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(STDOUT_FILENO, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

int TailCommand(int argc, char** argv) {
  static const option kLong[] = {
      {"json", no_argument, nullptr, 'j'},
      {"text", no_argument, nullptr, 't'},
      {"alerts-only", no_argument, nullptr, 'a'},
      {"ai-only", no_argument, nullptr, 'i'},
      {"min-severity", required_argument, nullptr, 'm'},
      {"action", required_argument, nullptr, 'A'},
      {"path", required_argument, nullptr, 'p'},
      {"since", required_argument, nullptr, 's'},
      {"no-follow", no_argument, nullptr, 'n'},
      {"socket", required_argument, nullptr, 'S'},
      {"config", required_argument, nullptr, 'c'},
      {"color", required_argument, nullptr, 'C'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  TailFilter filter;
  std::optional<bool> json;
  std::string socket_path, color = "auto";
  bool follow = true;
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, "h", kLong, nullptr)) != -1;) {
    switch (c) {
      case 'j':
        json = true;
        break;
      case 't':
        json = false;
        break;
      case 'a':
        filter.alerts_only = true;
        break;
      case 'i':
        filter.ai_only = true;
        break;
      case 'm':
        filter.min_severity = ParseSeverity(optarg);
        if (!filter.min_severity)
          return UsageError(
              absl::StrCat("--min-severity must be low, medium, high or critical, "
                           "not \"",
                           optarg, "\""));
        break;
      case 'A':
        for (absl::string_view a : absl::StrSplit(optarg, ',', absl::SkipEmpty())) {
          if (ActionIndex(a) < 0)
            return UsageError(absl::StrCat("--action: \"", a, "\" is not an event.action"));
          filter.actions.emplace_back(a);
        }
        break;
      case 'p': {
        absl::StatusOr<Glob> g = Glob::Compile(optarg, Glob::Kind::kPath);
        if (!g.ok()) return UsageError(absl::StrCat("--path: ", g.status().message()));
        filter.paths.push_back(*std::move(g));
        break;
      }
      case 's':
        if (!absl::ParseDuration(optarg, &filter.since) || filter.since < absl::ZeroDuration())
          return UsageError(absl::StrCat("--since: \"", optarg,
                                         "\" is not a duration (\"90s\", \"10m\", \"1h30m\")"));
        break;
      case 'n':
        follow = false;
        break;
      case 'S':
        socket_path = optarg;
        break;
      case 'c': {
        std::optional<Config> cfg = LoadConfigOrSay(optarg);
        if (!cfg) return kExitUsage;
        if (socket_path.empty()) socket_path = cfg->tail.socket_path;
        break;
      }
      case 'C':
        color = optarg;
        if (color != "auto" && color != "always" && color != "never")
          return UsageError("--color must be auto, always or never");
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        return kExitOk;
      default:
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
  }
  if (optind < argc) return UsageError(absl::StrCat("unexpected argument \"", argv[optind], "\""));
  if (socket_path.empty()) socket_path = TailServerOptions{}.socket_path;
  const bool tty = isatty(STDOUT_FILENO) == 1;
  const bool as_json = json.value_or(!tty);
  const bool in_color = !as_json && (color == "always" || (color == "auto" && tty));

  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path))
    return UsageError(absl::StrCat("--socket: path too long: ", socket_path));
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr, "permsentry tail: %s\n", ConnectError(socket_path, errno).c_str());
    return kExitFailure;
  }
  g_socket = fd;
  if (g_interrupted) return kExitOk;
  const std::string request = filter.ToRequest();
  // A refused peer is told why and disconnected at once: the request may then
  // fail to go out, but the refusal is still there to read.
  const bool sent = send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                    static_cast<ssize_t>(request.size());
  const int send_errno = errno;

  std::string buf;
  char chunk[65536];
  bool greeted = false;
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      if (g_interrupted) return kExitOk;
      continue;
    }
    if (g_interrupted) return kExitOk;
    if (n <= 0) {
      if (!sent) {
        std::fprintf(stderr, "permsentry tail: cannot send the request: %s\n",
                     strerror(send_errno));
      } else {
        std::fprintf(stderr, "permsentry tail: the sensor ended the stream%s\n",
                     greeted ? " (it stopped?)" : "");
      }
      return kExitFailure;
    }
    buf.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    std::string out;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      const absl::string_view line(buf.data() + start, nl - start);
      if (absl::StartsWith(line, "{\"permsentry_tail\":")) {
        if (absl::StrContains(line, "\"error\":")) {
          std::fprintf(stderr, "permsentry tail: the sensor refused: %s\n",
                       NoControls(line).c_str());
          return kExitFailure;
        }
        if (absl::StrContains(line, "\"cut_loose\":")) {
          (void)WriteAll(out);
          std::fprintf(stderr,
                       "permsentry tail: the sensor cut this client loose: it fell too far "
                       "behind (filter with --alerts-only or --path, or reconnect with --since)\n");
          return kExitFailure;
        }
        if (absl::StrContains(line, "\"hello\":")) greeted = true;
        if (absl::StrContains(line, "\"backlog_end\":") && !follow) {
          (void)WriteAll(out);
          return kExitOk;
        }
        continue;
      }
      if (as_json) {
        absl::StrAppend(&out, line, "\n");
      } else if (std::optional<std::string> t = TailTextLine(line, in_color)) {
        out += *t;
      }
    }
    buf.erase(0, start);
    // A reader that went away (`| head`) ends us quietly.
    if (!WriteAll(out)) return kExitOk;
  }
}

}  // namespace permsentry
