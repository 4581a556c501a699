#include "decode/decode.h"

#include <fcntl.h>
#include <time.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
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
               .cap_effective = c.cap_effective};
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
  if (raw.exe_len >= PS_EXE_MAX || raw.text_len >= PS_AI_TEXT_MAX) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "process record lengths out of bounds: exe %d, text %d", raw.exe_len, raw.text_len));
  }
  // The text, when there is one, starts PS_EXE_MAX bytes into the tail.
  const size_t need =
      sizeof(raw) + (raw.text_len > 0 ? PS_EXE_MAX + size_t{raw.text_len} : raw.exe_len);
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
  if (raw.text_len > 0) ev.text.assign(tail + PS_EXE_MAX, raw.text_len);
  return ev;
}

absl::StatusOr<SyscallEvent> DecodeSyscallEvent(absl::Span<const uint8_t> record,
                                                const DecodeOptions& options) {
  ps_syscall_event raw;
  if (record.size() < sizeof(raw)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("syscall record too short: %d bytes, need %d", record.size(), sizeof(raw)));
  }
  // Copy out: ring samples are aligned, fuzz inputs and future callers need not be.
  std::memcpy(&raw, record.data(), sizeof(raw));
  if (raw.hdr.abi_version != PS_ABI_VERSION) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "record ABI version %d, this agent speaks %d", raw.hdr.abi_version, PS_ABI_VERSION));
  }
  if (raw.hdr.type != PS_EV_SYSCALL) {
    return absl::InvalidArgumentError(
        absl::StrFormat("record type %d is not a syscall event", raw.hdr.type));
  }
  if (raw.hdr.size < sizeof(raw) || raw.hdr.size > record.size()) {
    return absl::InvalidArgumentError(absl::StrFormat("record size field %d out of range [%d, %d]",
                                                      raw.hdr.size, sizeof(raw), record.size()));
  }
  if (raw.path_len >= PS_PATH_MAX || raw.name_len >= PS_XATTR_NAME_MAX ||
      raw.value_len > PS_XATTR_VALUE_MAX || raw.path2_len >= PS_PATH_MAX ||
      raw.resolved_len > PS_PATH_MAX) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tail lengths out of bounds: path %d, name %d, value %d, path2 %d, resolved %d",
        raw.path_len, raw.name_len, raw.value_len, raw.path2_len, raw.resolved_len));
  }
  const size_t tail =
      size_t{raw.path_len} + raw.name_len + raw.value_len + raw.path2_len + raw.resolved_len;
  if (sizeof(raw) + tail > raw.hdr.size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tail of %d bytes overruns record of %d", tail, raw.hdr.size));
  }
  const bool compat = raw.flags & PS_SC_F_COMPAT;
  const bool io_uring = raw.flags & PS_SC_F_IO_URING;
  const SyscallInfo* sc = io_uring ? LookupIoUringOp(raw.nr) : LookupSyscall(raw.nr, compat);
  if (sc == nullptr) {
    if (io_uring) {
      return absl::InvalidArgumentError(
          absl::StrFormat("io_uring opcode %d is not a watched operation", raw.nr));
    }
    return absl::InvalidArgumentError(absl::StrFormat("syscall %d (%s) is not a watched syscall",
                                                      raw.nr, compat ? "ia32" : "x86-64"));
  }

  SyscallEvent ev;
  ev.ktime_ns = raw.hdr.ktime;
  ev.time = absl::FromUnixNanos(static_cast<int64_t>(raw.hdr.ktime) + options.boot_to_realtime_ns);
  ev.proc = Process{.pid = raw.proc.pid,
                    .tid = raw.proc.tid,
                    .ppid = raw.proc.ppid,
                    .uid = raw.proc.uid,
                    .euid = raw.proc.euid,
                    .gid = raw.proc.gid,
                    .egid = raw.proc.egid,
                    .loginuid = raw.proc.loginuid,
                    .sessionid = raw.proc.sessionid,
                    .start_time_ns = raw.proc.start_time,
                    .cgroup_id = raw.proc.cgroup_id,
                    .tty = raw.proc.tty,
                    .comm = CommString(raw.proc.comm)};
  ev.proc_flags = raw.proc_flags;
  ev.ai_session = ProcKey{.pid = raw.ai_session.tgid, .start_ns = raw.ai_session.start};
  ev.sc = sc;
  ev.compat = compat;
  ev.urgent = raw.flags & PS_SC_F_URGENT;
  ev.ret = raw.ret;
  std::memcpy(ev.args.data(), raw.args, sizeof(raw.args));

  const auto arg = [&](int8_t i) { return ev.args[static_cast<size_t>(i)]; };
  const char* tail_bytes = reinterpret_cast<const char*>(record.data()) + sizeof(raw);
  if (sc->path_arg != kNoArg) {
    if (raw.flags & PS_SC_F_PATH_FAULT) {
      ev.path_fault = true;
    } else {
      ev.path.emplace(tail_bytes, raw.path_len);
    }
  }
  tail_bytes += raw.path_len;
  if (sc->name_arg != kNoArg) {
    if (raw.flags & PS_SC_F_NAME_FAULT) {
      ev.xattr_name_fault = true;
    } else {
      ev.xattr_name.emplace(tail_bytes, raw.name_len);
    }
  }
  tail_bytes += raw.name_len;
  if (sc->value_arg != kNoArg) {
    ev.xattr_value_size = raw.value_size;
    ev.xattr_value_fault = raw.flags & PS_SC_F_VALUE_FAULT;
    ev.xattr_value.emplace(tail_bytes, raw.value_len);
  }
  tail_bytes += raw.value_len;
  if (sc->path2_arg != kNoArg) {
    if (raw.flags & PS_SC_F_PATH2_FAULT) {
      ev.path2_fault = true;
    } else {
      ev.path2.emplace(tail_bytes, raw.path2_len);
    }
  }
  tail_bytes += raw.path2_len;
  ev.resolve_flags = raw.resolve_flags;
  if (raw.flags & PS_SC_F_LOOKUP) ev.lookup_flags = raw.lookup_flags;
  if (raw.flags & PS_SC_F_WATCHED)
    ev.watch = WatchMatch{.cls = raw.watch_class, .how = raw.watch_how};
  if (raw.resolved_len > 0) ev.resolved.emplace(tail_bytes, raw.resolved_len);
  const auto inode = [](const ps_inode_state& s) {
    return InodeState{
        .ino = s.ino, .dev = s.dev, .mode = s.mode, .uid = s.uid, .gid = s.gid, .nlink = s.nlink};
  };
  if (raw.flags & PS_SC_F_BEFORE) ev.inode_before = inode(raw.before);
  if (raw.flags & PS_SC_F_AFTER) ev.inode_after = inode(raw.after);

  if (sc->fd_arg != kNoArg) ev.fd = static_cast<int>(arg(sc->fd_arg));
  if (sc->dirfd_arg != kNoArg) ev.dirfd = static_cast<int>(arg(sc->dirfd_arg));
  if (sc->dirfd2_arg != kNoArg) ev.dirfd2 = static_cast<int>(arg(sc->dirfd2_arg));
  if (sc->family == Family::kOpen) {
    ev.open_flags = raw.open_flags;
    if (sc->create_mode_arg != kNoArg && (raw.open_flags & O_CREAT))
      ev.create_mode = static_cast<uint32_t>(arg(sc->create_mode_arg)) & 07777;
  }
  if (sc->mode_arg != kNoArg) ev.mode = static_cast<uint32_t>(arg(sc->mode_arg)) & 07777;
  if (sc->uid_arg != kNoArg) {
    const uint32_t uid = IdArg(arg(sc->uid_arg), sc->uid16);
    const uint32_t gid = IdArg(arg(sc->gid_arg), sc->uid16);
    if (uid != kUnsetId) ev.owner = uid;
    if (gid != kUnsetId) ev.group = gid;
  }
  if (sc->flags_arg != kNoArg) {
    const uint32_t flags = static_cast<uint32_t>(arg(sc->flags_arg));
    if (sc->family == Family::kSetXattr && !sc->value_is_xattr_args) {
      ev.xattr_flags = flags;
    } else {
      ev.at_flags = flags;
    }
  }
  for (int i = 0; i < sc->id_args; ++i) ev.requested_ids.push_back(IdArg(arg(i), sc->uid16));
  if (raw.flags & PS_SC_F_CREDS) {
    ev.creds_before = ToCreds(raw.creds_before);
    ev.creds_after = ToCreds(raw.creds_after);
    // The actor of a credential change is who the caller was when it asked, not
    // what it became: user.* reports the ids from before the call.
    ev.proc.uid = ev.creds_before->uid;
    ev.proc.euid = ev.creds_before->euid;
    ev.proc.gid = ev.creds_before->gid;
    ev.proc.egid = ev.creds_before->egid;
  }
  return ev;
}

}  // namespace permsentry
