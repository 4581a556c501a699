// The syscalls permsentry watches, by name and number, and what their arguments
// mean. The BPF side learns the number → argument layout from this table at load
// (ps_sc_desc rodata); the decoder uses it to name and interpret each argument.
#ifndef PERMSENTRY_COMMON_SYSCALL_TABLE_H_
#define PERMSENTRY_COMMON_SYSCALL_TABLE_H_

#include <cstdint>
#include <span>
#include "absl/strings/string_view.h"

#include "permsentry/abi/events.h"

namespace permsentry {

enum class Family : uint8_t {
  kChmod,
  kChown,
  kSetId,      // set*id: the caller's uids or gids
  kSetGroups,  // supplementary groups
  kCapset,
  kSetXattr,
  kRemoveXattr,
  // Reported only when a watched credential file is involved:
  kOpen,      // open family with write intent
  kTruncate,  // truncate / ftruncate
  kRename,    // rename family: path → path2
  kLink,      // hard link: path (existing) → path2 (new name)
  kSymlink,   // symlink: path (target text) → path2 (new name)
  kUnlink,    // unlink, unlinkat, rmdir
};

// Does the family report only touches of watched credential files?
inline bool IsCredfileFamily(Family f) {
  return f == Family::kOpen || f == Family::kTruncate || f == Family::kRename ||
         f == Family::kLink || f == Family::kSymlink || f == Family::kUnlink;
}

// Which of the caller's ids a set*id call targets (for naming its arguments).
enum class IdKind : uint8_t { kNone, kUid, kGid };

inline constexpr int8_t kNoArg = -1;

struct SyscallInfo {
  absl::string_view name;    // exact kernel name, e.g. "fchmodat2", "chown32"
  absl::string_view action;  // event.action, e.g. "chmod", "setresuid"
  Family family;
  int16_t nr;     // syscall number in its ABI
  bool compat;    // ia32 ABI (int 0x80 / sysenter from any process)
  bool uid16;     // legacy ia32 call with 16-bit ids (0xffff means "unchanged")
  bool nofollow;  // acts on a symlink itself (lchown, lsetxattr, lremovexattr)
  int8_t fd_arg = kNoArg;
  int8_t dirfd_arg = kNoArg;
  int8_t path_arg = kNoArg;
  int8_t mode_arg = kNoArg;
  int8_t uid_arg = kNoArg;    // chown family target owner
  int8_t gid_arg = kNoArg;    // chown family target group
  int8_t flags_arg = kNoArg;  // AT_* flags (fchmodat2, fchownat, *xattrat), or xattr flags
  int8_t name_arg = kNoArg;   // xattr name
  int8_t value_arg = kNoArg;  // xattr value (or struct xattr_args for setxattrat)
  int8_t size_arg = kNoArg;   // xattr value size
  int8_t path2_arg = kNoArg;  // rename/link/symlink: the new name
  int8_t dirfd2_arg = kNoArg;
  int8_t oflags_arg = kNoArg;       // open flags (or struct open_how for openat2)
  int8_t create_mode_arg = kNoArg;  // open family: mode of a created file
  uint8_t oflags_mode = PS_OFL_DIRECT;
  uint8_t name_sides = 0;  // name ops: 1 = path is a name to check, 2 = path2 is
  IdKind id_kind = IdKind::kNone;
  int8_t id_args = 0;  // set*id: how many ids it takes (1, 2 or 3), from arg 0
  bool value_is_xattr_args = false;
  bool io_uring = false;  // an io_uring opcode (nr is IORING_OP_*), not a syscall
};

// Every watched syscall, native and ia32.
std::span<const SyscallInfo> AllSyscalls();

// The entry for a number seen in an event, or nullptr when not watched.
const SyscallInfo* LookupSyscall(uint32_t nr, bool compat);

// The io_uring operations reported (PS_SC_F_IO_URING records), by opcode.
std::span<const SyscallInfo> AllIoUringOps();
const SyscallInfo* LookupIoUringOp(uint32_t opcode);

// Fill the BPF descriptor table and fast-reject bitmap (rodata, before load).
void FillBpfTables(struct ps_sc_desc (&desc)[PS_DESC_SLOTS], __u64 (&any)[PS_NR_SLOTS / 64]);

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_SYSCALL_TABLE_H_
