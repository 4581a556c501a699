// Operations: what happened to which object (or to whose credentials), the
// unit every capture backend reports (include/permsentry/abi/events.h, enum
// ps_op), whichever hook saw it.
#ifndef PERMSENTRY_COMMON_OPS_H_
#define PERMSENTRY_COMMON_OPS_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "permsentry/abi/events.h"

namespace permsentry {

enum class Op : uint8_t {
  kMode = PS_OP_MODE,           // chmod family
  kOwner = PS_OP_OWNER,         // chown family
  kXattrSet = PS_OP_XATTR_SET,  // ACLs, file capabilities, any xattr
  kXattrRemove = PS_OP_XATTR_REMOVE,
  kCreds = PS_OP_CREDS,           // set*id, setgroups, capset, ...
  kExecCreds = PS_OP_EXEC_CREDS,  // exec of a set-id or file-capability binary
  kCreate = PS_OP_CREATE,
  kMkdir = PS_OP_MKDIR,
  kMknod = PS_OP_MKNOD,
  kMount = PS_OP_MOUNT,
  kUmount = PS_OP_UMOUNT,
  kRename = PS_OP_RENAME,
  kLink = PS_OP_LINK,
  kSymlink = PS_OP_SYMLINK,
  kUnlink = PS_OP_UNLINK,
  kWriteOpen = PS_OP_WRITE_OPEN,
  kTruncate = PS_OP_TRUNCATE,
  kWrite = PS_OP_WRITE,  // through a descriptor held since before the sensor started
};

// The operation of a record's op field, or nullopt for a value this agent does
// not know.
std::optional<Op> OpFromRaw(uint16_t raw);

// permsentry.operation: "mode", "owner", "xattr_set", ...
absl::string_view OpName(Op op);

// Operations on the caller's credentials (event.category "process").
inline bool IsCredsOp(Op op) { return op == Op::kCreds || op == Op::kExecCreds; }

// Operations reported only when a watched credential file is involved.
inline bool IsCredfileOp(Op op) {
  return op == Op::kWriteOpen || op == Op::kWrite || op == Op::kTruncate || op == Op::kRename ||
         op == Op::kLink || op == Op::kSymlink || op == Op::kUnlink;
}

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_OPS_H_
