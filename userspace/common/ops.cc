#include "common/ops.h"

namespace permsentry {

std::optional<Op> OpFromRaw(uint16_t raw) {
  if (raw < PS_OP_MODE || raw >= PS_OP_MAX) return std::nullopt;
  return static_cast<Op>(raw);
}

absl::string_view OpName(Op op) {
  switch (op) {
    case Op::kMode:
      return "mode";
    case Op::kOwner:
      return "owner";
    case Op::kXattrSet:
      return "xattr_set";
    case Op::kXattrRemove:
      return "xattr_remove";
    case Op::kCreds:
      return "creds";
    case Op::kExecCreds:
      return "exec_creds";
    case Op::kCreate:
      return "create";
    case Op::kMkdir:
      return "mkdir";
    case Op::kMknod:
      return "mknod";
    case Op::kMount:
      return "mount";
    case Op::kUmount:
      return "umount";
    case Op::kRename:
      return "rename";
    case Op::kLink:
      return "link";
    case Op::kSymlink:
      return "symlink";
    case Op::kUnlink:
      return "unlink";
    case Op::kWriteOpen:
      return "write_open";
    case Op::kTruncate:
      return "truncate";
    case Op::kWrite:
      return "write";
  }
  return "unknown";
}

}  // namespace permsentry
