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
 * Bulk ring: every event, written with BPF_RB_NO_WAKEUP. Userspace drains it on a
 * short timer, so a storm of events costs no wakeup per event. Sized by userspace
 * before load (bpf_map__set_max_entries).
 */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20);
} events_bulk SEC(".maps");

/*
 * Wakeup ring: the few events that may become alerts (setuid/setgid bits, uid 0
 * or capability gains, ACL and file-capability xattrs). Written with adaptive
 * wakeup so the reader is woken at once, without busy-polling the bulk ring.
 */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 20);
} events_urgent SEC(".maps");

/* Per-CPU counters (enum ps_stat): userspace sums and reports them, drops included. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PS_STAT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

static __always_inline void ps_count(__u32 stat) {
  __u64* v = bpf_map_lookup_elem(&stats, &stat);
  if (v) *v += 1;
}

/* Fill the process block from the current task. */
static __always_inline void ps_fill_process(struct ps_process* p) {
  struct task_struct* task = bpf_get_current_task_btf();
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u64 uid_gid = bpf_get_current_uid_gid();

  p->pid = pid_tgid >> 32;
  p->tid = (__u32)pid_tgid;
  p->uid = (__u32)uid_gid;
  p->gid = uid_gid >> 32;
  p->euid = BPF_CORE_READ(task, cred, euid.val);
  p->egid = BPF_CORE_READ(task, cred, egid.val);
  p->ppid = BPF_CORE_READ(task, real_parent, tgid);
  p->start_time = BPF_CORE_READ(task, group_leader, start_boottime);
  p->cgroup_id = bpf_get_current_cgroup_id();
  /* loginuid/sessionid exist only with CONFIG_AUDITSYSCALL. */
  if (bpf_core_field_exists(task->loginuid)) {
    p->loginuid = BPF_CORE_READ(task, loginuid.val);
    p->sessionid = BPF_CORE_READ(task, sessionid);
  } else {
    p->loginuid = (__u32)-1;
    p->sessionid = (__u32)-1;
  }
  p->_pad0 = 0;
  bpf_get_current_comm(p->comm, sizeof(p->comm));
}

/* Read the current task's credentials. kernel_cap_t is a u64 (6.3+) or u32[2]
 * (older); both are 8 little-endian bytes, so read them raw. */
static __always_inline void ps_read_creds(struct ps_creds* c) {
  struct task_struct* task = bpf_get_current_task_btf();
  const struct cred* cred = BPF_CORE_READ(task, cred);

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
}

#endif /* PERMSENTRY_BPF_COMMON_H_ */
