/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * BPF LSM bprm_check_security: the check before the exec commits, once per
 * file tried (a script, then its interpreter). The caller's memory is still
 * current: argv is what it passed, read through its syscall arguments.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tracer_abi.h"
#include "exec_argv.bpf.h"
#include "exec_entry.bpf.h"
#include "exec_image.bpf.h"
#include "exec_record.bpf.h"
#include "filter.bpf.h"
#include "syscall_regs.bpf.h"
#include "task.bpf.h"

static __always_inline int exec_bprm_check__on_check(struct linux_binprm *bprm)
{
	struct tracer_exec_record *rec;
	__u32 offset = 0;
	__u8 *data;
	int compat;

	if (!filter__wants_event(TRACER_EVENT_SECURITY_BPRM_CHECK))
		return 0;
	rec = exec_record__scratch(&data);
	if (!rec)
		return 0;
	exec_record__reset(rec, TRACER_EVENT_SECURITY_BPRM_CHECK);
	task__read_context(&rec->header.task);
	if (!filter__selects(&rec->header.task))
		return 0;
	rec->old_tid = rec->header.task.tid;
	exec_image__append(rec, data, &offset, bprm);

	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u16 event_id = exec_entry__event_of_syscall(syscall__nr_of(regs), &compat);

	if (event_id)
		exec_argv__append_caller(rec, data, &offset,
					 syscall__arg(regs, event_id == TRACER_EVENT_EXECVE ? 1 : 2, compat), compat);
	exec_record__send(rec, offset);
	return 0;
}
