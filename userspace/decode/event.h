// Typed events: what the rest of the agent works with once the kernel's bytes have
// been checked and decoded.
#ifndef PERMSENTRY_DECODE_EVENT_H_
#define PERMSENTRY_DECODE_EVENT_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/kept.h"
#include "common/syscall_table.h"

namespace permsentry {

inline constexpr uint32_t kUnsetId = 4294967295u;  // (uid_t)-1: unset audit id, "unchanged"
inline constexpr int kAtFdCwd = -100;

// Process identity: (tgid, start time since boot). A bare pid is reused.
struct ProcKey {
  uint32_t pid = 0;
  uint64_t start_ns = 0;
  bool empty() const { return pid == 0; }
  bool operator==(const ProcKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const ProcKey& k) {
    return H::combine(std::move(h), k.pid, k.start_ns);
  }
};

struct Process {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t ppid = 0;
  uint32_t uid = 0;
  uint32_t euid = 0;
  uint32_t gid = 0;
  uint32_t egid = 0;
  uint32_t loginuid = kUnsetId;
  uint32_t sessionid = kUnsetId;
  uint64_t start_time_ns = 0;  // since boot
  uint64_t cgroup_id = 0;
  uint32_t tty = 0;  // controlling terminal dev_t (major << 20 | minor), 0 = none
  std::string comm;
  ProcKey key() const { return ProcKey{.pid = pid, .start_ns = start_time_ns}; }
};

// A process lifecycle record (PS_EV_PROC).
struct ProcEvent {
  enum class Kind { kFork = 1, kExec = 2, kExit = 3 };
  uint64_t ktime_ns = 0;
  absl::Time time;
  Kind kind = Kind::kFork;
  bool urgent = false;
  ProcKey key;
  ProcKey parent;       // who forked it
  ProcKey session;      // root of its AI session; empty: none
  uint32_t flags = 0;   // PS_PF_*
  uint32_t sig = 0;     // session roots: signature index
  uint32_t signal = 0;  // session roots: enum ps_ai_signal
  uint32_t uid = 0, euid = 0, loginuid = kUnsetId, sessionid = kUnsetId, tty = 0;
  std::string comm;
  std::string exe;   // exec: the path it was executed as
  std::string text;  // exec of a session root: what matched (env var, script)
  // exec: argv (at most PS_ARGS_MAX bytes of it; args_truncated: more there was)
  std::vector<std::string> args;
  bool args_truncated = false;
};

struct Creds {
  uint32_t uid = 0, euid = 0, suid = 0, fsuid = 0;
  uint32_t gid = 0, egid = 0, sgid = 0, fsgid = 0;
  uint64_t cap_inheritable = 0, cap_permitted = 0, cap_effective = 0, cap_ambient = 0;
  uint32_t userns = 0;  // inode number of the user namespace the capabilities hold in
  bool operator==(const Creds&) const = default;
};

// An inode as the kernel saw it, before or after the operation.
struct InodeState {
  uint64_t ino = 0;
  uint32_t dev = 0;  // kernel dev_t: major << 20 | minor
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
};

// Why an event involves a watched credential file (kernel identity check).
struct WatchMatch {
  uint32_t cls = 0;  // index into the watch list; kUnsetId when unverified
  uint32_t how = 0;  // PS_WM_*
};

// Who an event is attributed to (filled by the attribute stage, not decoded).
struct AncestryEntry {
  uint32_t pid = 0;
  std::string name;        // comm
  std::string executable;  // the path it was executed as; empty when unknown
};
struct Attribution {
  // kSuspected: no signature matched, but the process tree looks like an
  // agent's (see attribution.h); a heuristic, never reported as kAgent.
  enum class Kind { kNone, kAgent, kAssisted, kSuspected };
  Kind kind = Kind::kNone;
  std::string agent;
  std::string session_id;
  uint32_t root_pid = 0;
  ProcKey session_root;  // the session's root (agent) or the one it sat beside (assisted)
  std::vector<std::string> evidence;
  std::vector<AncestryEntry> ancestry;  // the process first, up to the session root
  // The process's program as its last exec (or its parent's at fork) left it:
  // process.executable and process.args.
  std::string executable;
  std::vector<std::string> args;
  bool args_truncated = false;
  // kAssisted by a human's own declaration (--assisted-by), not a neighbour.
  bool declared_advice = false;
};
const char* AttributionName(Attribution::Kind k);

// How an operation ended.
enum class Result : uint8_t {
  kUnknown = PS_RESULT_UNKNOWN,  // not known where it was seen (io_uring at submission)
  kOk = PS_RESULT_OK,
  kError = PS_RESULT_ERROR,
};

// Which hook saw it.
enum class Hook : uint8_t {
  kSyscall = PS_HOOK_SYSCALL,   // sys_enter/sys_exit tracepoints
  kIoUring = PS_HOOK_IO_URING,  // io_uring's submission tracepoint
  kFentry = PS_HOOK_FENTRY,     // fentry/fexit on the function doing the work
  kLsm = PS_HOOK_LSM,           // BPF-LSM
  kScan = PS_HOOK_SCAN,         // the startup scan: found open, not seen opening
  kFork = PS_HOOK_FORK,         // sched_process_fork: a child with credentials of its own
};
absl::string_view HookName(Hook h);

// Which object an operation acted on.
struct ObjectId {
  uint64_t ino = 0;
  uint32_t dev = 0;   // kernel dev_t: major << 20 | minor
  uint32_t mode = 0;  // type and permission bits when seen
};

// The tracepoint backend's view of the call as the caller made it: raw
// arguments and the strings read from its memory, interpreted with the syscall
// table (or the io_uring table). Absent on the rich backend.
struct CallArgs {
  std::array<uint64_t, 6> args{};
  int64_t ret = 0;          // raw return value (io_uring: 0)
  OptionalString path;      // bytes as given; may hold any byte but NUL
  bool path_fault = false;  // the call takes a path that could not be read
  // The path in the caller's memory was rewritten during the call (another
  // thread): `path` may name a decoy, not what the kernel acted on.
  bool path_changed = false;
  OptionalString path2;  // rename/link/symlink: the new name
  bool path2_fault = false;
  std::optional<int> fd;
  std::optional<int> dirfd;
  std::optional<int> dirfd2;
  std::optional<uint32_t> at_flags;
  std::optional<uint32_t> create_mode;  // open family with O_CREAT: the mode asked for
  // set*id: the ids asked for, in argument order (kUnsetId = "unchanged").
  std::vector<uint32_t> requested_ids;
  // How the kernel's dcache lookup of the path argument went (PS_LK_*).
  std::optional<uint16_t> lookup_flags;
};

// `repeats` more calls identical to the operation record with this
// coalesce_id, counted in the kernel between `first` and `last`.
struct RepeatsEvent {
  uint64_t coalesce_id = 0;
  uint64_t repeats = 0;
  absl::Time first, last;
  uint64_t last_ktime_ns = 0;
  bool final = false;  // the kernel forgot the record: no more repeats of it
};

// An operation's plain values (an OpEvent's fields that own no memory), kept
// apart so that an event is reset for the next record with one copy.
struct OpEventValues {
  uint64_t ktime_ns = 0;  // CLOCK_BOOTTIME
  absl::Time time;        // wall clock of ktime_ns
  // Non-zero: the kernel counts identical repeats of this record (see
  // RepeatsEvent) instead of sending them.
  uint64_t coalesce_id = 0;
  // A summary of such repeats: this many more calls identical to the event,
  // the first and the last at these times (`time` is the last's).
  uint64_t repeats = 0;
  absl::Time repeats_first, repeats_last;
  Op op = Op::kMode;
  Hook hook = Hook::kSyscall;
  absl::string_view action;  // event.action (static text)
  int action_index = -1;     // ActionIndex(action), set with it by the decoder
  Result result = Result::kUnknown;
  int errno_value = 0;  // Result::kError
  bool urgent = false;  // came through the wakeup ring
  bool io_uring = false;
  bool exchange = false;  // RENAME_EXCHANGE
  // The syscall the caller was in, when known, and its entry in the syscall
  // table (or the io_uring table) when it is one permsentry knows.
  std::optional<uint32_t> syscall_nr;
  bool compat = false;  // an ia32 syscall
  const SyscallInfo* sc = nullptr;

  bool success() const { return result != Result::kError; }
  int error() const { return result == Result::kError ? errno_value : 0; }

  // The object; its kernel-resolved path (OpEvent::path) is described by
  // path_flags, and for a rename or link the destination's (path2) by
  // path2_flags.
  std::optional<ObjectId> object;
  uint16_t path_flags = 0;  // PS_PATH_*
  // Leading bytes of the path that are the caller's root, when that is not
  // the host's (a chroot): the rest is the caller's own view.
  uint16_t path_root_len = 0;
  uint16_t path2_flags = 0;
  uint16_t path2_root_len = 0;
  std::optional<InodeState> inode_before;
  std::optional<InodeState> inode_after;

  // What the operation sets, as the hook saw it.
  std::optional<uint32_t> mode;   // chmod: the mode set; creation: the mode created with
  std::optional<uint32_t> owner;  // chown: new uid (absent when -1, "unchanged")
  std::optional<uint32_t> group;  // chown: new gid (absent when -1)
  std::optional<uint32_t> rdev;   // mknod: the device number
  std::optional<uint32_t> open_flags;
  std::optional<uint32_t> xattr_flags;  // XATTR_CREATE / XATTR_REPLACE
  bool xattr_name_fault = false;
  uint32_t xattr_value_size = 0;  // the xattr value's whole size
  bool xattr_value_fault = false;
  bool xattr_user_copy = false;         // name/value read from the caller, not the kernel's copy
  std::optional<uint32_t> mount_flags;  // mounts: MS_*, MOVE_MOUNT_* or MNT_* flags
  std::optional<Creds> creds_before;
  std::optional<Creds> creds_after;

  // Set when a watched credential file is involved.
  std::optional<WatchMatch> watch;

  // From the kernel's process table at the time of the call.
  uint32_t proc_flags = 0;  // PS_PF_*
  ProcKey ai_session;       // root of the caller's AI session; empty: none
};

// One operation, whichever backend and hook saw it.
struct OpEvent : OpEventValues {
  Process proc;
  OptionalString path;   // the object's kernel-resolved path (see path_flags)
  OptionalString path2;  // a rename's or link's destination (see path2_flags)
  OptionalString xattr_name;
  OptionalString xattr_value;  // bytes captured (bounded; see xattr_value_size)
  OptionalString text;         // symlink target, mount source, exec'd binary
  OptionalString fstype;       // mounts: the file system type
  // Supplementary groups a credential change set: the list after it, and the
  // one before when known (rich backend; the tracepoint backend has the after).
  std::optional<std::vector<uint32_t>> groups_before, groups_after;

  // The call as made (tracepoint backend only).
  Kept<CallArgs> call;

  // Filled by the attribute stage before rendering (shared: every event of a
  // process between two changes of the process table has the same one).
  // Null renders as "none".
  std::shared_ptr<const Attribution> ai;

  // A default event again (the pipeline decodes every record into one event):
  // the values in one copy, the strings emptied with their buffers kept.
  void Recycle();
};

}  // namespace permsentry

#endif  // PERMSENTRY_DECODE_EVENT_H_
