/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Building variable-sized records in the per-CPU scratch and sending them.
 * Strings are appended at a running offset; the masks keep every write inside
 * the scratch for the verifier: a path is appended at an offset below
 * PATH_AREA_LIMIT, argv text below ARGV_AREA_LIMIT.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tracer_abi.h"
#include "maps.bpf.h"

#define PATH_OFFSET_MASK (8 * TRACER_PATH_MAX - 1)  /* 32 KiB - 1: up to five paths */
#define ARGV_OFFSET_MASK (2 * TRACER_ARGV_MAX - 1)  /* 64 KiB - 1 */
/* After the paths and argv: the pathname, last in an exec record. */
#define TAIL_OFFSET_MASK (2 * TRACER_ARGV_MAX - 1)  /* 64 KiB - 1 */
/* A whole record's length. */
#define RECORD_OFFSET_MASK (RECORD_SCRATCH_SIZE - 1)

_Static_assert(PATH_OFFSET_MASK + TRACER_ARGV_MAX < RECORD_SCRATCH_SIZE, "argv block fits");
_Static_assert(ARGV_OFFSET_MASK + TRACER_ARGV_MAX < RECORD_SCRATCH_SIZE, "argv string fits");
_Static_assert(PATH_OFFSET_MASK + TRACER_ARGV_MAX <= TAIL_OFFSET_MASK, "paths and argv end below the tail");
_Static_assert(TAIL_OFFSET_MASK + TRACER_PATH_MAX + 1024 < RECORD_SCRATCH_SIZE, "pathname fits");

const volatile __u64 wakeup_min_bytes = 0;
const volatile __u64 wakeup_interval_ns = 0;
const volatile __u64 wakeup_quiet_ns = 0;
/* When the consumer was last woken; written at most once per interval (and
 * per full batch), so CPUs share the line for reading. A race between CPUs
 * costs one extra wakeup, never a missed one. */
__u64 last_wakeup_ns = 0;
/* When a record was last sent, to the millisecond: written at most once a
 * millisecond, for the same reason. */
__u64 last_record_ns = 0;

static __always_inline struct record_scratch *record__scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&record_scratch_by_cpu, &cpu);
}

/* The header fields every record sets the same way; the task context and,
 * for variable-sized records, the size are the caller's. */
static __always_inline void record__init_header(struct tracer_record_header *header, __u8 kind, __u16 event_id,
						__u8 flags, __u32 size)
{
	header->kind = kind;
	header->flags = flags;
	header->event_id = event_id;
	header->size = size;
	header->boot_ns = bpf_ktime_get_boot_ns();
}

/* Wake the consumer for a record that follows wakeup_quiet_ns without
 * records or wakeup_interval_ns without a wakeup (an idle tracer shows an
 * event at once, sparse traffic too), and whenever a batch's worth is
 * pending; in between, records wait for the consumer's short poll, so under
 * steady load wakeups stay a few hundred per second whatever the rate.
 * now_ns is the record's boot_ns: no second clock read. Signed: another
 * CPU's record may carry a slightly later time. */
static __always_inline __u64 record__wakeup_flags(__u64 now_ns)
{
	__s64 since_record;

	if (!wakeup_min_bytes)
		return 0;
	since_record = (__s64)(now_ns - last_record_ns);
	if (since_record >= 1000000 /* 1 ms */)
		last_record_ns = now_ns;
	if (since_record >= (__s64)wakeup_quiet_ns || now_ns - last_wakeup_ns >= wakeup_interval_ns ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_min_bytes) {
		last_wakeup_ns = now_ns;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void record__send(void *record, __u64 size)
{
	/* The bound must be checked on the register passed: left alone, clang
	 * moves the test before an add that made size (offset + header), and
	 * kernels before 6.9 do not carry a bound across that add. */
	barrier_var(size);
	if (size > RECORD_SCRATCH_SIZE)
		return;
	const __u64 now_ns = ((struct tracer_record_header *)record)->boot_ns;

	if (bpf_ringbuf_output(&events, record, size, record__wakeup_flags(now_ns)))
		drops__count(TRACER_DROP_RINGBUF_FULL);
}

/* The length, NUL excluded, of a string bpf_probe_read_user_str() read
 * successfully (ret >= 0). Older kernels (6.1) return 0, not 1, for an empty
 * string (strncpy_from_user_nofault counted its NUL only for non-empty ones). */
static __always_inline __u16 record__user_str_length(long ret)
{
	return ret > 0 ? (__u16)(ret - 1) : 0;
}

/* Appends a NUL-terminated kernel or user string at data[*offset] without its
 * NUL. Returns the stored length, or a negative errno. */
static __always_inline long record__append_path(__u8 *data, __u32 *offset, const void *src, int user)
{
	__u32 at = *offset & PATH_OFFSET_MASK;
	long len = user ? bpf_probe_read_user_str(&data[at], TRACER_PATH_MAX, src)
			: bpf_probe_read_kernel_str(&data[at], TRACER_PATH_MAX, src);

	if (len <= 0)
		return len < 0 ? len : 0;
	len -= 1; /* drop the NUL */
	*offset = at + len;
	return len;
}
