// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: what was already there when the sensor started. Run once by
 * userspace, after the watch list is in the kernel (both backends).
 *
 *   iter/task_file   every open file of every process: one held open for
 *                    writing on a watched credential file was opened before
 *                    the sensor could see the open, and whoever holds it can
 *                    write it now. Reported as a write-open found by the scan
 *                    (hook PS_HOOK_SCAN), with the holder as the process,
 *                    and kept in held_writers: the rich backend then reports
 *                    the writes made through it.
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "watch.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PS_FMODE_WRITE 0x2 /* file->f_mode: open for writing */

SEC("iter/task_file")
int ps_scan_writers(struct bpf_iter__task_file* ctx) {
  struct task_struct* t = ctx->task;
  struct file* f = ctx->file;
  struct ps_inode_state s = {};
  struct ps_watch_hit hit = {};
  __u32 off = 0;
  if (!t || !f || (t->flags & PS_PF_KTHREAD)) return 0;
  if (!(f->f_mode & PS_FMODE_WRITE)) return 0;
  struct dentry* d = f->f_path.dentry;
  ps_read_inode(f->f_inode, &s);
  if (!ps_watch_known(d, &s, &hit)) return 0;

  struct ps_op_event* ev = ps_op_start(PS_OP_WRITE_OPEN, PS_HOOK_SCAN);
  if (!ev) return 0;
  ev->result = PS_RESULT_OK;
  ps_fill_task(&ev->proc, t);
  ps_fill_ai(ev);
  ev->flags = PS_OF_OPEN | PS_OF_OBJECT | PS_OF_BEFORE | PS_OF_AFTER | PS_OF_WATCHED;
  ev->open_flags = f->f_flags;
  ev->before = s;
  ev->after = s;
  ev->obj.ino = s.ino;
  ev->obj.dev = s.dev;
  ev->obj.mode = s.mode;
  ev->watch_class = hit.cls;
  ev->watch_how = hit.how;
  /* The fd that holds it, where a syscall number would be. */
  ev->syscall_nr = ctx->fd;
  ev->path_flags = PS_PATH_OBJECT;
  ps_put_path(&off, (__u64)BPF_CORE_READ(f, f_path.dentry), (__u64)BPF_CORE_READ(f, f_path.mnt),
              &ev->path_len, &ev->path_flags, &ev->path_root_len);
  ps_emit(off, 1); /* a credential file: alert candidate */

  /* Its writes from now on (rich backend). */
  struct ps_held h = {.inode = (__u64)f->f_inode, .last_ns = 0, .hit = hit};
  __u64 key = (__u64)f;
  if (bpf_map_update_elem(&held_writers, &key, &h, BPF_NOEXIST) == 0)
    __sync_fetch_and_add(&ps_held_count, 1);
  return 0;
}
