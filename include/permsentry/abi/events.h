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

#define PS_ABI_VERSION 2

/* Record types (ps_event_header.type). Never reuse a value. */
enum ps_event_type {
  PS_EV_SYSCALL = 1, /* struct ps_syscall_event */
};

/* Bounds on the variable tail of a syscall event. */
#define PS_PATH_MAX 4096       /* PATH_MAX: the kernel refuses longer names */
#define PS_XATTR_NAME_MAX 256  /* XATTR_NAME_MAX + 1 */
#define PS_XATTR_VALUE_MAX 512 /* enough for 60 ACL entries or any file capability */
#define PS_COMM_LEN 16

struct ps_event_header {
  __u16 abi_version; /* PS_ABI_VERSION */
  __u16 type;        /* enum ps_event_type */
  __u32 size;        /* whole record, header and tail included */
  __u64 ktime;       /* CLOCK_BOOTTIME, ns, taken at syscall exit */
};

/* The process that made the call, as the kernel saw it at syscall exit. */
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
  __u32 _pad0;
  char comm[PS_COMM_LEN];
};

/* A task's credentials (struct cred), for set*id/capset before and after. */
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
};

/* ps_syscall_event.flags */
#define PS_SC_F_COMPAT (1u << 0)      /* ia32 syscall: nr is an ia32 number, args are 32-bit */
#define PS_SC_F_CREDS (1u << 1)       /* creds_before / creds_after are filled */
#define PS_SC_F_PATH (1u << 2)        /* the call takes a path: path bytes are in data */
#define PS_SC_F_PATH_FAULT (1u << 3)  /* the path pointer could not be read */
#define PS_SC_F_NAME (1u << 4)        /* xattr name bytes follow the path */
#define PS_SC_F_NAME_FAULT (1u << 5)  /* the xattr name pointer could not be read */
#define PS_SC_F_VALUE (1u << 6)       /* xattr value bytes follow the name */
#define PS_SC_F_VALUE_FAULT (1u << 7) /* the xattr value pointer could not be read */
#define PS_SC_F_URGENT (1u << 8)      /* sent on the wakeup ring (alert candidate) */
#define PS_SC_F_BEFORE (1u << 9)      /* `before` holds the inode as it was at sys_enter */
#define PS_SC_F_AFTER (1u << 10)      /* `after` holds the inode as it is at sys_exit */

/* ps_syscall_event.resolve_flags: what the kernel-resolved path in data[] is. */
#define PS_RES_OBJECT (1u << 0)       /* the changed object's own absolute path (fd-based) */
#define PS_RES_BASE (1u << 1)         /* the directory a relative path argument starts from */
#define PS_RES_TRUNCATED (1u << 2)    /* deeper than the walk bound: leading part missing */
#define PS_RES_OUTSIDE_ROOT (1u << 3) /* not under the caller's root (other mount ns, chroot) */
#define PS_RES_DELETED (1u << 4)      /* the object was unlinked */
#define PS_RES_BAD_FD (1u << 5)       /* the fd / dirfd did not name an open file */

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
 * One permission or credential syscall, emitted once at sys_exit with its result.
 * data[] holds, in order and without NULs: path_len bytes of the path argument,
 * name_len bytes of the xattr name, value_len bytes of the xattr value,
 * resolved_len bytes of the kernel-resolved absolute path (see resolve_flags).
 */
struct ps_syscall_event {
  struct ps_event_header hdr;
  struct ps_process proc;
  struct ps_creds creds_before; /* at sys_enter (PS_SC_F_CREDS) */
  struct ps_creds creds_after;  /* at sys_exit (PS_SC_F_CREDS) */
  __u64 args[6];                /* raw syscall arguments, as passed */
  __s64 ret;                    /* return value: >= 0 success, -errno failure */
  __u32 nr;                     /* syscall number (ia32 number when PS_SC_F_COMPAT) */
  __u32 flags;                  /* PS_SC_F_* */
  __u16 path_len;
  __u16 name_len;
  __u16 value_len; /* value bytes captured (<= PS_XATTR_VALUE_MAX) */
  __u16 _pad0;
  __u32 value_size; /* value size the caller passed (may exceed value_len) */
  __u32 _pad1;
  struct ps_inode_state before; /* PS_SC_F_BEFORE: fd-based calls, at sys_enter */
  struct ps_inode_state after;  /* PS_SC_F_AFTER: fd-based calls, at sys_exit */
  __u16 resolved_len;
  __u16 resolve_flags; /* PS_RES_* */
  __u32 _pad2;
  __u8 data[];
};

#define PS_SYSCALL_EVENT_MAX                                                                \
  (sizeof(struct ps_syscall_event) + PS_PATH_MAX + PS_XATTR_NAME_MAX + PS_XATTR_VALUE_MAX + \
   PS_PATH_MAX)

/*
 * What the BPF side needs to know about one syscall number, filled by userspace
 * before load (rodata): which argument is the path, the xattr name, the value.
 * kind == 0 means "not watched".
 */
#define PS_ARG_NONE 0xff
enum ps_sc_kind {
  PS_SCK_NONE = 0,
  PS_SCK_FILE = 1,  /* acts on a file: chmod/chown/xattr families */
  PS_SCK_CREDS = 2, /* changes the caller's credentials: set*id, setgroups, capset */
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
  __u8 _pad0[6];
};

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
  PS_STAT_MAX,
};

#endif /* PERMSENTRY_ABI_EVENTS_H_ */
