/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel-side path and inode helpers: fd → struct file, inode state, and the
 * dentry walk that turns a struct path into an absolute path string.
 *
 * The walk goes from the dentry up through d_parent, hopping mounts through
 * struct mount (mnt_mountpoint / mnt_parent), and stops at the host's root
 * (pid 1's, ps_host_root_*), so a chrooted caller's file is named as the host
 * sees it, not as the host's file of the same name. Where it passes the
 * caller's own root, it notes how much of the path that root is
 * (path_root_len: the rest is the caller's view). A file in another mount
 * namespace is not reachable from the host's root: it is named from its
 * namespace's root (PS_PATH_OTHER_MNTNS). Until the seed has found pid 1 the
 * walk stops at the caller's root, as a fallback. It runs in a bpf_loop
 * callback: an unrolled loop of this size does not fit the verifier's budget.
 */
#ifndef PERMSENTRY_BPF_PATH_H_
#define PERMSENTRY_BPF_PATH_H_

#include "common.bpf.h"

#define PS_AT_FDCWD -100
#define PS_AT_EMPTY_PATH 0x1000
#define PS_WALK_MAX_COMPONENTS 64
#define PS_WALK_MAX_MOUNT_HOPS 16
#define PS_NAME_MAX 255

/* Per-CPU buffer the walk writes into, right to left, ending at PS_PATH_MAX.
 * The extra PS_NAME_MAX + 1 bytes let the verifier see every masked write as
 * in bounds. */
struct ps_walkbuf {
  char buf[PS_PATH_MAX + PS_NAME_MAX + 1];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_walkbuf);
} walkbuf SEC(".maps") __weak;

/* The host's root: pid 1's root directory and its mount, set once by the
 * startup seed (process.bpf.c). 0 until then. */
__u64 ps_host_root_dentry __weak;
__u64 ps_host_root_mnt __weak;

/* The open file behind `fd` in the current task, or NULL. */
static __always_inline struct file* ps_fd_file(long fd) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct fdtable* fdt = task->files->fdt;
  struct file** arr;
  struct file* f = NULL;

  if (fd < 0 || fd >= (long)fdt->max_fds) return NULL;
  arr = fdt->fd;
  bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
  return f;
}

static __always_inline void ps_read_inode(const struct inode* inode, struct ps_inode_state* s) {
  s->ino = BPF_CORE_READ(inode, i_ino);
  s->mode = BPF_CORE_READ(inode, i_mode);
  s->uid = BPF_CORE_READ(inode, i_uid.val);
  s->gid = BPF_CORE_READ(inode, i_gid.val);
  s->nlink = BPF_CORE_READ(inode, __i_nlink);
  s->dev = BPF_CORE_READ(inode, i_sb, s_dev);
  s->_pad0 = 0;
}

struct ps_walk {
  __u64 dentry;      /* struct dentry * */
  __u64 vfsmnt;      /* struct vfsmount * */
  __u64 mnt_root;    /* vfsmnt->mnt_root, re-read only on a mount hop */
  __u64 root_dentry; /* the caller's root */
  __u64 root_vfsmnt;
  __u64 stop_dentry; /* where the walk ends: the host's root */
  __u64 stop_vfsmnt;
  __u32 off; /* the walk has written buf[off, PS_PATH_MAX) */
  __u32 flags;
  __u32 hops;
  __u32 done;
  __u32 root_off; /* off when the walk passed the caller's root */
  __u32 crossed;  /* ... which it did */
};

/* d_parent then d_name (struct qstr: hash, len, name), read in one go when the
 * kernel lays them out back to back (every kernel so far), else field by field:
 * each helper call counts on this per-component path. */
struct ps_dentry_link {
  __u64 parent;
  __u32 hash;
  __u32 len;
  __u64 name;
};

static __always_inline void ps_read_dentry_link(struct dentry* d, struct ps_dentry_link* l) {
  const __u32 parent_off = bpf_core_field_offset(struct dentry, d_parent);
  const __u32 name_off = bpf_core_field_offset(struct dentry, d_name);
  if (name_off == parent_off + 8 && bpf_core_type_size(struct qstr) == 16) {
    bpf_probe_read_kernel(l, sizeof(*l), (void*)d + parent_off);
  } else {
    l->parent = (__u64)BPF_CORE_READ(d, d_parent);
    l->len = BPF_CORE_READ(d, d_name.len);
    l->name = (__u64)BPF_CORE_READ(d, d_name.name);
  }
}

static long ps_walk_step(__u32 i, void* arg) {
  struct ps_walk* w = arg;
  struct dentry* d = (struct dentry*)w->dentry;
  struct vfsmount* vm = (struct vfsmount*)w->vfsmnt;
  struct ps_dentry_link link = {};
  struct dentry* parent;
  const unsigned char* name;
  struct ps_walkbuf* b;
  __u32 zero = 0, len;

  if (w->dentry == w->root_dentry && w->vfsmnt == w->root_vfsmnt && !w->crossed) {
    w->crossed = 1;
    w->root_off = w->off;
  }
  if (w->dentry == w->stop_dentry && w->vfsmnt == w->stop_vfsmnt) {
    w->done = 1;
    return 1;
  }
  ps_read_dentry_link(d, &link);
  parent = (struct dentry*)link.parent;
  if (w->dentry == w->mnt_root || d == parent) {
    /* Top of this mount: continue from where it is mounted. */
    struct mount* m = (void*)vm - bpf_core_field_offset(struct mount, mnt);
    struct mount* mp = BPF_CORE_READ(m, mnt_parent);
    if (mp == m || ++w->hops > PS_WALK_MAX_MOUNT_HOPS) {
      /* The namespace's root, and never the host's root on the way: another
       * mount namespace (or, before the seed, the caller's root missed). */
      w->flags |= w->stop_dentry == w->root_dentry && w->stop_vfsmnt == w->root_vfsmnt
                      ? PS_PATH_OUTSIDE_ROOT
                      : PS_PATH_OTHER_MNTNS;
      w->done = 1;
      return 1;
    }
    w->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
    w->vfsmnt = (__u64)((void*)mp + bpf_core_field_offset(struct mount, mnt));
    w->mnt_root = (__u64)BPF_CORE_READ(mp, mnt.mnt_root);
    return 0;
  }
  len = link.len;
  name = (const unsigned char*)link.name;
  if (len > PS_NAME_MAX) len = PS_NAME_MAX;
  if (w->off < len + 1) {
    w->flags |= PS_PATH_TRUNCATED;
    w->done = 1;
    return 1;
  }
  b = bpf_map_lookup_elem(&walkbuf, &zero);
  if (!b) return 1;
  w->off -= len;
  bpf_probe_read_kernel(b->buf + (w->off & (PS_PATH_MAX - 1)), len & PS_NAME_MAX, name);
  w->off -= 1;
  b->buf[w->off & (PS_PATH_MAX - 1)] = '/';
  w->dentry = (__u64)parent;
  return 0;
}

/* The walk proper, a global function (verified once, not at every call site;
 * __weak: the linker keeps one copy). Leaves the path in walkbuf and returns
 * (root length << 48) | (PS_PATH_* flags << 32) | the offset where the path
 * starts. */
__weak __noinline __u64 ps_walk_run(__u64 dentry, __u64 vfsmnt) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct ps_walkbuf* b;
  struct ps_walk w = {};
  struct dentry* d = (struct dentry*)dentry;
  struct vfsmount* vm = (struct vfsmount*)vfsmnt;
  __u32 zero = 0, flags = 0;

  w.dentry = dentry;
  w.vfsmnt = vfsmnt;
  w.mnt_root = (__u64)BPF_CORE_READ(vm, mnt_root);
  w.root_dentry = (__u64)task->fs->root.dentry;
  w.root_vfsmnt = (__u64)task->fs->root.mnt;
  w.stop_dentry = ps_host_root_dentry;
  w.stop_vfsmnt = ps_host_root_mnt;
  if (!w.stop_dentry || !w.stop_vfsmnt) {
    w.stop_dentry = w.root_dentry;
    w.stop_vfsmnt = w.root_vfsmnt;
  }
  w.off = PS_PATH_MAX;
  /* d_unlinked(): hashed dentries are reachable by name; an unhashed non-root
   * one was deleted. */
  if (!BPF_CORE_READ(d, d_hash.pprev) && BPF_CORE_READ(d, d_parent) != d) flags |= PS_PATH_DELETED;

  bpf_loop(PS_WALK_MAX_COMPONENTS + PS_WALK_MAX_MOUNT_HOPS, ps_walk_step, &w, 0);
  if (!w.done) w.flags |= PS_PATH_TRUNCATED;
  flags |= w.flags;
  /* Under the caller's root, which is not the host's: that much of the path
   * is the root. Not under it at all (a descriptor from before a chroot):
   * outside. */
  __u32 root_len = 0;
  if (w.crossed) {
    if (w.root_off > w.off && w.root_off <= PS_PATH_MAX) root_len = w.root_off - w.off;
  } else if (w.root_dentry != w.stop_dentry || w.root_vfsmnt != w.stop_vfsmnt) {
    flags |= PS_PATH_OUTSIDE_ROOT;
  }

  b = bpf_map_lookup_elem(&walkbuf, &zero);
  if (!b) return (__u64)flags << 32 | PS_PATH_MAX;
  if (w.off == PS_PATH_MAX) { /* the root itself */
    w.off -= 1;
    b->buf[PS_PATH_MAX - 1] = '/';
  }
  return (__u64)root_len << 48 | (__u64)flags << 32 | w.off;
}

/*
 * Resolve a dentry on a vfsmount to an absolute path and append it to
 * dst[0, len): returns the length written; PS_PATH_* flags are or-ed into *flags.
 * `dst` is the event's tail at a bounded offset with room for PS_PATH_MAX bytes.
 */
static __always_inline __u32 ps_resolve_dm(__u64 dentry, __u64 vfsmnt, __u8* dst, __u16* flags,
                                           __u16* root_len) {
  struct ps_walkbuf* b;
  __u32 zero = 0, off, len;
  __u64 r = ps_walk_run(dentry, vfsmnt);

  *flags |= (__u16)(r >> 32);
  *root_len = (__u16)(r >> 48);
  off = (__u32)r;
  b = bpf_map_lookup_elem(&walkbuf, &zero);
  /* The walk always leaves off >= 1, so the path is at most 4095 bytes and the
   * masks below change nothing; they prove the bounds to the verifier. */
  if (!b || off > PS_PATH_MAX - 1 || off == 0) return 0;
  len = (PS_PATH_MAX - off) & (PS_PATH_MAX - 1);
  if (bpf_probe_read_kernel(dst, len, b->buf + (off & (PS_PATH_MAX - 1)))) return 0;
  return len;
}

/* The struct path and inode an object fd names (AT_FDCWD: the cwd). */
static __always_inline int ps_object(long fd, struct path** path, struct inode** inode) {
  if (fd == PS_AT_FDCWD) {
    struct task_struct* task = bpf_get_current_task_btf();
    *path = &task->fs->pwd;
    *inode = BPF_CORE_READ(task, fs, pwd.dentry, d_inode);
    return 0;
  }
  struct file* f = ps_fd_file(fd);
  if (!f) return -1;
  *path = (struct path*)((void*)f + bpf_core_field_offset(struct file, f_path));
  *inode = BPF_CORE_READ(f, f_inode);
  return 0;
}

/* The absolute path of a dentry on a vfsmount at the record's data + off.
 * Returns its length, with the PS_PATH_* flags the walk found in bits 32 to 47
 * and the caller's root's share of it in bits 48 and up (0 when nothing could
 * be written). */
__weak __noinline __u64 ps_tail_resolve(__u32 off, __u64 dentry, __u64 vfsmnt) {
  struct ps_op_event* ev = ps_scratch_event();
  __u16 flags = 0, root_len = 0;
  __u32 len;
  if (!ev) return 0;
  off &= PS_TAIL_OFF_MASK;
  len = ps_resolve_dm(dentry, vfsmnt, ev->data + off, &flags, &root_len);
  if (len > PS_PATH_MAX) len = 0;
  if (root_len > len) root_len = 0;
  return (__u64)root_len << 48 | (__u64)flags << 32 | len;
}

/* Append the path of (dentry, vfsmnt) at *off: sets *len, *root_len (the
 * caller's root's share; NULL: not wanted) and *flags (or-ed in), advances
 * *off. */
static __always_inline void ps_put_path(__u32* off, __u64 dentry, __u64 vfsmnt, __u16* len,
                                        __u16* flags, __u16* root_len) {
  __u64 r = ps_tail_resolve(*off, dentry, vfsmnt);
  *len = (__u16)r;
  *flags |= (__u16)(r >> 32);
  if (root_len) *root_len = (__u16)(r >> 48);
  *off += (__u16)r;
}

#endif /* PERMSENTRY_BPF_PATH_H_ */
