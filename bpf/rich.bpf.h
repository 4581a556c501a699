/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the rich backend's hook families (rich_file, rich_name,
 * rich_cred): fentry/fexit programs on the kernel functions that do the work,
 * never on syscalls, so a syscall that changes no permission costs nothing.
 *
 * Each operation has an entry hook and a completion:
 *   entry       the security hook the VFS calls once it has resolved the object
 *               (fexit of security_path_chmod, security_path_rename, ...): the
 *               kernel's own struct path and dentry, the state before the change
 *               (nothing has changed yet), and the LSM verdict. A refusal is
 *               reported at once; otherwise the operation is kept pending in
 *               task storage.
 *   completion  the fexit of the function that makes the change (notify_change,
 *               vfs_rename, ...): its return value is the result, the inode now
 *               is the state after. It reports only the operation its entry hook
 *               left pending for this dentry, so nested calls (overlayfs calling
 *               the VFS again on its upper layer) are not reported twice.
 * Every function used is global in both Debian 6.1 and 6.12 and fires for
 * syscalls and io_uring requests alike (tests/vm proves each one).
 *
 * Paths come from the kernel's objects: the dentry the operation acts on and the
 * mount of the struct path the entry hook received, walked as path.bpf.h does.
 * The caller's memory is never read: what is reported is what the kernel did.
 */
#ifndef PERMSENTRY_BPF_RICH_H_
#define PERMSENTRY_BPF_RICH_H_

#include "common.bpf.h"
#include "path.bpf.h"
#include "watch.bpf.h"

#define PS_EWOULDBLOCK 11 /* a delegation break: the caller retries */

/*
 * An operation between its entry hook and its completion, per task (task
 * local storage: found through the task, freed with it). Created only by the
 * entry hooks of operations that are reported.
 */
struct ps_pending {
  __u64 dentry, mnt;             /* the object, and the mount it was reached through */
  __u64 dentry2, mnt2;           /* rename/link: the destination's dentry and mount */
  __u64 src_dir, src_mnt;        /* rename: the source's directory (its name moves) */
  struct ps_inode_state before;  /* PS_OF_BEFORE: the object at the entry hook */
  struct ps_inode_state before2; /* rename: what the destination held */
  struct ps_watch_hit hit;
  __u32 op;    /* enum ps_op; 0: nothing pending */
  __u32 flags; /* PS_OF_* gathered at entry */
  __u32 mode, uid, gid, rdev;
  __u32 side; /* rename/link/symlink: 2 when the destination is the watched side */
  __u32 name_len;
  /* rename: the source's last component, as it was (the move renames the
   * dentry itself) */
  char name[PS_NAME_MAX + 1];
  /* xattr calls: the outermost one's dentry and state (fentry to fexit) */
  __u64 xattr_dentry;
  struct ps_inode_state xattr_before;
  __u32 xattr_depth;
  __u32 xattr_size;  /* the value's size */
  __u32 xattr_flags; /* XATTR_CREATE / XATTR_REPLACE */
  __u32 xattr_acl;   /* the value is a struct posix_acl (vfs_set_acl) */
  /* an exec committing its credentials: commit_creds leaves this one to the
   * exec hook */
  __u64 exec_cred;
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct ps_pending);
} pending SEC(".maps") __weak;

static __always_inline struct ps_pending* ps_pending_get(int create) {
  return bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0,
                              create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* The caller's syscall and io_uring context (ps_caller_context, common.bpf.h). */
static __always_inline void ps_rich_context(struct ps_op_event* ev) { ps_caller_context(ev); }

/* Start a rich-backend record (see ps_op_begin), with the caller's context. */
static __always_inline struct ps_op_event* ps_rich_begin(__u16 op, int* in_session) {
  struct ps_op_event* ev = ps_op_begin(op, PS_HOOK_FENTRY, in_session);
  if (ev) ps_rich_context(ev);
  return ev;
}

/* An inode's state, or 0 when there is none (a negative dentry). */
static __always_inline int ps_dentry_state(const struct dentry* d, struct ps_inode_state* s) {
  const struct inode* inode = d ? BPF_CORE_READ(d, d_inode) : NULL;
  if (!inode) return 0;
  ps_read_inode(inode, s);
  return 1;
}

static __always_inline void ps_set_object(struct ps_op_event* ev, const struct ps_inode_state* s) {
  ev->obj.ino = s->ino;
  ev->obj.dev = s->dev;
  ev->obj.mode = s->mode;
  ev->flags |= PS_OF_OBJECT;
}

/*
 * The mount a dentry-only hook's object was reached through. The xattr hooks
 * receive a dentry, not a struct path: of the mounts of its file system, the
 * one in the caller's mount namespace is taken (the whole file system's, when
 * there are several); more than one candidate is flagged PS_PATH_MOUNT_GUESSED.
 * Identity (inode, device) never depends on this.
 */
#define PS_MOUNT_SCAN 8
/* The mounts of a super block: a list of mount.mnt_instance in s_mounts up to
 * 6.15, a chain of mount.mnt_next_for_sb from s_mounts since. CO-RE picks the
 * one the kernel has. */
struct super_block___list {
  struct list_head s_mounts;
} __attribute__((preserve_access_index));
struct mount___list {
  struct list_head mnt_instance;
} __attribute__((preserve_access_index));
struct super_block___chain {
  struct mount* s_mounts;
} __attribute__((preserve_access_index));
struct mount___chain {
  struct mount* mnt_next_for_sb;
} __attribute__((preserve_access_index));

static __always_inline __u64 ps_guess_mount(const struct dentry* d, __u16* flags) {
  struct task_struct* t = bpf_get_current_task_btf();
  struct super_block* sb = BPF_CORE_READ(d, d_sb);
  struct mnt_namespace* ns = BPF_CORE_READ(t, nsproxy, mnt_ns);
  struct dentry* sb_root = BPF_CORE_READ(sb, s_root);
  const __u32 mnt_off = bpf_core_field_offset(struct mount, mnt);
  const int listed = bpf_core_field_exists(struct mount___list, mnt_instance);
  __u64 head = 0, pos = 0, inst = 0;
  __u64 found = 0, any = 0;
  int candidates = 0;

  if (listed) {
    struct super_block___list* sl = (void*)sb;
    head = (__u64)sb + bpf_core_field_offset(struct super_block___list, s_mounts);
    inst = bpf_core_field_offset(struct mount___list, mnt_instance);
    pos = (__u64)BPF_CORE_READ(sl, s_mounts.next);
  } else {
    struct super_block___chain* sc = (void*)sb;
    pos = (__u64)BPF_CORE_READ(sc, s_mounts);
  }
  for (int i = 0; i < PS_MOUNT_SCAN; i++) {
    if (!pos || (listed && pos == head)) break;
    struct mount* m = (struct mount*)(pos - inst);
    const __u64 vfsmnt = (__u64)m + mnt_off;
    if (!any) any = vfsmnt;
    if (BPF_CORE_READ(m, mnt_ns) == ns) {
      candidates++;
      /* The whole file system's mount before a bind mount of a part of it. */
      if (!found || BPF_CORE_READ(m, mnt.mnt_root) == sb_root) found = vfsmnt;
    }
    if (listed) {
      struct list_head* next = (struct list_head*)pos;
      pos = (__u64)BPF_CORE_READ(next, next);
    } else {
      struct mount___chain* mc = (void*)m;
      pos = (__u64)BPF_CORE_READ(mc, mnt_next_for_sb);
    }
  }
  if (candidates > 1) *flags |= PS_PATH_MOUNT_GUESSED;
  if (!found) {
    *flags |= PS_PATH_OUTSIDE_ROOT; /* mounted only in other namespaces */
    found = any;
  }
  return found;
}

/* Append "/" and a saved name (ps_pending.name) to the path just written,
 * turning the path of a directory into the path of its entry. Returns the
 * bytes appended. A global function: verified once. */
__weak __noinline __u32 ps_tail_name(__u32 off, struct ps_pending* p, __u32 dir_len) {
  struct ps_op_event* ev = ps_scratch_event();
  __u32 len, n = 0;
  if (!ev || !p) return 0;
  len = p->name_len;
  if (len == 0 || len > PS_NAME_MAX) return 0;
  off &= PS_TAIL_OFF_MASK;
  if (dir_len != 1) { /* "/" + name, not "//" + name */
    ev->data[off] = '/';
    n = 1;
  }
  if (bpf_probe_read_kernel(ev->data + ((off + n) & PS_TAIL_OFF_MASK), len & PS_NAME_MAX, p->name))
    return 0;
  return n + len;
}

/* Build and send the record of a name operation (rich_name.bpf.c): the
 * creation an open completes (rich_file.bpf.c) is reported by it too. */
extern int ps_name_emit(struct ps_pending* p, long ret, __u64 text);

/* Alert candidates, as the tracepoint backend decides them: a setuid/setgid
 * bit, a world-writable bit the file did not have, a file given to root, a
 * credential gain, a watched credential file, file capabilities. */
static __always_inline int ps_rich_urgent(const struct ps_op_event* ev) {
  if (ev->flags & PS_OF_WATCHED) return 1;
  if (ev->flags & PS_OF_MODE) {
    if (ev->mode & 06000) return 1;
    if ((ev->mode & 02) && (!(ev->flags & PS_OF_BEFORE) || !(ev->before.mode & 02))) return 1;
  }
  if ((ev->flags & PS_OF_OWNER) && ev->uid == 0 &&
      (!(ev->flags & PS_OF_BEFORE) || ev->before.uid != 0))
    return 1;
  if ((ev->flags & PS_OF_CREDS) && ps_creds_gain(&ev->creds_before, &ev->creds_after)) return 1;
  return 0;
}

#endif /* PERMSENTRY_BPF_RICH_H_ */
