// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: the rich backend's name operations, which change which inode a
 * name holds: rename, link, symlink, unlink and rmdir, and the creation of a
 * file, directory or node. See rich.bpf.h for the entry/completion scheme.
 *
 *   rename    entry  fexit security_path_rename   done  fexit vfs_rename
 *   link      entry  fexit security_path_link     done  fexit vfs_link
 *   symlink   entry  fexit security_path_symlink  done  fexit vfs_symlink
 *   unlink    entry  fexit security_path_unlink   done  fexit vfs_unlink
 *   rmdir     entry  fexit security_path_rmdir    done  fexit vfs_rmdir
 *   mkdir     entry  fexit security_path_mkdir    done  fexit vfs_mkdir
 *   mknod     entry  fexit security_path_mknod    done  fexit vfs_mknod, vfs_create,
 *                                                       or (an open's O_CREAT)
 *                                                       do_filp_open (rich_file)
 * Reported when a watched credential file is involved, decided from the
 * dentries the kernel resolved (no lookup of our own, no string filter): the
 * inode a name holds, or the name in its identified directory. A new inode at
 * a watched name is watched from that moment; a watched inode whose last name
 * goes is forgotten at once (inode numbers are reused).
 */
#include "rich.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PS_RENAME_EXCHANGE 2

/* Build and send the record of a name operation that ended with `ret`. A
 * global function: verified once. */
__noinline int ps_name_emit(struct ps_pending* p, long ret, __u64 text) {
  struct ps_inode_state now = {};
  int in_session = 0, have_now = 0;
  __u32 off = 0;
  __u16 len = 0, flags = 0, root_len = 0;
  long n;
  if (!p) return 0;
  const __u32 op = p->op;
  const int ok = ret == 0;
  struct ps_op_event* ev = ps_rich_begin(op, &in_session);
  if (!ev) return 0;
  ps_set_result(ev, ret);
  ev->flags |= p->flags & (PS_OF_BEFORE | PS_OF_WATCHED | PS_OF_EXCHANGE | PS_OF_MODE | PS_OF_RDEV);
  ev->before = p->before;
  ev->mode = p->mode;
  ev->rdev = p->rdev;
  ev->watch_class = p->hit.cls;
  ev->watch_how = p->hit.how | (p->side == 2 ? PS_WM_PATH2 : 0);
  struct dentry* obj = (struct dentry*)p->dentry;
  struct dentry* dst = (struct dentry*)p->dentry2;

  if (op == PS_OP_RENAME) {
    /* The move renamed the source's dentry itself: its old path is its
     * directory and the name it had. */
    flags = PS_PATH_OBJECT;
    ps_put_path(&off, p->src_dir, p->src_mnt, &len, &flags, &root_len);
    const __u32 nl = ps_tail_name(off, p, len);
    off += nl;
    ev = ps_scratch_event();
    if (!ev) return 0;
    ev->path_len = len + nl;
    ev->path_flags = flags;
    ev->path_root_len = root_len;
    /* After success the moved dentry is the destination. */
    struct dentry* at_dst = ok ? obj : dst;
    ev->path2_flags = PS_PATH_OBJECT;
    ps_put_path(&off, (__u64)at_dst, p->mnt2, &ev->path2_len, &ev->path2_flags,
                &ev->path2_root_len);
    ev->path2_flags &= ~PS_PATH_DELETED;
    /* What the watched side holds now. */
    if (p->side == 2)
      have_now = ps_dentry_state(at_dst, &now);
    else if (!ok || (p->flags & PS_OF_EXCHANGE))
      have_now = ps_dentry_state(ok ? dst : obj, &now);
  } else if (op == PS_OP_LINK) {
    ev->path_flags = PS_PATH_OBJECT;
    ps_put_path(&off, (__u64)obj, p->mnt, &ev->path_len, &ev->path_flags, &ev->path_root_len);
    ev->path2_flags = PS_PATH_OBJECT;
    ps_put_path(&off, (__u64)dst, p->mnt2, &ev->path2_len, &ev->path2_flags, &ev->path2_root_len);
    have_now = ps_dentry_state(ok ? dst : obj, &now);
  } else if (op == PS_OP_SYMLINK) {
    ev->path2_flags = PS_PATH_OBJECT;
    ps_put_path(&off, (__u64)dst, p->mnt2, &ev->path2_len, &ev->path2_flags, &ev->path2_root_len);
    have_now = ok && ps_dentry_state(dst, &now);
    n = text ? ps_tail_str(off, text, PS_PATH_MAX, 1) : 0;
    if (n > 1 && n <= PS_PATH_MAX) {
      ev->text_len = n - 1;
      off += n - 1;
    }
  } else {
    /* unlink, rmdir, and creations: the name itself. */
    ev->path_flags = PS_PATH_OBJECT;
    ps_put_path(&off, (__u64)obj, p->mnt, &ev->path_len, &ev->path_flags, &ev->path_root_len);
    if (op == PS_OP_UNLINK) {
      ev->path_flags &= ~PS_PATH_DELETED; /* it is: that is the operation */
    } else if (ok) {
      have_now = ps_dentry_state(obj, &now);
      if (have_now) {
        ev->mode = now.mode & 07777; /* umask and default ACL applied */
        ev->flags |= PS_OF_MODE;
      }
      /* Kept for its mode alone: the new inode's mode is the final word. */
      if (!(p->flags & PS_OF_WATCHED) && (!have_now || !ps_risky_create(now.mode))) return 0;
    } else if (!(p->flags & PS_OF_WATCHED)) {
      ev->mode = p->mode; /* refused: the mode it asked for */
      ev->flags |= PS_OF_MODE;
    }
  }
  if (have_now) {
    ev->after = now;
    ev->flags |= PS_OF_AFTER;
    ps_set_object(ev, &now);
  } else if (p->flags & PS_OF_BEFORE) {
    ps_set_object(ev, &p->before);
  }

  /* The watch list follows the names at once. */
  if (ok && (p->flags & PS_OF_WATCHED) && !(p->hit.how & PS_WM_UNVERIFIED)) {
    const int freed = (p->flags & PS_OF_BEFORE) && p->before.nlink <= 1 &&
                      (op == PS_OP_UNLINK ||
                       (op == PS_OP_RENAME && p->side == 2 && !(p->flags & PS_OF_EXCHANGE)));
    if (freed) ps_watch_forget(&p->before);
    if (p->side == 2 && have_now) {
      struct inode* inode = BPF_CORE_READ((op == PS_OP_RENAME ? obj : dst), d_inode);
      if (inode) ps_watch_mark(inode, &p->hit);
    }
  }
  return ps_emit(off, 1); /* a credential file: alert candidate */
}

/* Entry of a name operation: is a watched credential file involved, on which
 * side? The destination first (a rename or link onto a watched name is how
 * tools replace a credential file), then the source. */
static __always_inline struct ps_pending* ps_name_entry(__u32 op, struct dentry* src,
                                                        struct dentry* dst) {
  struct ps_watch_hit hit = {};
  __u32 side = 0;
  if (dst && ps_watch_dentry(dst, &hit))
    side = 2;
  else if (src && ps_watch_dentry(src, &hit))
    side = 1;
  if (!side) return NULL;
  struct ps_pending* p = ps_pending_get(1);
  if (!p) return NULL;
  p->op = op;
  p->hit = hit;
  p->side = side;
  p->flags = PS_OF_WATCHED;
  p->mode = 0;
  p->rdev = 0;
  p->dentry = (__u64)src;
  p->dentry2 = (__u64)dst;
  __builtin_memset(&p->before, 0, sizeof(p->before));
  /* What the watched name holds before the operation. */
  if (ps_dentry_state(side == 2 ? dst : src, &p->before)) p->flags |= PS_OF_BEFORE;
  return p;
}

/* A refusal at entry is reported at once; otherwise the operation waits for
 * its completion. */
static __always_inline int ps_name_entered(struct ps_pending* p, int ret) {
  if (p && ret != 0) {
    ps_name_emit(p, ret, 0);
    p->op = 0;
  }
  return 0;
}

static __always_inline __u64 ps_mnt(const struct path* path) {
  return (__u64)BPF_CORE_READ(path, mnt);
}

SEC("fexit/security_path_rename")
int BPF_PROG(ps_path_rename, const struct path* old_dir, struct dentry* old_dentry,
             const struct path* new_dir, struct dentry* new_dentry, unsigned int flags, int ret) {
  struct ps_pending* p = ps_name_entry(PS_OP_RENAME, old_dentry, new_dentry);
  if (!p) return 0;
  p->mnt = ps_mnt(old_dir);
  p->mnt2 = ps_mnt(new_dir);
  p->src_dir = (__u64)BPF_CORE_READ(old_dir, dentry);
  p->src_mnt = p->mnt;
  if (flags & PS_RENAME_EXCHANGE) p->flags |= PS_OF_EXCHANGE;
  /* The source's name now: the move renames the dentry itself. */
  const __u32 len = BPF_CORE_READ(old_dentry, d_name.len);
  p->name_len = len > PS_NAME_MAX ? 0 : len;
  if (p->name_len)
    bpf_probe_read_kernel(p->name, p->name_len & PS_NAME_MAX,
                          BPF_CORE_READ(old_dentry, d_name.name));
  return ps_name_entered(p, ret);
}

SEC("fexit/vfs_rename")
int BPF_PROG(ps_vfs_rename, struct renamedata* rd, int ret) {
  struct ps_pending* p = ps_pending_get(0);
  if (!p || p->op != PS_OP_RENAME || p->dentry != (__u64)BPF_CORE_READ(rd, old_dentry)) return 0;
  if (ret == -PS_EWOULDBLOCK) return 0;
  ps_name_emit(p, ret, 0);
  p->op = 0;
  return 0;
}

SEC("fexit/security_path_link")
int BPF_PROG(ps_path_link, struct dentry* old_dentry, const struct path* new_dir,
             struct dentry* new_dentry, int ret) {
  struct ps_pending* p = ps_name_entry(PS_OP_LINK, old_dentry, new_dentry);
  if (!p) return 0;
  p->mnt = p->mnt2 = ps_mnt(new_dir); /* a hard link stays on its mount */
  return ps_name_entered(p, ret);
}

SEC("fexit/vfs_link")
int BPF_PROG(ps_vfs_link, struct dentry* old_dentry, void* idmap, struct inode* dir,
             struct dentry* new_dentry, struct inode** delegated, int ret) {
  struct ps_pending* p = ps_pending_get(0);
  if (!p || p->op != PS_OP_LINK || p->dentry2 != (__u64)new_dentry) return 0;
  if (ret == -PS_EWOULDBLOCK) return 0;
  ps_name_emit(p, ret, 0);
  p->op = 0;
  return 0;
}

SEC("fexit/security_path_symlink")
int BPF_PROG(ps_path_symlink, const struct path* dir, struct dentry* dentry, const char* old_name,
             int ret) {
  struct ps_pending* p = ps_name_entry(PS_OP_SYMLINK, NULL, dentry);
  if (!p) return 0;
  p->mnt2 = ps_mnt(dir);
  if (ret != 0) {
    ps_name_emit(p, ret, (__u64)old_name);
    p->op = 0;
  }
  return 0;
}

SEC("fexit/vfs_symlink")
int BPF_PROG(ps_vfs_symlink, void* idmap, struct inode* dir, struct dentry* dentry,
             const char* oldname, int ret) {
  struct ps_pending* p = ps_pending_get(0);
  if (!p || p->op != PS_OP_SYMLINK || p->dentry2 != (__u64)dentry) return 0;
  ps_name_emit(p, ret, (__u64)oldname);
  p->op = 0;
  return 0;
}

static __always_inline int ps_unlink_entry(const struct path* dir, struct dentry* dentry, int ret) {
  struct ps_pending* p = ps_name_entry(PS_OP_UNLINK, dentry, NULL);
  if (!p) return 0;
  p->mnt = ps_mnt(dir);
  return ps_name_entered(p, ret);
}

static __always_inline int ps_unlink_done(struct dentry* dentry, int ret) {
  struct ps_pending* p = ps_pending_get(0);
  if (!p || p->op != PS_OP_UNLINK || p->dentry != (__u64)dentry) return 0;
  if (ret == -PS_EWOULDBLOCK) return 0;
  ps_name_emit(p, ret, 0);
  p->op = 0;
  return 0;
}

SEC("fexit/security_path_unlink")
int BPF_PROG(ps_path_unlink, const struct path* dir, struct dentry* dentry, int ret) {
  return ps_unlink_entry(dir, dentry, ret);
}

SEC("fexit/security_path_rmdir")
int BPF_PROG(ps_path_rmdir, const struct path* dir, struct dentry* dentry, int ret) {
  return ps_unlink_entry(dir, dentry, ret);
}

SEC("fexit/vfs_unlink")
int BPF_PROG(ps_vfs_unlink, void* idmap, struct inode* dir, struct dentry* dentry,
             struct inode** delegated, int ret) {
  return ps_unlink_done(dentry, ret);
}

SEC("fexit/vfs_rmdir")
int BPF_PROG(ps_vfs_rmdir, void* idmap, struct inode* dir, struct dentry* dentry, int ret) {
  return ps_unlink_done(dentry, ret);
}

/* Creations at a watched name, and creations anywhere whose mode opens access
 * (ps_risky_create). An open's O_CREAT passes here too (it is completed by
 * do_filp_open, which reports the open of a watched name, or the creation).
 *
 * The mode the hook receives has the umask applied unless the file system
 * supports POSIX ACLs, where a default ACL replaces it: the umask is applied
 * here when the directory has none (i_default_acl NULL: known to have none),
 * else the mode as asked is kept as an upper bound. The completion decides on
 * the new inode's own mode. */
static __always_inline struct ps_pending* ps_risky_entry(__u32 op, const struct path* dir,
                                                         struct dentry* dentry, __u32 mode) {
  __u32 m = (op == PS_OP_MKDIR ? PS_S_IFDIR : mode & PS_S_IFMT) | (mode & 07777);
  struct inode* di = BPF_CORE_READ(dir, dentry, d_inode);
  if (!bpf_core_field_exists(di->i_default_acl) || !BPF_CORE_READ(di, i_default_acl))
    m = (m & PS_S_IFMT) | ps_apply_umask(m & 07777);
  if (!ps_risky_create(m)) return NULL;
  struct ps_pending* p = ps_pending_get(1);
  if (!p) return NULL;
  __builtin_memset(&p->hit, 0, sizeof(p->hit));
  __builtin_memset(&p->before, 0, sizeof(p->before));
  p->op = op;
  p->side = 0;
  p->flags = 0;
  p->dentry = (__u64)dentry;
  p->dentry2 = 0;
  return p;
}

static __always_inline int ps_create_entry(__u32 op, const struct path* dir, struct dentry* dentry,
                                           __u32 mode, __u32 dev, int ret) {
  struct ps_pending* p = ps_name_entry(op, dentry, NULL);
  if (!p) p = ps_risky_entry(op, dir, dentry, mode);
  if (!p) return 0;
  p->mnt = ps_mnt(dir);
  p->mode = mode & 07777; /* as asked: the inode's mode once it exists */
  /* The hook gets mknod's argument as the caller encoded it (new_encode_dev):
   * the record carries the kernel's dev_t, major << 20 | minor. */
  p->rdev = ps_decode_dev(dev);
  if (op == PS_OP_MKNOD) p->flags |= PS_OF_RDEV;
  return ps_name_entered(p, ret);
}

SEC("fexit/security_path_mkdir")
int BPF_PROG(ps_path_mkdir, const struct path* dir, struct dentry* dentry, umode_t mode, int ret) {
  return ps_create_entry(PS_OP_MKDIR, dir, dentry, mode, 0, ret);
}

SEC("fexit/security_path_mknod")
int BPF_PROG(ps_path_mknod, const struct path* dir, struct dentry* dentry, umode_t mode,
             unsigned int dev, int ret) {
  const __u32 type = mode & PS_S_IFMT;
  return ps_create_entry(type == 0 || type == PS_S_IFREG ? PS_OP_CREATE : PS_OP_MKNOD, dir, dentry,
                         mode, dev, ret);
}

static __always_inline int ps_create_done(__u32 op, struct dentry* dentry, int ret) {
  struct ps_pending* p = ps_pending_get(0);
  if (!p || p->op != op || p->dentry != (__u64)dentry) return 0;
  ps_name_emit(p, ret, 0);
  p->op = 0;
  return 0;
}

SEC("fexit/vfs_mkdir")
int BPF_PROG(ps_vfs_mkdir, void* idmap, struct inode* dir, struct dentry* dentry, umode_t mode,
             int ret) {
  return ps_create_done(PS_OP_MKDIR, dentry, ret);
}

SEC("fexit/vfs_mknod")
int BPF_PROG(ps_vfs_mknod, void* idmap, struct inode* dir, struct dentry* dentry, umode_t mode,
             dev_t dev, int ret) {
  return ps_create_done(PS_OP_MKNOD, dentry, ret);
}

SEC("fexit/vfs_create")
int BPF_PROG(ps_vfs_create, void* idmap, struct inode* dir, struct dentry* dentry, umode_t mode,
             bool want_excl, int ret) {
  return ps_create_done(PS_OP_CREATE, dentry, ret);
}
