/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A failed exec, reported at sys_exit: an exec still stashed there did not
 * replace the caller (a successful one was reported and unstashed at
 * sched_process_exec). Its record carries the caller's cwd, the argv it
 * passed and its pathname.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tracer_abi.h"
#include "exec_argv.bpf.h"
#include "exec_entry.bpf.h"
#include "exec_image.bpf.h"
#include "exec_record.bpf.h"

static __always_inline int exec_failure__on_sys_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_inflight *inflight = bpf_map_lookup_elem(&exec_inflight_by_tid, &tid);
	struct tracer_exec_record *rec;
	__u32 offset = 0;
	__u8 *data;

	if (!inflight) {
		bpf_map_delete_elem(&exec_filtered_out_by_tid, &tid);
		return 0;
	}
	exec_entry__retry_pathname(inflight);
	rec = exec_record__scratch(&data);
	if (!rec)
		goto done;
	exec_entry__begin_record(rec, inflight);
	rec->ret = ret;
	exec_image__append_cwd(rec, data, &offset);
	exec_argv__append_caller(rec, data, &offset, inflight->argv_ptr, inflight->flags & TRACER_EXEC_COMPAT);
	exec_entry__append_pathname(rec, data, &offset, inflight);
	exec_record__send(rec, offset);
done:
	bpf_map_delete_elem(&exec_inflight_by_tid, &tid);
	return 0;
}
