/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The permsentry kernel/user ABI: every byte the BPF programs send to userspace
 * is described here, and nowhere else.
 *
 * Rules:
 *  - Plain C, fixed-width types, explicit padding: the same header is compiled by
 *    clang -target bpf (against vmlinux.h) and by the C++ agent (against
 *    <linux/types.h>), and both must agree byte for byte. The C++ side
 *    static_asserts every size and offset (userspace/decode/abi_check.cc).
 *  - Every record starts with struct ps_event_header. `size` is the record's total
 *    length, so a reader can skip types it does not know.
 *  - Enum values are never reused. A layout change bumps PS_ABI_VERSION.
 */
#ifndef PERMSENTRY_ABI_EVENTS_H_
#define PERMSENTRY_ABI_EVENTS_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PS_ABI_VERSION 8

/* Record types (ps_event_header.type). Never reuse a value. */
enum ps_event_type {
  PS_EV_SYSCALL = 1, /* ABI 4 and older: one syscall. Retired, never reused. */
  PS_EV_PROC = 2,    /* struct ps_proc_event: fork, exec, exit */
  PS_EV_OP = 3,      /* struct ps_op_event: an operation on an object or on credentials */
  PS_EV_REPEATS = 4, /* struct ps_repeats_event: identical repeats of an earlier op record */
};

/* Bounds on the variable tail of an operation record. */
#define PS_PATH_MAX 4096       /* PATH_MAX: the kernel refuses longer names */
#define PS_XATTR_NAME_MAX 256  /* XATTR_NAME_MAX + 1 */
#define PS_XATTR_VALUE_MAX 512 /* enough for 60 ACL entries or any file capability */
#define PS_TEXT_MAX 4096       /* symlink target, mount source or file system type */
#define PS_COMM_LEN 16

struct ps_event_header {
  __u16 abi_version; /* PS_ABI_VERSION */
  __u16 type;        /* enum ps_event_type */
  __u32 size;        /* whole record, header and tail included */
  __u64 ktime;       /* CLOCK_BOOTTIME, ns, taken when the operation completed */
};

/* The process that made the call, as the kernel saw it when it completed. */
struct ps_process {
  __u64 start_time; /* group leader's start_boottime (ns): (pid, start_time) is identity */
  __u64 cgroup_id;
  __u32 pid;  /* tgid */
  __u32 tid;  /* kernel pid of the calling thread */
  __u32 ppid; /* real_parent's tgid */
  __u32 uid;
  __u32 euid;
  __u32 gid;
  __u32 egid;
  __u32 loginuid;  /* audit login uid; 4294967295 when unset */
  __u32 sessionid; /* audit session id; 4294967295 when unset */
  __u32 tty;       /* controlling terminal: major << 20 | minor; 0 when none */
  char comm[PS_COMM_LEN];
};

/*
 * Process identity: the thread-group id and the group leader's start time
 * (CLOCK_BOOTTIME ns). A bare pid is reused; this pair is not.
 */
struct ps_proc_key {
  __u32 tgid;
  __u32 _pad0;
  __u64 start;
};

/* A task's credentials (struct cred), before and after a change. */
struct ps_creds {
  __u32 uid;
  __u32 euid;
  __u32 suid;
  __u32 fsuid;
  __u32 gid;
  __u32 egid;
  __u32 sgid;
  __u32 fsgid;
  __u64 cap_inheritable;
  __u64 cap_permitted;
  __u64 cap_effective;
  __u64 cap_ambient;
  __u32 userns; /* inode number of the user namespace the capabilities hold in */
  __u32 _pad0;
};

/* An inode's identity and access state, read from the kernel's struct inode. */
struct ps_inode_state {
  __u64 ino;
  __u32 dev; /* st_dev encoding: major << 20 | minor (kernel dev_t) */
  __u32 mode;
  __u32 uid;
  __u32 gid;
  __u32 nlink;
  __u32 _pad0;
};

/*
 * What happened (ps_op_event.op): an operation on an object, or on the
 * caller's credentials, whichever hook saw it. Never reuse a value.
 */
enum ps_op {
  PS_OP_MODE = 1,         /* the mode bits of an inode (chmod family) */
  PS_OP_OWNER = 2,        /* its owner and/or group (chown family) */
  PS_OP_XATTR_SET = 3,    /* an extended attribute set (ACLs, file capabilities, ...) */
  PS_OP_XATTR_REMOVE = 4, /* one removed */
  PS_OP_CREDS = 5,        /* the caller's credentials (set*id, setgroups, capset, ...) */
  PS_OP_EXEC_CREDS = 6,   /* an exec gave the caller new ones (set-id, file capabilities) */
  PS_OP_CREATE = 7,       /* a regular file created, with its mode */
  PS_OP_MKDIR = 8,        /* a directory created */
  PS_OP_MKNOD = 9,        /* a device node, fifo or socket created */
  PS_OP_MOUNT = 10,       /* a file system mounted, or a mount moved or bound */
  PS_OP_UMOUNT = 11,      /* a mount removed */
  PS_OP_RENAME = 12,      /* a name moved onto another (or exchanged with it) */
  PS_OP_LINK = 13,        /* a hard link made */
  PS_OP_SYMLINK = 14,     /* a symbolic link made */
  PS_OP_UNLINK = 15,      /* a name removed (unlink, rmdir) */
  PS_OP_WRITE_OPEN = 16,  /* opened with write intent (or created by the open) */
  PS_OP_TRUNCATE = 17,    /* its size set (truncate, ftruncate) */
  PS_OP_WRITE = 18,       /* written through a descriptor opened before the sensor started
                           * (found by the startup scan; the first write, then at most one
                           * a second per descriptor) */
  PS_OP_MAX,
};

/* Which hook saw it (ps_op_event.hook). */
enum ps_hook {
  PS_HOOK_SYSCALL = 1,  /* sys_enter/sys_exit tracepoints (tracepoint backend) */
  PS_HOOK_IO_URING = 2, /* io_uring's submission tracepoint (tracepoint backend) */
  PS_HOOK_FENTRY = 3,   /* fentry/fexit on the kernel function that does the work */
  PS_HOOK_LSM = 4,      /* a BPF-LSM program */
  PS_HOOK_SCAN = 5,     /* the startup scan (iter/task_file): found open, not seen opening */
  PS_HOOK_FORK = 6,     /* sched_process_fork: a child made with credentials its parent does
                         * not hold (clone into a new user namespace); the process is the
                         * child, creds_before its parent's */
};

/* How the operation ended (ps_op_event.result). */
enum ps_result {
  PS_RESULT_UNKNOWN = 0, /* not known where it was seen (io_uring at submission) */
  PS_RESULT_OK = 1,
  PS_RESULT_ERROR = 2, /* `error` holds the errno */
};

/* ps_op_event.flags */
#define PS_OF_SYSCALL (1u << 0) /* syscall_nr is the syscall the caller was in */
#define PS_OF_COMPAT (1u << 1)  /* ... and it was an ia32 one (int 0x80 / sysenter) */
#define PS_OF_IO_URING \
  (1u << 2) /* an io_uring request (syscall_nr: IORING_OP_* with HOOK_IO_URING) */
#define PS_OF_URGENT (1u << 3)       /* sent on the wakeup ring (alert candidate) */
#define PS_OF_OBJECT (1u << 4)       /* `obj` identifies the object */
#define PS_OF_BEFORE (1u << 5)       /* `before`: the object's state before the operation */
#define PS_OF_AFTER (1u << 6)        /* `after`: its state after it */
#define PS_OF_CREDS (1u << 7)        /* creds_before / creds_after are filled */
#define PS_OF_WATCHED (1u << 8)      /* a watched credential file is involved: see watch_* */
#define PS_OF_MODE (1u << 9)         /* `mode`: the mode set, or created with (umask applied) */
#define PS_OF_OWNER (1u << 10)       /* `uid`, `gid`: the owner set ((uid_t)-1: unchanged) */
#define PS_OF_RDEV (1u << 11)        /* `rdev`: the device number of a node */
#define PS_OF_OPEN (1u << 12)        /* `open_flags`: the O_* flags of an open */
#define PS_OF_NAME (1u << 13)        /* an xattr name is in the tail (name_len may be 0) */
#define PS_OF_VALUE (1u << 14)       /* an xattr value is in the tail (value_len may be 0) */
#define PS_OF_NAME_FAULT (1u << 15)  /* the xattr name could not be read */
#define PS_OF_VALUE_FAULT (1u << 16) /* the xattr value could not be read */
#define PS_OF_USER_COPY                                                                    \
  (1u << 17)                         /* name and value were read from the caller's memory, \
                                      * not from the kernel's copy (tracepoint backend) */
#define PS_OF_EXCHANGE (1u << 18)    /* a rename exchanged the two names (RENAME_EXCHANGE) */
#define PS_OF_XATTR_FLAGS (1u << 19) /* `xattr_flags`: XATTR_CREATE / XATTR_REPLACE */
#define PS_OF_MOUNT_FLAGS                                                         \
  (1u << 20) /* `open_flags` holds a mount's flags: mount(2)'s MS_*, move_mount's \
              * MOVE_MOUNT_*, umount2's MNT_* */
#define PS_OF_FSTYPE (1u << 21) /* the name in the tail is a mount's file system type */
#define PS_OF_GROUPS                                                                \
  (1u << 22) /* the value in the tail is the supplementary groups: a __u32 count of \
              * the groups before (PS_GROUPS_UNKNOWN: not known), those gids, then  \
              * the gids after the call (each list at most PS_GROUPS_MAX) */
#define PS_GROUPS_UNKNOWN 0xffffffffu
#define PS_GROUPS_MAX 63

/* path_flags / path2_flags: what a kernel-resolved path in the tail is. */
#define PS_PATH_OBJECT (1u << 0)       /* the object's own absolute path */
#define PS_PATH_BASE (1u << 1)         /* the directory a relative path argument starts from */
#define PS_PATH_TRUNCATED (1u << 2)    /* deeper than the walk bound: leading part missing */
#define PS_PATH_OUTSIDE_ROOT (1u << 3) /* not under the caller's root (a chroot's) */
#define PS_PATH_DELETED (1u << 4)      /* the object was unlinked */
#define PS_PATH_BAD_FD (1u << 5)       /* the fd / dirfd did not name an open file */
#define PS_PATH_PARENT (1u << 6)       /* the directory holding the watched name (name ops) */
#define PS_PATH_MOUNT_GUESSED                                   \
  (1u << 7) /* the hook gave no mount: one of several mounts of \
             * its file system was taken */
#define PS_PATH_OTHER_MNTNS                                                   \
  (1u << 8) /* not reachable from the host's root: named from the root of the \
             * mount namespace it is in (a container's), not the host's */

/* ps_sc_trailer.lookup_flags: how the tracepoint backend's dcache lookup of the
 * path argument went (bpf/lookup.bpf.h). With none of NOT_CACHED/ABSENT/
 * UNRESOLVED the object was found and `before` is its state at sys_enter. */
#define PS_LK_DONE (1u << 0)       /* the lookup finished within its budget */
#define PS_LK_NOT_CACHED (1u << 1) /* a component is not in the dentry cache */
#define PS_LK_ABSENT (1u << 2)     /* a component does not exist (negative dentry, ENOTDIR) */
#define PS_LK_UNRESOLVED (1u << 3) /* stopped before the last component */
#define PS_LK_SYMLINK (1u << 4)    /* followed a symlink on the way */
#define PS_LK_BUDGET (1u << 5)     /* gave up: too many steps (huge directories, deep path) */
#define PS_LK_AT_EXIT (1u << 6)    /* found only at sys_exit: no `before`, `after` is exact */
#define PS_LK_DOTDOT (1u << 7)     /* went through ".." (resolved on the real tree) */

/* Which object an operation acted on: its identity and type. */
struct ps_object_id {
  __u64 ino;
  __u32 dev;  /* kernel dev_t: major << 20 | minor */
  __u32 mode; /* S_IFMT type bits and permission bits, when seen */
};

/*
 * One operation: what happened to which object (or to whose credentials), as
 * whichever hook saw it, emitted once with its result.
 *
 * data[] holds, in order and without NULs:
 *   path_len bytes   the object's path, resolved by the kernel (see path_flags);
 *                    for a rename or link, the source name
 *   path2_len bytes  rename / link: the destination name (see path2_flags)
 *   name_len bytes   xattr name, or a mount's file system type (PS_OF_FSTYPE)
 *   value_len bytes  xattr value (at most PS_XATTR_VALUE_MAX of value_size)
 *   text_len bytes   symlink target, mount source (its device name, as mount(2)
 *                    was given it or the mount holds it), or the exec'd binary's path
 *   trailer_len bytes  the syscall as the caller made it (struct ps_sc_trailer
 *                    and its strings): tracepoint backend only, else 0
 */
struct ps_op_event {
  struct ps_event_header hdr;
  struct ps_process proc;
  __u16 op;                      /* enum ps_op */
  __u8 hook;                     /* enum ps_hook */
  __u8 result;                   /* enum ps_result */
  __s32 error;                   /* PS_RESULT_ERROR: the errno (positive) */
  __u32 flags;                   /* PS_OF_* */
  __u32 syscall_nr;              /* PS_OF_SYSCALL: native or (PS_OF_COMPAT) ia32 number */
  struct ps_object_id obj;       /* PS_OF_OBJECT */
  struct ps_inode_state before;  /* PS_OF_BEFORE */
  struct ps_inode_state after;   /* PS_OF_AFTER */
  struct ps_creds creds_before;  /* PS_OF_CREDS */
  struct ps_creds creds_after;   /* PS_OF_CREDS */
  __u32 mode;                    /* PS_OF_MODE */
  __u32 uid;                     /* PS_OF_OWNER */
  __u32 gid;                     /* PS_OF_OWNER */
  __u32 rdev;                    /* PS_OF_RDEV */
  __u32 open_flags;              /* PS_OF_OPEN */
  __u32 xattr_flags;             /* PS_OF_XATTR_FLAGS */
  __u32 value_size;              /* PS_OF_VALUE: the value's whole size */
  __u32 watch_class;             /* PS_OF_WATCHED: index of the watch-list entry */
  __u32 watch_how;               /* PS_OF_WATCHED: PS_WM_* */
  __u32 proc_flags;              /* PS_PF_* of the calling process (process table) */
  struct ps_proc_key ai_session; /* root of the caller's AI session; tgid 0: none */
  __u16 path_len;
  __u16 path_flags; /* PS_PATH_* */
  __u16 path2_len;
  __u16 path2_flags; /* PS_PATH_* */
  __u16 name_len;
  __u16 value_len;
  __u16 text_len;
  __u16 trailer_len;
  /* How many leading bytes of the path (path2) are the caller's own root, when
   * it is not the host's (a chroot): the rest is the path as the caller sees
   * it. 0: the caller's root is the host's, or the object is not under it. */
  __u16 path_root_len;
  __u16 path2_root_len;
  __u32 _pad1;
  /* Non-zero: identical repeats of this record (same process, object,
   * operation, result and before/after state) are counted in the kernel, not
   * sent; PS_EV_REPEATS records with this id report how many, and when. Only
   * records that are not alert candidates are coalesced. */
  __u64 coalesce_id;
  __u8 data[];
};

/*
 * Lossless coalescing (bpf/coalesce.bpf.h): `repeats` more calls identical to
 * the op record whose coalesce_id is `coalesce_id` were made between
 * first_ktime and last_ktime (CLOCK_BOOTTIME ns). Several such records may
 * follow one op record; PS_RF_FINAL marks the last. Sent on the bulk ring,
 * after the op record it counts for. Every call is either a record or counted
 * in exactly one of these: records + repeats = calls.
 */
#define PS_RF_FINAL (1u << 0) /* the kernel forgot the op record: no more repeats of it */
struct ps_repeats_event {
  struct ps_event_header hdr;
  __u64 coalesce_id;
  __u64 repeats;
  __u64 first_ktime;
  __u64 last_ktime;
  __u32 flags; /* PS_RF_* */
  __u32 _pad0;
};

/* The coalescing settings (map coalesce_conf, one entry), written by userspace. */
struct ps_coalesce_conf {
  __u64 window_ns; /* 0: coalescing off. A repeat is counted when the last one of
                    * its kind came at most this long before it */
  __u32 flush_all; /* the flush program reports every pending count now (stop) */
  __u32 _pad0;
};

/* ps_sc_trailer.flags */
#define PS_TF_PATH (1u << 0)        /* the call takes a path: path_len bytes of it follow */
#define PS_TF_PATH_FAULT (1u << 1)  /* its pointer could not be read */
#define PS_TF_PATH2 (1u << 2)       /* a second path (rename/link/symlink: the new name) */
#define PS_TF_PATH2_FAULT (1u << 3) /* its pointer could not be read */
#define PS_TF_LOOKUP (1u << 4)      /* the kernel looked the path up: see lookup_flags */
#define PS_TF_PATH_CHANGED                                                     \
  (1u << 5) /* the path in the caller's memory was not the same at sys_exit as \
             * at sys_enter: another thread rewrote it during the call */

/*
 * The tracepoint backend's optional trailer: the syscall (or io_uring request)
 * as the caller made it. Its strings were read from the caller's memory, so
 * they say what was asked, not which object the kernel acted on.
 * Followed by path_len bytes of the path argument, then path2_len of the second.
 */
struct ps_sc_trailer {
  __u64 args[6]; /* raw arguments (io_uring: the request's, in its table's layout) */
  __s64 ret;     /* raw return value (io_uring: 0, not known at submission) */
  __u32 flags;   /* PS_TF_* */
  __u16 path_len;
  __u16 path2_len;
  __u16 lookup_flags; /* PS_TF_LOOKUP: PS_LK_* */
  __u16 _pad0;
  __u32 _pad1;
};

/* ps_op_event.watch_how: why the object counts as a watched credential file. */
#define PS_WM_OBJECT (1u << 0)     /* its inode is a watched file or directory */
#define PS_WM_DIR_ENTRY (1u << 1)  /* it is an entry of a watched directory */
#define PS_WM_NAME (1u << 2)       /* its name in its directory is a watched name */
#define PS_WM_PATH2 (1u << 3)      /* matched on the destination (rename/link target) */
#define PS_WM_UNVERIFIED (1u << 4) /* name matched, identity could not be checked */

/* The largest record either backend builds: the tracepoint backend fills path,
 * name, value and a trailer with two path arguments; the rich backend path,
 * path2, name, value and text. Three strings of PS_PATH_MAX (= PS_TEXT_MAX) at
 * most, in both. */
#define PS_OP_EVENT_MAX                                                                    \
  (sizeof(struct ps_op_event) + 3 * PS_PATH_MAX + PS_XATTR_NAME_MAX + PS_XATTR_VALUE_MAX + \
   sizeof(struct ps_sc_trailer))

/*
 * What the tracepoint backend needs to know about one syscall number, filled by
 * userspace before load (rodata): the operation it performs, and which
 * argument is the path, the xattr name, the value. kind == 0: not watched.
 */
#define PS_ARG_NONE 0xff
enum ps_sc_kind {
  PS_SCK_NONE = 0,
  PS_SCK_FILE = 1,  /* acts on a file: chmod/chown/xattr families */
  PS_SCK_CREDS = 2, /* changes the caller's credentials: set*id, setgroups, capset */
  /* Reported only when a watched credential file is involved: */
  PS_SCK_OPEN = 3,     /* open family, with write intent (O_WRONLY/O_RDWR/O_TRUNC/O_CREAT) */
  PS_SCK_TRUNCATE = 4, /* truncate / ftruncate */
  PS_SCK_NAME = 5,     /* rename, link, symlink, unlink: changes which inode a name holds */
  /* Reported when the new object's mode opens access (ps_risky_create): */
  PS_SCK_CREATE = 6, /* mkdir, mknod families (an open's O_CREAT is PS_SCK_OPEN's) */
  /* Reported only when the call changed the caller's credentials: */
  PS_SCK_CREDS_IF = 7, /* execve (set-id, file capabilities), unshare, setns, prctl */
  PS_SCK_MOUNT = 8,    /* mount, umount, move_mount: always reported */
};
enum ps_oflags_mode {
  PS_OFL_DIRECT = 0,   /* oflags_arg is the O_* flags */
  PS_OFL_OPEN_HOW = 1, /* oflags_arg points at struct open_how (openat2) */
  PS_OFL_CREAT = 2,    /* creat(): O_CREAT|O_WRONLY|O_TRUNC */
};
enum ps_value_mode {
  PS_VAL_DIRECT = 0,     /* value_arg points at the bytes, size_arg is their length */
  PS_VAL_XATTR_ARGS = 1, /* value_arg points at struct xattr_args (setxattrat) */
};
struct ps_sc_desc {
  __u8 kind;        /* enum ps_sc_kind */
  __u8 path_arg;    /* index of the path pointer, or PS_ARG_NONE */
  __u8 name_arg;    /* index of the xattr name pointer, or PS_ARG_NONE */
  __u8 value_arg;   /* index of the xattr value pointer, or PS_ARG_NONE */
  __u8 size_arg;    /* index of the value size, or PS_ARG_NONE */
  __u8 value_mode;  /* enum ps_value_mode */
  __u8 mode_arg;    /* index of the mode argument (chmod family), or PS_ARG_NONE */
  __u8 fd_arg;      /* index of the fd the call acts on, or PS_ARG_NONE */
  __u8 dirfd_arg;   /* index of the dirfd of an *at call, or PS_ARG_NONE */
  __u8 atflags_arg; /* index of the AT_* flags, or PS_ARG_NONE */
  __u8 path2_arg;   /* index of the second path (rename/link/symlink new name) */
  __u8 dirfd2_arg;  /* index of the second path's dirfd */
  __u8 oflags_arg;  /* index of the open flags (see oflags_mode) */
  __u8 oflags_mode; /* enum ps_oflags_mode */
  __u8 nofollow;    /* acts on a symlink itself unless AT_SYMLINK_FOLLOW (lchown, link) */
  __u8 name_sides;  /* PS_SCK_NAME: which paths are names to check (1: path, 2: path2) */
  __u8 owner_arg;   /* index of the new owner (chown family), or PS_ARG_NONE */
  __u8 op;          /* enum ps_op the call performs */
  __u8 xflags_arg;  /* index of setxattr's XATTR_* flags, or PS_ARG_NONE */
  __u8 cmode_arg;   /* index of a creation's mode (open family, mkdir, mknod; mknod's dev
                     * follows it), or PS_ARG_NONE */
  __u8 groups;      /* setgroups: report the supplementary groups it set */
  __u8 _pad[3];
};

/*
 * The credential-file watch list, as userspace puts it in the kernel's maps
 * (refreshed whenever a rename or link may have replaced a watched inode).
 * dev is the kernel's dev_t encoding (major << 20 | minor).
 */
#define PS_WATCH_NAME_LEN 64 /* names up to 62 bytes; the key is NUL-padded */
struct ps_watch_key {
  __u64 ino;
  __u32 dev;
  __u32 _pad0;
};
#define PS_WF_OBJECT (1u << 0)      /* this inode is watched itself */
#define PS_WF_ALL_ENTRIES (1u << 1) /* a directory whose every entry is watched */
#define PS_WF_NAMES (1u << 2)       /* a directory holding watched names (see watch_names) */
/* A directory whose subdirectories, by name, hold watched names or are watched
 * directories: watch_names keys "subdir/name" (a watched name) or "subdir/"
 * (every entry) under it, so that a subdirectory made or moved there after the
 * last refresh (a new ~/.ssh) is watched from its first write. */
#define PS_WF_SUBNAMES (1u << 3)
struct ps_watch_val {
  __u32 cls; /* index into the watch list (the first entry that covers it) */
  __u32 flags;
};
struct ps_watch_name_key {
  __u64 dir_ino;
  __u32 dir_dev;
  __u32 _pad0;
  char name[PS_WATCH_NAME_LEN];
};
/* watch_filter: names worth a dcache lookup when a path-based name operation
 * (rename, link, unlink) uses them as its last or next-to-last component. */
#define PS_NF_LAST (1u << 0) /* a watched object is called this */
#define PS_NF_DIR (1u << 1)  /* a directory whose entries are watched is called this */
struct ps_watch_filter_key {
  char name[PS_WATCH_NAME_LEN];
};

/*
 * The process table (bpf/process.bpf.c): one entry per live process, keyed by
 * struct ps_proc_key, created at fork (or by the startup seed), deleted when
 * the whole thread group has exited. The AI session a process belongs to is
 * copied from parent to child at fork, in the kernel, so no later change of
 * environment, uid, session or parent can shed it.
 */
#define PS_PF_SESSION_ROOT (1u << 0) /* this process started its AI session */
#define PS_PF_IDE (1u << 1)          /* runs in an IDE terminal (an IDE marker was seen) */
#define PS_PF_SEEDED (1u << 2)       /* entry made by the startup seed, not at fork */
#define PS_PF_NO_PARENT (1u << 3)    /* forked by a process the table did not hold */
#define PS_PF_INHERIT (PS_PF_IDE)    /* flags a child copies from its parent */
struct ps_proc_info {
  struct ps_proc_key parent;  /* the process that forked it (not the reparented one) */
  struct ps_proc_key session; /* root of its AI session; tgid 0: none */
  __u32 flags;                /* PS_PF_* */
  __u32 sig;                  /* session roots: index of the signature that matched */
  __u32 signal;               /* session roots: enum ps_ai_signal */
  __u32 loginuid;             /* audit login uid (4294967295: unset), at fork / exec */
  __u32 sessionid;            /* audit session id (4294967295: unset) */
  __u32 tty;                  /* controlling terminal: major << 20 | minor; 0: none */
  char comm[PS_COMM_LEN];     /* the program it runs (comm after its last exec) */
};

/* How a session root was recognised at exec. */
enum ps_ai_signal {
  PS_SIGNAL_NONE = 0,
  PS_SIGNAL_EXE = 1,      /* the executable's path ends in a signature path */
  PS_SIGNAL_SCRIPT = 2,   /* a launcher (node, python, bun) ran a signature script (argv[1]) */
  PS_SIGNAL_ENV = 3,      /* an environment marker the agent sets */
  PS_SIGNAL_DECLARED = 4, /* PERMSENTRY_AGENT=NAME[/SESSION] (`permsentry exec`) */
  PS_SIGNAL_SEEDED = 5,   /* recognised by userspace when the sensor started */
};

/*
 * Agent signatures, as userspace puts them in the kernel (ai_paths, ai_env).
 * Paths are matched by whole trailing components: the hash of a suffix of
 * components, read right to left (ps_sfx_step), so "claude" matches
 * /usr/bin/claude and "@openai/codex/bin/codex.js" matches the npm script. A
 * last component "*" matches any name ("claude/versions/ *").
 * Environment markers are matched by the FNV-1a hash of the variable's name
 * and, unless any value will do, of its value or a prefix of it.
 */
#define PS_AIP_AGENT (1u << 0)    /* an agent's executable or script */
#define PS_AIP_LAUNCHER (1u << 1) /* an interpreter whose argv[1] is checked */
struct ps_ai_path_val {
  __u32 sig;
  __u32 flags; /* PS_AIP_* */
};
enum ps_ai_env_kind {
  PS_AIE_AGENT = 1,    /* the agent sets it for what it spawns: starts a session */
  PS_AIE_IDE = 2,      /* an IDE terminal: PS_PF_IDE, never a session by itself */
  PS_AIE_DECLARED = 3, /* PERMSENTRY_AGENT: the value names the agent */
};
/* Signature indexes of markers that are not one agent's (ps_ai_env_val.sig):
 * the marker's value names the agent. */
#define PS_AI_SIG_GENERIC 0xfffffffdu  /* AI_AGENT=NAME, AGENT=NAME: an agent nobody listed */
#define PS_AI_SIG_DECLARED 0xfffffffeu /* PERMSENTRY_AGENT=NAME[/SESSION] (`permsentry exec`) */
#define PS_AI_SIG_ASSISTED 0xfffffffcu /* PERMSENTRY_ASSISTED=NAME: a human, advised by NAME */
enum ps_ai_value_mode {
  PS_AIV_ANY = 0,    /* any value, empty included */
  PS_AIV_EXACT = 1,  /* look up ps_env_pair(name hash, value hash) for the signature */
  PS_AIV_PREFIX = 2, /* value_hash is the hash of the first value_len bytes */
};
struct ps_ai_env_val {
  __u64 value_hash;
  __u32 sig;
  __u16 kind;      /* enum ps_ai_env_kind */
  __u8 value_mode; /* enum ps_ai_value_mode */
  __u8 value_len;  /* PS_AIV_PREFIX */
};

/* Bounds of what exec looks at. */
#define PS_AI_TEXT_MAX 256 /* matched text (env var, script path) carried in the record */
#define PS_EXE_MAX 256     /* the executable path carried in exec records */

/* FNV-1a (names, values) and the right-to-left suffix hash (paths): the same
 * inline code in the kernel and in userspace, so both compute the same keys. */
#define PS_FNV_OFFSET 0xcbf29ce484222325ULL
#define PS_FNV_PRIME 0x100000001b3ULL
static inline __u64 ps_fnv_step(__u64 h, __u8 c) { return (h ^ c) * PS_FNV_PRIME; }
static inline __u64 ps_sfx_step(__u64 h, __u8 c) { return (h ^ c) * PS_FNV_PRIME; }
/* Key of an exact NAME=VALUE marker in ai_env (the name's own key then has
 * value_mode PS_AIV_EXACT and says only "compare the value"). */
static inline __u64 ps_env_pair(__u64 name_hash, __u64 value_hash) {
  return (name_hash ^ (value_hash >> 1)) * PS_FNV_PRIME;
}

/* ps_proc_event.kind */
enum ps_proc_kind {
  PS_PROC_FORK = 1, /* a new process (not a thread) */
  PS_PROC_EXEC = 2, /* a successful execve; data: the executable path, then matched text */
  PS_PROC_EXIT = 3, /* the last thread of the group exited */
};

/*
 * A process lifecycle record. Fork and exit go to the bulk ring; an exec that
 * starts an AI session goes to the wakeup ring, ahead of anything the new
 * session does. data[]: exe_len bytes of the executable path, then text_len
 * bytes of what matched (an environment variable "NAME=value", or argv[1]).
 */
/* An exec record's tail: the executable (exe_len bytes from 0); when there is
 * more, the executable's slot is PS_EXE_MAX long, the arguments follow (argv
 * as the kernel keeps it, NUL-separated, args_len bytes, at most PS_ARGS_MAX),
 * and a session root's matched text sits at PS_PROC_TEXT_OFF. */
#define PS_ARGS_MAX 256
#define PS_PROC_TEXT_OFF (PS_EXE_MAX + PS_ARGS_MAX)
#define PS_PROC_ARGS_TRUNCATED (1u << 0) /* argv was longer than PS_ARGS_MAX */
struct ps_proc_event {
  struct ps_event_header hdr;
  struct ps_proc_key key;
  struct ps_proc_info info; /* after the fork / exec */
  __u32 kind;               /* enum ps_proc_kind */
  __u32 uid;
  __u32 euid;
  __u16 exe_len;
  __u16 text_len;
  __u16 args_len;
  __u16 args_flags; /* PS_PROC_ARGS_* */
  __u32 _pad0;      /* the tail starts at sizeof: 8-byte aligned */
  __u8 data[];
};
#define PS_PROC_EVENT_MAX (sizeof(struct ps_proc_event) + PS_PROC_TEXT_OFF + PS_AI_TEXT_MAX)

/* Syscall descriptor table: [0, 512) native numbers, [512, 1024) ia32 numbers. */
#define PS_NR_SLOTS 512
#define PS_DESC_SLOTS (2 * PS_NR_SLOTS)

/* Counters in the per-CPU `stats` map; userspace sums the CPUs. */
enum ps_stat {
  PS_STAT_EVENTS_BULK = 0, /* records written to the bulk ring */
  PS_STAT_EVENTS_URGENT,   /* records written to the wakeup ring */
  PS_STAT_LOST_BULK,       /* bulk ring full: record dropped */
  PS_STAT_LOST_URGENT,     /* wakeup ring full: record dropped */
  PS_STAT_NO_ENTRY,        /* exit seen without the entry args stash */
  PS_STAT_IO_URING,        /* io_uring submissions of watched opcodes reported */
  PS_STAT_PROC_FULL,       /* process table full: a new process is not tracked */
  PS_STAT_PROC_MISSING,    /* exec or exit of a process the table did not hold */
  PS_STAT_UNPAIRED,        /* rich backend: an operation's entry hook ran, its completion
                            * never matched it (reported with result unknown) */
  PS_STAT_REPEATS,         /* identical repeats counted in the kernel, not sent as records */
  PS_STAT_MAX,
};

#endif /* PERMSENTRY_ABI_EVENTS_H_ */
