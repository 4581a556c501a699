// Builds raw ring-buffer records the way the BPF side lays them out, for decoder
// and renderer tests: operation records as the tracepoint backend sends them
// (with the trailer of the call's arguments, typed fields derived from them as
// syscalls.bpf.c does) or as the rich backend does (no trailer).
#ifndef PERMSENTRY_TESTS_UNIT_RECORD_BUILDER_H_
#define PERMSENTRY_TESTS_UNIT_RECORD_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/ops.h"
#include "common/syscall_table.h"
#include "permsentry/abi/events.h"

namespace permsentry::testing {

struct RecordBuilder {
  std::string path, path2, name, value, text;  // the record's own strings
  std::string arg_path, arg_path2;             // the trailer's
  ps_sc_trailer trailer{};
  bool has_trailer = true;
  bool explicit_mode = false, explicit_owner = false;
  ps_op_event ev{};  // last: it ends in a flexible array member

  // A syscall seen by the tracepoint backend (native, or ia32 with compat).
  explicit RecordBuilder(uint32_t nr, bool compat = false) {
    Init(PS_HOOK_SYSCALL);
    ev.syscall_nr = nr;
    ev.flags = PS_OF_SYSCALL | (compat ? PS_OF_COMPAT : 0);
    if (const SyscallInfo* sc = LookupSyscall(nr, compat)) ev.op = static_cast<uint16_t>(sc->op);
  }
  // An io_uring request seen at submission by the tracepoint backend.
  static RecordBuilder IoUring(uint32_t opcode) {
    RecordBuilder b(0);
    b.ev.hook = PS_HOOK_IO_URING;
    b.ev.flags = PS_OF_IO_URING;
    b.ev.syscall_nr = opcode;
    b.ev.result = PS_RESULT_UNKNOWN;
    b.ev.op = PS_OP_MODE;
    if (const SyscallInfo* sc = LookupIoUringOp(opcode)) b.ev.op = static_cast<uint16_t>(sc->op);
    return b;
  }
  // An operation seen by the rich backend: no trailer; a syscall only if given.
  static RecordBuilder Rich(Op op, std::optional<uint32_t> syscall_nr = std::nullopt) {
    RecordBuilder b(0);
    b.ev.hook = PS_HOOK_FENTRY;
    b.ev.op = static_cast<uint16_t>(op);
    b.ev.flags = syscall_nr ? PS_OF_SYSCALL : 0;
    b.ev.syscall_nr = syscall_nr.value_or(0);
    b.has_trailer = false;
    return b;
  }

  RecordBuilder& Arg(int i, uint64_t v) {
    trailer.args[i] = v;
    return *this;
  }
  RecordBuilder& Ret(int64_t r) {
    trailer.ret = r;
    if (r < 0 && r >= -4095) {
      ev.result = PS_RESULT_ERROR;
      ev.error = static_cast<int32_t>(-r);
    } else {
      ev.result = PS_RESULT_OK;
      ev.error = 0;
    }
    return *this;
  }
  // The path argument (trailer).
  RecordBuilder& Path(std::string p) {
    arg_path = std::move(p);
    trailer.flags |= PS_TF_PATH;
    return *this;
  }
  RecordBuilder& Path2(std::string p) {
    arg_path2 = std::move(p);
    trailer.flags |= PS_TF_PATH2;
    return *this;
  }
  RecordBuilder& TrailerFlags(uint32_t f) {
    trailer.flags |= f;
    return *this;
  }
  RecordBuilder& Name(std::string n) {
    name = std::move(n);
    ev.flags |= PS_OF_NAME | (has_trailer ? PS_OF_USER_COPY : 0);
    return *this;
  }
  RecordBuilder& Value(std::string v, uint32_t size) {
    value = std::move(v);
    ev.value_size = size;
    ev.flags |= PS_OF_VALUE;
    return *this;
  }
  RecordBuilder& Text(std::string t) {
    text = std::move(t);
    return *this;
  }
  RecordBuilder& Watched(uint32_t cls, uint32_t how) {
    ev.watch_class = cls;
    ev.watch_how = how;
    ev.flags |= PS_OF_WATCHED;
    return *this;
  }
  RecordBuilder& Lookup(uint16_t flags) {
    trailer.lookup_flags = flags;
    trailer.flags |= PS_TF_LOOKUP;
    return *this;
  }
  RecordBuilder& OpenFlags(uint32_t f) {
    ev.open_flags = f;
    ev.flags |= PS_OF_OPEN;
    return *this;
  }
  // The kernel-resolved path (the record's own), and the destination's.
  RecordBuilder& Resolved(std::string r, uint16_t flags) {
    path = std::move(r);
    ev.path_flags = flags;
    return *this;
  }
  // The first `n` bytes of the resolved path are the caller's root (a chroot).
  RecordBuilder& RootLen(uint16_t n) {
    ev.path_root_len = n;
    return *this;
  }
  RecordBuilder& Resolved2(std::string r, uint16_t flags) {
    path2 = std::move(r);
    ev.path2_flags = flags;
    return *this;
  }
  RecordBuilder& Mode(uint32_t m) {
    ev.mode = m;
    ev.flags |= PS_OF_MODE;
    explicit_mode = true;
    return *this;
  }
  RecordBuilder& Owner(uint32_t uid, uint32_t gid) {
    ev.uid = uid;
    ev.gid = gid;
    ev.flags |= PS_OF_OWNER;
    explicit_owner = true;
    return *this;
  }
  RecordBuilder& Before(uint32_t mode, uint32_t uid, uint32_t gid, uint64_t ino = 42) {
    ev.before = ps_inode_state{
        .ino = ino, .dev = 0x800001, .mode = mode, .uid = uid, .gid = gid, .nlink = 1, ._pad0 = 0};
    ev.flags |= PS_OF_BEFORE;
    return *this;
  }
  RecordBuilder& After(uint32_t mode, uint32_t uid, uint32_t gid, uint64_t ino = 42) {
    ev.after = ps_inode_state{
        .ino = ino, .dev = 0x800001, .mode = mode, .uid = uid, .gid = gid, .nlink = 1, ._pad0 = 0};
    ev.flags |= PS_OF_AFTER;
    return *this;
  }
  RecordBuilder& Flags(uint32_t f) {
    ev.flags |= f;
    return *this;
  }
  std::vector<uint8_t> Build() {
    DeriveFromArgs();
    ev.path_len = static_cast<uint16_t>(path.size());
    ev.path2_len = static_cast<uint16_t>(path2.size());
    ev.name_len = static_cast<uint16_t>(name.size());
    ev.value_len = static_cast<uint16_t>(value.size());
    ev.text_len = static_cast<uint16_t>(text.size());
    std::string tail = path + path2 + name + value + text;
    if (has_trailer) {
      trailer.path_len = static_cast<uint16_t>(arg_path.size());
      trailer.path2_len = static_cast<uint16_t>(arg_path2.size());
      std::string t(sizeof(trailer), '\0');
      std::memcpy(t.data(), &trailer, sizeof(trailer));
      t += arg_path + arg_path2;
      ev.trailer_len = static_cast<uint16_t>(t.size());
      tail += t;
    }
    ev.hdr.size = static_cast<uint32_t>(sizeof(ev) + tail.size());
    std::vector<uint8_t> out(sizeof(ev) + tail.size());
    std::memcpy(out.data(), &ev, sizeof(ev));
    std::memcpy(out.data() + sizeof(ev), tail.data(), tail.size());
    return out;
  }

 private:
  void Init(uint8_t hook) {
    ev.hdr.abi_version = PS_ABI_VERSION;
    ev.hdr.type = PS_EV_OP;
    ev.hdr.ktime = 1'000'000'000;
    ev.hook = hook;
    ev.result = PS_RESULT_OK;
    ev.op = PS_OP_MODE;
    ev.proc.pid = 4242;
    ev.proc.tid = 4243;
    ev.proc.ppid = 1;
    ev.proc.uid = 1000;
    ev.proc.euid = 1000;
    ev.proc.gid = 1000;
    ev.proc.egid = 1000;
    ev.proc.loginuid = 1000;
    ev.proc.sessionid = 7;
    std::memcpy(ev.proc.comm, "tester", 7);
  }
  // What the tracepoint backend fills from the arguments (syscalls.bpf.c).
  void DeriveFromArgs() {
    if (!has_trailer || ev.hook != PS_HOOK_SYSCALL) return;
    const SyscallInfo* sc = LookupSyscall(ev.syscall_nr, ev.flags & PS_OF_COMPAT);
    if (sc == nullptr) return;
    if (sc->mode_arg != kNoArg && !explicit_mode) {
      ev.mode = static_cast<uint32_t>(trailer.args[sc->mode_arg]) & 07777;
      ev.flags |= PS_OF_MODE;
    }
    if (sc->uid_arg != kNoArg && !explicit_owner) {
      ev.uid = static_cast<uint32_t>(trailer.args[sc->uid_arg]);
      ev.gid = static_cast<uint32_t>(trailer.args[sc->gid_arg]);
      ev.flags |= PS_OF_OWNER;
    }
    if (sc->op == Op::kXattrSet && !sc->value_is_xattr_args && sc->flags_arg != kNoArg) {
      ev.xattr_flags = static_cast<uint32_t>(trailer.args[sc->flags_arg]);
      ev.flags |= PS_OF_XATTR_FLAGS;
    }
  }
};

// A process lifecycle record (PS_EV_PROC), laid out as process.bpf.c does.
inline std::vector<uint8_t> ProcRecord(uint32_t kind, uint32_t pid, const std::string& exe = "",
                                       const std::string& text = "", uint32_t session_pid = 0,
                                       uint32_t flags = 0, uint32_t signal = 0,
                                       const std::string& args = "", uint16_t args_flags = 0) {
  ps_proc_event ev{};
  ev.hdr.abi_version = PS_ABI_VERSION;
  ev.hdr.type = PS_EV_PROC;
  ev.hdr.ktime = 2'000'000'000;
  ev.key.tgid = pid;
  ev.key.start = 1000 + pid;
  ev.info.parent.tgid = 1;
  ev.info.parent.start = 1001;
  ev.info.session.tgid = session_pid;
  ev.info.session.start = session_pid ? 1000 + session_pid : 0;
  ev.info.flags = flags;
  ev.info.signal = signal;
  ev.kind = kind;
  ev.uid = 1000;
  ev.info.loginuid = 1000;
  ev.info.sessionid = 7;
  ev.info.tty = (136u << 20) | 1;
  ev.exe_len = static_cast<uint16_t>(exe.size());
  ev.text_len = static_cast<uint16_t>(text.size());
  std::memcpy(ev.info.comm, "proc", 5);
  ev.args_len = static_cast<uint16_t>(args.size());
  ev.args_flags = args_flags;
  const size_t tail = !text.empty()   ? PS_PROC_TEXT_OFF + text.size()
                      : !args.empty() ? PS_EXE_MAX + args.size()
                                      : exe.size();
  std::vector<uint8_t> out(sizeof(ev) + tail);
  ev.hdr.size = static_cast<uint32_t>(out.size());
  std::memcpy(out.data(), &ev, sizeof(ev));
  std::memcpy(out.data() + sizeof(ev), exe.data(), exe.size());
  if (!args.empty()) std::memcpy(out.data() + sizeof(ev) + PS_EXE_MAX, args.data(), args.size());
  if (!text.empty())
    std::memcpy(out.data() + sizeof(ev) + PS_PROC_TEXT_OFF, text.data(), text.size());
  return out;
}

// A sed -i style replacement: rename(tmp, /etc/passwd), matched on the new name.
inline std::vector<uint8_t> RenameOntoPasswd() {
  return RecordBuilder(82)  // rename
      .Path("/etc/sedX1")
      .Path2("/etc/passwd")
      .Resolved("/etc", PS_PATH_PARENT)
      .Before(0100644, 0, 0, 100)
      .After(0100666, 0, 0, 200)
      .Watched(0, PS_WM_OBJECT | PS_WM_PATH2)
      .Lookup(PS_LK_DONE)
      .Flags(PS_OF_URGENT)
      .Build();
}

}  // namespace permsentry::testing

#endif  // PERMSENTRY_TESTS_UNIT_RECORD_BUILDER_H_
