// Userspace's copy of the kernel's process table, built from the fork, exec
// and exit records (and the startup seed), plus the AI sessions those records
// started. Exited processes are kept a while (bounded in time and number), so
// an event read after its process, or an ancestor, has exited still finds its
// lineage.
#ifndef PERMSENTRY_ATTRIBUTE_PROCESS_TABLE_H_
#define PERMSENTRY_ATTRIBUTE_PROCESS_TABLE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "attribute/signatures.h"
#include "decode/event.h"

namespace permsentry {

// What an exec started: shared, not copied, by every child forked before the
// next exec (a fork storm is tens of thousands of entries).
struct ExecImage {
  std::string exe;
  std::vector<std::string> args;  // argv, at most PS_ARGS_MAX bytes of it
  bool args_truncated = false;
};

struct ProcEntry {
  ProcKey key;
  ProcKey parent;      // who forked it (not who it was reparented to)
  ProcKey session;     // root of its AI session; empty: none
  uint32_t flags = 0;  // PS_PF_*
  uint32_t uid = 0, euid = 0, loginuid = kUnsetId, sessionid = kUnsetId, tty = 0;
  std::string comm;
  std::string exe;
  // Its last exec (or its parent's, until it execs); null when not seen.
  std::shared_ptr<const ExecImage> image;
  // The parent's program when it forked this process: the ancestry names a
  // parent so even after it execs something else. Null: the fork was not seen.
  std::shared_ptr<const ExecImage> parent_image;
  std::string parent_comm;
  bool exited = false;
  // ktime of the newest record applied: the two rings deliver out of order, and
  // an older record must not undo a newer one.
  uint64_t updated_ns = 0;
};

struct AiSession {
  ProcKey root;
  std::string id;       // permsentry.ai.session_id
  std::string agent;    // permsentry.ai.agent
  uint32_t signal = 0;  // enum ps_ai_signal
  std::string matched;  // what matched: "env CLAUDECODE=1", "executable /usr/bin/claude"
  bool seeded = false;  // recognised when the sensor started, not at its exec
  absl::Time start;     // the root's exec (or the sensor's start, when seeded)
  uint32_t uid = 0, loginuid = kUnsetId, sessionid = kUnsetId, tty = 0;
  bool ide = false;  // the root runs in an IDE terminal
  // Declared with `permsentry exec --assisted-by`: a human following advice
  // from `agent`; its members are `assisted`, and it has no neighbours.
  bool assisted = false;
  std::string root_comm, root_exe, cwd;
  int64_t live_members = 0;       // processes of the session still running
  absl::Time ended;               // when the last member exited
  uint64_t agent_changes = 0;     // events attributed `agent`
  uint64_t assisted_changes = 0;  // events attributed `assisted` beside it
  bool live() const { return live_members > 0; }
};

class ProcessTable {
 public:
  struct Options {
    absl::Duration exited_retention = absl::Seconds(60);
    size_t max_exited = 65536;  // exited entries kept at most
    size_t max_ended_sessions = 256;
  };
  ProcessTable() : ProcessTable(Options{}) {}
  explicit ProcessTable(Options options) : options_(options) {}

  // The signatures that name agents (for sessions that records start). Kept by
  // the caller.
  void SetSignatures(const SignatureSet* sigs) { sigs_ = sigs; }
  const SignatureSet* signatures() const { return sigs_; }

  // A fork, exec or exit record. `now` drives the expiry of exited entries.
  void Apply(const ProcEvent& ev, absl::Time now);
  // A process found at startup (its entry as the kernel holds it, completed
  // from /proc). A session root starts its session; `matched_text` says what
  // matched.
  void Seed(const ProcEntry& e, uint32_t sig, uint32_t signal, const std::string& matched_text,
            absl::Time now);

  const ProcEntry* Find(const ProcKey& k) const;
  const AiSession* Session(const ProcKey& root) const;
  // For the change counters (which attribution does not read).
  AiSession* MutableSession(const ProcKey& root);
  // Live sessions, most recent first.
  std::vector<const AiSession*> LiveSessions() const;
  // Every session still known (live, and the most recently ended ones).
  std::vector<const AiSession*> AllSessions() const;

  size_t live_count() const { return entries_.size() - exited_.size(); }
  // Changes whenever anything attribution depends on may have changed.
  uint64_t version() const { return version_; }
  size_t exited_count() const { return exited_.size(); }

  // The agent name a signature index stands for.
  std::string AgentName(uint32_t sig, const std::string& text) const;

 private:
  void StartSession(const ProcEntry& root, uint32_t sig, uint32_t signal, const std::string& text,
                    absl::Time when, bool seeded);
  void Join(const ProcKey& session);
  void Leave(const ProcKey& session, absl::Time now);
  void Expire(absl::Time now);

  Options options_;
  uint64_t version_ = 0;
  const SignatureSet* sigs_ = nullptr;
  absl::flat_hash_map<ProcKey, ProcEntry> entries_;
  std::deque<std::pair<absl::Time, ProcKey>> exited_;  // in exit order
  absl::flat_hash_map<ProcKey, AiSession> sessions_;
  std::deque<ProcKey> ended_;  // ended sessions, oldest first
};

// A terminal dev_t (major << 20 | minor) as a name: "pts/3", "tty1", "ttyS0".
std::string TtyName(uint32_t tty);

}  // namespace permsentry

#endif  // PERMSENTRY_ATTRIBUTE_PROCESS_TABLE_H_
