// What the enrich stage adds to a decoded event before rules and renderers see
// it, computed once per event: the changed object's absolute path, its state
// before and after, who gained or lost what, and the credential-file entry it
// matched. Plus the one-line human summary built from all that.
#ifndef PERMSENTRY_ENRICH_ENRICH_H_
#define PERMSENTRY_ENRICH_ENRICH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/kept.h"
#include "common/names.h"
#include "common/text_list.h"
#include "decode/event.h"
#include "enrich/access_delta.h"
#include "enrich/path.h"
#include "watch/watch_list.h"

namespace permsentry {

struct Enriched {
  Kept<ResolvedPath> path;            // absolute path of the changed object
  FileStateChange state;              // mode/owner before and after, as far as known
  TextList delta;                     // who gained or lost what
  const WatchEntry* watch = nullptr;  // the watch-list entry that matched, if known
  // Mounts and unmounts: the watched paths on or under the mount point (what
  // the mount hides or replaces for every reader of those paths).
  std::vector<std::string> covered;
  DecodedRights rights;  // an ACL or file capabilities written, decoded once
};
// `watch_list` is the list the kernel's watch maps were built from (may be null).
Enriched Enrich(const OpEvent& ev, NameCache& names, SymlinkChecker& symlinks,
                const std::vector<WatchEntry>* watch_list);
// The same into `en`, all of it rewritten; its strings keep their buffers (the
// pipeline enriches every event into one Enriched).
void EnrichInto(const OpEvent& ev, NameCache& names, SymlinkChecker& symlinks,
                const std::vector<WatchEntry>* watch_list, Enriched& en);

// "O_WRONLY|O_CREAT|O_TRUNC"
std::string OpenFlagsText(uint32_t flags);

// The path to show for the event's object: the resolved one, else (tracepoint
// backend, unresolved) the path argument as the caller gave it; null if none.
const std::string* ShownPath(const OpEvent& ev, const Enriched& en);

// A mount's source as given (a device name, or the path a bind takes): the
// kernel's copy (rich backend) or the caller's argument (tracepoint); null if none.
const std::string* MountSource(const OpEvent& ev);

// One-line human summary (the JSON `message` of an event), e.g.
// "chmod /etc/sudoers.d/x 0440 -> 0442 by bash (pid 812, uid 0): others: +w".
std::string Summary(const OpEvent& ev, const Enriched& en);
// `actor`: AppendActor's text for the event when the caller keeps it (a
// renderer, per process); empty: made here.
void AppendSummary(std::string* out, const OpEvent& ev, const Enriched& en,
                   absl::string_view actor = {});

// "chmod (pid 812, uid 0)": who made the call.
// The access delta as one line of text: each entry escaped, "; " between.
void AppendAccessDelta(std::string* out, absl::Span<const std::string> delta);

std::string Actor(const OpEvent& ev);
void AppendActor(std::string* out, const OpEvent& ev);
// " [AI agent claude, session S]", " [assisted: beside AI agent claude, session
// S]", or "" outside AI sessions.
std::string AiTag(const OpEvent& ev);
void AppendAiTag(std::string* out, const OpEvent& ev);

}  // namespace permsentry

#endif  // PERMSENTRY_ENRICH_ENRICH_H_
