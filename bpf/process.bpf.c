// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hook family: process lifecycle (sched_process_fork / exec / exit, and a task
 * iterator that seeds the table at startup).
 *
 * Keeps the process table (`procs`, common.bpf.h) and recognises AI agents at
 * exec. Attribution must be decided here, not in userspace at event time:
 * sudo and `env -i` strip the markers an agent sets, setsid and double forks
 * reparent to init, and a process forks faster than userspace can react. So
 *   fork: the child copies its parent's AI session (and IDE flag);
 *   exec: a process not yet in a session is checked against the signatures
 *         userspace loaded (ai_paths, ai_env): the executable's path, argv[1]
 *         when the executable is a launcher (node, python, bun), and the
 *         environment. A match makes it the root of a new session, and the
 *         exec record goes to the wakeup ring ahead of anything it does;
 *   exit: when the whole thread group is gone, the entry is deleted (userspace
 *         keeps its own copy a while for late events).
 * Fork and exit records go to the bulk ring: userspace needs them for the
 * ancestry of later events, not at once.
 */
#include "common.bpf.h"
#include "path.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Agent executables, scripts and launchers by suffix hash (ps_sfx_step). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u64);
  __type(value, struct ps_ai_path_val);
} ai_paths SEC(".maps");

/* Environment markers by the FNV-1a hash of the variable's name. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u64);
  __type(value, struct ps_ai_env_val);
} ai_env SEC(".maps");

#define PS_ENV_BUF 4096
#define PS_PROC_BUF 1024
_Static_assert(sizeof(struct ps_proc_event) + PS_PROC_TEXT_OFF + PS_AI_TEXT_MAX <= PS_PROC_BUF,
               "proc record does not fit its buffer");

/* Suffix matching of a path held in the record buffer, right to left: at each
 * component boundary the hash of the components seen so far is looked up, and
 * so is the same suffix with its last component replaced by "*". */
struct ps_sfx {
  __u64 h, h2;
  __u32 base, len;
  __u32 boundaries;
  __u32 sig;
  __u32 found;    /* an agent signature matched */
  __u32 launcher; /* the last component is a launcher */
};

/* Environment scan: one step per byte of a variable's name (and of a value
 * that must be compared), reading one variable at a time. */
struct ps_envscan {
  __u64 ptr, end;
  __u64 h, nh; /* running hash; the name's hash */
  struct ps_ai_env_val want;
  __u32 j, n;  /* byte index in the variable; its length with the NUL */
  __u32 phase; /* 0: read the next variable, 1: its name, 2: its value */
  __u32 vars;
  __u32 name_len;
  __u32 kind, sig; /* what matched: enum ps_ai_env_kind, signature */
  __u32 ide;
  __u32 text_len;
  __u32 generic; /* a generic marker (AI_AGENT=NAME) matched; a specific one may follow */
};

/* Per-CPU room for one lifecycle record and one environment variable. Not the
 * syscall scratch: exec can run while a syscall event is half built. */
struct ps_proc_scratch {
  __u8 rec[PS_PROC_BUF];
  __u8 env[PS_ENV_BUF];
  /* The loops' state lives here, not on the stack: the verifier then does not
   * track its values precisely, and the loops verify once instead of once per
   * reachable value of their counters. */
  struct ps_sfx sfx;
  struct ps_envscan scan;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ps_proc_scratch);
} proc_scratch SEC(".maps");

#define PS_ENV_MAX_STEPS 8192 /* variables, and bytes of values compared, per exec */
#define PS_ENV_MAX_VARS 256
#define PS_ENV_NAME_MAX 64 /* longer names are no marker */

static __always_inline void ps_task_key(struct task_struct* t, struct ps_proc_key* k) {
  k->tgid = t->tgid;
  k->_pad0 = 0;
  k->start = t->group_leader->start_boottime;
}

/* The identity fields of a table entry, from task t now. */
static __always_inline void ps_identity(struct ps_proc_info* info, struct task_struct* t) {
  ps_audit_ids(t, &info->loginuid, &info->sessionid);
  info->tty = ps_tty(t);
  __builtin_memcpy(info->comm, (const void*)t->comm, PS_COMM_LEN);
}

/* Fill a lifecycle record's fixed part for task t. */
static __always_inline void ps_proc_record(struct ps_proc_event* ev, struct task_struct* t,
                                           const struct ps_proc_key* k,
                                           const struct ps_proc_info* info, __u32 kind) {
  const struct cred* cred = t->cred;
  ev->hdr.abi_version = PS_ABI_VERSION;
  ev->hdr.type = PS_EV_PROC;
  ev->hdr.ktime = bpf_ktime_get_boot_ns();
  ev->key = *k;
  ev->info = *info;
  ev->kind = kind;
  ev->uid = cred->uid.val;
  ev->euid = cred->euid.val;
  ev->exe_len = 0;
  ev->text_len = 0;
  ev->args_len = 0;
  ev->args_flags = 0;
  ev->_pad0 = 0;
}

static __always_inline void ps_proc_output(struct ps_proc_event* ev, __u32 size, int urgent) {
  size &= PS_PROC_BUF - 1;
  if (size < sizeof(*ev)) return;
  ev->hdr.size = size;
  if (urgent) {
    if (bpf_ringbuf_output(&events_urgent, ev, size, 0) == 0) {
      ps_count(PS_STAT_EVENTS_URGENT);
      return;
    }
    ps_count(PS_STAT_LOST_URGENT);
  }
  if (bpf_ringbuf_output(&events_bulk, ev, size, BPF_RB_NO_WAKEUP) == 0)
    ps_count(PS_STAT_EVENTS_BULK);
  else
    ps_count(PS_STAT_LOST_BULK);
}

/* ---------------------------------------------------------------- fork */

/* A child made with credentials its parent does not hold: the child is the
 * process, its parent's credentials the before, its own the after; the
 * syscall is the parent's (clone, clone3). An alert candidate when the parent
 * is in an AI session, like any credential change. */
static __always_inline void ps_fork_creds(struct task_struct* parent, struct task_struct* child,
                                          const struct ps_proc_info* info) {
  struct ps_op_event* ev = ps_op_start(PS_OP_CREDS, PS_HOOK_FORK);
  if (!ev) return;
  ps_fill_task(&ev->proc, child);
  ev->proc.cgroup_id = bpf_get_current_cgroup_id(); /* inherited from the parent */
  ev->proc.tty = info->tty;
  ev->proc_flags = info->flags;
  ev->ai_session = info->session;
  ps_caller_context(ev);
  ps_creds_of(parent->real_cred, &ev->creds_before);
  ps_creds_of(child->real_cred, &ev->creds_after);
  ev->flags |= PS_OF_CREDS;
  ev->result = PS_RESULT_OK;
  ps_emit(0, info->session.tgid != 0);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ps_fork, struct task_struct* parent, struct task_struct* child) {
  struct ps_proc_key ck, pk;
  struct ps_proc_info info = {};
  __u32 zero = 0;

  /* New threads share their process's entry; kernel threads are not tracked. */
  if (child->pid != child->tgid || (child->flags & PS_PF_KTHREAD)) return 0;
  ck.tgid = child->tgid;
  ck._pad0 = 0;
  ck.start = child->start_boottime;
  ps_task_key(parent, &pk);

  struct ps_proc_info* p = bpf_map_lookup_elem(&procs, &pk);
  info.parent = pk;
  if (p) {
    info.session = p->session;
    info.flags = p->flags & PS_PF_INHERIT;
  } else {
    info.flags = PS_PF_NO_PARENT;
  }
  ps_identity(&info, child);
  if (bpf_map_update_elem(&procs, &ck, &info, BPF_ANY) != 0) ps_count(PS_STAT_PROC_FULL);

  struct ps_proc_scratch* sb = bpf_map_lookup_elem(&proc_scratch, &zero);
  if (!sb) return 0;
  struct ps_proc_event* ev = (struct ps_proc_event*)sb->rec;
  ps_proc_record(ev, child, &ck, &info, PS_PROC_FORK);
  ps_proc_output(ev, sizeof(*ev), 0);

  /* clone(CLONE_NEWUSER) gives the child a new user namespace, and every
   * capability in it, without a commit_creds or a credential call of its own:
   * the fork is the only place it shows (after the fork record, which the
   * child's ancestry needs). */
  const struct cred* pc = parent->real_cred;
  const struct cred* cc = child->real_cred;
  if (pc && cc && pc->user_ns != cc->user_ns) ps_fork_creds(parent, child, &info);
  return 0;
}

/* ---------------------------------------------------------------- exit */

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ps_exit, struct task_struct* t) {
  struct ps_proc_key k;
  __u32 zero = 0;

  /* Only when the last thread of the group goes (signal->live drops to 0
   * before this tracepoint). */
  if (t->signal->live.counter != 0 || (t->flags & PS_PF_KTHREAD)) return 0;
  ps_task_key(t, &k);
  struct ps_proc_info* info = bpf_map_lookup_elem(&procs, &k);
  if (!info) {
    ps_count(PS_STAT_PROC_MISSING);
    return 0;
  }
  struct ps_proc_scratch* sb = bpf_map_lookup_elem(&proc_scratch, &zero);
  if (sb) {
    struct ps_proc_event* ev = (struct ps_proc_event*)sb->rec;
    ps_proc_record(ev, t, &k, info, PS_PROC_EXIT);
    ps_proc_output(ev, sizeof(*ev), 0);
  }
  bpf_map_delete_elem(&procs, &k);
  return 0;
}

/* ---------------------------------------------------------------- exec */

static __always_inline int ps_sfx_check(struct ps_sfx* s, __u64 h, int basename) {
  struct ps_ai_path_val* v = bpf_map_lookup_elem(&ai_paths, &h);
  if (!v) return 0;
  if (basename && (v->flags & PS_AIP_LAUNCHER)) s->launcher = 1;
  if (v->flags & PS_AIP_AGENT) {
    s->sig = v->sig;
    s->found = 1;
    return 1;
  }
  return 0;
}

static long ps_sfx_step_cb(__u32 i, void* unused) {
  __u32 zero = 0;
  struct ps_proc_scratch* sb = bpf_map_lookup_elem(&proc_scratch, &zero);
  if (!sb) return 1;
  struct ps_sfx* s = &sb->sfx;
  if (i >= s->len) return 1;
  const __u32 pos = s->base + s->len - 1 - i;
  const __u8 c = sb->rec[pos & (PS_PROC_BUF - 1)];
  const int last = i + 1 == s->len;

  if (c != '/') {
    s->h = ps_sfx_step(s->h, c);
    if (s->boundaries) s->h2 = ps_sfx_step(s->h2, c);
  }
  if (c == '/' || last) {
    if (ps_sfx_check(s, s->h, s->boundaries == 0)) return 1;
    if (s->boundaries && ps_sfx_check(s, s->h2, 0)) return 1;
    if (c == '/') {
      if (!s->boundaries) s->h2 = ps_sfx_step(PS_FNV_OFFSET, '*');
      s->boundaries++;
      s->h = ps_sfx_step(s->h, '/');
      s->h2 = ps_sfx_step(s->h2, '/');
    }
  }
  return 0;
}

/* Match rec[base, base+len) against ai_paths. Returns the signature index, or
 * -1; *launcher says whether its last component is a launcher. */
__noinline int ps_match_path(__u32 base, __u32 len, __u32* launcher) {
  __u32 zero = 0;
  if (!launcher) return -1;
  *launcher = 0;
  if (len == 0 || len > PS_EXE_MAX) return -1;
  struct ps_proc_scratch* sb = bpf_map_lookup_elem(&proc_scratch, &zero);
  if (!sb) return -1;
  struct ps_sfx* s = &sb->sfx;
  __builtin_memset(s, 0, sizeof(*s));
  s->h = PS_FNV_OFFSET;
  s->h2 = PS_FNV_OFFSET;
  s->base = base;
  s->len = len;
  bpf_loop(PS_EXE_MAX, ps_sfx_step_cb, NULL, 0);
  sb = bpf_map_lookup_elem(&proc_scratch, &zero);
  if (!sb) return -1;
  *launcher = sb->sfx.launcher;
  return sb->sfx.found ? (int)sb->sfx.sig : -1;
}

/* A marker matched: IDE markers only set a flag; an agent's ends the scan with
 * the variable copied into the record as evidence. */
static __always_inline long ps_env_matched(struct ps_envscan* s, struct ps_proc_scratch* sb) {
  if (s->want.kind == PS_AIE_IDE) {
    s->ide = 1;
    s->phase = 0;
    s->ptr += s->n;
    return 0;
  }
  /* A generic marker names an agent nobody listed: kept, and the scan goes
   * on, since an agent's own marker later in the environment says more. */
  const int generic = s->want.sig == PS_AI_SIG_GENERIC;
  if (generic && s->generic) {
    s->phase = 0;
    s->ptr += s->n;
    return 0;
  }
  __u32 len = s->n - 1;
  if (len > PS_AI_TEXT_MAX - 1) len = PS_AI_TEXT_MAX - 1;
  asm volatile("" : "+r"(len));
  len &= PS_AI_TEXT_MAX - 1;
  struct ps_proc_event* ev = (struct ps_proc_event*)sb->rec;
  if (len > 0) bpf_probe_read_kernel(ev->data + PS_PROC_TEXT_OFF, len, sb->env);
  s->text_len = len;
  s->kind = s->want.kind;
  s->sig = s->want.sig;
  if (generic) {
    s->generic = 1;
    s->phase = 0;
    s->ptr += s->n;
    return 0;
  }
  return 1;
}

static long ps_env_step_cb(__u32 i, void* unused) {
  __u32 zero = 0;
  struct ps_proc_scratch* sb = bpf_map_lookup_elem(&proc_scratch, &zero);
  if (!sb) return 1;
  struct ps_envscan* s = &sb->scan;

  if (s->phase == 0) {
    if (s->vars >= PS_ENV_MAX_VARS || s->ptr >= s->end) return 1;
    long n = bpf_probe_read_user_str(sb->env, PS_ENV_BUF, (const void*)s->ptr);
    /* A variable longer than the buffer hides where the next one starts. */
    if (n <= 0 || n >= PS_ENV_BUF) return 1;
    s->n = (__u32)n;
    s->vars++;
    s->j = 0;
    s->h = PS_FNV_OFFSET;
    s->phase = 1;
    return 0;
  }
  const __u32 len = s->n - 1; /* without the NUL */
  if (s->phase == 1) {
    /* The whole name in one step (a bounded loop: the index stays below the
     * name limit, so every read is in bounds): one callback per variable, not
     * one per byte, is what keeps exec cheap. */
    __u64 h = PS_FNV_OFFSET;
    __u32 j, eq = PS_ENV_NAME_MAX;
    for (j = 0; j < PS_ENV_NAME_MAX; j++) {
      if (j >= len) break;
      const __u8 c = sb->env[j];
      if (c == '=') {
        eq = j;
        break;
      }
      h = ps_fnv_step(h, c);
    }
    if (eq >= PS_ENV_NAME_MAX) goto next;
    struct ps_ai_env_val* v = bpf_map_lookup_elem(&ai_env, &h);
    if (!v) goto next;
    s->want = *v;
    s->name_len = eq;
    s->nh = h;
    if (v->value_mode == PS_AIV_ANY) return ps_env_matched(s, sb);
    s->j = eq + 1;
    s->h = PS_FNV_OFFSET;
    s->phase = 2;
    return 0;
  }
  /* phase 2: hash the value (or its prefix) and compare. */
  {
    const __u32 vlen = s->j - s->name_len - 1;
    const int at_end = s->j >= len;
    if (s->want.value_mode == PS_AIV_PREFIX && vlen == s->want.value_len) {
      if (s->h == s->want.value_hash) return ps_env_matched(s, sb);
      goto next;
    }
    if (at_end && s->want.value_mode == PS_AIV_EXACT) {
      __u64 pk = ps_env_pair(s->nh, s->h);
      struct ps_ai_env_val* v = bpf_map_lookup_elem(&ai_env, &pk);
      /* No listed value: the name's own entry may still be a generic marker
       * (AGENT=goose is goose; AGENT=anything-else names that agent). */
      if (!v) {
        if (s->want.kind == PS_AIE_AGENT) return ps_env_matched(s, sb);
        goto next;
      }
      s->want = *v;
      return ps_env_matched(s, sb);
    }
    if (at_end) goto next;
    s->h = ps_fnv_step(s->h, sb->env[s->j & (PS_ENV_BUF - 1)]);
    s->j++;
    return 0;
  }
next:
  s->phase = 0;
  s->ptr += s->n;
  return 0;
}

/* Scan the environment [ptr, end) of the current task. Returns PS_SCAN_*; the
 * matched signature and text length are left in the scratch's scan state. */
#define PS_SCAN_IDE 1
#define PS_SCAN_AGENT 2
#define PS_SCAN_DECLARED 4
__noinline int ps_scan_env(__u64 ptr, __u64 end) {
  __u32 zero = 0;
  struct ps_proc_scratch* sb = bpf_map_lookup_elem(&proc_scratch, &zero);
  if (!sb) return 0;
  __builtin_memset(&sb->scan, 0, sizeof(sb->scan));
  sb->scan.ptr = ptr;
  sb->scan.end = end;
  bpf_loop(PS_ENV_MAX_STEPS, ps_env_step_cb, NULL, 0);
  sb = bpf_map_lookup_elem(&proc_scratch, &zero);
  if (!sb) return 0;
  int r = sb->scan.ide ? PS_SCAN_IDE : 0;
  if (sb->scan.kind == PS_AIE_AGENT) r |= PS_SCAN_AGENT;
  if (sb->scan.kind == PS_AIE_DECLARED) r |= PS_SCAN_DECLARED;
  return r;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ps_exec, struct task_struct* t, pid_t old_pid, struct linux_binprm* bprm) {
  struct ps_proc_key k;
  __u32 zero = 0, launcher = 0;
  int sig = -1, urgent = 0; /* sig: index into agents, or -1; see `signal` */
  __u32 signal = PS_SIGNAL_NONE;

  ps_task_key(t, &k);
  struct ps_proc_info* info = bpf_map_lookup_elem(&procs, &k);
  if (!info) {
    /* Forked before the sensor attached and not seeded yet: enter it now,
     * under its current parent. */
    struct ps_proc_info fresh = {};
    struct task_struct* rp = t->real_parent;
    ps_task_key(rp, &fresh.parent);
    struct ps_proc_info* p = bpf_map_lookup_elem(&procs, &fresh.parent);
    if (p) {
      fresh.session = p->session;
      fresh.flags = p->flags & PS_PF_INHERIT;
    }
    fresh.flags |= PS_PF_SEEDED;
    ps_identity(&fresh, t);
    ps_count(PS_STAT_PROC_MISSING);
    if (bpf_map_update_elem(&procs, &k, &fresh, BPF_NOEXIST) != 0) ps_count(PS_STAT_PROC_FULL);
    info = bpf_map_lookup_elem(&procs, &k);
    if (!info) return 0;
  }

  struct ps_proc_scratch* sb = bpf_map_lookup_elem(&proc_scratch, &zero);
  if (!sb) return 0;
  struct ps_proc_event* ev = (struct ps_proc_event*)sb->rec;
  long n = bpf_probe_read_kernel_str(ev->data, PS_EXE_MAX, bprm->filename);
  __u32 exe_len = n > 1 ? (__u32)(n - 1) : 0;
  __u32 text_len = 0;

  /* A process may start a session when it is in none, or in a human's
   * declared `--assisted-by` session: an agent the human then runs is an
   * agent's session of its own (the declaration itself, inherited in the
   * environment, does not start a new one). */
  int in_assisted = 0;
  if (info->session.tgid != 0) {
    struct ps_proc_info* root = bpf_map_lookup_elem(&procs, &info->session);
    in_assisted = root && root->signal == PS_SIGNAL_DECLARED && root->sig == PS_AI_SIG_ASSISTED;
  }
  if (info->session.tgid == 0 || in_assisted) {
    /* 1. The executable's path. */
    sig = ps_match_path(offsetof(struct ps_proc_event, data), exe_len, &launcher);
    if (sig >= 0) signal = PS_SIGNAL_EXE;

    struct mm_struct* mm = t->mm;
    /* 2. A launcher's script: argv[1]. */
    if (sig < 0 && launcher && mm) {
      __u64 arg = mm->arg_start, arg_end = mm->arg_end;
      long a0 = bpf_probe_read_user_str(sb->env, PS_ENV_BUF, (const void*)arg);
      if (a0 > 0 && arg + a0 < arg_end) {
        long a1 = bpf_probe_read_user_str(ev->data + PS_PROC_TEXT_OFF, PS_AI_TEXT_MAX,
                                          (const void*)(arg + a0));
        if (a1 > 1) {
          __u32 unused;
          text_len = (__u32)(a1 - 1);
          sig = ps_match_path(offsetof(struct ps_proc_event, data) + PS_PROC_TEXT_OFF, text_len,
                              &unused);
          if (sig >= 0)
            signal = PS_SIGNAL_SCRIPT;
          else
            text_len = 0;
        }
      }
    }
    /* 3. The environment: markers, and whether it runs in an IDE terminal
     * (asked of a recognised agent too: an agent in an IDE makes the IDE's
     * other terminals "assisted"). */
    if (mm) {
      int r = ps_scan_env(mm->env_start, mm->env_end);
      if (r & PS_SCAN_IDE) info->flags |= PS_PF_IDE;
      if (signal == PS_SIGNAL_NONE && (r & (PS_SCAN_AGENT | PS_SCAN_DECLARED))) {
        sb = bpf_map_lookup_elem(&proc_scratch, &zero);
        if (!sb) return 0;
        ev = (struct ps_proc_event*)sb->rec;
        sig = 0; /* the real index (kDeclaredSig for declared) is set below */
        signal = (r & PS_SCAN_AGENT) ? PS_SIGNAL_ENV : PS_SIGNAL_DECLARED;
        text_len = sb->scan.text_len;
        if (in_assisted && sb->scan.sig == PS_AI_SIG_ASSISTED) {
          signal = PS_SIGNAL_NONE;
          text_len = 0;
        }
      }
    }
    if (signal != PS_SIGNAL_NONE) {
      info->session = k;
      info->flags |= PS_PF_SESSION_ROOT;
      info->sig =
          signal == PS_SIGNAL_ENV || signal == PS_SIGNAL_DECLARED ? sb->scan.sig : (__u32)sig;
      info->signal = signal;
      urgent = 1;
    }
  }

  /* The new program's arguments (what process.args shows), bounded: argv is
   * in the new mm by now. */
  __u32 args_len = 0, args_flags = 0;
  struct mm_struct* mm = t->mm;
  if (mm) {
    const __u64 a = mm->arg_start, e = mm->arg_end;
    __u64 n = e > a ? e - a : 0;
    if (n > PS_ARGS_MAX) {
      n = PS_ARGS_MAX;
      args_flags |= PS_PROC_ARGS_TRUNCATED;
    }
    asm volatile("" : "+r"(n));
    n &= 2 * PS_ARGS_MAX - 1;
    if (n > 0 && n <= PS_ARGS_MAX &&
        bpf_probe_read_user(ev->data + PS_EXE_MAX, (__u32)n, (const void*)a) == 0)
      args_len = (__u32)n;
  }

  ps_identity(info, t); /* the new program's name; ids as they are now */
  ps_proc_record(ev, t, &k, info, PS_PROC_EXEC);
  exe_len &= PS_EXE_MAX - 1;
  text_len &= PS_AI_TEXT_MAX - 1;
  ev->exe_len = exe_len;
  ev->text_len = text_len;
  ev->args_len = args_len;
  ev->args_flags = args_len ? args_flags : 0;
  /* The tail: exe, then (fixed slots once there is more) args, then text. */
  __u32 size = sizeof(*ev) + exe_len;
  if (text_len)
    size = sizeof(*ev) + PS_PROC_TEXT_OFF + text_len;
  else if (args_len)
    size = sizeof(*ev) + PS_EXE_MAX + args_len;
  ps_proc_output(ev, size, urgent);
  return 0;
}

/* ---------------------------------------------------------------- seed */

/* Run once by userspace at startup (after fork/exec/exit are attached): enter
 * every process that already runs, under its current parent. Userspace then
 * checks them against the signatures and spreads sessions to descendants. */
SEC("iter/task")
int ps_seed(struct bpf_iter__task* ctx) {
  struct task_struct* t = ctx->task;
  struct ps_proc_key k;
  struct ps_proc_info info = {};

  if (!t) return 0;
  /* The host's root, which every path is named from (path.bpf.h): init's
   * (pid 1), or where this pid namespace does not show it, kthreadd's (pid 2),
   * whose fs_struct init shared from boot until any chroot of its own. */
  if ((t->pid == 1 || (t->pid == 2 && !ps_host_root_dentry)) && t->fs) {
    ps_host_root_dentry = (__u64)BPF_CORE_READ(t, fs, root.dentry);
    ps_host_root_mnt = (__u64)BPF_CORE_READ(t, fs, root.mnt);
  }
  if (t->pid != t->tgid || (t->flags & PS_PF_KTHREAD)) return 0;
  ps_task_key(t, &k);
  if (bpf_map_lookup_elem(&procs, &k)) return 0;
  ps_task_key(t->real_parent, &info.parent);
  struct ps_proc_info* p = bpf_map_lookup_elem(&procs, &info.parent);
  if (p) {
    info.session = p->session;
    info.flags = p->flags & PS_PF_INHERIT;
  }
  info.flags |= PS_PF_SEEDED;
  ps_identity(&info, t);
  if (bpf_map_update_elem(&procs, &k, &info, BPF_NOEXIST) != 0) ps_count(PS_STAT_PROC_FULL);
  return 0;
}
