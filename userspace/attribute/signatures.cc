#include "attribute/signatures.h"

#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace permsentry {
namespace {

// Longest variable name the kernel examines (PS_ENV_NAME_MAX in process.bpf.c).
constexpr size_t kEnvNameMax = 63;

EnvMarker Marker(absl::string_view text) { return *ParseEnvMarker(text); }

}  // namespace

std::string EnvMarker::text() const {
  switch (mode) {
    case PS_AIV_EXACT:
      return absl::StrCat(name, "=", value);
    case PS_AIV_PREFIX:
      return absl::StrCat(name, "=", value, "*");
    default:
      return name;
  }
}

absl::StatusOr<EnvMarker> ParseEnvMarker(absl::string_view text) {
  EnvMarker m;
  const size_t eq = text.find('=');
  m.name = std::string(text.substr(0, eq));
  if (m.name.empty() || m.name.size() > kEnvNameMax ||
      m.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
          std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\": an environment marker is NAME, NAME=VALUE or NAME=PREFIX* with a "
                        "variable name of letters, digits and _ (at most %d)",
                        text, kEnvNameMax));
  }
  if (eq == absl::string_view::npos) return m;
  absl::string_view v = text.substr(eq + 1);
  if (absl::EndsWith(v, "*")) {
    v.remove_suffix(1);
    if (v.empty() || v.size() > 255) {
      return absl::InvalidArgumentError(
          absl::StrFormat("\"%s\": a value prefix must be 1 to 255 bytes before the *", text));
    }
    m.mode = PS_AIV_PREFIX;
  } else {
    m.mode = PS_AIV_EXACT;
  }
  m.value = std::string(v);
  return m;
}

absl::Status CheckPathPattern(absl::string_view pattern) {
  absl::string_view p = pattern;
  if (absl::StartsWith(p, "/")) p.remove_prefix(1);
  if (p.empty() || p.size() >= PS_EXE_MAX)
    return absl::InvalidArgumentError(absl::StrFormat("\"%s\": empty or too long", pattern));
  const std::vector<absl::string_view> parts = absl::StrSplit(p, '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    const absl::string_view c = parts[i];
    if (c.empty() || c == "." || c == "..") {
      return absl::InvalidArgumentError(
          absl::StrFormat("\"%s\": empty, \".\" or \"..\" path component", pattern));
    }
    if (absl::StrContains(c, '*') && (c != "*" || i + 1 != parts.size() || parts.size() < 2)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "\"%s\": \"*\" may only be the whole last component, after at least one other", pattern));
    }
  }
  return absl::OkStatus();
}

uint64_t PathPatternHash(absl::string_view pattern) {
  if (absl::StartsWith(pattern, "/")) pattern.remove_prefix(1);
  uint64_t h = PS_FNV_OFFSET;
  for (size_t i = pattern.size(); i > 0; --i)
    h = ps_sfx_step(h, static_cast<uint8_t>(pattern[i - 1]));
  return h;
}

uint64_t FnvHash(absl::string_view s) {
  uint64_t h = PS_FNV_OFFSET;
  for (char c : s) h = ps_fnv_step(h, static_cast<uint8_t>(c));
  return h;
}

uint64_t EnvPairKey(uint64_t name_hash, uint64_t value_hash) {
  return ps_env_pair(name_hash, value_hash);
}

SignatureSet DefaultSignatures() {
  SignatureSet s;
  auto add = [&](std::string agent, std::vector<std::string> exe, std::vector<std::string> scripts,
                 std::vector<absl::string_view> env) {
    AgentSignature a{.agent = std::move(agent),
                     .executables = std::move(exe),
                     .scripts = std::move(scripts),
                     .env = {}};
    for (absl::string_view e : env) a.env.push_back(Marker(e));
    s.agents.push_back(std::move(a));
  };
  // Executables and npm scripts as the packages' `bin` entries name them (npm
  // metadata, 2026-12); markers as the real CLIs set them for their shell
  // tools (../shared/agents.md, observed table). An agent's deliberate marker
  // is preferred to a name: names are what another program can share.
  add("claude", {"claude", "claude/versions/*", "@anthropic-ai/claude-code/bin/claude.exe"},
      {"@anthropic-ai/claude-code/cli.js"},
      {"CLAUDECODE=1", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_CHILD_SESSION=1",
       "CLAUDE_CODE_SESSION_ID"});
  add("codex", {"codex", "codex-linux-sandbox"}, {"@openai/codex/bin/codex.js"},
      {"CODEX_SESSION_ID", "CODEX_THREAD_ID", "CODEX_SANDBOX_NETWORK_DISABLED=1",
       "CODEX_MANAGED_BY_NPM=1"});
  add("gemini", {"gemini"},
      {"@google/gemini-cli/dist/index.js", "@google/gemini-cli/bundle/gemini.js"},
      {"GEMINI_CLI=1", "GEMINI_CLI_NO_RELAUNCH=true"});
  add("qwen-code", {"qwen"}, {"@qwen-code/qwen-code/cli-entry.js"},
      {"QWEN_CODE=1", "QWEN_CODE_SESSION_ID", "QWEN_CODE_CLI"});
  add("copilot", {"copilot"}, {"@github/copilot/index.js", "@github/copilot/npm-loader.js"},
      {"COPILOT_CLI=1", "COPILOT_AGENT_SESSION_ID", "COPILOT_AGENT=1"});
  add("goose", {"goose"}, {}, {"GOOSE_TERMINAL=1", "AGENT=goose"});
  add("opencode", {"opencode", "opencode-ai/bin/opencode.exe"}, {"opencode-ai/bin/opencode"},
      {"OPENCODE=1", "OPENCODE_PID", "AGENT=1"});
  add("aider", {"aider"}, {"bin/aider"}, {"OR_APP_NAME=Aider"});
  add("cline", {"cline", "cline/bin/cline"}, {"cline/dist/cli.js"}, {"CLINE_ACTIVE=true"});
  add("roo-code", {}, {}, {"ROO_ACTIVE=true"});
  add("kilo-code", {"kilocode", "@kilocode/cli/bin/kilo"}, {}, {});
  add("crush", {"crush"}, {"@charmland/crush/run-crush.js"}, {});
  add("auggie", {"auggie"}, {"@augmentcode/auggie/augment.mjs"}, {});
  add("amazon-q", {"qchat"}, {}, {"AWS_EXECUTION_ENV=AmazonQ-For-CLI*"});
  add("kiro", {"kiro-cli", "kiro-cli-chat"}, {}, {"KIRO_SESSION_ID"});
  add("cursor-agent", {"cursor-agent"}, {}, {"CURSOR_AGENT=1"});
  add("amp", {"amp"}, {"@sourcegraph/amp/dist/main.js", "@ampcode/cli/bin/amp.exe"}, {"AGENT=amp"});
  add("windsurf", {}, {}, {"WINDSURF_CASCADE_TERMINAL=1"});
  s.launchers = {"node",    "nodejs",     "bun",        "deno",      "python",
                 "python3", "python3.11", "python3.12", "python3.13"};
  s.ide_env = {Marker("TERM_PROGRAM=vscode"), Marker("CURSOR_TRACE_ID"),
               Marker("VSCODE_GIT_IPC_HANDLE")};
  // Claude Code sets AI_AGENT; opencode, Goose and Amp set AGENT.
  s.generic_env = {"AI_AGENT", "AGENT"};
  return s;
}

std::string GenericAgentName(absl::string_view env_var) {
  absl::string_view v = env_var;
  if (const size_t eq = v.find('='); eq != absl::string_view::npos) v = v.substr(eq + 1);
  bool letter = false, ok = !v.empty() && v.size() <= 64;
  for (char c : v) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    letter |= alpha;
    ok &= alpha || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == ':';
  }
  return ok && letter ? std::string(v) : "unnamed";
}

absl::StatusOr<KernelSignatures> BuildKernelSignatures(const SignatureSet& set) {
  KernelSignatures k;
  auto add_path = [&](const std::string& p, uint32_t sig, uint32_t flags) -> absl::Status {
    if (absl::Status st = CheckPathPattern(p); !st.ok()) return st;
    ps_ai_path_val& v = k.paths[PathPatternHash(p)];
    if ((v.flags & PS_AIP_AGENT) && (flags & PS_AIP_AGENT) && v.sig != sig) {
      return absl::InvalidArgumentError(absl::StrFormat("path \"%s\" is claimed by both %s and %s",
                                                        p, set.agents[v.sig].agent,
                                                        set.agents[sig].agent));
    }
    if (flags & PS_AIP_AGENT) v.sig = sig;
    v.flags |= flags;
    return absl::OkStatus();
  };
  auto add_env = [&](const EnvMarker& m, uint32_t sig, uint16_t kind,
                     absl::string_view who) -> absl::Status {
    const uint64_t nh = FnvHash(m.name);
    auto [it, fresh] = k.env.try_emplace(nh);
    ps_ai_env_val& v = it->second;
    if (!fresh && (v.value_mode != PS_AIV_EXACT || m.mode != PS_AIV_EXACT)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "environment marker \"%s\" (%s): its variable is already a marker; only several "
          "NAME=VALUE markers may share a name",
          m.text(), who));
    }
    if (m.mode == PS_AIV_EXACT) {
      v = ps_ai_env_val{
          .value_hash = 0, .sig = 0, .kind = 0, .value_mode = PS_AIV_EXACT, .value_len = 0};
      auto [pit, pfresh] = k.env.try_emplace(EnvPairKey(nh, FnvHash(m.value)));
      if (!pfresh)
        return absl::InvalidArgumentError(
            absl::StrFormat("environment marker \"%s\" (%s) is listed twice", m.text(), who));
      pit->second = ps_ai_env_val{
          .value_hash = 0, .sig = sig, .kind = kind, .value_mode = PS_AIV_EXACT, .value_len = 0};
      return absl::OkStatus();
    }
    v = ps_ai_env_val{.value_hash = m.mode == PS_AIV_PREFIX ? FnvHash(m.value) : 0,
                      .sig = sig,
                      .kind = kind,
                      .value_mode = m.mode,
                      .value_len = static_cast<uint8_t>(m.value.size())};
    return absl::OkStatus();
  };
  for (uint32_t i = 0; i < set.agents.size(); ++i) {
    const AgentSignature& a = set.agents[i];
    for (const std::string& p : a.executables)
      if (absl::Status st = add_path(p, i, PS_AIP_AGENT); !st.ok()) return st;
    for (const std::string& p : a.scripts)
      if (absl::Status st = add_path(p, i, PS_AIP_AGENT); !st.ok()) return st;
    for (const EnvMarker& m : a.env)
      if (absl::Status st = add_env(m, i, PS_AIE_AGENT, a.agent); !st.ok()) return st;
  }
  for (const std::string& l : set.launchers) {
    if (absl::StrContains(l, '/'))
      return absl::InvalidArgumentError(
          absl::StrFormat("launcher \"%s\": give the executable's name, not a path", l));
    if (absl::Status st = add_path(l, 0, PS_AIP_LAUNCHER); !st.ok()) return st;
  }
  for (const EnvMarker& m : set.ide_env)
    if (absl::Status st = add_env(m, 0, PS_AIE_IDE, "ide"); !st.ok()) return st;
  for (const std::string& name : set.generic_env) {
    absl::StatusOr<EnvMarker> m = ParseEnvMarker(name);
    if (!m.ok() || m->mode != PS_AIV_ANY)
      return absl::InvalidArgumentError(absl::StrFormat(
          "generic marker \"%s\": give a variable's name (letters, digits and _)", name));
    auto it = k.env.find(FnvHash(name));
    if (it != k.env.end() && it->second.value_mode == PS_AIV_EXACT && it->second.kind == 0) {
      // Listed NAME=VALUE markers keep their agents; any other value names
      // an agent of its own (the kernel falls back to this entry).
      it->second.kind = PS_AIE_AGENT;
      it->second.sig = kGenericSig;
      continue;
    }
    if (absl::Status st = add_env(*m, kGenericSig, PS_AIE_AGENT, "generic"); !st.ok()) return st;
  }
  for (const auto& [name, sig, who] :
       {std::tuple<const char*, uint32_t, const char*>{kDeclaredEnv, kDeclaredSig,
                                                       "permsentry exec --agent"},
        {kAssistedEnv, kAssistedSig, "permsentry exec --assisted-by"}}) {
    if (absl::Status st = add_env(EnvMarker{.name = name, .value = "", .mode = PS_AIV_ANY}, sig,
                                  PS_AIE_DECLARED, who);
        !st.ok())
      return st;
  }
  return k;
}

bool PathMatches(absl::string_view path, absl::string_view pattern) {
  if (absl::StartsWith(pattern, "/")) pattern.remove_prefix(1);
  if (absl::EndsWith(pattern, "/*")) {
    // The last component may be anything (but something).
    const size_t slash = path.rfind('/');
    if (slash == absl::string_view::npos || slash + 1 == path.size()) return false;
    pattern.remove_suffix(2);
    path = path.substr(0, slash);
  }
  if (!absl::EndsWith(path, pattern)) return false;
  return path.size() == pattern.size() || path[path.size() - pattern.size() - 1] == '/';
}

namespace {

bool EnvMatches(const EnvMarker& m, absl::string_view name, absl::string_view value) {
  if (name != m.name) return false;
  switch (m.mode) {
    case PS_AIV_EXACT:
      return value == m.value;
    case PS_AIV_PREFIX:
      return absl::StartsWith(value, m.value);
    default:
      return true;
  }
}

}  // namespace

std::optional<SignatureMatch> MatchProcess(const SignatureSet& set, const ProcessImage& image,
                                           bool* ide) {
  // One pass over the environment: IDE markers count whatever else matches
  // (the kernel scans a recognised agent's environment too), and the first
  // agent marker is kept for after the paths.
  std::optional<SignatureMatch> env_match, generic_match;
  for (const std::string& var : image.env) {
    const size_t eq = var.find('=');
    if (eq == std::string::npos || eq > kEnvNameMax) continue;
    const absl::string_view name = absl::string_view(var).substr(0, eq);
    const absl::string_view value = absl::string_view(var).substr(eq + 1);
    for (const EnvMarker& m : set.ide_env)
      if (ide != nullptr && EnvMatches(m, name, value)) *ide = true;
    if (env_match) continue;
    if (name == kDeclaredEnv || name == kAssistedEnv) {
      env_match = SignatureMatch{.sig = name == kDeclaredEnv ? kDeclaredSig : kAssistedSig,
                                 .signal = PS_SIGNAL_DECLARED,
                                 .text = var};
      continue;
    }
    for (uint32_t i = 0; i < set.agents.size() && !env_match; ++i) {
      for (const EnvMarker& m : set.agents[i].env) {
        if (EnvMatches(m, name, value)) {
          env_match = SignatureMatch{.sig = i, .signal = PS_SIGNAL_ENV, .text = var};
          break;
        }
      }
    }
    // A generic marker only when nothing more specific comes (the first one).
    if (!env_match && !generic_match) {
      for (const std::string& g : set.generic_env) {
        if (name == g) {
          generic_match = SignatureMatch{.sig = kGenericSig, .signal = PS_SIGNAL_ENV, .text = var};
          break;
        }
      }
    }
  }
  if (!env_match) env_match = std::move(generic_match);
  // Same order as the kernel: executable, a launcher's script, environment.
  // Both paths are checked against executables and scripts alike, as the
  // kernel's one path map does (a shebang script's path is argv[1] of its
  // interpreter in /proc, but the executable at exec).
  const auto match_path = [&](absl::string_view path,
                              uint32_t signal) -> std::optional<SignatureMatch> {
    for (uint32_t i = 0; i < set.agents.size(); ++i) {
      for (const auto* list : {&set.agents[i].executables, &set.agents[i].scripts}) {
        for (const std::string& p : *list) {
          if (PathMatches(path, p))
            return SignatureMatch{.sig = i, .signal = signal, .text = std::string(path)};
        }
      }
    }
    return std::nullopt;
  };
  if (auto m = match_path(image.exe, PS_SIGNAL_EXE)) return m;
  const absl::string_view base = absl::string_view(image.exe).substr(image.exe.rfind('/') + 1);
  bool launcher = false;
  for (const std::string& l : set.launchers) launcher |= base == l;
  if (launcher && image.argv.size() > 1) {
    if (auto m = match_path(image.argv[1], PS_SIGNAL_SCRIPT)) return m;
  }
  return env_match;
}

Declared ParseDeclared(absl::string_view env_var) {
  absl::string_view v = env_var;
  if (const size_t eq = v.find('='); eq != absl::string_view::npos) v = v.substr(eq + 1);
  Declared d;
  const size_t slash = v.find('/');
  d.agent = std::string(v.substr(0, slash));
  if (slash != absl::string_view::npos) d.session = std::string(v.substr(slash + 1));
  if (d.agent.empty()) d.agent = "declared";
  return d;
}

}  // namespace permsentry
