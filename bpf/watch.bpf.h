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
 * the same inode and cannot slip past. (The tracepoint backend also keeps a
 * string filter in front of its dcache lookup for path-based name operations:
 * watch_name.bpf.h.)
 */
#ifndef PERMSENTRY_BPF_WATCH_H_
#define PERMSENTRY_BPF_WATCH_H_

#include "common.bpf.h"
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

struct ps_watch_hit {
  __u32 cls;
  __u32 how; /* PS_WM_* */
  /* PS_WM_NAME: the watch flags the inode at that name gets (a watched
   * directory's PS_WF_ALL_ENTRIES), for ps_watch_mark */
  __u32 wflags;
  __u32 _pad0;
};

/*
 * Descriptors the startup scan found open for writing on a watched object:
 * opened before the sensor could see the open, so their writes are watched
 * instead (rich backend: bpf/rich_file.bpf.c), by struct file pointer. The
 * inode is kept to recognise a struct file freed and reused for another file.
 */
struct ps_held {
  __u64 inode;   /* the struct inode the file had when found */
  __u64 last_ns; /* the last write reported: at most one a second */
  struct ps_watch_hit hit;
};
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u64);
  __type(value, struct ps_held);
} held_writers SEC(".maps") __weak;
__u32 ps_held_count __weak; /* entries in held_writers: the write hook is attached when > 0 */

/* Keys are built in per-CPU memory, not on the stack: these checks run deep in
 * call chains whose combined stack the verifier limits to 512 bytes. The slack
 * after the key lets "dir/name" be read in at a variable offset. */
struct ps_watch_key_buf {
  struct ps_watch_name_key k;
  char slack[PS_WATCH_NAME_LEN];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_watch_key_buf);
} watch_key SEC(".maps") __weak;

static __always_inline int ps_watch_hit_set(struct ps_watch_hit* h, const struct ps_watch_val* v,
                                            __u32 how) {
  h->cls = v->cls;
  h->how = how;
  h->wflags = 0;
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
    struct ps_watch_key_buf* kb = bpf_map_lookup_elem(&watch_key, &zero);
    if (!kb) return 0;
    nk = &kb->k;
    __builtin_memset(nk->name, 0, sizeof(nk->name));
    bpf_probe_read_kernel_str(nk->name, sizeof(nk->name), BPF_CORE_READ(d, d_name.name));
  }
  if (!nk) return 0;
  nk->dir_ino = dir_ino;
  nk->dir_dev = dir_dev;
  nk->_pad0 = 0;
  v = bpf_map_lookup_elem(&watch_names, nk);
  if (!v) return 0;
  ps_watch_hit_set(h, v, PS_WM_NAME);
  h->wflags = v->flags;
  return 1;
}

/* Is the entry called nk->name (filled, NUL-padded) in directory `dir` watched? */
static __always_inline int ps_watch_entry(const struct inode* dir, struct ps_watch_name_key* nk,
                                          struct ps_watch_hit* h) {
  if (!dir) return 0;
  return ps_watch_dir_entry(BPF_CORE_READ(dir, i_ino), BPF_CORE_READ(dir, i_sb, s_dev), NULL, nk,
                            h);
}

/* The inode now at a watched name (after a rename or link onto it) is watched
 * from this moment, as fully as the name says (a directory put back at a
 * watched directory's name watches every entry again): userspace's refresh
 * would only learn of it later. */
static __always_inline void ps_watch_mark(const struct inode* inode, const struct ps_watch_hit* h) {
  struct ps_watch_key k = {};
  struct ps_watch_val v = {
      .cls = h->cls,
      .flags = PS_WF_OBJECT | (h->how & PS_WM_NAME ? h->wflags & PS_WF_ALL_ENTRIES : 0)};
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

/*
 * An entry of a directory the watch list does not know (made or moved in after
 * the last refresh: `mkdir ~/.ssh`, or a replacement for a watched directory
 * moved away) is still watched when the directory's parent, by the
 * directory's name, says so: "dirname/" (every entry) or "dirname/name" in
 * watch_names under the grandparent. One lookup (the grandparent's inode) for
 * any other file. A global function: verified once.
 */
__weak __noinline int ps_watch_subname(__u64 parent, __u64 name, __u32 dev,
                                       struct ps_watch_hit* h) {
  /* The entry's parent dentry and name arrive as numbers (read by the caller):
   * a global function takes no typed kernel pointer. */
  const struct dentry* dir = (const struct dentry*)parent;
  const struct dentry* gp = BPF_CORE_READ(dir, d_parent);
  struct ps_watch_key k = {.dev = dev};
  struct ps_watch_val* v;
  __u32 zero = 0;
  long n, m;
  if (!h || !dir || !gp || dir == gp) return 0;
  k.ino = BPF_CORE_READ(gp, d_inode, i_ino);
  v = bpf_map_lookup_elem(&watch_inodes, &k);
  if (!v || !(v->flags & PS_WF_SUBNAMES)) return 0;
  struct ps_watch_key_buf* kb = bpf_map_lookup_elem(&watch_key, &zero);
  if (!kb) return 0;
  __builtin_memset(kb->k.name, 0, sizeof(kb->k.name));
  kb->k.dir_ino = k.ino;
  kb->k.dir_dev = dev;
  kb->k._pad0 = 0;
  n = bpf_probe_read_kernel_str(kb->k.name, PS_WATCH_NAME_LEN - 2, BPF_CORE_READ(dir, d_name.name));
  if (n <= 1) return 0;
  n -= 1; /* the directory name's length */
  kb->k.name[n & (PS_WATCH_NAME_LEN - 1)] = '/';
  v = bpf_map_lookup_elem(&watch_names, &kb->k);
  if (v) {
    h->cls = v->cls;
    h->how = PS_WM_DIR_ENTRY;
    h->wflags = 0;
    return 1;
  }
  n += 1;
  m = bpf_probe_read_kernel_str((char*)kb->k.name + (n & (PS_WATCH_NAME_LEN - 1)),
                                PS_WATCH_NAME_LEN, (const void*)name);
  if (m <= 1 || n + m > PS_WATCH_NAME_LEN - 1) return 0; /* longer than any key */
  v = bpf_map_lookup_elem(&watch_names, &kb->k);
  if (!v) return 0;
  h->cls = v->cls;
  h->how = PS_WM_NAME;
  h->wflags = v->flags;
  return 1;
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
  const __u32 dev = BPF_CORE_READ(dir, i_sb, s_dev);
  if (ps_watch_dir_entry(BPF_CORE_READ(dir, i_ino), dev, d, NULL, h)) return 1;
  return ps_watch_subname((__u64)BPF_CORE_READ(d, d_parent), (__u64)BPF_CORE_READ(d, d_name.name),
                          dev, h);
}

/* ps_watch_dentry for an object whose inode state was just read: its identity
 * and its device are known, so only the parent's inode number is read (the
 * directory is on the same file system; a mount root is its own parent). */
static __always_inline int ps_watch_known(const struct dentry* d, const struct ps_inode_state* s,
                                          struct ps_watch_hit* h) {
  if (ps_watch_id(s->ino, s->dev, h)) return 1;
  if (ps_watch_dir_entry(BPF_CORE_READ(d, d_parent, d_inode, i_ino), s->dev, d, NULL, h)) return 1;
  return ps_watch_subname((__u64)BPF_CORE_READ(d, d_parent), (__u64)BPF_CORE_READ(d, d_name.name),
                          s->dev, h);
}

#endif /* PERMSENTRY_BPF_WATCH_H_ */
