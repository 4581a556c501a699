/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Lossless coalescing of identical repeats, in the kernel (ps_emit's first
 * step). A storm of the same call on the same object from one process (a
 * chmod loop, a script re-applying an ownership) would otherwise fill the
 * ring with records that differ only in their time; here each CPU keeps a
 * small table of the records it sent lately, and a record identical to one of
 * them (every byte after the header: process, thread, object, operation,
 * result, before and after state, path, arguments) within the window is
 * counted instead of sent. The counts go to userspace as PS_EV_REPEATS records:
 * when a slot is taken by another record (in the same program, before that
 * record), and when userspace runs ps_coalesce_flush on the CPU (every tick,
 * and once with flush_all at stop). A count is never dropped: a repeats record
 * that does not fit in the ring leaves the count in place, and the slot is not
 * given to another record.
 *
 * Alert candidates (the wakeup ring) are never coalesced: each goes out as it
 * happens. Per-CPU tables need no atomics: on one CPU the programs run one at
 * a time, except a program preempted in between, or interrupted by the flush
 * (run on that CPU through an IPI); `busy` makes both of those skip the table
 * (the record is sent, the flush is retried), so neither can tear a slot.
 */
#ifndef PERMSENTRY_BPF_COALESCE_H_
#define PERMSENTRY_BPF_COALESCE_H_

#define PS_COALESCE_SLOTS 64 /* per CPU: 16 sets of 4, the set chosen by the record's hash */
#define PS_COALESCE_WAYS                                                                  \
  4                          /* a loop of a few kinds of call (chmod, chown, xattr...) on \
                              * one file must not evict itself by colliding in one slot */
#define PS_COALESCE_MAX 2048 /* larger records (long paths) are always sent */
_Static_assert((PS_COALESCE_SLOTS & (PS_COALESCE_SLOTS - 1)) == 0, "slots: a power of two");

struct ps_coalesce_slot {
  __u64 hash;
  __u64 id; /* the coalesce_id of the record sent; 0: free */
  /* Compared exactly besides the hash: even a crafted collision cannot make a
   * record pass for one about another object, process or state. */
  __u64 ino;
  __u32 dev;
  __u32 tgid;
  __u32 op_result; /* op << 16 | result << 8 | hook */
  __u32 mode;      /* after.mode (or the mode set) */
  __u32 uid;
  __u32 gid;
  __u64 first_ns; /* first repeat not yet reported */
  __u64 last_ns;  /* the record's or its last repeat's time */
  __u64 repeats;  /* not yet reported */
};

struct ps_coalesce_cpu {
  __u32 busy;
  __u32 pending; /* slot index claimed by the record being sent */
  __u64 pending_hash;
  __u64 seq;
  struct ps_coalesce_slot slot[PS_COALESCE_SLOTS];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_coalesce_cpu);
} coalesce_slots SEC(".maps") __weak;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_coalesce_conf);
} coalesce_conf SEC(".maps") __weak;

static __always_inline struct ps_coalesce_conf* ps_coalesce_settings(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&coalesce_conf, &zero);
}

static __always_inline struct ps_coalesce_cpu* ps_coalesce_table(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&coalesce_slots, &zero);
}

/* Report a slot's pending count (final: and forget the record). 0 when sent. */
static __always_inline int ps_repeats_out(struct ps_coalesce_slot* s, __u64 now, __u32 final) {
  struct ps_repeats_event r = {};
  r.hdr.abi_version = PS_ABI_VERSION;
  r.hdr.type = PS_EV_REPEATS;
  r.hdr.size = sizeof(r);
  r.hdr.ktime = now;
  r.coalesce_id = s->id;
  r.repeats = s->repeats;
  r.first_ktime = s->first_ns;
  r.last_ktime = s->last_ns;
  r.flags = final ? PS_RF_FINAL : 0;
  return bpf_ringbuf_output(&events_bulk, &r, sizeof(r), BPF_RB_NO_WAKEUP) == 0 ? 0 : -1;
}

/* The record's identity: every byte after the header, 8 at a time (FNV-1a
 * over words; the slot's exact fields guard against collisions). */
__weak __noinline __u64 ps_coalesce_hash(__u32 size) {
  struct ps_op_event* ev = ps_scratch_event();
  if (!ev || size > PS_COALESCE_MAX) return 0;
  const __u8* p = (const __u8*)ev;
  __u64 h = 0xcbf29ce484222325ULL;
  __u32 at = sizeof(struct ps_event_header);
  for (__u32 i = 0; i < PS_COALESCE_MAX / 8; i++) {
    if (at + 8 > size) break;
    h = (h ^ *(const __u64*)(p + (at & (PS_COALESCE_MAX - 1)))) * 0x100000001b3ULL;
    at += 8;
  }
  /* The last 1-7 bytes (records are 8-aligned in length only by chance). */
  if (at < size) {
    const __u32 rem = size - at;
    __u64 w = *(const __u64*)(p + (at & (PS_COALESCE_MAX - 1)));
    if (rem < 8) w &= (1ULL << ((rem & 7) * 8)) - 1;
    h = (h ^ w) * 0x100000001b3ULL;
  }
  return (h ^ size) | 1; /* never 0 */
}

static __always_inline void ps_coalesce_fill(struct ps_coalesce_slot* s,
                                             const struct ps_op_event* ev) {
  s->ino = ev->obj.ino;
  s->dev = ev->obj.dev;
  s->tgid = ev->proc.pid;
  s->op_result = ((__u32)ev->op << 16) | ((__u32)ev->result << 8) | ev->hook;
  s->mode = (ev->flags & PS_OF_AFTER) ? ev->after.mode : ev->mode;
  s->uid = (ev->flags & PS_OF_AFTER) ? ev->after.uid : ev->uid;
  s->gid = (ev->flags & PS_OF_AFTER) ? ev->after.gid : ev->gid;
}

static __always_inline int ps_coalesce_same(const struct ps_coalesce_slot* s,
                                            const struct ps_op_event* ev) {
  struct ps_coalesce_slot t = {};
  ps_coalesce_fill(&t, ev);
  return s->ino == t.ino && s->dev == t.dev && s->tgid == t.tgid && s->op_result == t.op_result &&
         s->mode == t.mode && s->uid == t.uid && s->gid == t.gid;
}

#define PS_CO_SEND 0   /* send the record as it is */
#define PS_CO_REPEAT 1 /* counted as a repeat: do not send */
#define PS_CO_CLAIM 2  /* send it with ev->coalesce_id; ps_coalesce_end after */

/* Before a record of `size` bytes (not an alert candidate) is sent. */
__weak __noinline int ps_coalesce_begin(__u32 size) {
  struct ps_coalesce_conf* conf = ps_coalesce_settings();
  if (!conf || conf->window_ns == 0) return PS_CO_SEND;
  struct ps_coalesce_cpu* t = ps_coalesce_table();
  if (!t || t->busy) return PS_CO_SEND;
  const __u64 h = ps_coalesce_hash(size);
  struct ps_op_event* ev = ps_scratch_event();
  if (!ev || h == 0) return PS_CO_SEND;
  t->busy = 1;
  const __u32 set = ((__u32)(h ^ (h >> 32)) * PS_COALESCE_WAYS) & (PS_COALESCE_SLOTS - 1);
  const __u64 now = ev->hdr.ktime;
  /* Its own slot in the set, if it has one; else a free slot, else the one
   * idle longest. */
  __u32 idx = set;
  __u64 oldest = ~0ULL;
  for (__u32 w = 0; w < PS_COALESCE_WAYS; w++) {
    const __u32 i = (set + w) & (PS_COALESCE_SLOTS - 1);
    struct ps_coalesce_slot* c = &t->slot[i];
    if (c->id != 0 && c->hash == h && now >= c->last_ns && now - c->last_ns <= conf->window_ns &&
        ps_coalesce_same(c, ev)) {
      if (c->repeats == 0) c->first_ns = now;
      c->repeats++;
      c->last_ns = now;
      t->busy = 0;
      ps_count(PS_STAT_REPEATS);
      return PS_CO_REPEAT;
    }
    const __u64 age = c->id == 0 ? 0 : c->last_ns + 1;
    if (age < oldest) {
      oldest = age;
      idx = i;
    }
  }
  struct ps_coalesce_slot* s = &t->slot[idx & (PS_COALESCE_SLOTS - 1)];
  /* The slot goes to this record: what its occupant still counts goes first
   * (in the same ring, so before this record). If that does not fit, the
   * occupant keeps the slot and this record goes out unclaimed. */
  if (s->id != 0 && s->repeats != 0 && ps_repeats_out(s, now, 1) != 0) {
    t->busy = 0;
    return PS_CO_SEND;
  }
  s->id = 0;
  s->repeats = 0;
  t->seq++;
  t->pending = idx;
  t->pending_hash = h;
  ev->coalesce_id =
      (t->seq << 24) | ((__u64)(bpf_get_smp_processor_id() & 0xffff) << 8) | (__u64)idx;
  return PS_CO_CLAIM;
}

/* After a claimed record: the slot holds it only if it was sent. */
__weak __noinline int ps_coalesce_end(__u32 sent) {
  struct ps_coalesce_cpu* t = ps_coalesce_table();
  struct ps_op_event* ev = ps_scratch_event();
  if (!t || !ev) return 0;
  if (sent) {
    struct ps_coalesce_slot* s = &t->slot[t->pending & (PS_COALESCE_SLOTS - 1)];
    s->hash = t->pending_hash;
    ps_coalesce_fill(s, ev);
    s->first_ns = 0;
    s->last_ns = ev->hdr.ktime;
    s->repeats = 0;
    s->id = ev->coalesce_id;
  }
  t->busy = 0;
  return 0;
}

#endif /* PERMSENTRY_BPF_COALESCE_H_ */
