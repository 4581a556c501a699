// AI-session attribution: a pure function of the event's process (as the
// kernel tagged it) and a snapshot of the process table.
//
//   agent:    the kernel says the process belongs to an AI session (inherited
//             at fork from a recognised root, whatever happened since).
//   assisted: not in any session, but beside a live one of the same user: the
//             same audit login session, the same controlling terminal, or an
//             IDE terminal while an agent runs in that IDE.
//   suspected: in no session and beside none, but a shell without a terminal
//             started by a long-lived program that behaves like an agent
//             (SuspectPolicy); a heuristic, with its evidence, never `agent`.
//   none:     everything else. An unset audit session id or no terminal never
//             makes two processes neighbours.
#ifndef PERMSENTRY_ATTRIBUTE_ATTRIBUTION_H_
#define PERMSENTRY_ATTRIBUTE_ATTRIBUTION_H_

#include "attribute/process_table.h"
#include "decode/event.h"

namespace permsentry {

// The process an event came from, as attribution needs it.
struct Subject {
  ProcKey key;
  uint32_t uid = 0;
  uint32_t loginuid = kUnsetId;
  uint32_t sessionid = kUnsetId;
  uint32_t tty = 0;
  std::string comm;
  uint32_t flags = 0;     // PS_PF_* from the kernel's table
  ProcKey session;        // the kernel's session tag; empty: none
  uint64_t ktime_ns = 0;  // when (CLOCK_BOOTTIME): how long its ancestors had run
};
Subject SubjectOf(const OpEvent& ev);

// Ancestry lengths: up to the session root for an agent's process, a few
// generations otherwise (enough to see the shell and what started it; every
// entry is rendered into every event).
inline constexpr size_t kMaxAncestry = 16;
inline constexpr size_t kMaxAncestryOutsideSessions = 6;

Attribution Attribute(const Subject& s, const ProcessTable& table);

// Attribute() memoised per process: a storm of events from one process costs
// one attribution until the process table or the process's ids change.
class AttributionCache {
 public:
  std::shared_ptr<const Attribution> Get(const Subject& s, const ProcessTable& table);

 private:
  struct Entry {
    Subject subject;
    uint64_t version = 0;
    std::shared_ptr<const Attribution> ai;
  };
  absl::flat_hash_map<ProcKey, Entry> entries_;
  Entry last_;  // the last answer: a storm asks about one process again and again
};

}  // namespace permsentry

#endif  // PERMSENTRY_ATTRIBUTE_ATTRIBUTION_H_
