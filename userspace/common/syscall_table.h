// The syscalls the tracepoint backend watches, by name and number: the
// operation each performs and what its arguments mean. The BPF side learns the
// number → argument layout from this table at load (ps_sc_desc rodata); the
// decoder uses it to name a syscall and to interpret the trailer of arguments
// the tracepoint backend sends.
#ifndef PERMSENTRY_COMMON_SYSCALL_TABLE_H_
#define PERMSENTRY_COMMON_SYSCALL_TABLE_H_

#include <cstdint>
#include <span>
#include "absl/strings/string_view.h"

#include "common/ops.h"
#include "permsentry/abi/events.h"

namespace permsentry {

// Which of the caller's ids a set*id call targets (for naming its arguments).
enum class IdKind : uint8_t { kNone, kUid, kGid };

inline constexpr int8_t kNoArg = -1;

struct SyscallInfo {
  absl::string_view name;    // exact kernel name, e.g. "fchmodat2", "chown32"
  absl::string_view action;  // event.action of a credential call, e.g. "setresuid"
  Op op;                     // the operation it performs
  int16_t nr;                // syscall number in its ABI
  bool compat;               // ia32 ABI (int 0x80 / sysenter from any process)
  bool uid16;                // legacy ia32 call with 16-bit ids (0xffff means "unchanged")
  bool nofollow;             // acts on a symlink itself (lchown, lsetxattr, lremovexattr)
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
  int8_t create_mode_arg = kNoArg;  // open family, mkdir, mknod: mode of a created object
  uint8_t oflags_mode = PS_OFL_DIRECT;
  uint8_t name_sides = 0;  // name ops: 1 = path is a name to check, 2 = path2 is
  IdKind id_kind = IdKind::kNone;
  int8_t id_args = 0;  // set*id: how many ids it takes (1, 2 or 3), from arg 0
  bool value_is_xattr_args = false;
  bool io_uring = false;  // an io_uring opcode (nr is IORING_OP_*), not a syscall
  bool creds_if = false;  // reported only when it changed the caller's credentials
};

// Every watched syscall, native and ia32.
std::span<const SyscallInfo> AllSyscalls();

// The entry for a number seen in an event, or nullptr when not watched.
const SyscallInfo* LookupSyscall(uint32_t nr, bool compat);

// The name of a syscall outside the table that the rich backend may find a
// change made in (io_uring_enter, execve, unshare, prctl, ...), or "".
absl::string_view OtherSyscallName(uint32_t nr, bool compat);

// The io_uring operations reported (PS_SC_F_IO_URING records), by opcode.
std::span<const SyscallInfo> AllIoUringOps();
const SyscallInfo* LookupIoUringOp(uint32_t opcode);

// Fill the BPF descriptor table and fast-reject bitmap (rodata, before load).
void FillBpfTables(struct ps_sc_desc (&desc)[PS_DESC_SLOTS], __u64 (&any)[PS_NR_SLOTS / 64]);

}  // namespace permsentry

#endif  // PERMSENTRY_COMMON_SYSCALL_TABLE_H_
