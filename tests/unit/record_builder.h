// Builds raw ring-buffer records the way the BPF side lays them out, for decoder
// and renderer tests.
#ifndef PERMSENTRY_TESTS_UNIT_RECORD_BUILDER_H_
#define PERMSENTRY_TESTS_UNIT_RECORD_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "permsentry/abi/events.h"

namespace permsentry::testing {

struct RecordBuilder {
  std::string path, name, value, path2, resolved;
  ps_syscall_event ev{};  // last: it ends in a flexible array member

  RecordBuilder(uint32_t nr, bool compat = false) {
    ev.hdr.abi_version = PS_ABI_VERSION;
    ev.hdr.type = PS_EV_SYSCALL;
    ev.hdr.ktime = 1'000'000'000;
    ev.nr = nr;
    ev.flags = compat ? PS_SC_F_COMPAT : 0;
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
  RecordBuilder& Arg(int i, uint64_t v) {
    ev.args[i] = v;
    return *this;
  }
  RecordBuilder& Ret(int64_t r) {
    ev.ret = r;
    return *this;
  }
  RecordBuilder& Path(std::string p) {
    path = std::move(p);
    ev.flags |= PS_SC_F_PATH;
    return *this;
  }
  RecordBuilder& Name(std::string n) {
    name = std::move(n);
    ev.flags |= PS_SC_F_NAME;
    return *this;
  }
  RecordBuilder& Value(std::string v, uint32_t size) {
    value = std::move(v);
    ev.value_size = size;
    ev.flags |= PS_SC_F_VALUE;
    return *this;
  }
  RecordBuilder& Path2(std::string p) {
    path2 = std::move(p);
    ev.flags |= PS_SC_F_PATH2;
    return *this;
  }
  RecordBuilder& Watched(uint32_t cls, uint32_t how) {
    ev.watch_class = cls;
    ev.watch_how = how;
    ev.flags |= PS_SC_F_WATCHED;
    return *this;
  }
  RecordBuilder& Lookup(uint16_t flags) {
    ev.lookup_flags = flags;
    ev.flags |= PS_SC_F_LOOKUP;
    return *this;
  }
  RecordBuilder& OpenFlags(uint32_t f) {
    ev.open_flags = f;
    return *this;
  }
  RecordBuilder& Resolved(std::string r, uint16_t flags) {
    resolved = std::move(r);
    ev.resolve_flags = flags;
    return *this;
  }
  RecordBuilder& Before(uint32_t mode, uint32_t uid, uint32_t gid, uint64_t ino = 42) {
    ev.before = ps_inode_state{
        .ino = ino, .dev = 0x800001, .mode = mode, .uid = uid, .gid = gid, .nlink = 1, ._pad0 = 0};
    ev.flags |= PS_SC_F_BEFORE;
    return *this;
  }
  RecordBuilder& After(uint32_t mode, uint32_t uid, uint32_t gid, uint64_t ino = 42) {
    ev.after = ps_inode_state{
        .ino = ino, .dev = 0x800001, .mode = mode, .uid = uid, .gid = gid, .nlink = 1, ._pad0 = 0};
    ev.flags |= PS_SC_F_AFTER;
    return *this;
  }
  RecordBuilder& Flags(uint32_t f) {
    ev.flags |= f;
    return *this;
  }
  std::vector<uint8_t> Build() {
    ev.path_len = static_cast<uint16_t>(path.size());
    ev.name_len = static_cast<uint16_t>(name.size());
    ev.value_len = static_cast<uint16_t>(value.size());
    ev.path2_len = static_cast<uint16_t>(path2.size());
    ev.resolved_len = static_cast<uint16_t>(resolved.size());
    const std::string tail = path + name + value + path2 + resolved;
    ev.hdr.size = static_cast<uint32_t>(sizeof(ev) + tail.size());
    std::vector<uint8_t> out(sizeof(ev) + tail.size());
    std::memcpy(out.data(), &ev, sizeof(ev));
    std::memcpy(out.data() + sizeof(ev), tail.data(), tail.size());
    return out;
  }
};

// A process lifecycle record (PS_EV_PROC), laid out as process.bpf.c does.
inline std::vector<uint8_t> ProcRecord(uint32_t kind, uint32_t pid, const std::string& exe = "",
                                       const std::string& text = "", uint32_t session_pid = 0,
                                       uint32_t flags = 0, uint32_t signal = 0) {
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
  std::vector<uint8_t> out(sizeof(ev) + (text.empty() ? exe.size() : PS_EXE_MAX + text.size()));
  ev.hdr.size = static_cast<uint32_t>(out.size());
  std::memcpy(out.data(), &ev, sizeof(ev));
  std::memcpy(out.data() + sizeof(ev), exe.data(), exe.size());
  if (!text.empty()) std::memcpy(out.data() + sizeof(ev) + PS_EXE_MAX, text.data(), text.size());
  return out;
}

}  // namespace permsentry::testing

#endif  // PERMSENTRY_TESTS_UNIT_RECORD_BUILDER_H_
