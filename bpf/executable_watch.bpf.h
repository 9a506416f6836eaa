/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Executables run for the first time: each (dev, inode) is reported once, so
 * that userspace can look at the file (bash_readline: a bash copied or built
 * elsewhere is probed as soon as it first runs). The wakeup is forced: the
 * probe must be in place before the new program gets far.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"
#include "maps.bpf.h"
#include "record.bpf.h"
#include "task.bpf.h"

/* Seeded by userspace with the executables it knows already. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct tracer_executable_key);
	__type(value, __u8);
} known_executables SEC(".maps");

static __always_inline int executable__on_exec(struct linux_binprm *bprm)
{
	struct inode *inode = BPF_CORE_READ(bprm, file, f_inode);
	struct tracer_executable_key key = {
		.inode = BPF_CORE_READ(inode, i_ino),
		.dev = BPF_CORE_READ(inode, i_sb, s_dev),
	};
	struct tracer_executable_record record = {};
	__u8 seen = 1;

	if (bpf_map_lookup_elem(&known_executables, &key))
		return 0;
	if (bpf_map_update_elem(&known_executables, &key, &seen, BPF_NOEXIST))
		return 0; /* another CPU reports it */
	record__init_header(&record.header, TRACER_RECORD_EXECUTABLE, 0, TRACER_HEADER_CONTEXT_ONLY, sizeof(record));
	task__read_context(&record.header.task);
	record.inode = key.inode;
	record.dev = key.dev;
	if (bpf_ringbuf_output(&events, &record, sizeof(record), BPF_RB_FORCE_WAKEUP))
		drops__count(TRACER_DROP_RINGBUF_FULL);
	return 0;
}
