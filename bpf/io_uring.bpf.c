// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: io_uring submissions (tp_btf/io_uring_submit_req; before 6.4
 * the same tracepoint was io_uring_submit_sqe).
 *
 * io_uring opens, renames, links, unlinks, truncates and sets xattrs in the
 * kernel's own workers: no syscall tracepoint fires for the operation itself.
 * The submission tracepoint fires in the submitting task once the request is
 * prepared, when the paths, the xattr name and the value are already kernel
 * copies (struct filename, struct kernel_xattr_ctx). From them the same checks
 * as for syscalls run: the dcache lookup, the watch list by identity.
 *
 * Reported: xattr changes on any file (ACLs and file capabilities set this way
 * are invisible otherwise), and opens with write intent, renames, links,
 * symlinks, unlinks and truncates that touch a watched credential file. The
 * record is a ps_op_event from PS_HOOK_IO_URING with the opcode as syscall_nr
 * and the request's parameters in the trailer; its result is not known at
 * submission.
 */
#include "common.bpf.h"
#include "lookup.bpf.h"
#include "path.bpf.h"
#include "watch_name.bpf.h"

/* uapi IORING_OP_* values (include/uapi/linux/io_uring.h): fixed numbers. */
#define PS_IORING_OP_OPENAT 18
#define PS_IORING_OP_OPENAT2 28
#define PS_IORING_OP_RENAMEAT 35
#define PS_IORING_OP_UNLINKAT 36
#define PS_IORING_OP_MKDIRAT 37
#define PS_IORING_OP_SYMLINKAT 38
#define PS_IORING_OP_LINKAT 39
#define PS_IORING_OP_FSETXATTR 41
#define PS_IORING_OP_SETXATTR 42
#define PS_IORING_OP_FTRUNCATE 55

#define PS_O_ACCMODE 03
#define PS_O_CREAT 0100
#define PS_O_TRUNC 01000
#define PS_O_NOFOLLOW 0400000
#define PS_O_PATH 010000000
#define PS_AT_SYMLINK_FOLLOW 0x400

/* Before 6.2 the link/symlink request was struct io_hardlink (same fields). */
struct io_hardlink___old {
  struct file* file;
  int old_dfd;
  int new_dfd;
  struct filename* oldpath;
  struct filename* newpath;
  int flags;
} __attribute__((preserve_access_index));

/* What one request carries, gathered per opcode. */
struct ps_uring_req {
  __u64 p1, p2;       /* struct filename* of the first and second path, or 0 */
  __u64 target;       /* symlinkat: the target text (struct filename*) */
  __u64 name, value;  /* xattr: kernel copies of the name and the value */
  __u64 size;         /* xattr value size */
  __u64 xflags;       /* xattr flags */
  __u64 oflags, mode; /* open */
  long d1, d2, fd;    /* dirfds, and the fd of fd-based requests */
  __u32 sides;        /* which paths are names to check: 1 = p1, 2 = p2 */
  __u32 follow1;      /* follow a symlink in p1's last component */
  __u32 always;       /* report even when no watched file is involved */
  __u32 op;           /* enum ps_op */
  __u32 cmode;        /* a creation whose mode opens access: that mode, umask applied */
};

static __always_inline const char* ps_filename(__u64 fn) {
  struct filename* f = (struct filename*)fn;
  return fn ? BPF_CORE_READ(f, name) : NULL;
}

static __always_inline int ps_uring_gather(struct io_kiocb* req, __u8 op, struct ps_uring_req* r) {
  /* The per-opcode data overlays the start of the request (io_cmd_data). */
  void* cmd = (void*)req;
  r->d1 = PS_AT_FDCWD;
  r->d2 = PS_AT_FDCWD;
  r->fd = -1;
  switch (op) {
    case PS_IORING_OP_OPENAT:
    case PS_IORING_OP_OPENAT2: {
      struct io_open* o = cmd;
      r->oflags = BPF_CORE_READ(o, how.flags);
      if (r->oflags & PS_O_PATH) return -1;
      if (!(r->oflags & PS_O_ACCMODE) && !(r->oflags & (PS_O_CREAT | PS_O_TRUNC))) return -1;
      r->mode = BPF_CORE_READ(o, how.mode);
      r->op = PS_OP_WRITE_OPEN;
      if (r->oflags & PS_O_CREAT) {
        /* Reported wherever it is if the new file's mode opens access (the
         * result, and so the mode it got, is not known at submission). */
        const __u32 m = PS_S_IFREG | ps_apply_umask((__u32)r->mode & 07777);
        if (ps_risky_create(m)) {
          r->cmode = m;
          r->always = 1;
        }
      }
      r->d1 = BPF_CORE_READ(o, dfd);
      r->p1 = (__u64)BPF_CORE_READ(o, filename);
      r->sides = 1;
      r->follow1 = !(r->oflags & PS_O_NOFOLLOW);
      return 0;
    }
    case PS_IORING_OP_RENAMEAT: {
      struct io_rename* o = cmd;
      r->d1 = BPF_CORE_READ(o, old_dfd);
      r->d2 = BPF_CORE_READ(o, new_dfd);
      r->p1 = (__u64)BPF_CORE_READ(o, oldpath);
      r->p2 = (__u64)BPF_CORE_READ(o, newpath);
      r->xflags = BPF_CORE_READ(o, flags);
      r->sides = 3;
      r->op = PS_OP_RENAME;
      return 0;
    }
    case PS_IORING_OP_UNLINKAT: {
      struct io_unlink* o = cmd;
      r->d1 = BPF_CORE_READ(o, dfd);
      r->p1 = (__u64)BPF_CORE_READ(o, filename);
      r->xflags = BPF_CORE_READ(o, flags);
      r->sides = 1;
      r->op = PS_OP_UNLINK;
      return 0;
    }
    case PS_IORING_OP_LINKAT:
    case PS_IORING_OP_SYMLINKAT: {
      __u64 oldpath;
      if (bpf_core_type_exists(struct io_link)) {
        struct io_link* o = cmd;
        r->d1 = BPF_CORE_READ(o, old_dfd);
        r->d2 = BPF_CORE_READ(o, new_dfd);
        r->p2 = (__u64)BPF_CORE_READ(o, newpath);
        r->xflags = BPF_CORE_READ(o, flags);
        oldpath = (__u64)BPF_CORE_READ(o, oldpath);
      } else {
        struct io_hardlink___old* o = cmd;
        r->d1 = BPF_CORE_READ(o, old_dfd);
        r->d2 = BPF_CORE_READ(o, new_dfd);
        r->p2 = (__u64)BPF_CORE_READ(o, newpath);
        r->xflags = BPF_CORE_READ(o, flags);
        oldpath = (__u64)BPF_CORE_READ(o, oldpath);
      }
      if (op == PS_IORING_OP_SYMLINKAT) {
        r->target = oldpath;
        r->sides = 2;
        r->op = PS_OP_SYMLINK;
      } else {
        r->p1 = oldpath;
        r->follow1 = (r->xflags & PS_AT_SYMLINK_FOLLOW) != 0;
        r->sides = 3;
        r->op = PS_OP_LINK;
      }
      return 0;
    }
    case PS_IORING_OP_SETXATTR:
    case PS_IORING_OP_FSETXATTR: {
      struct io_xattr* o = cmd;
      if (bpf_core_field_exists(struct io_xattr, ctx)) {
        r->name = (__u64)BPF_CORE_READ(o, ctx.kname);
        r->value = (__u64)BPF_CORE_READ(o, ctx.kvalue);
        r->size = BPF_CORE_READ(o, ctx.size);
        r->xflags = BPF_CORE_READ(o, ctx.flags);
      }
      if (op == PS_IORING_OP_SETXATTR) {
        r->p1 = (__u64)BPF_CORE_READ(o, filename);
        r->follow1 = 1;
      } else {
        r->fd = BPF_CORE_READ(req, cqe.fd);
      }
      r->always = 1; /* a permission change wherever it happens */
      r->op = PS_OP_XATTR_SET;
      return 0;
    }
    case PS_IORING_OP_MKDIRAT: {
      struct io_mkdir* o = cmd;
      const __u32 m = PS_S_IFDIR | ps_apply_umask(BPF_CORE_READ(o, mode) & 07777);
      if (!ps_risky_create(m)) return -1;
      r->mode = BPF_CORE_READ(o, mode);
      r->cmode = m;
      r->d1 = BPF_CORE_READ(o, dfd);
      r->p1 = (__u64)BPF_CORE_READ(o, filename);
      r->always = 1;
      r->op = PS_OP_MKDIR;
      return 0;
    }
    case PS_IORING_OP_FTRUNCATE:
      r->fd = BPF_CORE_READ(req, cqe.fd);
      r->op = PS_OP_TRUNCATE;
      return 0;
    default:
      return -1;
  }
}

/* Per-CPU state for one request: the gathered fields and the name check (too
 * big for the stack next to the lookup's frames). */
struct ps_uring_state {
  struct ps_uring_req r;
  struct ps_name_check nc;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_uring_state);
} uring_state SEC(".maps");

/* Append a kernel string to the event tail at *off; returns its length. */
static __always_inline __u32 ps_put_kstr(__u32* off, const char* s, __u32 max) {
  long n = s ? ps_tail_str(*off, (__u64)s, max, 1) : 0;
  if (n <= 1) return 0;
  *off += n - 1;
  return n - 1;
}

static __always_inline int ps_on_submit(struct io_kiocb* req) {
  struct ps_uring_state* us;
  struct ps_op_event* ev;
  struct ps_uring_req* r;
  struct ps_name_check* nc;
  struct dentry* objd = NULL;
  struct path* fpath = NULL;
  __u32 zero = 0, off = 0;
  __u8 op = BPF_CORE_READ(req, opcode);
  int watched = 0, side = 0, in_session = 0;

  us = bpf_map_lookup_elem(&uring_state, &zero);
  if (!us) return 0;
  r = &us->r;
  nc = &us->nc;
  __builtin_memset(us, 0, sizeof(*us));
  if (ps_uring_gather(req, op, r) != 0) return 0;

  /* Which credential file, by identity: the new name first (a rename or link
   * onto a watched name), then the first path, then an fd's file. */
  if ((r->sides & 2) && r->p2 && ps_check_name((__u64)ps_filename(r->p2), 1, r->d2, 0, 0, nc)) {
    watched = 1;
    side = 2;
  } else if ((r->sides & 1) && r->p1) {
    __builtin_memset(nc, 0, sizeof(*nc));
    if (ps_check_name((__u64)ps_filename(r->p1), 1, r->d1, r->follow1, 0, nc)) {
      watched = 1;
      side = 1;
    }
  }
  if (r->fd >= 0) {
    struct inode* inode;
    if (ps_object(r->fd, &fpath, &inode) == 0 && inode) {
      objd = BPF_CORE_READ(fpath, dentry);
      ps_read_inode(inode, &nc->before);
      nc->have_before = 1;
      if (ps_watch_dentry(objd, &nc->hit)) watched = 1;
    } else {
      fpath = NULL;
    }
  }
  if (!watched && !r->always) return 0;
  /* An open that creates with a mode opening access, at no credential file's
   * name: a creation. */
  if (r->op == PS_OP_WRITE_OPEN && r->cmode && !watched) r->op = PS_OP_CREATE;

  ev = ps_op_begin(r->op, PS_HOOK_IO_URING, &in_session);
  if (!ev) return 0;
  ev->syscall_nr = op;
  ev->flags = PS_OF_IO_URING;
  ev->result = PS_RESULT_UNKNOWN;
  if (r->op == PS_OP_WRITE_OPEN || (r->op == PS_OP_CREATE)) {
    ev->open_flags = (__u32)r->oflags;
    ev->flags |= PS_OF_OPEN;
  }
  if (r->cmode) {
    ev->mode = r->cmode & 07777;
    ev->flags |= PS_OF_MODE;
  }
  if (watched) {
    ev->flags |= PS_OF_WATCHED;
    ev->watch_class = nc->hit.cls;
    ev->watch_how = nc->hit.how | (side == 2 ? PS_WM_PATH2 : 0);
  }
  if (nc->have_before) {
    ev->before = nc->before;
    ev->obj.ino = nc->before.ino;
    ev->obj.dev = nc->before.dev;
    ev->obj.mode = nc->before.mode;
    ev->flags |= PS_OF_BEFORE | PS_OF_OBJECT;
  }

  /* Tail: the resolved path, the xattr name and value (kernel copies), then
   * the trailer with the request's paths. */
  {
    __u64 rd = 0, rm = 0;
    __u16 kind = 0;
    if (fpath) {
      kind = PS_PATH_OBJECT;
      rd = (__u64)BPF_CORE_READ(fpath, dentry);
      rm = (__u64)BPF_CORE_READ(fpath, mnt);
    } else if (nc->wparent) {
      kind = PS_PATH_PARENT;
      rd = nc->wparent;
      rm = nc->wparent_mnt;
    }
    if (kind) {
      ev->path_flags = kind;
      ps_put_path(&off, rd, rm, &ev->path_len, &ev->path_flags, &ev->path_root_len);
    }
  }
  if (op == PS_IORING_OP_SETXATTR || op == PS_IORING_OP_FSETXATTR) {
    ev->flags |= PS_OF_NAME | PS_OF_VALUE | PS_OF_XATTR_FLAGS;
    ev->xattr_flags = (__u32)r->xflags;
    if (r->name)
      ev->name_len = ps_put_kstr(&off, (const char*)r->name, PS_XATTR_NAME_MAX);
    else
      ev->flags |= PS_OF_NAME_FAULT;
    ev->value_size = r->size > 0xffffffffULL ? 0xffffffffU : (__u32)r->size;
    if (r->value && r->size) {
      __u32 len = r->size > PS_XATTR_VALUE_MAX ? PS_XATTR_VALUE_MAX : (__u32)r->size;
      if (ps_tail_bytes(off, r->value, len, 1) == 0) {
        ev->value_len = len;
        off += len;
      } else {
        ev->flags |= PS_OF_VALUE_FAULT;
      }
    }
  }
  {
    const __u32 toff = off;
    __u32 tflags = 0;
    __u16 plen = 0, p2len = 0;
    off += sizeof(struct ps_sc_trailer);
    if (op != PS_IORING_OP_FSETXATTR && op != PS_IORING_OP_FTRUNCATE) {
      tflags |= PS_TF_PATH;
      plen = ps_put_kstr(&off, ps_filename(op == PS_IORING_OP_SYMLINKAT ? r->target : r->p1),
                         PS_PATH_MAX);
    }
    if (op == PS_IORING_OP_RENAMEAT || op == PS_IORING_OP_LINKAT || op == PS_IORING_OP_SYMLINKAT) {
      tflags |= PS_TF_PATH2;
      p2len = ps_put_kstr(&off, ps_filename(r->p2), PS_PATH_MAX);
    }
    if (side) tflags |= PS_TF_LOOKUP;
    ev = ps_scratch_event();
    if (!ev) return 0;
    struct ps_sc_trailer* t = (struct ps_sc_trailer*)(ev->data + (toff & PS_TAIL_OFF_MASK));
    __builtin_memset(t, 0, sizeof(*t));
    /* Arguments in the layout userspace's table gives each opcode. */
    switch (op) {
      case PS_IORING_OP_OPENAT:
      case PS_IORING_OP_OPENAT2:
        t->args[0] = r->d1;
        t->args[2] = r->oflags;
        t->args[3] = r->mode;
        break;
      case PS_IORING_OP_RENAMEAT:
      case PS_IORING_OP_LINKAT:
        t->args[0] = r->d1;
        t->args[2] = r->d2;
        t->args[4] = r->xflags;
        break;
      case PS_IORING_OP_UNLINKAT:
        t->args[0] = r->d1;
        t->args[2] = r->xflags;
        break;
      case PS_IORING_OP_MKDIRAT:
        t->args[0] = r->d1;
        t->args[2] = r->mode;
        break;
      case PS_IORING_OP_SYMLINKAT:
        t->args[1] = r->d2;
        break;
      case PS_IORING_OP_SETXATTR:
      case PS_IORING_OP_FSETXATTR:
        t->args[0] = r->fd;
        t->args[3] = r->size;
        t->args[4] = r->xflags;
        break;
      default:
        t->args[0] = r->fd;
    }
    t->flags = tflags;
    t->path_len = plen;
    t->path2_len = p2len;
    t->lookup_flags = (__u16)nc->lk_flags;
    ev->trailer_len = (__u16)(off - toff);
  }

  if (ps_emit(off, 1) == 0) ps_count(PS_STAT_IO_URING);
  return 0;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(ps_io_uring_submit, struct io_kiocb* req) { return ps_on_submit(req); }

/* Kernels before 6.4: the tracepoint's older name, same argument. */
SEC("tp_btf/io_uring_submit_sqe")
int BPF_PROG(ps_io_uring_submit_sqe, struct io_kiocb* req) { return ps_on_submit(req); }
