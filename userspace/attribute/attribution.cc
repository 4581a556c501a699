#include "attribute/attribution.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace permsentry {
namespace {

std::string Who(const AncestryEntry& a) { return absl::StrCat(a.name, " (pid ", a.pid, ")"); }

// The subject and its fork ancestors, nearest first, up to `stop` (included)
// or kMaxAncestry entries. `complete` says whether `stop` was reached.
std::vector<AncestryEntry> Ancestry(const Subject& s, const ProcessTable& t, const ProcKey& stop,
                                    size_t max, bool* complete) {
  std::vector<AncestryEntry> out;
  *complete = false;
  const ProcEntry* e = t.Find(s.key);
  out.push_back(AncestryEntry{
      .pid = s.key.pid, .name = s.comm, .executable = e != nullptr ? e->exe : std::string()});
  if (!stop.empty() && s.key == stop) {
    *complete = true;
    return out;
  }
  ProcKey next = e != nullptr ? e->parent : ProcKey{};
  const ProcEntry* child = e;
  while (!next.empty() && out.size() < max) {
    const ProcEntry* p = t.Find(next);
    if (p == nullptr) {
      out.push_back(AncestryEntry{.pid = next.pid, .name = "?", .executable = ""});
      break;
    }
    // As the parent was when it forked this line's child (it may have exec'd
    // since); as it is now when the fork was not seen.
    const bool at_fork = child != nullptr && child->parent_image != nullptr;
    out.push_back(
        AncestryEntry{.pid = p->key.pid,
                      .name = at_fork && !child->parent_comm.empty() ? child->parent_comm : p->comm,
                      .executable = at_fork ? child->parent_image->exe : p->exe});
    child = p;
    if (!stop.empty() && p->key == stop) {
      *complete = true;
      break;
    }
    next = p->parent;
  }
  return out;
}

std::string SessionBegan(const AiSession& s) {
  return absl::StrCat(s.seeded ? "session running when the sensor started, " : "session began ",
                      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", s.start, absl::UTCTimeZone()));
}

bool In(const std::vector<std::string>& list, absl::string_view name) {
  for (const std::string& n : list)
    if (n == name) return true;
  return false;
}

absl::string_view Base(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

// The `suspected` heuristic (SuspectPolicy): its evidence, or nothing.
std::optional<std::vector<std::string>> Suspect(const Subject& s, const ProcessTable& t,
                                                const SuspectPolicy& p, uint32_t* root_pid) {
  // The chain, nearest first, each named as it ran when it forked the next.
  struct Link {
    const ProcEntry* e;
    std::string name;
  };
  std::vector<Link> chain;
  const ProcEntry* e = t.Find(s.key);
  if (e == nullptr) return std::nullopt;
  chain.push_back(Link{e, s.comm});
  for (const ProcEntry* child = e; chain.size() < kMaxAncestry && !child->parent.empty();) {
    const ProcEntry* parent = t.Find(child->parent);
    if (parent == nullptr) break;
    chain.push_back(Link{parent, child->parent_comm.empty() ? parent->comm : child->parent_comm});
    child = parent;
  }
  const auto is = [](const std::vector<std::string>& list, const Link& l) {
    return In(list, l.name) || In(list, Base(l.e->exe));
  };
  for (const Link& l : chain)
    if (is(p.exclude, l)) return std::nullopt;
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    const Link& shell = chain[i];
    size_t j = i + 1;
    while (j + 1 < chain.size() && is(p.wrappers, chain[j])) ++j;
    const Link& parent = chain[j];
    // A process without a terminal (a new session: agents start every command
    // so, and some exec the command in place of the shell), started by a
    // program that is not a shell (a human's `setsid sh -c` from bash is not
    // an agent).
    if (shell.e->tty != 0 || is(p.shells, parent)) continue;
    const uint64_t age =
        s.ktime_ns > parent.e->key.start_ns ? s.ktime_ns - parent.e->key.start_ns : 0;
    if (age < p.min_age_ns) continue;
    const bool interactive = parent.e->tty != 0;
    // Without a terminal of its own, only a login's interpreter starting a
    // shell counts (a daemon's children have no terminal either).
    const bool login_interpreter =
        is(p.interpreters, parent) && parent.e->loginuid != kUnsetId && is(p.shells, shell);
    if (!interactive && !login_interpreter) continue;
    *root_pid = parent.e->key.pid;
    return std::vector<std::string>{
        absl::StrCat("behaves like an AI agent: ", parent.name, " (pid ", parent.e->key.pid,
                     parent.e->exe.empty() ? "" : absl::StrCat(", ", parent.e->exe), ", running ",
                     age / 1'000'000'000, " s, ",
                     interactive ? absl::StrCat("on ", TtyName(parent.e->tty))
                                 : absl::StrCat("an interpreter of login uid ", parent.e->loginuid),
                     ") started ", shell.name, " (pid ", shell.e->key.pid, ") without a terminal"),
        "no agent signature, marker or declaration matched: a heuristic, not proof"};
  }
  return std::nullopt;
}

bool SameUser(const Subject& s, const AiSession& a) {
  if (s.loginuid != kUnsetId && a.loginuid != kUnsetId) return s.loginuid == a.loginuid;
  return s.uid == a.uid;
}

}  // namespace

Subject SubjectOf(const OpEvent& ev) {
  return Subject{.key = ev.proc.key(),
                 .uid = ev.proc.uid,
                 .loginuid = ev.proc.loginuid,
                 .sessionid = ev.proc.sessionid,
                 .tty = ev.proc.tty,
                 .comm = ev.proc.comm,
                 .flags = ev.proc_flags,
                 .session = ev.ai_session,
                 .ktime_ns = ev.ktime_ns};
}

Attribution Attribute(const Subject& s, const ProcessTable& t) {
  Attribution a;
  if (const ProcEntry* e = t.Find(s.key)) {
    a.executable = e->exe;
    if (e->image != nullptr) {
      a.args = e->image->args;
      a.args_truncated = e->image->args_truncated;
    }
  }
  bool complete = false;
  if (!s.session.empty()) {
    a.kind = Attribution::Kind::kAgent;
    a.root_pid = s.session.pid;
    a.session_root = s.session;
    a.ancestry = Ancestry(s, t, s.session, kMaxAncestry, &complete);
    const AiSession* session = t.Session(s.session);
    if (session == nullptr) {
      // The kernel tagged it; the record that started the session is gone
      // (lost, or expired long ago). The tag itself is the evidence.
      a.agent = "unknown";
      a.session_id = absl::StrCat("unknown-", s.session.pid, "-", s.session.start_ns / 1000000);
      a.evidence.push_back(absl::StrCat("kernel process table: in the AI session rooted at pid ",
                                        s.session.pid, " (its start was not seen)"));
    } else {
      // A declared human session (--assisted-by) is the advice's, not an
      // agent's: its members are `assisted`, with the declaration as evidence.
      if (session->assisted) {
        a.kind = Attribution::Kind::kAssisted;
        a.declared_advice = true;
      }
      a.agent = session->agent;
      a.session_id = session->id;
      a.evidence.push_back(
          absl::StrCat("pid ", session->root.pid, " ", session->root_comm, ": ", session->matched));
      a.evidence.push_back(SessionBegan(*session));
    }
    if (s.key == s.session) {
      a.evidence.push_back("the session's root process itself");
    } else {
      // Root-most first: "inherited through sudo (pid 905) → bash (pid 906)".
      std::vector<std::string> chain;
      const size_t end = complete ? a.ancestry.size() - 1 : a.ancestry.size();
      for (size_t i = end; i-- > 1;) chain.push_back(Who(a.ancestry[i]));
      chain.push_back(Who(a.ancestry[0]));
      a.evidence.push_back(absl::StrCat(
          complete ? "inherited through " : "inherited (lineage partly unknown) through ",
          absl::StrJoin(chain, " → ")));
    }
    return a;
  }

  a.ancestry = Ancestry(s, t, ProcKey{}, kMaxAncestryOutsideSessions, &complete);
  for (const AiSession* live : t.LiveSessions()) {
    if (live->assisted || !SameUser(s, *live)) continue;
    std::string why;
    if (s.sessionid != kUnsetId && s.sessionid == live->sessionid) {
      why = absl::StrCat("same login session (audit session ", s.sessionid, ")");
    } else if (s.tty != 0 && s.tty == live->tty) {
      why = absl::StrCat("same terminal ", TtyName(s.tty));
    } else if ((s.flags & PS_PF_IDE) && live->ide) {
      why = "an IDE terminal, in the IDE where the agent runs";
    } else {
      continue;
    }
    a.kind = Attribution::Kind::kAssisted;
    a.agent = live->agent;
    a.session_id = live->id;
    a.root_pid = live->root.pid;
    a.session_root = live->root;
    a.evidence.push_back(absl::StrCat(why, " as agent session ", live->id, " (pid ", live->root.pid,
                                      " ", live->root_comm, ": ", live->matched, ")"));
    a.evidence.push_back("not a descendant of the agent: a human beside it");
    return a;
  }
  if (const SignatureSet* sigs = t.signatures(); sigs != nullptr && sigs->suspect.enabled) {
    uint32_t root = 0;
    if (auto why = Suspect(s, t, sigs->suspect, &root)) {
      a.kind = Attribution::Kind::kSuspected;
      a.root_pid = root;
      a.evidence = *std::move(why);
    }
  }
  return a;
}

bool SameSubject(const Subject& a, const Subject& b) {
  return a.key == b.key && a.uid == b.uid && a.loginuid == b.loginuid &&
         a.sessionid == b.sessionid && a.tty == b.tty && a.comm == b.comm && a.flags == b.flags &&
         a.session == b.session;  // not ktime_ns: the cache is per process
}

std::shared_ptr<const Attribution> AttributionCache::Get(const Subject& s,
                                                         const ProcessTable& table) {
  if (last_.ai && last_.version == table.version() && SameSubject(last_.subject, s))
    return last_.ai;
  auto it = entries_.find(s.key);
  if (it != entries_.end() && it->second.version == table.version() &&
      SameSubject(it->second.subject, s)) {
    last_ = it->second;
    return it->second.ai;
  }
  if (entries_.size() >= 4096) entries_.clear();  // bounded; refilled by what is busy
  auto ai = std::make_shared<const Attribution>(Attribute(s, table));
  entries_[s.key] = Entry{.subject = s, .version = table.version(), .ai = ai};
  last_ = entries_[s.key];
  return ai;
}

}  // namespace permsentry
