#include "decode/decode.h"

#include <fcntl.h>
#include <stdio.h>  // RENAME_EXCHANGE
#include <time.h>

#include <cstring>
#include <new>
#include <optional>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "common/actions.h"
#include "decode/abi_check.h"

namespace permsentry {
namespace {

int64_t ClockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Creds ToCreds(const ps_creds& c) {
  return Creds{.uid = c.uid,
               .euid = c.euid,
               .suid = c.suid,
               .fsuid = c.fsuid,
               .gid = c.gid,
               .egid = c.egid,
               .sgid = c.sgid,
               .fsgid = c.fsgid,
               .cap_inheritable = c.cap_inheritable,
               .cap_permitted = c.cap_permitted,
               .cap_effective = c.cap_effective,
               .cap_ambient = c.cap_ambient,
               .userns = c.userns};
}

// An id argument as the kernel reads it: uid_t is 32 bits; the legacy ia32 calls
// take 16-bit ids where 0xffff means "leave unchanged".
uint32_t IdArg(uint64_t raw, bool uid16) {
  if (uid16) {
    const uint16_t v = static_cast<uint16_t>(raw);
    return v == 0xffff ? kUnsetId : v;
  }
  return static_cast<uint32_t>(raw);
}

std::string CommString(const char (&comm)[PS_COMM_LEN]) {
  return std::string(comm, strnlen(comm, PS_COMM_LEN));
}

}  // namespace

int64_t BootToRealtimeOffsetNs() { return ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_BOOTTIME); }

uint16_t RecordType(absl::Span<const uint8_t> record) {
  ps_event_header h;
  if (record.size() < sizeof(h)) return 0;
  std::memcpy(&h, record.data(), sizeof(h));
  return h.type;
}

absl::StatusOr<ProcEvent> DecodeProcEvent(absl::Span<const uint8_t> record,
                                          const DecodeOptions& options) {
  ps_proc_event raw;
  if (record.size() < sizeof(raw)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("process record too short: %d bytes, need %d", record.size(), sizeof(raw)));
  }
  std::memcpy(&raw, record.data(), sizeof(raw));
  if (raw.hdr.abi_version != PS_ABI_VERSION) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "record ABI version %d, this agent speaks %d", raw.hdr.abi_version, PS_ABI_VERSION));
  }
  if (raw.hdr.type != PS_EV_PROC) {
    return absl::InvalidArgumentError(
        absl::StrFormat("record type %d is not a process event", raw.hdr.type));
  }
  if (raw.hdr.size < sizeof(raw) || raw.hdr.size > record.size()) {
    return absl::InvalidArgumentError(absl::StrFormat("record size field %d out of range [%d, %d]",
                                                      raw.hdr.size, sizeof(raw), record.size()));
  }
  if (raw.kind < PS_PROC_FORK || raw.kind > PS_PROC_EXIT) {
    return absl::InvalidArgumentError(absl::StrFormat("process record kind %d unknown", raw.kind));
  }
  if (raw.exe_len >= PS_EXE_MAX || raw.text_len >= PS_AI_TEXT_MAX || raw.args_len > PS_ARGS_MAX) {
    return absl::InvalidArgumentError(
        absl::StrFormat("process record lengths out of bounds: exe %d, text %d, args %d",
                        raw.exe_len, raw.text_len, raw.args_len));
  }
  // With arguments or text, the executable's slot is PS_EXE_MAX long, the
  // arguments follow, and the text starts at PS_PROC_TEXT_OFF.
  const size_t need = sizeof(raw) + (raw.text_len > 0   ? PS_PROC_TEXT_OFF + size_t{raw.text_len}
                                     : raw.args_len > 0 ? PS_EXE_MAX + size_t{raw.args_len}
                                                        : raw.exe_len);
  if (need > raw.hdr.size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "process record tail of %d bytes overruns record of %d", need - sizeof(raw), raw.hdr.size));
  }
  ProcEvent ev;
  ev.ktime_ns = raw.hdr.ktime;
  ev.time = absl::FromUnixNanos(static_cast<int64_t>(raw.hdr.ktime) + options.boot_to_realtime_ns);
  ev.kind = static_cast<ProcEvent::Kind>(raw.kind);
  const auto key = [](const ps_proc_key& k) { return ProcKey{.pid = k.tgid, .start_ns = k.start}; };
  ev.key = key(raw.key);
  ev.parent = key(raw.info.parent);
  ev.session = key(raw.info.session);
  ev.flags = raw.info.flags;
  ev.sig = raw.info.sig;
  ev.signal = raw.info.signal;
  ev.uid = raw.uid;
  ev.euid = raw.euid;
  ev.loginuid = raw.info.loginuid;
  ev.sessionid = raw.info.sessionid;
  ev.tty = raw.info.tty;
  ev.comm = CommString(raw.info.comm);
  const char* tail = reinterpret_cast<const char*>(record.data()) + sizeof(raw);
  ev.exe.assign(tail, raw.exe_len);
  if (raw.text_len > 0) ev.text.assign(tail + PS_PROC_TEXT_OFF, raw.text_len);
  if (raw.args_len > 0) {
    // argv as the kernel keeps it: NUL-terminated strings, the last one cut
    // (and unterminated) when the whole did not fit.
    absl::string_view a(tail + PS_EXE_MAX, raw.args_len);
    while (!a.empty()) {
      const size_t nul = a.find('\0');
      ev.args.emplace_back(a.substr(0, nul));
      if (nul == absl::string_view::npos) break;
      a.remove_prefix(nul + 1);
    }
    ev.args_truncated = (raw.args_flags & PS_PROC_ARGS_TRUNCATED) != 0;
  }
  return ev;
}

namespace {

// event.action: what the operation is called in the stream. Credential calls
// keep their syscall's name (setresuid, capset); the operations reported only
// for watched credential files are credfile_*.
absl::string_view ActionOf(Op op, const SyscallInfo* sc, bool watched) {
  switch (op) {
    case Op::kMode:
      return "chmod";
    case Op::kOwner:
      return "chown";
    case Op::kXattrSet:
      return "setxattr";
    case Op::kXattrRemove:
      return "removexattr";
    case Op::kCreds:
      return sc != nullptr && IsCredsOp(sc->op) ? sc->action : absl::string_view("cred_change");
    case Op::kExecCreds:
      return "exec_setid";
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
      return watched ? "credfile_rename" : "rename";
    case Op::kLink:
      return watched ? "credfile_link" : "link";
    case Op::kSymlink:
      return watched ? "credfile_symlink" : "symlink";
    case Op::kUnlink:
      return watched ? "credfile_unlink" : "unlink";
    case Op::kWriteOpen:
      return watched ? "credfile_write" : "write_open";
    case Op::kTruncate:
      return watched ? "credfile_truncate" : "truncate";
    case Op::kWrite:
      return watched ? "credfile_write" : "write";
  }
  return "unknown";
}

InodeState ToInode(const ps_inode_state& s) {
  return InodeState{
      .ino = s.ino, .dev = s.dev, .mode = s.mode, .uid = s.uid, .gid = s.gid, .nlink = s.nlink};
}

// The trailer of arguments, read with the table entry of the call it is for.
absl::Status DecodeTrailer(absl::Span<const uint8_t> bytes, const SyscallInfo& sc, OpEvent& ev) {
  ps_sc_trailer t;
  if (bytes.size() < sizeof(t)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("trailer of %d bytes, need at least %d", bytes.size(), sizeof(t)));
  }
  std::memcpy(&t, bytes.data(), sizeof(t));
  if (t.path_len >= PS_PATH_MAX || t.path2_len >= PS_PATH_MAX ||
      sizeof(t) + size_t{t.path_len} + t.path2_len != bytes.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("trailer lengths path %d, path2 %d do not fill its %d bytes", t.path_len,
                        t.path2_len, bytes.size()));
  }
  CallArgs& c = ev.call.emplace();
  std::memcpy(c.args.data(), t.args, sizeof(t.args));
  c.ret = t.ret;
  const char* p = reinterpret_cast<const char*>(bytes.data()) + sizeof(t);
  if (sc.path_arg != kNoArg) {
    if (t.flags & PS_TF_PATH_FAULT) {
      c.path_fault = true;
    } else {
      c.path.emplace(p, t.path_len);
    }
  }
  p += t.path_len;
  if (sc.path2_arg != kNoArg) {
    if (t.flags & PS_TF_PATH2_FAULT) {
      c.path2_fault = true;
    } else {
      c.path2.emplace(p, t.path2_len);
    }
  }
  if (t.flags & PS_TF_LOOKUP) c.lookup_flags = t.lookup_flags;
  c.path_changed = t.flags & PS_TF_PATH_CHANGED;
  const auto arg = [&](int8_t i) { return c.args[static_cast<size_t>(i)]; };
  if (sc.fd_arg != kNoArg) c.fd = static_cast<int>(arg(sc.fd_arg));
  if (sc.dirfd_arg != kNoArg) c.dirfd = static_cast<int>(arg(sc.dirfd_arg));
  if (sc.dirfd2_arg != kNoArg) c.dirfd2 = static_cast<int>(arg(sc.dirfd2_arg));
  if (sc.op == Op::kWriteOpen && sc.create_mode_arg != kNoArg && ev.open_flags &&
      (*ev.open_flags & O_CREAT))
    c.create_mode = static_cast<uint32_t>(arg(sc.create_mode_arg)) & 07777;
  if ((sc.op == Op::kMkdir || sc.op == Op::kMknod) && sc.create_mode_arg != kNoArg)
    c.create_mode = static_cast<uint32_t>(arg(sc.create_mode_arg)) & 07777;
  if (sc.flags_arg != kNoArg && !(sc.op == Op::kXattrSet && !sc.value_is_xattr_args))
    c.at_flags = static_cast<uint32_t>(arg(sc.flags_arg));
  for (int i = 0; i < sc.id_args; ++i) c.requested_ids.push_back(IdArg(arg(i), sc.uid16));
  // The legacy 16-bit chown calls: the kernel widened 0xffff ("unchanged").
  if (sc.uid16 && sc.uid_arg != kNoArg) {
    const uint32_t uid = IdArg(arg(sc.uid_arg), true), gid = IdArg(arg(sc.gid_arg), true);
    ev.owner = uid == kUnsetId ? std::nullopt : std::optional<uint32_t>(uid);
    ev.group = gid == kUnsetId ? std::nullopt : std::optional<uint32_t>(gid);
  }
  return absl::OkStatus();
}

}  // namespace

static_assert(std::is_trivially_copyable_v<OpEventValues>,
              "OpEventValues is reset with one copy: a field that owns memory goes in OpEvent");
// Every field of OpEvent beyond its values, counted: one added here must be
// reset in Recycle() too (then count it in).
static_assert(sizeof(OpEvent) ==
                  sizeof(OpEventValues) + sizeof(Process) + 6 * sizeof(OptionalString) +
                      2 * sizeof(std::optional<std::vector<uint32_t>>) + sizeof(Kept<CallArgs>) +
                      sizeof(std::shared_ptr<const Attribution>),
              "a field was added to OpEvent: reset it in OpEvent::Recycle()");

void OpEvent::Recycle() {
  static const OpEventValues kDefault;  // copied, not built field by field
  static_cast<OpEventValues&>(*this) = kDefault;
  proc = Process();
  path.reset();
  path2.reset();
  xattr_name.reset();
  xattr_value.reset();
  text.reset();
  fstype.reset();
  groups_before.reset();
  groups_after.reset();
  call.reset();  // its strings keep their buffers for the next call's
  ai.reset();
}

absl::string_view HookName(Hook h) {
  switch (h) {
    case Hook::kSyscall:
      return "syscall_tracepoint";
    case Hook::kIoUring:
      return "io_uring_tracepoint";
    case Hook::kFentry:
      return "fentry";
    case Hook::kLsm:
      return "lsm";
    case Hook::kScan:
      return "startup_scan";
    case Hook::kFork:
      return "fork_tracepoint";
  }
  return "unknown";
}

absl::Status DecodeOpEventInto(absl::Span<const uint8_t> record, const DecodeOptions& options,
                               OpEvent& ev) {
  ps_op_event raw;
  if (record.size() < sizeof(raw)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "operation record too short: %d bytes, need %d", record.size(), sizeof(raw)));
  }
  // Copy out: ring samples are aligned, fuzz inputs and future callers need not be.
  std::memcpy(&raw, record.data(), sizeof(raw));
  if (raw.hdr.abi_version != PS_ABI_VERSION) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "record ABI version %d, this agent speaks %d", raw.hdr.abi_version, PS_ABI_VERSION));
  }
  if (raw.hdr.type != PS_EV_OP) {
    return absl::InvalidArgumentError(
        absl::StrFormat("record type %d is not an operation", raw.hdr.type));
  }
  if (raw.hdr.size < sizeof(raw) || raw.hdr.size > record.size()) {
    return absl::InvalidArgumentError(absl::StrFormat("record size field %d out of range [%d, %d]",
                                                      raw.hdr.size, sizeof(raw), record.size()));
  }
  const std::optional<Op> op = OpFromRaw(raw.op);
  if (!op) return absl::InvalidArgumentError(absl::StrFormat("operation %d unknown", raw.op));
  if (raw.hook < PS_HOOK_SYSCALL || raw.hook > PS_HOOK_FORK || raw.result > PS_RESULT_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrFormat("hook %d or result %d unknown", raw.hook, raw.result));
  }
  if (raw.path_len >= PS_PATH_MAX || raw.path2_len >= PS_PATH_MAX ||
      raw.name_len >= PS_XATTR_NAME_MAX || raw.value_len > PS_XATTR_VALUE_MAX ||
      raw.text_len >= PS_TEXT_MAX) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tail lengths out of bounds: path %d, path2 %d, name %d, value %d, text %d",
                        raw.path_len, raw.path2_len, raw.name_len, raw.value_len, raw.text_len));
  }
  if (raw.path_root_len > raw.path_len || raw.path2_root_len > raw.path2_len) {
    return absl::InvalidArgumentError(absl::StrFormat("root lengths %d, %d beyond paths of %d, %d",
                                                      raw.path_root_len, raw.path2_root_len,
                                                      raw.path_len, raw.path2_len));
  }
  const size_t tail = size_t{raw.path_len} + raw.path2_len + raw.name_len + raw.value_len +
                      raw.text_len + raw.trailer_len;
  if (sizeof(raw) + tail > raw.hdr.size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tail of %d bytes overruns record of %d", tail, raw.hdr.size));
  }
  const bool io_uring = raw.flags & PS_OF_IO_URING;
  const bool compat = raw.flags & PS_OF_COMPAT;
  const Hook hook = static_cast<Hook>(raw.hook);

  ev.Recycle();  // whatever it held: a default event, its buffers kept

  ev.ktime_ns = raw.hdr.ktime;
  ev.coalesce_id = raw.coalesce_id;
  ev.time = absl::FromUnixNanos(static_cast<int64_t>(raw.hdr.ktime) + options.boot_to_realtime_ns);
  // Field by field into the event's own (its comm keeps its buffer).
  Process& pr = ev.proc;
  pr.pid = raw.proc.pid;
  pr.tid = raw.proc.tid;
  pr.ppid = raw.proc.ppid;
  pr.uid = raw.proc.uid;
  pr.euid = raw.proc.euid;
  pr.gid = raw.proc.gid;
  pr.egid = raw.proc.egid;
  pr.loginuid = raw.proc.loginuid;
  pr.sessionid = raw.proc.sessionid;
  pr.start_time_ns = raw.proc.start_time;
  pr.cgroup_id = raw.proc.cgroup_id;
  pr.tty = raw.proc.tty;
  pr.comm.assign(raw.proc.comm, strnlen(raw.proc.comm, PS_COMM_LEN));
  ev.op = *op;
  ev.hook = hook;
  ev.result = static_cast<Result>(raw.result);
  ev.errno_value = ev.result == Result::kError ? raw.error : 0;
  ev.urgent = raw.flags & PS_OF_URGENT;
  ev.io_uring = io_uring;
  ev.exchange = raw.flags & PS_OF_EXCHANGE;
  ev.proc_flags = raw.proc_flags;
  ev.ai_session = ProcKey{.pid = raw.ai_session.tgid, .start_ns = raw.ai_session.start};
  if (raw.flags & PS_OF_SYSCALL) {
    ev.syscall_nr = raw.syscall_nr;
    ev.compat = compat;
    ev.sc = LookupSyscall(raw.syscall_nr, compat);
  } else if (io_uring && hook == Hook::kIoUring) {
    ev.syscall_nr = raw.syscall_nr;  // the request's IORING_OP_*
    ev.sc = LookupIoUringOp(raw.syscall_nr);
  }
  if (raw.flags & PS_OF_WATCHED)
    ev.watch = WatchMatch{.cls = raw.watch_class, .how = raw.watch_how};
  if (hook == Hook::kScan) {
    // The startup scan puts the holder's fd where a syscall number would be.
    CallArgs c;
    c.fd = static_cast<int>(raw.syscall_nr);
    ev.call = std::move(c);
  }
  // A child made in a new user namespace (clone, clone3): the fork is the change.
  ev.action = hook == Hook::kFork ? absl::string_view("clone")
                                  : ActionOf(ev.op, ev.sc, ev.watch.has_value());
  ev.action_index = StaticActionIndex(ev.action);

  if (raw.flags & PS_OF_OBJECT)
    ev.object = ObjectId{.ino = raw.obj.ino, .dev = raw.obj.dev, .mode = raw.obj.mode};
  if (raw.flags & PS_OF_BEFORE) ev.inode_before = ToInode(raw.before);
  if (raw.flags & PS_OF_AFTER) ev.inode_after = ToInode(raw.after);
  if (raw.flags & PS_OF_MODE) ev.mode = raw.mode & 07777;
  if (raw.flags & PS_OF_OWNER) {
    if (raw.uid != kUnsetId) ev.owner = raw.uid;
    if (raw.gid != kUnsetId) ev.group = raw.gid;
  }
  if (raw.flags & PS_OF_RDEV) ev.rdev = raw.rdev;
  if (raw.flags & PS_OF_OPEN) ev.open_flags = raw.open_flags;
  if (raw.flags & PS_OF_MOUNT_FLAGS) ev.mount_flags = raw.open_flags;
  if (raw.flags & PS_OF_XATTR_FLAGS) ev.xattr_flags = raw.xattr_flags;
  if (raw.flags & PS_OF_CREDS) {
    ev.creds_before = ToCreds(raw.creds_before);
    ev.creds_after = ToCreds(raw.creds_after);
    // The actor of a credential change is who the caller was when it asked, not
    // what it became: user.* reports the ids from before the call.
    ev.proc.uid = ev.creds_before->uid;
    ev.proc.euid = ev.creds_before->euid;
    ev.proc.gid = ev.creds_before->gid;
    ev.proc.egid = ev.creds_before->egid;
  }

  const char* p = reinterpret_cast<const char*>(record.data()) + sizeof(raw);
  ev.path_flags = raw.path_flags;
  ev.path_root_len = raw.path_root_len;
  if (raw.path_len > 0) ev.path.emplace(p, raw.path_len);
  p += raw.path_len;
  ev.path2_flags = raw.path2_flags;
  ev.path2_root_len = raw.path2_root_len;
  if (raw.path2_len > 0) ev.path2.emplace(p, raw.path2_len);
  p += raw.path2_len;
  ev.xattr_user_copy = raw.flags & PS_OF_USER_COPY;
  if (raw.flags & PS_OF_FSTYPE) {
    // A mount's type in the name slot (a fault there: no type was given).
    if (!(raw.flags & PS_OF_NAME_FAULT) && raw.name_len > 0) ev.fstype.emplace(p, raw.name_len);
  } else if (raw.flags & PS_OF_NAME_FAULT) {
    ev.xattr_name_fault = true;
  } else if (raw.flags & PS_OF_NAME) {
    ev.xattr_name.emplace(p, raw.name_len);
  }
  p += raw.name_len;
  if (raw.flags & PS_OF_GROUPS) {
    // u32 count before (or unknown), those gids, then the gids after.
    if (raw.value_len < 4 || raw.value_len % 4 != 0)
      return absl::InvalidArgumentError(
          absl::StrFormat("group lists of %d bytes, not a whole number of gids", raw.value_len));
    std::vector<uint32_t> v(raw.value_len / 4);
    std::memcpy(v.data(), p, raw.value_len);
    size_t at = 1;
    if (v[0] != PS_GROUPS_UNKNOWN) {
      if (v[0] > v.size() - 1)
        return absl::InvalidArgumentError(
            absl::StrFormat("%d groups before, in a list of %d", v[0], v.size() - 1));
      ev.groups_before.emplace(v.begin() + 1, v.begin() + 1 + v[0]);
      at += v[0];
    }
    ev.groups_after.emplace(v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  } else if (raw.flags & PS_OF_VALUE) {
    ev.xattr_value_size = raw.value_size;
    ev.xattr_value_fault = raw.flags & PS_OF_VALUE_FAULT;
    ev.xattr_value.emplace(p, raw.value_len);
  }
  p += raw.value_len;
  if (raw.text_len > 0) ev.text.emplace(p, raw.text_len);
  p += raw.text_len;
  if (raw.trailer_len > 0) {
    if (ev.sc == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("argument trailer for %s %d, which is not a watched %s",
                          io_uring ? "io_uring opcode" : "syscall", raw.syscall_nr,
                          io_uring ? "operation"
                          : compat ? "ia32 syscall"
                                   : "x86-64 syscall"));
    }
    absl::Status s = DecodeTrailer(
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(p), raw.trailer_len), *ev.sc,
        ev);
    if (!s.ok()) return s;
    // renameat2(RENAME_EXCHANGE) as the caller asked it (the tracepoint
    // backend has no kernel flag for it).
    if (ev.op == Op::kRename && ev.sc->name == "renameat2" && ev.call && ev.call->at_flags &&
        (*ev.call->at_flags & RENAME_EXCHANGE))
      ev.exchange = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<OpEvent> DecodeOpEvent(absl::Span<const uint8_t> record,
                                      const DecodeOptions& options) {
  OpEvent ev;
  if (absl::Status s = DecodeOpEventInto(record, options, ev); !s.ok()) return s;
  return ev;
}

absl::StatusOr<RepeatsEvent> DecodeRepeatsEvent(absl::Span<const uint8_t> record,
                                                const DecodeOptions& options) {
  ps_repeats_event raw;
  if (record.size() < sizeof(raw)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("repeats record too short: %d bytes, need %d", record.size(), sizeof(raw)));
  }
  std::memcpy(&raw, record.data(), sizeof(raw));
  if (raw.hdr.abi_version != PS_ABI_VERSION) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "record ABI version %d, this agent speaks %d", raw.hdr.abi_version, PS_ABI_VERSION));
  }
  if (raw.hdr.type != PS_EV_REPEATS || raw.hdr.size < sizeof(raw) || raw.hdr.size > record.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("not a repeats record (type %d, size %d)", raw.hdr.type, raw.hdr.size));
  }
  if (raw.coalesce_id == 0 || raw.repeats == 0 || raw.first_ktime > raw.last_ktime) {
    return absl::InvalidArgumentError(
        absl::StrFormat("repeats record out of range: id %d, %d repeats, %d..%d", raw.coalesce_id,
                        raw.repeats, raw.first_ktime, raw.last_ktime));
  }
  const auto wall = [&](uint64_t k) {
    return absl::FromUnixNanos(static_cast<int64_t>(k) + options.boot_to_realtime_ns);
  };
  return RepeatsEvent{.coalesce_id = raw.coalesce_id,
                      .repeats = raw.repeats,
                      .first = wall(raw.first_ktime),
                      .last = wall(raw.last_ktime),
                      .last_ktime_ns = raw.last_ktime,
                      .final = (raw.flags & PS_RF_FINAL) != 0};
}

}  // namespace permsentry
