/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The exec record (struct tracer_exec_record): one layout for execve/execveat,
 * sched_process_exec and security_bprm_check, built in this CPU's record
 * scratch. Its strings follow the fixed part, each appended at a running
 * offset in the order the ABI gives: filename, interpreter, exe, cwd, argv,
 * then the pathname last.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tracer_abi.h"
#include "maps.bpf.h"
#include "record.bpf.h"

#define AT_FDCWD_VALUE -100

/* The record at the start of this CPU's scratch (NULL without one); *data
 * gets where its strings go. */
static __always_inline struct tracer_exec_record *exec_record__scratch(__u8 **data)
{
	struct record_scratch *scratch = record__scratch();

	if (!scratch)
		return 0;
	*data = scratch->bytes + sizeof(struct tracer_exec_record);
	return (struct tracer_exec_record *)scratch->bytes;
}

/* Zeroes what every exec record fills in later: all but the header's task,
 * which is the caller's to set. */
static __always_inline void exec_record__reset(struct tracer_exec_record *rec, __u16 event_id)
{
	record__init_header(&rec->header, TRACER_RECORD_EXEC, event_id, 0, 0);
	__builtin_memset(&rec->ret, 0, sizeof(*rec) - offsetof(struct tracer_exec_record, ret));
	rec->dirfd = AT_FDCWD_VALUE;
}

/* Sends the record with the strings appended up to `offset`. */
static __always_inline void exec_record__send(struct tracer_exec_record *rec, __u32 offset)
{
	rec->header.size = sizeof(*rec) + (offset & RECORD_OFFSET_MASK);
	record__send(rec, rec->header.size);
}
