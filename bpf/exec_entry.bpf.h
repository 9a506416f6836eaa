/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * execve/execveat entry: the caller's context and pathname, stashed per tid
 * (the caller's memory is gone once a successful exec has replaced it) for
 * sched_process_exec or sys_exit to report. The stash ends the record: its
 * context in the header, its pathname last.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tracer_abi.h"
#include "exec_record.bpf.h"
#include "filter.bpf.h"
#include "maps.bpf.h"
#include "record.bpf.h"
#include "syscall_regs.bpf.h"
#include "task.bpf.h"

/* In exec_inflight.flags only: the pathname read at entry failed (its page
 * was not mapped yet) and is retried once the kernel has copied it. */
#define EXEC_INFLIGHT_PATHNAME_PENDING (1u << 31)

struct exec_inflight {
	struct tracer_task_context task;
	__u64 pathname_ptr;
	__u64 argv_ptr;
	__s32 dirfd;
	__u32 at_flags;
	__u32 flags;
	__u16 event_id;
	__u16 pathname_len;
	char pathname[TRACER_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tid at entry */
	__type(value, struct exec_inflight);
} exec_inflight_by_tid SEC(".maps");

/* Execs whose entry was seen and filtered out: not to be mistaken, at
 * sched_process_exec, for execs whose entry was never seen. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tid at entry */
	__type(value, __u8);
} exec_filtered_out_by_tid SEC(".maps");

/* Builds an exec_inflight off the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_inflight);
} exec_inflight_scratch SEC(".maps");

static __always_inline int exec_entry__mark_filtered_out(__u32 tid)
{
	__u8 one = 1;

	bpf_map_update_elem(&exec_filtered_out_by_tid, &tid, &one, BPF_ANY);
	return 0;
}

/* The exec event of a syscall number (0: no exec) and, in *compat, whether
 * it is a 32-bit call: only a compat task's numbers are the compat ones. */
static __always_inline __u16 exec_entry__event_of_syscall(long nr, int *compat)
{
	*compat = (nr == NR_COMPAT_EXECVE || nr == NR_COMPAT_EXECVEAT) && task__in_compat_syscall();
	if (!*compat) {
		if (nr == NR_EXECVE)
			return TRACER_EVENT_EXECVE;
		if (nr == NR_EXECVEAT)
			return TRACER_EVENT_EXECVEAT;
		return 0;
	}
	if (nr == NR_COMPAT_EXECVE)
		return TRACER_EVENT_EXECVE;
	if (nr == NR_COMPAT_EXECVEAT)
		return TRACER_EVENT_EXECVEAT;
	return 0;
}

/* The syscall arguments of an exec (execveat's five; execve has three),
 * however the entry hook got them. */
#define EXEC_SYSCALL_ARGS 5

struct exec_syscall_args {
	__u64 arg[EXEC_SYSCALL_ARGS];
};

/* Reads the pathname from the caller's memory; on failure it stays pending. */
static __always_inline void exec_entry__read_pathname(struct exec_inflight *inflight)
{
	long len = bpf_probe_read_user_str(inflight->pathname, sizeof(inflight->pathname),
					   (const void *)inflight->pathname_ptr);

	if (len >= 0) {
		inflight->pathname_len = record__user_str_length(len);
		inflight->flags &= ~EXEC_INFLIGHT_PATHNAME_PENDING;
	} else {
		inflight->flags |= EXEC_INFLIGHT_PATHNAME_PENDING;
	}
}

static __always_inline int exec_entry__on_sys_enter(const struct exec_syscall_args *args, __u16 event_id, int compat)
{
	__u32 zero = 0;
	struct exec_inflight *inflight = bpf_map_lookup_elem(&exec_inflight_scratch, &zero);

	if (!inflight)
		return 0;
	task__read_context(&inflight->task);
	if (!filter__selects(&inflight->task))
		return exec_entry__mark_filtered_out(inflight->task.tid);
	inflight->event_id = event_id;
	inflight->flags = compat ? TRACER_EXEC_COMPAT : 0;
	if (event_id == TRACER_EVENT_EXECVE) {
		inflight->dirfd = AT_FDCWD_VALUE;
		inflight->at_flags = 0;
		inflight->pathname_ptr = args->arg[0];
		inflight->argv_ptr = args->arg[1];
	} else {
		inflight->dirfd = (__s32)args->arg[0];
		inflight->pathname_ptr = args->arg[1];
		inflight->argv_ptr = args->arg[2];
		inflight->at_flags = (__u32)args->arg[4];
	}
	inflight->pathname_len = 0;
	exec_entry__read_pathname(inflight);

	if (bpf_map_lookup_elem(&exec_inflight_by_tid, &inflight->task.tid))
		drops__count(TRACER_DROP_STALE_INFLIGHT);
	if (bpf_map_update_elem(&exec_inflight_by_tid, &inflight->task.tid, inflight, BPF_ANY))
		drops__count(TRACER_DROP_INFLIGHT_FULL);
	return 0;
}

/* Retries a pathname read that failed at entry. Only valid while the
 * caller's mm is current: in sched_prepare_exec and at sys_exit. */
static __always_inline void exec_entry__retry_pathname(struct exec_inflight *inflight)
{
	if (inflight->flags & EXEC_INFLIGHT_PATHNAME_PENDING)
		exec_entry__read_pathname(inflight);
}

/* Point of no return, old mm still current (kernels 6.10+): the last moment
 * a pathname that was not readable at entry can be read from the caller. */
static __always_inline int exec_entry__on_sched_prepare_exec(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_inflight *inflight = bpf_map_lookup_elem(&exec_inflight_by_tid, &tid);

	if (inflight)
		exec_entry__retry_pathname(inflight);
	return 0;
}

/* Starts an exec record from what sys_enter stashed: the caller's context. */
static __always_inline void exec_entry__begin_record(struct tracer_exec_record *rec,
						     const struct exec_inflight *inflight)
{
	exec_record__reset(rec, inflight->event_id);
	rec->header.task = inflight->task;
	rec->dirfd = inflight->dirfd;
	rec->at_flags = inflight->at_flags;
	rec->flags = inflight->flags & ~EXEC_INFLIGHT_PATHNAME_PENDING;
	rec->old_tid = inflight->task.tid;
}

/* The pathname the caller passed, last in the record (a record without it is
 * the same bytes, shorter). */
static __always_inline void exec_entry__append_pathname(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
							const struct exec_inflight *inflight)
{
	__u16 pathname_len = inflight->pathname_len & (TRACER_PATH_MAX - 1);
	__u32 at = *offset & TAIL_OFFSET_MASK;

	if (inflight->flags & EXEC_INFLIGHT_PATHNAME_PENDING) {
		rec->flags |= TRACER_EXEC_PATHNAME_READ_FAILED;
		drops__count(TRACER_DROP_PATHNAME_READ);
	}
	bpf_probe_read_kernel(&data[at], pathname_len, inflight->pathname);
	rec->pathname_len = pathname_len;
	*offset = at + pathname_len;
}
