/* SPDX-License-Identifier: GPL-2.0-only */
/* Maps shared by every tracer program, named for their role. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tracer_abi.h"

/* Size (bytes) of one CPU's record scratch. Records are built here, then
 * copied into the ring buffer at their real size. Power of two: the offset
 * masks in record.bpf.h rely on it. */
#define RECORD_SCRATCH_SIZE (128 * 1024)

struct record_scratch {
	__u8 bytes[RECORD_SCRATCH_SIZE];
};

/* The one channel to userspace. Size set by userspace before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

/* One record_scratch per CPU; max_entries set to the CPU count before load.
 * An array, not a per-CPU array: per-CPU values are limited to 32 KiB. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct record_scratch);
} record_scratch_by_cpu SEC(".maps");

/* Records lost in the kernel, per cause (enum tracer_drop_cause). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TRACER_DROP_CAUSE_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} drop_counters SEC(".maps");

static __always_inline void drops__count(__u32 cause)
{
	__u64 *counter = bpf_map_lookup_elem(&drop_counters, &cause);

	if (counter)
		*counter += 1;
}
