// Integration: attribution of the real agent CLIs. Needs root.
//
// Claude Code, Codex CLI and Gemini CLI, pinned releases installed from npm by
// tests/agents/install.sh into a cache outside the repository, each run
// non-interactively with a scratch HOME, telemetry and updates off, against
// tests/agents/mock_api.py: a local stand-in for its vendor's streaming API
// whose first reply asks the agent's shell tool (or an MCP tool) to make a
// change, and whose next reply ends the turn. The sensor must attribute each
// change to the agent that really made it, with the evidence that says how:
// a direct chmod, one made after an identity change with the environment
// cleared, one by a detached server the agent started that acts after the
// agent has exited, one by an MCP stdio server the agent launched from its
// config, and, for Codex, one made inside its bubblewrap sandbox (its own
// user, pid and mount namespaces). Without the cache (no npm, no registry)
// each test skips with the reason.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <list>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "sensor_harness.h"

namespace permsentry::testing {
namespace {

constexpr uid_t kNobody = 65534;

std::string AgentCache() {
  const char* c = std::getenv("PERMSENTRY_AGENT_CACHE");
  return c != nullptr && *c != '\0' ? c : "/var/cache/permsentry-test-agents";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Forks and execs argv in `cwd` with exactly `env`, in a process group of its
// own (so that everything it leaves behind can be ended by that group's id),
// stdout and stderr to `log`. The pid; not waited for.
pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const std::string& cwd, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const int in = open("/dev/null", O_RDONLY);
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> a, e;
    for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    for (const std::string& s : env) e.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    e.push_back(nullptr);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  return pid;
}

enum class Agent { kClaude, kCodex, kGemini };

struct AgentInfo {
  const char* bin;      // under CACHE/node_modules/.bin
  const char* name;     // permsentry.ai.agent
  const char* package;  // npm
};

AgentInfo Info(Agent a) {
  switch (a) {
    case Agent::kClaude:
      return {"claude", "claude", "@anthropic-ai/claude-code"};
    case Agent::kCodex:
      return {"codex", "codex", "@openai/codex"};
    default:
      return {"gemini", "gemini", "@google/gemini-cli"};
  }
}

// One agent run: a scratch HOME and work directory, the mock API, the agent.
struct AgentRun {
  std::string dir;  // scratch: home/, work/, mock.port, api.log, agent.log
  pid_t mock = -1;
  int port = 0;
  pid_t agent = -1;
  int exit_code = -1;

  std::string Log() const {
    return absl::StrCat("agent output:\n", Slurp(dir + "/agent.log"), "\nAPI requests:\n",
                        Slurp(dir + "/api.log"));
  }
};

class RealAgents : public ::testing::TestWithParam<Agent> {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(geteuid(), 0u) << "integration tests load BPF programs: run them as root";
    // Not under /tmp: Codex refuses to put its helpers in a temporary dir.
    char tmpl[] = "/var/tmp/permsentry-real-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = new std::string(tmpl);
    ASSERT_EQ(chmod(root_->c_str(), 0755), 0);
    const std::string config = *root_ + "/permsentry.yaml";
    std::ofstream(config) << "ai:\n  status_file: " << *root_ << "/status.json\n";
    sensor_ = new SensorProcess({"--config", config});
    ASSERT_TRUE(sensor_->ready()) << sensor_->Stderr();
  }
  static void TearDownTestSuite() {
    if (sensor_ != nullptr) {
      EXPECT_EQ(sensor_->Stop(), 0) << sensor_->Stderr();
      EXPECT_EQ(sensor_->bad_lines(), 0u);
      delete sensor_;
      sensor_ = nullptr;
    }
    if (root_ != nullptr) std::filesystem::remove_all(*root_);
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    const AgentInfo info = Info(GetParam());
    bin_ = AgentCache() + "/node_modules/.bin/" + info.bin;
    if (access(bin_.c_str(), X_OK) != 0) {
      std::string why(absl::StripAsciiWhitespace(Slurp(AgentCache() + "/.status")));
      if (why.empty()) why = "run tests/agents/install.sh (it needs the npm registry)";
      GTEST_SKIP() << info.package << " is not in " << AgentCache() << ": " << why;
    }
    sensor_->StartWindow();
  }
  void TearDown() override {
    for (AgentRun& r : runs_) {
      if (r.mock > 0) {
        kill(r.mock, SIGTERM);
        WaitChild(r.mock);
      }
      // Whatever the agent left in its process group (never another's).
      if (r.agent > 0) kill(-r.agent, SIGKILL);
    }
    runs_.clear();
  }

  static std::string Scratch(const std::string& name) {
    const std::string d = absl::StrCat(*root_, "/", name);
    std::filesystem::create_directories(d + "/home");
    std::filesystem::create_directories(d + "/work");
    return d;
  }
  // A fresh file in the run's work directory, mode 0644, owned by `uid`.
  static std::string File(const AgentRun& r, const std::string& name, uid_t uid = 0) {
    const std::string p = r.dir + "/work/" + name;
    std::ofstream(p) << "x\n";
    EXPECT_EQ(chmod(p.c_str(), 0644), 0);
    EXPECT_EQ(chown(p.c_str(), uid, uid), 0);
    return p;
  }

  // A run's scratch directories.
  AgentRun& NewRun(const std::string& name) {
    runs_.push_back(AgentRun{.dir = Scratch(name)});
    return runs_.back();
  }
  // Starts the mock API for run `r`: the shell tool is asked to run
  // `command`, or, with `tool`, that MCP tool is called with `tool_args`.
  void StartMock(AgentRun& r, const std::string& command, const std::string& tool = "",
                 const std::string& tool_args = "{}") {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     PERMSENTRY_SOURCE_DIR "/tests/agents/mock_api.py",
                                     "--port-file",
                                     r.dir + "/mock.port",
                                     "--command",
                                     command,
                                     "--log",
                                     r.dir + "/api.log",
                                     "--max-seconds",
                                     absl::StrCat(Scaled(300, 1800))};
    if (!tool.empty()) {
      argv.insert(argv.end(), {"--tool", tool, "--tool-args", tool_args});
    }
    r.mock = Spawn(argv, {"PATH=/usr/bin:/bin"}, r.dir, r.dir + "/mock.log");
    // Listening once the port file is there (written by rename, whole).
    const absl::Time end = absl::Now() + absl::Seconds(Scaled(30, 180));
    while (access((r.dir + "/mock.port").c_str(), R_OK) != 0 && absl::Now() < end)
      absl::SleepFor(absl::Milliseconds(20));
    r.port = std::atoi(Slurp(r.dir + "/mock.port").c_str());
    EXPECT_GT(r.port, 0) << "the mock API did not start: " << Slurp(r.dir + "/mock.log");
  }

  // Writes the agent's own config (its API endpoint, an MCP server when
  // `mcp`) and runs it to the end of its turn.
  void RunAgent(AgentRun& r, bool mcp, bool codex_sandbox = false) {
    const std::string home = r.dir + "/home";
    const std::string base = absl::StrCat("http://127.0.0.1:", r.port);
    const std::string mcp_server = PERMSENTRY_SOURCE_DIR "/tests/agents/mcp_server.py";
    const std::string prompt = "Do what the task says.";
    std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home,
                                    "LANG=C.UTF-8"};
    std::vector<std::string> argv = {bin_};
    switch (GetParam()) {
      case Agent::kClaude:
        env.insert(env.end(), {"ANTHROPIC_BASE_URL=" + base, "ANTHROPIC_API_KEY=sk-mock",
                               "DISABLE_AUTOUPDATER=1", "DISABLE_TELEMETRY=1",
                               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
                               // MCP tools offered directly, not behind a search.
                               "ENABLE_TOOL_SEARCH=false"});
        argv.insert(argv.end(), {"-p", prompt, "--allowedTools", "Bash,mcp__perms__set_mode",
                                 "--output-format", "text"});
        if (mcp) {
          argv.insert(argv.end(),
                      {"--strict-mcp-config", "--mcp-config",
                       absl::StrCat(R"({"mcpServers":{"perms":{"type":"stdio","command":)",
                                    R"("/usr/bin/python3","args":[")", mcp_server, R"("]}}})")});
        }
        break;
      case Agent::kCodex: {
        std::filesystem::create_directories(home + "/.codex");
        std::ofstream toml(home + "/.codex/config.toml");
        toml << "model = \"mock-model\"\nmodel_provider = \"mock\"\n"
             << "check_for_update_on_startup = false\n\n[analytics]\nenabled = false\n\n"
             << "[model_providers.mock]\nname = \"mock\"\nbase_url = \"" << base
             << "/v1\"\nenv_key = \"OPENAI_API_KEY\"\nwire_api = \"responses\"\n";
        if (mcp) {
          toml << "\n[mcp_servers.perms]\ncommand = \"/usr/bin/python3\"\nargs = [\"" << mcp_server
               << "\"]\n";
        }
        env.insert(env.end(), {"CODEX_HOME=" + home + "/.codex", "OPENAI_API_KEY=sk-mock"});
        argv.insert(argv.end(), {"exec", "--skip-git-repo-check"});
        if (codex_sandbox) {
          argv.insert(argv.end(), {"-s", "workspace-write"});
        } else {
          argv.push_back("--dangerously-bypass-approvals-and-sandbox");
        }
        argv.push_back(prompt);
        break;
      }
      case Agent::kGemini: {
        std::filesystem::create_directories(home + "/.gemini");
        std::ofstream json(home + "/.gemini/settings.json");
        json << R"({"security":{"auth":{"selectedType":"gemini-api-key"}},)"
             << R"("telemetry":{"enabled":false},"privacy":{"usageStatisticsEnabled":false},)"
             << R"("general":{"disableAutoUpdate":true,"disableUpdateNag":true})";
        if (mcp) {
          json << R"(,"mcpServers":{"perms":{"command":"/usr/bin/python3","args":[")" << mcp_server
               << R"("],"trust":true}})";
        }
        json << "}\n";
        env.insert(env.end(), {"GEMINI_API_KEY=mock-key", "GOOGLE_GEMINI_BASE_URL=" + base,
                               "GEMINI_CLI_TRUST_WORKSPACE=true"});
        argv.insert(argv.end(), {"-p", prompt, "--yolo"});
        break;
      }
    }
    r.agent = Spawn(argv, env, r.dir + "/work", r.dir + "/agent.log");
    const int status = WaitChild(r.agent, absl::Seconds(Scaled(180, 1200)));
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // The chmod that set `path` to `mode`.
  static std::optional<Event> WaitChmod(const std::string& path, const std::string& mode) {
    return sensor_->WaitFor(
        [&](const Event& e) {
          return Get(e, "event.action") == "chmod" && Get(e, "file.path") == path &&
                 Get(e, "file.mode") == mode;
        },
        absl::Seconds(20));
  }

  // Attributed to this agent, in the session the agent process we started is
  // the root of, recognised by its executable.
  void ExpectThisAgent(const Event& e, const AgentRun& r) {
    const AgentInfo info = Info(GetParam());
    EXPECT_EQ(Get(e, "permsentry.ai.attribution"), "agent") << e.at("message");
    EXPECT_EQ(Get(e, "permsentry.ai.agent"), info.name);
    EXPECT_EQ(Get(e, "permsentry.ai.root_pid"), absl::StrCat(r.agent));
    const std::string ev0 = Get(e, "permsentry.ai.evidence.0");
    EXPECT_TRUE(absl::StartsWith(ev0, absl::StrCat("pid ", r.agent, " ")) &&
                absl::EndsWith(ev0, ": executable " + bin_))
        << ev0;
    const std::string via = Get(e, "permsentry.ai.evidence.2");
    EXPECT_TRUE(absl::StartsWith(via, "inherited through ")) << via;
    EXPECT_EQ(Get(e, "gen_ai.agent.name"), info.name);
  }

  std::string bin_;
  std::list<AgentRun> runs_;  // stable references
  static std::string* root_;
  static SensorProcess* sensor_;
};
std::string* RealAgents::root_ = nullptr;
SensorProcess* RealAgents::sensor_ = nullptr;

// The agent's shell tool runs chmod.
TEST_P(RealAgents, ShellToolChmod) {
  AgentRun& r = NewRun(absl::StrCat(Info(GetParam()).bin, "-direct"));
  const std::string f = File(r, "target");
  StartMock(r, "chmod 0640 " + f);
  RunAgent(r, /*mcp=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.Log();
  std::optional<Event> e = WaitChmod(f, "0640");
  ASSERT_TRUE(e) << r.Log();
  ExpectThisAgent(*e, r);
  EXPECT_EQ(Get(*e, "permsentry.path_caveats.0"), "<missing>");  // the host's own namespaces
}

// sudo-style: the command changes identity and clears its environment, so no
// marker is left anywhere: only the kernel's lineage knows.
TEST_P(RealAgents, IdentityChangeWithClearedEnvironment) {
  const std::string dir = *root_ + "/" + Info(GetParam()).bin + "-setpriv-file";
  std::filesystem::create_directories(dir);
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  const std::string f = dir + "/owned-by-nobody";
  std::ofstream(f) << "x\n";
  ASSERT_EQ(chmod(f.c_str(), 0644), 0);
  ASSERT_EQ(chown(f.c_str(), kNobody, kNobody), 0);
  AgentRun& r = NewRun(absl::StrCat(Info(GetParam()).bin, "-setpriv"));
  StartMock(r, absl::StrCat("setpriv --reuid=", kNobody, " --regid=", kNobody,
                            " --clear-groups env -i /bin/chmod 0604 ", f));
  RunAgent(r, /*mcp=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.Log();
  std::optional<Event> e = WaitChmod(f, "0604");
  ASSERT_TRUE(e) << r.Log();
  ExpectThisAgent(*e, r);
  EXPECT_EQ(Get(*e, "user.id"), absl::StrCat(kNobody));
}

// A detached server the agent started (new session, stdio closed) acts after
// the agent has exited.
TEST_P(RealAgents, DetachedServerActsAfterTheAgentExited) {
  const std::string dir = *root_ + "/" + Info(GetParam()).bin + "-detached-files";
  std::filesystem::create_directories(dir);
  const std::string f = dir + "/later", fifo = dir + "/go";
  std::ofstream(f) << "x\n";
  ASSERT_EQ(chmod(f.c_str(), 0644), 0);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  AgentRun& r = NewRun(absl::StrCat(Info(GetParam()).bin, "-detached"));
  StartMock(r, absl::StrCat("setsid sh -c 'read x < ", fifo, "; chmod 0602 ", f,
                            "' </dev/null >/dev/null 2>&1 &"));
  RunAgent(r, /*mcp=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.Log();
  // The agent is gone; the server is waiting on the fifo: let it act.
  int fd = -1;
  for (const absl::Time end = absl::Now() + absl::Seconds(Scaled(30, 180));
       fd < 0 && absl::Now() < end; absl::SleepFor(absl::Milliseconds(20))) {
    fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);  // ENXIO until it reads
  }
  ASSERT_GE(fd, 0) << "the detached server never opened its fifo\n" << r.Log();
  ASSERT_EQ(write(fd, "go\n", 3), 3);
  close(fd);
  std::optional<Event> e = WaitChmod(f, "0602");
  ASSERT_TRUE(e) << r.Log();
  ExpectThisAgent(*e, r);
}

// An MCP stdio server the agent launched from its config makes the change
// when the model calls its tool. The server gets (almost) no environment.
TEST_P(RealAgents, McpServerFromTheAgentsConfig) {
  const std::string dir = *root_ + "/" + Info(GetParam()).bin + "-mcp-files";
  std::filesystem::create_directories(dir);
  const std::string f = dir + "/by-mcp";
  std::ofstream(f) << "x\n";
  ASSERT_EQ(chmod(f.c_str(), 0644), 0);
  AgentRun& r = NewRun(absl::StrCat(Info(GetParam()).bin, "-mcp"));
  StartMock(r, "true", "set_mode", absl::StrCat(R"({"path": ")", f, R"(", "mode": "0601"})"));
  RunAgent(r, /*mcp=*/true);
  ASSERT_EQ(r.exit_code, 0) << r.Log();
  std::optional<Event> e = WaitChmod(f, "0601");
  ASSERT_TRUE(e) << r.Log();
  ExpectThisAgent(*e, r);
  EXPECT_TRUE(absl::StartsWith(Get(*e, "process.name"), "python3")) << Get(*e, "process.name");
}

INSTANTIATE_TEST_SUITE_P(Cli, RealAgents,
                         ::testing::Values(Agent::kClaude, Agent::kCodex, Agent::kGemini),
                         [](const ::testing::TestParamInfo<Agent>& p) {
                           return std::string(Info(p.param).bin);
                         });

// Codex with its sandbox on: the command runs under bubblewrap in new user,
// pid and mount namespaces. The event still carries host pids (no pid 1 of
// the sandbox's namespace), the host's path and the session of the codex the
// test started.
class RealCodexSandbox : public RealAgents {};
TEST_P(RealCodexSandbox, ChangeInsideTheSandboxHasHostPidsAndPaths) {
  AgentRun& r = NewRun("codex-sandbox");
  // The sandbox lets the command write in the workspace (the cwd) only.
  const std::string f = File(r, "sandboxed");
  StartMock(r, "chmod 0640 " + f);
  RunAgent(r, /*mcp=*/false, /*codex_sandbox=*/true);
  ASSERT_EQ(r.exit_code, 0) << r.Log();
  std::optional<Event> e = WaitChmod(f, "0640");
  ASSERT_TRUE(e) << r.Log();
  ExpectThisAgent(*e, r);
  // In another mount namespace, named from the host's root.
  EXPECT_EQ(Get(*e, "permsentry.path_caveats.0"), "other_mount_namespace");
  EXPECT_EQ(Get(*e, "file.path"), f);
  std::vector<std::string> chain;
  bool root_seen = false;
  for (int i = 0; i < 16; ++i) {
    const std::string pid = Get(*e, absl::StrCat("permsentry.ancestry.", i, ".pid"));
    if (pid == "<missing>") break;
    chain.push_back(pid + " " + Get(*e, absl::StrCat("permsentry.ancestry.", i, ".name")));
    EXPECT_NE(pid, "1") << "a pid of the sandbox's namespace";
    root_seen |= pid == absl::StrCat(r.agent);
  }
  EXPECT_TRUE(root_seen) << absl::StrJoin(chain, ", ");
  EXPECT_GE(chain.size(), 4u) << "sandbox helpers between codex and the command: "
                              << absl::StrJoin(chain, ", ");
}
INSTANTIATE_TEST_SUITE_P(Cli, RealCodexSandbox, ::testing::Values(Agent::kCodex),
                         [](const ::testing::TestParamInfo<Agent>&) {
                           return std::string("codex");
                         });

}  // namespace
}  // namespace permsentry::testing
