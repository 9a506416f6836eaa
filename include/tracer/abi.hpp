#pragma once
// The kernel/userspace ABI (bpf/tracer_abi.h), with its layout pinned: a change
// on either side that moves a field fails the build.

#include <cstddef>

#include "tracer_abi.h"

namespace tracer::abi {

static_assert(sizeof(tracer_task_context) == 64);
static_assert(offsetof(tracer_task_context, cgroup_id) == 32);
static_assert(offsetof(tracer_task_context, comm) == 48);
static_assert(sizeof(tracer_record_header) == 80);
static_assert(offsetof(tracer_record_header, boot_ns) == 8);
static_assert(offsetof(tracer_record_header, task) == 16);
static_assert(sizeof(tracer_exec_record) == 144);
static_assert(offsetof(tracer_exec_record, ret) == 80);
static_assert(offsetof(tracer_exec_record, dev) == 96);
static_assert(offsetof(tracer_exec_record, argv_len) == 124);
static_assert(offsetof(tracer_exec_record, pathname_len) == 128);
static_assert(alignof(tracer_exec_record) == 8);
static_assert(sizeof(tracer_fork_record) == 88);
static_assert(sizeof(tracer_exit_record) == 88);

}  // namespace tracer::abi
