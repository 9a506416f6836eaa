/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * argv, appended to an exec record as NUL-separated text: the caller's,
 * pointer by pointer (a failed exec, bprm_check), or the one the kernel
 * installed in the new image (a successful exec).
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"
#include "maps.bpf.h"
#include "record.bpf.h"

const volatile __u32 max_args = TRACER_MAX_ARGS_DEFAULT;

static __always_inline void exec_argv__read_failed(struct tracer_exec_record *rec)
{
	rec->flags |= TRACER_EXEC_ARGV_READ_FAILED;
	drops__count(TRACER_DROP_ARGV_READ);
}

/* The caller's argv at data[start]. The bytes used and the count live in the
 * record, not in registers: read back from map memory in every iteration
 * they have the same range each time, so the verifier prunes the walk
 * instead of following every range it narrowed them to. */
static __always_inline void exec_argv__read_caller(struct tracer_exec_record *rec, __u8 *data, __u32 start,
						   __u64 argv, int compat)
{
	rec->argc = 0;
	rec->argv_len = 0;
	for (__u32 i = 0; i < TRACER_MAX_ARGS_LIMIT; i++) {
		__u64 arg = 0;
		long err;

		if (compat)
			err = bpf_probe_read_user(&arg, 4, (void *)(argv + 4 * (__u64)i));
		else
			err = bpf_probe_read_user(&arg, 8, (void *)(argv + 8 * (__u64)i));
		if (err) {
			if (argv)
				exec_argv__read_failed(rec);
			break;
		}
		if (!arg)
			break;
		__u64 used = rec->argv_len; /* 64-bit so that the bounds checks land on the register used */

		if (i >= max_args || used >= TRACER_ARGV_MAX) {
			rec->flags |= TRACER_EXEC_ARGV_TRUNCATED;
			break;
		}
		__u64 room = TRACER_ARGV_MAX - used;
		__u64 at = (start + used) & ARGV_OFFSET_MASK;

		barrier_var(room);
		if (room == 0 || room > TRACER_ARGV_MAX)
			break;
		long len = bpf_probe_read_user_str(&data[at], room, (const void *)arg);

		if (len < 0) {
			exec_argv__read_failed(rec);
			break;
		}
		if (len == 0)
			len = 1; /* an empty string on kernels before 6.x's fix: its NUL is there */
		rec->argv_len = used + len;
		rec->argc++;
		if (len == room) {
			rec->flags |= TRACER_EXEC_ARGV_TRUNCATED;
			break;
		}
	}
}

/* The caller's argv (user pointer argv), appended. */
static __always_inline void exec_argv__append_caller(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
						     __u64 argv, int compat)
{
	__u32 start = *offset & PATH_OFFSET_MASK;

	exec_argv__read_caller(rec, data, start, argv, compat);
	*offset = start + rec->argv_len;
}

/* The argv the kernel installed in the new image, before it runs. */
static __always_inline void exec_argv__append_new(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
						  struct task_struct *task, struct linux_binprm *bprm)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 arg_start = BPF_CORE_READ(mm, arg_start);
	__u64 arg_end = BPF_CORE_READ(mm, arg_end);
	__u64 argv_len = arg_end > arg_start ? arg_end - arg_start : 0;

	rec->argc = BPF_CORE_READ(bprm, argc);
	if (argv_len > TRACER_ARGV_MAX) {
		argv_len = TRACER_ARGV_MAX;
		rec->flags |= TRACER_EXEC_ARGV_TRUNCATED;
	}
	__u32 at = *offset & PATH_OFFSET_MASK;
	if (bpf_probe_read_user(&data[at], argv_len, (const void *)arg_start)) {
		exec_argv__read_failed(rec);
		argv_len = 0;
	}
	rec->argv_len = argv_len;
	*offset = at + argv_len;
}
