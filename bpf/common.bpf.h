/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Maps and helpers shared by every permsentry BPF hook family.
 * Capture and cheap filtering only: no policy, no strings userspace can build.
 */
#ifndef PERMSENTRY_BPF_COMMON_H_
#define PERMSENTRY_BPF_COMMON_H_

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "permsentry/abi/events.h"

/*
 * Maps shared by several hook-family objects are __weak: `bpftool gen object`
 * links the objects and keeps one instance of each.
 */

/*
 * Bulk ring: every event, written with BPF_RB_NO_WAKEUP. Userspace drains it on a
 * short timer, so a storm of events costs no wakeup per event. Sized by userspace
 * before load (bpf_map__set_max_entries).
 */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20);
} events_bulk SEC(".maps") __weak;

/*
 * Wakeup ring: the few events that may become alerts (setuid/setgid bits, uid 0
 * or capability gains, ACL and file-capability xattrs). Written with adaptive
 * wakeup so the reader is woken at once, without busy-polling the bulk ring.
 */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 20);
} events_urgent SEC(".maps") __weak;

#define PS_PF_KTHREAD 0x00200000 /* task->flags: a kernel thread */

/* Per-CPU counters (enum ps_stat): userspace sums and reports them, drops included. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PS_STAT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps") __weak;

/*
 * The process table (struct ps_proc_info by struct ps_proc_key): written by
 * process.bpf.c at fork, exec and exit (and by the startup seed), read at
 * every reported call to tag it with its AI session. Sized by userspace
 * before load; not preallocated, so it costs what the live processes use.
 */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 65536);
  __type(key, struct ps_proc_key);
  __type(value, struct ps_proc_info);
} procs SEC(".maps") __weak;

/* Per-CPU scratch for building one record (too big for the 512-byte stack). */
#define PS_SCRATCH_SIZE 32768
_Static_assert(PS_SCRATCH_SIZE >= PS_OP_EVENT_MAX, "scratch smaller than a record");
struct ps_scratch {
  __u8 buf[PS_SCRATCH_SIZE];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_scratch);
} scratch SEC(".maps") __weak;

/*
 * Appending to the tail of the record being built in `scratch`. Global
 * functions: the verifier checks their bounds once, and callers carry the tail
 * offset as a plain number rather than a precisely tracked pointer offset
 * (which multiplied the states of every branch before it). Offsets and sizes
 * are masked, not clamped: a mask bounds them for every verifier, and callers
 * keep each below its mask by construction.
 */
#define PS_TAIL_OFF_MASK 0x3fff /* data + 16 KiB + a 4 KiB string < PS_SCRATCH_SIZE */
_Static_assert(sizeof(struct ps_op_event) + PS_TAIL_OFF_MASK + PS_PATH_MAX < PS_SCRATCH_SIZE,
               "a masked tail write can leave the scratch");

static __always_inline struct ps_op_event* ps_scratch_event(void) {
  __u32 zero = 0;
  struct ps_scratch* sb = bpf_map_lookup_elem(&scratch, &zero);
  return sb ? (struct ps_op_event*)sb->buf : NULL;
}

/* A NUL-terminated string from user (or kernel) memory at data + off; returns
 * what bpf_probe_read_*_str returned (the length with its NUL, 0 for "" on some
 * kernels, < 0 on a fault). */
__weak __noinline long ps_tail_str(__u32 off, __u64 src, __u32 max, __u32 kernel) {
  struct ps_op_event* ev = ps_scratch_event();
  if (!ev) return -1;
  off &= PS_TAIL_OFF_MASK;
  max &= 0x1fff;
  if (max > PS_PATH_MAX) max = PS_PATH_MAX;
  if (kernel) return bpf_probe_read_kernel_str(ev->data + off, max, (const void*)src);
  return bpf_probe_read_user_str(ev->data + off, max, (const void*)src);
}

/* len (<= PS_XATTR_VALUE_MAX) bytes from user (or kernel) memory at data + off. */
__weak __noinline long ps_tail_bytes(__u32 off, __u64 src, __u32 len, __u32 kernel) {
  struct ps_op_event* ev = ps_scratch_event();
  if (!ev) return -1;
  off &= PS_TAIL_OFF_MASK;
  len &= 0x3ff;
  if (len == 0 || len > PS_XATTR_VALUE_MAX) return -1;
  if (kernel) return bpf_probe_read_kernel(ev->data + off, len, (const void*)src);
  return bpf_probe_read_user(ev->data + off, len, (const void*)src);
}

/* A hash of `len` (at most PS_PATH_MAX) bytes, eight at a time: the same
 * argument read twice hashes the same unless someone rewrote it in between.
 * (Unaligned 8-byte loads: x86-64 only, as this project is.) */
static __always_inline __u64 ps_hash_mem(const __u8* p, __u32 len) {
  __u64 h = 0xcbf29ce484222325ULL;
  for (__u32 i = 0; i < PS_PATH_MAX / 8; i++) {
    const __u32 at = i * 8;
    if (at >= len) break;
    __u64 w = *(const __u64*)(p + at);
    const __u32 rem = len - at;
    if (rem < 8) w &= (1ULL << (rem * 8)) - 1;
    h = (h ^ w) * 0x100000001b3ULL;
  }
  return h ^ len;
}

/* The hash of data[off, off + len) of the record being built. A global
 * function: verified once. */
__weak __noinline __u64 ps_hash_tail(__u32 off, __u32 len) {
  struct ps_op_event* ev = ps_scratch_event();
  if (!ev || len > PS_PATH_MAX) return 0;
  return ps_hash_mem(ev->data + (off & PS_TAIL_OFF_MASK), len);
}

static __always_inline void ps_count(__u32 stat) {
  __u64* v = bpf_map_lookup_elem(&stats, &stat);
  if (v) *v += 1;
}

#include "coalesce.bpf.h"

/*
 * Send the record built in `scratch`, `tail` bytes of data after the fixed
 * part: to the wakeup ring when it may become an alert (falling back to the
 * bulk ring when that is full, counted), else to the bulk ring without a
 * wakeup, unless it repeats one sent lately (coalesce.bpf.h: then it is only
 * counted). A global function, so the size needs no precise tracking in its
 * callers.
 */
__weak __noinline int ps_emit(__u32 tail, __u32 urgent) {
  __u32 size;
  int co = PS_CO_SEND;
  struct ps_op_event* ev = ps_scratch_event();
  if (!ev) return -1;
  /* The mask proves the size in bounds to every verifier (a compare-and-clamp
   * can reach the helper through an unclamped register copy, which 6.1
   * rejects); the scratch buffer is a power of two above the largest record. */
  size = (sizeof(*ev) + tail) & (PS_SCRATCH_SIZE - 1);
  ev->hdr.size = size;
  ev->coalesce_id = 0;
  if (!urgent) {
    co = ps_coalesce_begin(size);
    if (co == PS_CO_REPEAT) return 0;
    ev = ps_scratch_event(); /* re-derived after the global call */
    if (!ev) {
      if (co == PS_CO_CLAIM) ps_coalesce_end(0);
      return -1;
    }
  }
  if (urgent) {
    ev->flags |= PS_OF_URGENT;
    if (bpf_ringbuf_output(&events_urgent, ev, size, 0) == 0) {
      ps_count(PS_STAT_EVENTS_URGENT);
      return 0;
    }
    /* Wakeup ring full: counted, then the bulk ring still carries the record. */
    ps_count(PS_STAT_LOST_URGENT);
    ev->flags &= ~PS_OF_URGENT;
  }
  if (bpf_ringbuf_output(&events_bulk, ev, size, BPF_RB_NO_WAKEUP) == 0) {
    ps_count(PS_STAT_EVENTS_BULK);
    if (co == PS_CO_CLAIM) ps_coalesce_end(1);
    return 0;
  }
  ps_count(PS_STAT_LOST_BULK);
  if (co == PS_CO_CLAIM) ps_coalesce_end(0);
  return -1;
}

/* The controlling terminal as a dev_t (major << 20 | minor), 0 for none. */
static __always_inline __u32 ps_tty(struct task_struct* task) {
  struct tty_struct* tty = task->signal->tty;
  if (!tty) return 0;
  struct tty_driver* drv = tty->driver;
  if (!drv) return 0;
  return ((__u32)drv->major << 20) | (__u32)(drv->minor_start + tty->index);
}

/* A task's audit login uid and session id; both exist only with CONFIG_AUDIT
 * (4294967295, "unset", without it). */
static __always_inline void ps_audit_ids(struct task_struct* task, __u32* loginuid,
                                         __u32* sessionid) {
  if (bpf_core_field_exists(task->loginuid)) {
    *loginuid = task->loginuid.val;
    *sessionid = task->sessionid;
  } else {
    *loginuid = (__u32)-1;
    *sessionid = (__u32)-1;
  }
}

/* The calling process's identity, as the process table keys it. */
static __always_inline void ps_current_key(struct ps_proc_key* k) {
  struct task_struct* task = bpf_get_current_task_btf();
  k->tgid = task->tgid;
  k->_pad0 = 0;
  k->start = task->group_leader->start_boottime;
}

/* Tag an event with the caller's process-table entry: its flags and the root
 * of its AI session. Returns 1 when the caller is in an AI session (the event
 * then goes through the wakeup ring: it may become an alert). */
static __always_inline int ps_fill_ai(struct ps_op_event* ev) {
  struct ps_proc_key k = {.tgid = ev->proc.pid, ._pad0 = 0, .start = ev->proc.start_time};
  struct ps_proc_info* info = bpf_map_lookup_elem(&procs, &k);
  if (!info) {
    ev->proc_flags = 0;
    __builtin_memset(&ev->ai_session, 0, sizeof(ev->ai_session));
    return 0;
  }
  ev->proc_flags = info->flags;
  ev->ai_session = info->session;
  return info->session.tgid != 0;
}

/*
 * Fill the process block from the current task. bpf_get_current_task_btf() gives
 * a BTF-typed pointer, so fields are plain (fault-safe) loads relocated by CO-RE:
 * no helper call per field, which matters on the per-event path.
 */
static __always_inline void ps_fill_process(struct ps_process* p) {
  struct task_struct* task = bpf_get_current_task_btf();
  const struct cred* cred = task->cred;
  __u64 pid_tgid = bpf_get_current_pid_tgid();

  p->pid = pid_tgid >> 32;
  p->tid = (__u32)pid_tgid;
  p->uid = cred->uid.val;
  p->gid = cred->gid.val;
  p->euid = cred->euid.val;
  p->egid = cred->egid.val;
  p->ppid = task->real_parent->tgid;
  p->start_time = task->group_leader->start_boottime;
  p->cgroup_id = bpf_get_current_cgroup_id();
  ps_audit_ids(task, &p->loginuid, &p->sessionid);
  p->tty = ps_tty(task);
  /* Two plain loads; bpf_get_current_comm is a helper call (measurably slower). */
  __builtin_memcpy(p->comm, (const void*)task->comm, PS_COMM_LEN);
}

/* A struct cred's ids and capability sets. kernel_cap_t is a u64 (6.3+) or
 * u32[2] (older); both are 8 little-endian bytes, so the sets are read raw. */
static __always_inline void ps_creds_of(const struct cred* cred, struct ps_creds* c) {
  c->uid = BPF_CORE_READ(cred, uid.val);
  c->euid = BPF_CORE_READ(cred, euid.val);
  c->suid = BPF_CORE_READ(cred, suid.val);
  c->fsuid = BPF_CORE_READ(cred, fsuid.val);
  c->gid = BPF_CORE_READ(cred, gid.val);
  c->egid = BPF_CORE_READ(cred, egid.val);
  c->sgid = BPF_CORE_READ(cred, sgid.val);
  c->fsgid = BPF_CORE_READ(cred, fsgid.val);
  bpf_probe_read_kernel(&c->cap_inheritable, 8, &cred->cap_inheritable);
  bpf_probe_read_kernel(&c->cap_permitted, 8, &cred->cap_permitted);
  bpf_probe_read_kernel(&c->cap_effective, 8, &cred->cap_effective);
  bpf_probe_read_kernel(&c->cap_ambient, 8, &cred->cap_ambient);
  c->userns = BPF_CORE_READ(cred, user_ns, ns.inum);
  c->_pad0 = 0;
}

/* The current task's credentials. */
static __always_inline void ps_read_creds(struct ps_creds* c) {
  struct task_struct* task = bpf_get_current_task_btf();
  ps_creds_of(task->cred, c);
}

/* Does a credential change grant something: a real, effective or filesystem
 * uid 0 it did not have (taking root back from the saved uid counts), or
 * capabilities it did not have in the same user namespace? */
static __always_inline int ps_creds_gain(const struct ps_creds* b, const struct ps_creds* a) {
  if ((a->uid == 0 && b->uid != 0) || (a->euid == 0 && b->euid != 0) ||
      (a->fsuid == 0 && b->fsuid != 0))
    return 1;
  if (a->userns != b->userns) return 0; /* a new user namespace: its own capabilities */
  if (a->cap_effective & ~b->cap_effective) return 1;
  if (a->cap_permitted & ~b->cap_permitted) return 1;
  return 0;
}

/* Are the current task's credentials other than `b`, in anything they grant?
 * Compared in place: no second snapshot on the stack. */
static __always_inline int ps_creds_changed(const struct ps_creds* b) {
  struct task_struct* task = bpf_get_current_task_btf();
  const struct cred* c = task->cred;
  __u64 caps[4] = {};
  if (c->uid.val != b->uid || c->euid.val != b->euid || c->suid.val != b->suid ||
      c->fsuid.val != b->fsuid || c->gid.val != b->gid || c->egid.val != b->egid ||
      c->sgid.val != b->sgid || c->fsgid.val != b->fsgid || c->user_ns->ns.inum != b->userns)
    return 1;
  bpf_probe_read_kernel(&caps[0], 8, &c->cap_inheritable);
  bpf_probe_read_kernel(&caps[1], 8, &c->cap_permitted);
  bpf_probe_read_kernel(&caps[2], 8, &c->cap_effective);
  bpf_probe_read_kernel(&caps[3], 8, &c->cap_ambient);
  return caps[0] != b->cap_inheritable || caps[1] != b->cap_permitted ||
         caps[2] != b->cap_effective || caps[3] != b->cap_ambient;
}

/* Append a group_info's gids (at most PS_GROUPS_MAX) to the tail at `off`;
 * returns the bytes written. `gi` is a struct group_info pointer as a number. */
static __always_inline __u32 ps_put_gids(__u32 off, __u64 gi) {
  __u32 n = gi ? BPF_CORE_READ((struct group_info*)gi, ngroups) : 0;
  if (n > PS_GROUPS_MAX) n = PS_GROUPS_MAX;
  if (n == 0) return 0;
  const __u64 gids = gi + bpf_core_field_offset(struct group_info, gid);
  return ps_tail_bytes(off, gids, n * 4, 1) == 0 ? n * 4 : 0;
}

/* The supplementary groups of a credential change into the tail's value slot
 * (PS_OF_GROUPS): the count before and its gids (`before` 0: not known),
 * then the gids after. Returns the new offset. A global function: verified
 * once. */
__weak __noinline __u32 ps_put_groups(__u32 off, __u64 before, __u64 after) {
  struct ps_op_event* ev = ps_scratch_event();
  __u32 nb = PS_GROUPS_UNKNOWN, len = 4, w;
  if (!ev) return off;
  if (before) {
    nb = BPF_CORE_READ((struct group_info*)before, ngroups);
    if (nb > PS_GROUPS_MAX) nb = PS_GROUPS_MAX;
  }
  __builtin_memcpy(ev->data + (off & PS_TAIL_OFF_MASK), &nb, 4);
  if (before) {
    w = ps_put_gids(off + len, before);
    if (w != nb * 4) return off; /* a list that cannot be read is no list */
    len += w;
  }
  len += ps_put_gids(off + len, after);
  ev = ps_scratch_event();
  if (!ev) return off;
  ev->flags |= PS_OF_VALUE | PS_OF_GROUPS;
  ev->value_len = len;
  ev->value_size = len;
  return off + len;
}

/* security.capability: file capabilities make an executable privileged, so
 * setting them is an alert candidate wherever it happens. (ACL xattrs matter on
 * watched files, which are decided elsewhere; on any file they are bulk.) */
static __always_inline int ps_caps_xattr(const __u8* name, __u32 len) {
  __u64 w[2];
  if (len != 19) return 0;
  __builtin_memcpy(w, name, 16);
  /* little-endian "security.capabil" + "ity" */
  return w[0] == 0x7974697275636573ULL && w[1] == 0x6c6962617061632eULL && name[16] == 'i' &&
         name[17] == 't' && name[18] == 'y';
}

/* File types (S_IFMT bits of a mode). */
#define PS_S_IFMT 0170000
#define PS_S_IFREG 0100000
#define PS_S_IFDIR 0040000
#define PS_S_IFCHR 0020000
#define PS_S_IFBLK 0060000

/* mknod's device number as userspace encodes it (new_encode_dev) in the
 * kernel's dev_t encoding, major << 20 | minor. */
static __always_inline __u32 ps_decode_dev(__u32 dev) {
  return ((dev & 0xfff00) >> 8) << 20 | (dev & 0xff) | ((dev >> 12) & 0xfff00);
}

/* Does a new object's mode (type bits included; a type of 0 is a regular file,
 * as mknod takes it) open access: a set-id regular file, a world-writable
 * regular file, a world-writable directory without the sticky bit, or a
 * device node? Fifos and sockets are not: a world-writable socket is how
 * local services are reached. Decided on the mode as asked (with the umask) to
 * keep a creation pending, and again on the inode's own mode once it exists. */
static __always_inline int ps_risky_create(__u32 mode) {
  switch (mode & PS_S_IFMT) {
    case 0:
    case PS_S_IFREG:
      return (mode & 06002) != 0;
    case PS_S_IFDIR:
      return (mode & 02) && !(mode & 01000);
    case PS_S_IFCHR:
    case PS_S_IFBLK:
      return 1;
    default:
      return 0;
  }
}

/* A requested creation mode as the caller's umask leaves it. (A directory
 * with a default ACL ignores the umask; the completion re-checks the inode.) */
static __always_inline __u32 ps_apply_umask(__u32 mode) {
  struct task_struct* task = bpf_get_current_task_btf();
  const __u32 umask = BPF_CORE_READ(task, fs, umask);
  return mode & ~(umask & 0777);
}

/* Start a record in `scratch`: header, the operation and its hook; every
 * other fixed field zeroed (the process is the caller's to fill). Returns it,
 * or NULL. */
static __always_inline struct ps_op_event* ps_op_start(__u16 op, __u8 hook) {
  struct ps_op_event* ev = ps_scratch_event();
  if (!ev) return NULL;
  __builtin_memset(ev, 0, sizeof(*ev));
  ev->hdr.abi_version = PS_ABI_VERSION;
  ev->hdr.type = PS_EV_OP;
  ev->hdr.ktime = bpf_ktime_get_boot_ns();
  ev->op = op;
  ev->hook = hook;
  return ev;
}

#define PS_PF_IO_WORKER 0x00000010 /* task->flags: an io_uring worker (io-wq, SQPOLL) */
#define PS_TS_COMPAT 0x0002        /* thread_info.status: in an ia32 syscall */
#define PS_NR_IO_URING_ENTER 426   /* the same number natively and on ia32 */

/* The syscall the caller is in, from its saved registers (a number, not an
 * argument: nothing the caller's memory can change), and whether the work is
 * an io_uring request: run by an io_uring worker, or inline in io_uring_enter.
 * For hooks that are not on a syscall's own path (kernel functions, the
 * scheduler's tracepoints). */
static __always_inline void ps_caller_context(struct ps_op_event* ev) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (t->flags & (PS_PF_IO_WORKER | PS_PF_KTHREAD)) {
    if (t->flags & PS_PF_IO_WORKER) ev->flags |= PS_OF_IO_URING;
    return;
  }
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(t);
  if (!regs) return;
  const long nr = BPF_CORE_READ(regs, orig_ax);
  if (nr < 0 || nr >= 1024) return; /* not in a syscall */
  ev->syscall_nr = (__u32)nr;
  ev->flags |= PS_OF_SYSCALL;
  if (BPF_CORE_READ(t, thread_info.status) & PS_TS_COMPAT) ev->flags |= PS_OF_COMPAT;
  if (nr == PS_NR_IO_URING_ENTER) ev->flags |= PS_OF_IO_URING;
}

/* The process block of a record from task t, not the current one (the holder
 * of a file the startup scan found, a child made by fork). No cgroup id: the
 * helper gives the current task's only. */
static __always_inline void ps_fill_task(struct ps_process* p, struct task_struct* t) {
  const struct cred* cred = BPF_CORE_READ(t, cred);
  struct task_struct* leader = BPF_CORE_READ(t, group_leader);
  p->pid = BPF_CORE_READ(t, tgid);
  p->tid = BPF_CORE_READ(t, pid);
  p->ppid = BPF_CORE_READ(t, real_parent, tgid);
  p->uid = BPF_CORE_READ(cred, uid.val);
  p->euid = BPF_CORE_READ(cred, euid.val);
  p->gid = BPF_CORE_READ(cred, gid.val);
  p->egid = BPF_CORE_READ(cred, egid.val);
  p->start_time = BPF_CORE_READ(leader, start_boottime);
  p->cgroup_id = 0;
  if (bpf_core_field_exists(t->loginuid)) {
    p->loginuid = BPF_CORE_READ(t, loginuid.val);
    p->sessionid = BPF_CORE_READ(t, sessionid);
  } else {
    p->loginuid = (__u32)-1;
    p->sessionid = (__u32)-1;
  }
  p->tty = 0;
  bpf_probe_read_kernel(p->comm, PS_COMM_LEN, &t->comm);
}

/* Start a record made by the current task: ps_op_start, its process block
 * and process-table tag. *in_session says whether the caller is in an AI
 * session (an alert candidate). */
static __always_inline struct ps_op_event* ps_op_begin(__u16 op, __u8 hook, int* in_session) {
  struct ps_op_event* ev = ps_op_start(op, hook);
  if (!ev) return NULL;
  ps_fill_process(&ev->proc);
  *in_session = ps_fill_ai(ev);
  return ev;
}

/* The result of a call that returned `ret` (0 or -errno). */
static __always_inline void ps_set_result(struct ps_op_event* ev, long ret) {
  if (ret < 0 && ret >= -4095) {
    ev->result = PS_RESULT_ERROR;
    ev->error = (__s32)-ret;
  } else {
    ev->result = PS_RESULT_OK;
  }
}

#endif /* PERMSENTRY_BPF_COMMON_H_ */
