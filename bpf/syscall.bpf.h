/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Any syscall by name (the exec syscalls have their own records, exec.bpf.h).
 *
 * Entry keeps the six raw arguments in the task's cache, beside the context
 * its filters read (task.bpf.h: no copy); the return sends one record with
 * ret and, per argument, the user memory its capture spec names (strings,
 * socket addresses), read at return, when the kernel has already faulted it
 * in. A syscall that never returns (exit, exit_group) is sent at entry. With
 * --stats nothing is kept or sent: the return counts per syscall and per
 * process.
 *
 * Selection comes first: a bit per syscall number in read-only data, so an
 * unselected syscall costs one test where the raw hooks run for every call,
 * and nothing at all where per-syscall tracepoints are attached.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tracer_abi.h"
#include "filter.bpf.h"
#include "maps.bpf.h"
#include "record.bpf.h"
#include "task.bpf.h"

const volatile __u64 syscall_selected[TRACER_SYSCALL_NR_MAX / 64] = {};
const volatile __u8 syscall_stats_mode = 0;
/* The tracer's own process: its writes to its output must not trace
 * themselves (a feedback loop with event=write). */
const volatile __u32 tracer_tgid = 0;

static __always_inline int syscall__from_tracer(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == tracer_tgid;
}

/* Filled by userspace for the selected syscalls. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TRACER_SYSCALL_NR_MAX);
	__type(key, __u32);
	__type(value, struct tracer_syscall_capture_spec);
} syscall_capture_specs SEC(".maps");

/* Per CPU: counting is a plain increment, no atomic on a shared line. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TRACER_SYSCALL_NR_MAX);
	__type(key, __u32);
	__type(value, struct tracer_syscall_stats);
} syscall_stats SEC(".maps");

/* Not preallocated: per CPU, 32768 entries would pin 1 MiB per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 32768);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tgid */
	__type(value, struct tracer_process_stats);
} process_syscall_stats SEC(".maps");

static __always_inline int syscall__selected(long nr)
{
	if ((unsigned long)nr >= TRACER_SYSCALL_NR_MAX)
		return 0;
	return (syscall_selected[(nr / 64) & (TRACER_SYSCALL_NR_MAX / 64 - 1)] >> (nr % 64)) & 1;
}

#define SYSCALL_CAPTURE_MASK PATH_OFFSET_MASK /* each capture starts below 32 KiB */

/* Appends the capture of one argument at record->header.size (the record's
 * end so far) and moves that on; sets the capture's length. The end lives in
 * the record, not in a register: read back from map memory it has one range
 * for every way through the previous captures, so the verifier prunes. */
static __always_inline void syscall__capture(struct tracer_syscall_record *record, __u8 *data,
					     const struct tracer_syscall_capture_spec *spec, int i)
{
	__u8 kind = spec->kind[i];
	__u64 pointer = record->args[i];
	__u32 at = record->header.size & SYSCALL_CAPTURE_MASK;
	long len;

	if (kind == TRACER_CAPTURE_NONE || !pointer)
		return;
	if (kind == TRACER_CAPTURE_STRING) {
		len = bpf_probe_read_user_str(&data[at], TRACER_PATH_MAX, (const void *)pointer);
		if (len < 0) {
			record->capture_failed |= 1u << i;
			drops__count(TRACER_DROP_ARGUMENT_READ);
			return;
		}
		len = record__user_str_length(len);
		if (len == TRACER_PATH_MAX - 1)
			record->capture_truncated |= 1u << i;
	} else {
		/* & 7: a bound the verifier sees (the scratch holds far more). */
		__u32 length_arg = spec->length_arg[i] & 7;
		__s64 wanted;

		if (length_arg >= TRACER_SYSCALL_ARGS)
			return;
		wanted = (__s32)record->args[length_arg];

		if (kind == TRACER_CAPTURE_SOCKADDR_OUT) {
			__s32 out_len = 0;

			if ((__s64)record->ret < 0)
				return; /* nothing was written */
			if (bpf_probe_read_user(&out_len, sizeof(out_len), (const void *)record->args[length_arg])) {
				record->capture_failed |= 1u << i;
				return;
			}
			wanted = out_len;
		}
		if (wanted <= 0)
			return;
		if (wanted > TRACER_SOCKADDR_MAX) {
			wanted = TRACER_SOCKADDR_MAX;
			record->capture_truncated |= 1u << i;
		}
		len = wanted & (TRACER_SOCKADDR_MAX * 2 - 1);
		if (bpf_probe_read_user(&data[at], len, (const void *)pointer)) {
			record->capture_failed |= 1u << i;
			drops__count(TRACER_DROP_ARGUMENT_READ);
			return;
		}
	}
	record->capture_len[i] = (__u16)len;
	record->header.size = at + len;
}

/* The fixed part of a record from the task's context and syscall slot and
 * the return value: every byte set, field by field (a record in the ring
 * buffer is not zeroed first). */
static __always_inline void syscall__fill(struct tracer_syscall_record *record, const struct task_cache *cache,
					  long ret, __u16 flags)
{
	const struct task_syscall_slot *slot = &cache->syscall;

	record__init_header(&record->header, TRACER_RECORD_SYSCALL, TRACER_EVENT_SYSCALL_BASE + slot->nr, 0,
			    sizeof(*record));
	record->header.task = cache->ctx;
	record->ret = ret;
	__builtin_memcpy(record->args, slot->args, sizeof(record->args));
	record->enter_boot_ns = slot->enter_boot_ns;
	record->nr = slot->nr;
	__builtin_memset(record->capture_len, 0, sizeof(record->capture_len));
	record->capture_failed = 0;
	record->capture_truncated = 0;
	record->flags = flags;
	record->_pad = 0;
}

static __always_inline int syscall__captures_any(const struct tracer_syscall_capture_spec *spec)
{
	int any = 0;

#pragma unroll
	for (int i = 0; i < TRACER_SYSCALL_ARGS; i++)
		any |= spec->kind[i] != TRACER_CAPTURE_NONE;
	return any;
}

/* One record from the task's syscall slot and the return value. Without
 * captures it is built in the ring buffer itself: no scratch, no second copy. */
static __always_inline int syscall__send(const struct task_cache *cache, long ret, __u16 flags)
{
	const struct tracer_syscall_capture_spec *spec;
	struct tracer_syscall_record *record;
	struct record_scratch *scratch;
	__u32 nr = cache->syscall.nr;

	spec = bpf_map_lookup_elem(&syscall_capture_specs, &nr);
	if (!spec || !syscall__captures_any(spec)) {
		record = bpf_ringbuf_reserve(&events, sizeof(*record), 0);
		if (!record) {
			drops__count(TRACER_DROP_RINGBUF_FULL);
			return 0;
		}
		syscall__fill(record, cache, ret, flags);
		bpf_ringbuf_submit(record, record__wakeup_flags(record->header.boot_ns));
		return 0;
	}
	scratch = record__scratch();
	if (!scratch)
		return 0;
	record = (struct tracer_syscall_record *)scratch->bytes;
	syscall__fill(record, cache, ret, flags);
#pragma unroll
	for (int i = 0; i < TRACER_SYSCALL_ARGS; i++)
		syscall__capture(record, scratch->bytes, spec, i);
	record__send(record, record->header.size & RECORD_OFFSET_MASK);
	return 0;
}

/* args: the six raw arguments; nr already known selected. The context and
 * the arguments stay in the task's cache (task.bpf.h) until the return. */
static __always_inline int syscall__on_enter(long nr, const __u64 *args)
{
	const struct tracer_syscall_capture_spec *spec;
	struct tracer_task_context uncached;
	struct task_syscall_slot *slot;
	struct task_cache *cache;
	__u32 key = (__u32)nr;

	if (syscall__from_tracer())
		return 0;
	cache = filter__cached_task();
	if (!cache) {
		/* No storage for the task: counted, if the call was wanted. */
		task__read_context(&uncached);
		if (filter__selects(&uncached))
			drops__count(TRACER_DROP_INFLIGHT_FULL);
		return 0;
	}
	if (!filter__selects_cached(cache))
		return 0;
	task__read_comm(&cache->ctx);
	slot = &cache->syscall;
	__builtin_memcpy(slot->args, args, sizeof(slot->args));
	slot->enter_boot_ns = bpf_ktime_get_boot_ns();
	slot->nr = key;
	spec = bpf_map_lookup_elem(&syscall_capture_specs, &key);
	slot->active = !(spec && spec->emit_at_entry);
	if (!slot->active)
		return syscall__send(cache, 0, TRACER_SYSCALL_NO_RETURN);
	return 0;
}

/* --stats: one more call of nr by the current process, if it is selected. */
static __always_inline int syscall__count(long nr, long ret)
{
	struct tracer_task_context task;
	struct tracer_syscall_stats *per_syscall;
	struct tracer_process_stats *per_process;
	__u32 key = (__u32)nr;
	__u64 failed = ret < 0 && ret >= -4095;

	if (syscall__from_tracer())
		return 0;
	if ((filter.enabled || self_container_cgroup_id) && !filter__current_selects(&task))
		return 0;
	per_syscall = bpf_map_lookup_elem(&syscall_stats, &key);
	if (per_syscall) {
		per_syscall->calls += 1;
		per_syscall->errors += failed;
	}
	key = bpf_get_current_pid_tgid() >> 32;
	per_process = bpf_map_lookup_elem(&process_syscall_stats, &key);
	if (!per_process) {
		struct tracer_process_stats fresh = {};

		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		/* This CPU's slot; the other CPUs' start at zero. */
		if (bpf_map_update_elem(&process_syscall_stats, &key, &fresh, BPF_NOEXIST) == -7 /* -E2BIG: full */)
			drops__count(TRACER_DROP_STATS_FULL);
		per_process = bpf_map_lookup_elem(&process_syscall_stats, &key);
		if (!per_process)
			return 0;
	}
	per_process->calls += 1;
	per_process->errors += failed;
	return 0;
}

/* nr already known selected. */
static __always_inline int syscall__on_exit(long nr, long ret)
{
	struct task_cache *cache;

	if (syscall_stats_mode)
		return syscall__count(nr, ret);
	cache = bpf_task_storage_get(&task_caches, bpf_get_current_task_btf(), 0, 0);
	if (!cache || !cache->syscall.active)
		return 0; /* filtered out at entry, or entered before attach */
	cache->syscall.active = 0;
	if (cache->syscall.nr == (__u32)nr)
		syscall__send(cache, ret, 0);
	return 0;
}
