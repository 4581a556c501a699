// What rules look at: the facts of one event, derived once from the decoded,
// attributed and enriched event, in the terms rules are written in (bits a
// chmod added, the uid a chown gave the file, who an ACL grants, capabilities a
// process gained).
#ifndef PERMSENTRY_RULES_FACTS_H_
#define PERMSENTRY_RULES_FACTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "decode/event.h"
#include "enrich/enrich.h"

namespace permsentry {

enum class Outcome : uint8_t { kSuccess = 1, kFailure = 2, kUnknown = 4 };

// The mode bits rules name (mode_added, mode_removed, mode_has, mode_lacks).
inline constexpr uint32_t kModeSetuid = 04000;
inline constexpr uint32_t kModeSetgid = 02000;
inline constexpr uint32_t kModeSticky = 01000;

// Who an ACL grants access to (acl_grants).
enum AclGrant : uint32_t {
  kGrantOthers = 1u << 0,        // the other:: entry grants something
  kGrantNamedUser = 1u << 1,     // a user:NAME entry grants something
  kGrantNonOwnerUser = 1u << 2,  // ... to a user who does not own the file
  kGrantNamedGroup = 1u << 3,    // a group:NAME entry grants something
};

// File types (file_type).
enum FileType : uint8_t {
  kTypeFile = 1u << 0,
  kTypeDir = 1u << 1,
  kTypeSymlink = 1u << 2,
  kTypeOther = 1u << 3,
};

struct Facts {
  const OpEvent* ev = nullptr;
  const Enriched* en = nullptr;
  absl::string_view action;   // event.action
  int action_index = -1;      // ActionIndex(action), looked up once per event
  absl::string_view syscall;  // permsentry.syscall
  Outcome outcome = Outcome::kSuccess;
  // The changed object's absolute path; null when not known.
  const std::string* path = nullptr;
  uint8_t file_type = 0;  // FileType, 0 when unknown
  bool watched = false;
  bool covers_watched = false;    // a mount or unmount on or above a watched path
  bool path_changed = false;      // the path argument was rewritten during the call
  absl::string_view watch_class;  // empty when unverified
  // Mode bits (07777). For chmod, `after` is what the call set (or asked for,
  // when it failed); `added` counts bits the file may not have had: when the
  // state before is unknown, every bit set is taken as added.
  std::optional<uint32_t> mode_after;
  uint32_t mode_added = 0;
  uint32_t mode_removed = 0;
  // chown: the owner / group the call gave the file, when that changed it (or
  // may have: the owner before unknown).
  std::optional<uint32_t> owner_to, group_to;
  uint32_t acl_grants = 0;     // AclGrant
  bool file_caps_set = false;  // security.capability written (not removed)
  uint64_t file_caps = 0;      // its permitted set
  bool creds_to_root = false;  // see FactsOf
  uint64_t caps_gained = 0;    // effective or permitted capabilities gained
  // A credential call (not an exec: a set-group-id binary's group is its own)
  // by a process that was not root: the real, effective or filesystem gids it
  // took that it held in none of its gids before.
  std::vector<uint32_t> gids_gained;
  Attribution::Kind attribution = Attribution::Kind::kNone;
  const Attribution* ai = nullptr;  // may be null
  absl::string_view executable;     // the process's executable, when known
  // Which of the facts above hold or are known (Present bits): a condition
  // that needs one that is absent is passed over without a look at the rest.
  uint32_t present = 0;
};

// Bits of Facts::present.
enum Present : uint32_t {
  kHasPath = 1u << 0,         // path
  kHasFileType = 1u << 1,     // file_type
  kIsWatched = 1u << 2,       // watched
  kHasWatchClass = 1u << 3,   // watch_class
  kCoversWatched = 1u << 4,   // covers_watched
  kPathChanged = 1u << 5,     // path_changed
  kHasModeAfter = 1u << 6,    // mode_after
  kModeAdded = 1u << 7,       // mode_added != 0
  kModeRemoved = 1u << 8,     // mode_removed != 0
  kHasOwnerTo = 1u << 9,      // owner_to
  kHasGroupTo = 1u << 10,     // group_to
  kAclGrants = 1u << 11,      // acl_grants != 0
  kFileCapsSet = 1u << 12,    // file_caps_set
  kCredsToRoot = 1u << 13,    // creds_to_root
  kCapsGained = 1u << 14,     // caps_gained != 0
  kGidsGained = 1u << 15,     // gids_gained not empty
  kHasXattrName = 1u << 16,   // ev->xattr_name
  kHasExecutable = 1u << 17,  // executable not empty
};

// `ev` and `en` must outlive the facts.
Facts FactsOf(const OpEvent& ev, const Enriched& en);

}  // namespace permsentry

#endif  // PERMSENTRY_RULES_FACTS_H_
