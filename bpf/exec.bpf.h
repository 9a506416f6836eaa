/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * execve/execveat: one record per attempt.
 *
 * sys_enter stashes the caller's context and pathname per tid (the caller's
 * memory is gone once a successful exec has replaced it). A successful exec is
 * reported from sched_process_exec, where the kernel's filename, the executed
 * image and the new argv (read from the new mm, before it runs) are at hand;
 * from that point the syscall can only return 0. A failed exec is reported at
 * sys_exit with the caller's argv.
 */
#pragma once

#define AT_FDCWD_VALUE -100

const volatile __u32 max_args = TRACER_MAX_ARGS_DEFAULT;

/* The length, NUL excluded, of a string bpf_probe_read_user_str() read
 * successfully (ret >= 0). Older kernels (6.1) return 0, not 1, for an empty
 * string (strncpy_from_user_nofault counted its NUL only for non-empty ones). */
static __always_inline __u16 user_str__length(long ret)
{
	return ret > 0 ? (__u16)(ret - 1) : 0;
}

/* In exec_inflight.flags only: the pathname read at entry failed (its page
 * was not mapped yet) and is retried once the kernel has copied it. */
#define EXEC_INFLIGHT_PATHNAME_PENDING (1u << 31)

struct exec_inflight {
	struct tracer_task_context task;
	__u64 pathname_ptr;
	__u64 argv_ptr;
	__s32 dirfd;
	__u32 at_flags;
	__u32 flags;
	__u16 event_id;
	__u16 pathname_len;
	char pathname[TRACER_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tid at entry */
	__type(value, struct exec_inflight);
} exec_inflight_by_tid SEC(".maps");

/* Execs whose entry was seen and filtered out: not to be mistaken, at
 * sched_process_exec, for execs whose entry was never seen. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tid at entry */
	__type(value, __u8);
} exec_filtered_out_by_tid SEC(".maps");

static __always_inline int exec__mark_filtered_out(__u32 tid)
{
	__u8 one = 1;

	bpf_map_update_elem(&exec_filtered_out_by_tid, &tid, &one, BPF_ANY);
	return 0;
}

/* Builds an exec_inflight off the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_inflight);
} exec_inflight_scratch SEC(".maps");

/* The exec event of a syscall number, or 0 when it is no exec. */
static __always_inline __u16 exec__event_of_syscall(long nr, int compat)
{
	if (!compat) {
		if (nr == NR_EXECVE)
			return TRACER_EVENT_EXECVE;
		if (nr == NR_EXECVEAT)
			return TRACER_EVENT_EXECVEAT;
		return 0;
	}
	if (nr == NR_COMPAT_EXECVE)
		return TRACER_EVENT_EXECVE;
	if (nr == NR_COMPAT_EXECVEAT)
		return TRACER_EVENT_EXECVEAT;
	return 0;
}

/* The syscall arguments of an exec, however the entry hook got them. */
struct exec_syscall_args {
	__u64 arg[5];
};

static __always_inline void exec__args_from_regs(struct exec_syscall_args *args, struct pt_regs *regs, int compat)
{
	for (int i = 0; i < 5; i++)
		args->arg[i] = syscall__arg(regs, i, compat);
}

static __always_inline int exec__on_sys_enter(const struct exec_syscall_args *args, __u16 event_id, int compat)
{
	__u32 zero = 0;
	struct exec_inflight *inflight = bpf_map_lookup_elem(&exec_inflight_scratch, &zero);
	const char *pathname;
	long len;

	if (!inflight)
		return 0;
	task__read_context(&inflight->task);
	if (!filter__selects(&inflight->task))
		return exec__mark_filtered_out(inflight->task.tid);
	inflight->event_id = event_id;
	inflight->flags = compat ? TRACER_EXEC_COMPAT : 0;
	if (event_id == TRACER_EVENT_EXECVE) {
		inflight->dirfd = AT_FDCWD_VALUE;
		inflight->at_flags = 0;
		pathname = (const char *)args->arg[0];
		inflight->argv_ptr = args->arg[1];
	} else {
		inflight->dirfd = (__s32)args->arg[0];
		pathname = (const char *)args->arg[1];
		inflight->argv_ptr = args->arg[2];
		inflight->at_flags = (__u32)args->arg[4];
	}
	inflight->pathname_ptr = (__u64)pathname;
	inflight->pathname_len = 0;
	len = bpf_probe_read_user_str(inflight->pathname, sizeof(inflight->pathname), pathname);
	if (len >= 0)
		inflight->pathname_len = user_str__length(len);
	else
		inflight->flags |= EXEC_INFLIGHT_PATHNAME_PENDING;

	if (bpf_map_lookup_elem(&exec_inflight_by_tid, &inflight->task.tid))
		drops__count(TRACER_DROP_STALE_INFLIGHT);
	if (bpf_map_update_elem(&exec_inflight_by_tid, &inflight->task.tid, inflight, BPF_ANY))
		drops__count(TRACER_DROP_INFLIGHT_FULL);
	return 0;
}

/* Retries a pathname read that failed at entry. Only valid while the
 * caller's mm is current: in sched_prepare_exec and at sys_exit. */
static __always_inline void exec__retry_pathname(struct exec_inflight *inflight)
{
	long len;

	if (!(inflight->flags & EXEC_INFLIGHT_PATHNAME_PENDING))
		return;
	len = bpf_probe_read_user_str(inflight->pathname, sizeof(inflight->pathname),
				      (const void *)inflight->pathname_ptr);
	if (len >= 0) {
		inflight->pathname_len = user_str__length(len);
		inflight->flags &= ~EXEC_INFLIGHT_PATHNAME_PENDING;
	}
}

/* Zeroes what every exec record fills in later. */
static __always_inline void exec__reset_record(struct tracer_exec_record *rec, __u16 event_id)
{
	record__init_header(&rec->header, TRACER_RECORD_EXEC, event_id, 0, 0);
	rec->ret = 0;
	rec->dirfd = AT_FDCWD_VALUE;
	rec->at_flags = 0;
	rec->flags = 0;
	rec->dev = 0;
	rec->inode = 0;
	rec->argc = 0;
	rec->argv_len = 0;
	rec->pathname_len = 0;
	rec->filename_len = 0;
	rec->interp_len = 0;
	rec->exe_len = 0;
	rec->cwd_len = 0;
	rec->_pad = 0;
}

/* Starts an exec record from what sys_enter stashed: the caller's context. */
static __always_inline void exec__begin_record(struct tracer_exec_record *rec, const struct exec_inflight *inflight)
{
	exec__reset_record(rec, inflight->event_id);
	rec->header.task = inflight->task;
	rec->dirfd = inflight->dirfd;
	rec->at_flags = inflight->at_flags;
	rec->flags = inflight->flags & ~EXEC_INFLIGHT_PATHNAME_PENDING;
	rec->old_tid = inflight->task.tid;
}

/* The pathname the caller passed, last in the record (a record without it is
 * the same bytes, shorter). */
static __always_inline void exec__append_pathname(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
						  const struct exec_inflight *inflight)
{
	__u16 pathname_len = inflight->pathname_len & (TRACER_PATH_MAX - 1);
	__u32 at = *offset & TAIL_OFFSET_MASK;

	if (inflight->flags & EXEC_INFLIGHT_PATHNAME_PENDING) {
		rec->flags |= TRACER_EXEC_PATHNAME_READ_FAILED;
		drops__count(TRACER_DROP_PATHNAME_READ);
	}
	bpf_probe_read_kernel(&data[at], pathname_len, inflight->pathname);
	rec->pathname_len = pathname_len;
	*offset = at + pathname_len;
}

/* An absolute path resolved from a dentry and its mount, appended; returns
 * its length and sets truncated_flag when the walk could not reach the root. */
static __always_inline __u16 exec__append_resolved(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
						   struct dentry *dentry, struct vfsmount *mnt, __u32 truncated_flag)
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
static __always_inline void exec__append_cwd(struct tracer_exec_record *rec, __u8 *data, __u32 *offset)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fs_struct *fs = BPF_CORE_READ(task, fs);

	rec->cwd_len = exec__append_resolved(rec, data, offset, BPF_CORE_READ(fs, pwd.dentry),
					     BPF_CORE_READ(fs, pwd.mnt), TRACER_EXEC_CWD_TRUNCATED);
}

/* The caller's argv, pointer by pointer, for a failed exec. The bytes used
 * and the count live in the record, not in registers: read back from map
 * memory in every iteration they have the same range each time, so the
 * verifier prunes the walk instead of following every range it narrowed
 * them to. */
static __always_inline void exec__read_caller_argv(struct tracer_exec_record *rec, __u8 *data,
						   __u32 start, __u64 argv, int compat)
{
	rec->argc = 0;
	rec->argv_len = 0;
	for (__u32 i = 0; i < TRACER_MAX_ARGS_LIMIT; i++) {
		__u64 arg = 0;
		long err;

		if (compat)
			err = bpf_probe_read_user(&arg, 4, (void *)(argv + 4 * (__u64)i));
		else
			err = bpf_probe_read_user(&arg, 8, (void *)(argv + 8 * (__u64)i));
		if (err) {
			if (argv) {
				rec->flags |= TRACER_EXEC_ARGV_READ_FAILED;
				drops__count(TRACER_DROP_ARGV_READ);
			}
			break;
		}
		if (!arg)
			break;
		__u64 used = rec->argv_len; /* 64-bit so that the bounds checks land on the register used */

		if (i >= max_args || used >= TRACER_ARGV_MAX) {
			rec->flags |= TRACER_EXEC_ARGV_TRUNCATED;
			break;
		}
		__u64 room = TRACER_ARGV_MAX - used;
		__u64 at = (start + used) & ARGV_OFFSET_MASK;

		barrier_var(room);
		if (room == 0 || room > TRACER_ARGV_MAX)
			break;
		long len = bpf_probe_read_user_str(&data[at], room, (const void *)arg);

		if (len < 0) {
			rec->flags |= TRACER_EXEC_ARGV_READ_FAILED;
			drops__count(TRACER_DROP_ARGV_READ);
			break;
		}
		if (len == 0)
			len = 1; /* an empty string on kernels before 6.x's fix: its NUL is there */
		rec->argv_len = used + len;
		rec->argc++;
		if (len == room) {
			rec->flags |= TRACER_EXEC_ARGV_TRUNCATED;
			break;
		}
	}
}

static __always_inline int exec__on_sys_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_inflight *inflight = bpf_map_lookup_elem(&exec_inflight_by_tid, &tid);
	struct record_scratch *scratch;
	struct tracer_exec_record *rec;
	__u8 *data;
	__u32 offset;

	if (!inflight) {
		bpf_map_delete_elem(&exec_filtered_out_by_tid, &tid);
		return 0;
	}
	exec__retry_pathname(inflight);
	scratch = record__scratch();
	if (!scratch)
		goto done;
	rec = (struct tracer_exec_record *)scratch->bytes;
	data = scratch->bytes + sizeof(*rec);
	exec__begin_record(rec, inflight);
	rec->ret = ret;
	offset = 0;
	exec__append_cwd(rec, data, &offset);
	offset &= PATH_OFFSET_MASK;
	exec__read_caller_argv(rec, data, offset, inflight->argv_ptr, inflight->flags & TRACER_EXEC_COMPAT);
	offset += rec->argv_len;
	exec__append_pathname(rec, data, &offset, inflight);
	rec->header.size = sizeof(*rec) + (offset & RECORD_OFFSET_MASK);
	record__send(rec, rec->header.size);
done:
	bpf_map_delete_elem(&exec_inflight_by_tid, &tid);
	return 0;
}

/* The executed image as the kernel sees it: its name, interpreter, file (path,
 * dev, inode, link count) and the caller's working directory. */
static __always_inline void exec__append_image(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
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
	rec->exe_len = exec__append_resolved(rec, data, offset, BPF_CORE_READ(file, f_path.dentry),
					     BPF_CORE_READ(file, f_path.mnt), TRACER_EXEC_EXE_TRUNCATED);
	exec__append_cwd(rec, data, offset);
	rec->inode = BPF_CORE_READ(inode, i_ino);
	rec->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (BPF_CORE_READ(inode, i_nlink) == 0)
		rec->flags |= TRACER_EXEC_FILELESS;
}

/* The argv the kernel installed in the new image, before it runs. */
static __always_inline void exec__append_new_argv(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
						  struct task_struct *task, struct linux_binprm *bprm)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 arg_start = BPF_CORE_READ(mm, arg_start);
	__u64 arg_end = BPF_CORE_READ(mm, arg_end);
	__u64 argv_len = arg_end > arg_start ? arg_end - arg_start : 0;

	rec->argc = BPF_CORE_READ(bprm, argc);
	if (argv_len > TRACER_ARGV_MAX) {
		argv_len = TRACER_ARGV_MAX;
		rec->flags |= TRACER_EXEC_ARGV_TRUNCATED;
	}
	__u32 at = *offset & PATH_OFFSET_MASK;
	if (bpf_probe_read_user(&data[at], argv_len, (const void *)arg_start)) {
		rec->flags |= TRACER_EXEC_ARGV_READ_FAILED;
		drops__count(TRACER_DROP_ARGV_READ);
		argv_len = 0;
	}
	rec->argv_len = argv_len;
	*offset = at + argv_len;
}

/*
 * A successful exec. Up to two records from one build: the execve/execveat
 * record (the caller's context, pathname last) and, when wanted, the
 * sched_process_exec record (the task as it is now, no pathname: the same
 * bytes, shorter). With the process-table feed on, an exec nobody selected
 * still goes out, flagged context-only.
 */
static __always_inline int exec__on_sched_process_exec(struct task_struct *task, __u32 old_tid,
							struct linux_binprm *bprm)
{
	struct exec_inflight *inflight = bpf_map_lookup_elem(&exec_inflight_by_tid, &old_tid);
	struct record_scratch *scratch = record__scratch();
	const int filtered_out = !inflight && bpf_map_lookup_elem(&exec_filtered_out_by_tid, &old_tid);
	const int want_exec_event = filter__wants_event(TRACER_EVENT_SCHED_PROCESS_EXEC);
	struct tracer_task_context now = {};
	int execve_selected = 0;
	int exec_selected = 0;
	struct tracer_exec_record *rec;
	__u8 *data;
	__u32 offset = 0;

	if (filtered_out)
		bpf_map_delete_elem(&exec_filtered_out_by_tid, &old_tid);
	if (!scratch)
		goto done;
	rec = (struct tracer_exec_record *)scratch->bytes;
	data = scratch->bytes + sizeof(*rec);
	/* The task as it is now (its comm is the new one). */
	if (want_exec_event || process_table_feed || (!inflight && !filtered_out))
		task__read_context(&now);
	exec_selected = want_exec_event && filter__selects(&now);
	if (inflight) {
		exec__begin_record(rec, inflight);
		execve_selected = 1;
	} else if (!filtered_out && filter__wants_event(TRACER_EVENT_EXECVE) && filter__selects(&now)) {
		/* Entered before we attached, or by a path we do not hook. */
		exec__reset_record(rec, TRACER_EVENT_EXECVE);
		rec->header.task = now;
		rec->header.task.tid = old_tid;
		rec->flags = TRACER_EXEC_ENTRY_MISSING;
		execve_selected = 1;
	}
	if (!execve_selected && !exec_selected && !process_table_feed)
		goto done;
	if (!execve_selected) {
		exec__reset_record(rec, TRACER_EVENT_SCHED_PROCESS_EXEC);
		rec->header.task = now;
		if (!exec_selected)
			rec->header.flags = TRACER_HEADER_CONTEXT_ONLY;
	}
	rec->old_tid = old_tid;
	rec->header.task.exec_gen = task__exec_gen(task); /* the image this exec started */
	exec__append_image(rec, data, &offset, bprm);
	exec__append_new_argv(rec, data, &offset, task, bprm);
	const __u32 image_size = sizeof(*rec) + (offset & RECORD_OFFSET_MASK);

	if (execve_selected) {
		if (inflight)
			exec__append_pathname(rec, data, &offset, inflight);
		rec->header.size = sizeof(*rec) + (offset & RECORD_OFFSET_MASK);
		record__send(rec, rec->header.size);
		if (!exec_selected)
			goto done;
		rec->header.event_id = TRACER_EVENT_SCHED_PROCESS_EXEC;
		rec->header.task = now;
		rec->flags &= ~(TRACER_EXEC_PATHNAME_READ_FAILED | TRACER_EXEC_ENTRY_MISSING);
		rec->pathname_len = 0;
		rec->dirfd = AT_FDCWD_VALUE;
		rec->at_flags = 0;
	}
	rec->header.size = image_size;
	record__send(rec, image_size);
done:
	if (inflight)
		bpf_map_delete_elem(&exec_inflight_by_tid, &old_tid);
	return 0;
}

/* BPF LSM bprm_check_security: the check before the exec commits, once per
 * file tried (a script, then its interpreter). The caller's memory is still
 * current: argv is what it passed, read through its syscall arguments. */
static __always_inline int exec__on_bprm_check(struct linux_binprm *bprm)
{
	struct record_scratch *scratch;
	struct tracer_exec_record *rec;
	__u8 *data;
	__u32 offset = 0;

	if (!filter__wants_event(TRACER_EVENT_SECURITY_BPRM_CHECK))
		return 0;
	scratch = record__scratch();
	if (!scratch)
		return 0;
	rec = (struct tracer_exec_record *)scratch->bytes;
	data = scratch->bytes + sizeof(*rec);
	exec__reset_record(rec, TRACER_EVENT_SECURITY_BPRM_CHECK);
	task__read_context(&rec->header.task);
	if (!filter__selects(&rec->header.task))
		return 0;
	rec->old_tid = rec->header.task.tid;
	exec__append_image(rec, data, &offset, bprm);

	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = syscall__nr_of(regs);
	int compat = (nr == NR_COMPAT_EXECVE || nr == NR_COMPAT_EXECVEAT) && task__in_compat_syscall();
	__u16 event_id = exec__event_of_syscall(nr, compat);

	offset &= PATH_OFFSET_MASK;
	if (event_id)
		exec__read_caller_argv(rec, data, offset,
				       syscall__arg(regs, event_id == TRACER_EVENT_EXECVE ? 1 : 2, compat), compat);
	rec->header.size = sizeof(*rec) + offset + rec->argv_len;
	record__send(rec, rec->header.size);
	return 0;
}

/* Point of no return, old mm still current (kernels 6.10+): the last moment
 * a pathname that was not readable at entry can be read from the caller. */
static __always_inline int exec__on_sched_prepare_exec(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_inflight *inflight = bpf_map_lookup_elem(&exec_inflight_by_tid, &tid);

	if (inflight)
		exec__retry_pathname(inflight);
	return 0;
}
