// Integration: AI-session attribution with real processes. Needs root.
//
// Fake agents are one small binary (fake_agent.cc) copied under agents' names
// (claude, codex, ...), so the kernel sees the executable a real agent has.
// Each spawns a permission change the way the real agent does: a direct child,
// bash -c, a uid change with the environment cleared, setsid and a double
// fork, nohup, a long-lived server that runs the command later, an MCP-style
// server with a minimal environment. Human processes (a VS Code terminal with
// no agent, a shell beside an agent) must be none and assisted.
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "sensor_harness.h"

namespace permsentry::testing {
namespace {

constexpr char kPath[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

// Fork and exec argv with exactly `env`; returns the pid (not waited for).
// With own_group, the process leads a process group of its own, so that it and
// everything it starts can be ended together, by that group's id.
// In a forked child: exec argv with exactly `env` (127 when it cannot).
[[noreturn]] void ExecWith(const std::vector<std::string>& argv,
                           const std::vector<std::string>& env) {
  std::vector<char*> a, e;
  for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  for (const std::string& s : env) e.push_back(const_cast<char*>(s.c_str()));
  e.push_back(nullptr);
  execve(a[0], a.data(), e.data());
  _exit(127);
}

pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            bool own_group = false) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (own_group) setpgid(0, 0);
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, STDIN_FILENO);
    dup2(devnull, STDOUT_FILENO);
    ExecWith(argv, env);
  }
  if (own_group) setpgid(pid, pid);  // both sides: the group exists before either goes on
  return pid;
}

int Wait(pid_t pid, absl::Duration limit = absl::ZeroDuration()) {
  const int status = WaitChild(pid, limit);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Run and wait, with a clean environment (the test runner's own must not
// decide anything).
int RunClean(const std::vector<std::string>& argv, std::vector<std::string> env = {},
             absl::Duration limit = absl::ZeroDuration()) {
  env.push_back(kPath);
  return Wait(Spawn(argv, env), limit);
}

class Attribution : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(geteuid(), 0u) << "integration tests load BPF programs: run them as root";
    char tmpl[] = "/var/tmp/permsentry-ai-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = new std::string(tmpl);
    ASSERT_EQ(chmod(root_->c_str(), 0755), 0);
    ASSERT_EQ(mkdir((*root_ + "/bin").c_str(), 0755), 0);
    for (const char* name :
         {"claude", "codex", "gemini", "opencode", "kiro-cli", "goose", "cline"}) {
      const std::string dst = *root_ + "/bin/" + name;
      std::filesystem::copy_file(FAKE_AGENT_BIN, dst);
      ASSERT_EQ(chmod(dst.c_str(), 0755), 0);
    }
    config_ = new std::string(*root_ + "/permsentry.yaml");
    // The suspicion's age bound is a unit test's: here a program need not
    // have run for long to count.
    std::ofstream(*config_) << "ai:\n  status_file: " << *root_ << "/status.json\n"
                            << "  suspect_min_age_s: 0\n"
                            << "capture:\n  stats_interval_ms: 200\n";
    StartSensor();
  }
  static void StartSensor() {
    sensor_ = new SensorProcess({"--config", *config_});
    ASSERT_TRUE(sensor_->ready()) << sensor_->Stderr();
  }
  static void StopSensor() {
    if (sensor_ == nullptr) return;
    EXPECT_EQ(sensor_->Stop(), 0) << sensor_->Stderr();
    EXPECT_EQ(sensor_->bad_lines(), 0u);
    delete sensor_;
    sensor_ = nullptr;
  }
  static void TearDownTestSuite() {
    StopSensor();
    if (root_ != nullptr) (void)!system(("rm -rf '" + *root_ + "'").c_str());
    delete root_;
    delete config_;
  }
  void SetUp() override { sensor_->StartWindow(); }

  static std::string Bin(const std::string& agent) { return *root_ + "/bin/" + agent; }
  // A fresh file owned by `uid`, mode 0644.
  static std::string File(const std::string& name, uid_t uid = 0) {
    const std::string p = *root_ + "/" + name;
    std::ofstream(p) << "x\n";
    EXPECT_EQ(chmod(p.c_str(), 0644), 0);
    EXPECT_EQ(chown(p.c_str(), uid, uid), 0);
    return p;
  }
  static std::string Fifo(const std::string& name) {
    const std::string p = *root_ + "/" + name;
    EXPECT_EQ(mkfifo(p.c_str(), 0600), 0);
    return p;
  }
  static void Release(const std::string& fifo, const std::string& line = "go") {
    std::ofstream(fifo) << line << "\n";
  }
  // The chmod event that set `path` to `mode`.
  static std::optional<Event> WaitChmod(const std::string& path, const std::string& mode,
                                        absl::Duration timeout = absl::Seconds(10)) {
    return sensor_->WaitFor(
        [&](const Event& e) {
          return Get(e, "event.action") == "chmod" && Get(e, "file.path") == path &&
                 Get(e, "file.mode") == mode;
        },
        timeout);
  }
  static void ExpectAgent(const Event& e, const std::string& agent) {
    EXPECT_EQ(Get(e, "permsentry.ai.attribution"), "agent") << e.at("message");
    EXPECT_EQ(Get(e, "permsentry.ai.agent"), agent);
    EXPECT_NE(Get(e, "permsentry.ai.session_id"), "<missing>");
    EXPECT_NE(Get(e, "permsentry.ai.root_pid"), "<missing>");
    // ECS's own fields name the same agent and session.
    EXPECT_EQ(Get(e, "gen_ai.agent.name"), agent);
    EXPECT_EQ(Get(e, "gen_ai.agent.id"), Get(e, "permsentry.ai.session_id"));
  }
  // The ancestry entry whose pid is the session root names the agent binary.
  static void ExpectRootInAncestry(const Event& e, const std::string& agent) {
    const std::string root = Get(e, "permsentry.ai.root_pid");
    bool found = false;
    for (int i = 0; i < 16 && !found; ++i) {
      const std::string k = absl::StrCat("permsentry.ancestry.", i);
      if (Get(e, k + ".pid") == root) {
        found = true;
        EXPECT_EQ(Get(e, k + ".executable"), Bin(agent));
      }
    }
    EXPECT_TRUE(found) << "root pid " << root << " not in the ancestry";
  }

  static std::string* root_;
  static std::string* config_;
  static SensorProcess* sensor_;
};
std::string* Attribution::root_ = nullptr;
std::string* Attribution::config_ = nullptr;
SensorProcess* Attribution::sensor_ = nullptr;

TEST_F(Attribution, DirectChild) {
  const std::string f = File("direct");
  ASSERT_EQ(RunClean({Bin("claude"), "--setenv", "CLAUDECODE=1", "--", "/bin/chmod", "4755", f}),
            0);
  auto e = WaitChmod(f, "04755");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "claude");
  ExpectRootInAncestry(*e, "claude");
  const std::string root = Get(*e, "permsentry.ai.root_pid");
  EXPECT_EQ(Get(*e, "permsentry.ai.evidence.0"),
            absl::StrCat("pid ", root, " claude: executable ", Bin("claude")));
  EXPECT_TRUE(absl::StartsWith(Get(*e, "permsentry.ai.evidence.1"), "session began "));
  EXPECT_EQ(Get(*e, "permsentry.ai.evidence.2"),
            absl::StrCat("inherited through chmod (pid ", Get(*e, "process.pid"), ")"));
  EXPECT_EQ(Get(*e, "permsentry.urgent"), "true");  // an AI session's change wakes the reader
}

TEST_F(Attribution, BashDashC) {
  const std::string f = File("bashc");
  ASSERT_EQ(RunClean({Bin("gemini"), "--setenv", "GEMINI_CLI=1", "--", "/bin/bash", "-c",
                      "chmod 0700 " + f + "; true"}),
            0);
  auto e = WaitChmod(f, "0700");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "gemini");
  ExpectRootInAncestry(*e, "gemini");
  EXPECT_TRUE(absl::StrContains(Get(*e, "permsentry.ai.evidence.2"), "bash (pid "))
      << Get(*e, "permsentry.ai.evidence.2");
}

TEST_F(Attribution, UidChangeWithClearedEnvironment) {
  const std::string f = File("setpriv", 65534);
  ASSERT_EQ(RunClean({Bin("claude"), "--setenv", "CLAUDECODE=1", "--", "/usr/bin/setpriv",
                      "--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/env",
                      "-i", "/bin/chmod", "0604", f}),
            0);
  auto e = WaitChmod(f, "0604");
  ASSERT_TRUE(e);
  EXPECT_EQ(Get(*e, "user.id"), "65534");
  ExpectAgent(*e, "claude");
  ExpectRootInAncestry(*e, "claude");
  // The uid change itself is the agent's too.
  auto su = sensor_->WaitFor([&](const Event& x) {
    return Get(x, "event.action") == "setresuid" && Get(x, "process.name") == "setpriv";
  });
  ASSERT_TRUE(su);
  ExpectAgent(*su, "claude");
}

TEST_F(Attribution, SuWithLoginEnvironment) {
  const std::string f = File("su", 65534);
  ASSERT_EQ(RunClean({Bin("claude"), "--setenv", "CLAUDECODE=1", "--", "/usr/bin/su", "-", "-s",
                      "/bin/sh", "nobody", "-c", "/bin/chmod 0605 " + f}),
            0);
  auto e = WaitChmod(f, "0605");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "claude");
}

TEST_F(Attribution, SetsidDoubleForkAfterTheAgentExited) {
  const std::string f = File("daemon");
  // Codex style: empty environment, own session; the agent does not wait, the
  // middle shell exits, the grandchild is reparented and acts later.
  ASSERT_EQ(RunClean({Bin("codex"), "--clear-env", "--setenv", "CODEX_THREAD_ID=t1", "--setsid",
                      "--detach", "--", "/bin/sh", "-c",
                      "(sleep 0.5; /bin/chmod 0640 " + f + ") >/dev/null 2>&1 & exit 0"}),
            0);
  auto e = WaitChmod(f, "0640");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "codex");
  EXPECT_NE(Get(*e, "process.parent.pid"), Get(*e, "permsentry.ai.root_pid"));
}

TEST_F(Attribution, Nohup) {
  const std::string f = File("nohup");
  ASSERT_EQ(RunClean({Bin("opencode"), "--setenv", "OPENCODE=1", "--setsid", "--", "/bin/sh", "-c",
                      "nohup /bin/chmod 0641 " + f + " >/dev/null 2>&1 &"}),
            0);
  auto e = WaitChmod(f, "0641");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "opencode");
}

TEST_F(Attribution, LongLivedServerRunsTheCommandLater) {
  const std::string f = File("server");
  const std::string fifo = Fifo("server.fifo");
  // The agent starts a tmux-like server (own session, clean environment) and
  // exits; the server runs a command it is sent afterwards.
  ASSERT_EQ(
      RunClean({Bin("claude"), "--setenv", "CLAUDECODE=1", "--detach", "--", "/usr/bin/setsid",
                "/usr/bin/env", "-i", "/bin/sh", "-c", "read c < " + fifo + "; /bin/sh -c \"$c\""}),
      0);
  absl::SleepFor(absl::Milliseconds(300));
  Release(fifo, "/bin/chmod 0642 " + f);
  auto e = WaitChmod(f, "0642");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "claude");
}

TEST_F(Attribution, McpServerWithMinimalEnvironment) {
  const std::string f = File("mcp");
  ASSERT_EQ(RunClean({Bin("claude"), "--setenv", "CLAUDECODE=1", "--", "/usr/bin/env", "-i",
                      "HOME=/root", "PATH=/usr/bin:/bin", "USER=root", "/bin/sh", "-c",
                      "/bin/chmod 0643 " + f + "; true"}),
            0);
  auto e = WaitChmod(f, "0643");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "claude");
  ExpectRootInAncestry(*e, "claude");
}

TEST_F(Attribution, EnvironmentMarkerAloneStartsASession) {
  // No agent executable: a shell that an agent started with its marker.
  const std::string f = File("marker");
  ASSERT_EQ(RunClean({"/bin/sh", "-c", "/bin/chmod 0644 " + f + "; /bin/chmod 0646 " + f},
                     {"GOOSE_TERMINAL=1"}),
            0);
  auto e = WaitChmod(f, "0646");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "goose");
  EXPECT_TRUE(absl::EndsWith(Get(*e, "permsentry.ai.evidence.0"), ": env GOOSE_TERMINAL=1"))
      << Get(*e, "permsentry.ai.evidence.0");
}

// The markers the real CLIs set for their shell tools (agents.md, observed):
// each alone starts that agent's session.
TEST_F(Attribution, ObservedMarkersOfNewerAgents) {
  const struct {
    const char* marker;
    const char* agent;
  } cases[] = {{"QWEN_CODE=1", "qwen-code"},
               {"COPILOT_CLI=1", "copilot"},
               {"CODEX_SESSION_ID=0199aa", "codex"},
               {"CLAUDE_CODE_SESSION_ID=5e1f", "claude"}};
  int mode = 0661;  // not 0644: File() itself sets that
  for (const auto& c : cases) {
    const std::string f = File(absl::StrCat("observed-", c.agent));
    const std::string m = absl::StrFormat("0%o", mode);
    ASSERT_EQ(RunClean({"/bin/sh", "-c", "/bin/chmod " + m + " " + f}, {c.marker}), 0);
    auto e = WaitChmod(f, m);
    ASSERT_TRUE(e) << c.marker;
    ExpectAgent(*e, c.agent);
    EXPECT_TRUE(
        absl::EndsWith(Get(*e, "permsentry.ai.evidence.0"), absl::StrCat(": env ", c.marker)))
        << Get(*e, "permsentry.ai.evidence.0");
    ++mode;
  }
}

// An agent nobody listed, by the generic marker it sets: named by the value,
// in the kernel, through a cleared environment.
TEST_F(Attribution, GenericMarkerNamesAnUnlistedAgent) {
  const std::string f = File("generic");
  ASSERT_EQ(RunClean({"/bin/sh", "-c", "env -i /bin/chmod 0647 " + f},
                     {"AI_AGENT=zed-agent_0.9", "HOME=/root"}),
            0);
  auto e = WaitChmod(f, "0647");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "zed-agent_0.9");
  EXPECT_TRUE(absl::EndsWith(Get(*e, "permsentry.ai.evidence.0"),
                             ": env AI_AGENT=zed-agent_0.9 (a generic agent marker)"))
      << Get(*e, "permsentry.ai.evidence.0");
  // A listed agent's own marker wins over a generic one before it.
  const std::string g = File("generic-claude");
  ASSERT_EQ(RunClean({"/bin/sh", "-c", "/bin/chmod 0647 " + g},
                     {"AI_AGENT=claude-code_2.1_agent", "CLAUDECODE=1"}),
            0);
  e = WaitChmod(g, "0647");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "claude");
  // AGENT=goose is goose; a value that is no name is "unnamed", still agent.
  const std::string h = File("generic-unnamed");
  ASSERT_EQ(RunClean({"/bin/sh", "-c", "/bin/chmod 0647 " + h}, {"AGENT=1234"}), 0);
  e = WaitChmod(h, "0647");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "unnamed");
}

// A human following a chat assistant's advice declares it: assisted, with the
// declaration as evidence, inherited through sudo-style identity changes; an
// agent started from that terminal is still that agent.
TEST_F(Attribution, DeclaredAdviceIsAssisted) {
  const std::string f = File("advice");
  const CommandResult r =
      RunPermsentry({"exec", "--assisted-by", "chatgpt", "--", "/bin/sh", "-c",
                     "setpriv --reuid=0 --regid=0 --clear-groups env -i /bin/chmod 0711 " + f});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto e = WaitChmod(f, "0711");
  ASSERT_TRUE(e);
  EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "assisted") << e->at("message");
  EXPECT_EQ(Get(*e, "permsentry.ai.agent"), "chatgpt");
  EXPECT_TRUE(absl::EndsWith(
      Get(*e, "permsentry.ai.evidence.0"),
      " sh: declared with permsentry exec --assisted-by (PERMSENTRY_ASSISTED=chatgpt)"))
      << Get(*e, "permsentry.ai.evidence.0");
  const std::string g = File("advice-then-agent");
  ASSERT_EQ(RunPermsentry({"exec", "--assisted-by", "chatgpt", "--", Bin("claude"), "--",
                           "/bin/chmod", "0712", g})
                .exit_code,
            0);
  e = WaitChmod(g, "0712");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "claude");
}

// An ancestor is named by the program it ran when it forked, not by what it
// execs later; the caller's own program and arguments are in process.*.
TEST_F(Attribution, AncestorsAreNamedAsTheyWereWhenTheyForked) {
  const std::string f = File("fork-then-exec");
  const std::string fifo = Fifo("fork-then-exec.fifo");
  const pid_t sh = Spawn(
      {"/bin/sh", "-c", "(read x < " + fifo + "; /bin/chmod 0663 " + f + ") & exec /bin/sleep 60"},
      {kPath});
  // Once sh has become sleep, the child may act.
  std::string comm;
  for (const absl::Time end = absl::Now() + absl::Seconds(Scaled(10, 60));
       comm != "sleep\n" && absl::Now() < end; absl::SleepFor(absl::Milliseconds(10))) {
    std::ifstream in(absl::StrCat("/proc/", sh, "/comm"));
    std::getline(in, comm);
    comm += "\n";
  }
  ASSERT_EQ(comm, "sleep\n");
  Release(fifo);
  auto e = WaitChmod(f, "0663");
  kill(sh, SIGKILL);
  Wait(sh);
  ASSERT_TRUE(e);
  bool found = false;
  for (int i = 1; i < 6; ++i) {
    const std::string k = absl::StrCat("permsentry.ancestry.", i);
    if (Get(*e, k + ".pid") != absl::StrCat(sh)) continue;
    found = true;
    EXPECT_EQ(Get(*e, k + ".name"), "sh");
    EXPECT_EQ(Get(*e, k + ".executable"), "/bin/sh");
  }
  EXPECT_TRUE(found) << "pid " << sh << " not in the ancestry";
  EXPECT_EQ(Get(*e, "process.executable"), "/bin/chmod");
  EXPECT_EQ(Get(*e, "process.args.0"), "/bin/chmod");
  EXPECT_EQ(Get(*e, "process.args.1"), "0663");
  EXPECT_EQ(Get(*e, "process.args.2"), f);
  EXPECT_EQ(Get(*e, "process.args_count"), "3");

  // A child forked by a thread with a name of its own (tokio-rt-worker) is
  // named by its program.
  const std::string g = File("forked-by-a-thread");
  pid_t child = -1;
  std::thread worker([&] {
    pthread_setname_np(pthread_self(), "tokio-rt-worker");
    child = fork();
    if (child == 0) {
      const pid_t grandchild = fork();
      if (grandchild == 0) {
        execl("/bin/chmod", "chmod", "0664", g.c_str(), static_cast<char*>(nullptr));
        _exit(127);
      }
      int st = 0;
      waitpid(grandchild, &st, 0);
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
    }
  });
  worker.join();
  ASSERT_GT(child, 0);
  ASSERT_EQ(Wait(child), 0);
  e = WaitChmod(g, "0664");
  ASSERT_TRUE(e);
  std::string self_comm;
  std::getline(std::ifstream("/proc/self/comm"), self_comm);
  EXPECT_EQ(Get(*e, "permsentry.ancestry.1.pid"), absl::StrCat(child));
  EXPECT_EQ(Get(*e, "permsentry.ancestry.1.name"), self_comm);
  EXPECT_EQ(Get(*e, "permsentry.ancestry.1.executable"),
            std::filesystem::read_symlink("/proc/self/exe").string());
}

// Runs argv with a terminal of its own (a new session whose controlling
// terminal is a fresh pty), as a person at a terminal would. Waits for it.
int RunOnATerminal(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return -2;
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    if (ioctl(slave, TIOCSCTTY, 0) != 0) _exit(125);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    close(master);
    ExecWith(argv, env);
  }
  close(slave);
  // Keep the terminal drained so that nothing blocks writing to it.
  std::thread drain([master] {
    char buf[4096];
    while (read(master, buf, sizeof(buf)) > 0) {
    }
  });
  const int code = Wait(pid);
  close(master);
  drain.join();
  return code;
}

// A program no signature knows, on a terminal, that starts a shell in a new
// session without one (what agents do): suspected, never agent. The same
// from a human's shell, or through a package manager, is none.
TEST_F(Attribution, SuspectedWhenAnUnknownProgramBehavesLikeAnAgent) {
  const std::string f = File("suspect");
  ASSERT_EQ(RunOnATerminal({"/usr/bin/python3", "-c",
                            "import subprocess; subprocess.run(['/bin/sh', '-c', '/bin/chmod "
                            "0665 " +
                                f + "'], start_new_session=True, stdin=subprocess.DEVNULL)"},
                           {kPath}),
            0);
  auto e = WaitChmod(f, "0665");
  ASSERT_TRUE(e);
  EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "suspected") << e->at("message");
  EXPECT_EQ(Get(*e, "permsentry.ai.agent"), "<missing>");
  EXPECT_TRUE(absl::StartsWith(Get(*e, "permsentry.ai.evidence.0"),
                               "behaves like an AI agent: python3 (pid "))
      << Get(*e, "permsentry.ai.evidence.0");
  EXPECT_TRUE(absl::StrContains(Get(*e, "permsentry.ai.evidence.0"), ") started sh (pid "))
      << Get(*e, "permsentry.ai.evidence.0");
  EXPECT_EQ(Get(*e, "permsentry.ai.evidence.1"),
            "no agent signature, marker or declaration matched: a heuristic, not proof");
  EXPECT_EQ(Get(*e, "gen_ai.agent.name"), "<missing>");

  // A human at a terminal: a chmod, and one through `setsid sh -c`.
  const std::string g = File("human-at-a-terminal");
  ASSERT_EQ(
      RunOnATerminal({"/bin/bash", "-c",
                      "/bin/chmod 0666 " + g + "; setsid -w sh -c '/bin/chmod 0667 " + g + "'"},
                     {kPath}),
      0);
  for (const char* mode : {"0666", "0667"}) {
    e = WaitChmod(g, mode);
    ASSERT_TRUE(e) << mode;
    EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "none") << mode << ": " << e->at("message");
  }

  // A package's maintainer script, installed from that same unknown program
  // the way it would run any command: dpkg rules the suspicion out.
  const std::string pkg = *root_ + "/pkg";
  const std::string h = File("by-a-package");
  std::filesystem::create_directories(pkg + "/DEBIAN");
  std::ofstream(pkg + "/DEBIAN/control")
      << "Package: permsentry-test-suspect\nVersion: 1.0\nArchitecture: all\n"
      << "Maintainer: permsentry tests <root@localhost>\nDescription: test package\n";
  std::ofstream(pkg + "/DEBIAN/postinst") << "#!/bin/sh\n/bin/chmod 0661 " << h << "\n";
  ASSERT_EQ(chmod((pkg + "/DEBIAN/postinst").c_str(), 0755), 0);
  ASSERT_EQ(RunClean({"/usr/bin/dpkg-deb", "--build", "--root-owner-group", pkg, pkg + ".deb"}), 0);
  const int installed =
      RunOnATerminal({"/usr/bin/python3", "-c",
                      "import subprocess; subprocess.run(['/bin/sh', '-c', 'dpkg -i " + pkg +
                          ".deb'], start_new_session=True, stdin=subprocess.DEVNULL)"},
                     {kPath});
  e = WaitChmod(h, "0661");
  // The package goes again, whatever happened.
  EXPECT_EQ(RunClean({"/usr/bin/dpkg", "--purge", "permsentry-test-suspect"}), 0);
  ASSERT_EQ(installed, 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "none") << e->at("message");
}

TEST_F(Attribution, HumanVsCodeTerminalWithoutAgentIsNone) {
  const std::string f = File("vscode");
  ASSERT_EQ(RunClean({"/bin/bash", "-c", "chmod 0645 " + f + "; true"},
                     {"TERM_PROGRAM=vscode", "VSCODE_GIT_IPC_HANDLE=/tmp/x.sock"}),
            0);
  auto e = WaitChmod(f, "0645");
  ASSERT_TRUE(e);
  EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "none");
  EXPECT_EQ(Get(*e, "permsentry.ai.agent"), "<missing>");
  EXPECT_EQ(Get(*e, "permsentry.ancestry.0.pid"), Get(*e, "process.pid"));
}

TEST_F(Attribution, IdeTerminalBesideAnAgentInTheIdeIsAssisted) {
  const std::string f = File("ide");
  const std::string fifo = Fifo("ide.fifo");
  // An agent running in a VS Code terminal, and a human typing in another one.
  const pid_t agent = Spawn(
      {Bin("cline"), "--setenv", "CLINE_ACTIVE=true", "--", "/bin/sh", "-c", "read x < " + fifo},
      {kPath, "TERM_PROGRAM=vscode"});
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_EQ(RunClean({"/bin/bash", "-c", "chmod 0656 " + f + "; true"}, {"TERM_PROGRAM=vscode"}),
            0);
  auto e = WaitChmod(f, "0656");
  Release(fifo);
  EXPECT_EQ(Wait(agent), 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "assisted") << e->at("message");
  EXPECT_EQ(Get(*e, "permsentry.ai.agent"), "cline");
  EXPECT_TRUE(absl::StartsWith(Get(*e, "permsentry.ai.evidence.0"),
                               "an IDE terminal, in the IDE where the agent runs"))
      << Get(*e, "permsentry.ai.evidence.0");
}

// In a child with its own audit login session (or terminal): an agent runs in
// the background, and the "human" changes a file beside it, then again after
// the agent is gone. Returns the child's exit code (0 when every step ran).
int BesideAnAgent(const std::string& agent, const std::string& f, bool use_tty) {
  const pid_t pid = fork();
  if (pid != 0) return Wait(pid);
  if (use_tty) {
    // A new session whose controlling terminal is a fresh pty.
    if (setsid() < 0) _exit(10);
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) _exit(11);
    if (open(ptsname(master), O_RDWR) < 0) _exit(12);  // becomes the controlling tty
  } else {
    // A login session: setting the login uid starts a new audit session.
    std::ofstream("/proc/self/loginuid") << 0;
  }
  const pid_t a = Spawn({agent, "--setenv", "CLAUDECODE=1", "--", "/bin/sleep", "30"}, {kPath},
                        /*own_group=*/true);
  usleep(300 * 1000);
  if (RunClean({"/bin/chmod", "0660", f}) != 0) _exit(13);
  usleep(300 * 1000);
  // The agent and its sleep child (which would still count as a live agent
  // process in this session): their group, and nothing else on the host.
  kill(-a, SIGKILL);
  Wait(a);
  usleep(300 * 1000);
  if (RunClean({"/bin/chmod", "0664", f}) != 0) _exit(14);
  _exit(0);
}

TEST_F(Attribution, AssistedInTheSameLoginSession) {
  ASSERT_TRUE(std::filesystem::exists("/proc/self/loginuid")) << "kernel without CONFIG_AUDIT";
  const std::string f = File("assisted");
  ASSERT_EQ(BesideAnAgent(Bin("claude"), f, /*use_tty=*/false), 0);
  auto e = WaitChmod(f, "0660");
  ASSERT_TRUE(e);
  EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "assisted") << e->at("message");
  EXPECT_EQ(Get(*e, "permsentry.ai.agent"), "claude");
  const std::string sid = Get(*e, "permsentry.audit.session_id");
  EXPECT_TRUE(absl::StartsWith(Get(*e, "permsentry.ai.evidence.0"),
                               absl::StrCat("same login session (audit session ", sid, ")")))
      << Get(*e, "permsentry.ai.evidence.0");
  auto after = WaitChmod(f, "0664");
  ASSERT_TRUE(after);
  EXPECT_EQ(Get(*after, "permsentry.ai.attribution"), "none") << after->at("message");
}

TEST_F(Attribution, AssistedOnTheSameTerminal) {
  const std::string f = File("assisted_tty");
  ASSERT_EQ(BesideAnAgent(Bin("claude"), f, /*use_tty=*/true), 0);
  auto e = WaitChmod(f, "0660");
  ASSERT_TRUE(e);
  EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "assisted") << e->at("message");
  const std::string tty = Get(*e, "permsentry.tty");
  EXPECT_TRUE(absl::StartsWith(tty, "pts/")) << tty;
  EXPECT_TRUE(absl::StartsWith(Get(*e, "permsentry.ai.evidence.0"),
                               absl::StrCat("same terminal ", tty, " as agent session claude-")))
      << Get(*e, "permsentry.ai.evidence.0");
  auto after = WaitChmod(f, "0664");
  ASSERT_TRUE(after);
  EXPECT_EQ(Get(*after, "permsentry.ai.attribution"), "none");
}

TEST_F(Attribution, DeclaredSessionForAnUnprivilegedUser) {
  const std::string f = File("declared", 65534);
  const CommandResult r = RunPermsentry(
      {"exec", "--agent", "ci-bot", "--session", "run-9", "--", "/bin/chmod", "0651", f}, 65534);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto e = WaitChmod(f, "0651");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "ci-bot");
  EXPECT_EQ(Get(*e, "permsentry.ai.session_id"), "run-9");
  EXPECT_EQ(Get(*e, "permsentry.ai.evidence.0"),
            absl::StrCat("pid ", Get(*e, "process.pid"),
                         " chmod: declared with permsentry exec (PERMSENTRY_AGENT=ci-bot/run-9)"));
}

TEST_F(Attribution, DeclaringCannotLeaveAnAgentSession) {
  // Inside claude's session, declaring another agent changes nothing: the
  // kernel only starts a session for a process in none.
  const std::string f = File("nested");
  ASSERT_EQ(RunClean({Bin("claude"), "--setenv", "CLAUDECODE=1", "--", PermsentryBinary(), "exec",
                      "--agent", "innocent", "--", "/bin/chmod", "0652", f}),
            0);
  auto e = WaitChmod(f, "0652");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "claude");
}

TEST_F(Attribution, StatusListsLiveSessionsWithTheirChanges) {
  const std::string f = File("status");
  const std::string fifo = Fifo("status.fifo");
  const pid_t agent = Spawn({Bin("kiro-cli"), "--setenv", "KIRO_SESSION_ID=abc", "--", "/bin/sh",
                             "-c", "/bin/chmod 0650 " + f + "; read x < " + fifo},
                            {kPath});
  auto e = WaitChmod(f, "0650");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "kiro");
  const std::string sid = Get(*e, "permsentry.ai.session_id");
  const std::vector<std::string> args = {"status", "--file", *root_ + "/status.json"};
  CommandResult r;
  const absl::Time deadline = absl::Now() + absl::Seconds(Scaled(5, 30));
  do {
    r = RunPermsentry(args);
    if (absl::StrContains(r.out, sid) && absl::StrContains(r.out, "1 by the agent")) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat(sid, "  agent kiro  root pid ", agent)))
      << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "changes: 1 by the agent, 0 beside it")) << r.out;
  CommandResult j = RunPermsentry({"status", "--json", "--file", *root_ + "/status.json"});
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(j.out, "\"agent\":\"kiro\"")) << j.out;

  Release(fifo);
  ASSERT_EQ(Wait(agent), 0);
  // Once its last process has gone, the session is no longer live.
  bool gone = false;
  for (const absl::Time end = absl::Now() + absl::Seconds(5); absl::Now() < end && !gone;) {
    r = RunPermsentry(args);
    gone = !absl::StrContains(r.out, sid);
    if (!gone) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(gone) << r.out;
  EXPECT_TRUE(absl::StrContains(
      RunPermsentry({"status", "--all", "--file", *root_ + "/status.json"}).out, sid));
}

TEST_F(Attribution, HostileDeclaredNamesStayOnOneLine) {
  // PERMSENTRY_AGENT can be set by anyone, with any bytes: a newline and
  // invalid UTF-8 in the agent name and session id.
  const std::string f = File("hostile");
  const std::string fifo = Fifo("hostile.fifo");
  const pid_t agent = Spawn({"/bin/sh", "-c", "/bin/chmod 0655 " + f + "; read x < " + fifo},
                            {kPath, "PERMSENTRY_AGENT=evil\nagent/id\xff\n2"});
  auto e = WaitChmod(f, "0655");
  ASSERT_TRUE(e) << sensor_->Stderr();
  EXPECT_EQ(Get(*e, "permsentry.ai.attribution"), "agent") << e->at("message");
  EXPECT_EQ(sensor_->bad_lines(), 0u);
  const std::string status_file = *root_ + "/status.json";
  CommandResult r;
  // The sensor rewrites the file within 100 ms of a session start; a sanitizer
  // build on a loaded machine can take much longer.
  for (const absl::Time end = absl::Now() + absl::Seconds(20); absl::Now() < end;) {
    r = RunPermsentry({"status", "--file", status_file});
    if (absl::StrContains(r.out, "evil")) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(absl::StrContains(r.out, "agent evil\\nagent"))
      << "status exit " << r.exit_code << ": " << r.out << r.err
      << "\nsensor: " << sensor_->Stderr();
  Release(fifo);
  EXPECT_EQ(Wait(agent), 0);
}

// Runs last among the suite's tests that share the sensor: it restarts it.
TEST_F(Attribution, SessionInProgressSurvivesASensorRestart) {
  const std::string f = File("restart");
  const std::string fifo = Fifo("restart.fifo");
  // Codex style child: new session, empty environment, waiting for its turn.
  const pid_t agent = Spawn({Bin("codex"), "--clear-env", "--setsid", "--", "/bin/sh", "-c",
                             "read x < " + fifo + "; /bin/chmod 0653 " + f},
                            {kPath});
  absl::SleepFor(absl::Milliseconds(300));
  StopSensor();
  StartSensor();
  sensor_->StartWindow();
  Release(fifo);
  ASSERT_EQ(Wait(agent), 0);
  auto e = WaitChmod(f, "0653");
  ASSERT_TRUE(e);
  ExpectAgent(*e, "codex");
  EXPECT_TRUE(absl::StartsWith(Get(*e, "permsentry.ai.evidence.1"),
                               "session running when the sensor started"))
      << Get(*e, "permsentry.ai.evidence.1");
}

size_t RssKb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  size_t kb = 0;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmRSS:"))
      (void)absl::SimpleAtoi(line.substr(6, line.size() - 9), &kb);
  }
  return kb;
}

// ≥50k short processes in an agent session: memory stays bounded and the
// ones that make changes are still attributed.
TEST_F(Attribution, ForkStorm) {
  const std::string f = File("storm");
  const auto status_json = [&] {
    return RunPermsentry({"status", "--json", "--file", *root_ + "/status.json"}).out;
  };
  const auto kernel_procs = [&](const std::string& s) {
    const size_t at = s.find("\"kernel\":");
    size_t n = 0;
    if (at != std::string::npos)
      (void)absl::SimpleAtoi(s.substr(at + 9, s.find(',', at) - at - 9), &n);
    return n;
  };
  const size_t procs_before = kernel_procs(status_json());
  const size_t rss_before = RssKb(sensor_->pid());
  const absl::Time storm_start = absl::Now();
  const int forks = Scaled(50000, 1000);
  // 50,000 fork+execs take about 50 s on this project's 2-vCPU host without
  // the sensor: a ceiling, not a speed test (the benchmark measures that).
  ASSERT_EQ(RunClean({Bin("claude"), "--storm", std::to_string(forks), "--chmod-every",
                      std::to_string(forks / 5), "--chmod-file", f, "--", "/bin/true"},
                     {}, absl::Seconds(Scaled(300, 1200))),
            0);
  // Five of them changed the file (0600, 0644, 0600, ...): each one
  // attributed to the agent.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  std::vector<Event> seen;
  while (absl::Now() < deadline) {
    seen = sensor_->All([&](const Event& e) {
      return Get(e, "event.action") == "chmod" && Get(e, "file.path") == f &&
             Get(e, "process.name") == "claude";  // not File()'s own chmod
    });
    if (seen.size() >= 5) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(seen.size(), 5u);
  for (const Event& e : seen) ExpectAgent(e, "claude");
  // The kernel's table is back to what it held (exited processes are freed),
  // and userspace keeps a bounded number of exited ones.
  std::string s;
  size_t procs_after = 0;
  for (const absl::Time end = absl::Now() + absl::Seconds(5); absl::Now() < end;) {
    s = status_json();
    procs_after = kernel_procs(s);
    if (procs_after <= procs_before + 20) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_LE(procs_after, procs_before + 20) << s;
  EXPECT_TRUE(absl::StrContains(s, "\"untracked\":0")) << s;
  const size_t rss_after = RssKb(sensor_->pid());
  std::printf(
      "fork storm: %d processes in %.1f s; kernel process table %zu -> %zu entries; "
      "sensor RSS %zu -> %zu kB\n",
      forks, absl::ToDoubleSeconds(absl::Now() - storm_start), procs_before, procs_after,
      rss_before, rss_after);
  EXPECT_LT(rss_after, rss_before + 64 * 1024) << rss_before << " kB -> " << rss_after << " kB";
}

}  // namespace
}  // namespace permsentry::testing
