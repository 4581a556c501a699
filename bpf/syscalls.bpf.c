// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: generic syscall tracepoints (sys_enter / sys_exit).
 *
 * The baseline backend, loadable on every kernel this project supports (tracepoint
 * program types only). sys_enter fires for every syscall on the host, so its fast
 * path is one bitmap test against rodata; only watched numbers go further:
 *   sys_enter: stash the raw arguments (and, for set*id/capset, the credentials
 *              before the call) per thread;
 *   sys_exit:  read the strings the call used (the kernel has copied them by now,
 *              so the pages are resident), build one event with the return value,
 *              and send it to the bulk ring, or to the wakeup ring when it may
 *              become an alert.
 * Both tp_btf and raw_tp entry points are built; userspace loads one pair.
 */
#include "common.bpf.h"
#include "path.bpf.h"

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
  struct ps_inode_state inode_before; /* PS_SC_F_BEFORE */
  __u32 slot;                         /* index into sc_desc */
  __u32 flags;
  __u32 active;
  __u32 _pad0;
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct ps_inflight);
} inflight SEC(".maps");

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
} scratch SEC(".maps");

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
    *flags |= PS_SC_F_COMPAT;
  }
  if (slot >= PS_DESC_SLOTS || sc_desc[slot].kind == PS_SCK_NONE) return -1;
  return slot;
}

/* `regs` is either the tracepoint's BTF-typed pointer (tp_btf) or a stack copy
 * (raw_tp): plain loads in both cases. */
static __always_inline void ps_read_args(const struct pt_regs* regs, __u64* a, int compat) {
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

/* The fd naming the changed object itself, or PS_OBJ_NONE: the fd of fchmod and
 * friends, or the dirfd of an *at call with AT_EMPTY_PATH (which may be
 * AT_FDCWD: the cwd is then the object). For AT_EMPTY_PATH the caller still
 * checks that the path is empty. */
static __always_inline long ps_object_fd(int slot, const __u64* args) {
  const __u8 fd_arg = sc_desc[slot].fd_arg;
  const __u8 dirfd_arg = sc_desc[slot].dirfd_arg;
  const __u8 atflags_arg = sc_desc[slot].atflags_arg;

  if (fd_arg < 6) return (int)ps_arg(args, fd_arg);
  if (dirfd_arg < 6 && atflags_arg < 6 && (ps_arg(args, atflags_arg) & PS_AT_EMPTY_PATH))
    return (int)ps_arg(args, dirfd_arg);
  return PS_OBJ_NONE;
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

static __always_inline int ps_on_enter(const struct pt_regs* regs, long id) {
  struct ps_inflight* st;
  __u32 flags = 0;
  int slot;

  if (!ps_watched(id)) return 0;
  slot = ps_slot(id, &flags);
  if (slot < 0) return 0;

  st = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
                            BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!st) return 0; /* allocation failed: the exit finds no entry and counts it */
  ps_read_args(regs, st->args, flags & PS_SC_F_COMPAT);
  if (sc_desc[slot].kind == PS_SCK_CREDS) {
    ps_read_creds(&st->before);
    flags |= PS_SC_F_CREDS;
  } else {
    /* An fd-named object: its inode as it is before the call, exactly. */
    long objfd = ps_object_fd(slot, st->args);
    struct path* path;
    struct inode* inode;
    if (objfd != PS_OBJ_NONE && ps_object(objfd, &path, &inode) == 0 && inode) {
      ps_read_inode(inode, &st->inode_before);
      flags |= PS_SC_F_BEFORE;
    }
  }
  st->slot = slot;
  st->flags = flags;
  st->active = 1;
  return 0;
}

/* Does the credential change grant something: a real, effective or filesystem
 * uid 0 it did not have (taking root back from the saved uid counts), or
 * capabilities it did not have? */
static __always_inline int ps_creds_gain(const struct ps_creds* b, const struct ps_creds* a) {
  if ((a->uid == 0 && b->uid != 0) || (a->euid == 0 && b->euid != 0) ||
      (a->fsuid == 0 && b->fsuid != 0))
    return 1;
  if (a->cap_effective & ~b->cap_effective) return 1;
  if (a->cap_permitted & ~b->cap_permitted) return 1;
  return 0;
}

/* security.capability: file capabilities make an executable privileged, so
 * setting them is an alert candidate wherever it happens. (ACL xattrs matter on
 * watched files, which are decided elsewhere; on any file they are bulk.) */
static __always_inline int ps_caps_xattr(const __u8* name, __u32 len) {
  __u64 w[2];
  if (len != 19) return 0;
  __builtin_memcpy(w, name, 16);
  /* little-endian "security.capabil" + "ity" */
  return w[0] == 0x7974697275636573ULL && w[1] == 0x6c6962617061632eULL && name[16] == 'i' &&
         name[17] == 't' && name[18] == 'y';
}

static __always_inline int ps_on_exit(long id, long ret) {
  struct ps_inflight* st;
  struct ps_syscall_event* ev;
  struct ps_scratch* sb;
  __u32 zero = 0, flags = 0, off = 0, size;
  int slot, urgent = 0;
  long n;

  if (!ps_watched(id)) return 0;
  slot = ps_slot(id, &flags);
  if (slot < 0) return 0;

  st = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
  if (!st || !st->active || st->slot != (__u32)slot) {
    /* Attached between this call's entry and exit: counted, not guessed. */
    ps_count(PS_STAT_NO_ENTRY);
    return 0;
  }
  sb = bpf_map_lookup_elem(&scratch, &zero);
  if (!sb) goto done;
  ev = (struct ps_syscall_event*)sb->buf;

  const __u8 kind = sc_desc[slot].kind;
  const __u8 path_arg = sc_desc[slot].path_arg;
  const __u8 name_arg = sc_desc[slot].name_arg;
  const __u8 value_arg = sc_desc[slot].value_arg;
  const __u8 size_arg = sc_desc[slot].size_arg;
  const __u8 mode_arg = sc_desc[slot].mode_arg;
  const __u8 dirfd_arg = sc_desc[slot].dirfd_arg;

  ev->hdr.abi_version = PS_ABI_VERSION;
  ev->hdr.type = PS_EV_SYSCALL;
  ev->hdr.ktime = bpf_ktime_get_boot_ns();
  ps_fill_process(&ev->proc);
  flags = st->flags;
  ev->creds_before = st->before;
  if (flags & PS_SC_F_CREDS)
    ps_read_creds(&ev->creds_after);
  else
    __builtin_memset(&ev->creds_after, 0, sizeof(ev->creds_after));
  __builtin_memcpy(ev->args, st->args, sizeof(ev->args));
  ev->ret = ret;
  ev->nr = (__u32)id;
  ev->path_len = 0;
  ev->name_len = 0;
  ev->value_len = 0;
  ev->value_size = 0;
  ev->_pad0 = 0;
  ev->_pad1 = 0;
  ev->_pad2 = 0;
  ev->resolved_len = 0;
  ev->resolve_flags = 0;
  if (flags & PS_SC_F_BEFORE)
    ev->before = st->inode_before;
  else
    __builtin_memset(&ev->before, 0, sizeof(ev->before));
  __builtin_memset(&ev->after, 0, sizeof(ev->after));

  if (path_arg < 6) {
    flags |= PS_SC_F_PATH;
    n = bpf_probe_read_user_str(ev->data, PS_PATH_MAX, (const void*)ps_arg(st->args, path_arg));
    /* n counts the NUL; some kernels (6.12) return 0 for "". */
    if (n >= 0)
      off = n > 0 ? n - 1 : 0;
    else
      flags |= PS_SC_F_PATH_FAULT;
  }
  ev->path_len = off;

  if (name_arg < 6) {
    flags |= PS_SC_F_NAME;
    /* Offsets into ev->data are masked, not clamped: a mask bounds them for
     * every verifier, and each is below its mask by construction. */
    off &= PS_PATH_MAX - 1;
    n = bpf_probe_read_user_str(ev->data + off, PS_XATTR_NAME_MAX,
                                (const void*)ps_arg(st->args, name_arg));
    if (n > 1) {
      ev->name_len = n - 1;
      if (ps_caps_xattr(ev->data + off, n - 1)) urgent = 1;
      off += n - 1;
    } else if (n < 0) {
      flags |= PS_SC_F_NAME_FAULT;
    }
  }

  if (value_arg < 6) {
    __u64 vptr = ps_arg(st->args, value_arg);
    __u64 vsize = size_arg < 6 ? ps_arg(st->args, size_arg) : 0;

    flags |= PS_SC_F_VALUE;
    if (sc_desc[slot].value_mode == PS_VAL_XATTR_ARGS) {
      /* setxattrat: the value and its size sit in a struct xattr_args (uapi,
       * fixed layout). Our own copy of it: vmlinux.h's would carry CO-RE
       * relocations that fail to load on kernels older than 6.13. */
      struct ps_xattr_args xa = {};
      if (bpf_probe_read_user(&xa, sizeof(xa), (const void*)vptr) == 0) {
        vptr = xa.value;
        vsize = xa.size;
      } else {
        vptr = 0;
        vsize = 0;
        flags |= PS_SC_F_VALUE_FAULT;
      }
    }
    ev->value_size = vsize > 0xffffffffULL ? 0xffffffffU : (__u32)vsize;
    if (vsize > 0 && vptr) {
      __u32 len = vsize > PS_XATTR_VALUE_MAX ? PS_XATTR_VALUE_MAX : (__u32)vsize;
      off &= 0x1fff;
      len &= 0x3ff;
      if (len > 0 && len <= PS_XATTR_VALUE_MAX &&
          bpf_probe_read_user(ev->data + off, len, (const void*)vptr) == 0) {
        ev->value_len = len;
        off += len;
      } else {
        flags |= PS_SC_F_VALUE_FAULT;
      }
    }
  }

  if (kind == PS_SCK_FILE) {
    /* Where the change happened: the object's own path for fd-named objects
     * (and its inode after the call), else the directory a relative path
     * starts from. Absolute path arguments need no kernel help. */
    long objfd = ps_object_fd(slot, st->args);
    /* With AT_EMPTY_PATH, "" and (since 6.10) a NULL path both mean the dirfd
     * itself; a NULL path reads as a fault here. */
    int empty = path_arg >= 6 || ev->path_len == 0;
    struct path* path = NULL;
    struct inode* inode = NULL;
    __u16 kind_flag = 0;

    if (objfd != PS_OBJ_NONE && empty) {
      kind_flag = PS_RES_OBJECT;
      if (ps_object(objfd, &path, &inode) == 0 && inode) {
        ps_read_inode(inode, &ev->after);
        flags |= PS_SC_F_AFTER;
      } else {
        path = NULL;
      }
    } else if (path_arg < 6 && !(flags & PS_SC_F_PATH_FAULT) &&
               (ev->path_len == 0 || ev->data[0] != '/')) {
      long dirfd = dirfd_arg < 6 ? (int)ps_arg(st->args, dirfd_arg) : PS_AT_FDCWD;
      kind_flag = PS_RES_BASE;
      if (ps_object(dirfd, &path, &inode) != 0) path = NULL;
    }
    if (kind_flag) {
      ev->resolve_flags = kind_flag;
      if (!path) {
        ev->resolve_flags |= PS_RES_BAD_FD;
      } else {
        off &= 0x1fff;
        __u32 len = ps_resolve(path, ev->data + off, &ev->resolve_flags);
        if (len > PS_PATH_MAX) len = 0;
        ev->resolved_len = len;
        off += len;
      }
    }
  }

  if (mode_arg < 6 && (ps_arg(st->args, mode_arg) & 06000)) urgent = 1; /* S_ISUID | S_ISGID */
  if (kind == PS_SCK_CREDS && ret == 0 && ps_creds_gain(&ev->creds_before, &ev->creds_after))
    urgent = 1;

  /* The mask proves the size in bounds to every verifier (a compare-and-clamp
   * can reach the helper through an unclamped register copy, which 6.1
   * rejects); the scratch buffer is a power of two above the largest event. */
  size = (sizeof(*ev) + off) & (PS_SCRATCH_SIZE - 1);
  ev->hdr.size = size;

  if (urgent) {
    ev->flags = flags | PS_SC_F_URGENT;
    if (bpf_ringbuf_output(&events_urgent, ev, size, 0) == 0) {
      ps_count(PS_STAT_EVENTS_URGENT);
      goto done;
    }
    /* Wakeup ring full: counted, then the bulk ring still carries the event. */
    ps_count(PS_STAT_LOST_URGENT);
  }
  ev->flags = flags;
  if (bpf_ringbuf_output(&events_bulk, ev, size, BPF_RB_NO_WAKEUP) == 0)
    ps_count(PS_STAT_EVENTS_BULK);
  else
    ps_count(PS_STAT_LOST_BULK);
done:
  st->active = 0;
  return 0;
}

/* tp_btf: the arguments are BTF-typed, read with plain loads. */
SEC("tp_btf/sys_enter")
int BPF_PROG(ps_sys_enter_btf, struct pt_regs* regs, long id) { return ps_on_enter(regs, id); }

SEC("tp_btf/sys_exit")
int BPF_PROG(ps_sys_exit_btf, struct pt_regs* regs, long ret) {
  return ps_on_exit(regs->orig_ax, ret);
}

/* raw_tp fallback: the arguments are untyped, so registers are copied once
 * (only for watched calls) and read from the copy. */
SEC("raw_tp/sys_enter")
int BPF_PROG(ps_sys_enter_raw, struct pt_regs* regs, long id) {
  struct pt_regs copy;
  if (!ps_watched(id)) return 0;
  if (bpf_probe_read_kernel(&copy, sizeof(copy), regs)) return 0;
  return ps_on_enter(&copy, id);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(ps_sys_exit_raw, struct pt_regs* regs, long ret) {
  return ps_on_exit(BPF_CORE_READ(regs, orig_ax), ret);
}
