// How AI agents are recognised at exec: the signature table (built in, plus the
// config's `ai:` section), its form in the kernel's maps, and the same matching
// in userspace for processes that already run when the sensor starts.
#ifndef PERMSENTRY_ATTRIBUTE_SIGNATURES_H_
#define PERMSENTRY_ATTRIBUTE_SIGNATURES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "permsentry/abi/events.h"

namespace permsentry {

// An environment marker: NAME (any value), NAME=VALUE, or NAME=PREFIX*.
struct EnvMarker {
  std::string name;
  std::string value;
  uint8_t mode = PS_AIV_ANY;  // enum ps_ai_value_mode
  std::string text() const;   // as written in the config
};
absl::StatusOr<EnvMarker> ParseEnvMarker(absl::string_view text);

struct AgentSignature {
  std::string agent;                     // the name events carry (claude, codex, ...)
  std::vector<std::string> executables;  // trailing path components: "claude", "claude/versions/*"
  std::vector<std::string> scripts;      // argv[1] of a launcher, same matching
  std::vector<EnvMarker> env;            // markers the agent sets for what it spawns
  std::string origin;                    // "FILE:LINE" of a configured one; empty: built in
};

// The `suspected` heuristic: a process no signature matched, whose tree looks
// like an agent's. A process without a terminal (an agent starts each command
// in a new session, stdin /dev/null; some exec the command in place of the
// shell) whose parent is a long-lived program that is not a shell (wrappers
// looked through) and has a terminal itself (an interactive CLI), or a shell
// started by an interpreter of a login (a background node or python process). Chains through cron
// or a package manager never count; system units never have a login uid, and have no terminal.
// Session plumbing (sshd, tmux, sudo, systemd --user) is what agents run under too, so it rules
// nothing out.
struct SuspectPolicy {
  bool enabled = true;
  uint64_t min_age_ns = 5'000'000'000;  // the parent has run at least this long
  std::vector<std::string> shells = {"sh", "bash", "dash", "zsh", "ksh", "fish"};
  std::vector<std::string> interpreters = {"node",   "nodejs",     "bun",        "deno",
                                           "python", "python3",    "ruby",       "perl",
                                           "java",   "python3.11", "python3.12", "python3.13"};
  // Wrappers between the program and its shell are looked through: a human's
  // `setsid -w sh -c ...` is still a shell's child.
  std::vector<std::string> wrappers = {"setsid", "nohup",  "env",     "timeout", "sudo",
                                       "su",     "doas",   "runuser", "setpriv", "nice",
                                       "ionice", "stdbuf", "flock",   "chroot",  "xargs"};
  // Programs whose presence anywhere in the chain rules a suspicion out.
  std::vector<std::string> exclude = {"cron",
                                      "crond",
                                      "anacron",
                                      "atd",
                                      "apt",
                                      "apt-get",
                                      "aptitude",
                                      "dpkg",
                                      "dnf",
                                      "yum",
                                      "rpm",
                                      "zypper",
                                      "unattended-upgr",
                                      "packagekitd",
                                      "pip",
                                      "pip3",
                                      "npm",
                                      "yarn",
                                      "pnpm",
                                      "gem",
                                      "bundle",
                                      "cargo",
                                      "make",
                                      "cloud-init"};
};

struct SignatureSet {
  std::vector<AgentSignature> agents;
  std::vector<std::string> launchers;  // interpreters whose argv[1] is checked
  std::vector<EnvMarker> ide_env;      // an IDE terminal (assisted, never agent alone)
  // Variables any agent may set, whose value names it (AI_AGENT=NAME): a
  // session for an agent nobody listed. A listed agent's own marker wins.
  std::vector<std::string> generic_env;
  bool generic_env_set = false;  // (config) generic_env given: replaces the built-in list
  SuspectPolicy suspect;
};

// The built-in table (see ../shared/agents.md for where each signal comes from).
SignatureSet DefaultSignatures();

// The marker `permsentry exec` sets: PERMSENTRY_AGENT=NAME[/SESSION].
inline constexpr char kDeclaredEnv[] = "PERMSENTRY_AGENT";
// Signature index the kernel reports for a declared session.
inline constexpr uint32_t kDeclaredSig = PS_AI_SIG_DECLARED;
// The marker `permsentry exec --assisted-by` sets: PERMSENTRY_ASSISTED=NAME. A
// human declares that what they run follows advice from NAME (a chat
// assistant no process tree can show): `assisted`, never `agent`.
inline constexpr char kAssistedEnv[] = "PERMSENTRY_ASSISTED";
inline constexpr uint32_t kAssistedSig = PS_AI_SIG_ASSISTED;
// Signature index of a generic marker (ai.generic_env: AI_AGENT, AGENT) whose
// value names an agent the table does not list.
inline constexpr uint32_t kGenericSig = PS_AI_SIG_GENERIC;

// The agent a generic marker's value names: the value when it is a name
// (letters, digits, . _ - : and at least one letter, at most 64 bytes), else
// "unnamed" (AGENT=1).
std::string GenericAgentName(absl::string_view env_var);

// Validates a path pattern (no empty component, "*" only as the last of at
// least two components, no "." or "..").
absl::Status CheckPathPattern(absl::string_view pattern);

// The kernel's maps. Fails when two signatures claim the same key differently.
struct KernelSignatures {
  absl::flat_hash_map<uint64_t, ps_ai_path_val> paths;
  absl::flat_hash_map<uint64_t, ps_ai_env_val> env;
};
absl::StatusOr<KernelSignatures> BuildKernelSignatures(const SignatureSet& set);

// The keys, as the kernel computes them.
uint64_t PathPatternHash(absl::string_view pattern);
uint64_t FnvHash(absl::string_view s);
uint64_t EnvPairKey(uint64_t name_hash, uint64_t value_hash);

// Userspace matching of a running process (startup seed), with the kernel's
// semantics.
struct SignatureMatch {
  uint32_t sig = 0;                  // index into agents, or kDeclaredSig
  uint32_t signal = PS_SIGNAL_NONE;  // enum ps_ai_signal
  std::string text;                  // what matched (the env var, the script path)
};
struct ProcessImage {
  std::string exe;                // the path it was executed as
  std::vector<std::string> argv;  // argv[0], argv[1], ...
  std::vector<std::string> env;   // NAME=value
};
std::optional<SignatureMatch> MatchProcess(const SignatureSet& set, const ProcessImage& image,
                                           bool* ide);

// Whether `path` ends with the components of `pattern`.
bool PathMatches(absl::string_view path, absl::string_view pattern);

// The agent name and declared session of a PERMSENTRY_AGENT value.
struct Declared {
  std::string agent;
  std::string session;  // empty: none given
};
Declared ParseDeclared(absl::string_view env_var);  // "PERMSENTRY_AGENT=NAME/SESSION"

}  // namespace permsentry

#endif  // PERMSENTRY_ATTRIBUTE_SIGNATURES_H_
