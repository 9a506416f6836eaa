/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A successful exec, reported from sched_process_exec: past its point of no
 * return (the syscall can only return 0), with the kernel's filename, the
 * executed image and the new argv and environment (read from the new mm,
 * before it runs) at hand.
 *
 * Up to two records from one build: the execve/execveat record (the caller's
 * context, pathname last) and, when wanted, the sched_process_exec record
 * (the task as it is now, no pathname: the same bytes, shorter). With the
 * process-table feed on, an exec nobody selected still goes out, flagged
 * context-only.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tracer_abi.h"
#include "exec_argv.bpf.h"
#include "exec_entry.bpf.h"
#include "exec_env.bpf.h"
#include "exec_image.bpf.h"
#include "exec_record.bpf.h"
#include "filter.bpf.h"
#include "task.bpf.h"

/* Begins the execve/execveat record in rec when it is wanted: from the
 * stash or, for an exec whose entry was never seen (entered before we
 * attached, or by a path we do not hook), from the task as it is now.
 * Returns whether it did. */
static __always_inline int exec_success__begin_execve(struct tracer_exec_record *rec,
						      const struct exec_inflight *inflight, int filtered_out,
						      const struct tracer_task_context *now, __u32 old_tid)
{
	if (inflight) {
		exec_entry__begin_record(rec, inflight);
		return 1;
	}
	if (filtered_out || !filter__wants_event(TRACER_EVENT_EXECVE) || !filter__selects(now))
		return 0;
	exec_record__reset(rec, TRACER_EVENT_EXECVE);
	rec->header.task = *now;
	rec->header.task.tid = old_tid;
	rec->flags = TRACER_EXEC_ENTRY_MISSING;
	return 1;
}

/* Turns a sent execve/execveat record into the sched_process_exec one: the
 * task as it is now, without what came from the caller. */
static __always_inline void exec_success__to_process_exec(struct tracer_exec_record *rec,
							  const struct tracer_task_context *now)
{
	rec->header.event_id = TRACER_EVENT_SCHED_PROCESS_EXEC;
	rec->header.task = *now;
	rec->flags &= ~(TRACER_EXEC_PATHNAME_READ_FAILED | TRACER_EXEC_ENTRY_MISSING);
	rec->pathname_len = 0;
	rec->dirfd = AT_FDCWD_VALUE;
	rec->at_flags = 0;
}

static __always_inline int exec_success__on_sched_process_exec(struct task_struct *task, __u32 old_tid,
							       struct linux_binprm *bprm)
{
	struct exec_inflight *inflight = bpf_map_lookup_elem(&exec_inflight_by_tid, &old_tid);
	const int filtered_out = !inflight && bpf_map_lookup_elem(&exec_filtered_out_by_tid, &old_tid);
	const int want_exec_event = filter__wants_event(TRACER_EVENT_SCHED_PROCESS_EXEC);
	struct tracer_task_context now = {};
	struct tracer_exec_record *rec;
	int execve_selected;
	int exec_selected;
	__u32 offset = 0;
	__u32 image_end;
	__u8 *data;

	if (filtered_out)
		bpf_map_delete_elem(&exec_filtered_out_by_tid, &old_tid);
	rec = exec_record__scratch(&data);
	if (!rec)
		goto done;
	/* The task as it is now (its comm is the new one). */
	if (want_exec_event || process_table_feed || (!inflight && !filtered_out))
		task__read_context(&now);
	exec_selected = want_exec_event && filter__selects(&now);
	execve_selected = exec_success__begin_execve(rec, inflight, filtered_out, &now, old_tid);
	if (!execve_selected && !exec_selected && !process_table_feed)
		goto done;
	if (!execve_selected) {
		exec_record__reset(rec, TRACER_EVENT_SCHED_PROCESS_EXEC);
		rec->header.task = now;
		if (!exec_selected)
			rec->header.flags = TRACER_HEADER_CONTEXT_ONLY;
	}
	rec->old_tid = old_tid;
	rec->header.task.exec_gen = task__exec_gen(task); /* the image this exec started */
	exec_image__append(rec, data, &offset, bprm);
	exec_argv__append_new(rec, data, &offset, task, bprm);
	exec_env__append_new(rec, data, &offset, task);
	image_end = offset;
	if (execve_selected) {
		if (inflight)
			exec_entry__append_pathname(rec, data, &offset, inflight);
		exec_record__send(rec, offset);
		if (!exec_selected)
			goto done;
		exec_success__to_process_exec(rec, &now);
	}
	exec_record__send(rec, image_end);
done:
	if (inflight)
		bpf_map_delete_elem(&exec_inflight_by_tid, &old_tid);
	return 0;
}
