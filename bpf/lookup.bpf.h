/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bounded dcache lookup: the dentry a path string names, found the way the
 * kernel's own RCU path walk finds it, from programs that cannot call into the
 * VFS (tracepoints).
 *
 * Why: at sys_enter of a path-based call (chmod "x", rename "a" "/etc/passwd")
 * the kernel has not looked the path up yet, and nothing at the tracepoint
 * names the object. To report the object's state *before* the call, and to
 * decide by inode identity whether a watched credential file is involved, the
 * program looks the name up itself: component by component from the caller's
 * root, cwd or dirfd, scanning each directory's list of cached children,
 * crossing mounts through the mount tree and following symlinks whose target
 * the inode keeps in memory (i_link: fast symlinks on ext4, tmpfs, ...).
 *
 * It only finds what the dentry cache holds, which is everything in use or
 * recently used (every credential file after boot, every file a process just
 * touched). A miss is reported as such (PS_LK_NOT_CACHED, ...), never guessed.
 *
 * One flat state machine in a bpf_loop: each step consumes one path byte,
 * examines one cached child, or one child mount. PS_LOOKUP_BUDGET steps bound
 * the cost of a hostile path (a deep path through huge directories).
 *
 * Scanning is slow where it matters most: "/" and /tmp keep a thousand or more
 * children (mostly negative dentries), and old names like "etc" sit at the end
 * of the list (~85 ns per child). So a (directory, name) → dentry cache in an
 * LRU map remembers what scans found, the way the kernel's own dcache hash
 * does; every hit is checked against the dentry itself (still hashed, same
 * parent, same name) before it is used, and a stale one is dropped.
 */
#ifndef PERMSENTRY_BPF_LOOKUP_H_
#define PERMSENTRY_BPF_LOOKUP_H_

#include "path.bpf.h"

#define PS_LOOKUP_BUDGET 8192
#define PS_LOOKUP_MAX_LINKS 8 /* symlinks followed in one lookup */

/* Kernel layouts this code supports besides the vmlinux.h it is built with:
 * children on an hlist (6.8+) or a list_head (older); the inline name in
 * d_shortname (6.14+) or d_iname. CO-RE picks the one the kernel has. */
struct dentry___sib {
  struct hlist_node d_sib;
  struct hlist_head d_children;
} __attribute__((preserve_access_index));
struct dentry___child {
  struct list_head d_child;
  struct list_head d_subdirs;
} __attribute__((preserve_access_index));
struct dentry___iname {
  unsigned char d_iname[32];
} __attribute__((preserve_access_index));
struct dentry___short {
  union {
    unsigned char string[40];
  } d_shortname;
} __attribute__((preserve_access_index));

/* d_flags bits moved when they became an enum (DCACHE_MOUNTED from bit 16 to
 * 15, the entry type down one bit): CO-RE reads the kernel's values, the
 * defines are the older kernels' ones. The entry type spares a read of the
 * inode for every component. */
enum dentry_flags___new {
  DCACHE_MOUNTED___new = 0,
  DCACHE_ENTRY_TYPE___new = 0,
  DCACHE_DIRECTORY_TYPE___new = 0,
  DCACHE_AUTODIR_TYPE___new = 0,
  DCACHE_SYMLINK_TYPE___new = 0,
};
#define PS_DCACHE_MOUNTED_OLD 0x10000
#define PS_DCACHE_ENTRY_TYPE_OLD 0x700000
#define PS_DCACHE_DIRECTORY_TYPE_OLD 0x200000
#define PS_DCACHE_AUTODIR_TYPE_OLD 0x300000
#define PS_DCACHE_SYMLINK_TYPE_OLD 0x600000

struct ps_lkcache_key {
  __u64 parent; /* struct dentry * */
  __u64 hash;   /* FNV-1a of the name, xor its length */
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct ps_lkcache_key);
  __type(value, __u64); /* struct dentry * */
} lkcache SEC(".maps") __weak;

#define PS_FNV_OFFSET 0xcbf29ce484222325ULL
#define PS_FNV_PRIME 0x100000001b3ULL

enum {
  PS_LKS_PARSE = 0, /* consume path bytes up to the end of a component */
  PS_LKS_SCAN,      /* examine one cached child of `dir` */
  PS_LKS_MOUNT,     /* examine one child mount of `mnt` for the matched dentry */
  PS_LKS_MATCHED,   /* `xdentry` (on `mnt`) is the component: descend, follow, or stop */
  PS_LKS_DOTDOT,    /* go up one level, hopping mounts */
  PS_LKS_PROBE,     /* check the lkcache's answer for the current component */
};

struct ps_lookup {
  __u64 dir, mnt;         /* the directory being searched and its vfsmount */
  __u64 node, end;        /* child cursor and its list end (0 for an hlist) */
  __u64 mnode, mend;      /* child-mount cursor and its list end */
  __u64 xdentry;          /* the dentry that matched the current component */
  __u64 found, found_mnt; /* result: the object (0 when not found) */
  __u64 parent, parent_mnt;
  __u64 root, root_mnt;
  __u64 hash;  /* of the current component, as it is parsed */
  __u64 probe; /* PS_LKS_PROBE: the cached dentry to check */
  /* Dentry layout, resolved once per lookup by CO-RE. */
  __u32 off_sib;      /* the link in the parent's children list (d_sib / d_child) */
  __u32 off_children; /* the children list head (d_children / d_subdirs) */
  __u32 off_iname;    /* inline name storage (d_shortname / d_iname) */
  __u32 off_inode, off_name, off_flags, off_parent, off_hash, dsize;
  __u32 is_list; /* children on a list_head (before 6.8), else an hlist */
  __u32 mounted_flag, type_mask, type_dir, type_autodir, type_symlink;
  __u32 xflags;     /* d_flags of xdentry */
  __u32 pos, len;   /* parse position and length of lkbuf.path */
  __u32 comp, clen; /* current component: lkbuf.path[comp, comp + clen) */
  __u32 state, flags;
  __u32 follow_last, links;
  __u32 last; /* the current component is the path's last */
  __u32 _pad0;
  __u64 arg_hash; /* of the path as read, before the walk splices symlinks in */
};

/* Per-CPU working memory: the path being walked (room for a symlink splice),
 * the spliced-off tail, one dentry's bytes, one out-of-line name. Sizes are
 * powers of two plus slack so masked offsets stay in bounds for the verifier. */
#define PS_LK_PATH 4096
#define PS_LK_WIN 256
struct ps_lkbuf {
  struct ps_lookup lk; /* bpf_loop's context must be on the stack: this is not it */
  char path[2 * PS_LK_PATH + 16];
  char tail[PS_LK_PATH + 16];
  __u8 win[2 * PS_LK_WIN + 16];
  char name[PS_LK_WIN + 16];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_lkbuf);
} lkbuf SEC(".maps") __weak;

static __always_inline void ps_lk_done(struct ps_lookup* l, __u32 flags) {
  l->flags |= flags | PS_LK_DONE;
}

#define PS_LK_PMASK (2 * PS_LK_PATH - 1)

/* Compare lkbuf.path[comp, comp + clen) with `name` (clen bytes, 8 bytes of
 * readable slack after them). */
static __always_inline int ps_lk_name_eq(const struct ps_lkbuf* b, __u32 comp, const __u8* name,
                                         __u32 clen) {
  for (__u32 i = 0; i < PS_NAME_MAX + 1; i += 8) {
    if (i >= clen) break;
    __u64 x = *(const __u64*)(b->path + ((comp + i) & PS_LK_PMASK));
    __u64 y = *(const __u64*)(name + (i & (PS_LK_WIN - 1)));
    __u32 rest = clen - i;
    if (rest < 8) {
      __u64 m = (1ULL << ((rest & 7) * 8)) - 1;
      x &= m;
      y &= m;
    }
    if (x != y) return 0;
  }
  return 1;
}

/* Splice a symlink's target in front of the unparsed rest of the path. */
static __always_inline int ps_lk_splice(struct ps_lookup* l, struct ps_lkbuf* b,
                                        const char* target) {
  __u32 rest = l->len - l->pos;
  __u32 n;
  long r;

  if (rest > PS_LK_PATH - 1) return -1;
  /* Masks, not just the compare: the verifier must see each size bounded in
   * the very register passed to the helper. The barrier keeps the compiler
   * from dropping the mask as redundant. */
  asm volatile("" : "+r"(rest));
  rest &= PS_LK_PATH - 1;
  if (rest && bpf_probe_read_kernel(b->tail, rest, b->path + (l->pos & PS_LK_PMASK))) return -1;
  r = bpf_probe_read_kernel_str(b->path, PS_LK_PATH, target);
  if (r <= 1) return -1;
  n = (__u32)(r - 1) & (PS_LK_PATH - 1);
  if (n + rest > PS_LK_PATH - 1) return -1;
  if (rest && bpf_probe_read_kernel(b->path + n, rest, b->tail)) return -1;
  b->path[(n + rest) & PS_LK_PMASK] = 0;
  l->pos = 0;
  l->len = n + rest;
  if (b->path[0] == '/') {
    l->dir = l->root;
    l->mnt = l->root_mnt;
  }
  return 0;
}

static __always_inline void ps_lk_start_scan(struct ps_lookup* l) {
  l->node = 0;
  bpf_probe_read_kernel(&l->node, 8, (void*)l->dir + l->off_children);
  l->end = l->is_list ? l->dir + l->off_children : 0;
  l->state = PS_LKS_SCAN;
}

static __always_inline struct mount* ps_real_mount(__u64 vfsmnt) {
  return (struct mount*)((void*)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

static long ps_lookup_step(__u32 i, void* arg) {
  struct ps_lookup* l;
  struct ps_lkbuf* b;
  __u32 zero = 0;

  b = bpf_map_lookup_elem(&lkbuf, &zero);
  if (!b) return 1;
  l = &b->lk;

  if (l->state == PS_LKS_PARSE) {
    char c = l->pos < l->len ? b->path[l->pos & PS_LK_PMASK] : 0;
    if (l->clen == 0 && c == '/') { /* separator run */
      l->pos++;
      return 0;
    }
    if (c != '/' && c != 0) {
      if (l->clen == 0) {
        l->comp = l->pos;
        l->hash = PS_FNV_OFFSET;
      }
      l->hash = (l->hash ^ (__u8)c) * PS_FNV_PRIME;
      l->clen++;
      l->pos++;
      if (l->clen > PS_NAME_MAX) {
        ps_lk_done(l, PS_LK_UNRESOLVED);
        return 1;
      }
      return 0;
    }
    if (l->clen == 0) { /* the path ends after a separator: the object is `dir` */
      l->found = l->dir;
      l->found_mnt = l->mnt;
      ps_lk_done(l, 0);
      return 1;
    }
    l->last = c == 0;
    if (l->clen == 1 && b->path[l->comp & PS_LK_PMASK] == '.') {
      l->clen = 0;
      return 0; /* "." : the next step sees the end, or the next component */
    }
    if (l->clen == 2 && b->path[l->comp & PS_LK_PMASK] == '.' &&
        b->path[(l->comp + 1) & PS_LK_PMASK] == '.') {
      l->clen = 0;
      l->flags |= PS_LK_DOTDOT;
      l->state = PS_LKS_DOTDOT;
      return 0;
    }
    /* A name: ask the lkcache, else scan `dir`'s cached children for it. */
    l->parent = l->dir;
    l->parent_mnt = l->mnt;
    {
      struct ps_lkcache_key k = {.parent = l->dir, .hash = l->hash ^ l->clen};
      __u64* hit = bpf_map_lookup_elem(&lkcache, &k);
      if (hit && *hit) {
        l->probe = *hit;
        l->state = PS_LKS_PROBE;
        return 0;
      }
    }
    ps_lk_start_scan(l);
    return 0;
  }

  if (l->state == PS_LKS_SCAN || l->state == PS_LKS_PROBE) {
    __u64 cand, name, ino;
    __u32 nlen, dflags;
    const __u8* nbytes;
    const int probing = l->state == PS_LKS_PROBE;

    if (probing) {
      cand = l->probe;
    } else {
      if (l->node == l->end || l->node == 0) {
        /* Not in the cache: the name may still exist on disk. */
        ps_lk_done(l, l->last ? PS_LK_NOT_CACHED : PS_LK_NOT_CACHED | PS_LK_UNRESOLVED);
        return 1;
      }
      cand = l->node - l->off_sib;
    }
    if (bpf_probe_read_kernel(b->win, l->dsize & (PS_LK_WIN - 1), (void*)cand)) {
      ps_lk_done(l, PS_LK_UNRESOLVED);
      return 1;
    }
    if (!probing) l->node = *(__u64*)(b->win + (l->off_sib & (PS_LK_WIN - 1)));
    /* qstr: hash (u32), len (u32), name pointer. */
    nlen = *(__u32*)(b->win + ((l->off_name + 4) & (PS_LK_WIN - 1)));
    name = *(__u64*)(b->win + ((l->off_name + 8) & (PS_LK_WIN - 1)));
    int same = nlen == l->clen;
    if (same && probing) {
      /* A cached answer counts only if the dentry is still that name in that
       * directory and still reachable by name (hashed). */
      same = *(__u64*)(b->win + (l->off_parent & (PS_LK_WIN - 1))) == l->dir &&
             *(__u64*)(b->win + ((l->off_hash + 8) & (PS_LK_WIN - 1))) != 0;
    }
    if (same) {
      if (name == cand + l->off_iname) {
        nbytes = b->win + (l->off_iname & (PS_LK_WIN / 2 - 1));
      } else if (bpf_probe_read_kernel(b->name, nlen & PS_NAME_MAX, (void*)name) == 0) {
        nbytes = (const __u8*)b->name;
      } else {
        nbytes = NULL;
      }
      same = nbytes && ps_lk_name_eq(b, l->comp, nbytes, nlen);
    }
    struct ps_lkcache_key k = {.parent = l->dir, .hash = l->hash ^ l->clen};
    if (!same) {
      if (probing) { /* stale: forget it and scan */
        bpf_map_delete_elem(&lkcache, &k);
        ps_lk_start_scan(l);
      }
      return 0;
    }
    if (!probing) bpf_map_update_elem(&lkcache, &k, &cand, BPF_ANY);

    ino = *(__u64*)(b->win + (l->off_inode & (PS_LK_WIN - 1)));
    if (!ino) { /* a negative dentry: the name does not exist */
      ps_lk_done(l, PS_LK_ABSENT | (l->last ? 0 : PS_LK_UNRESOLVED));
      return 1;
    }
    l->xdentry = cand;
    l->clen = 0;
    dflags = *(__u32*)(b->win + (l->off_flags & (PS_LK_WIN - 1)));
    l->xflags = dflags;
    if (dflags & l->mounted_flag) {
      struct mount* m = ps_real_mount(l->mnt);
      l->mend = (__u64)&m->mnt_mounts;
      l->mnode = (__u64)BPF_CORE_READ(m, mnt_mounts.next);
      l->state = PS_LKS_MOUNT;
    } else {
      l->state = PS_LKS_MATCHED;
    }
    return 0;
  }

  if (l->state == PS_LKS_MOUNT) {
    struct mount* cm;
    if (l->mnode == l->mend || l->mnode == 0) {
      /* Mounted in another namespace only: this namespace sees the dentry. */
      l->state = PS_LKS_MATCHED;
      return 0;
    }
    cm = (struct mount*)((void*)l->mnode - bpf_core_field_offset(struct mount, mnt_child));
    if ((__u64)BPF_CORE_READ(cm, mnt_mountpoint) == l->xdentry) {
      struct dentry* root = BPF_CORE_READ(cm, mnt.mnt_root);
      l->mnt = (__u64)((void*)cm + bpf_core_field_offset(struct mount, mnt));
      l->xdentry = (__u64)root;
      l->xflags = BPF_CORE_READ(root, d_flags);
      if (l->xflags & l->mounted_flag) { /* stacked mounts */
        l->mend = (__u64)&cm->mnt_mounts;
        l->mnode = (__u64)BPF_CORE_READ(cm, mnt_mounts.next);
        return 0;
      }
      l->state = PS_LKS_MATCHED;
      return 0;
    }
    l->mnode = (__u64)BPF_CORE_READ(cm, mnt_child.next);
    return 0;
  }

  if (l->state == PS_LKS_MATCHED) {
    const __u32 type = l->xflags & l->type_mask;

    if (type == l->type_symlink && (!l->last || l->follow_last)) {
      struct dentry* d = (struct dentry*)l->xdentry;
      const char* target = BPF_CORE_READ(d, d_inode, i_link);
      l->flags |= PS_LK_SYMLINK;
      /* Targets kept only on disk (long ext4 targets, most network file
       * systems) cannot be read from here. */
      if (!target || ++l->links > PS_LOOKUP_MAX_LINKS || ps_lk_splice(l, b, target)) {
        ps_lk_done(l, PS_LK_UNRESOLVED);
        return 1;
      }
      l->last = 0;
      l->state = PS_LKS_PARSE;
      return 0;
    }
    if (l->last) {
      l->found = l->xdentry;
      l->found_mnt = l->mnt;
      ps_lk_done(l, 0);
      return 1;
    }
    if (type != l->type_dir && type != l->type_autodir) { /* ENOTDIR */
      ps_lk_done(l, PS_LK_ABSENT | PS_LK_UNRESOLVED);
      return 1;
    }
    l->dir = l->xdentry;
    l->state = PS_LKS_PARSE;
    return 0;
  }

  if (l->state == PS_LKS_DOTDOT) {
    struct dentry* d = (struct dentry*)l->dir;
    if (l->dir == l->root && l->mnt == l->root_mnt) {
      l->state = PS_LKS_PARSE;
      return 0;
    }
    struct vfsmount* vm = (struct vfsmount*)l->mnt;
    if (l->dir == (__u64)BPF_CORE_READ(vm, mnt_root)) {
      struct mount* m = ps_real_mount(l->mnt);
      struct mount* mp = BPF_CORE_READ(m, mnt_parent);
      if (mp == m) { /* the namespace's root: ".." stays */
        l->state = PS_LKS_PARSE;
        return 0;
      }
      l->dir = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
      l->mnt = (__u64)((void*)mp + bpf_core_field_offset(struct mount, mnt));
      return 0; /* the mountpoint may itself be a mount's root */
    }
    l->dir = (__u64)BPF_CORE_READ(d, d_parent);
    l->state = PS_LKS_PARSE;
    return 0;
  }
  ps_lk_done(l, PS_LK_UNRESOLVED);
  return 1;
}

/*
 * The lookup proper, a global function: the verifier checks it once, on its
 * own, instead of again at every call site (which made loading take seconds).
 * __weak: every hook-family object includes it; the linker keeps one.
 * Results in lkbuf.lk; returns 0, or -1 without the map.
 */
__weak __noinline int ps_lookup_run(__u64 base_dentry, __u64 base_mnt, __u32 len,
                                    __u32 follow_last) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct ps_lookup* l;
  struct ps_lkbuf* b;
  __u32 zero = 0;

  b = bpf_map_lookup_elem(&lkbuf, &zero);
  if (!b) return -1;
  l = &b->lk;
  __builtin_memset(l, 0, sizeof(*l));
  if (len == 0 || len > PS_LK_PATH - 1) {
    l->flags = PS_LK_UNRESOLVED | PS_LK_DONE;
    return 0;
  }
  /* Trusted BTF pointers: plain loads, no helper call. */
  l->root = (__u64)task->fs->root.dentry;
  l->root_mnt = (__u64)task->fs->root.mnt;
  if (b->path[0] == '/') {
    l->dir = l->root;
    l->mnt = l->root_mnt;
  } else {
    l->dir = base_dentry;
    l->mnt = base_mnt;
  }
  l->len = len;
  l->follow_last = follow_last;
  if (bpf_core_field_exists(struct dentry___sib, d_sib)) {
    l->off_sib = bpf_core_field_offset(struct dentry___sib, d_sib);
    l->off_children = bpf_core_field_offset(struct dentry___sib, d_children);
  } else {
    l->off_sib = bpf_core_field_offset(struct dentry___child, d_child);
    l->off_children = bpf_core_field_offset(struct dentry___child, d_subdirs);
    l->is_list = 1;
  }
  if (bpf_core_field_exists(struct dentry___short, d_shortname))
    l->off_iname = bpf_core_field_offset(struct dentry___short, d_shortname);
  else
    l->off_iname = bpf_core_field_offset(struct dentry___iname, d_iname);
  l->off_inode = bpf_core_field_offset(struct dentry, d_inode);
  l->off_name = bpf_core_field_offset(struct dentry, d_name);
  l->off_flags = bpf_core_field_offset(struct dentry, d_flags);
  l->off_parent = bpf_core_field_offset(struct dentry, d_parent);
  l->off_hash = bpf_core_field_offset(struct dentry, d_hash);
  l->dsize = bpf_core_type_size(struct dentry);
  if (bpf_core_enum_value_exists(enum dentry_flags___new, DCACHE_MOUNTED___new)) {
    l->mounted_flag = bpf_core_enum_value(enum dentry_flags___new, DCACHE_MOUNTED___new);
    l->type_mask = bpf_core_enum_value(enum dentry_flags___new, DCACHE_ENTRY_TYPE___new);
    l->type_dir = bpf_core_enum_value(enum dentry_flags___new, DCACHE_DIRECTORY_TYPE___new);
    l->type_autodir = bpf_core_enum_value(enum dentry_flags___new, DCACHE_AUTODIR_TYPE___new);
    l->type_symlink = bpf_core_enum_value(enum dentry_flags___new, DCACHE_SYMLINK_TYPE___new);
  } else {
    l->mounted_flag = PS_DCACHE_MOUNTED_OLD;
    l->type_mask = PS_DCACHE_ENTRY_TYPE_OLD;
    l->type_dir = PS_DCACHE_DIRECTORY_TYPE_OLD;
    l->type_autodir = PS_DCACHE_AUTODIR_TYPE_OLD;
    l->type_symlink = PS_DCACHE_SYMLINK_TYPE_OLD;
  }
  /* Every offset read from the window must lie inside it. */
  if (l->dsize > PS_LK_WIN - 8 || l->off_sib > PS_LK_WIN - 8 || l->off_name + 16 > l->dsize ||
      l->off_iname > PS_LK_WIN / 2 - 1 || l->off_inode > PS_LK_WIN - 8 ||
      l->off_parent > PS_LK_WIN - 8 || l->off_hash + 16 > l->dsize) {
    l->flags = PS_LK_UNRESOLVED | PS_LK_DONE;
    return 0;
  }
  bpf_loop(PS_LOOKUP_BUDGET, ps_lookup_step, NULL, 0);
  if (!(l->flags & PS_LK_DONE)) l->flags |= PS_LK_BUDGET | PS_LK_UNRESOLVED;
  return 0;
}

/*
 * Look up lkbuf.path[0, len) from `base` (a directory: the caller's cwd, a
 * dirfd's directory; ignored for absolute paths). Returns the per-CPU lookup
 * state (NULL only if the map is missing): found is the object's dentry (0 when
 * not found), parent the directory holding its last component, flags how it
 * went (PS_LK_*). Valid until the next lookup on this CPU.
 */
static __always_inline struct ps_lookup* ps_lookup(const struct path* base, __u32 len,
                                                   int follow_last) {
  struct ps_lkbuf* b;
  __u32 zero = 0;
  __u64 d = 0, m = 0;

  if (base) {
    d = (__u64)BPF_CORE_READ(base, dentry);
    m = (__u64)BPF_CORE_READ(base, mnt);
  }
  if (ps_lookup_run(d, m, len, follow_last) != 0) return NULL;
  b = bpf_map_lookup_elem(&lkbuf, &zero);
  return b ? &b->lk : NULL;
}

/* The hash of lkbuf.path[0, len) as just loaded (ps_hash_mem). A global
 * function: its loop is verified once, not at every lookup's call site. */
__weak __noinline __u64 ps_hash_lkpath(__u32 len) {
  struct ps_lkbuf* b;
  __u32 zero = 0;
  b = bpf_map_lookup_elem(&lkbuf, &zero);
  if (!b || len > PS_PATH_MAX) return 0;
  return ps_hash_mem((const __u8*)b->path, len);
}

/* Copy a path (user or kernel memory) into lkbuf.path for ps_lookup; returns
 * its length or -1. */
static __always_inline long ps_lk_load(const void* ptr, int kernel) {
  struct ps_lkbuf* b;
  __u32 zero = 0;
  long n;

  b = bpf_map_lookup_elem(&lkbuf, &zero);
  if (!b) return -1;
  n = kernel ? bpf_probe_read_kernel_str(b->path, PS_LK_PATH, ptr)
             : bpf_probe_read_user_str(b->path, PS_LK_PATH, ptr);
  if (n <= 1) return -1;
  return n - 1;
}

#endif /* PERMSENTRY_BPF_LOOKUP_H_ */
