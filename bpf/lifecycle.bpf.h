/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Process lifecycle: sched_process_fork (a new process or thread; the caller
 * is the parent) and sched_process_exit (once per process, when its last
 * thread exits). The same hooks keep the follow set and, with the
 * process-table feed on, report every process's fork and exit.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"
#include "filter.bpf.h"
#include "forker.bpf.h"
#include "maps.bpf.h"
#include "record.bpf.h"
#include "task.bpf.h"

static __always_inline int lifecycle__on_fork(struct task_struct *child)
{
	struct tracer_task_context parent;
	struct tracer_fork_record *rec;
	const __u32 child_pid = BPF_CORE_READ(child, tgid);
	int selected;

	task__read_context(&parent);
	filter__follow_child(&parent, child_pid);
	forker__remember(&parent, child_pid, task__leader_start_ns(child));
	selected = filter__wants_event(TRACER_EVENT_SCHED_PROCESS_FORK) && filter__selects(&parent);
	if (!selected && !(process_table_feed && child_pid != parent.tgid))
		return 0;
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		drops__count(TRACER_DROP_RINGBUF_FULL);
		return 0;
	}
	record__init_header(&rec->header, TRACER_RECORD_PROCESS_FORK, TRACER_EVENT_SCHED_PROCESS_FORK,
			    selected ? 0 : TRACER_HEADER_CONTEXT_ONLY, sizeof(*rec));
	rec->header.task = parent;
	rec->child_pid = child_pid;
	rec->child_tid = BPF_CORE_READ(child, pid);
	rec->child_start_boot_ns = task__leader_start_ns(child);
	bpf_ringbuf_submit(rec, record__wakeup_flags(rec->header.boot_ns));
	return 0;
}

static __always_inline int lifecycle__on_exit(struct task_struct *task)
{
	struct tracer_task_context ctx;
	struct tracer_exit_record *rec;

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0; /* other threads live on: not the process's exit */
	task__read_context(&ctx);
	const int selected = filter__wants_event(TRACER_EVENT_SCHED_PROCESS_EXIT) && filter__selects(&ctx);
	if (selected || process_table_feed) {
		rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
		if (rec) {
			/* exit_code is a wait status: code << 8, or the signal */
			int status = BPF_CORE_READ(task, exit_code);

			record__init_header(&rec->header, TRACER_RECORD_PROCESS_EXIT, TRACER_EVENT_SCHED_PROCESS_EXIT,
					    selected ? 0 : TRACER_HEADER_CONTEXT_ONLY, sizeof(*rec));
			rec->header.task = ctx;
			rec->exit_code = (status >> 8) & 0xff;
			rec->signal = status & 0x7f;
			bpf_ringbuf_submit(rec, record__wakeup_flags(rec->header.boot_ns));
		} else {
			drops__count(TRACER_DROP_RINGBUF_FULL);
		}
	}
	filter__forget(ctx.tgid);
	forker__forget(ctx.tgid);
	return 0;
}
