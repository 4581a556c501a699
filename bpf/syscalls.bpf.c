// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: generic syscall tracepoints (sys_enter / sys_exit).
 *
 * The baseline backend, loadable on every kernel this project supports (tracepoint
 * program types only). sys_enter fires for every syscall on the host, so its fast
 * path is one bitmap test against rodata; only watched numbers go further:
 *   sys_enter: stash the raw arguments (and, for set*id/capset, the credentials
 *              before the call) per thread;
 *              For path-based calls, look the object up in the dcache
 *              (lookup.bpf.h): its state before the call, and whether it is a
 *              watched credential file (watch.bpf.h);
 *   sys_exit:  read the strings the call used (the kernel has copied them by now,
 *              so the pages are resident), build one event with the return value,
 *              and send it to the bulk ring, or to the wakeup ring when it may
 *              become an alert.
 * Permission and credential calls are always reported. Opens with write intent,
 * truncates and name operations (rename, link, symlink, unlink) are reported only
 * when they touch a watched credential file, decided by inode identity.
 * Both tp_btf and raw_tp entry points are built; userspace loads one pair.
 */
#include "common.bpf.h"
#include "lookup.bpf.h"
#include "path.bpf.h"
#include "watch_name.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Filled by userspace before load: what each watched syscall number looks like.
 * [0, 512) native numbers, [512, 1024) ia32 numbers. */
const volatile struct ps_sc_desc sc_desc[PS_DESC_SLOTS] = {};

/* Fast reject: bit n is set when native or ia32 number n is watched. */
const volatile __u64 sc_any[PS_NR_SLOTS / 64] = {};

/* uapi struct xattr_args (linux/xattr.h, 6.13+). */
struct ps_xattr_args {
  __u64 value;
  __u32 size;
  __u32 flags;
};

/* x86 TS_COMPAT: the task is in an ia32 syscall (int 0x80 / sysenter). */
#define PS_TS_COMPAT 0x0002

/*
 * Per-thread state between sys_enter and sys_exit of a watched call, in task
 * local storage: found through the task itself (no hash, no lock on the event
 * path), sized by the number of threads that ever made a watched call, and freed
 * by the kernel when the thread exits. `active` marks an entry in flight.
 */
struct ps_inflight {
  __u64 args[6];
  struct ps_creds before;
  struct ps_inode_state inode_before; /* PS_OF_BEFORE */
  __u64 obj, obj_mnt;                 /* what the lookup found at sys_enter, or 0 */
  __u64 wparent, wparent_mnt;         /* name ops: directory of the watched name */
  struct ps_watch_hit hit;            /* PS_OF_WATCHED */
  __u32 slot;                         /* index into sc_desc */
  __u32 flags;
  __u32 active;
  __u32 lk_flags;   /* PS_LK_* of the lookup at sys_enter */
  __u32 oflags;     /* open family: O_* flags */
  __u32 wname_side; /* name ops: 1 or 2, the path whose name is watched */
  __u32 cmode;      /* PS_ST_CREATE: the mode asked for, umask applied, type bits set */
  __u64 arg_hash;   /* PS_ST_HASH: the path argument's hash, as the sys_enter lookup read it */
  /* Found at sys_exit, for the record's tail (built by global functions that
   * see only this state): the fd-named or opened object, the object found by
   * identity, and the fd naming the object (or PS_OBJ_NONE). */
  __u64 fdent, fmnt;
  __u64 objd, objmnt;
  __s64 objfd;
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct ps_inflight);
} inflight SEC(".maps");

static __always_inline int ps_watched(long id) {
  if (id < 0 || id >= PS_NR_SLOTS) return 0;
  return (sc_any[id >> 6] >> (id & 63)) & 1;
}

/* Slot of a watched call in sc_desc, or -1. Reads TS_COMPAT only for watched
 * numbers: an ia32 number can collide with an unrelated native one. */
static __always_inline int ps_slot(long id, __u32* flags) {
  struct task_struct* task = bpf_get_current_task_btf();
  __u32 slot = (__u32)id;

  if (BPF_CORE_READ(task, thread_info.status) & PS_TS_COMPAT) {
    slot += PS_NR_SLOTS;
    *flags |= PS_OF_COMPAT;
  }
  if (slot >= PS_DESC_SLOTS || sc_desc[slot].kind == PS_SCK_NONE) return -1;
  return slot;
}

/* The registers syscall arguments come in, as laid out in x86-64's struct
 * pt_regs from bp to di: raw_tp copies them in one read; the whole struct on
 * the stack would not fit beside the lookup's frames (6.12 counts 528 bytes). */
struct ps_sysregs {
  __u64 bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
};
_Static_assert(__builtin_offsetof(struct pt_regs, di) - __builtin_offsetof(struct pt_regs, bp) ==
                   __builtin_offsetof(struct ps_sysregs, di),
               "pt_regs is not laid out from bp to di as ps_sysregs");

static __always_inline void ps_read_args(const struct ps_sysregs* regs, __u64* a, int compat) {
  if (compat) {
    /* ia32 convention: ebx, ecx, edx, esi, edi, ebp; values are 32-bit. */
    a[0] = (__u32)regs->bx;
    a[1] = (__u32)regs->cx;
    a[2] = (__u32)regs->dx;
    a[3] = (__u32)regs->si;
    a[4] = (__u32)regs->di;
    a[5] = (__u32)regs->bp;
  } else {
    a[0] = regs->di;
    a[1] = regs->si;
    a[2] = regs->dx;
    a[3] = regs->r10;
    a[4] = regs->r8;
    a[5] = regs->r9;
  }
}

#define PS_OBJ_NONE (-1000L)

/* ps_inflight.flags: the record's PS_OF_* (compat, creds, before, watched),
 * plus whether the dcache lookup ran. */
#define PS_ST_LOOKUP (1u << 31)
/* A creation whose mode as asked opens access (ps_risky_create): reported even
 * where no credential file is involved, if the new inode's mode still does. */
#define PS_ST_CREATE (1u << 30)
/* The sys_enter lookup hashed the path argument (arg_hash). */
#define PS_ST_HASH (1u << 29)
/* ...and at sys_exit it was not the same any more (PS_TF_PATH_CHANGED). */
#define PS_ST_RACED (1u << 28)

/* args[idx] for idx < 6, else 0. A switch rather than an index: older
 * verifiers (6.1) lose the bound of a spilled and reloaded index. */
static __always_inline __u64 ps_arg(const __u64* args, __u8 idx) {
  switch (idx) {
    case 0:
      return args[0];
    case 1:
      return args[1];
    case 2:
      return args[2];
    case 3:
      return args[3];
    case 4:
      return args[4];
    case 5:
      return args[5];
    default:
      return 0;
  }
}

/* A path that is the caller's own fd through its magic link: "/proc/self/fd/N"
 * or "/dev/fd/N". The dcache lookup cannot walk a magic link (procfs makes it
 * up on each lookup), so without this the object, and its credential mark,
 * would be lost. Returns N, or PS_OBJ_NONE. */
static __always_inline long ps_magic_fd(const void* p) {
  char b[16] = {}, d[12] = {};
  long skip;
  if (!p || bpf_probe_read_user(b, 14, p) != 0) return PS_OBJ_NONE;
  if (b[0] != '/') return PS_OBJ_NONE;
  if (b[1] == 'd' && b[2] == 'e' && b[3] == 'v' && b[4] == '/' && b[5] == 'f' && b[6] == 'd' &&
      b[7] == '/')
    skip = 8;
  else if (b[1] == 'p' && b[2] == 'r' && b[3] == 'o' && b[4] == 'c' && b[5] == '/' && b[6] == 's' &&
           b[7] == 'e' && b[8] == 'l' && b[9] == 'f' && b[10] == '/' && b[11] == 'f' &&
           b[12] == 'd' && b[13] == '/')
    skip = 14;
  else
    return PS_OBJ_NONE;
  if (bpf_probe_read_user_str(d, sizeof(d), p + skip) <= 1) return PS_OBJ_NONE;
  long fd = 0;
  for (int i = 0; i < 10; i++) {
    const char c = d[i];
    if (c == 0) return i ? fd : PS_OBJ_NONE;
    if (c < '0' || c > '9') return PS_OBJ_NONE;
    fd = fd * 10 + (c - '0');
  }
  return PS_OBJ_NONE; /* more digits than an fd has */
}

/* The fd naming the changed object itself, or PS_OBJ_NONE: the fd of fchmod and
 * friends, or the dirfd of an *at call with AT_EMPTY_PATH and an empty path
 * ("" or, since 6.10, NULL), which may be AT_FDCWD: the cwd is then the object;
 * or the fd a followed "/proc/self/fd/N" path names. */
static __always_inline long ps_fd_object(int slot, const __u64* args) {
  const __u8 fd_arg = sc_desc[slot].fd_arg;
  const __u8 dirfd_arg = sc_desc[slot].dirfd_arg;
  const __u8 atflags_arg = sc_desc[slot].atflags_arg;
  const __u8 path_arg = sc_desc[slot].path_arg;
  const __u64 at = atflags_arg < 6 ? ps_arg(args, atflags_arg) : 0;

  if (fd_arg < 6) return (int)ps_arg(args, fd_arg);
  if (dirfd_arg < 6 && atflags_arg < 6 && (at & PS_AT_EMPTY_PATH)) {
    char c = 0;
    if (path_arg < 6) {
      const void* p = (const void*)ps_arg(args, path_arg);
      if (p && bpf_probe_read_user(&c, 1, p) == 0 && c != 0) return PS_OBJ_NONE;
    }
    return (int)ps_arg(args, dirfd_arg);
  }
  /* A call that follows the last component through the magic link acts on
   * the fd's file (lchown and friends act on the link itself). */
  if (path_arg < 6 && !sc_desc[slot].nofollow && !(at & 0x100 /* AT_SYMLINK_NOFOLLOW */))
    return ps_magic_fd((const void*)ps_arg(args, path_arg));
  return PS_OBJ_NONE;
}

#define PS_O_ACCMODE 03
#define PS_O_CREAT 0100
#define PS_O_TRUNC 01000
#define PS_O_PATH 010000000
#define PS_AT_SYMLINK_NOFOLLOW 0x100
#define PS_AT_SYMLINK_FOLLOW 0x400

/* The O_* flags of an open-family call, from the argument or struct open_how. */
static __always_inline __u64 ps_open_flags(int slot, const __u64* args) {
  __u64 f = ps_arg(args, sc_desc[slot].oflags_arg);
  switch (sc_desc[slot].oflags_mode) {
    case PS_OFL_OPEN_HOW: {
      __u64 how = 0;
      bpf_probe_read_user(&how, sizeof(how), (const void*)f); /* open_how.flags */
      return how;
    }
    case PS_OFL_CREAT:
      return PS_O_CREAT | 01 | PS_O_TRUNC;
    default:
      return f;
  }
}

/* The mode a creation asks for, type bits included: an open's O_CREAT mode
 * (openat2: struct open_how.mode, after its flags) is a regular file's, mkdir's
 * a directory's, mknod's carries its own type (0: a regular file). */
#define PS_FMODE_CREATED 0x100000 /* file->f_mode: this open created the file */
static __always_inline __u32 ps_create_mode(int slot, const __u64* args) {
  const __u8 cmode_arg = sc_desc[slot].cmode_arg;
  __u64 m = ps_arg(args, cmode_arg);
  if (cmode_arg >= 6) return 0;
  if (sc_desc[slot].kind == PS_SCK_OPEN) {
    if (sc_desc[slot].oflags_mode == PS_OFL_OPEN_HOW) {
      __u64 how_mode = 0;
      bpf_probe_read_user(&how_mode, sizeof(how_mode), (const void*)m + 8);
      m = how_mode;
    }
    return PS_S_IFREG | ps_apply_umask((__u32)m & 07777);
  }
  if (sc_desc[slot].op == PS_OP_MKDIR) return PS_S_IFDIR | ps_apply_umask((__u32)m & 07777);
  return ((__u32)m & PS_S_IFMT) | ps_apply_umask((__u32)m & 07777);
}

/* Could the open change the file: write access, O_TRUNC, or O_CREAT? */
static __always_inline int ps_write_intent(__u64 f) {
  if (f & PS_O_PATH) return 0;
  return (f & PS_O_ACCMODE) != 0 || (f & (PS_O_CREAT | PS_O_TRUNC)) != 0;
}

/* Does the call follow a symlink in the last component? */
static __always_inline int ps_follows(int slot, const __u64* args) {
  const __u8 atflags_arg = sc_desc[slot].atflags_arg;
  __u64 at = atflags_arg < 6 ? ps_arg(args, atflags_arg) : 0;
  if (sc_desc[slot].kind == PS_SCK_NAME) /* link: only with AT_SYMLINK_FOLLOW */
    return (at & PS_AT_SYMLINK_FOLLOW) != 0;
  if (sc_desc[slot].nofollow) return 0;
  return !(at & PS_AT_SYMLINK_NOFOLLOW);
}

/* Look up a path-based call's object (at sys_enter: its state before the call).
 * A global function: verified once, not at each of its call sites. */
__noinline int ps_enter_lookup(__u32 slot, struct ps_inflight* st) {
  struct ps_lookup* l;

  if (!st || slot >= PS_DESC_SLOTS) return -1;
  asm volatile("" : "+r"(slot)); /* keep the mask: the check above was on a copy */
  slot &= PS_DESC_SLOTS - 1;
  const __u8 path_arg = sc_desc[slot].path_arg;
  const __u8 dirfd_arg = sc_desc[slot].dirfd_arg;
  if (path_arg >= 6) return -1;
  l = ps_lookup_path(ps_arg(st->args, path_arg), 0,
                     dirfd_arg < 6 ? (int)ps_arg(st->args, dirfd_arg) : PS_AT_FDCWD,
                     ps_follows(slot, st->args));
  if (!l) return -1;
  st->flags |= PS_ST_LOOKUP | PS_ST_HASH;
  st->arg_hash = l->arg_hash;
  st->lk_flags = l->flags;
  struct dentry* found = (struct dentry*)l->found;
  if (found) {
    struct inode* inode = BPF_CORE_READ(found, d_inode);
    if (inode) {
      ps_read_inode(inode, &st->inode_before);
      st->flags |= PS_OF_BEFORE;
      st->obj = l->found;
      st->obj_mnt = l->found_mnt;
    }
  }
  return 0;
}

static __always_inline int ps_on_enter(const struct ps_sysregs* regs, long id) {
  struct ps_inflight* st;
  __u64 args[6];
  __u32 flags = 0;
  __u8 kind;
  int slot;

  if (!ps_watched(id)) return 0;
  slot = ps_slot(id, &flags);
  if (slot < 0) return 0;
  kind = sc_desc[slot].kind;
  ps_read_args(regs, args, flags & PS_OF_COMPAT);

  /* Opens without write intent are the common case: rejected before any state. */
  __u64 oflags = 0;
  __u32 cmode = 0, create = 0;
  if (kind == PS_SCK_OPEN) {
    oflags = ps_open_flags(slot, args);
    if (!ps_write_intent(oflags)) return 0;
    if (oflags & PS_O_CREAT) {
      cmode = ps_create_mode(slot, args);
      create = ps_risky_create(cmode);
    }
  } else if (kind == PS_SCK_CREATE) {
    /* Most creations open nothing up: rejected before any state. */
    cmode = ps_create_mode(slot, args);
    if (!ps_risky_create(cmode)) return 0;
    create = 1;
  }

  st = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
                            BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!st) return 0; /* allocation failed: the exit finds no entry and counts it */
  __builtin_memcpy(st->args, args, sizeof(args));
  st->obj = 0;
  st->obj_mnt = 0;
  st->wparent = 0;
  st->wparent_mnt = 0;
  st->lk_flags = 0;
  st->oflags = (__u32)oflags;
  st->wname_side = 0;
  st->hit.cls = 0;
  st->hit.how = 0;
  st->cmode = cmode;
  st->flags = flags | (create ? PS_ST_CREATE : 0);

  if (kind == PS_SCK_CREDS || kind == PS_SCK_CREDS_IF) {
    ps_read_creds(&st->before);
    st->flags |= PS_OF_CREDS;
  } else if (kind == PS_SCK_FILE || kind == PS_SCK_TRUNCATE) {
    /* An fd-named object: its inode as it is before the call, exactly. A
     * path: looked up in the dcache. */
    long objfd = ps_fd_object(slot, st->args);
    struct path* path;
    struct inode* inode;
    if (objfd == PS_OBJ_NONE) {
      ps_enter_lookup(slot, st);
    } else if (ps_object(objfd, &path, &inode) == 0 && inode) {
      ps_read_inode(inode, &st->inode_before);
      st->flags |= PS_OF_BEFORE;
    }
  } else if (kind == PS_SCK_NAME) {
    const __u8 sides = sc_desc[slot].name_sides;
    const __u8 p1 = sc_desc[slot].path_arg, d1 = sc_desc[slot].dirfd_arg;
    const __u8 p2 = sc_desc[slot].path2_arg, d2 = sc_desc[slot].dirfd2_arg;
    const int follow = ps_follows(slot, st->args);
    struct ps_name_check nc = {};
    /* The destination first: a rename onto a watched name is the usual way
     * (sed -i, vipw, useradd) to replace a credential file. */
    if ((sides & 2) && p2 < 6 &&
        ps_check_name(ps_arg(st->args, p2), 0, d2 < 6 ? (int)ps_arg(st->args, d2) : PS_AT_FDCWD, 0,
                      1, &nc)) {
      st->wname_side = 2;
    } else if ((sides & 1) && p1 < 6 &&
               ps_check_name(ps_arg(st->args, p1), 0,
                             d1 < 6 ? (int)ps_arg(st->args, d1) : PS_AT_FDCWD, follow, 1, &nc)) {
      st->wname_side = 1;
    }
    if (!st->wname_side) return 0; /* not watched: no state kept, the exit drops it */
    st->flags |= PS_OF_WATCHED;
    st->hit = nc.hit;
    st->wparent = nc.wparent;
    st->wparent_mnt = nc.wparent_mnt;
    st->lk_flags = nc.lk_flags;
    if (nc.have_before) {
      st->inode_before = nc.before;
      st->flags |= PS_OF_BEFORE;
    }
  }
  st->slot = slot;
  st->active = 1;
  return 0;
}

/* A path-based call whose object the sys_enter lookup did not find (not yet in
 * the dcache): the call itself has looked it up by now. */
static __always_inline void ps_exit_lookup(int slot, struct ps_inflight* st) {
  __u32 saved = st->flags;
  const __u64 enter_hash = st->arg_hash;
  ps_enter_lookup(slot, st);
  /* What was found now is the state after the call, not before it; the path
   * as sys_enter read it stays the one to compare with. */
  st->flags = (saved & ~PS_OF_BEFORE) | PS_ST_LOOKUP;
  st->arg_hash = enter_hash;
  if (st->obj) st->lk_flags |= PS_LK_AT_EXIT;
}

/* The record's tail is built by global functions: each is verified once, on
 * its own, instead of multiplying the states of every branch of ps_on_exit.
 * Each re-masks `slot` (the check in its caller was on a copy) and finds the
 * record in the scratch buffer itself. */
#define PS_SLOT(slot)             \
  ({                              \
    __u32 __s = (slot);           \
    asm volatile("" : "+r"(__s)); \
    __s&(PS_DESC_SLOTS - 1);      \
  })

/* 1. Where the change happened, resolved from kernel objects: the object's own
 * path when it is known by identity (fd-named, opened, or found by the lookup
 * through a symlink, "..", or a relative path); for name operations the
 * directory holding the watched name; else the directory a relative path
 * starts from. An absolute path argument reached without symlinks or ".." is
 * its own answer (in the trailer) and costs no walk. Returns the new offset. */
__noinline __u32 ps_put_where(__u32 off, __u32 slot, struct ps_inflight* st) {
  struct ps_op_event* ev = ps_scratch_event();
  __u64 rdentry = 0, rmnt = 0;
  __u16 kind_flag = 0, len = 0, pflags = 0, root_len = 0;
  int bad = 0, relative = 0;
  if (!ev || !st) return off;
  slot = PS_SLOT(slot);
  const __u8 kind = sc_desc[slot].kind;
  const __u8 path_arg = sc_desc[slot].path_arg;
  const __u8 dirfd_arg = sc_desc[slot].dirfd_arg;
  if (path_arg < 6) {
    char c0 = 0;
    const void* p = (const void*)ps_arg(st->args, path_arg);
    relative = p && bpf_probe_read_user(&c0, 1, p) == 0 && c0 != 0 && c0 != '/';
  }
  if (st->fdent) {
    kind_flag = PS_PATH_OBJECT;
    rdentry = st->fdent;
    rmnt = st->fmnt;
  } else if (st->objfd != PS_OBJ_NONE) {
    kind_flag = PS_PATH_OBJECT;
    bad = 1;
  } else if (kind == PS_SCK_NAME) {
    if (st->wparent) {
      kind_flag = PS_PATH_PARENT;
      rdentry = st->wparent;
      rmnt = st->wparent_mnt;
    }
  } else if (st->objd && st->objmnt &&
             (relative || (st->lk_flags & (PS_LK_SYMLINK | PS_LK_DOTDOT)))) {
    kind_flag = PS_PATH_OBJECT;
    rdentry = st->objd;
    rmnt = st->objmnt;
  } else if (kind != PS_SCK_CREDS && kind != PS_SCK_CREDS_IF && relative) {
    long dirfd = dirfd_arg < 6 ? (int)ps_arg(st->args, dirfd_arg) : PS_AT_FDCWD;
    struct path* bp;
    struct inode* bi;
    kind_flag = PS_PATH_BASE;
    if (ps_object(dirfd, &bp, &bi) == 0) {
      rdentry = (__u64)BPF_CORE_READ(bp, dentry);
      rmnt = (__u64)BPF_CORE_READ(bp, mnt);
    } else {
      bad = 1;
    }
  } else if (kind != PS_SCK_CREDS && kind != PS_SCK_CREDS_IF && path_arg < 6 &&
             ps_host_root_dentry) {
    /* An absolute argument is the caller's own view: from a chroot (or
     * another mount namespace) it starts at the caller's root, which is then
     * the base the host names it from. */
    struct task_struct* task = bpf_get_current_task_btf();
    const __u64 rd = (__u64)BPF_CORE_READ(task, fs, root.dentry);
    const __u64 rm = (__u64)BPF_CORE_READ(task, fs, root.mnt);
    if (rd != ps_host_root_dentry || rm != ps_host_root_mnt) {
      kind_flag = PS_PATH_BASE;
      rdentry = rd;
      rmnt = rm;
    }
  }
  if (!kind_flag) return off;
  pflags = kind_flag;
  if (bad || !rdentry)
    pflags |= PS_PATH_BAD_FD;
  else
    ps_put_path(&off, rdentry, rmnt, &len, &pflags, &root_len);
  ev = ps_scratch_event();
  if (!ev) return off;
  ev->path_flags = pflags;
  ev->path_len = len;
  ev->path_root_len = root_len;
  return off;
}

/* 2. The xattr name and value, from the caller's memory (the only copy a
 * tracepoint can reach). Returns the new offset, with bit 32 set when the name
 * is security.capability (an alert candidate). */
__noinline __u64 ps_put_xattr(__u32 off, __u32 slot, struct ps_inflight* st) {
  struct ps_op_event* ev = ps_scratch_event();
  __u32 flags = 0, value_size = 0, xflags = 0;
  __u16 name_len = 0, value_len = 0;
  __u64 caps = 0;
  long n;
  if (!ev || !st) return off;
  slot = PS_SLOT(slot);
  const __u8 name_arg = sc_desc[slot].name_arg;
  const __u8 value_arg = sc_desc[slot].value_arg;
  const __u8 size_arg = sc_desc[slot].size_arg;
  const __u8 xflags_arg = sc_desc[slot].xflags_arg;
  if (name_arg < 6) {
    flags |= PS_OF_NAME | PS_OF_USER_COPY;
    n = ps_tail_str(off, ps_arg(st->args, name_arg), PS_XATTR_NAME_MAX, 0);
    if (n > 1 && n <= PS_XATTR_NAME_MAX) {
      name_len = n - 1;
      ev = ps_scratch_event();
      if (ev && ps_caps_xattr(ev->data + (off & PS_TAIL_OFF_MASK), name_len)) caps = 1;
      off += name_len;
    } else if (n < 0) {
      flags |= PS_OF_NAME_FAULT;
    }
  }
  if (value_arg < 6) {
    __u64 vptr = ps_arg(st->args, value_arg);
    __u64 vsize = size_arg < 6 ? ps_arg(st->args, size_arg) : 0;
    flags |= PS_OF_VALUE;
    if (sc_desc[slot].value_mode == PS_VAL_XATTR_ARGS) {
      /* setxattrat: the value and its size sit in a struct xattr_args (uapi,
       * fixed layout). Our own copy of it: vmlinux.h's would carry CO-RE
       * relocations that fail to load on kernels older than 6.13. */
      struct ps_xattr_args xa = {};
      if (bpf_probe_read_user(&xa, sizeof(xa), (const void*)vptr) == 0) {
        vptr = xa.value;
        vsize = xa.size;
        xflags = xa.flags;
        flags |= PS_OF_XATTR_FLAGS;
      } else {
        vptr = 0;
        vsize = 0;
        flags |= PS_OF_VALUE_FAULT;
      }
    } else if (xflags_arg < 6) {
      xflags = (__u32)ps_arg(st->args, xflags_arg);
      flags |= PS_OF_XATTR_FLAGS;
    }
    value_size = vsize > 0xffffffffULL ? 0xffffffffU : (__u32)vsize;
    if (vsize > 0 && vptr) {
      __u32 len = vsize > PS_XATTR_VALUE_MAX ? PS_XATTR_VALUE_MAX : (__u32)vsize;
      if (ps_tail_bytes(off, vptr, len, 0) == 0) {
        value_len = len;
        off += len;
      } else {
        flags |= PS_OF_VALUE_FAULT;
      }
    }
  }
  ev = ps_scratch_event();
  if (!ev) return off;
  ev->flags |= flags;
  ev->name_len = name_len;
  ev->value_len = value_len;
  ev->value_size = value_size;
  ev->xattr_flags = xflags;
  return caps << 32 | off;
}

/* 3. The trailer: the call as made, with the path arguments as the caller's
 * memory held them when it returned. Returns the new offset. */
__noinline __u32 ps_put_trailer(__u32 off, __u32 slot, struct ps_inflight* st, long ret) {
  struct ps_op_event* ev;
  struct ps_sc_trailer* t;
  const __u32 toff = off;
  __u32 tflags = 0;
  __u16 plen = 0, p2len = 0;
  long n;
  if (!st) return off;
  slot = PS_SLOT(slot);
  const __u8 path_arg = sc_desc[slot].path_arg;
  const __u8 path2_arg = sc_desc[slot].path2_arg;
  off += sizeof(*t);
  if (path_arg < 6) {
    tflags |= PS_TF_PATH;
    n = ps_tail_str(off, ps_arg(st->args, path_arg), PS_PATH_MAX, 0);
    /* n counts the NUL; some kernels (6.12) return 0 for "". */
    if (n > 1 && n <= PS_PATH_MAX) {
      plen = n - 1;
      /* Not the bytes the lookup at sys_enter walked: a second thread
       * rewrote them, and this path may name a decoy. */
      if ((st->flags & PS_ST_HASH) && ps_hash_tail(off, plen) != st->arg_hash) {
        tflags |= PS_TF_PATH_CHANGED;
        st->flags |= PS_ST_RACED;
      }
      off += plen;
    } else if (n < 0) {
      tflags |= PS_TF_PATH_FAULT;
    }
  }
  if (path2_arg < 6) {
    tflags |= PS_TF_PATH2;
    n = ps_tail_str(off, ps_arg(st->args, path2_arg), PS_PATH_MAX, 0);
    if (n > 1 && n <= PS_PATH_MAX) {
      p2len = n - 1;
      off += p2len;
    } else if (n < 0) {
      tflags |= PS_TF_PATH2_FAULT;
    }
  }
  if (st->flags & PS_ST_LOOKUP) tflags |= PS_TF_LOOKUP;
  ev = ps_scratch_event();
  if (!ev) return off;
  t = (struct ps_sc_trailer*)(ev->data + (toff & PS_TAIL_OFF_MASK));
  __builtin_memcpy(t->args, st->args, sizeof(t->args));
  t->ret = ret;
  t->flags = tflags;
  t->path_len = plen;
  t->path2_len = p2len;
  t->lookup_flags = (__u16)st->lk_flags;
  t->_pad0 = 0;
  t->_pad1 = 0;
  ev->trailer_len = (__u16)(off - toff);
  return off;
}

static __always_inline int ps_on_exit(long id, long ret) {
  struct ps_inflight* st;
  struct ps_op_event* ev;
  /* The object, when known by identity, and the path of an fd-named or opened
   * object: kept as numbers, not pointers, so that the verifier can merge the
   * many paths through this function (a NULL-or-pointer register cannot be). */
  __u64 objd = 0, fdent = 0, fmnt = 0;
  /* The object's inode as it is now, read once for the watch check and the
   * event's "after". */
  struct ps_inode_state cur = {};
  int have_cur = 0;
  __u64 objmnt = 0;
  __u32 flags = 0, off = 0;
  int slot, urgent = 0, created = 0;

  if (!ps_watched(id)) return 0;
  slot = ps_slot(id, &flags);
  if (slot < 0) return 0;
  const __u8 kind = sc_desc[slot].kind;
  __u16 op = sc_desc[slot].op;

  st = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
  if (!st || !st->active || st->slot != (__u32)slot) {
    /* Permission and credential calls always leave an entry: a missing one means
     * the sensor attached between this call's entry and exit (counted, not
     * guessed). The other kinds leave none unless they matter. */
    if (kind == PS_SCK_FILE || kind == PS_SCK_CREDS) ps_count(PS_STAT_NO_ENTRY);
    return 0;
  }

  const __u8 path_arg = sc_desc[slot].path_arg;
  const __u8 mode_arg = sc_desc[slot].mode_arg;
  long objfd = PS_OBJ_NONE;

  /* What the call acted on, by identity, and whether it is watched. */
  if (kind == PS_SCK_OPEN) {
    struct file* f;
    if (ret < 0) goto done; /* nothing was opened */
    f = ps_fd_file(ret);
    if (!f) goto done;
    fdent = objd = (__u64)BPF_CORE_READ(f, f_path.dentry);
    fmnt = (__u64)BPF_CORE_READ(f, f_path.mnt);
    ps_read_inode(BPF_CORE_READ(f, f_inode), &cur);
    have_cur = 1;
    created = (BPF_CORE_READ(f, f_mode) & PS_FMODE_CREATED) != 0;
    if (ps_watch_known((struct dentry*)objd, &cur, &st->hit)) {
      st->flags |= PS_OF_WATCHED;
    } else {
      /* No credential file: reported only as a creation whose mode, as the
       * new inode has it, opens access. */
      if (!created || !(st->flags & PS_ST_CREATE) || !ps_risky_create(cur.mode)) goto done;
      op = PS_OP_CREATE;
    }
  } else if (kind == PS_SCK_CREATE) {
    created = 1;
    if (ret == 0) {
      /* The new object, just entered in the dcache by the call. Its mode is
       * what the umask and a default ACL left: the final word. */
      if (path_arg < 6) ps_exit_lookup(slot, st);
      objd = st->obj;
      objmnt = st->obj_mnt;
      struct inode* inode = objd ? BPF_CORE_READ((struct dentry*)objd, d_inode) : NULL;
      if (inode) {
        ps_read_inode(inode, &cur);
        have_cur = 1;
        if (!ps_risky_create(cur.mode)) goto done;
      }
    }
    if (op == PS_OP_MKNOD &&
        ((st->cmode & PS_S_IFMT) == 0 || (st->cmode & PS_S_IFMT) == PS_S_IFREG))
      op = PS_OP_CREATE;
  } else if (kind == PS_SCK_CREDS_IF) {
    /* Reported only if the caller's credentials changed: a set-id or
     * file-capability exec, a new user namespace, an ambient capability. */
    if (!ps_creds_changed(&st->before)) goto done;
    if (op == PS_OP_EXEC_CREDS) {
      /* The binary that gave them: the new program's executable. (The
       * call's arguments pointed into the old program's memory, gone now.) */
      struct task_struct* task = bpf_get_current_task_btf();
      struct file* exe = BPF_CORE_READ(task, mm, exe_file);
      if (exe) {
        fdent = objd = (__u64)BPF_CORE_READ(exe, f_path.dentry);
        fmnt = (__u64)BPF_CORE_READ(exe, f_path.mnt);
        ps_read_inode(BPF_CORE_READ(exe, f_inode), &cur);
        have_cur = 1;
        st->inode_before = cur; /* an exec changes nothing in its binary */
        st->flags |= PS_OF_BEFORE;
      }
    }
  } else if (kind == PS_SCK_FILE || kind == PS_SCK_TRUNCATE) {
    objfd = ps_fd_object(slot, st->args);
    if (objfd != PS_OBJ_NONE) {
      struct inode* inode;
      struct path* fpath;
      if (ps_object(objfd, &fpath, &inode) == 0 && inode) {
        fdent = objd = (__u64)BPF_CORE_READ(fpath, dentry);
        fmnt = (__u64)BPF_CORE_READ(fpath, mnt);
        ps_read_inode(inode, &cur);
        have_cur = 1;
      }
    } else {
      if (!st->obj && path_arg < 6) ps_exit_lookup(slot, st);
      objd = st->obj;
      objmnt = st->obj_mnt;
      if (objd) {
        struct dentry* od = (struct dentry*)objd;
        struct inode* inode = BPF_CORE_READ(od, d_inode);
        if (inode) {
          ps_read_inode(inode, &cur);
          have_cur = 1;
        }
      }
    }
    if (have_cur && ps_watch_known((struct dentry*)objd, &cur, &st->hit))
      st->flags |= PS_OF_WATCHED;
    if (kind == PS_SCK_TRUNCATE && !(st->flags & PS_OF_WATCHED)) goto done;
  } else if (kind == PS_SCK_NAME) {
    if (!(st->flags & PS_OF_WATCHED)) goto done;
    /* The last name of a watched inode went away (unlink, or replaced by a
     * rename): the inode is freed, and its number will be reused. */
    if (ret == 0 && (st->flags & PS_OF_BEFORE) && st->inode_before.nlink <= 1 &&
        (sc_desc[slot].name_sides == 1 || st->wname_side == 2))
      ps_watch_forget(&st->inode_before);
    /* Something new now holds a watched name (rename or link onto it): mark
     * its inode watched at once, and report its state. Or a watched inode
     * has a new name (linked, or moved, elsewhere): the name filter learns
     * it, so that its removal is looked up and reported (the filter runs
     * before any lookup, and knew only the watched names). */
    if (ret == 0 && !(st->hit.how & PS_WM_UNVERIFIED) && sc_desc[slot].path2_arg < 6 &&
        (st->wname_side == 2 ||
         (st->wname_side == 1 && (op == PS_OP_LINK || op == PS_OP_RENAME)))) {
      const __u8 d2 = sc_desc[slot].dirfd2_arg;
      struct ps_lookup* l = ps_lookup_path(ps_arg(st->args, sc_desc[slot].path2_arg), 0,
                                           d2 < 6 ? (int)ps_arg(st->args, d2) : PS_AT_FDCWD, 0);
      struct dentry* now = l ? (struct dentry*)l->found : NULL;
      struct inode* inode = now ? BPF_CORE_READ(now, d_inode) : NULL;
      if (inode && st->wname_side == 2) {
        ps_watch_mark(inode, &st->hit);
        ps_read_inode(inode, &cur); /* reported as "after" */
        have_cur = 1;
      } else if (inode) {
        ps_filter_learn((__u64)BPF_CORE_READ(now, d_name.name));
      }
    }
  }

  int in_session = 0;
  ev = ps_op_begin(op, PS_HOOK_SYSCALL, &in_session);
  if (!ev) goto done;
  if (in_session) urgent = 1; /* an AI session's change: alert candidate */
  flags = st->flags;
  ev->syscall_nr = (__u32)id;
  ev->flags = PS_OF_SYSCALL | (flags & (PS_OF_COMPAT | PS_OF_CREDS | PS_OF_WATCHED | PS_OF_BEFORE));
  ps_set_result(ev, ret);
  if (flags & PS_OF_CREDS) {
    ev->creds_before = st->before;
    ps_read_creds(&ev->creds_after);
  }
  if (flags & PS_OF_WATCHED) {
    ev->watch_class = st->hit.cls;
    ev->watch_how = st->hit.how | (st->wname_side == 2 ? PS_WM_PATH2 : 0);
  }
  if (flags & PS_OF_BEFORE) ev->before = st->inode_before;
  /* The object's state after the call: re-read through the identity found
   * before it (a different inode there now means it was replaced: no "after"),
   * or for a rename/link, what now holds the watched name. */
  if (have_cur) {
    ev->after = cur;
    if (kind == PS_SCK_NAME || !(flags & PS_OF_BEFORE) || cur.ino == ev->before.ino)
      ev->flags |= PS_OF_AFTER;
    ev->obj.ino = cur.ino;
    ev->obj.dev = cur.dev;
    ev->obj.mode = cur.mode;
    ev->flags |= PS_OF_OBJECT;
  } else if (flags & PS_OF_BEFORE) {
    ev->obj.ino = ev->before.ino;
    ev->obj.dev = ev->before.dev;
    ev->obj.mode = ev->before.mode;
    ev->flags |= PS_OF_OBJECT;
  }
  /* What the operation sets, as the call asked it. */
  if (mode_arg < 6) {
    ev->mode = (__u32)ps_arg(st->args, mode_arg) & 07777;
    ev->flags |= PS_OF_MODE;
  }
  const __u8 owner_arg = sc_desc[slot].owner_arg;
  if (owner_arg < 6) {
    ev->uid = (__u32)ps_arg(st->args, owner_arg);
    ev->gid = (__u32)ps_arg(st->args, owner_arg + 1);
    ev->flags |= PS_OF_OWNER;
  }
  if (kind == PS_SCK_OPEN) {
    ev->open_flags = st->oflags;
    ev->flags |= PS_OF_OPEN;
  }
  /* A creation: the mode the new inode has (else the one asked, umask
   * applied), and a node's device number (kernel encoding). */
  if (created) {
    ev->mode = (have_cur ? cur.mode : st->cmode) & 07777;
    ev->flags |= PS_OF_MODE;
    if (op == PS_OP_MKNOD) {
      const __u8 ca = sc_desc[slot].cmode_arg;
      const __u32 dev = ca < 5 ? (__u32)ps_arg(st->args, ca + 1) : 0;
      ev->rdev = ps_decode_dev(dev);
      ev->flags |= PS_OF_RDEV;
    }
  }

  st->fdent = fdent;
  st->fmnt = fmnt;
  st->objd = objd;
  st->objmnt = objmnt;
  st->objfd = objfd;
  off = ps_put_where(0, slot, st);
  {
    const __u64 r = ps_put_xattr(off, slot, st);
    off = (__u32)r;
    if (r >> 32) urgent = 1; /* a file capability */
  }
  /* setgroups: the groups it set, from the kernel's copy (the ones before
   * are gone by now: not known). */
  if (sc_desc[slot].groups && ret == 0) {
    struct task_struct* task = bpf_get_current_task_btf();
    off = ps_put_groups(off, 0, (__u64)BPF_CORE_READ(task, cred, group_info));
  }
  off = ps_put_trailer(off, slot, st, ret);
  ev = ps_scratch_event(); /* the helpers wrote to it: re-derive the pointer */
  if (!ev) goto done;
  /* A mount: its file system type is the name read above (mount(2)'s type
   * argument), its flags the call's. Every one is an alert candidate: they are
   * rare outside container start-up, and userspace decides whether it covers
   * a watched path. */
  if (kind == PS_SCK_MOUNT) {
    const __u8 mflags_arg = sc_desc[slot].oflags_arg;
    if (ev->flags & PS_OF_NAME) ev->flags |= PS_OF_FSTYPE;
    if (mflags_arg < 6) {
      ev->open_flags = (__u32)ps_arg(st->args, mflags_arg);
      ev->flags |= PS_OF_MOUNT_FLAGS;
    }
    urgent = 1;
  }

  /* Alert candidates the default rules look for, decided here so that they
   * skip the bulk ring's batching: a setuid/setgid bit, a world-writable bit
   * the file did not have (or may not have had: no "before"), a file given to
   * root by a chown that changed its owner. */
  if (ev->flags & PS_OF_MODE) {
    const __u32 m = ev->mode;
    if (m & 06000) urgent = 1; /* S_ISUID | S_ISGID */
    if ((m & 02) && (!(flags & PS_OF_BEFORE) || !(ev->before.mode & 02))) urgent = 1;
  }
  if ((ev->flags & PS_OF_OWNER) && ev->uid == 0 && (!(flags & PS_OF_BEFORE) || ev->before.uid != 0))
    urgent = 1;
  if (kind == PS_SCK_CREDS && ret == 0 && ps_creds_gain(&ev->creds_before, &ev->creds_after))
    urgent = 1;
  if (kind == PS_SCK_CREDS_IF &&
      (op == PS_OP_EXEC_CREDS || ps_creds_gain(&ev->creds_before, &ev->creds_after)))
    urgent = 1;
  if (flags & PS_OF_WATCHED) urgent = 1;             /* a credential file: alert candidate */
  if (created && (flags & PS_ST_CREATE)) urgent = 1; /* its mode opens access */
  if (st->flags & PS_ST_RACED) urgent = 1;           /* the path changed under the call */

  ps_emit(off, urgent);
done:
  st->active = 0;
  return 0;
}

/* tp_btf: the arguments are BTF-typed, read with plain loads (only for
 * watched numbers: the fast path stays one bitmap test). */
SEC("tp_btf/sys_enter")
int BPF_PROG(ps_sys_enter_btf, struct pt_regs* regs, long id) {
  if (!ps_watched(id)) return 0;
  const struct ps_sysregs r = {.bp = regs->bp,
                               .bx = regs->bx,
                               .r10 = regs->r10,
                               .r9 = regs->r9,
                               .r8 = regs->r8,
                               .cx = regs->cx,
                               .dx = regs->dx,
                               .si = regs->si,
                               .di = regs->di};
  return ps_on_enter(&r, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ps_sys_exit_btf, struct pt_regs* regs, long ret) {
  return ps_on_exit(regs->orig_ax, ret);
}

/* raw_tp fallback: the arguments are untyped, so the registers are copied once
 * (only for watched calls) and read from the copy. */
SEC("raw_tp/sys_enter")
int BPF_PROG(ps_sys_enter_raw, struct pt_regs* regs, long id) {
  struct ps_sysregs copy;
  if (!ps_watched(id)) return 0;
  if (bpf_probe_read_kernel(&copy, sizeof(copy), &regs->bp)) return 0;
  return ps_on_enter(&copy, id);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(ps_sys_exit_raw, struct pt_regs* regs, long ret) {
  return ps_on_exit(BPF_CORE_READ(regs, orig_ax), ret);
}
