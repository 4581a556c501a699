#include "common/syscall_table.h"

#include <array>
#include <cstring>

#include "absl/types/span.h"

namespace permsentry {
namespace {

// Factories keep the table below one line per syscall. Argument indexes follow the
// kernel's SYSCALL_DEFINE order, which is the same for both ABIs.
constexpr SyscallInfo Chmod(absl::string_view name, int16_t nr, bool compat, int8_t fd,
                            int8_t dirfd, int8_t path, int8_t mode, int8_t flags = kNoArg) {
  SyscallInfo s{.name = name,
                .action = "chmod",
                .op = Op::kMode,
                .nr = nr,
                .compat = compat,
                .uid16 = false,
                .nofollow = false};
  s.fd_arg = fd;
  s.dirfd_arg = dirfd;
  s.path_arg = path;
  s.mode_arg = mode;
  s.flags_arg = flags;
  return s;
}

constexpr SyscallInfo Chown(absl::string_view name, int16_t nr, bool compat, bool uid16,
                            bool nofollow, int8_t fd, int8_t dirfd, int8_t path, int8_t uid,
                            int8_t flags = kNoArg) {
  SyscallInfo s{.name = name,
                .action = "chown",
                .op = Op::kOwner,
                .nr = nr,
                .compat = compat,
                .uid16 = uid16,
                .nofollow = nofollow};
  s.fd_arg = fd;
  s.dirfd_arg = dirfd;
  s.path_arg = path;
  s.uid_arg = uid;
  s.gid_arg = static_cast<int8_t>(uid + 1);
  s.flags_arg = flags;
  return s;
}

constexpr SyscallInfo SetId(absl::string_view name, absl::string_view action, int16_t nr,
                            bool compat, bool uid16, IdKind kind, int8_t nids) {
  SyscallInfo s{.name = name,
                .action = action,
                .op = Op::kCreds,
                .nr = nr,
                .compat = compat,
                .uid16 = uid16,
                .nofollow = false};
  s.id_kind = kind;
  s.id_args = nids;
  return s;
}

constexpr SyscallInfo Creds(absl::string_view name, absl::string_view action, Op op, int16_t nr,
                            bool compat, bool uid16) {
  return SyscallInfo{.name = name,
                     .action = action,
                     .op = op,
                     .nr = nr,
                     .compat = compat,
                     .uid16 = uid16,
                     .nofollow = false};
}

// Calls that change the caller's credentials only sometimes: an exec of a
// set-id or file-capability binary, unshare/setns into a user namespace,
// prctl raising an ambient capability. Reported only when they did.
constexpr SyscallInfo CredsIf(absl::string_view name, absl::string_view action, Op op, int16_t nr,
                              bool compat) {
  SyscallInfo s = Creds(name, action, op, nr, compat, false);
  s.creds_if = true;
  return s;
}

constexpr SyscallInfo SetXattr(absl::string_view name, int16_t nr, bool compat, bool nofollow,
                               int8_t fd, int8_t path) {
  SyscallInfo s{.name = name,
                .action = "setxattr",
                .op = Op::kXattrSet,
                .nr = nr,
                .compat = compat,
                .uid16 = false,
                .nofollow = nofollow};
  const int8_t first = fd != kNoArg ? fd : path;  // name follows the file argument
  s.fd_arg = fd;
  s.path_arg = path;
  s.name_arg = static_cast<int8_t>(first + 1);
  s.value_arg = static_cast<int8_t>(first + 2);
  s.size_arg = static_cast<int8_t>(first + 3);
  s.flags_arg = static_cast<int8_t>(first + 4);
  return s;
}

constexpr SyscallInfo RemoveXattr(absl::string_view name, int16_t nr, bool compat, bool nofollow,
                                  int8_t fd, int8_t path) {
  SyscallInfo s{.name = name,
                .action = "removexattr",
                .op = Op::kXattrRemove,
                .nr = nr,
                .compat = compat,
                .uid16 = false,
                .nofollow = nofollow};
  s.fd_arg = fd;
  s.path_arg = path;
  s.name_arg = static_cast<int8_t>((fd != kNoArg ? fd : path) + 1);
  return s;
}

// setxattrat(dfd, path, at_flags, name, struct xattr_args *uargs, size_t usize) (6.13+)
constexpr SyscallInfo SetXattrAt(bool compat) {
  SyscallInfo s{.name = "setxattrat",
                .action = "setxattr",
                .op = Op::kXattrSet,
                .nr = 463,
                .compat = compat,
                .uid16 = false,
                .nofollow = false};
  s.dirfd_arg = 0;
  s.path_arg = 1;
  s.flags_arg = 2;
  s.name_arg = 3;
  s.value_arg = 4;
  s.size_arg = 5;
  s.value_is_xattr_args = true;
  return s;
}

// removexattrat(dfd, path, at_flags, name) (6.13+)
constexpr SyscallInfo RemoveXattrAt(bool compat) {
  SyscallInfo s{.name = "removexattrat",
                .action = "removexattr",
                .op = Op::kXattrRemove,
                .nr = 466,
                .compat = compat,
                .uid16 = false,
                .nofollow = false};
  s.dirfd_arg = 0;
  s.path_arg = 1;
  s.flags_arg = 2;
  s.name_arg = 3;
  return s;
}

constexpr SyscallInfo Base(absl::string_view name, absl::string_view action, Op op, int16_t nr,
                           bool compat) {
  return SyscallInfo{.name = name,
                     .action = action,
                     .op = op,
                     .nr = nr,
                     .compat = compat,
                     .uid16 = false,
                     .nofollow = false};
}

// open(path, flags, mode), openat(dfd, path, flags, mode), openat2(dfd, path, how,
// size), creat(path, mode).
constexpr SyscallInfo Open(absl::string_view name, int16_t nr, bool compat, int8_t dirfd,
                           int8_t path, int8_t oflags, int8_t mode, uint8_t oflags_mode) {
  SyscallInfo s = Base(name, "credfile_write", Op::kWriteOpen, nr, compat);
  s.dirfd_arg = dirfd;
  s.path_arg = path;
  s.oflags_arg = oflags;
  s.create_mode_arg = mode;
  s.oflags_mode = oflags_mode;
  return s;
}

// mkdir(path, mode), mkdirat(dfd, path, mode), mknod(path, mode, dev),
// mknodat(dfd, path, mode, dev): reported when the new object's mode opens
// access (a set-id or world-writable file, a world-writable directory without
// the sticky bit, a device node).
constexpr SyscallInfo Make(absl::string_view name, Op op, int16_t nr, bool compat, int8_t dirfd,
                           int8_t path) {
  SyscallInfo s = Base(name, op == Op::kMkdir ? "mkdir" : "mknod", op, nr, compat);
  s.dirfd_arg = dirfd;
  s.path_arg = path;
  s.create_mode_arg = static_cast<int8_t>(path + 1);  // mknod's dev follows it
  return s;
}

// mount(source, target, type, flags, data): the target is the path, the
// source (a device name, or the path a bind or move takes) the second, the
// type the name. Every mount and unmount is reported.
constexpr SyscallInfo Mount(int16_t nr, bool compat) {
  SyscallInfo s = Base("mount", "mount", Op::kMount, nr, compat);
  s.path_arg = 1;
  s.path2_arg = 0;
  s.name_arg = 2;
  s.oflags_arg = 3;  // MS_*
  return s;
}
// umount2(target, flags), and ia32's umount(target).
constexpr SyscallInfo Umount(absl::string_view name, int16_t nr, bool compat, int8_t flags) {
  SyscallInfo s = Base(name, "umount", Op::kUmount, nr, compat);
  s.path_arg = 0;
  s.oflags_arg = flags;  // MNT_*
  return s;
}
// move_mount(from_dfd, from_path, to_dfd, to_path, flags): attaches what
// fsmount or open_tree made, or moves a mount.
constexpr SyscallInfo MoveMount(int16_t nr, bool compat) {
  SyscallInfo s = Base("move_mount", "mount", Op::kMount, nr, compat);
  s.dirfd2_arg = 0;
  s.path2_arg = 1;
  s.dirfd_arg = 2;
  s.path_arg = 3;
  s.oflags_arg = 4;  // MOVE_MOUNT_*
  return s;
}

constexpr SyscallInfo Truncate(absl::string_view name, int16_t nr, bool compat, bool by_fd) {
  SyscallInfo s = Base(name, "credfile_truncate", Op::kTruncate, nr, compat);
  (by_fd ? s.fd_arg : s.path_arg) = 0;
  return s;
}

// Two-name calls: (dirfd, path) → (dirfd2, path2), flags.
constexpr SyscallInfo TwoNames(absl::string_view name, absl::string_view action, Op op, int16_t nr,
                               bool compat, int8_t dirfd, int8_t path, int8_t dirfd2, int8_t path2,
                               int8_t flags, uint8_t sides) {
  SyscallInfo s = Base(name, action, op, nr, compat);
  s.dirfd_arg = dirfd;
  s.path_arg = path;
  s.dirfd2_arg = dirfd2;
  s.path2_arg = path2;
  s.flags_arg = flags;
  s.name_sides = sides;
  s.nofollow = op == Op::kLink;  // link(2) does not follow its source
  return s;
}

constexpr SyscallInfo Unlink(absl::string_view name, int16_t nr, bool compat, int8_t dirfd,
                             int8_t path) {
  SyscallInfo s = Base(name, "credfile_unlink", Op::kUnlink, nr, compat);
  s.dirfd_arg = dirfd;
  s.path_arg = path;
  s.name_sides = 1;
  return s;
}

constexpr SyscallInfo Rename(absl::string_view name, int16_t nr, bool compat, int8_t dirfd,
                             int8_t path, int8_t dirfd2, int8_t path2, int8_t flags = kNoArg) {
  return TwoNames(name, "credfile_rename", Op::kRename, nr, compat, dirfd, path, dirfd2, path2,
                  flags, 3);
}
constexpr SyscallInfo Link(absl::string_view name, int16_t nr, bool compat, int8_t dirfd,
                           int8_t path, int8_t dirfd2, int8_t path2, int8_t flags = kNoArg) {
  return TwoNames(name, "credfile_link", Op::kLink, nr, compat, dirfd, path, dirfd2, path2, flags,
                  3);
}
// symlink(target, linkpath): the target is text, only the new name is checked.
constexpr SyscallInfo Symlink(absl::string_view name, int16_t nr, bool compat, int8_t dirfd2,
                              int8_t path2) {
  return TwoNames(name, "credfile_symlink", Op::kSymlink, nr, compat, kNoArg, 0, dirfd2, path2,
                  kNoArg, 2);
}

constexpr bool N = false;  // native x86-64
constexpr bool C = true;   // ia32
constexpr int8_t X = kNoArg;
constexpr IdKind U = IdKind::kUid;
constexpr IdKind G = IdKind::kGid;

constexpr SyscallInfo kTable[] = {
    // ---- x86-64
    Chmod("chmod", 90, N, X, X, 0, 1),
    Chmod("fchmod", 91, N, 0, X, X, 1),
    Chmod("fchmodat", 268, N, X, 0, 1, 2),
    Chmod("fchmodat2", 452, N, X, 0, 1, 2, 3),
    Chown("chown", 92, N, false, false, X, X, 0, 1),
    Chown("fchown", 93, N, false, false, 0, X, X, 1),
    Chown("lchown", 94, N, false, true, X, X, 0, 1),
    Chown("fchownat", 260, N, false, false, X, 0, 1, 2, 4),
    SetId("setuid", "setuid", 105, N, false, U, 1),
    SetId("setgid", "setgid", 106, N, false, G, 1),
    SetId("setreuid", "setreuid", 113, N, false, U, 2),
    SetId("setregid", "setregid", 114, N, false, G, 2),
    SetId("setresuid", "setresuid", 117, N, false, U, 3),
    SetId("setresgid", "setresgid", 119, N, false, G, 3),
    SetId("setfsuid", "setfsuid", 122, N, false, U, 1),
    SetId("setfsgid", "setfsgid", 123, N, false, G, 1),
    Creds("setgroups", "setgroups", Op::kCreds, 116, N, false),
    Creds("capset", "capset", Op::kCreds, 126, N, false),
    CredsIf("execve", "exec_setid", Op::kExecCreds, 59, N),
    CredsIf("execveat", "exec_setid", Op::kExecCreds, 322, N),
    CredsIf("unshare", "unshare", Op::kCreds, 272, N),
    CredsIf("setns", "setns", Op::kCreds, 308, N),
    CredsIf("prctl", "prctl", Op::kCreds, 157, N),
    SetXattr("setxattr", 188, N, false, X, 0),
    SetXattr("lsetxattr", 189, N, true, X, 0),
    SetXattr("fsetxattr", 190, N, false, 0, X),
    RemoveXattr("removexattr", 197, N, false, X, 0),
    RemoveXattr("lremovexattr", 198, N, true, X, 0),
    RemoveXattr("fremovexattr", 199, N, false, 0, X),
    SetXattrAt(N),
    RemoveXattrAt(N),
    Open("open", 2, N, X, 0, 1, 2, PS_OFL_DIRECT),
    Open("creat", 85, N, X, 0, X, 1, PS_OFL_CREAT),
    Open("openat", 257, N, 0, 1, 2, 3, PS_OFL_DIRECT),
    Open("openat2", 437, N, 0, 1, 2, X, PS_OFL_OPEN_HOW),
    // open_by_handle_at(mount_fd, handle, flags): no path at all; the fd it
    // returns names the object.
    Open("open_by_handle_at", 304, N, X, X, 2, X, PS_OFL_DIRECT),
    Truncate("truncate", 76, N, false),
    Truncate("ftruncate", 77, N, true),
    Rename("rename", 82, N, X, 0, X, 1),
    Rename("renameat", 264, N, 0, 1, 2, 3),
    Rename("renameat2", 316, N, 0, 1, 2, 3, 4),  // RENAME_* flags
    Link("link", 86, N, X, 0, X, 1),
    Link("linkat", 265, N, 0, 1, 2, 3, 4),
    Symlink("symlink", 88, N, X, 1),
    Symlink("symlinkat", 266, N, 1, 2),
    Unlink("unlink", 87, N, X, 0),
    Unlink("unlinkat", 263, N, 0, 1),
    Unlink("rmdir", 84, N, X, 0),
    Make("mkdir", Op::kMkdir, 83, N, X, 0),
    Make("mkdirat", Op::kMkdir, 258, N, 0, 1),
    Make("mknod", Op::kMknod, 133, N, X, 0),
    Make("mknodat", Op::kMknod, 259, N, 0, 1),
    Mount(165, N),
    Umount("umount2", 166, N, 1),
    MoveMount(429, N),
    // ---- ia32 (int 0x80 is open to every x86-64 process when IA32_EMULATION is on)
    Chmod("chmod", 15, C, X, X, 0, 1),
    Chmod("fchmod", 94, C, 0, X, X, 1),
    Chmod("fchmodat", 306, C, X, 0, 1, 2),
    Chmod("fchmodat2", 452, C, X, 0, 1, 2, 3),
    Chown("lchown", 16, C, true, true, X, X, 0, 1),
    Chown("fchown", 95, C, true, false, 0, X, X, 1),
    Chown("chown", 182, C, true, false, X, X, 0, 1),
    Chown("lchown32", 198, C, false, true, X, X, 0, 1),
    Chown("fchown32", 207, C, false, false, 0, X, X, 1),
    Chown("chown32", 212, C, false, false, X, X, 0, 1),
    Chown("fchownat", 298, C, false, false, X, 0, 1, 2, 4),
    SetId("setuid", "setuid", 23, C, true, U, 1),
    SetId("setgid", "setgid", 46, C, true, G, 1),
    SetId("setreuid", "setreuid", 70, C, true, U, 2),
    SetId("setregid", "setregid", 71, C, true, G, 2),
    SetId("setfsuid", "setfsuid", 138, C, true, U, 1),
    SetId("setfsgid", "setfsgid", 139, C, true, G, 1),
    SetId("setresuid", "setresuid", 164, C, true, U, 3),
    SetId("setresgid", "setresgid", 170, C, true, G, 3),
    SetId("setreuid32", "setreuid", 203, C, false, U, 2),
    SetId("setregid32", "setregid", 204, C, false, G, 2),
    SetId("setresuid32", "setresuid", 208, C, false, U, 3),
    SetId("setresgid32", "setresgid", 210, C, false, G, 3),
    SetId("setuid32", "setuid", 213, C, false, U, 1),
    SetId("setgid32", "setgid", 214, C, false, G, 1),
    SetId("setfsuid32", "setfsuid", 215, C, false, U, 1),
    SetId("setfsgid32", "setfsgid", 216, C, false, G, 1),
    Creds("setgroups", "setgroups", Op::kCreds, 81, C, true),
    Creds("setgroups32", "setgroups", Op::kCreds, 206, C, false),
    Creds("capset", "capset", Op::kCreds, 185, C, false),
    CredsIf("execve", "exec_setid", Op::kExecCreds, 11, C),
    CredsIf("execveat", "exec_setid", Op::kExecCreds, 358, C),
    CredsIf("unshare", "unshare", Op::kCreds, 310, C),
    CredsIf("setns", "setns", Op::kCreds, 346, C),
    CredsIf("prctl", "prctl", Op::kCreds, 172, C),
    SetXattr("setxattr", 226, C, false, X, 0),
    SetXattr("lsetxattr", 227, C, true, X, 0),
    SetXattr("fsetxattr", 228, C, false, 0, X),
    RemoveXattr("removexattr", 235, C, false, X, 0),
    RemoveXattr("lremovexattr", 236, C, true, X, 0),
    RemoveXattr("fremovexattr", 237, C, false, 0, X),
    SetXattrAt(C),
    RemoveXattrAt(C),
    Open("open", 5, C, X, 0, 1, 2, PS_OFL_DIRECT),
    Open("creat", 8, C, X, 0, X, 1, PS_OFL_CREAT),
    Open("openat", 295, C, 0, 1, 2, 3, PS_OFL_DIRECT),
    Open("openat2", 437, C, 0, 1, 2, X, PS_OFL_OPEN_HOW),
    Open("open_by_handle_at", 342, C, X, X, 2, X, PS_OFL_DIRECT),
    Truncate("truncate", 92, C, false),
    Truncate("ftruncate", 93, C, true),
    Truncate("truncate64", 193, C, false),
    Truncate("ftruncate64", 194, C, true),
    Rename("rename", 38, C, X, 0, X, 1),
    Rename("renameat", 302, C, 0, 1, 2, 3),
    Rename("renameat2", 353, C, 0, 1, 2, 3, 4),
    Link("link", 9, C, X, 0, X, 1),
    Link("linkat", 303, C, 0, 1, 2, 3, 4),
    Symlink("symlink", 83, C, X, 1),
    Symlink("symlinkat", 304, C, 1, 2),
    Unlink("unlink", 10, C, X, 0),
    Unlink("unlinkat", 301, C, 0, 1),
    Unlink("rmdir", 40, C, X, 0),
    Make("mkdir", Op::kMkdir, 39, C, X, 0),
    Make("mkdirat", Op::kMkdir, 296, C, 0, 1),
    Make("mknod", Op::kMknod, 14, C, X, 0),
    Make("mknodat", Op::kMknod, 297, C, 0, 1),
    Mount(21, C),
    Umount("umount", 22, C, X),
    Umount("umount2", 52, C, 1),
    MoveMount(429, C),
};

// io_uring requests, with the argument layout bpf/io_uring.bpf.c fills in.
constexpr SyscallInfo IoUring(SyscallInfo s) {
  s.io_uring = true;
  s.compat = false;
  return s;
}

constexpr SyscallInfo kIoUringTable[] = {
    IoUring(Open("io_uring_openat", 18, N, 0, 1, 2, 3, PS_OFL_DIRECT)),
    IoUring(Open("io_uring_openat2", 28, N, 0, 1, 2, 3, PS_OFL_DIRECT)),
    IoUring(Rename("io_uring_renameat", 35, N, 0, 1, 2, 3, 4)),
    IoUring(Unlink("io_uring_unlinkat", 36, N, 0, 1)),
    IoUring(Symlink("io_uring_symlinkat", 38, N, 1, 2)),
    IoUring(Make("io_uring_mkdirat", Op::kMkdir, 37, N, 0, 1)),
    IoUring(Link("io_uring_linkat", 39, N, 0, 1, 2, 3, 4)),
    IoUring(SetXattr("io_uring_fsetxattr", 41, N, false, 0, X)),
    IoUring(SetXattr("io_uring_setxattr", 42, N, false, X, 0)),
    IoUring(Truncate("io_uring_ftruncate", 55, N, true)),
};

struct Index {
  std::array<const SyscallInfo*, PS_DESC_SLOTS> by_slot{};
  Index() {
    for (const SyscallInfo& s : kTable) by_slot[s.nr + (s.compat ? PS_NR_SLOTS : 0)] = &s;
  }
};

const Index& GetIndex() {
  static const Index index;
  return index;
}

uint8_t ArgOrNone(int8_t a) { return a == kNoArg ? PS_ARG_NONE : static_cast<uint8_t>(a); }

}  // namespace

std::span<const SyscallInfo> AllSyscalls() { return kTable; }

std::span<const SyscallInfo> AllIoUringOps() { return kIoUringTable; }

absl::string_view OtherSyscallName(uint32_t nr, bool compat) {
  struct Name {
    uint32_t nr;
    absl::string_view name;
  };
  // Where credentials change or files are written outside the watched table:
  // exec, namespaces, prctl's capability calls, keyrings, io_uring, mounts, and
  // the writes through a descriptor held since before the start.
  static constexpr Name kNative[] = {
      {1, "write"},
      {18, "pwrite64"},
      {20, "writev"},
      {40, "sendfile"},
      {275, "splice"},
      {296, "pwritev"},
      {326, "copy_file_range"},
      {328, "pwritev2"},
      {56, "clone"},
      {57, "fork"},
      {58, "vfork"},
      {59, "execve"},
      {157, "prctl"},
      {165, "mount"},
      {166, "umount2"},
      {250, "keyctl"},
      {272, "unshare"},
      {304, "open_by_handle_at"},
      {308, "setns"},
      {322, "execveat"},
      {426, "io_uring_enter"},
      {428, "open_tree"},
      {429, "move_mount"},
      {432, "fsmount"},
      {435, "clone3"},
  };
  static constexpr Name kCompat[] = {
      {4, "write"},
      {146, "writev"},
      {181, "pwrite64"},
      {187, "sendfile"},
      {239, "sendfile64"},
      {313, "splice"},
      {334, "pwritev"},
      {377, "copy_file_range"},
      {379, "pwritev2"},
      {2, "fork"},
      {11, "execve"},
      {21, "mount"},
      {52, "umount2"},
      {120, "clone"},
      {172, "prctl"},
      {190, "vfork"},
      {288, "keyctl"},
      {310, "unshare"},
      {342, "open_by_handle_at"},
      {346, "setns"},
      {358, "execveat"},
      {426, "io_uring_enter"},
      {435, "clone3"},
  };
  for (const Name& n : compat ? absl::MakeConstSpan(kCompat) : absl::MakeConstSpan(kNative))
    if (n.nr == nr) return n.name;
  return "";
}

const SyscallInfo* LookupIoUringOp(uint32_t opcode) {
  for (const SyscallInfo& s : kIoUringTable)
    if (static_cast<uint32_t>(s.nr) == opcode) return &s;
  return nullptr;
}

const SyscallInfo* LookupSyscall(uint32_t nr, bool compat) {
  if (nr >= PS_NR_SLOTS) return nullptr;
  return GetIndex().by_slot[nr + (compat ? PS_NR_SLOTS : 0)];
}

void FillBpfTables(struct ps_sc_desc (&desc)[PS_DESC_SLOTS], __u64 (&any)[PS_NR_SLOTS / 64]) {
  std::memset(desc, 0, sizeof(desc));
  std::memset(any, 0, sizeof(any));
  for (const SyscallInfo& s : kTable) {
    ps_sc_desc& d = desc[s.nr + (s.compat ? PS_NR_SLOTS : 0)];
    switch (s.op) {
      case Op::kWriteOpen:
        d.kind = PS_SCK_OPEN;
        break;
      case Op::kTruncate:
        d.kind = PS_SCK_TRUNCATE;
        break;
      case Op::kRename:
      case Op::kLink:
      case Op::kSymlink:
      case Op::kUnlink:
        d.kind = PS_SCK_NAME;
        break;
      case Op::kMkdir:
      case Op::kMknod:
        d.kind = PS_SCK_CREATE;
        break;
      case Op::kMount:
      case Op::kUmount:
        d.kind = PS_SCK_MOUNT;
        break;
      default:
        d.kind = s.creds_if ? PS_SCK_CREDS_IF : IsCredsOp(s.op) ? PS_SCK_CREDS : PS_SCK_FILE;
    }
    d.op = static_cast<uint8_t>(s.op);
    d.path2_arg = ArgOrNone(s.path2_arg);
    d.dirfd2_arg = ArgOrNone(s.dirfd2_arg);
    d.oflags_arg = ArgOrNone(s.oflags_arg);
    d.oflags_mode = s.oflags_mode;
    d.nofollow = s.nofollow ? 1 : 0;
    d.name_sides = s.name_sides;
    d.path_arg = ArgOrNone(s.path_arg);
    d.name_arg = ArgOrNone(s.name_arg);
    // Only setxattr carries a value; removexattr's arguments stop at the name.
    d.value_arg = ArgOrNone(s.value_arg);
    d.size_arg = s.value_is_xattr_args ? PS_ARG_NONE : ArgOrNone(s.size_arg);
    d.value_mode = s.value_is_xattr_args ? PS_VAL_XATTR_ARGS : PS_VAL_DIRECT;
    d.mode_arg = ArgOrNone(s.mode_arg);
    d.owner_arg = ArgOrNone(s.uid_arg);
    d.fd_arg = ArgOrNone(s.fd_arg);
    d.dirfd_arg = ArgOrNone(s.dirfd_arg);
    // AT_* flags: the *at calls' flags argument; setxattr's flags are XATTR_*.
    const bool xattr_flags = s.op == Op::kXattrSet && !s.value_is_xattr_args;
    d.atflags_arg = xattr_flags ? PS_ARG_NONE : ArgOrNone(s.flags_arg);
    d.xflags_arg = xattr_flags ? ArgOrNone(s.flags_arg) : PS_ARG_NONE;
    // openat2's mode sits in its struct open_how, read through that argument.
    d.cmode_arg = ArgOrNone(s.oflags_mode == PS_OFL_OPEN_HOW ? s.oflags_arg : s.create_mode_arg);
    d.groups = s.name == "setgroups" || s.name == "setgroups32";
    any[s.nr / 64] |= uint64_t{1} << (s.nr % 64);
  }
}

}  // namespace permsentry
