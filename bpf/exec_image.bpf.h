/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The executed image as the kernel sees it, appended to an exec record: its
 * name (bprm->filename), interpreter, file (absolute path, dev, inode, link
 * count) and the caller's working directory.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"
#include "maps.bpf.h"
#include "path.bpf.h"
#include "record.bpf.h"

/* An absolute path resolved from a dentry and its mount, appended; returns
 * its length and sets truncated_flag when the walk could not reach the root. */
static __always_inline __u16 exec_image__append_resolved(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
							 struct dentry *dentry, struct vfsmount *mnt,
							 __u32 truncated_flag)
{
	struct path_scratch *scratch = path__scratch();
	__u32 at = *offset & PATH_OFFSET_MASK;

	if (!scratch || !dentry || !mnt)
		return 0;
	path__resolve(scratch, (__u64)dentry, (__u64)mnt);
	if (scratch->truncated)
		rec->flags |= truncated_flag;
	__u32 len = scratch->len & (TRACER_PATH_MAX - 1);
	bpf_probe_read_kernel(&data[at], len, &scratch->bytes[scratch->start & (PATH_HALF - 1)]);
	*offset = at + len;
	return len;
}

/* The calling task's working directory. */
static __always_inline void exec_image__append_cwd(struct tracer_exec_record *rec, __u8 *data, __u32 *offset)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fs_struct *fs = BPF_CORE_READ(task, fs);

	rec->cwd_len = exec_image__append_resolved(rec, data, offset, BPF_CORE_READ(fs, pwd.dentry),
						   BPF_CORE_READ(fs, pwd.mnt), TRACER_EXEC_CWD_TRUNCATED);
}

/* The host name: a 65-byte kernel string, read once per exec (not per
 * syscall; later records of the same UTS namespace are named in userspace). */
static __always_inline void exec_image__read_host(struct tracer_exec_record *rec)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct uts_namespace *uts = BPF_CORE_READ(task, nsproxy, uts_ns);

	if (bpf_probe_read_kernel_str(rec->host, sizeof(rec->host), &uts->name.nodename) < 0)
		rec->host[0] = 0;
}

static __always_inline void exec_image__append(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
					       struct linux_binprm *bprm)
{
	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	struct file *file = BPF_CORE_READ(bprm, file);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	long len;

	rec->flags |= TRACER_EXEC_KERNEL_VIEW;
	len = record__append_path(data, offset, filename, 0);
	if (len < 0) {
		rec->flags |= TRACER_EXEC_FILENAME_READ_FAILED;
		drops__count(TRACER_DROP_FILENAME_READ);
	} else {
		rec->filename_len = len;
	}
	if (interp && interp != filename) {
		len = record__append_path(data, offset, interp, 0);
		if (len >= 0)
			rec->interp_len = len;
	}
	rec->exe_len = exec_image__append_resolved(rec, data, offset, BPF_CORE_READ(file, f_path.dentry),
						   BPF_CORE_READ(file, f_path.mnt), TRACER_EXEC_EXE_TRUNCATED);
	exec_image__append_cwd(rec, data, offset);
	exec_image__read_host(rec);
	rec->inode = BPF_CORE_READ(inode, i_ino);
	rec->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (BPF_CORE_READ(inode, i_nlink) == 0)
		rec->flags |= TRACER_EXEC_FILELESS;
}
