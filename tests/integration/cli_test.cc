// Integration: the command line as a user meets it, and the sensor's behaviour
// under stress and misconfiguration. Needs root.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

TEST(Cli, ProbeNamesTheBackend) {
  CommandResult r = RunPermsentry({"probe"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "backend: syscall tracepoints")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "tp_btf/sys_enter")) << r.out;
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
                                "hook needs the tp_btf backend"))
      << sensor.Stderr();
}

TEST(Cli, ReloadWithBadConfigKeepsRunning) {
  const std::string p = WriteTemp("reload", "output:\n  format: json\n");
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
  // Still capturing, still JSON.
  const std::string f = absl::StrCat("/var/tmp/permsentry-reload-", getpid());
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0600));
  ASSERT_EQ(syscall(SYS_chmod, f.c_str(), 0640), 0);
  EXPECT_TRUE(sensor.WaitForSyscall(getpid(), "chmod", f));
  EXPECT_EQ(sensor.Stop(), 0);
  unlink(f.c_str());
  unlink(p.c_str());
}

// A ring too small for the storm: losses are counted, alerted on stdout and
// reported on stderr; nothing disappears without a number.
TEST(Cli, FullRingBufferIsCountedAndAlerted) {
  const std::string p = WriteTemp("tiny",
                                  "capture:\n  bulk_ring_mb: 1\n  drain_interval_ms: 1000\n  "
                                  "stats_interval_ms: 100\n");
  SensorProcess sensor({"--config", p});
  ASSERT_TRUE(sensor.ready());
  const std::string f = absl::StrCat("/var/tmp/permsentry-tiny-", getpid());
  close(open(f.c_str(), O_CREAT | O_WRONLY, 0600));
  constexpr size_t kCalls = 100000;
  for (size_t i = 0; i < kCalls; ++i) syscall(SYS_chmod, f.c_str(), 0600);
  std::optional<Event> alert = sensor.WaitFor(
      [](const Event& e) { return Get(e, "event.action") == "events_lost"; }, absl::Seconds(10));
  ASSERT_TRUE(alert);
  EXPECT_EQ(Get(*alert, "event.kind"), "alert");
  EXPECT_GT(std::stoull(Get(*alert, "permsentry.lost.bulk")), 0u);
  EXPECT_EQ(sensor.Stop(), 0);
  // Every call is either delivered or counted as lost (other processes' events
  // count in the loss total too, so this is a lower bound).
  const size_t delivered =
      sensor.Count([&](const Event& e) { return Get(e, "permsentry.path_arg") == f; });
  uint64_t lost_total = 0;
  for (const Event& e :
       sensor.All([](const Event& e) { return Get(e, "event.action") == "events_lost"; })) {
    lost_total = std::max<uint64_t>(lost_total, std::stoull(Get(e, "permsentry.lost.bulk_total")));
  }
  EXPECT_GE(delivered + lost_total, kCalls);
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
  EXPECT_EQ(r.err, "permsentry run: --backend must be auto, tp_btf or raw_tp, not \"kprobe\"\n");
}

TEST(Cli, ExecUsageErrors) {
  CommandResult r = RunPermsentry({"exec", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "permsentry exec: --agent NAME is required\n")) << r.err;
  r = RunPermsentry({"exec", "--agent", "bad name", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.err), 1) << r.err;
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
