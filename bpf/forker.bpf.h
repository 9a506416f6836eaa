/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who forked each process. When the process that forked a child exits
 * first, the kernel reparents the child to a subreaper or init, and
 * real_parent no longer names the forker: the task context then reports the
 * forker (its tgid, start and exec generation at the fork) as the parent.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tracer_abi.h"

struct forker {
	__u64 child_start_boot_ns; /* the child the entry is for (a tgid is reused) */
	__u64 start_boot_ns;       /* the forker's leader start */
	__u32 tgid;
	__u32 exec_gen;            /* the forker's image at the fork */
};

/* child tgid -> its forker. LRU: a process whose exit was not seen (started
 * before the tracer) must not fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct forker);
} forker_by_tgid SEC(".maps");

/* At sched_process_fork, from the forker's context; threads are not processes. */
static __always_inline void forker__remember(const struct tracer_task_context *parent, __u32 child_tgid,
					     __u64 child_start_boot_ns)
{
	struct forker value = {
		.child_start_boot_ns = child_start_boot_ns,
		.start_boot_ns = parent->start_boot_ns,
		.tgid = parent->tgid,
		.exec_gen = parent->exec_gen,
	};

	if (child_tgid != parent->tgid)
		bpf_map_update_elem(&forker_by_tgid, &child_tgid, &value, BPF_ANY);
}

/* The context's parent fields, read from real_parent: the forker instead when
 * the task was reparented (real_parent is another process than the forker). */
static __always_inline void forker__apply(struct tracer_task_context *ctx)
{
	const struct forker *forker = bpf_map_lookup_elem(&forker_by_tgid, &ctx->tgid);

	if (!forker || forker->child_start_boot_ns != ctx->start_boot_ns)
		return;
	if (forker->tgid == ctx->ppid && forker->start_boot_ns == ctx->parent_start_boot_ns)
		return;
	ctx->ppid = forker->tgid;
	ctx->parent_start_boot_ns = forker->start_boot_ns;
	ctx->parent_exec_gen = forker->exec_gen;
}

static __always_inline void forker__forget(__u32 tgid)
{
	bpf_map_delete_elem(&forker_by_tgid, &tgid);
}
