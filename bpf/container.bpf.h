/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Containers, recognised by how runtimes name their cgroups:
 *   docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope,
 *   libpod-<id>.scope (systemd drivers), and a bare <id> (cgroupfs drivers:
 *   /docker/<id>, /kubepods/.../<id>), with <id> 64 lowercase hex digits.
 * The task's cgroup and its ancestors are looked at on the unified (v2)
 * hierarchy first, then on the v1 memory hierarchy. The answer is cached per
 * pair of cgroups, so the names are parsed once per cgroup, not per event.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"

#define CONTAINER_NAME_MAX 256
#define CONTAINER_WALK_LEVELS 8

struct container_key {
	__u64 unified_cgroup_id;
	__u64 memory_cgroup_id; /* v1 memory hierarchy; 0 where it is not used */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct container_key);
	__type(value, __u64); /* the cgroup named after the container; 0: the host */
} container_by_cgroups SEC(".maps");

/* Container id text by the cgroup that names it; read by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct tracer_container_id);
} container_ids SEC(".maps");

struct container_scratch {
	char name[CONTAINER_NAME_MAX];
	struct tracer_container_id id;
	__u64 id_start; /* where the id starts in name, while parsing */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct container_scratch);
} container_scratch_by_cpu SEC(".maps");

static __always_inline int container__is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static __always_inline int container__prefix_is(const char *name, __u32 len, const char *word, __u32 word_len)
{
	if (len != word_len)
		return 0;
	for (__u32 i = 0; i < 16 && i < word_len; i++)
		if (name[i] != word[i])
			return 0;
	return 1;
}

/* A runtime's prefix before "-<id>": conmon and other helpers do not count. */
static __always_inline int container__known_prefix(const char *name, __u32 len)
{
	return container__prefix_is(name, len, "docker", 6) || container__prefix_is(name, len, "libpod", 6) ||
	       container__prefix_is(name, len, "crio", 4) || container__prefix_is(name, len, "cri-containerd", 14);
}

/* The name's byte at i, with a bound the verifier keeps. */
static __always_inline char container__name_at(const struct container_scratch *scratch, __u64 i)
{
	i &= CONTAINER_NAME_MAX - 1;
	barrier_var(i);
	return scratch->name[i];
}

/*
 * Global, verified once. Parses the cgroup name in scratch->name (len bytes)
 * and copies the id into scratch->id. Returns 1 when the name is a
 * container's.
 */
__noinline int container__parse_name(struct container_scratch *scratch, __u32 name_len)
{
	__u64 end = name_len;
	__u64 start;

	if (!scratch || end > CONTAINER_NAME_MAX)
		return 0;
	if (end > 6 && container__name_at(scratch, end - 6) == '.' && container__name_at(scratch, end - 5) == 's' &&
	    container__name_at(scratch, end - 4) == 'c' && container__name_at(scratch, end - 3) == 'o' &&
	    container__name_at(scratch, end - 2) == 'p' && container__name_at(scratch, end - 1) == 'e')
		end -= 6;
	if (end < TRACER_CONTAINER_ID_LEN)
		return 0;
	start = end - TRACER_CONTAINER_ID_LEN;
	if (start > 0) {
		if (container__name_at(scratch, start - 1) != '-')
			return 0;
		if (!container__known_prefix(scratch->name, start - 1))
			return 0;
	}
	/* Read back from map memory, the start has one range for every way
	 * here, and the verifier walks the loop once instead of once per way. */
	scratch->id_start = start;
	for (__u64 i = 0; i < TRACER_CONTAINER_ID_LEN; i++) {
		char c = container__name_at(scratch, scratch->id_start + i);

		if (!container__is_hex(c))
			return 0;
		scratch->id.text[i] = c;
	}
	return 1;
}

/* Walks a cgroup and its ancestors; the id of the first one named after a
 * container (its id left in scratch->id), or 0. */
static __always_inline __u64 container__find_in_hierarchy(struct container_scratch *scratch, struct cgroup *cgroup)
{
	for (int level = 0; level < CONTAINER_WALK_LEVELS && cgroup; level++) {
		struct kernfs_node *kn = BPF_CORE_READ(cgroup, kn);
		const char *name = BPF_CORE_READ(kn, name);
		long len = bpf_probe_read_kernel_str(scratch->name, sizeof(scratch->name), name);

		if (len > 1 && container__parse_name(scratch, len - 1))
			return BPF_CORE_READ(kn, id);
		cgroup = BPF_CORE_READ(cgroup, self.parent, cgroup);
	}
	return 0;
}

static __always_inline struct cgroup *container__memory_cgroup(struct task_struct *task)
{
	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return 0;
	int index = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);

	return BPF_CORE_READ(task, cgroups, subsys[index & 15], cgroup);
}

/* The cgroup named after the task's container (0 on the host): looked up,
 * or worked out once and cached. */
static __always_inline __u64 container__cgroup_of_task(struct task_struct *task)
{
	struct cgroup *unified = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	struct cgroup *memory = container__memory_cgroup(task);
	struct container_key key = {
		.unified_cgroup_id = BPF_CORE_READ(unified, kn, id),
		.memory_cgroup_id = memory ? BPF_CORE_READ(memory, kn, id) : 0,
	};
	const __u64 *cached = bpf_map_lookup_elem(&container_by_cgroups, &key);
	__u64 container_cgroup;
	__u32 zero = 0;

	if (cached)
		return *cached;
	struct container_scratch *scratch = bpf_map_lookup_elem(&container_scratch_by_cpu, &zero);
	if (!scratch)
		return 0;
	container_cgroup = container__find_in_hierarchy(scratch, unified);
	if (!container_cgroup && memory)
		container_cgroup = container__find_in_hierarchy(scratch, memory);
	/* The id first: a record naming this cgroup may be read at once. */
	if (container_cgroup)
		bpf_map_update_elem(&container_ids, &container_cgroup, &scratch->id, BPF_ANY);
	bpf_map_update_elem(&container_by_cgroups, &key, &container_cgroup, BPF_ANY);
	return container_cgroup;
}
