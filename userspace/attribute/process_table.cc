#include "attribute/process_table.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace permsentry {
namespace {

std::string SignalText(uint32_t signal, uint32_t sig, const std::string& text,
                       const std::string& exe, const std::string& comm) {
  switch (signal) {
    case PS_SIGNAL_EXE:
      return absl::StrCat("executable ", exe.empty() ? text : exe);
    case PS_SIGNAL_SCRIPT:
      return absl::StrCat(comm, " script ", text);
    case PS_SIGNAL_ENV:
      if (sig == kGenericSig) return absl::StrCat("env ", text, " (a generic agent marker)");
      return absl::StrCat("env ", text);
    case PS_SIGNAL_DECLARED:
      if (sig == kAssistedSig)
        return absl::StrCat("declared with permsentry exec --assisted-by (", text, ")");
      return absl::StrCat("declared with permsentry exec (", text, ")");
    default:
      return "unknown signal";
  }
}

std::string ReadCwd(uint32_t pid) {
  char buf[PATH_MAX];
  const std::string link = absl::StrCat("/proc/", pid, "/cwd");
  const ssize_t n = readlink(link.c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

const char* AttributionName(Attribution::Kind k) {
  switch (k) {
    case Attribution::Kind::kAgent:
      return "agent";
    case Attribution::Kind::kAssisted:
      return "assisted";
    case Attribution::Kind::kSuspected:
      return "suspected";
    default:
      return "none";
  }
}

std::string TtyName(uint32_t tty) {
  if (tty == 0) return "";
  const uint32_t major = tty >> 20, minor = tty & 0xfffff;
  if (major >= 136 && major <= 143) return absl::StrCat("pts/", (major - 136) * 256 + minor);
  if (major == 4 && minor < 64) return absl::StrCat("tty", minor);
  if (major == 4) return absl::StrCat("ttyS", minor - 64);
  if (major == 5 && minor == 0) return "tty";
  if (major == 5 && minor == 1) return "console";
  return absl::StrCat(major, ":", minor);
}

std::string ProcessTable::AgentName(uint32_t sig, const std::string& text) const {
  if (sig == kDeclaredSig || sig == kAssistedSig) return ParseDeclared(text).agent;
  if (sig == kGenericSig) return GenericAgentName(text);
  if (sigs_ != nullptr && sig < sigs_->agents.size()) return sigs_->agents[sig].agent;
  return "unknown";
}

void ProcessTable::StartSession(const ProcEntry& root, uint32_t sig, uint32_t signal,
                                const std::string& text, absl::Time when, bool seeded) {
  if (sessions_.contains(root.key)) return;
  AiSession s;
  s.root = root.key;
  s.agent = AgentName(sig, text);
  s.signal = signal;
  s.matched = SignalText(signal, sig, text, root.exe, root.comm);
  s.assisted = sig == kAssistedSig;
  s.seeded = seeded;
  s.start = when;
  s.uid = root.uid;
  s.loginuid = root.loginuid;
  s.sessionid = root.sessionid;
  s.tty = root.tty;
  s.ide = root.flags & PS_PF_IDE;
  s.root_comm = root.comm;
  s.root_exe = root.exe;
  s.cwd = ReadCwd(root.key.pid);
  std::string id;
  if (signal == PS_SIGNAL_DECLARED) id = ParseDeclared(text).session;
  if (!id.empty()) {
    // A declared id is the declarer's own: another user's live session of the
    // same name keeps it, and this one is told apart by its uid.
    for (const auto& [k, other] : sessions_) {
      if (other.live() && other.id == id && other.uid != s.uid) {
        id = absl::StrCat(id, "@uid", s.uid);
        break;
      }
    }
  } else {
    id = absl::StrFormat("%s-%d-%d", s.agent, root.key.pid, root.key.start_ns / 1000000);
  }
  s.id = std::move(id);
  sessions_.emplace(root.key, std::move(s));
}

void ProcessTable::Join(const ProcKey& session) {
  if (session.empty()) return;
  auto it = sessions_.find(session);
  if (it != sessions_.end()) ++it->second.live_members;
}

void ProcessTable::Leave(const ProcKey& session, absl::Time now) {
  if (session.empty()) return;
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  if (--it->second.live_members > 0) return;
  it->second.live_members = 0;
  it->second.ended = now;
  ended_.push_back(session);
  while (ended_.size() > options_.max_ended_sessions) {
    auto old = sessions_.find(ended_.front());
    // Only forget it if it did not come back to life (a seed can revive it).
    if (old != sessions_.end() && !old->second.live()) sessions_.erase(old);
    ended_.pop_front();
  }
}

void ProcessTable::Expire(absl::Time now) {
  while (!exited_.empty() && (exited_.size() > options_.max_exited ||
                              now - exited_.front().first > options_.exited_retention)) {
    auto it = entries_.find(exited_.front().second);
    if (it != entries_.end() && it->second.exited) entries_.erase(it);
    exited_.pop_front();
  }
}

namespace {

// What a fork or exec record says about the process now.
void CopyIdentity(const ProcEvent& ev, ProcEntry& e) {
  e.session = ev.session;
  e.flags = ev.flags;
  e.uid = ev.uid;
  e.euid = ev.euid;
  e.loginuid = ev.loginuid;
  e.sessionid = ev.sessionid;
  e.tty = ev.tty;
  e.comm = ev.comm;
  e.updated_ns = ev.ktime_ns;
}

}  // namespace

void ProcessTable::Apply(const ProcEvent& ev, absl::Time now) {
  ++version_;
  switch (ev.kind) {
    case ProcEvent::Kind::kFork: {
      if (const ProcEntry* known = Find(ev.key); known != nullptr) break;  // newer news already
      ProcEntry e;
      e.key = ev.key;
      e.parent = ev.parent;
      CopyIdentity(ev, e);
      // A child runs its parent's program until it execs: named by it, not by
      // the thread that forked it (tokio-rt-worker, MainThread).
      if (const ProcEntry* p = Find(ev.parent)) {
        e.exe = p->exe;
        e.image = p->image;
        if (!p->comm.empty()) e.comm = p->comm;
        e.parent_comm = p->comm;
        e.parent_image = p->image;
      }
      entries_.emplace(ev.key, std::move(e));
      Join(ev.session);
      break;
    }
    case ProcEvent::Kind::kExec: {
      auto it = entries_.find(ev.key);
      if (it == entries_.end()) {
        ProcEntry e;
        e.key = ev.key;
        e.parent = ev.parent;
        it = entries_.emplace(ev.key, std::move(e)).first;
        Join(ev.session);
      } else if (it->second.updated_ns > ev.ktime_ns) {
        break;  // a later exec was applied already (membership included)
      } else if (!(it->second.session == ev.session)) {
        Leave(it->second.session, now);
        Join(ev.session);
      }
      ProcEntry& e = it->second;
      CopyIdentity(ev, e);
      e.exe = ev.exe;
      e.image = std::make_shared<const ExecImage>(
          ExecImage{.exe = ev.exe, .args = ev.args, .args_truncated = ev.args_truncated});
      if ((ev.flags & PS_PF_SESSION_ROOT) && ev.session == ev.key) {
        const bool fresh = !sessions_.contains(ev.key);
        StartSession(e, ev.sig, ev.signal, ev.text, ev.time, /*seeded=*/false);
        if (fresh) Join(ev.session);  // the root itself, counted now its session exists
      }
      break;
    }
    case ProcEvent::Kind::kExit: {
      auto it = entries_.find(ev.key);
      if (it == entries_.end() || it->second.exited) break;
      it->second.exited = true;
      exited_.emplace_back(now, ev.key);
      Leave(it->second.session, ev.time);
      break;
    }
  }
  Expire(now);
}

void ProcessTable::Seed(const ProcEntry& e, uint32_t sig, uint32_t signal,
                        const std::string& matched_text, absl::Time now) {
  auto [it, fresh] = entries_.try_emplace(e.key, e);
  if (!fresh) return;  // a record already told us about it
  if (it->second.image == nullptr && !e.exe.empty())
    it->second.image = std::make_shared<const ExecImage>(ExecImage{.exe = e.exe});
  ++version_;
  // A root the kernel recognised at its exec (after the sensor attached) gets
  // its session from that exec's record, which says what matched.
  if ((e.flags & PS_PF_SESSION_ROOT) && e.session == e.key && !matched_text.empty())
    StartSession(e, sig, signal, matched_text, now, /*seeded=*/true);
  Join(e.session);
}

const ProcEntry* ProcessTable::Find(const ProcKey& k) const {
  auto it = entries_.find(k);
  return it == entries_.end() ? nullptr : &it->second;
}

const AiSession* ProcessTable::Session(const ProcKey& root) const {
  auto it = sessions_.find(root);
  return it == sessions_.end() ? nullptr : &it->second;
}

AiSession* ProcessTable::MutableSession(const ProcKey& root) {
  auto it = sessions_.find(root);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::vector<const AiSession*> ProcessTable::LiveSessions() const {
  std::vector<const AiSession*> out;
  for (const auto& [k, s] : sessions_)
    if (s.live()) out.push_back(&s);
  std::sort(out.begin(), out.end(),
            [](const AiSession* a, const AiSession* b) { return a->start > b->start; });
  return out;
}

std::vector<const AiSession*> ProcessTable::AllSessions() const {
  std::vector<const AiSession*> out;
  for (const auto& [k, s] : sessions_) out.push_back(&s);
  std::sort(out.begin(), out.end(),
            [](const AiSession* a, const AiSession* b) { return a->start > b->start; });
  return out;
}

}  // namespace permsentry
