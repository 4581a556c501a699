// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: the rich backend's credential changes.
 *
 *   fentry commit_creds                     every change of a task's credentials:
 *                                           set*id, setgroups, capset, prctl's
 *                                           capability calls, unshare of a user
 *                                           namespace. Old and new struct cred,
 *                                           compared; a commit that changes
 *                                           nothing is not reported.
 *   fentry security_bprm_committing_creds   an exec whose binary gives new
 *                                           credentials (set-id bits, file
 *                                           capabilities): reported with the
 *                                           binary, past exec's point of no
 *                                           return; its commit_creds is then
 *                                           not reported again.
 * A change that fails before it is committed (setuid(0) refused) changes
 * nothing and is not seen here; the tracepoint backend reports such attempts.
 */
#include "rich.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Does `new` change anything `old` grants: ids, capability sets, user
 * namespace, supplementary groups? Compared in place, before any record is
 * started: most commits (every exec's) change nothing. */
static __always_inline int ps_cred_changes(const struct cred* a, const struct cred* b, int groups) {
  __u64 ca[4] = {}, cb[4] = {};
  if (BPF_CORE_READ(a, uid.val) != BPF_CORE_READ(b, uid.val) ||
      BPF_CORE_READ(a, euid.val) != BPF_CORE_READ(b, euid.val) ||
      BPF_CORE_READ(a, suid.val) != BPF_CORE_READ(b, suid.val) ||
      BPF_CORE_READ(a, fsuid.val) != BPF_CORE_READ(b, fsuid.val) ||
      BPF_CORE_READ(a, gid.val) != BPF_CORE_READ(b, gid.val) ||
      BPF_CORE_READ(a, egid.val) != BPF_CORE_READ(b, egid.val) ||
      BPF_CORE_READ(a, sgid.val) != BPF_CORE_READ(b, sgid.val) ||
      BPF_CORE_READ(a, fsgid.val) != BPF_CORE_READ(b, fsgid.val) ||
      BPF_CORE_READ(a, user_ns) != BPF_CORE_READ(b, user_ns))
    return 1;
  if (groups && BPF_CORE_READ(a, group_info) != BPF_CORE_READ(b, group_info)) return 1;
  bpf_probe_read_kernel(&ca[0], 8, &a->cap_inheritable);
  bpf_probe_read_kernel(&ca[1], 8, &a->cap_permitted);
  bpf_probe_read_kernel(&ca[2], 8, &a->cap_effective);
  bpf_probe_read_kernel(&ca[3], 8, &a->cap_ambient);
  bpf_probe_read_kernel(&cb[0], 8, &b->cap_inheritable);
  bpf_probe_read_kernel(&cb[1], 8, &b->cap_permitted);
  bpf_probe_read_kernel(&cb[2], 8, &b->cap_effective);
  bpf_probe_read_kernel(&cb[3], 8, &b->cap_ambient);
  return ca[0] != cb[0] || ca[1] != cb[1] || ca[2] != cb[2] || ca[3] != cb[3];
}

/* Build and send a credential record: `old` and `new` are struct cred
 * pointers that differ (ps_cred_changes); for an exec, the binary's struct file
 * and the name it was run by. Returns 1 when sent. A global function: verified
 * once. */
__noinline int ps_creds_emit(__u32 op, __u64 old, __u64 new, __u64 file, __u64 filename) {
  int in_session = 0;
  __u32 off = 0;
  long n;
  struct ps_op_event* ev = ps_rich_begin(op, &in_session);
  if (!ev) return 0;
  ps_creds_of((const struct cred*)old, &ev->creds_before);
  ps_creds_of((const struct cred*)new, &ev->creds_after);
  ev->result = PS_RESULT_OK; /* committed */
  ev->flags |= PS_OF_CREDS;
  /* New supplementary groups (setgroups, initgroups): both lists. */
  const __u64 gb = (__u64)BPF_CORE_READ((const struct cred*)old, group_info);
  const __u64 ga = (__u64)BPF_CORE_READ((const struct cred*)new, group_info);
  if (!file && gb != ga) {
    off = ps_put_groups(off, gb, ga);
    ev = ps_scratch_event();
    if (!ev) return 0;
  }
  if (file) {
    struct file* f = (struct file*)file;
    struct ps_inode_state s = {};
    ps_read_inode(BPF_CORE_READ(f, f_inode), &s);
    ev->before = s; /* the binary, unchanged */
    ev->after = s;
    ev->flags |= PS_OF_BEFORE | PS_OF_AFTER;
    ps_set_object(ev, &s);
    ev->path_flags = PS_PATH_OBJECT;
    ps_put_path(&off, (__u64)BPF_CORE_READ(f, f_path.dentry), (__u64)BPF_CORE_READ(f, f_path.mnt),
                &ev->path_len, &ev->path_flags, &ev->path_root_len);
    n = filename ? ps_tail_str(off, filename, PS_PATH_MAX, 1) : 0;
    ev = ps_scratch_event();
    if (!ev) return 0;
    if (n > 1 && n <= PS_PATH_MAX) {
      ev->text_len = n - 1;
      off += n - 1;
    }
  }
  ps_emit(off, in_session || ps_creds_gain(&ev->creds_before, &ev->creds_after) ||
                   op == PS_OP_EXEC_CREDS);
  return 1;
}

/* Pointers reach the global function as numbers (the verifier passes no typed
 * pointer to one): read with BPF_CORE_READ and bpf_get_func_arg. */
SEC("fentry/commit_creds")
int BPF_PROG(ps_commit_creds, struct cred* unused) {
  struct task_struct* t = bpf_get_current_task_btf();
  __u64 new = 0;
  if (t->flags & PS_PF_KTHREAD) return 0;
  bpf_get_func_arg(ctx, 0, &new);
  /* The exec hook has reported this one. */
  struct ps_pending* p = ps_pending_get(0);
  if (p && p->exec_cred == new) {
    p->exec_cred = 0;
    return 0;
  }
  const __u64 old = (__u64)BPF_CORE_READ(t, real_cred);
  if (!ps_cred_changes((const struct cred*)old, (const struct cred*)new, 1)) return 0;
  ps_creds_emit(PS_OP_CREDS, old, new, 0, 0);
  return 0;
}

SEC("fentry/security_bprm_committing_creds")
int BPF_PROG(ps_bprm_committing_creds, struct linux_binprm* bprm) {
  struct task_struct* t = bpf_get_current_task_btf();
  const __u64 old = (__u64)BPF_CORE_READ(t, real_cred);
  const __u64 new = (__u64)BPF_CORE_READ(bprm, cred);
  if (!new || !ps_cred_changes((const struct cred*)old, (const struct cred*)new, 0)) return 0;
  if (!ps_creds_emit(PS_OP_EXEC_CREDS, old, new, (__u64)BPF_CORE_READ(bprm, file),
                     (__u64)BPF_CORE_READ(bprm, filename)))
    return 0;
  struct ps_pending* p = ps_pending_get(1);
  if (p) p->exec_cred = new;
  return 0;
}
