// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: the rich backend's mounts. A mount over a credential file (a
 * bind of another file onto /etc/shadow, a tmpfs over /etc/sudoers.d) changes
 * what every reader of that path gets without touching the file itself, so
 * every mount and unmount on the host is reported (they are rare outside
 * container start-up); userspace decides whether it covers a watched path.
 *
 *   fexit path_mount           mount(2): new mounts, binds, moves, remounts,
 *                              with its result, the mount point the kernel
 *                              resolved, the source and the type as copied in
 *   fexit security_move_mount  move_mount(2): attaching what fsmount or
 *                              open_tree made, or moving a mount; reported at
 *                              the permission check (the attach that follows
 *                              is not hooked: result unknown unless refused)
 *   fexit security_sb_umount   umount(2): reported at the permission check,
 *                              while the mount is still attached and its path
 *                              can be walked (result unknown unless refused:
 *                              EBUSY comes later)
 */
#include "rich.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Build and send a mount record: the mount point (dentry, mount), what was
 * mounted (a second path, for moves and attaches), the source's name and the
 * type (kernel strings, or 0), the flags. Inlined: a global function takes at
 * most five arguments; the walks it calls are global. */
static __always_inline int ps_mount_emit(__u32 op, __u64 dentry, __u64 mnt, __u64 dentry2,
                                         __u64 mnt2, __u64 source, __u64 fstype, __u32 mflags,
                                         long ret, __u32 known) {
  int in_session = 0;
  __u32 off = 0;
  long n;
  struct ps_op_event* ev = ps_rich_begin(op, &in_session);
  if (!ev) return 0;
  if (known || ret != 0)
    ps_set_result(ev, ret);
  else
    ev->result = PS_RESULT_UNKNOWN; /* allowed; the work that follows is not hooked */
  ev->open_flags = mflags;
  ev->flags |= PS_OF_MOUNT_FLAGS;
  ev->path_flags = PS_PATH_OBJECT;
  ps_put_path(&off, dentry, mnt, &ev->path_len, &ev->path_flags, &ev->path_root_len);
  if (dentry2) {
    ev = ps_scratch_event();
    if (!ev) return 0;
    ev->path2_flags = PS_PATH_OBJECT;
    ps_put_path(&off, dentry2, mnt2, &ev->path2_len, &ev->path2_flags, &ev->path2_root_len);
  }
  n = fstype ? ps_tail_str(off, fstype, PS_XATTR_NAME_MAX, 1) : 0;
  ev = ps_scratch_event();
  if (!ev) return 0;
  if (n > 1 && n <= PS_XATTR_NAME_MAX) {
    ev->name_len = n - 1;
    ev->flags |= PS_OF_NAME | PS_OF_FSTYPE;
    off += n - 1;
  }
  n = source ? ps_tail_str(off, source, PS_PATH_MAX, 1) : 0;
  ev = ps_scratch_event();
  if (!ev) return 0;
  if (n > 1 && n <= PS_PATH_MAX) {
    ev->text_len = n - 1;
    off += n - 1;
  }
  /* The mount point's inode: what the path named before the mount covered it. */
  struct ps_inode_state s = {};
  if (ps_dentry_state((const struct dentry*)dentry, &s)) ps_set_object(ev, &s);
  ps_emit(off, 1); /* every mount is an alert candidate */
  return 0;
}

SEC("fexit/path_mount")
int BPF_PROG(ps_path_mount, const char* dev_name, struct path* path, const char* type_page,
             unsigned long flags, void* data_page, int ret) {
  return ps_mount_emit(PS_OP_MOUNT, (__u64)BPF_CORE_READ(path, dentry),
                       (__u64)BPF_CORE_READ(path, mnt), 0, 0, (__u64)dev_name, (__u64)type_page,
                       (__u32)flags, ret, 1);
}

/* A struct mount from its vfsmount (container_of). */
static __always_inline struct mount* ps_real_mount(const struct vfsmount* m) {
  return (struct mount*)((__u64)m - bpf_core_field_offset(struct mount, mnt));
}

SEC("fexit/security_move_mount")
int BPF_PROG(ps_move_mount, const struct path* from_path, const struct path* to_path, int ret) {
  struct vfsmount* from = BPF_CORE_READ(from_path, mnt);
  struct mount* m = ps_real_mount(from);
  return ps_mount_emit(PS_OP_MOUNT, (__u64)BPF_CORE_READ(to_path, dentry),
                       (__u64)BPF_CORE_READ(to_path, mnt), (__u64)BPF_CORE_READ(from_path, dentry),
                       (__u64)from, (__u64)BPF_CORE_READ(m, mnt_devname),
                       (__u64)BPF_CORE_READ(from, mnt_sb, s_type, name), 0, ret, 0);
}

SEC("fexit/security_sb_umount")
int BPF_PROG(ps_sb_umount, struct vfsmount* unused, int flags, int ret) {
  /* The mount as a number: the walk is a global function, which takes no
   * typed pointer. */
  __u64 m = 0;
  bpf_get_func_arg(ctx, 0, &m);
  struct vfsmount* mnt = (struct vfsmount*)m;
  struct mount* rm = ps_real_mount(mnt);
  /* The mount point: the mount's root, walked up through its parents. */
  return ps_mount_emit(PS_OP_UMOUNT, (__u64)BPF_CORE_READ(mnt, mnt_root), m, 0, 0,
                       (__u64)BPF_CORE_READ(rm, mnt_devname),
                       (__u64)BPF_CORE_READ(mnt, mnt_sb, s_type, name), (__u32)flags, ret, 0);
}
