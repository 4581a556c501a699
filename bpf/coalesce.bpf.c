// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: the coalescing tables' flush (coalesce.bpf.h), on no kernel
 * hook. Userspace runs it on each CPU in turn (BPF_PROG_TEST_RUN with
 * BPF_F_TEST_RUN_ON_CPU) every tick: for each slot whose repeats are due (the
 * window has passed since the first unreported one, or the record has gone
 * quiet), it sends a PS_EV_REPEATS record and, once quiet, frees the slot.
 * With flush_all set (at stop) every count goes out and every slot is freed.
 * Returns 1 when something is left for the next run (the table was in use, or
 * the ring was full), else 0.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tp")
int ps_coalesce_flush(void* ctx) {
  struct ps_coalesce_conf* conf = ps_coalesce_settings();
  struct ps_coalesce_cpu* t = ps_coalesce_table();
  int left = 0;
  if (!conf || !t) return 0;
  if (t->busy) return 1;
  const __u64 now = bpf_ktime_get_boot_ns();
  const __u64 window = conf->window_ns;
  const __u32 all = conf->flush_all;
  for (__u32 i = 0; i < PS_COALESCE_SLOTS; i++) {
    struct ps_coalesce_slot* s = &t->slot[i];
    if (s->id == 0) continue;
    const int quiet = all || now < s->last_ns || now - s->last_ns > window;
    if (s->repeats != 0) {
      if (!quiet && now - s->first_ns < window) continue;
      if (ps_repeats_out(s, now, quiet) != 0) {
        left = 1;
        continue;
      }
      s->repeats = 0;
    }
    if (quiet) s->id = 0;
  }
  return left;
}
