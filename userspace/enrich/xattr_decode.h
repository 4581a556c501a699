// Decoders for the xattrs that carry access rights: POSIX ACLs
// (system.posix_acl_access / _default) and file capabilities
// (security.capability). Inputs are bytes a process handed the kernel, possibly
// truncated by the capture bound: every malformed input is an error with a
// reason, never a crash (fuzzed through the decoder target).
#ifndef PERMSENTRY_ENRICH_XATTR_DECODE_H_
#define PERMSENTRY_ENRICH_XATTR_DECODE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/names.h"

namespace permsentry {

// ---------------------------------------------------------------- POSIX ACLs

enum class AclTag : uint16_t {
  kUserObj = 0x01,
  kUser = 0x02,
  kGroupObj = 0x04,
  kGroup = 0x08,
  kMask = 0x10,
  kOther = 0x20,
};

struct AclEntry {
  AclTag tag;
  uint16_t perm;               // rwx bits (4, 2, 1)
  std::optional<uint32_t> id;  // for kUser / kGroup
};

struct PosixAcl {
  std::vector<AclEntry> entries;
  bool truncated = false;  // the captured bytes end before the value did
};

// Which xattr names are POSIX ACLs; kDefault is a directory's default ACL.
enum class AclKind { kNone, kAccess, kDefault };
AclKind AclKindOf(absl::string_view xattr_name);

// `value` is what was captured; `full_size` the size the caller passed.
absl::StatusOr<PosixAcl> DecodePosixAcl(absl::string_view value, uint32_t full_size);

// "user::rw-", "user:alice:r--" (or "user:1234:r--" without a name), "mask::rw-".
std::string FormatAclEntry(const AclEntry& e, NameCache& names);

// ---------------------------------------------------------------- file caps

struct FileCaps {
  int revision = 0;  // 1, 2 or 3
  bool effective = false;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
  std::optional<uint32_t> rootid;  // revision 3: the namespace root the caps apply to
};

absl::StatusOr<FileCaps> DecodeFileCaps(absl::string_view value);

// "CAP_NET_RAW", ... for each bit set; unknown bits as "CAP_<n>".
std::vector<std::string> CapabilityNames(uint64_t mask);

// The bit of "CAP_SYS_ADMIN" and the other names CapabilityNames gives.
std::optional<int> CapabilityBit(absl::string_view name);

}  // namespace permsentry

#endif  // PERMSENTRY_ENRICH_XATTR_DECODE_H_
