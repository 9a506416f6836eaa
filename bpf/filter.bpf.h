/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Context filters (--trace), evaluated before anything is stashed or reserved, so
 * that non-matching activity costs a few comparisons. The cheap tests come
 * first: numeric fields, then pid=new, comm, and the exe path last.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"
#include "container.bpf.h"
#include "maps.bpf.h"
#include "path.bpf.h"
#include "task.bpf.h"

const volatile struct tracer_filter_config filter = {};

/* The process table in userspace (parent, ancestors) needs every fork, exec
 * and exit: with this on, those not selected go out too, flagged
 * TRACER_HEADER_CONTEXT_ONLY. */
const volatile __u8 process_table_feed = 0;

/* Value sets of numeric fields (TRACER_SET_IN / NOT_IN). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tracer_filter_value_key);
	__type(value, __u8);
} filter_values SEC(".maps");

/* Exact comms, TRACER_COMM_INCLUDE or TRACER_COMM_EXCLUDE. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[TRACER_COMM_LEN]);
	__type(value, __u8);
} filter_comms SEC(".maps");

/* follow: thread groups descended from a matching process, from their fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} followed_tgids SEC(".maps");

static __always_inline __u64 filter__field_value(const struct tracer_task_context *ctx, int field)
{
	switch (field) {
	case TRACER_FIELD_UID: return ctx->uid;
	case TRACER_FIELD_GID: return ctx->gid;
	case TRACER_FIELD_PID: return ctx->tgid;
	case TRACER_FIELD_TID: return ctx->tid;
	case TRACER_FIELD_PPID: return ctx->ppid;
	case TRACER_FIELD_MNTNS: return ctx->mntns;
	case TRACER_FIELD_PIDNS: return ctx->pidns;
	case TRACER_FIELD_EUID: return ctx->euid;
	case TRACER_FIELD_AUID: return ctx->auid;
	case TRACER_FIELD_TTY: return ctx->tty_dev;
	default: return ctx->cgroup_id;
	}
}

static __always_inline int filter__numeric_allows(const struct tracer_task_context *ctx)
{
#pragma unroll
	for (int field = 0; field < TRACER_FIELD_COUNT; field++) {
		if (!(filter.active_fields & (1u << field)))
			continue;
		__u64 value = filter__field_value(ctx, field);

		if (value < filter.range_min[field] || value > filter.range_max[field])
			return 0;
		__u8 mode = filter.set_mode[field];
		if (mode == TRACER_SET_NONE)
			continue;
		struct tracer_filter_value_key key = {.field = field, .value = value};
		int found = bpf_map_lookup_elem(&filter_values, &key) != 0;

		if ((mode == TRACER_SET_IN) != found)
			return 0;
	}
	return 1;
}

/* Compares `len` bytes of a (at offset a_at) with the pattern text. */
static __always_inline int filter__comm_equal(const char *comm, __u32 at, const volatile char *text, __u32 len)
{
	for (__u32 i = 0; i < TRACER_COMM_LEN; i++) {
		if (i >= len)
			return 1;
		if (comm[(at + i) & (TRACER_COMM_LEN - 1)] != text[i])
			return 0;
	}
	return 1;
}

static __always_inline int filter__comm_matches(const char *comm, __u32 comm_len,
						const volatile struct tracer_comm_pattern *pattern)
{
	__u32 len = pattern->len;

	if (len > comm_len)
		return 0;
	switch (pattern->kind) {
	case TRACER_PATTERN_EXACT:
		return len == comm_len && filter__comm_equal(comm, 0, pattern->text, len);
	case TRACER_PATTERN_PREFIX:
		return filter__comm_equal(comm, 0, pattern->text, len);
	case TRACER_PATTERN_SUFFIX:
		return filter__comm_equal(comm, comm_len - len, pattern->text, len);
	default:
		for (__u32 at = 0; at < TRACER_COMM_LEN; at++) {
			if (at + len > comm_len)
				return 0;
			if (filter__comm_equal(comm, at, pattern->text, len))
				return 1;
		}
		return 0;
	}
}

static __always_inline int filter__comm_allows(const struct tracer_task_context *ctx)
{
	const __u8 *tag = bpf_map_lookup_elem(&filter_comms, ctx->comm);
	int included = tag && *tag == TRACER_COMM_INCLUDE;
	__u32 comm_len = 0;

	if (tag && *tag == TRACER_COMM_EXCLUDE)
		return 0;
	for (__u32 i = 0; i < TRACER_COMM_LEN && ctx->comm[i]; i++)
		comm_len = i + 1;
	for (int i = 0; i < TRACER_FILTER_MAX_PATTERNS; i++) {
		if (i >= filter.comm_pattern_count)
			break;
		const volatile struct tracer_comm_pattern *pattern = &filter.comm_patterns[i];

		if (!filter__comm_matches(ctx->comm, comm_len, pattern))
			continue;
		if (pattern->exclude)
			return 0;
		included = 1;
	}
	return included || !filter.comm_include_any;
}

/* Compares len bytes of the path scratch at `at` with an exe pattern's text. */
static __always_inline int filter__path_equal(const struct path_scratch *path, __u32 at, const volatile char *text,
					      __u32 len)
{
	for (__u32 i = 0; i < TRACER_EXE_PATTERN_MAX; i++) {
		if (i >= len)
			return 1;
		if (path->bytes[(at + i) & (PATH_SCRATCH_SIZE - 1)] != text[i])
			return 0;
	}
	return 1;
}

/* Global, verified once: eight patterns of up to 256 bytes each. */
__noinline int filter__exe_allows(void)
{
	struct path_scratch *scratch = path__scratch();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	int included = 0;

	if (!scratch)
		return 0;
	path__of_file(scratch, BPF_CORE_READ(task, mm, exe_file));
	const __u32 exe_start = scratch->start;
	const __u32 exe_len = scratch->len;
	for (int i = 0; i < TRACER_FILTER_MAX_PATTERNS; i++) {
		if (i >= filter.exe_pattern_count)
			break;
		const volatile struct tracer_exe_pattern *pattern = &filter.exe_patterns[i];
		__u32 len = pattern->len;
		int match;

		if (len > exe_len)
			match = 0;
		else if (pattern->kind == TRACER_PATTERN_EXACT)
			match = len == exe_len && filter__path_equal(scratch, exe_start, pattern->text, len);
		else if (pattern->kind == TRACER_PATTERN_PREFIX)
			match = filter__path_equal(scratch, exe_start, pattern->text, len);
		else
			match = filter__path_equal(scratch, exe_start + exe_len - len, pattern->text, len);
		if (!match)
			continue;
		if (pattern->exclude)
			return 0;
		included = 1;
	}
	return included || !filter.exe_include_any;
}

/* Global, verified once: does the container's id begin with one of the
 * container=ID prefixes? */
__noinline int filter__container_id_allows(__u64 container_cgroup)
{
	const struct tracer_container_id *id = bpf_map_lookup_elem(&container_ids, &container_cgroup);

	if (!id)
		return 0;
	for (int i = 0; i < TRACER_CONTAINER_MAX_IDS; i++) {
		if (i >= filter.container_id_count)
			break;
		__u32 len = filter.container_id_lens[i];
		int equal = 1;

		for (__u32 c = 0; c < TRACER_CONTAINER_ID_LEN && c < len; c++) {
			if (id->text[c] != filter.container_ids[i].text[c]) {
				equal = 0;
				break;
			}
		}
		if (equal)
			return 1;
	}
	return 0;
}

/* When the init of the current task's pid namespace started: the start of
 * its container (a container without its own pid namespace is as old as the
 * host). */
static __always_inline __u64 filter__container_start_ns(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct upid upid = task__own_upid(task);

	return task__leader_start_ns(BPF_CORE_READ(upid.ns, child_reaper));
}

/* container, !container, container=new, container=ID; ctx is the current task's. */
static __always_inline int filter__container_allows(const struct tracer_task_context *ctx)
{
	const int in_container = ctx->container_cgroup_id != 0;

	if (filter.container_mode == TRACER_CONTAINER_HOST)
		return !in_container;
	if (!in_container)
		return 0;
	if (filter.container_only_new && filter__container_start_ns() <= filter.new_after_boot_ns)
		return 0;
	if (filter.container_id_count && !filter__container_id_allows(ctx->container_cgroup_id))
		return 0;
	return 1;
}

/* The numeric, pid=new and container filters: the cheap ones. */
static __always_inline int filter__cheap_allow(const struct tracer_task_context *ctx)
{
	if (filter.active_fields && !filter__numeric_allows(ctx))
		return 0;
	if (filter.only_new && ctx->start_boot_ns <= filter.new_after_boot_ns)
		return 0;
	return filter.container_mode == TRACER_CONTAINER_ANY || filter__container_allows(ctx);
}

/* Does the task itself match every context filter? */
static __always_inline int filter__context_matches(const struct tracer_task_context *ctx)
{
	if (!filter.enabled)
		return 1;
	if (!filter__cheap_allow(ctx))
		return 0;
	if (filter.comm_enabled && !filter__comm_allows(ctx))
		return 0;
	return !filter.exe_pattern_count || filter__exe_allows();
}

/* The container the tracer itself runs in (0: on the host), learned at start
 * by tracer_whoami: a tracer tracing its own container is noise. */
__u64 self_container_cgroup_id = 0;

/* Is an event of this task reported: it matches, or it is followed. */
static __always_inline int filter__selects(const struct tracer_task_context *ctx)
{
	if (self_container_cgroup_id && ctx->container_cgroup_id == self_container_cgroup_id)
		return 0;
	if (filter__context_matches(ctx))
		return 1;
	return filter.follow && bpf_map_lookup_elem(&followed_tgids, &ctx->tgid);
}

/*
 * The current task's cached context (task.bpf.h), with what the filters say
 * of it decided when it was read, not per event: all but comm, which can
 * change unseen. NULL: no cache, read the context and use filter__selects.
 */
static __always_inline struct task_cache *filter__cached_task(void)
{
	int refreshed;
	struct task_cache *cache = task__cached(&refreshed);

	if (cache && refreshed) {
		const struct tracer_task_context *ctx = &cache->ctx;

		cache->own_container =
			self_container_cgroup_id && ctx->container_cgroup_id == self_container_cgroup_id;
		cache->selected = !filter.enabled || (filter__cheap_allow(ctx) &&
						      (!filter.exe_pattern_count || filter__exe_allows()));
	}
	return cache;
}

/* filter__selects for a cached context. */
static __always_inline int filter__selects_cached(struct task_cache *cache)
{
	if (cache->own_container)
		return 0;
	if (cache->selected) {
		if (!filter.enabled || !filter.comm_enabled)
			return 1;
		task__read_comm(&cache->ctx);
		if (filter__comm_allows(&cache->ctx))
			return 1;
	}
	return filter.follow && bpf_map_lookup_elem(&followed_tgids, &cache->ctx.tgid);
}

/* Is an event of the current task reported? Its context then: the cache's
 * (comm as of the last read), or, without a cache, the one read into
 * *uncached. NULL: not reported. */
static __always_inline const struct tracer_task_context *filter__current_selects(struct tracer_task_context *uncached)
{
	struct task_cache *cache = filter__cached_task();

	if (cache)
		return filter__selects_cached(cache) ? &cache->ctx : 0;
	task__read_context(uncached);
	return filter__selects(uncached) ? uncached : 0;
}

static __always_inline int filter__wants_event(__u16 event_id)
{
	return (filter.wanted_events >> event_id) & 1;
}

/* follow: a child of a matching or followed process is followed. A full
 * map leaves the child, and its descendants, unseen: counted, never silent. */
static __always_inline void filter__follow_child(const struct tracer_task_context *parent, __u32 child_tgid)
{
	__u8 one = 1;

	if (filter.follow && child_tgid != parent->tgid && filter__selects(parent) &&
	    bpf_map_update_elem(&followed_tgids, &child_tgid, &one, BPF_ANY))
		drops__count(TRACER_DROP_FOLLOW_FULL);
}

/* follow: forget a thread group once its last thread exits. */
static __always_inline void filter__forget(__u32 tgid)
{
	if (filter.follow)
		bpf_map_delete_elem(&followed_tgids, &tgid);
}
