#pragma once
// The kernel/userspace ABI (bpf/tracer_abi.h), with its layout pinned: a change
// on either side that moves a field fails the build.

#include <cstddef>

#include "tracer_abi.h"

namespace tracer::abi {

static_assert(sizeof(tracer_task_context) == 120);
static_assert(offsetof(tracer_task_context, cgroup_id) == 32);
static_assert(offsetof(tracer_task_context, container_cgroup_id) == 56);
static_assert(offsetof(tracer_task_context, exec_gen) == 64);
static_assert(offsetof(tracer_task_context, comm) == 72);
static_assert(offsetof(tracer_task_context, euid) == 88);
static_assert(offsetof(tracer_task_context, utsns) == 112);
static_assert(offsetof(tracer_record_header, flags) == 1);
static_assert(sizeof(tracer_record_header) == 136);
static_assert(offsetof(tracer_record_header, boot_ns) == 8);
static_assert(offsetof(tracer_record_header, task) == 16);
static_assert(sizeof(tracer_exec_record) == 272);
static_assert(offsetof(tracer_exec_record, ret) == 136);
static_assert(offsetof(tracer_exec_record, dev) == 152);
static_assert(offsetof(tracer_exec_record, argv_len) == 180);
static_assert(offsetof(tracer_exec_record, pathname_len) == 184);
static_assert(offsetof(tracer_exec_record, cwd_len) == 192);
static_assert(offsetof(tracer_exec_record, host) == 196);
static_assert(offsetof(tracer_exec_record, env_len) == 268);
static_assert(alignof(tracer_exec_record) == 8);
static_assert(sizeof(tracer_fork_record) == 152);
static_assert(sizeof(tracer_exit_record) == 144);
static_assert(sizeof(tracer_syscall_record) == 224);
static_assert(offsetof(tracer_syscall_record, args) == 144);
static_assert(offsetof(tracer_syscall_record, capture_len) == 204);
static_assert(sizeof(tracer_syscall_capture_spec) == 16);
static_assert(sizeof(tracer_process_stats) == 32);
static_assert(sizeof(tracer_user_function_record) == 248);
static_assert(offsetof(tracer_user_function_record, exe_inode) == 232);
static_assert(offsetof(tracer_user_function_record, capture_len) == 204);
static_assert(sizeof(tracer_user_function_spec) == 72);
static_assert(sizeof(tracer_executable_record) == 152);
static_assert(sizeof(tracer_executable_key) == 16);
static_assert(offsetof(tracer_executable_key, dev) == 8);
static_assert(sizeof(tracer_user_call_key) == 8);
static_assert(offsetof(tracer_user_call_key, slot) == 4);
static_assert(sizeof(tracer_user_exe_key) == 16);
static_assert(offsetof(tracer_user_exe_key, slot) == 12);
static_assert(sizeof(tracer_write_capture_record) == 184);
static_assert(offsetof(tracer_write_capture_record, data_len) == 176);
static_assert(sizeof(tracer_mem_capture_record) == 184);
static_assert(offsetof(tracer_mem_capture_record, data_len) == 172);

}  // namespace tracer::abi
