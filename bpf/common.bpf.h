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

/* Per-CPU scratch for building one event (too big for the 512-byte stack). */
#define PS_SCRATCH_SIZE 16384
_Static_assert(PS_SCRATCH_SIZE >= PS_SYSCALL_EVENT_MAX, "scratch smaller than an event");
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
 * Appending to the tail of the event being built in `scratch`. Global functions:
 * the verifier checks their bounds once, and callers carry the tail offset as a
 * plain number rather than a precisely tracked pointer offset (which multiplied
 * the states of every branch before it). Offsets and sizes are masked, not
 * clamped: a mask bounds them for every verifier, and callers keep each below
 * its mask by construction.
 */
#define PS_TAIL_OFF_MASK 0x1fff /* data + 8 KiB + a 4 KiB string < PS_SCRATCH_SIZE */

/* A NUL-terminated string from user (or kernel) memory at data + off; returns
 * what bpf_probe_read_*_str returned (the length with its NUL, 0 for "" on some
 * kernels, < 0 on a fault). */
__weak __noinline long ps_tail_str(__u32 off, __u64 src, __u32 max, __u32 kernel) {
  __u32 zero = 0;
  struct ps_scratch* sb = bpf_map_lookup_elem(&scratch, &zero);
  if (!sb) return -1;
  struct ps_syscall_event* ev = (struct ps_syscall_event*)sb->buf;
  off &= PS_TAIL_OFF_MASK;
  max &= 0x1fff;
  if (max > PS_PATH_MAX) max = PS_PATH_MAX;
  if (kernel) return bpf_probe_read_kernel_str(ev->data + off, max, (const void*)src);
  return bpf_probe_read_user_str(ev->data + off, max, (const void*)src);
}

/* len (<= PS_XATTR_VALUE_MAX) bytes from user (or kernel) memory at data + off. */
__weak __noinline long ps_tail_bytes(__u32 off, __u64 src, __u32 len, __u32 kernel) {
  __u32 zero = 0;
  struct ps_scratch* sb = bpf_map_lookup_elem(&scratch, &zero);
  if (!sb) return -1;
  struct ps_syscall_event* ev = (struct ps_syscall_event*)sb->buf;
  off &= PS_TAIL_OFF_MASK;
  len &= 0x3ff;
  if (len == 0 || len > PS_XATTR_VALUE_MAX) return -1;
  if (kernel) return bpf_probe_read_kernel(ev->data + off, len, (const void*)src);
  return bpf_probe_read_user(ev->data + off, len, (const void*)src);
}

static __always_inline void ps_count(__u32 stat) {
  __u64* v = bpf_map_lookup_elem(&stats, &stat);
  if (v) *v += 1;
}

/*
 * Send the event built in `scratch`, `tail` bytes of data after the fixed part:
 * to the wakeup ring when it may become an alert (falling back to the bulk ring
 * when that is full, counted), else to the bulk ring without a wakeup. A global
 * function, so the size needs no precise tracking in its callers.
 */
__weak __noinline int ps_emit(__u32 tail, __u32 urgent) {
  __u32 zero = 0, size;
  struct ps_scratch* sb = bpf_map_lookup_elem(&scratch, &zero);
  if (!sb) return -1;
  struct ps_syscall_event* ev = (struct ps_syscall_event*)sb->buf;
  /* The mask proves the size in bounds to every verifier (a compare-and-clamp
   * can reach the helper through an unclamped register copy, which 6.1
   * rejects); the scratch buffer is a power of two above the largest event. */
  size = (sizeof(*ev) + tail) & (PS_SCRATCH_SIZE - 1);
  ev->hdr.size = size;
  if (urgent) {
    ev->flags |= PS_SC_F_URGENT;
    if (bpf_ringbuf_output(&events_urgent, ev, size, 0) == 0) {
      ps_count(PS_STAT_EVENTS_URGENT);
      return 0;
    }
    /* Wakeup ring full: counted, then the bulk ring still carries the event. */
    ps_count(PS_STAT_LOST_URGENT);
    ev->flags &= ~PS_SC_F_URGENT;
  }
  if (bpf_ringbuf_output(&events_bulk, ev, size, BPF_RB_NO_WAKEUP) == 0) {
    ps_count(PS_STAT_EVENTS_BULK);
    return 0;
  }
  ps_count(PS_STAT_LOST_BULK);
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
static __always_inline int ps_fill_ai(struct ps_syscall_event* ev) {
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

/* Read the current task's credentials. kernel_cap_t is a u64 (6.3+) or u32[2]
 * (older); both are 8 little-endian bytes, so the sets are read raw. */
static __always_inline void ps_read_creds(struct ps_creds* c) {
  struct task_struct* task = bpf_get_current_task_btf();
  const struct cred* cred = task->cred;

  c->uid = cred->uid.val;
  c->euid = cred->euid.val;
  c->suid = cred->suid.val;
  c->fsuid = cred->fsuid.val;
  c->gid = cred->gid.val;
  c->egid = cred->egid.val;
  c->sgid = cred->sgid.val;
  c->fsgid = cred->fsgid.val;
  bpf_probe_read_kernel(&c->cap_inheritable, 8, &cred->cap_inheritable);
  bpf_probe_read_kernel(&c->cap_permitted, 8, &cred->cap_permitted);
  bpf_probe_read_kernel(&c->cap_effective, 8, &cred->cap_effective);
}

#endif /* PERMSENTRY_BPF_COMMON_H_ */
