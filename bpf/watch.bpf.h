/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The credential-file watch list in the kernel, and the identity checks that use
 * it. Userspace fills the maps from the configured list (inodes of watched files
 * and directories, watched names in their directories) and refreshes them when a
 * rename or link may have put a new inode behind a watched name.
 *
 * Identity, not strings: an object is watched when its inode is, when it is an
 * entry of a watched directory, or when its name in its (identified) directory
 * is a watched name. A hard link, a symlink, a relative path or a dirfd leads to
 * the same inode and cannot slip past. Strings are used only as a cheap filter
 * in front of the dcache lookup for path-based name operations (watch_filter).
 */
#ifndef PERMSENTRY_BPF_WATCH_H_
#define PERMSENTRY_BPF_WATCH_H_

#include "common.bpf.h"
#include "lookup.bpf.h"
#include "path.bpf.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, struct ps_watch_key);
  __type(value, struct ps_watch_val);
} watch_inodes SEC(".maps") __weak;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct ps_watch_name_key);
  __type(value, struct ps_watch_val);
} watch_names SEC(".maps") __weak;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct ps_watch_filter_key);
  __type(value, __u32);
} watch_filter SEC(".maps") __weak;

struct ps_watch_hit {
  __u32 cls;
  __u32 how; /* PS_WM_* */
};

/* Keys are built in per-CPU memory, not on the stack: these checks run deep in
 * call chains whose combined stack the verifier limits to 512 bytes. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_watch_name_key);
} watch_key SEC(".maps") __weak;

static __always_inline int ps_watch_hit_set(struct ps_watch_hit* h, const struct ps_watch_val* v,
                                            __u32 how) {
  h->cls = v->cls;
  h->how = how;
  return 1;
}

/* Is the inode (ino, dev) itself watched? */
static __always_inline int ps_watch_id(__u64 ino, __u32 dev, struct ps_watch_hit* h) {
  struct ps_watch_key k = {.ino = ino, .dev = dev};
  struct ps_watch_val* v = bpf_map_lookup_elem(&watch_inodes, &k);
  return v && (v->flags & PS_WF_OBJECT) ? ps_watch_hit_set(h, v, PS_WM_OBJECT) : 0;
}

/*
 * Is an entry of directory (dir_ino, dir_dev) watched: any entry of a watched
 * directory, or a watched name there? The name is needed only in the second
 * case, so it is read only then: from dentry `d` when given (into watch_key),
 * else it is already in nk->name, NUL-padded.
 */
static __always_inline int ps_watch_dir_entry(__u64 dir_ino, __u32 dir_dev, const struct dentry* d,
                                              struct ps_watch_name_key* nk,
                                              struct ps_watch_hit* h) {
  struct ps_watch_key k = {.ino = dir_ino, .dev = dir_dev};
  struct ps_watch_val* v = bpf_map_lookup_elem(&watch_inodes, &k);
  __u32 zero = 0;

  if (!v) return 0; /* the common case: an unwatched directory */
  if (v->flags & PS_WF_ALL_ENTRIES) return ps_watch_hit_set(h, v, PS_WM_DIR_ENTRY);
  if (!(v->flags & PS_WF_NAMES)) return 0;
  if (d) {
    nk = bpf_map_lookup_elem(&watch_key, &zero);
    if (!nk) return 0;
    __builtin_memset(nk->name, 0, sizeof(nk->name));
    bpf_probe_read_kernel_str(nk->name, sizeof(nk->name), BPF_CORE_READ(d, d_name.name));
  }
  if (!nk) return 0;
  nk->dir_ino = dir_ino;
  nk->dir_dev = dir_dev;
  nk->_pad0 = 0;
  v = bpf_map_lookup_elem(&watch_names, nk);
  return v ? ps_watch_hit_set(h, v, PS_WM_NAME) : 0;
}

/* Is the entry called nk->name (filled, NUL-padded) in directory `dir` watched? */
static __always_inline int ps_watch_entry(const struct inode* dir, struct ps_watch_name_key* nk,
                                          struct ps_watch_hit* h) {
  if (!dir) return 0;
  return ps_watch_dir_entry(BPF_CORE_READ(dir, i_ino), BPF_CORE_READ(dir, i_sb, s_dev), NULL, nk,
                            h);
}

/* The inode now at a watched name (after a rename or link onto it) is watched
 * from this moment: userspace's refresh would only learn of it later. */
static __always_inline void ps_watch_mark(const struct inode* inode, __u32 cls) {
  struct ps_watch_key k = {};
  struct ps_watch_val v = {.cls = cls, .flags = PS_WF_OBJECT};
  struct ps_watch_val* cur;
  if (!inode) return;
  k.ino = BPF_CORE_READ(inode, i_ino);
  k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
  /* The class is the name's: an entry left for an earlier inode with this
   * number (inode numbers are reused) must not keep its old class. */
  cur = bpf_map_lookup_elem(&watch_inodes, &k);
  if (cur) v.flags |= cur->flags;
  bpf_map_update_elem(&watch_inodes, &k, &v, BPF_ANY);
}

/* A watched inode that a rename or unlink just freed: forget it now, before
 * its number is reused by an unrelated file. */
static __always_inline void ps_watch_forget(const struct ps_inode_state* s) {
  struct ps_watch_key k = {.ino = s->ino, .dev = s->dev};
  bpf_map_delete_elem(&watch_inodes, &k);
}

/* Object watched by inode, or as an entry of its parent directory. */
static __always_inline int ps_watch_dentry(const struct dentry* d, struct ps_watch_hit* h) {
  const struct inode* inode;
  const struct inode* dir;
  if (!d) return 0;
  inode = BPF_CORE_READ(d, d_inode);
  if (inode && ps_watch_id(BPF_CORE_READ(inode, i_ino), BPF_CORE_READ(inode, i_sb, s_dev), h))
    return 1;
  dir = BPF_CORE_READ(d, d_parent, d_inode);
  if (!dir) return 0;
  return ps_watch_dir_entry(BPF_CORE_READ(dir, i_ino), BPF_CORE_READ(dir, i_sb, s_dev), d, NULL, h);
}

/* ps_watch_dentry for an object whose inode state was just read: its identity
 * and its device are known, so only the parent's inode number is read (the
 * directory is on the same file system; a mount root is its own parent). */
static __always_inline int ps_watch_known(const struct dentry* d, const struct ps_inode_state* s,
                                          struct ps_watch_hit* h) {
  if (ps_watch_id(s->ino, s->dev, h)) return 1;
  return ps_watch_dir_entry(BPF_CORE_READ(d, d_parent, d_inode, i_ino), s->dev, d, NULL, h);
}

/* The last two components of lkbuf.path, found by one pass over its bytes. */
struct ps_comps {
  __u32 len;
  __u32 cur, cur_len;
  __u32 last, last_len;
  __u32 prev, prev_len;
  __u32 _pad0;
  struct ps_watch_name_key nk; /* ps_check_name's key (off the stack) */
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_comps);
} comps SEC(".maps") __weak;

static long ps_comp_step(__u32 i, void* arg) {
  struct ps_comps* c;
  struct ps_lkbuf* b;
  __u32 zero = 0;
  char ch;

  b = bpf_map_lookup_elem(&lkbuf, &zero);
  c = bpf_map_lookup_elem(&comps, &zero);
  if (!b || !c) return 1;
  ch = i < c->len ? b->path[i & PS_LK_PMASK] : '/';
  if (ch == '/') {
    if (c->cur_len) {
      c->prev = c->last;
      c->prev_len = c->last_len;
      c->last = c->cur;
      c->last_len = c->cur_len;
      c->cur_len = 0;
    }
    return i >= c->len;
  }
  if (!c->cur_len) c->cur = i;
  c->cur_len++;
  return 0;
}

/* lkbuf.path[start, start + len) as a NUL-padded key; 0 when it cannot be a
 * watched name (empty or too long). */
static __always_inline int ps_name_key(__u32 start, __u32 len, char* key) {
  struct ps_lkbuf* b;
  __u32 zero = 0;

  __builtin_memset(key, 0, PS_WATCH_NAME_LEN);
  if (len == 0 || len > PS_WATCH_NAME_LEN - 2) return 0;
  b = bpf_map_lookup_elem(&lkbuf, &zero);
  if (!b) return 0;
  bpf_probe_read_kernel(key, len & (PS_WATCH_NAME_LEN - 1), b->path + (start & PS_LK_PMASK));
  return 1;
}

static __always_inline __u32 ps_filter(__u32 start, __u32 len, struct ps_watch_name_key* nk) {
  __u32* v;
  if (!ps_name_key(start, len, nk->name)) return 0;
  v = bpf_map_lookup_elem(&watch_filter, nk->name);
  return v ? *v : 0;
}

/* Look up a path (user or kernel memory) from its dirfd (AT_FDCWD: the cwd). */
static __always_inline struct ps_lookup* ps_lookup_path(__u64 ptr, int kernel, long dirfd,
                                                        int follow) {
  struct path* base = NULL;
  struct inode* binode = NULL;
  struct ps_lkbuf* b;
  __u32 zero = 0;
  long len;

  len = ps_lk_load((const void*)ptr, kernel);
  b = bpf_map_lookup_elem(&lkbuf, &zero);
  if (len <= 0 || !b) return NULL;
  if (b->path[0] != '/' && ps_object(dirfd, &base, &binode) != 0) return NULL;
  return ps_lookup(base, len, follow);
}

/* What ps_check_name found out about a name. */
struct ps_name_check {
  struct ps_watch_hit hit;
  struct ps_inode_state before; /* the object the name holds now, when have_before */
  __u64 wparent, wparent_mnt;   /* the directory holding the name, when known */
  __u32 have_before;
  __u32 lk_flags; /* PS_LK_* of the lookup, when one ran */
};

/*
 * A name operation's path (rename/link/symlink/unlink): is the name watched, or
 * the object it names? With `gate`, a string filter on the last two components
 * decides whether the dcache lookup is worth it (the syscall path, where most
 * renames and unlinks are unrelated); identity decides the answer. A name the
 * filter knows but the lookup cannot verify is reported as unverified.
 */
static __noinline int ps_check_name(__u64 ptr, int kernel, long dirfd, int follow, int gate,
                                    struct ps_name_check* out) {
  struct ps_watch_name_key* nk;
  struct ps_comps* c;
  struct ps_lookup* l;
  struct path* base = NULL;
  struct inode* binode = NULL;
  struct ps_lkbuf* b;
  __u32 zero = 0, fl, fp;
  long len;

  if (!out) return 0;
  len = ps_lk_load((const void*)ptr, kernel);
  b = bpf_map_lookup_elem(&lkbuf, &zero);
  c = bpf_map_lookup_elem(&comps, &zero);
  if (len <= 0 || !b || !c) return 0;
  __builtin_memset(c, 0, sizeof(*c));
  c->len = len;
  bpf_loop(len + 1, ps_comp_step, NULL, 0);
  if (b->path[0] != '/' && ps_object(dirfd, &base, &binode) != 0) return 0;

  nk = &c->nk;
  fl = ps_filter(c->last, c->last_len, nk);
  fp = c->prev_len ? ps_filter(c->prev, c->prev_len, nk) : 0;
  if (!gate || (fl & PS_NF_LAST) || (fp & PS_NF_DIR)) {
    l = ps_lookup(base, len, follow);
    if (!l) return 0;
    struct dentry* found = (struct dentry*)l->found;
    struct dentry* parent = (struct dentry*)l->parent;
    if (found) {
      struct inode* inode = BPF_CORE_READ(found, d_inode);
      if (!ps_watch_dentry(found, &out->hit)) return 0;
      ps_read_inode(inode, &out->before);
      out->have_before = 1;
    } else if (parent && !(l->flags & PS_LK_UNRESOLVED)) {
      /* The name does not exist (yet): is it a watched name there? */
      ps_name_key(c->last, c->last_len, nk->name);
      if (!ps_watch_entry(BPF_CORE_READ(parent, d_inode), nk, &out->hit)) return 0;
    } else if ((fl & PS_NF_LAST) || (fp & PS_NF_DIR)) {
      out->hit.cls = (__u32)-1;
      out->hit.how = PS_WM_UNVERIFIED;
    } else {
      return 0;
    }
    out->lk_flags = l->flags;
    out->wparent = l->parent;
    out->wparent_mnt = l->parent_mnt;
    return 1;
  }
  if (c->prev_len == 0 && base && binode) {
    /* A bare name: its directory is the cwd or the dirfd, known by identity. */
    ps_name_key(c->last, c->last_len, nk->name);
    if (!ps_watch_entry(binode, nk, &out->hit)) return 0;
    out->wparent = (__u64)BPF_CORE_READ(base, dentry);
    out->wparent_mnt = (__u64)BPF_CORE_READ(base, mnt);
    /* Watched: worth one directory scan for the object's state. */
    l = ps_lookup(base, len, follow);
    if (l) {
      struct dentry* found = (struct dentry*)l->found;
      out->lk_flags = l->flags;
      if (found) {
        ps_read_inode(BPF_CORE_READ(found, d_inode), &out->before);
        out->have_before = 1;
      }
    }
    return 1;
  }
  return 0;
}

#endif /* PERMSENTRY_BPF_WATCH_H_ */
