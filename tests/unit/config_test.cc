#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace permsentry {
namespace {

std::string Error(absl::string_view yaml) {
  absl::StatusOr<Config> c = ParseConfig(yaml, "test.yaml");
  EXPECT_FALSE(c.ok());
  return std::string(c.status().message());
}

TEST(Config, EmptyIsDefault) {
  absl::StatusOr<Config> c = ParseConfig("", "x");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->format, OutputFormat::kJson);
  EXPECT_EQ(c->bulk_ring_mb, Config{}.bulk_ring_mb);
}

TEST(Config, DefaultYamlParsesToDefaults) {
  absl::StatusOr<Config> c = ParseConfig(DefaultConfigYaml(), "default");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->drain_interval_ms, Config{}.drain_interval_ms);
  EXPECT_EQ(c->urgent_ring_kb, Config{}.urgent_ring_kb);
}

TEST(Config, Values) {
  absl::StatusOr<Config> c =
      ParseConfig("output:\n  format: text\ncapture:\n  bulk_ring_mb: 64\n", "x");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->format, OutputFormat::kText);
  EXPECT_EQ(c->bulk_ring_mb, 64u);
}

TEST(Config, RestartOnlyChangesNameWhatAReloadCannotApply) {
  const absl::StatusOr<Config> a = ParseConfig("capture:\n  bulk_ring_mb: 32\n", "a");
  ASSERT_TRUE(a.ok()) << a.status();
  // Rules, outputs and the watch list apply in place: nothing to restart for.
  absl::StatusOr<Config> b = ParseConfig(
      "capture:\n  bulk_ring_mb: 32\noutput:\n  format: text\nwatch:\n"
      "  refresh_interval_s: 5\n",
      "b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(RestartOnlyChanges(*a, *b).empty());
  b = ParseConfig("capture:\n  bulk_ring_mb: 64\ntail:\n  socket: /run/x.sock\n", "b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(RestartOnlyChanges(*a, *b),
            (std::vector<std::string>{"capture.bulk_ring_mb", "tail.socket"}));
}

TEST(Config, Errors) {
  EXPECT_EQ(Error("outptu:\n  format: json\n"),
            "test.yaml:1: unknown key \"outptu\" (known: output, capture, watch, ai, rules, sinks, "
            "tail, metrics)");
  EXPECT_EQ(Error("output:\n  format: xml\n"),
            "test.yaml:2: output.format: \"xml\" is not one of json, text");
  EXPECT_EQ(Error("capture:\n  bulk_ring_mb: 3\n"),
            "test.yaml:2: capture.bulk_ring_mb: 3 is not a power of two");
  EXPECT_EQ(Error("capture:\n  bulk_ring_mb: 99999\n"),
            "test.yaml:2: capture.bulk_ring_mb: 99999 is out of range [1, 1024]");
  EXPECT_EQ(Error("capture:\n  drain_interval_ms: fast\n"),
            "test.yaml:2: capture.drain_interval_ms: \"fast\" is not a whole number");
  EXPECT_EQ(Error("capture:\n  nope: 1\n"),
            "test.yaml:2: unknown key \"capture.nope\" (known: bulk_ring_mb, urgent_ring_kb, "
            "drain_interval_ms, stats_interval_ms, process_table_entries, coalesce_window_ms)");
  EXPECT_EQ(Error("- a\n- b\n"), "test.yaml:1: top level: expected a mapping");
  const std::string bad = Error("output: [\n");
  EXPECT_EQ(bad.rfind("test.yaml:", 0), 0u) << bad;
  EXPECT_NE(bad.find("invalid YAML"), std::string::npos) << bad;
  EXPECT_EQ(bad.find('\n'), std::string::npos) << "one line: " << bad;
}

TEST(Config, WatchDefaultsAndAdditions) {
  const size_t builtin = DefaultWatchList().size();
  absl::StatusOr<Config> c = ParseConfig(
      "watch:\n  paths:\n    - /opt/app/users\n    - {path: /opt/app/keys.d/, class: app_keys}\n"
      "  refresh_interval_s: 5\n",
      "x");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->watch.size(), builtin + 2);
  EXPECT_EQ(c->watch[builtin].pattern, "/opt/app/users");
  EXPECT_EQ(c->watch[builtin].cls, "custom");
  EXPECT_FALSE(c->watch[builtin].directory);
  EXPECT_EQ(c->watch[builtin + 1].cls, "app_keys");
  EXPECT_TRUE(c->watch[builtin + 1].directory);
  EXPECT_EQ(c->watch_refresh_s, 5u);

  c = ParseConfig("watch:\n  defaults: false\n  paths: [/srv/x]\n", "x");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->watch.size(), 1u);
  EXPECT_EQ(c->watch[0].pattern, "/srv/x");
}

TEST(Config, WatchErrors) {
  EXPECT_EQ(Error("watch:\n  paths:\n    - etc/passwd\n"),
            "test.yaml:3: watch.paths: \"etc/passwd\": a watched path is absolute (or starts "
            "with ~/ for every home)");
  EXPECT_EQ(Error("watch:\n  paths:\n    - /etc/../passwd\n"),
            "test.yaml:3: watch.paths: \"/etc/../passwd\": empty, \".\" and \"..\" components "
            "are not allowed (write it normalised)");
  EXPECT_EQ(Error("watch:\n  paths:\n    - {path: /x, class: Bad-Class}\n"),
            "test.yaml:3: watch.paths: class \"Bad-Class\": use 1 to 32 characters of a-z, 0-9 "
            "and _");
  EXPECT_EQ(Error("watch:\n  paths:\n    - {path: /x, kind: y}\n"),
            "test.yaml:3: watch.paths: unknown or non-text key \"kind\" (known: path, class)");
  EXPECT_EQ(Error("watch:\n  defaults: maybe\n"),
            "test.yaml:2: watch.defaults: expected true or false");
  EXPECT_EQ(Error("watch:\n  paths: /etc/passwd\n"), "test.yaml:2: watch.paths: expected a list");
  EXPECT_EQ(Error(absl::StrCat("watch:\n  paths:\n    - /", std::string(63, 'a'), "\n")),
            absl::StrCat("test.yaml:3: watch.paths: \"/", std::string(63, 'a'),
                         "\": the last name is longer than 62 bytes, which the kernel filter "
                         "cannot hold"));
  EXPECT_EQ(Error("watch:\n  nope: 1\n"),
            "test.yaml:2: unknown key \"watch.nope\" (known: defaults, paths, refresh_interval_s)");
}

TEST(Config, AiAgentsAdded) {
  const size_t builtin = DefaultSignatures().agents.size();
  absl::StatusOr<Config> c = ParseConfig(
      "ai:\n  agents:\n    - name: mybot\n      executables: [mybot, opt/mybot/bin/*]\n"
      "      scripts: [\"mybot/cli.js\"]\n      env: [MYBOT=1, MYBOT_RUN, MYBOT_MODE=auto*]\n"
      "  launchers: [ruby]\n  ide_env: [MY_IDE=1]\n  status_file: /tmp/s.json\n",
      "x");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->signatures.agents.size(), builtin + 1);
  const AgentSignature& a = c->signatures.agents.back();
  EXPECT_EQ(a.agent, "mybot");
  ASSERT_EQ(a.env.size(), 3u);
  EXPECT_EQ(a.env[0].mode, PS_AIV_EXACT);
  EXPECT_EQ(a.env[1].mode, PS_AIV_ANY);
  EXPECT_EQ(a.env[2].mode, PS_AIV_PREFIX);
  EXPECT_EQ(a.env[2].value, "auto");
  EXPECT_EQ(c->signatures.launchers.back(), "ruby");
  EXPECT_EQ(c->status_file, "/tmp/s.json");

  c = ParseConfig("ai:\n  defaults: false\n  agents: [{name: x, env: [X=1]}]\n", "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->signatures.agents.size(), 1u);
  EXPECT_TRUE(c->signatures.launchers.empty());
}

TEST(Config, AiErrors) {
  EXPECT_EQ(Error("ai:\n  agents:\n    - name: x\n      executables: [\"a//b\"]\n"),
            "test.yaml:4: ai.agents.executables: \"a//b\": empty, \".\" or \"..\" path "
            "component");
  EXPECT_EQ(Error("ai:\n  agents:\n    - name: x\n      executables: [\"*\"]\n"),
            "test.yaml:4: ai.agents.executables: \"*\": \"*\" may only be the whole last "
            "component, after at least one other");
  EXPECT_EQ(Error("ai:\n  agents:\n    - name: x\n      env: [\"BAD-NAME=1\"]\n"),
            "test.yaml:4: ai.agents.env: \"BAD-NAME=1\": an environment marker is NAME, "
            "NAME=VALUE or NAME=PREFIX* with a variable name of letters, digits and _ (at most "
            "63)");
  EXPECT_EQ(Error("ai:\n  agents:\n    - name: x\n"),
            "test.yaml:3: ai.agents: \"x\" has no executables, scripts or env");
  EXPECT_EQ(Error("ai:\n  agents:\n    - executables: [x]\n"),
            "test.yaml:3: ai.agents: an entry has no name");
  EXPECT_EQ(Error("ai:\n  agents:\n    - {name: x, exe: [x]}\n"),
            "test.yaml:3: unknown key \"ai.agents.exe\" (known: name, executables, scripts, env)");
  // Two agents claiming one executable, or one variable both with any value
  // and with a fixed one, cannot be told apart.
  EXPECT_EQ(Error("ai:\n  agents:\n    - {name: x, executables: [claude]}\n"),
            "test.yaml:2: ai: path \"claude\" is claimed by both claude and x");
  EXPECT_EQ(Error("ai:\n  agents:\n    - {name: x, env: [CLAUDECODE]}\n"),
            "test.yaml:2: ai: environment marker \"CLAUDECODE\" (x): its variable is already a "
            "marker; only several NAME=VALUE markers may share a name");
  EXPECT_EQ(Error("ai:\n  launchers: [/usr/bin/node]\n"),
            "test.yaml:2: ai: launcher \"/usr/bin/node\": give the executable's name, not a "
            "path");
  EXPECT_EQ(Error("ai:\n  status_file: relative.json\n"),
            "test.yaml:2: ai.status_file: expected an absolute path");
  EXPECT_EQ(Error("ai:\n  nope: 1\n"),
            "test.yaml:2: unknown key \"ai.nope\" (known: defaults, agents, files, launchers, "
            "ide_env, generic_env, suspected, suspect_min_age_s, status_file)");
}

// A directory of signature packs, removed at the end.
struct PackDir {
  std::string dir;
  PackDir() {
    char tmpl[] = "/tmp/permsentry-packs-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~PackDir() { std::filesystem::remove_all(dir); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string p = dir + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
};

TEST(Config, AgentSignaturePacksMergeLikeRules) {
  PackDir d;
  d.Write("10-inhouse.yaml",
          "agents:\n  - name: inhouse-bot\n    executables: [opt/inhouse/bot]\n"
          "    env: [INHOUSE_BOT=1]\n");
  // A pack that corrects a built-in signature replaces it.
  d.Write("20-claude.yaml", "agents:\n  - name: claude\n    env: [CLAUDECODE=1]\n");
  absl::StatusOr<Config> c =
      ParseConfig(absl::StrCat("ai:\n  files: [\"", d.dir, "/*.yaml\"]\n"), "x");
  ASSERT_TRUE(c.ok()) << c.status();
  size_t claudes = 0;
  const AgentSignature* bot = nullptr;
  for (const AgentSignature& a : c->signatures.agents) {
    if (a.agent == "claude") {
      ++claudes;
      EXPECT_TRUE(a.executables.empty());
      EXPECT_EQ(a.origin, d.dir + "/20-claude.yaml:2");
    }
    if (a.agent == "inhouse-bot") bot = &a;
  }
  EXPECT_EQ(claudes, 1u);
  ASSERT_NE(bot, nullptr);
  EXPECT_EQ(bot->executables, std::vector<std::string>{"opt/inhouse/bot"});
  EXPECT_EQ(c->signatures.agents.size(), DefaultSignatures().agents.size() + 1);

  // check-config knows a pack when it sees one.
  absl::StatusOr<std::string> ok = CheckConfigFile(d.dir + "/10-inhouse.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, d.dir + "/10-inhouse.yaml: ok (agent signature pack: 1 agents: inhouse-bot)");

  // The same name twice among what is added: both places are named.
  d.Write("30-again.yaml", "agents:\n  - {name: inhouse-bot, env: [OTHER=1]}\n");
  EXPECT_EQ(Error(absl::StrCat("ai:\n  files: [\"", d.dir, "/*.yaml\"]\n")),
            absl::StrCat(d.dir, "/30-again.yaml:2: agent \"inhouse-bot\" is already defined at ",
                         d.dir, "/10-inhouse.yaml:2"));
  // A bad entry in a pack is reported at its line, by check-config too.
  const std::string bad = d.Write("bad.yaml", "agents:\n  - name: x\n    executables: [\"*\"]\n");
  absl::StatusOr<std::string> r = CheckConfigFile(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            bad +
                ":3: agents.executables: \"*\": \"*\" may only be the whole last component, "
                "after at least one other");
  // A pack that claims a built-in agent's executable under another name.
  const std::string clash = d.Write("clash.yaml", "agents:\n  - {name: x, executables: [codex]}\n");
  r = CheckConfigFile(clash);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), clash + ": path \"codex\" is claimed by both codex and x");
  // A named file must exist; a glob may match nothing.
  EXPECT_EQ(Error("ai:\n  files: [\"/nonexistent/pack.yaml\"]\n"),
            "test.yaml:2: ai.files: cannot read agent signature pack /nonexistent/pack.yaml");
  EXPECT_TRUE(ParseConfig("ai:\n  files: [\"/nonexistent/*.yaml\"]\n", "x").ok());
  EXPECT_EQ(Error("ai:\n  files: [\"packs/*.yaml\"]\n"),
            "test.yaml:2: ai.files: \"packs/*.yaml\" is not an absolute path");
}

TEST(Config, GenericMarkers) {
  absl::StatusOr<Config> c = ParseConfig("", "x");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->signatures.generic_env, (std::vector<std::string>{"AI_AGENT", "AGENT"}));
  c = ParseConfig("ai:\n  generic_env: [AI_AGENT, BOT_NAME]\n", "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->signatures.generic_env, (std::vector<std::string>{"AI_AGENT", "BOT_NAME"}));
  c = ParseConfig("ai:\n  generic_env: []\n", "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->signatures.generic_env.empty());
  EXPECT_EQ(Error("ai:\n  generic_env: [\"AGENT=x\"]\n"),
            "test.yaml:2: ai.generic_env: \"AGENT=x\" is not a variable's name (letters, digits "
            "and _)");
  EXPECT_EQ(Error("ai:\n  agents:\n    - {name: \"bad name\", env: [X=1]}\n"),
            "test.yaml:3: ai.agents.name: expected 1-64 letters, digits, '.', '_' or '-'");
}

}  // namespace
}  // namespace permsentry
