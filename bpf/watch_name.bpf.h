/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoint backend only: is a path-based name operation (rename, link,
 * symlink, unlink) about a watched credential file? At sys_enter the kernel has
 * not resolved the path, so the name is looked up in the dcache
 * (lookup.bpf.h), behind a string filter on its last two components: most
 * renames and unlinks on a host are unrelated, and an unfiltered lookup costs
 * microseconds each. Identity (watch.bpf.h) decides the answer.
 */
#ifndef PERMSENTRY_BPF_WATCH_NAME_H_
#define PERMSENTRY_BPF_WATCH_NAME_H_

#include "lookup.bpf.h"
#include "watch.bpf.h"

/* Names worth a dcache lookup (PS_NF_*), filled by userspace from the list. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct ps_watch_filter_key);
  __type(value, __u32);
} watch_filter SEC(".maps") __weak;

/* Names the kernel learned: new names of watched inodes (ps_filter_learn).
 * Apart from userspace's filter, and LRU: links made by the thousand evict
 * each other, never the watch list's own names. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1024);
  __type(key, struct ps_watch_filter_key);
  __type(value, __u32);
} watch_filter_learned SEC(".maps") __weak;

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
  if (!v) v = bpf_map_lookup_elem(&watch_filter_learned, nk->name);
  return v ? *v : 0;
}

/* A watched inode's new name (a hard link, a rename elsewhere) joins the
 * learned names, so that a later unlink or rename of it is looked up: identity
 * then decides, as for every name. A name that becomes unrelated costs a
 * lookup per use until it is evicted, nothing more. `name` is a kernel
 * address, as a number. A global function: verified once. */
__weak __noinline int ps_filter_learn(__u64 name) {
  struct ps_watch_key_buf* kb;
  __u32 zero = 0, v = PS_NF_LAST;
  kb = bpf_map_lookup_elem(&watch_key, &zero);
  if (!kb || !name) return 0;
  __builtin_memset(kb->k.name, 0, sizeof(kb->k.name));
  const long n = bpf_probe_read_kernel_str(kb->k.name, PS_WATCH_NAME_LEN - 1, (const void*)name);
  if (n <= 1 || n > PS_WATCH_NAME_LEN - 2) return 0; /* longer than any key */
  return bpf_map_update_elem(&watch_filter_learned, kb->k.name, &v, BPF_ANY) == 0;
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
  if (len <= 0 || len > PS_PATH_MAX || !b) return NULL;
  /* The argument as read, before the walk splices symlink targets into it. */
  const __u64 h = ps_hash_lkpath(len);
  if (b->path[0] != '/' && ps_object(dirfd, &base, &binode) != 0) return NULL;
  struct ps_lookup* l = ps_lookup(base, len, follow);
  if (l) l->arg_hash = h;
  return l;
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
      const struct inode* pdir = BPF_CORE_READ(parent, d_inode);
      /* Or a watched name in a directory made after the last refresh (a new
       * ~/.ssh), which its own parent holds by name. The name's address goes
       * to the global function as a number: copied through memory, the
       * verifier forgets it is a map pointer. */
      __u64 name_addr = (__u64)nk->name;
      bpf_probe_read_kernel(&name_addr, sizeof(name_addr), &name_addr);
      if (!ps_watch_entry(pdir, nk, &out->hit) &&
          !ps_watch_subname((__u64)parent, name_addr, BPF_CORE_READ(pdir, i_sb, s_dev), &out->hit))
        return 0;
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

#endif /* PERMSENTRY_BPF_WATCH_NAME_H_ */
