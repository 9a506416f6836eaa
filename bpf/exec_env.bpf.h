/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The environment the kernel installed in the new image (--output
 * option:env), appended to a successful exec's record after argv. Like the
 * new argv it is read from the new mm before the program runs: the program
 * cannot have changed it yet, and its pages are the ones the kernel just
 * wrote. Which names are kept and which values are redacted is userspace's
 * choice (env_select.cpp): the kernel only copies bytes.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"
#include "record.bpf.h"

/* Bytes of environment kept; 0: not asked for, and the verifier drops the
 * read from the program. */
const volatile __u32 env_max = 0;

static __always_inline void exec_env__append_new(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
						 struct task_struct *task)
{
	if (!env_max)
		return;
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 env_start = BPF_CORE_READ(mm, env_start);
	__u64 env_end = BPF_CORE_READ(mm, env_end);
	__u64 env_len = env_end > env_start ? env_end - env_start : 0;
	__u32 at = *offset & TAIL_OFFSET_MASK;
	/* The pathname that follows is appended below TAIL_OFFSET_MASK: the
	 * environment ends there too, so nothing wraps. */
	__u64 room = TAIL_OFFSET_MASK - at;
	__u64 bound = env_max < room ? env_max : room;

	if (env_len > bound) {
		env_len = bound;
		rec->flags |= TRACER_EXEC_ENV_TRUNCATED;
	}
	barrier_var(env_len);
	if (env_len == 0 || env_len > TRACER_ENV_MAX)
		return;
	if (bpf_probe_read_user(&data[at], env_len, (const void *)env_start)) {
		rec->flags |= TRACER_EXEC_ENV_TRUNCATED;
		return;
	}
	rec->env_len = env_len;
	*offset = at + env_len;
}

_Static_assert(TAIL_OFFSET_MASK + TRACER_ENV_MAX + 1024 < RECORD_SCRATCH_SIZE, "environment fits");
