// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: the rich backend's changes to one object: its mode, its owner,
 * its extended attributes (ACLs and file capabilities among them), its size,
 * and opens with write intent. See rich.bpf.h for the entry/completion scheme.
 *
 *   mode, owner   entry  fexit security_path_chmod / security_path_chown
 *                 done   fexit notify_change (ATTR_MODE, ATTR_UID|ATTR_GID)
 *   truncate      entry  fexit security_path_truncate, security_file_truncate (6.2+)
 *                 done   fexit notify_change (ATTR_SIZE; not an open's O_TRUNC)
 *   xattr         fentry and fexit of vfs_setxattr / vfs_removexattr, and of
 *                 vfs_set_acl / vfs_remove_acl (6.2+, where POSIX ACLs no longer
 *                 pass through the xattr calls): name and value are the kernel's
 *                 own copies, the ACL the kernel's own object
 *   write-open    fexit do_filp_open: the file the kernel opened and the flags
 *                 it was asked for (O_TRUNC included, which the file no longer
 *                 carries)
 *   write         fexit security_file_permission (MAY_WRITE): a write through
 *                 a descriptor the startup scan found open on a watched file
 *                 (held_writers); attached only when there is one
 * Mode, owner and xattr changes are reported on every file; truncates and
 * write-opens when a watched credential file is involved.
 */
#include "rich.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PS_ATTR_MODE 0x1
#define PS_ATTR_UID 0x2
#define PS_ATTR_GID 0x4
#define PS_ATTR_SIZE 0x8
#define PS_ATTR_OPEN 0x8000 /* the truncate of an open's O_TRUNC */
#define PS_O_ACCMODE 03
#define PS_O_CREAT 0100
#define PS_O_TRUNC 01000

/* ---------------------------------------------------------------- records */

/* Build and send the record of a pending change of one object (mode, owner,
 * truncate) that ended with `ret`. A global function: verified once. */
__noinline int ps_attr_emit(struct ps_pending* p, long ret) {
  struct ps_inode_state now = {};
  int in_session = 0;
  __u32 off = 0;
  if (!p) return 0;
  struct ps_op_event* ev = ps_rich_begin(p->op, &in_session);
  if (!ev) return 0;
  ps_set_result(ev, ret);
  ev->flags |= p->flags & (PS_OF_BEFORE | PS_OF_WATCHED | PS_OF_MODE | PS_OF_OWNER);
  ev->before = p->before;
  ev->mode = p->mode;
  ev->uid = p->uid;
  ev->gid = p->gid;
  ev->watch_class = p->hit.cls;
  ev->watch_how = p->hit.how;
  if (ps_dentry_state((struct dentry*)p->dentry, &now)) {
    ev->after = now;
    ev->flags |= PS_OF_AFTER;
    ps_set_object(ev, &now);
  }
  ev->path_flags = PS_PATH_OBJECT;
  ps_put_path(&off, p->dentry, p->mnt, &ev->path_len, &ev->path_flags, &ev->path_root_len);
  return ps_emit(off, in_session || ps_rich_urgent(ev));
}

/* Entry of a change to one object: its state now, and whether it is watched.
 * A refusal (the LSM verdict, ret) is reported at once; otherwise the change
 * waits for notify_change. */
static __always_inline int ps_attr_entry(__u32 op, const struct path* path, __u32 flags, __u32 mode,
                                         __u32 uid, __u32 gid, long ret, int watched_only) {
  struct dentry* d = BPF_CORE_READ(path, dentry);
  struct ps_inode_state before = {};
  struct ps_watch_hit hit = {};
  if (!ps_dentry_state(d, &before)) return 0;
  const int watched = ps_watch_known(d, &before, &hit);
  if (watched_only && !watched) return 0;
  struct ps_pending* p = ps_pending_get(1);
  if (!p) return 0;
  p->op = op;
  p->dentry = (__u64)d;
  p->mnt = (__u64)BPF_CORE_READ(path, mnt);
  p->before = before;
  p->hit = hit;
  p->flags = flags | PS_OF_BEFORE | (watched ? PS_OF_WATCHED : 0);
  p->mode = mode;
  p->uid = uid;
  p->gid = gid;
  if (ret != 0) {
    ps_attr_emit(p, ret);
    p->op = 0;
  }
  return 0;
}

SEC("fexit/security_path_chmod")
int BPF_PROG(ps_path_chmod, const struct path* path, umode_t mode, int ret) {
  return ps_attr_entry(PS_OP_MODE, path, PS_OF_MODE, mode & 07777, 0, 0, ret, 0);
}

/* kuid_t and kgid_t are passed by value: one 64-bit slot each. */
SEC("fexit/security_path_chown")
int BPF_PROG(ps_path_chown, const struct path* path, __u64 uid, __u64 gid, int ret) {
  return ps_attr_entry(PS_OP_OWNER, path, PS_OF_OWNER, 0, (__u32)uid, (__u32)gid, ret, 0);
}

/* ftruncate and (6.1) an open's O_TRUNC pass the file's own path. */
SEC("fexit/security_path_truncate")
int BPF_PROG(ps_path_truncate, const struct path* path, int ret) {
  return ps_attr_entry(PS_OP_TRUNCATE, path, 0, 0, 0, 0, ret, 1);
}

/* 6.2+: ftruncate and an open's O_TRUNC. Optional: absent before 6.2. */
SEC("fexit/security_file_truncate")
int BPF_PROG(ps_file_truncate, struct file* file, int ret) {
  const struct path* path =
      (const struct path*)((void*)file + bpf_core_field_offset(struct file, f_path));
  return ps_attr_entry(PS_OP_TRUNCATE, path, 0, 0, 0, 0, ret, 1);
}

/* The change itself. Only the operation its entry hook left pending for this
 * dentry is reported: a nested call (overlayfs on its upper layer), a
 * setuid-bit removal by a write, or utimes are not. */
SEC("fexit/notify_change")
int BPF_PROG(ps_notify_change, void* idmap, struct dentry* dentry, struct iattr* attr,
             struct inode** delegated, int ret) {
  struct ps_pending* p = ps_pending_get(0);
  if (!p || !p->op || p->dentry != (__u64)dentry) return 0;
  const __u32 valid = BPF_CORE_READ(attr, ia_valid);
  __u32 want = 0;
  switch (p->op) {
    case PS_OP_MODE:
      want = PS_ATTR_MODE;
      break;
    case PS_OP_OWNER:
      want = PS_ATTR_UID | PS_ATTR_GID;
      break;
    case PS_OP_TRUNCATE:
      want = PS_ATTR_SIZE;
      break;
    default:
      return 0;
  }
  if (!(valid & want)) return 0;
  if (ret == -PS_EWOULDBLOCK) return 0; /* a delegation break: the caller retries */
  /* The truncate of an open's O_TRUNC: the open reports it (do_filp_open). */
  if (!(p->op == PS_OP_TRUNCATE && (valid & PS_ATTR_OPEN))) ps_attr_emit(p, ret);
  p->op = 0;
  return 0;
}

/* ---------------------------------------------------------------- xattrs */

/* A POSIX ACL object as its xattr value (the layout the ACL decoder reads): a
 * version header, then {tag, perm, id} per entry; ids only for named users and
 * groups. Returns the bytes written at data + off; *size gets the whole size. */
#define PS_ACL_MAX_ENTRIES ((PS_XATTR_VALUE_MAX - 4) / 8)
struct ps_acl_entry {
  __s16 tag;
  __u16 perm;
  __u32 id;
};
__noinline __u32 ps_tail_acl(__u32 off, __u64 acl, __u32* size) {
  struct ps_op_event* ev = ps_scratch_event();
  struct posix_acl* a = (struct posix_acl*)acl;
  const __u32 entries = bpf_core_field_offset(struct posix_acl, a_entries);
  __u32 count, i, n = 4;
  if (!ev || !size || !acl) return 0;
  count = BPF_CORE_READ(a, a_count);
  *size = 4 + count * 8;
  off &= PS_TAIL_OFF_MASK;
  *(__u32*)(ev->data + off) = 2; /* POSIX_ACL_XATTR_VERSION, little-endian */
  for (i = 0; i < PS_ACL_MAX_ENTRIES; i++) {
    struct ps_acl_entry e = {};
    if (i >= count) break;
    if (bpf_probe_read_kernel(&e, sizeof(e), (void*)(acl + entries + i * 8))) break;
    if (e.tag != 0x02 && e.tag != 0x08) e.id = 0xffffffff; /* ACL_USER, ACL_GROUP */
    __builtin_memcpy(ev->data + ((off + n) & PS_TAIL_OFF_MASK), &e, sizeof(e));
    n += 8;
  }
  return n;
}

/* Build and send the record of an xattr (or ACL) change on p->xattr_dentry.
 * `name` and `value` are the kernel's copies (or the ACL object, `acl`). */
__noinline int ps_xattr_emit(struct ps_pending* p, __u32 op, __u64 name, __u64 value, long ret) {
  struct ps_inode_state now = {};
  int in_session = 0;
  __u32 off = 0;
  long n;
  if (!p) return 0;
  struct ps_op_event* ev = ps_rich_begin(op, &in_session);
  if (!ev) return 0;
  struct dentry* d = (struct dentry*)p->xattr_dentry;
  ps_set_result(ev, ret);
  ev->before = p->xattr_before;
  ev->flags |= PS_OF_BEFORE | PS_OF_NAME;
  if (ps_dentry_state(d, &now)) {
    ev->after = now;
    ev->flags |= PS_OF_AFTER;
    ps_set_object(ev, &now);
    struct ps_watch_hit hit = {};
    if (ps_watch_known(d, &now, &hit)) {
      ev->flags |= PS_OF_WATCHED;
      ev->watch_class = hit.cls;
      ev->watch_how = hit.how;
    }
  }
  ev->path_flags = PS_PATH_OBJECT;
  ps_put_path(&off, (__u64)d, ps_guess_mount(d, &ev->path_flags), &ev->path_len, &ev->path_flags,
              &ev->path_root_len);
  n = ps_tail_str(off, name, PS_XATTR_NAME_MAX, 1);
  if (n > 1 && n <= PS_XATTR_NAME_MAX) {
    ev->name_len = n - 1;
    if (ps_caps_xattr(ev->data + (off & PS_TAIL_OFF_MASK), n - 1)) in_session = 1;
    off += n - 1;
  } else if (n < 0) {
    ev->flags |= PS_OF_NAME_FAULT;
  }
  if (op == PS_OP_XATTR_SET) {
    __u32 size = p->xattr_size, len;
    ev->flags |= PS_OF_VALUE | PS_OF_XATTR_FLAGS;
    ev->xattr_flags = p->xattr_flags;
    if (p->xattr_acl) {
      len = ps_tail_acl(off, value, &size);
    } else {
      len = size > PS_XATTR_VALUE_MAX ? PS_XATTR_VALUE_MAX : size;
      if (len && ps_tail_bytes(off, value, len, 1) != 0) {
        len = 0;
        ev->flags |= PS_OF_VALUE_FAULT;
      }
    }
    ev->value_size = size;
    ev->value_len = len > PS_XATTR_VALUE_MAX ? 0 : len;
    off += ev->value_len;
  }
  return ps_emit(off, in_session || ps_rich_urgent(ev));
}

/* The outermost xattr call of a task: its dentry and state before. Nested
 * calls (overlayfs on its upper layer) only count the depth. */
static __always_inline void ps_xattr_enter(struct dentry* d, __u32 size, __u32 flags, int acl) {
  struct ps_pending* p = ps_pending_get(1);
  if (!p) return;
  if (p->xattr_depth++ != 0) return;
  p->xattr_dentry = (__u64)d;
  p->xattr_size = size;
  p->xattr_flags = flags;
  p->xattr_acl = acl;
  __builtin_memset(&p->xattr_before, 0, sizeof(p->xattr_before));
  ps_dentry_state(d, &p->xattr_before);
}

/* The outermost call returned: the pending state, or NULL (nested, or a call
 * that began before the sensor attached). */
static __always_inline struct ps_pending* ps_xattr_exit(struct dentry* d) {
  struct ps_pending* p = ps_pending_get(0);
  if (!p || p->xattr_depth == 0) return NULL;
  if (--p->xattr_depth != 0 || p->xattr_dentry != (__u64)d) return NULL;
  return p;
}

SEC("fentry/vfs_setxattr")
int ps_setxattr_in(__u64* ctx) {
  __u64 dentry = 0, size = 0, flags = 0;
  bpf_get_func_arg(ctx, 1, &dentry);
  bpf_get_func_arg(ctx, 4, &size);
  bpf_get_func_arg(ctx, 5, &flags);
  ps_xattr_enter((struct dentry*)dentry, (__u32)size, (__u32)flags, 0);
  return 0;
}

/* The value is a `const void *`, which the verifier will not let a program
 * read from its context: all arguments are fetched with bpf_get_func_arg. */
SEC("fexit/vfs_setxattr")
int ps_setxattr_out(__u64* ctx) {
  __u64 dentry = 0, name = 0, value = 0, ret = 0;
  bpf_get_func_arg(ctx, 1, &dentry);
  bpf_get_func_arg(ctx, 2, &name);
  bpf_get_func_arg(ctx, 3, &value);
  bpf_get_func_ret(ctx, &ret);
  struct ps_pending* p = ps_xattr_exit((struct dentry*)dentry);
  if (p) ps_xattr_emit(p, PS_OP_XATTR_SET, name, value, (int)ret);
  return 0;
}

SEC("fentry/vfs_removexattr")
int BPF_PROG(ps_removexattr_in, void* idmap, struct dentry* dentry, const char* name) {
  ps_xattr_enter(dentry, 0, 0, 0);
  return 0;
}

SEC("fexit/vfs_removexattr")
int BPF_PROG(ps_removexattr_out, void* idmap, struct dentry* dentry, const char* name, int ret) {
  struct ps_pending* p = ps_xattr_exit(dentry);
  if (p) ps_xattr_emit(p, PS_OP_XATTR_REMOVE, (__u64)name, 0, ret);
  return 0;
}

/* 6.2+: POSIX ACLs set and removed as ACL objects. Optional: absent on 6.1,
 * where they pass through vfs_setxattr as xattr values. */
SEC("fentry/vfs_set_acl")
int BPF_PROG(ps_set_acl_in, void* idmap, struct dentry* dentry, const char* acl_name,
             struct posix_acl* kacl) {
  ps_xattr_enter(dentry, 0, 0, 1);
  return 0;
}

/* The ACL object goes to a global function, which takes numbers, not the
 * typed pointer the context holds: fetched with bpf_get_func_arg. */
SEC("fexit/vfs_set_acl")
int BPF_PROG(ps_set_acl_out, void* idmap, struct dentry* dentry, const char* acl_name,
             struct posix_acl* kacl, int ret) {
  __u64 acl = 0;
  bpf_get_func_arg(ctx, 3, &acl);
  struct ps_pending* p = ps_xattr_exit(dentry);
  if (p) ps_xattr_emit(p, acl ? PS_OP_XATTR_SET : PS_OP_XATTR_REMOVE, (__u64)acl_name, acl, ret);
  return 0;
}

SEC("fentry/vfs_remove_acl")
int BPF_PROG(ps_remove_acl_in, void* idmap, struct dentry* dentry, const char* acl_name) {
  ps_xattr_enter(dentry, 0, 0, 0);
  return 0;
}

SEC("fexit/vfs_remove_acl")
int BPF_PROG(ps_remove_acl_out, void* idmap, struct dentry* dentry, const char* acl_name, int ret) {
  struct ps_pending* p = ps_xattr_exit(dentry);
  if (p) ps_xattr_emit(p, PS_OP_XATTR_REMOVE, (__u64)acl_name, 0, ret);
  return 0;
}

/* ---------------------------------------------------------------- opens */

/* The open is done: the file the kernel opened, the flags it was asked for.
 * Reported when it could write (write access, O_TRUNC, or it created the file)
 * and a watched credential file is involved. */
static __always_inline int ps_open_done(const struct open_flags* op, struct file* ret) {
  struct ps_inode_state now = {};
  struct ps_watch_hit hit = {};
  int in_session = 0;
  __u32 off = 0;
  if ((__u64)ret >= (__u64)-4095) return 0; /* IS_ERR: nothing was opened */
  const __u32 oflags = BPF_CORE_READ(op, open_flag);
  /* Every open on the host ends here: one that can neither write nor create
   * (most of them) leaves before the task-storage lookup. */
  if (!(oflags & (PS_O_ACCMODE | PS_O_TRUNC | PS_O_CREAT))) return 0;
  struct ps_pending* p = ps_pending_get(0);
  struct dentry* d = BPF_CORE_READ(ret, f_path.dentry);
  /* Created by this open: its creation hook (security_path_mknod) left the
   * new name pending. */
  const int created = p && p->op == PS_OP_CREATE && p->dentry == (__u64)d;
  if (created) {
    /* Kept for its mode, at no credential file's name: a creation. */
    if (!(p->flags & PS_OF_WATCHED)) {
      ps_name_emit(p, 0, 0);
      p->op = 0;
      return 0;
    }
    p->op = 0;
  }
  if (!(oflags & (PS_O_ACCMODE | PS_O_TRUNC)) && !created) return 0;
  if (!ps_dentry_state(d, &now) || !ps_watch_known(d, &now, &hit)) return 0;

  struct ps_op_event* ev = ps_rich_begin(PS_OP_WRITE_OPEN, &in_session);
  if (!ev) return 0;
  ev->result = PS_RESULT_OK;
  ev->flags |= PS_OF_OPEN | PS_OF_AFTER | PS_OF_WATCHED;
  ev->open_flags = oflags;
  ev->after = now;
  ps_set_object(ev, &now);
  if (created) {
    ev->mode = now.mode & 07777; /* umask and default ACL applied */
    ev->flags |= PS_OF_MODE;
  } else {
    ev->before = now; /* an open changes no mode or owner */
    ev->flags |= PS_OF_BEFORE;
  }
  ev->watch_class = hit.cls;
  ev->watch_how = hit.how;
  ev->path_flags = PS_PATH_OBJECT;
  ps_put_path(&off, (__u64)d, (__u64)BPF_CORE_READ(ret, f_path.mnt), &ev->path_len, &ev->path_flags,
              &ev->path_root_len);
  ps_emit(off, 1); /* a credential file: alert candidate */
  return 0;
}

SEC("fexit/do_filp_open")
int BPF_PROG(ps_filp_open, int dfd, struct filename* pathname, const struct open_flags* op,
             struct file* ret) {
  return ps_open_done(op, ret);
}

/* Opens that start from a given root instead of a name: open_by_handle_at
 * (a file handle names the inode, with no path and no lookup), and the
 * kernel's own file_open_root callers. */
SEC("fexit/do_file_open_root")
int BPF_PROG(ps_file_open_root, const struct path* root, const char* name,
             const struct open_flags* op, struct file* ret) {
  return ps_open_done(op, ret);
}

/* ---------------------------------------------------------------- held writers */

#define PS_MAY_WRITE 0x2
#define PS_HELD_INTERVAL_NS 1000000000ULL

/* Every read and write verifies its access here (rw_verify_area), io_uring's
 * and splice's too, after the permission check and before the write. Attached
 * only while the startup scan's held_writers has
 * an entry: a hash lookup per write is not paid on a host where no watched
 * file was held open at start. The first write through such a descriptor is
 * reported, then at most one a second (a log-like writer would flood). */
SEC("fexit/security_file_permission")
int BPF_PROG(ps_held_write, struct file* file, int mask, int ret) {
  struct ps_inode_state now = {};
  int in_session = 0;
  __u32 off = 0;
  if (!(mask & PS_MAY_WRITE)) return 0;
  __u64 key = (__u64)file;
  struct ps_held* h = bpf_map_lookup_elem(&held_writers, &key);
  if (!h) return 0;
  const struct inode* inode = file->f_inode;
  if ((__u64)inode != h->inode) return 0; /* the struct file was reused */
  const __u64 t = bpf_ktime_get_boot_ns();
  if (h->last_ns && t - h->last_ns < PS_HELD_INTERVAL_NS) return 0;
  h->last_ns = t;
  ps_read_inode(inode, &now);

  struct ps_op_event* ev = ps_rich_begin(PS_OP_WRITE, &in_session);
  if (!ev) return 0;
  ps_set_result(ev, ret); /* allowed (the write then ran) or refused */
  ev->flags |= PS_OF_OPEN | PS_OF_BEFORE | PS_OF_WATCHED;
  ev->open_flags = file->f_flags;
  ev->before = now;
  ps_set_object(ev, &now);
  ev->watch_class = h->hit.cls;
  ev->watch_how = h->hit.how;
  ev->path_flags = PS_PATH_OBJECT;
  ps_put_path(&off, (__u64)BPF_CORE_READ(file, f_path.dentry),
              (__u64)BPF_CORE_READ(file, f_path.mnt), &ev->path_len, &ev->path_flags,
              &ev->path_root_len);
  ps_emit(off, 1); /* a credential file: alert candidate */
  return 0;
}
