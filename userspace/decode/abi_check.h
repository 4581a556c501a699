// Compile-time proof that the C++ side reads the kernel's records with the layout
// the BPF side writes (include/permsentry/abi/events.h). Any drift fails the build.
#ifndef PERMSENTRY_DECODE_ABI_CHECK_H_
#define PERMSENTRY_DECODE_ABI_CHECK_H_

#include <cstddef>

#include "permsentry/abi/events.h"

static_assert(sizeof(ps_event_header) == 16);
static_assert(offsetof(ps_event_header, abi_version) == 0);
static_assert(offsetof(ps_event_header, type) == 2);
static_assert(offsetof(ps_event_header, size) == 4);
static_assert(offsetof(ps_event_header, ktime) == 8);

static_assert(sizeof(ps_process) == 72);
static_assert(offsetof(ps_process, start_time) == 0);
static_assert(offsetof(ps_process, cgroup_id) == 8);
static_assert(offsetof(ps_process, pid) == 16);
static_assert(offsetof(ps_process, loginuid) == 44);
static_assert(offsetof(ps_process, comm) == 56);

static_assert(sizeof(ps_creds) == 56);
static_assert(offsetof(ps_creds, cap_inheritable) == 32);
static_assert(offsetof(ps_creds, cap_effective) == 48);

static_assert(sizeof(ps_inode_state) == 32);
static_assert(offsetof(ps_inode_state, mode) == 12);
static_assert(sizeof(ps_syscall_event) == 384);
static_assert(offsetof(ps_syscall_event, proc) == 16);
static_assert(offsetof(ps_syscall_event, creds_before) == 88);
static_assert(offsetof(ps_syscall_event, creds_after) == 144);
static_assert(offsetof(ps_syscall_event, args) == 200);
static_assert(offsetof(ps_syscall_event, ret) == 248);
static_assert(offsetof(ps_syscall_event, nr) == 256);
static_assert(offsetof(ps_syscall_event, flags) == 260);
static_assert(offsetof(ps_syscall_event, path_len) == 264);
static_assert(offsetof(ps_syscall_event, value_size) == 272);
static_assert(offsetof(ps_syscall_event, before) == 280);
static_assert(offsetof(ps_syscall_event, after) == 312);
static_assert(offsetof(ps_syscall_event, resolved_len) == 344);
static_assert(offsetof(ps_syscall_event, resolve_flags) == 346);
static_assert(offsetof(ps_syscall_event, path2_len) == 348);
static_assert(offsetof(ps_syscall_event, lookup_flags) == 350);
static_assert(offsetof(ps_syscall_event, watch_class) == 352);
static_assert(offsetof(ps_syscall_event, open_flags) == 360);
static_assert(offsetof(ps_syscall_event, proc_flags) == 364);
static_assert(offsetof(ps_syscall_event, ai_session) == 368);
static_assert(offsetof(ps_syscall_event, data) == 384);
static_assert(sizeof(ps_proc_key) == 16);
static_assert(sizeof(ps_proc_info) == 72);
static_assert(offsetof(ps_proc_info, loginuid) == 44);
static_assert(offsetof(ps_proc_info, comm) == 56);
static_assert(sizeof(ps_proc_event) == 120);
static_assert(offsetof(ps_proc_event, key) == 16);
static_assert(offsetof(ps_proc_event, info) == 32);
static_assert(offsetof(ps_proc_event, kind) == 104);
static_assert(offsetof(ps_proc_event, exe_len) == 116);
static_assert(offsetof(ps_proc_event, data) == 120);
static_assert(sizeof(ps_ai_path_val) == 8);
static_assert(sizeof(ps_ai_env_val) == 16);
static_assert(sizeof(ps_watch_key) == 16);
static_assert(sizeof(ps_watch_val) == 8);
static_assert(sizeof(ps_watch_name_key) == 16 + PS_WATCH_NAME_LEN);
static_assert(sizeof(ps_watch_filter_key) == PS_WATCH_NAME_LEN);

static_assert(sizeof(ps_sc_desc) == 24);
static_assert(offsetof(ps_sc_desc, owner_arg) == 16);
static_assert(PS_SYSCALL_EVENT_MAX == 384 + 4096 + 256 + 512 + 4096 + 4096);

#endif  // PERMSENTRY_DECODE_ABI_CHECK_H_
