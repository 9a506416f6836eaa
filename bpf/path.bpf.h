/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The absolute path of a struct path, built by walking dentries up to the
 * global root and crossing mount points (what d_path does, bounded for the
 * verifier). Names are written backwards from PATH_HALF; the offset masks keep
 * every write inside the scratch.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define PATH_SCRATCH_SIZE 8192
#define PATH_HALF 4096
#define PATH_WALK_MAX_COMPONENTS 64
#define PATH_NAME_MASK 255

struct path_scratch {
	__u32 start; /* result of the last walk: first byte in bytes */
	__u32 len;
	__s32 truncated;
	__u32 _pad;
	char bytes[PATH_SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch_by_cpu SEC(".maps");

static __always_inline struct path_scratch *path__scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&path_scratch_by_cpu, &zero);
}

/*
 * Global, not inlined: the verifier checks this long loop once, on its own,
 * instead of at every call site. Leaves the path in scratch->bytes from
 * scratch->start, scratch->len bytes long.
 */
__noinline int path__resolve(struct path_scratch *scratch, __u64 dentry_address, __u64 vfsmnt_address)
{
	struct dentry *dentry = (struct dentry *)dentry_address;
	struct vfsmount *vfsmnt = (struct vfsmount *)vfsmnt_address;
	struct mount *mnt = (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
	int truncated = 1;

	if (!scratch)
		return 0;
	/* The write position lives in the scratch, not in a register: read back
	 * from map memory each time, it has the same range in every iteration,
	 * so the verifier prunes the walk instead of following each distinct
	 * range it would otherwise narrow it to (10x fewer states). */
	scratch->start = PATH_HALF;
	for (int i = 0; i < PATH_WALK_MAX_COMPONENTS; i++) {
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

		if (dentry == mnt_root) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

			if (mnt == mnt_parent || !mnt_parent) {
				truncated = 0; /* reached the global root */
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = (struct vfsmount *)((char *)mnt + bpf_core_field_offset(struct mount, mnt));
			continue;
		}
		__u32 len = BPF_CORE_READ(dentry, d_name.len) & PATH_NAME_MASK;
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		__u32 start = scratch->start;

		if (len + 1 >= start)
			break; /* no room: truncated */
		start = (start - len - 1) & (PATH_HALF - 1);
		scratch->start = start;
		scratch->bytes[start] = '/';
		bpf_probe_read_kernel(&scratch->bytes[start + 1], len, name);
		if (dentry == parent) {
			truncated = 0; /* a detached root (memfd, pipe): its name only */
			break;
		}
		dentry = parent;
	}
	__u32 start = scratch->start;

	if (start >= PATH_HALF) {
		start = PATH_HALF - 1;
		scratch->bytes[start] = '/';
	}
	scratch->start = start & (PATH_HALF - 1);
	scratch->len = PATH_HALF - scratch->start;
	scratch->truncated = truncated;
	return 0;
}

/* Path of a file, into the scratch. */
static __always_inline void path__of_file(struct path_scratch *scratch, struct file *file)
{
	if (!file) {
		scratch->start = 0;
		scratch->len = 0;
		scratch->truncated = 1;
		return;
	}
	path__resolve(scratch, (__u64)BPF_CORE_READ(file, f_path.dentry), (__u64)BPF_CORE_READ(file, f_path.mnt));
}
