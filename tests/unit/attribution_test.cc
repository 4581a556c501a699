// Unit tests: agent signatures, the process table and attribution, as pure
// functions over recorded process records (no kernel, no root).
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attribute/attribution.h"
#include "attribute/process_table.h"
#include "attribute/signatures.h"

namespace permsentry {
namespace {

// ---------------------------------------------------------------- signatures

TEST(Signatures, PathMatchesWholeTrailingComponents) {
  EXPECT_TRUE(PathMatches("/usr/bin/claude", "claude"));
  EXPECT_TRUE(PathMatches("claude", "claude"));
  EXPECT_FALSE(PathMatches("/usr/bin/notclaude", "claude"));
  EXPECT_TRUE(PathMatches("/usr/lib/node_modules/@openai/codex/bin/codex.js",
                          "@openai/codex/bin/codex.js"));
  EXPECT_FALSE(PathMatches("/x/other-codex/bin/codex.js", "codex/bin/codex.js"));
  EXPECT_TRUE(PathMatches("/home/u/.local/share/claude/versions/2.0.14", "claude/versions/*"));
  EXPECT_FALSE(PathMatches("/home/u/.local/share/claude/versions/", "claude/versions/*"));
  EXPECT_FALSE(PathMatches("/home/u/claude/other/2.0", "claude/versions/*"));
  EXPECT_TRUE(PathMatches("/usr/bin/claude", "/usr/bin/claude"));
}

// The kernel's walk (bpf/process.bpf.c ps_sfx_step_cb), replayed: right to
// left, a lookup at every component boundary, plus the same suffix with its
// last component replaced by "*". Returns the hashes it would look up.
std::vector<uint64_t> KernelLookups(const std::string& path) {
  std::vector<uint64_t> out;
  uint64_t h = PS_FNV_OFFSET, h2 = PS_FNV_OFFSET;
  int boundaries = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(path[path.size() - 1 - i]);
    const bool last = i + 1 == path.size();
    if (c != '/') {
      h = ps_sfx_step(h, c);
      if (boundaries) h2 = ps_sfx_step(h2, c);
    }
    if (c == '/' || last) {
      out.push_back(h);
      if (boundaries) out.push_back(h2);
      if (c == '/') {
        if (!boundaries) h2 = ps_sfx_step(PS_FNV_OFFSET, '*');
        ++boundaries;
        h = ps_sfx_step(h, '/');
        h2 = ps_sfx_step(h2, '/');
      }
    }
  }
  return out;
}

bool KernelFinds(const std::string& path, const std::string& pattern) {
  const uint64_t want = PathPatternHash(pattern);
  for (uint64_t h : KernelLookups(path))
    if (h == want) return true;
  return false;
}

TEST(Signatures, KernelSuffixHashAgreesWithPathMatches) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/usr/bin/claude", "claude"},
      {"/usr/bin/notclaude", "claude"},
      {"claude", "claude"},
      {"/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js",
       "@anthropic-ai/claude-code/cli.js"},
      {"/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js", "claude-code/cli.js"},
      {"/x/notclaude-code/cli.js", "claude-code/cli.js"},
      {"/home/u/.local/share/claude/versions/2.0.14", "claude/versions/*"},
      {"/home/u/.local/share/claude/versions/2.0.14", "share/claude/versions/*"},
      {"/home/u/claude/other/2.0", "claude/versions/*"},
      {"/usr/bin/claude", "/usr/bin/claude"},
      {"relative/dir/codex", "dir/codex"},
  };
  for (const auto& [path, pattern] : cases) {
    EXPECT_EQ(KernelFinds(path, pattern), PathMatches(path, pattern)) << path << " ~ " << pattern;
  }
}

TEST(Signatures, ParseEnvMarker) {
  absl::StatusOr<EnvMarker> m = ParseEnvMarker("CLAUDECODE=1");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->mode, PS_AIV_EXACT);
  EXPECT_EQ(m->text(), "CLAUDECODE=1");
  m = ParseEnvMarker("CODEX_THREAD_ID");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->mode, PS_AIV_ANY);
  m = ParseEnvMarker("AWS_EXECUTION_ENV=AmazonQ-For-CLI*");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->mode, PS_AIV_PREFIX);
  EXPECT_EQ(m->value, "AmazonQ-For-CLI");
  EXPECT_FALSE(ParseEnvMarker("=1").ok());
  EXPECT_FALSE(ParseEnvMarker("A-B=1").ok());
  EXPECT_FALSE(ParseEnvMarker("X=*").ok());
}

TEST(Signatures, DefaultTableCoversTheKnownAgents) {
  const SignatureSet d = DefaultSignatures();
  std::vector<std::string> names;
  for (const AgentSignature& a : d.agents) names.push_back(a.agent);
  for (const char* want :
       {"claude", "codex", "gemini", "goose", "opencode", "aider", "cline", "roo-code", "amazon-q",
        "kiro", "cursor-agent", "copilot", "amp", "qwen-code", "crush", "kilo-code", "auggie"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  absl::StatusOr<KernelSignatures> k = BuildKernelSignatures(d);
  ASSERT_TRUE(k.ok()) << k.status();
  // AGENT=goose, AGENT=amp and AGENT=1 share a name: one "compare the value"
  // entry plus one entry per value.
  const uint64_t agent = FnvHash("AGENT");
  ASSERT_TRUE(k->env.contains(agent));
  EXPECT_EQ(k->env.at(agent).value_mode, PS_AIV_EXACT);
  ASSERT_TRUE(k->env.contains(EnvPairKey(agent, FnvHash("goose"))));
  EXPECT_EQ(d.agents[k->env.at(EnvPairKey(agent, FnvHash("goose"))).sig].agent, "goose");
  EXPECT_EQ(d.agents[k->env.at(EnvPairKey(agent, FnvHash("amp"))).sig].agent, "amp");
  // Any other AGENT value is a generic marker: the name's own entry says so,
  // and the kernel falls back to it when no listed value matches.
  EXPECT_EQ(k->env.at(agent).kind, PS_AIE_AGENT);
  EXPECT_EQ(k->env.at(agent).sig, kGenericSig);
  ASSERT_TRUE(k->env.contains(FnvHash("AI_AGENT")));
  EXPECT_EQ(k->env.at(FnvHash("AI_AGENT")).value_mode, PS_AIV_ANY);
  EXPECT_EQ(k->env.at(FnvHash("AI_AGENT")).sig, kGenericSig);
  // The declared markers are always there.
  ASSERT_TRUE(k->env.contains(FnvHash(kDeclaredEnv)));
  EXPECT_EQ(k->env.at(FnvHash(kDeclaredEnv)).kind, PS_AIE_DECLARED);
  ASSERT_TRUE(k->env.contains(FnvHash(kAssistedEnv)));
  EXPECT_EQ(k->env.at(FnvHash(kAssistedEnv)).kind, PS_AIE_DECLARED);
  EXPECT_EQ(k->env.at(FnvHash(kAssistedEnv)).sig, kAssistedSig);
  // node is a launcher, claude an agent.
  EXPECT_EQ(k->paths.at(PathPatternHash("node")).flags, PS_AIP_LAUNCHER);
  EXPECT_EQ(k->paths.at(PathPatternHash("claude")).flags, PS_AIP_AGENT);
}

TEST(Signatures, MatchProcessInKernelOrder) {
  const SignatureSet d = DefaultSignatures();
  bool ide = false;
  auto m = MatchProcess(d, {.exe = "/usr/local/bin/codex", .argv = {"codex"}, .env = {}}, &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(d.agents[m->sig].agent, "codex");
  EXPECT_EQ(m->signal, PS_SIGNAL_EXE);

  m = MatchProcess(d,
                   {.exe = "/usr/bin/node",
                    .argv = {"node", "/usr/lib/node_modules/@google/gemini-cli/dist/index.js"},
                    .env = {}},
                   &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(d.agents[m->sig].agent, "gemini");
  EXPECT_EQ(m->signal, PS_SIGNAL_SCRIPT);

  // A script is only a signature as a launcher's argv[1].
  EXPECT_FALSE(MatchProcess(
      d, {.exe = "/usr/bin/cat", .argv = {"cat", "/x/@google/gemini-cli/dist/index.js"}, .env = {}},
      &ide));

  m = MatchProcess(d, {.exe = "/bin/bash", .argv = {}, .env = {"HOME=/root", "GEMINI_CLI=1"}},
                   &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->signal, PS_SIGNAL_ENV);
  EXPECT_EQ(m->text, "GEMINI_CLI=1");
  EXPECT_FALSE(MatchProcess(d, {.exe = "/bin/bash", .argv = {}, .env = {"GEMINI_CLI=0"}}, &ide));

  m = MatchProcess(
      d, {.exe = "/bin/sh", .argv = {}, .env = {"AWS_EXECUTION_ENV=AmazonQ-For-CLI Version/1.2"}},
      &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(d.agents[m->sig].agent, "amazon-q");

  // An IDE terminal is flagged, never an agent by itself.
  ide = false;
  EXPECT_FALSE(
      MatchProcess(d, {.exe = "/bin/bash", .argv = {}, .env = {"TERM_PROGRAM=vscode"}}, &ide));
  EXPECT_TRUE(ide);

  // An agent recognised by its executable, running in an IDE terminal.
  ide = false;
  m = MatchProcess(d, {.exe = "/usr/bin/cline", .argv = {}, .env = {"TERM_PROGRAM=vscode"}}, &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->signal, PS_SIGNAL_EXE);
  EXPECT_TRUE(ide);

  m = MatchProcess(d, {.exe = "/bin/sh", .argv = {}, .env = {"PERMSENTRY_AGENT=ci-bot/run-7"}},
                   &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->signal, PS_SIGNAL_DECLARED);
  EXPECT_EQ(m->sig, kDeclaredSig);
  EXPECT_EQ(ParseDeclared(m->text).agent, "ci-bot");
  EXPECT_EQ(ParseDeclared(m->text).session, "run-7");

  m = MatchProcess(d, {.exe = "/bin/sh", .argv = {}, .env = {"PERMSENTRY_ASSISTED=chatgpt"}}, &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->signal, PS_SIGNAL_DECLARED);
  EXPECT_EQ(m->sig, kAssistedSig);
}

TEST(Signatures, GenericMarkersNameAgentsNobodyListed) {
  const SignatureSet d = DefaultSignatures();
  bool ide = false;
  // An agent the table does not know, by the generic marker's value.
  auto m =
      MatchProcess(d, {.exe = "/bin/sh", .argv = {}, .env = {"HOME=/", "AI_AGENT=newbot"}}, &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->sig, kGenericSig);
  EXPECT_EQ(m->signal, PS_SIGNAL_ENV);
  EXPECT_EQ(m->text, "AI_AGENT=newbot");
  EXPECT_EQ(GenericAgentName(m->text), "newbot");
  // AGENT=goose is goose; AGENT=anything-else is generic.
  m = MatchProcess(d, {.exe = "/bin/sh", .argv = {}, .env = {"AGENT=goose"}}, &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(d.agents[m->sig].agent, "goose");
  m = MatchProcess(d, {.exe = "/bin/sh", .argv = {}, .env = {"AGENT=zed-agent"}}, &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->sig, kGenericSig);
  // A listed agent's own marker wins over a generic one, wherever it is.
  m = MatchProcess(
      d, {.exe = "/bin/sh", .argv = {}, .env = {"AI_AGENT=claude-code_2.1_agent", "CLAUDECODE=1"}},
      &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(d.agents[m->sig].agent, "claude");
  EXPECT_EQ(m->text, "CLAUDECODE=1");
  // The first generic marker is the one kept.
  m = MatchProcess(d, {.exe = "/bin/sh", .argv = {}, .env = {"AI_AGENT=one", "AGENT=two"}}, &ide);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->text, "AI_AGENT=one");
  // Values that are not names.
  EXPECT_EQ(GenericAgentName("AGENT=1"), "unnamed");
  EXPECT_EQ(GenericAgentName("AGENT=true"), "true");
  EXPECT_EQ(GenericAgentName("AI_AGENT="), "unnamed");
  EXPECT_EQ(GenericAgentName("AI_AGENT=a b"), "unnamed");
  EXPECT_EQ(GenericAgentName(absl::StrCat("AI_AGENT=", std::string(65, 'x'))), "unnamed");
  // Without generic markers, nothing.
  SignatureSet none = d;
  none.generic_env.clear();
  EXPECT_FALSE(MatchProcess(none, {.exe = "/bin/sh", .argv = {}, .env = {"AI_AGENT=x"}}, &ide));
}

// ---------------------------------------------------------------- process table

constexpr uint64_t kBoot = 1'000'000'000;

ProcKey K(uint32_t pid) { return ProcKey{.pid = pid, .start_ns = kBoot + pid}; }

struct Recorder {
  ProcessTable table;
  SignatureSet sigs = DefaultSignatures();
  uint64_t t = kBoot;
  Recorder() { table.SetSignatures(&sigs); }

  ProcEvent Base(ProcEvent::Kind kind, uint32_t pid) {
    ProcEvent e;
    e.kind = kind;
    e.ktime_ns = ++t;
    e.time = absl::FromUnixNanos(static_cast<int64_t>(t));
    e.key = K(pid);
    return e;
  }
  // A fork: the child inherits its parent's session, as the kernel copies it.
  void Fork(uint32_t parent, uint32_t child, uint32_t uid = 1000, uint32_t sessionid = kUnsetId,
            uint32_t tty = 0) {
    ProcEvent e = Base(ProcEvent::Kind::kFork, child);
    e.parent = K(parent);
    if (const ProcEntry* p = table.Find(K(parent))) {
      e.session = p->session;
      e.flags = p->flags & PS_PF_INHERIT;
      e.comm = p->comm;
    }
    e.uid = uid;
    e.sessionid = sessionid;
    e.tty = tty;
    table.Apply(e, absl::Now());
  }
  void Exec(uint32_t pid, const std::string& comm, const std::string& exe,
            uint32_t root_signal = PS_SIGNAL_NONE, uint32_t sig = 0, const std::string& text = "",
            uint32_t extra_flags = 0) {
    ProcEvent e = Base(ProcEvent::Kind::kExec, pid);
    const ProcEntry* p = table.Find(K(pid));
    ASSERT_NE(p, nullptr);
    e.parent = p->parent;
    e.session = p->session;
    e.flags = p->flags | extra_flags;
    e.uid = p->uid;
    e.sessionid = p->sessionid;
    e.tty = p->tty;
    e.comm = comm;
    e.exe = exe;
    if (root_signal != PS_SIGNAL_NONE && e.session.empty()) {
      e.session = e.key;
      e.flags |= PS_PF_SESSION_ROOT;
      e.sig = sig;
      e.signal = root_signal;
      e.text = text;
    }
    table.Apply(e, absl::Now());
  }
  void Exit(uint32_t pid) {
    ProcEvent e = Base(ProcEvent::Kind::kExit, pid);
    table.Apply(e, absl::Now());
  }
  uint32_t Sig(const std::string& agent) {
    for (uint32_t i = 0; i < sigs.agents.size(); ++i)
      if (sigs.agents[i].agent == agent) return i;
    return 0;
  }
  Subject Of(uint32_t pid) {
    const ProcEntry* e = table.Find(K(pid));
    Subject s;
    s.key = K(pid);
    if (e != nullptr) {
      s.uid = e->uid;
      s.loginuid = e->loginuid;
      s.sessionid = e->sessionid;
      s.tty = e->tty;
      s.comm = e->comm;
      s.flags = e->flags;
      s.session = e->session;
    }
    return s;
  }
};

TEST(Attribution, SudoAndShellInheritTheSession) {
  Recorder r;
  r.Fork(1, 800);  // the user's shell
  r.Exec(800, "bash", "/usr/bin/bash");
  r.Fork(800, 812);
  r.Exec(812, "claude", "/usr/bin/claude", PS_SIGNAL_EXE, r.Sig("claude"), "/usr/bin/claude");
  r.Fork(812, 905);
  r.Exec(905, "sudo", "/usr/bin/sudo");
  r.Fork(905, 906, /*uid=*/0);
  r.Exec(906, "bash", "/usr/bin/bash");
  r.Fork(906, 907, 0);
  r.Exec(907, "chmod", "/usr/bin/chmod");

  const Attribution a = Attribute(r.Of(907), r.table);
  EXPECT_EQ(a.kind, Attribution::Kind::kAgent);
  EXPECT_EQ(a.agent, "claude");
  EXPECT_EQ(a.root_pid, 812u);
  ASSERT_GE(a.evidence.size(), 3u);
  EXPECT_EQ(a.evidence[0], "pid 812 claude: executable /usr/bin/claude");
  EXPECT_TRUE(absl::StartsWith(a.evidence[1], "session began ")) << a.evidence[1];
  EXPECT_EQ(a.evidence[2], "inherited through sudo (pid 905) → bash (pid 906) → chmod (pid 907)");
  ASSERT_EQ(a.ancestry.size(), 4u);
  EXPECT_EQ(a.ancestry[0].pid, 907u);
  EXPECT_EQ(a.ancestry[3].pid, 812u);
  EXPECT_EQ(a.ancestry[3].executable, "/usr/bin/claude");
}

TEST(Attribution, DaemonisedGrandchildKeepsItsLineageAfterTheMiddleExits) {
  Recorder r;
  r.Fork(1, 812);
  r.Exec(812, "codex", "/usr/bin/codex", PS_SIGNAL_EXE, r.Sig("codex"), "/usr/bin/codex");
  r.Fork(812, 820);  // setsid + fork + fork: 820 exits, 821 is reparented to init
  r.Fork(820, 821);
  r.Exit(820);
  const Attribution a = Attribute(r.Of(821), r.table);
  EXPECT_EQ(a.kind, Attribution::Kind::kAgent);
  EXPECT_EQ(a.agent, "codex");
  ASSERT_EQ(a.ancestry.size(), 3u);
  EXPECT_EQ(a.ancestry[1].pid, 820u);  // the exited middle process is still known
}

TEST(Attribution, KernelTagWithoutTheSessionRecordIsStillAgent) {
  Recorder r;
  Subject s;
  s.key = K(50);
  s.comm = "chmod";
  s.session = K(40);  // tagged by the kernel; its exec record never arrived
  const Attribution a = Attribute(s, r.table);
  EXPECT_EQ(a.kind, Attribution::Kind::kAgent);
  EXPECT_EQ(a.agent, "unknown");
  EXPECT_EQ(a.root_pid, 40u);
  EXPECT_TRUE(absl::StrContains(a.evidence[0], "kernel process table")) << a.evidence[0];
}

TEST(Attribution, AssistedBySameLoginSessionOrTerminal) {
  Recorder r;
  r.Fork(1, 100, 1000, /*sessionid=*/7, /*tty=*/(136u << 20) | 3);
  r.Exec(100, "bash", "/usr/bin/bash");
  r.Fork(100, 110, 1000, 7, (136u << 20) | 3);
  r.Exec(110, "claude", "/usr/bin/claude", PS_SIGNAL_ENV, r.Sig("claude"), "CLAUDECODE=1");
  // The human's own chmod in the same login session: assisted.
  r.Fork(100, 120, 1000, 7, (136u << 20) | 3);
  r.Exec(120, "chmod", "/usr/bin/chmod");
  Attribution a = Attribute(r.Of(120), r.table);
  EXPECT_EQ(a.kind, Attribution::Kind::kAssisted);
  EXPECT_EQ(a.agent, "claude");
  EXPECT_EQ(a.root_pid, 110u);
  EXPECT_TRUE(absl::StartsWith(a.evidence[0], "same login session (audit session 7)"))
      << a.evidence[0];

  // Same terminal, no audit session.
  r.Fork(1, 200, 1000, kUnsetId, (136u << 20) | 9);
  r.Exec(200, "codex", "/usr/bin/codex", PS_SIGNAL_EXE, r.Sig("codex"), "/usr/bin/codex");
  r.Fork(1, 210, 1000, kUnsetId, (136u << 20) | 9);
  a = Attribute(r.Of(210), r.table);
  EXPECT_EQ(a.kind, Attribution::Kind::kAssisted);
  EXPECT_EQ(a.agent, "codex");
  EXPECT_EQ(a.evidence[0].rfind("same terminal pts/9 as agent session codex-200-", 0), 0u)
      << a.evidence[0];

  // Another user on that terminal is not beside it.
  r.Fork(1, 220, 1001, kUnsetId, (136u << 20) | 9);
  EXPECT_EQ(Attribute(r.Of(220), r.table).kind, Attribution::Kind::kNone);

  // Once the agent has exited, its neighbours are on their own again.
  r.Exit(200);
  EXPECT_EQ(Attribute(r.Of(210), r.table).kind, Attribution::Kind::kNone);
}

TEST(Attribution, UnsetSessionAndNoTerminalNeverMakeNeighbours) {
  Recorder r;
  r.Fork(1, 300, 1000);  // no audit session, no tty
  r.Exec(300, "goose", "/usr/bin/goose", PS_SIGNAL_EXE, r.Sig("goose"), "/usr/bin/goose");
  r.Fork(1, 310, 1000);
  EXPECT_EQ(Attribute(r.Of(310), r.table).kind, Attribution::Kind::kNone);
}

TEST(Attribution, IdeTerminalIsAssistedOnlyWhileAnAgentRunsInTheIde) {
  Recorder r;
  // A human shell in a VS Code terminal, no agent anywhere: none.
  r.Fork(1, 400, 1000);
  r.Exec(400, "bash", "/usr/bin/bash", PS_SIGNAL_NONE, 0, "", PS_PF_IDE);
  EXPECT_EQ(Attribute(r.Of(400), r.table).kind, Attribution::Kind::kNone);
  // An agent starts in that IDE (its root has the IDE flag): now assisted.
  r.Fork(1, 410, 1000);
  r.Exec(410, "cline", "/usr/bin/cline", PS_SIGNAL_EXE, r.Sig("cline"), "/usr/bin/cline",
         PS_PF_IDE);
  const Attribution a = Attribute(r.Of(400), r.table);
  EXPECT_EQ(a.kind, Attribution::Kind::kAssisted);
  EXPECT_EQ(a.agent, "cline");
  // An agent outside any IDE does not make IDE terminals assisted.
  Recorder r2;
  r2.Fork(1, 400, 1000);
  r2.Exec(400, "bash", "/usr/bin/bash", PS_SIGNAL_NONE, 0, "", PS_PF_IDE);
  r2.Fork(1, 410, 1000);
  r2.Exec(410, "aider", "/usr/bin/aider", PS_SIGNAL_EXE, r2.Sig("aider"), "/usr/bin/aider");
  EXPECT_EQ(Attribute(r2.Of(400), r2.table).kind, Attribution::Kind::kNone);
}

TEST(Attribution, DeclaredSessionIdsAreTheDeclarersOwn) {
  Recorder r;
  r.Fork(1, 500, 1000);
  r.Exec(500, "sh", "/bin/sh", PS_SIGNAL_DECLARED, kDeclaredSig, "PERMSENTRY_AGENT=bot/nightly");
  r.Fork(1, 600, 1001);
  r.Exec(600, "sh", "/bin/sh", PS_SIGNAL_DECLARED, kDeclaredSig, "PERMSENTRY_AGENT=bot/nightly");
  EXPECT_EQ(r.table.Session(K(500))->id, "nightly");
  EXPECT_EQ(r.table.Session(K(600))->id, "nightly@uid1001");
  EXPECT_EQ(r.table.Session(K(500))->agent, "bot");
  // Without an id, one is made up from the agent, root pid and start.
  r.Fork(1, 700, 1000);
  r.Exec(700, "sh", "/bin/sh", PS_SIGNAL_DECLARED, kDeclaredSig, "PERMSENTRY_AGENT=bot");
  EXPECT_TRUE(absl::StartsWith(r.table.Session(K(700))->id, "bot-700-"));
}

TEST(Attribution, GenericMarkerSessionIsNamedByItsValue) {
  Recorder r;
  r.Fork(1, 800, 1000);
  r.Exec(800, "node", "/usr/bin/node", PS_SIGNAL_ENV, kGenericSig, "AI_AGENT=newbot");
  r.Fork(800, 810, 1000);
  r.Exec(810, "chmod", "/usr/bin/chmod");
  const Attribution a = Attribute(r.Of(810), r.table);
  EXPECT_EQ(a.kind, Attribution::Kind::kAgent);
  EXPECT_EQ(a.agent, "newbot");
  EXPECT_EQ(a.evidence[0], "pid 800 node: env AI_AGENT=newbot (a generic agent marker)");
}

TEST(Attribution, DeclaredAdviceIsAssistedAndMakesNoNeighbours) {
  Recorder r;
  const uint32_t tty = (136u << 20) | 4;
  r.Fork(1, 900, 1000, 7, tty);
  r.Exec(900, "bash", "/usr/bin/bash", PS_SIGNAL_DECLARED, kAssistedSig,
         "PERMSENTRY_ASSISTED=chatgpt");
  r.Fork(900, 910, 1000, 7, tty);
  r.Exec(910, "chmod", "/usr/bin/chmod");
  Attribution a = Attribute(r.Of(910), r.table);
  EXPECT_EQ(a.kind, Attribution::Kind::kAssisted);
  EXPECT_EQ(a.agent, "chatgpt");
  EXPECT_EQ(a.evidence[0],
            "pid 900 bash: declared with permsentry exec --assisted-by "
            "(PERMSENTRY_ASSISTED=chatgpt)");
  // Another shell in the same login session and terminal is not "beside" a
  // human's declaration: none.
  r.Fork(1, 920, 1000, 7, tty);
  r.Exec(920, "bash", "/usr/bin/bash");
  EXPECT_EQ(Attribute(r.Of(920), r.table).kind, Attribution::Kind::kNone);
}

TEST(Attribution, AncestorsAreNamedAsTheyWereWhenTheyForked) {
  Recorder r;
  r.Fork(1, 10, 1000);
  r.Exec(10, "sh", "/bin/sh");
  r.Fork(10, 11, 1000);
  // The parent execs another program after the fork; the child then runs
  // chmod.
  r.Exec(10, "sleep", "/bin/sleep");
  r.Exec(11, "chmod", "/bin/chmod");
  const Attribution a = Attribute(r.Of(11), r.table);
  ASSERT_EQ(a.ancestry.size(), 3u);
  EXPECT_EQ(a.ancestry[0].name, "chmod");
  EXPECT_EQ(a.ancestry[0].executable, "/bin/chmod");
  EXPECT_EQ(a.ancestry[1].pid, 10u);
  EXPECT_EQ(a.ancestry[1].name, "sh");
  EXPECT_EQ(a.ancestry[1].executable, "/bin/sh");
  EXPECT_EQ(a.executable, "/bin/chmod");
}

TEST(Attribution, AChildIsNamedByItsProgramNotByTheForkingThread) {
  Recorder r;
  r.Fork(1, 20, 1000);
  r.Exec(20, "codex", "/usr/bin/codex");
  // The kernel's fork record names the thread that forked.
  ProcEvent f = r.Base(ProcEvent::Kind::kFork, 21);
  f.parent = K(20);
  f.comm = "tokio-rt-worker";
  f.uid = 1000;
  r.table.Apply(f, absl::Now());
  r.Fork(21, 22, 1000);
  r.Exec(22, "chmod", "/bin/chmod");
  const Attribution a = Attribute(r.Of(22), r.table);
  ASSERT_GE(a.ancestry.size(), 3u);
  EXPECT_EQ(a.ancestry[1].pid, 21u);
  EXPECT_EQ(a.ancestry[1].name, "codex");
  EXPECT_EQ(a.ancestry[1].executable, "/usr/bin/codex");
}

// The `suspected` heuristic on replayed process trees: its one shape fires,
// the look-alikes of humans, cron, systemd units and package managers do not.
struct SuspectCase {
  Recorder r;
  static constexpr uint32_t kPty = (136u << 20) | 5;
  static constexpr uint64_t kSecond = 1'000'000'000;
  // pid `p` forked by `parent` and exec'ing `comm`, with `tty` and `loginuid`.
  void Proc(uint32_t parent, uint32_t p, const std::string& comm, uint32_t tty,
            uint32_t loginuid = 1000) {
    r.Fork(parent, p, 1000, kUnsetId, tty);
    ProcEntry* e = nullptr;
    (void)e;
    r.Exec(p, comm, "/usr/bin/" + comm);
    // Login uid as the kernel records it at fork and exec.
    ProcEvent x = r.Base(ProcEvent::Kind::kExec, p);
    const ProcEntry* cur = r.table.Find(K(p));
    x.parent = cur->parent;
    x.uid = 1000;
    x.tty = tty;
    x.loginuid = loginuid;
    x.comm = comm;
    x.exe = "/usr/bin/" + comm;
    r.table.Apply(x, absl::Now());
  }
  // The subject `pid`, seen `after_s` seconds after the boot the keys count from.
  Attribution At(uint32_t pid, uint64_t after_s = 60) {
    Subject s = r.Of(pid);
    s.ktime_ns = kBoot + after_s * kSecond;
    return Attribute(s, r.table);
  }
};

TEST(Attribution, SuspectedOnlyForTheShapeOfAnAgent) {
  {
    // An unknown CLI on a terminal starts a shell in a new session (no
    // terminal), which runs chmod: suspected, with the evidence.
    SuspectCase c;
    c.Proc(1, 100, "bash", SuspectCase::kPty);
    c.Proc(100, 110, "newagent", SuspectCase::kPty);
    c.Proc(110, 120, "bash", 0);
    c.Proc(120, 130, "chmod", 0);
    const Attribution a = c.At(130);
    EXPECT_EQ(a.kind, Attribution::Kind::kSuspected);
    EXPECT_EQ(a.root_pid, 110u);
    EXPECT_TRUE(a.agent.empty());
    ASSERT_EQ(a.evidence.size(), 2u);
    EXPECT_TRUE(absl::StartsWith(a.evidence[0],
                                 "behaves like an AI agent: newagent (pid 110, /usr/bin/newagent, "
                                 "running "))
        << a.evidence[0];
    EXPECT_TRUE(
        absl::EndsWith(a.evidence[0], "on pts/5) started bash (pid 120) without a terminal"))
        << a.evidence[0];
    // Too young: a program that just started is not long-lived.
    EXPECT_EQ(c.At(130, 0).kind, Attribution::Kind::kNone);
    // The shell exec'd the command in place (Codex): the command itself is
    // the process without a terminal.
    c.Proc(110, 140, "chmod", 0);
    EXPECT_EQ(c.At(140).kind, Attribution::Kind::kSuspected);
  }
  {
    // A background interpreter of a login (no terminal) doing the same.
    SuspectCase c;
    c.Proc(1, 200, "node", 0, /*loginuid=*/1000);
    c.Proc(200, 210, "sh", 0);
    c.Proc(210, 220, "chmod", 0);
    EXPECT_EQ(c.At(220).kind, Attribution::Kind::kSuspected);
    // Not a shell: a daemon's worker has no terminal either.
    c.Proc(200, 230, "chmod", 0);
    EXPECT_EQ(c.At(230).kind, Attribution::Kind::kNone);
    // The same from a system unit (no login uid): none.
    SuspectCase u;
    u.Proc(1, 200, "node", 0, /*loginuid=*/kUnsetId);
    u.Proc(200, 210, "sh", 0);
    u.Proc(210, 220, "chmod", 0);
    EXPECT_EQ(u.At(220).kind, Attribution::Kind::kNone);
  }
  {
    // A human: chmod straight from an interactive shell, and `setsid sh -c`
    // from it (a shell starting a shell is a human's).
    SuspectCase c;
    c.Proc(1, 300, "bash", SuspectCase::kPty);
    c.Proc(300, 310, "chmod", SuspectCase::kPty);
    EXPECT_EQ(c.At(310).kind, Attribution::Kind::kNone);
    c.Proc(300, 320, "sh", 0);
    c.Proc(320, 330, "chmod", 0);
    EXPECT_EQ(c.At(330).kind, Attribution::Kind::kNone);
    // A script the human runs on the terminal: its shells keep the terminal.
    c.Proc(300, 340, "python3", SuspectCase::kPty);
    c.Proc(340, 350, "sh", SuspectCase::kPty);
    c.Proc(350, 360, "chmod", SuspectCase::kPty);
    EXPECT_EQ(c.At(360).kind, Attribution::Kind::kNone);
  }
  for (const char* plumbing : {"cron", "dpkg", "apt-get", "unattended-upgr"}) {
    // The agent shape, but through cron or a package manager anywhere in the
    // chain: none.
    SuspectCase c;
    c.Proc(1, 400, plumbing, 0);
    c.Proc(400, 410, "python3", SuspectCase::kPty);
    c.Proc(410, 420, "sh", 0);
    c.Proc(420, 430, "chmod", 0);
    EXPECT_EQ(c.At(430).kind, Attribution::Kind::kNone) << plumbing;
  }
  {
    // What agents run under (systemd, sshd, a login shell, tmux) rules
    // nothing out.
    SuspectCase c;
    c.Proc(1, 500, "systemd", 0, kUnsetId);
    c.Proc(500, 510, "sshd", 0);
    c.Proc(510, 520, "bash", SuspectCase::kPty);
    c.Proc(520, 530, "tmux: server", 0);
    c.Proc(530, 540, "bash", SuspectCase::kPty);
    c.Proc(540, 550, "newagent", SuspectCase::kPty);
    c.Proc(550, 560, "bash", 0);
    c.Proc(560, 570, "chmod", 0);
    EXPECT_EQ(c.At(570).kind, Attribution::Kind::kSuspected);
  }
  {
    // Turned off.
    SuspectCase c;
    c.r.sigs.suspect.enabled = false;
    c.Proc(1, 110, "newagent", SuspectCase::kPty);
    c.Proc(110, 120, "bash", 0);
    c.Proc(120, 130, "chmod", 0);
    EXPECT_EQ(c.At(130).kind, Attribution::Kind::kNone);
  }
}

TEST(ProcessTable, ExitedEntriesAreBounded) {
  ProcessTable::Options o;
  o.max_exited = 100;
  Recorder r;
  r.table = ProcessTable(o);
  r.table.SetSignatures(&r.sigs);
  r.Fork(1, 10);
  r.Exec(10, "agent", "/usr/bin/claude", PS_SIGNAL_EXE, r.Sig("claude"), "/usr/bin/claude");
  for (uint32_t pid = 1000; pid < 11000; ++pid) {
    r.Fork(10, pid);
    r.Exit(pid);
  }
  EXPECT_LE(r.table.exited_count(), 100u);
  EXPECT_EQ(r.table.live_count(), 1u);  // the agent (1 was never seen)
  const AiSession* s = r.table.Session(K(10));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->live_members, 1);
  // The newest exits are still there for late events.
  EXPECT_NE(r.table.Find(K(10999)), nullptr);
  EXPECT_EQ(r.table.Find(K(1000)), nullptr);
}

TEST(ProcessTable, OlderRecordsDoNotUndoNewerOnes) {
  Recorder r;
  r.Fork(1, 10);
  // The session root's exec arrives first (wakeup ring), the earlier exec of
  // the same process (bulk ring) after it.
  ProcEvent newer = r.Base(ProcEvent::Kind::kExec, 10);
  ProcEvent older = newer;
  older.ktime_ns -= 1;
  older.comm = "env";
  older.exe = "/usr/bin/env";
  newer.comm = "bash";
  newer.exe = "/usr/bin/bash";
  newer.session = newer.key;
  newer.flags = PS_PF_SESSION_ROOT;
  newer.signal = PS_SIGNAL_ENV;
  newer.text = "CLAUDECODE=1";
  r.table.Apply(newer, absl::Now());
  r.table.Apply(older, absl::Now());
  EXPECT_EQ(r.table.Find(K(10))->comm, "bash");
  // Nor its session membership: the root still counts as a live member.
  ASSERT_NE(r.table.Session(K(10)), nullptr);
  EXPECT_EQ(r.table.Session(K(10))->live_members, 1);
  EXPECT_EQ(r.table.Find(K(10))->session, K(10));
}

TEST(ProcessTable, TtyNames) {
  EXPECT_EQ(TtyName(0), "");
  EXPECT_EQ(TtyName((136u << 20) | 0), "pts/0");
  EXPECT_EQ(TtyName((137u << 20) | 2), "pts/258");
  EXPECT_EQ(TtyName((4u << 20) | 1), "tty1");
  EXPECT_EQ(TtyName((4u << 20) | 64), "ttyS0");
}

}  // namespace
}  // namespace permsentry
