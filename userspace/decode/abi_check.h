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

static_assert(sizeof(ps_creds) == 72);
static_assert(offsetof(ps_creds, cap_inheritable) == 32);
static_assert(offsetof(ps_creds, cap_ambient) == 56);
static_assert(offsetof(ps_creds, userns) == 64);

static_assert(sizeof(ps_inode_state) == 32);
static_assert(offsetof(ps_inode_state, mode) == 12);
static_assert(sizeof(ps_object_id) == 16);
static_assert(sizeof(ps_op_event) == 416);
static_assert(offsetof(ps_op_event, coalesce_id) == 408);
static_assert(offsetof(ps_op_event, proc) == 16);
static_assert(offsetof(ps_op_event, op) == 88);
static_assert(offsetof(ps_op_event, hook) == 90);
static_assert(offsetof(ps_op_event, result) == 91);
static_assert(offsetof(ps_op_event, error) == 92);
static_assert(offsetof(ps_op_event, flags) == 96);
static_assert(offsetof(ps_op_event, syscall_nr) == 100);
static_assert(offsetof(ps_op_event, obj) == 104);
static_assert(offsetof(ps_op_event, before) == 120);
static_assert(offsetof(ps_op_event, after) == 152);
static_assert(offsetof(ps_op_event, creds_before) == 184);
static_assert(offsetof(ps_op_event, creds_after) == 256);
static_assert(offsetof(ps_op_event, mode) == 328);
static_assert(offsetof(ps_op_event, value_size) == 352);
static_assert(offsetof(ps_op_event, watch_class) == 356);
static_assert(offsetof(ps_op_event, proc_flags) == 364);
static_assert(offsetof(ps_op_event, ai_session) == 368);
static_assert(offsetof(ps_op_event, path_len) == 384);
static_assert(offsetof(ps_op_event, trailer_len) == 398);
static_assert(sizeof(ps_repeats_event) == 56);
static_assert(offsetof(ps_repeats_event, coalesce_id) == 16);
static_assert(offsetof(ps_repeats_event, repeats) == 24);
static_assert(offsetof(ps_repeats_event, first_ktime) == 32);
static_assert(offsetof(ps_repeats_event, last_ktime) == 40);
static_assert(offsetof(ps_repeats_event, flags) == 48);
static_assert(sizeof(ps_coalesce_conf) == 16);
static_assert(offsetof(ps_op_event, path_root_len) == 400);
static_assert(offsetof(ps_op_event, path2_root_len) == 402);
static_assert(offsetof(ps_op_event, data) == 416);
static_assert(sizeof(ps_sc_trailer) == 72);
static_assert(offsetof(ps_sc_trailer, ret) == 48);
static_assert(offsetof(ps_sc_trailer, flags) == 56);
static_assert(offsetof(ps_sc_trailer, path_len) == 60);
static_assert(offsetof(ps_sc_trailer, lookup_flags) == 64);
static_assert(sizeof(ps_proc_key) == 16);
static_assert(sizeof(ps_proc_info) == 72);
static_assert(offsetof(ps_proc_info, loginuid) == 44);
static_assert(offsetof(ps_proc_info, comm) == 56);
static_assert(sizeof(ps_proc_event) == 128);
static_assert(offsetof(ps_proc_event, key) == 16);
static_assert(offsetof(ps_proc_event, info) == 32);
static_assert(offsetof(ps_proc_event, kind) == 104);
static_assert(offsetof(ps_proc_event, exe_len) == 116);
static_assert(offsetof(ps_proc_event, args_len) == 120);
static_assert(offsetof(ps_proc_event, data) == 128);
static_assert(sizeof(ps_ai_path_val) == 8);
static_assert(sizeof(ps_ai_env_val) == 16);
static_assert(sizeof(ps_watch_key) == 16);
static_assert(sizeof(ps_watch_val) == 8);
static_assert(sizeof(ps_watch_name_key) == 16 + PS_WATCH_NAME_LEN);
static_assert(sizeof(ps_watch_filter_key) == PS_WATCH_NAME_LEN);

static_assert(sizeof(ps_sc_desc) == 24);
static_assert(offsetof(ps_sc_desc, owner_arg) == 16);
static_assert(offsetof(ps_sc_desc, op) == 17);
static_assert(offsetof(ps_sc_desc, xflags_arg) == 18);
static_assert(PS_OP_EVENT_MAX == 416 + 3 * 4096 + 256 + 512 + 72);

#endif  // PERMSENTRY_DECODE_ABI_CHECK_H_
