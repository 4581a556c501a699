// Integration: the command line as a user meets it, and the sensor's behaviour
// under stress and misconfiguration. Needs root.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/syscall_table.h"
#include "decode/event.h"
#include "enrich/path.h"
#include "gtest/gtest.h"
#include "sensor_harness.h"

namespace permsentry::testing {
namespace {

std::string WriteTemp(const std::string& tag, const std::string& text) {
  const std::string p = absl::StrCat("/var/tmp/permsentry-cli-", getpid(), "-", tag, ".yaml");
  std::ofstream(p) << text;
  return p;
}

int CountLines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(Cli, HelpEverywhere) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"},
                                                                {"run", "--help"},
                                                                {"probe", "--help"},
                                                                {"exec", "--help"},
                                                                {"status", "--help"},
                                                                {"tail", "--help"},
                                                                {"check-config", "--help"}}) {
    CommandResult r = RunPermsentry(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_TRUE(absl::StrContains(r.out, "usage: permsentry")) << r.out;
  }
  CommandResult none = RunPermsentry({});
  EXPECT_EQ(none.exit_code, 2);
  CommandResult bad = RunPermsentry({"frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "unknown command \"frobnicate\""));
  CommandResult fmt = RunPermsentry({"run", "--format", "xml"});
  EXPECT_EQ(fmt.exit_code, 2);
  EXPECT_EQ(CountLines(fmt.err), 1) << fmt.err;
}

TEST(Cli, NotRootIsOneClearLine) {
  CommandResult r = RunPermsentry({"run"}, /*as_uid=*/65534);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "needs root")) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, BadConfigIsOneLineAndExit2) {
  const std::string p = WriteTemp("bad", "output:\n  format: yaml\n");
  CommandResult r = RunPermsentry({"run", "--config", p});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, absl::StrCat("permsentry: ", p,
                                ":2: output.format: \"yaml\" is not one of json, text\n"));
  CommandResult missing = RunPermsentry({"run", "--config", "/nonexistent/permsentry.yaml"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(CountLines(missing.err), 1) << missing.err;
  unlink(p.c_str());
}

// Whether this kernel lets the rich backend run, as `permsentry probe` says.
bool ProbeSaysRich() {
  return absl::StrContains(RunPermsentry({"probe"}).out, "\nrich backend: yes");
}

TEST(Cli, ProbeNamesTheBackendAndWhy) {
  CommandResult r = RunPermsentry({"probe"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "tp_btf/sys_enter")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "fentry/security_path_chmod")) << r.out;
  const bool rich = absl::StrContains(r.out, "\nrich backend: yes");
  // auto runs what probe names: rich where fentry attaches, else tracepoint,
  // and says why.
  EXPECT_TRUE(absl::StrContains(r.out, rich ? "\nbackend: rich (" : "\nbackend: tracepoint ("))
      << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\n  why: ")) << r.out;
  if (!rich) {
    EXPECT_TRUE(absl::StrContains(r.out, "why: the rich backend cannot run: ")) << r.out;
  }
}

// `run` on the default (auto) backend: the one probe named, said on start-up
// with the reason, and in `status`.
TEST(Cli, AutoRunsTheBackendProbeNames) {
  const bool rich = ProbeSaysRich();
  char tmpl[] = "/var/tmp/permsentry-auto-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, cfg = dir + "/c.yaml";
  std::ofstream(cfg) << "tail:\n  enabled: false\nai:\n  status_file: " << dir
                     << "/status.json\ncapture:\n  stats_interval_ms: 200\n";
  // No --backend: what auto picks (the suite's PERMSENTRY_TEST_BACKEND is
  // overridden by the explicit "auto").
  SensorProcess sensor({"--config", cfg, "--backend", "auto"});
  ASSERT_TRUE(sensor.ready()) << sensor.Stderr();
  const std::string err = sensor.Stderr();
  EXPECT_TRUE(absl::StrContains(
      err, rich ? "attached (rich backend, fentry)" : "attached (tracepoint backend, "))
      << err;
  EXPECT_TRUE(absl::StrContains(err, rich ? "rich backend: this kernel attaches"
                                          : "tracepoint backend: the rich backend cannot run"))
      << err;
  std::string status;
  for (int i = 0; i < 100 && !absl::StrContains(status, "\nbackend: "); ++i) {
    status = RunPermsentry({"status", "--file", dir + "/status.json"}).out;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(absl::StrContains(status, rich ? "(pid " : "(pid ")) << status;
  EXPECT_TRUE(absl::StrContains(status, rich ? "rich backend, fentry" : "tracepoint backend, "))
      << status;
  EXPECT_TRUE(absl::StrContains(status, "\nbackend: ")) << status;
  EXPECT_EQ(sensor.Stop(), 0);
  (void)!system(("rm -rf '" + dir + "'").c_str());
}

// Asking for the rich backend where the kernel refuses it: one line that says
// why and what runs instead, exit 1.
TEST(Cli, RichBackendRefusedIsOneLine) {
  if (ProbeSaysRich()) GTEST_SKIP() << "this kernel runs the rich backend";
  CommandResult r = RunPermsentry({"run", "--backend", "rich"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "permsentry: the rich backend cannot run on this kernel: "))
      << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "(--backend tracepoint runs on syscall tracepoints)"))
      << r.err;
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
}

TEST(Cli, TextFormatIsReadable) {
  SensorProcess sensor({"--format", "text"}, /*json=*/false);
  ASSERT_TRUE(sensor.ready());
  const std::string f = absl::StrCat("/var/tmp/permsentry-text-", getpid(), "\nnext");
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0600));
  ASSERT_EQ(syscall(SYS_chmod, f.c_str(), 04711), 0);
  // An alert: its severity and rule, then the rule's message.
  std::optional<std::string> line = sensor.WaitForLine(
      {" HIGH     setid-bit-added: setuid or setgid bit added: /var/tmp/permsentry-text-" +
           std::to_string(getpid()) + "\\nnext 0600 → 04711",
       absl::StrCat("(pid ", getpid(), ", uid 0): "), "setuid bit added: runs as root"});
  ASSERT_TRUE(line) << sensor.Stderr();
  EXPECT_EQ(line->find('\n'), std::string::npos);
  EXPECT_EQ(line->rfind("20", 0), 0u) << *line;  // starts with the timestamp
  // A plain event: ok/FAIL, the user, the summary. Not coloured: not a terminal.
  ASSERT_EQ(syscall(SYS_chmod, f.c_str(), 0640), 0);
  line = sensor.WaitForLine({" ok   root chmod \"/var/tmp/permsentry-text-" +
                             std::to_string(getpid()) + "\\nnext\" 04711 -> 0640"});
  ASSERT_TRUE(line) << sensor.Stderr();
  EXPECT_EQ(line->find('\033'), std::string::npos) << *line;
  unlink(f.c_str());
  EXPECT_EQ(sensor.Stop(), 0);
  EXPECT_TRUE(absl::StrContains(sensor.Stderr(), "events seen")) << sensor.Stderr();
}

// SIGHUP applies a changed watch list: a file added to it is watched from then
// on, by identity, without a restart.
TEST(Cli, ReloadAppliesANewWatchList) {
  const std::string target = absl::StrCat("/var/tmp/permsentry-cli-", getpid(), "-secret");
  std::ofstream(target) << "token\n";
  const std::string p = WriteTemp("watch", "watch:\n  defaults: false\n");
  SensorProcess sensor({"--config", p});
  ASSERT_TRUE(sensor.ready());
  auto write_open = [&] { close(open(target.c_str(), O_WRONLY | O_APPEND)); };
  auto watched_write = [&](absl::Duration timeout) {
    return sensor.WaitFor(
        [&](const Event& e) {
          return Get(e, "event.action") == "credfile_write" && Get(e, "file.path") == target;
        },
        timeout);
  };
  write_open();
  EXPECT_FALSE(watched_write(absl::Milliseconds(500))) << "not on the list yet";

  std::ofstream(p) << "watch:\n  defaults: false\n  paths:\n    - {path: " << target
                   << ", class: app_secret}\n";
  sensor.Signal(SIGHUP);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!absl::StrContains(sensor.Stderr(), "reloaded") && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(20));
  ASSERT_TRUE(absl::StrContains(sensor.Stderr(), "reloaded")) << sensor.Stderr();
  sensor.StartWindow();
  write_open();
  std::optional<Event> e = watched_write(absl::Seconds(5));
  ASSERT_TRUE(e) << sensor.Stderr();
  EXPECT_EQ((*e)["permsentry.watch.class"], "app_secret");
  EXPECT_EQ(sensor.Stop(), 0);
  unlink(target.c_str());
  unlink(p.c_str());
}

// The io_uring hook is a tp_btf program: on the raw_tp backend it is not
// loaded, and the operator is told so.
TEST(Cli, RawTpBackendSaysIoUringIsNotWatched) {
  SensorProcess sensor({"--backend", "raw_tp"});
  ASSERT_TRUE(sensor.ready());
  EXPECT_EQ(sensor.Stop(), 0);
  EXPECT_TRUE(absl::StrContains(sensor.Stderr(),
                                "WARNING: io_uring submissions are not watched: the io_uring "
                                "hook needs the tp_btf flavour"))
      << sensor.Stderr();
}

TEST(Cli, ReloadWithBadConfigKeepsRunning) {
  const std::string status = absl::StrCat("/run/permsentry-test-status-", getpid(), ".json");
  const std::string good = "output:\n  format: json\nai:\n  status_file: " + status + "\n";
  const std::string p = WriteTemp("reload", good);
  SensorProcess sensor({"--config", p});
  ASSERT_TRUE(sensor.ready());
  std::ofstream(p) << "output:\n  colour: yes\n";
  sensor.Signal(SIGHUP);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!absl::StrContains(sensor.Stderr(), "reload failed") && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(absl::StrContains(sensor.Stderr(), "reload failed, keeping the running config: " + p +
                                                     ":2: unknown key \"output.colour\""))
      << sensor.Stderr();
  // `permsentry status` says so too: the first generation still in force.
  const auto status_says = [&](const std::string& want) {
    const absl::Time until = absl::Now() + absl::Seconds(5);
    CommandResult r;
    do {
      r = RunPermsentry({"status", "--file", status});
      if (absl::StrContains(r.out, want)) return true;
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < until);
    ADD_FAILURE() << "status never said \"" << want << "\":\n" << r.out << r.err;
    return false;
  };
  EXPECT_TRUE(status_says("config: " + p + ", generation 1"));
  EXPECT_TRUE(status_says("last reload refused, the config above kept: " + p +
                          ":2: unknown key \\\"output.colour\\\""));  // quotes escaped
  // A good file again: generation 2, no refusal.
  std::ofstream(p) << good;
  sensor.Signal(SIGHUP);
  EXPECT_TRUE(status_says("config: " + p + ", generation 2"));
  EXPECT_FALSE(
      absl::StrContains(RunPermsentry({"status", "--file", status}).out, "last reload refused"));
  // Still capturing, still JSON.
  const std::string f = absl::StrCat("/var/tmp/permsentry-reload-", getpid());
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0600));
  ASSERT_EQ(syscall(SYS_chmod, f.c_str(), 0640), 0);
  EXPECT_TRUE(sensor.WaitForSyscall(getpid(), "chmod", f));
  EXPECT_EQ(sensor.Stop(), 0);
  unlink(f.c_str());
  unlink(p.c_str());
}

// The service manager's side of sd_notify(3), played by the test: a datagram
// socket in NOTIFY_SOCKET. The sensor says READY=1 only once it is attached and
// its watch list is in (after the ready file), then STATUS= with its counts,
// WATCHDOG=1 from its loop (WATCHDOG_USEC set), RELOADING=1 and READY=1 around
// a reload, and STOPPING=1.
TEST(Service, NotifiesReadyStatusWatchdogReloadAndStopping) {
  char dir[] = "/tmp/permsentry-notify-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string sock = std::string(dir) + "/notify";
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string cfg = WriteTemp("notify", "output:\n  format: json\n");
  setenv("NOTIFY_SOCKET", sock.c_str(), 1);
  setenv("WATCHDOG_USEC", "200000", 1);
  SensorProcess sensor({"--config", cfg});
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(sensor.ready()) << sensor.Stderr();
  std::vector<std::string> got;
  // Messages until one contains `want` (each datagram holds one or more
  // newline-separated assignments).
  const auto wait_for = [&](const std::string& want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, 100) != 1) continue;
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      for (absl::string_view line : absl::StrSplit(absl::string_view(buf, n), '\n'))
        got.emplace_back(line);
      if (absl::StrContains(absl::string_view(buf, n), want)) return true;
    }
    return false;
  };
  EXPECT_TRUE(wait_for("READY=1")) << absl::StrJoin(got, " | ");
  EXPECT_TRUE(absl::c_any_of(got, [&](const std::string& l) {
    return l == absl::StrCat("MAINPID=", sensor.pid());
  })) << absl::StrJoin(got, " | ");
  EXPECT_TRUE(wait_for("WATCHDOG=1")) << absl::StrJoin(got, " | ");
  EXPECT_TRUE(wait_for(" events, ")) << absl::StrJoin(got, " | ");
  got.clear();
  sensor.Signal(SIGHUP);
  EXPECT_TRUE(wait_for("RELOADING=1")) << absl::StrJoin(got, " | ");
  EXPECT_TRUE(wait_for("READY=1")) << absl::StrJoin(got, " | ");
  EXPECT_EQ(sensor.Stop(), 0);
  EXPECT_TRUE(wait_for("STOPPING=1")) << absl::StrJoin(got, " | ");
  close(fd);
  unlink(sock.c_str());
  rmdir(dir);
  unlink(cfg.c_str());
}

// The unit's CapabilityBoundingSet is all the sensor needs: run as root with
// only those capabilities (setpriv, as systemd would), it attaches, names the
// changed file, marks a credential file and reads the process's ancestry.
TEST(Service, RunsWithTheUnitsCapabilitiesOnly) {
  std::ifstream unit(std::string(PERMSENTRY_SOURCE_DIR) + "/packaging/permsentry.service.in");
  ASSERT_TRUE(unit) << "packaging/permsentry.service.in";
  std::string line, caps;
  while (std::getline(unit, line))
    if (absl::StartsWith(line, "CapabilityBoundingSet=")) caps = line.substr(22);
  ASSERT_FALSE(caps.empty());
  std::string bounding = "-all";
  for (absl::string_view c : absl::StrSplit(caps, ' ', absl::SkipEmpty())) {
    ASSERT_TRUE(absl::StartsWith(c, "CAP_")) << c;
    bounding += absl::StrCat(",+", absl::AsciiStrToLower(c.substr(4)));
  }
  EXPECT_FALSE(absl::StrContains(bounding, "sys_admin")) << bounding;
  SensorProcess sensor({}, true,
                       {"/usr/bin/setpriv", "--bounding-set=" + bounding, "--no-new-privs"});
  ASSERT_TRUE(sensor.ready()) << bounding << "\n" << sensor.Stderr();
  const std::string status = absl::StrCat("/proc/", sensor.pid(), "/status");
  std::ifstream st(status);
  std::string capeff;
  while (std::getline(st, line))
    if (absl::StartsWith(line, "CapBnd:")) capeff = line;
  EXPECT_NE(capeff, "CapBnd:\t000001ffffffffff") << "setpriv did not narrow the set";
  const std::string f = absl::StrCat("/var/tmp/permsentry-caps-", getpid());
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0600));
  ASSERT_EQ(syscall(SYS_chmod, f.c_str(), 0640), 0);
  std::optional<Event> e = sensor.WaitForSyscall(getpid(), "chmod", f);
  ASSERT_TRUE(e) << sensor.Stderr();
  EXPECT_EQ((*e)["file.path"], f);
  // /proc of this process, read with CAP_SYS_PTRACE: its executable.
  EXPECT_NE(Get(*e, "permsentry.ancestry.0.executable"), "<missing>");
  EXPECT_EQ(sensor.Stop(), 0);
  unlink(f.c_str());
}

// A service with PrivateTmp has a /tmp of its own: a path an event names is
// the host's, so the check for a followed symlink looks there (through init's
// root), not in the sensor's private /tmp.
TEST(Service, PrivateTmpStillSeesTheHostsSymlinks) {
  const std::string d = absl::StrCat("/tmp/permsentry-privtmp-", getpid());
  ASSERT_EQ(mkdir(d.c_str(), 0700), 0);
  const std::string target = d + "/target", link = d + "/link";
  close(open(target.c_str(), O_CREAT | O_WRONLY, 0600));
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  const pid_t child = fork();
  if (child == 0) {
    // What systemd does for PrivateTmp=yes: a mount namespace, a new /tmp.
    std::string out = "setup failed";
    if (unshare(CLONE_NEWNS) == 0 &&
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        mount("tmpfs", "/tmp", "tmpfs", 0, nullptr) == 0) {
      struct stat st;
      out = lstat(link.c_str(), &st) == 0 ? "the private /tmp shows the link" : "";
      if (out.empty()) {
        OpEvent ev;
        ev.op = Op::kMode;
        ev.sc = LookupSyscall(SYS_chmod, false);
        CallArgs c;
        c.path = link;
        ev.call = c;
        ResolvedPath r{.path = link, .method = "argument"};
        SymlinkChecker checker;
        checker.Annotate(ev, r);
        out = absl::StrCat(absl::StrJoin(r.caveats, ","), " ", r.symlink_target.value_or("-"));
      }
    }
    (void)!write(p[1], out.data(), out.size());
    _exit(0);
  }
  close(p[1]);
  char buf[512];
  const ssize_t n = read(p[0], buf, sizeof(buf));
  close(p[0]);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "via_symlink " + target);
  unlink(link.c_str());
  unlink(target.c_str());
  rmdir(d.c_str());
}

namespace {

// One HTTP GET on loopback; the whole response, or "" when nothing answered.
std::string HttpGet(uint16_t port, const std::string& target) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
    const std::string req =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    (void)!write(fd, req.data(), req.size());
    timeval tv{.tv_sec = 5, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  }
  close(fd);
  return out;
}

// A free loopback port (bound, then released for the server to take).
uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

}  // namespace

// The metrics as a fleet's monitoring sees them: a real Prometheus server
// (Debian's) scrapes the sensor on loopback, and a query through its HTTP API
// finds the chmod this test made, by action and outcome.
TEST(Service, PrometheusScrapesTheMetrics) {
  if (access("/usr/bin/prometheus", X_OK) != 0)
    GTEST_SKIP() << "prometheus is not installed (apt-get install prometheus)";
  const uint16_t mport = FreePort();
  const std::string cfg = WriteTemp(
      "metrics", absl::StrCat("metrics:\n  enabled: true\n  address: 127.0.0.1:", mport, "\n"));
  SensorProcess sensor({"--config", cfg});
  ASSERT_TRUE(sensor.ready()) << sensor.Stderr();
  // The endpoint itself: text format, the families a fleet alerts on.
  const std::string direct = HttpGet(mport, "/metrics");
  EXPECT_TRUE(absl::StartsWith(direct, "HTTP/1.1 200 OK")) << direct;
  for (const char* family :
       {"# TYPE permsentry_events_total counter", "permsentry_events_lost_total{ring=\"bulk\"}",
        "permsentry_build_info{", "permsentry_programs_attached ", "permsentry_tail_clients ",
        "permsentry_config_generation 1"})
    EXPECT_TRUE(absl::StrContains(direct, family)) << family << "\n" << direct;
  EXPECT_TRUE(absl::StartsWith(HttpGet(mport, "/other"), "HTTP/1.1 404")) << "only /metrics";

  char dir[] = "/var/tmp/permsentry-prom-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const uint16_t pport = FreePort();
  const std::string pcfg = std::string(dir) + "/prometheus.yml";
  std::ofstream(pcfg) << "global:\n  scrape_interval: 1s\nscrape_configs:\n"
                      << "  - job_name: permsentry\n    static_configs:\n"
                      << "      - targets: ['127.0.0.1:" << mport << "']\n";
  const pid_t prom = fork();
  if (prom == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    const std::string listen = absl::StrCat("--web.listen-address=127.0.0.1:", pport);
    const std::string config = "--config.file=" + pcfg;
    const std::string storage = absl::StrCat("--storage.tsdb.path=", dir, "/data");
    execl("/usr/bin/prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // A chmod the sensor reports, then Prometheus's own answer about it.
  const std::string f = absl::StrCat("/var/tmp/permsentry-prom-file-", getpid());
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0600));
  ASSERT_EQ(syscall(SYS_chmod, f.c_str(), 0640), 0);
  ASSERT_TRUE(sensor.WaitForSyscall(getpid(), "chmod", f));
  const std::string query =
      "/api/v1/"
      "query?query=permsentry_events_total%7Baction%3D%22chmod%22%2Coutcome%3D%22success%22%7D";
  std::string answer;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    answer = HttpGet(pport, query);
    if (absl::StrContains(answer, "\"job\":\"permsentry\"")) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  kill(prom, SIGTERM);
  waitpid(prom, nullptr, 0);
  EXPECT_TRUE(absl::StrContains(answer, "\"status\":\"success\"")) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "\"__name__\":\"permsentry_events_total\"")) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "\"action\":\"chmod\"")) << answer;
  EXPECT_EQ(sensor.Stop(), 0);
  unlink(f.c_str());
  unlink(cfg.c_str());
  const std::string rm = std::string("rm -rf '") + dir + "'";
  (void)!system(rm.c_str());
}

// A ring too small for the storm: losses are counted, alerted on stdout and
// reported on stderr; nothing disappears without a number.
TEST(Cli, FullRingBufferIsCountedAndAlerted) {
  // Identical calls, not coalesced: each one a record, to fill the ring.
  const std::string p = WriteTemp("tiny",
                                  "capture:\n  bulk_ring_mb: 1\n  drain_interval_ms: 1000\n  "
                                  "stats_interval_ms: 100\n  coalesce_window_ms: 0\n");
  SensorProcess sensor({"--config", p});
  ASSERT_TRUE(sensor.ready());
  const std::string f = absl::StrCat("/var/tmp/permsentry-tiny-", getpid());
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0600));
  // Far more than the 1 MiB ring holds (about a KiB each), even scaled down.
  const size_t kCalls = Scaled(100000, 10000);
  for (size_t i = 0; i < kCalls; ++i) syscall(SYS_chmod, f.c_str(), 0600);
  std::optional<Event> alert = sensor.WaitFor(
      [](const Event& e) { return Get(e, "event.action") == "events_lost"; }, absl::Seconds(10));
  ASSERT_TRUE(alert);
  EXPECT_EQ(Get(*alert, "event.kind"), "alert");
  EXPECT_GT(std::stoull(Get(*alert, "permsentry.lost.bulk")), 0u);
  EXPECT_EQ(sensor.Stop(), 0);
  // Every call is delivered, or counted as lost in the ring, or counted as not
  // written to a stdout whose reader (this test, slower still under ASan) fell
  // behind. Other processes' events count in the totals too: a lower bound.
  const size_t delivered = sensor.Count([&](const Event& e) { return Get(e, "file.path") == f; });
  uint64_t lost_total = 0, stdout_total = 0;
  for (const Event& e :
       sensor.All([](const Event& e) { return Get(e, "event.action") == "events_lost"; })) {
    lost_total = std::max<uint64_t>(lost_total, std::stoull(Get(e, "permsentry.lost.bulk_total")));
  }
  // The closing summary counts them all, those still waiting at exit included.
  const std::string summary = sensor.Stderr();
  if (const size_t at = summary.find("permsentry: stdout: "); at != std::string::npos)
    stdout_total = std::strtoull(summary.c_str() + at + 20, nullptr, 10);
  EXPECT_GE(delivered + lost_total + stdout_total, kCalls)
      << delivered << " delivered, " << lost_total << " lost, " << stdout_total
      << " not written to stdout\n"
      << sensor.Stderr();
  EXPECT_LT(delivered, kCalls);
  const std::string err = sensor.Stderr();
  EXPECT_TRUE(absl::StrContains(err, "ALERT:")) << err;
  EXPECT_TRUE(absl::StrContains(err, "lost (ring buffer full)")) << err;
  unlink(f.c_str());
  unlink(p.c_str());
}

}  // namespace
}  // namespace permsentry::testing

namespace permsentry::testing {
namespace {

TEST(Cli, BadBackendIsUsageError) {
  CommandResult r = RunPermsentry({"run", "--backend", "kprobe"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "permsentry run: --backend must be auto, rich or tracepoint (or tp_btf, raw_tp), not "
            "\"kprobe\"\n");
}

TEST(Cli, ExecUsageErrors) {
  CommandResult r = RunPermsentry({"exec", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(
      absl::StartsWith(r.err, "permsentry exec: give one of --agent NAME or --assisted-by NAME\n"))
      << r.err;
  r = RunPermsentry({"exec", "--agent", "bad name", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  r = RunPermsentry({"exec", "--agent", "a", "--assisted-by", "b", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "permsentry exec: give one of")) << r.err;
  r = RunPermsentry({"exec", "--assisted-by", "chat bot", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "permsentry exec: assistant name \"chat bot\" must be 1-64 letters, digits, '.', "
            "'_' or '-'\n");
  r = RunPermsentry({"exec", "--assisted-by", "chatgpt", "--session", "x", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  r = RunPermsentry(
      {"exec", "--assisted-by", "chatgpt", "/bin/sh", "-c", "echo $PERMSENTRY_ASSISTED; exit 4"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out, "chatgpt\n");
  r = RunPermsentry({"exec", "--agent", "bot", "--session", "a/b", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.err, "session id \"a/b\"")) << r.err;
  r = RunPermsentry({"exec", "--agent", "bot"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "permsentry exec: no command given")) << r.err;
  r = RunPermsentry({"exec", "--agent", "bot", "--", "/nonexistent/cmd"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.err, "permsentry exec: cannot run /nonexistent/cmd: No such file or directory\n");
  // The command's exit status and its own options pass through.
  r = RunPermsentry({"exec", "--agent", "bot", "/bin/sh", "-c", "echo $PERMSENTRY_AGENT; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "bot\n");
}

TEST(Cli, CheckConfig) {
  const std::string good = WriteTemp("good",
                                     "output:\n  format: text\nai:\n  agents:\n"
                                     "    - {name: bot, env: [BOT=1]}\n");
  const std::string bad = WriteTemp("badai", "ai:\n  agents:\n    - {name: bot}\n");
  CommandResult r = RunPermsentry({"check-config", good}, /*as_uid=*/65534);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, good + ": ok (")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "text output")) << r.out;
  r = RunPermsentry({"check-config", good, bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, bad + ":3: ai.agents: \"bot\" has no executables, scripts or env\n");
  EXPECT_EQ(CountLines(r.out), 1) << r.out;  // the good one is still reported
  r = RunPermsentry({"check-config", "/nonexistent.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "/nonexistent.yaml: cannot read config file\n");
  EXPECT_EQ(RunPermsentry({"check-config"}).exit_code, 2);
  unlink(good.c_str());
  unlink(bad.c_str());
}

TEST(Cli, StatusWithoutSensor) {
  const std::string missing = absl::StrCat("/var/tmp/permsentry-cli-", getpid(), "-none.json");
  CommandResult r = RunPermsentry({"status", "--file", missing});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "the sensor is not running")) << r.err;
  // A status file left by a sensor that died is recognised as stale.
  const std::string stale = WriteTemp("stale", "{\"pid\":999999999,\"sessions\":[]}\n");
  r = RunPermsentry({"status", "--file", stale});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "is stale")) << r.err;
  unlink(stale.c_str());
}

}  // namespace
}  // namespace permsentry::testing

namespace permsentry::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// stdout is a sink like the others: a reader that stops reading must not stop
// capture. Plain events past its buffer are dropped for it, counted and
// reported; alerts are kept, and the tail gets everything meanwhile.
TEST(Cli, AStdoutNobodyReadsNeverBlocksCapture) {
  char tmpl[] = "/var/tmp/permsentry-stuck-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string cfg = dir + "/c.yaml", ready = dir + "/ready", err = dir + "/err";
  // Not coalesced: every call of the storm below is a line stdout must hold.
  std::ofstream(cfg) << "output:\n  buffer_mb: 1\ncapture:\n  stats_interval_ms: 200\n"
                     << "  coalesce_window_ms: 0\n"
                     << "tail:\n  socket: " << dir << "/tail.sock\n"
                     << "ai:\n  status_file: " << dir << "/status.json\n";
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  ASSERT_GT(fcntl(out[1], F_SETPIPE_SZ, 4096), 0);
  const pid_t sensor = fork();
  if (sensor == 0) {
    dup2(out[1], STDOUT_FILENO);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(e, STDERR_FILENO);
    close(out[0]);
    std::vector<std::string> args = {PermsentryBinary(), "run", "--config", cfg,
                                     "--ready-file",     ready};
    if (const char* b = std::getenv("PERMSENTRY_TEST_BACKEND")) {
      args.push_back("--backend");
      args.push_back(b);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  for (int i = 0; i < 2000 && access(ready.c_str(), F_OK) != 0; ++i)
    absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(access(ready.c_str(), F_OK), 0) << Slurp(err);
  // A tail for the alert, while stdout is stuck.
  const std::string tail_out = dir + "/tail.out";
  const pid_t tail = fork();
  if (tail == 0) {
    const int o = open(tail_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, STDOUT_FILENO);
    execl(PermsentryBinary().c_str(), PermsentryBinary().c_str(), "tail", "--json", "--alerts-only",
          "--socket", (dir + "/tail.sock").c_str(), nullptr);
    _exit(127);
  }
  // The tail is connected once the sensor's status counts it.
  bool connected = false;
  for (int i = 0; i < 3000 && !connected; ++i) {
    connected = absl::StrContains(Slurp(dir + "/status.json"), "\"clients\":1");
    if (!connected) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(connected) << Slurp(dir + "/status.json");
  const std::string f = dir + "/f";
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0644));
  // ~2 KB each: about 20 MB of events against a 1 MiB buffer and a 4 KB pipe.
  constexpr int kCalls = 10000;
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(chmod(f.c_str(), i % 2 ? 0600 : 0640), 0);
  const std::string suid = dir + "/suid";
  close(open(suid.c_str(), O_CREAT | O_WRONLY, 0755));
  ASSERT_EQ(chmod(suid.c_str(), 04755), 0);
  // The alert reaches the tail though nobody reads stdout.
  bool alerted = false;
  for (int i = 0; i < 1200 && !alerted; ++i) {
    alerted = absl::StrContains(Slurp(tail_out), suid);
    if (!alerted) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(alerted) << Slurp(err);
  // Said on stderr, with the count.
  bool said = false;
  for (int i = 0; i < 100 && !said; ++i) {
    said = absl::StrContains(Slurp(err), "ALERT: stdout's reader fell 1 MiB behind");
    if (!said) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(said) << Slurp(err);
  // Now read stdout: whole lines, the setuid alert and the drop report among
  // them (alerts are kept past the buffer).
  const int flags = fcntl(out[0], F_GETFL);
  fcntl(out[0], F_SETFL, flags | O_NONBLOCK);
  fcntl(out[0], F_SETPIPE_SZ, 1 << 20);  // a fast reader from here on
  std::string got;
  char buf[65536];
  for (int idle = 0; idle < 20;) {
    const ssize_t n = read(out[0], buf, sizeof(buf));
    if (n > 0) {
      got.append(buf, static_cast<size_t>(n));
      idle = 0;
    } else {
      ++idle;
      absl::SleepFor(absl::Milliseconds(25));
    }
  }
  kill(tail, SIGINT);
  WaitChild(tail);
  kill(sensor, SIGINT);
  const int status = WaitChild(sensor);
  size_t lines = 0, bad = 0;
  bool suid_alert = false, drop_alert = false;
  for (absl::string_view l : absl::StrSplit(got, '\n', absl::SkipEmpty())) {
    ++lines;
    std::optional<Event> e = FlattenJsonLine(std::string(l));
    if (!e) {
      ++bad;
      continue;
    }
    suid_alert =
        suid_alert || (Get(*e, "rule.id") == "setid-bit-added" && Get(*e, "file.path") == suid);
    drop_alert = drop_alert || Get(*e, "rule.id") == "sensor-stdout-dropped";
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_LT(lines, static_cast<size_t>(kCalls));  // some were dropped for stdout
  EXPECT_TRUE(suid_alert);
  EXPECT_TRUE(drop_alert);
  // Capture itself lost nothing: every call went through the kernel ring.
  const std::string e = Slurp(err);
  EXPECT_TRUE(absl::StrContains(e, " lost (ring buffer full)")) << e;
  EXPECT_TRUE(absl::StrContains(e, "events seen, 0 lost (ring buffer full)")) << e;
  EXPECT_TRUE(absl::StrContains(e, "permsentry: stdout: ")) << e;
  close(out[0]);
  (void)!system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace permsentry::testing
