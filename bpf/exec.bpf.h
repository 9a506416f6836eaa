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

static __always_inline int exec__on_sys_enter(struct pt_regs *regs, __u16 event_id, int compat)
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
		pathname = (const char *)syscall__arg(regs, 0, compat);
		inflight->argv_ptr = syscall__arg(regs, 1, compat);
	} else {
		inflight->dirfd = (__s32)syscall__arg(regs, 0, compat);
		pathname = (const char *)syscall__arg(regs, 1, compat);
		inflight->argv_ptr = syscall__arg(regs, 2, compat);
		inflight->at_flags = (__u32)syscall__arg(regs, 4, compat);
	}
	inflight->pathname_ptr = (__u64)pathname;
	inflight->pathname_len = 0;
	len = bpf_probe_read_user_str(inflight->pathname, sizeof(inflight->pathname), pathname);
	if (len > 0)
		inflight->pathname_len = len - 1;
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
	if (len > 0) {
		inflight->pathname_len = len - 1;
		inflight->flags &= ~EXEC_INFLIGHT_PATHNAME_PENDING;
	}
}

/* Zeroes what every exec record fills in later. */
static __always_inline void exec__reset_record(struct tracer_exec_record *rec, __u16 event_id)
{
	rec->header.kind = TRACER_RECORD_EXEC;
	rec->header.event_id = event_id;
	rec->header.boot_ns = bpf_ktime_get_boot_ns();
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
	rec->_pad = 0;
}

/* Starts an exec record from what sys_enter stashed: context and pathname.
 * Returns the offset after the pathname. */
static __always_inline __u32 exec__begin_record(struct tracer_exec_record *rec, __u8 *data,
						const struct exec_inflight *inflight)
{
	__u16 pathname_len = inflight->pathname_len & (TRACER_PATH_MAX - 1);

	exec__reset_record(rec, inflight->event_id);
	rec->header.task = inflight->task;
	rec->dirfd = inflight->dirfd;
	rec->at_flags = inflight->at_flags;
	rec->flags = inflight->flags & ~EXEC_INFLIGHT_PATHNAME_PENDING;
	if (inflight->flags & EXEC_INFLIGHT_PATHNAME_PENDING) {
		rec->flags |= TRACER_EXEC_PATHNAME_READ_FAILED;
		drops__count(TRACER_DROP_PATHNAME_READ);
	}
	rec->old_tid = inflight->task.tid;
	bpf_probe_read_kernel(data, pathname_len, inflight->pathname);
	rec->pathname_len = pathname_len;
	return pathname_len;
}

/* The caller's argv, pointer by pointer, for a failed exec. */
static __always_inline void exec__read_caller_argv(struct tracer_exec_record *rec, __u8 *data,
						   __u32 start, __u64 argv, int compat)
{
	__u64 used = 0; /* 64-bit so that the bounds checks land on the register used */
	__u32 argc = 0;

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
		used += len;
		argc++;
		if (len == room) {
			rec->flags |= TRACER_EXEC_ARGV_TRUNCATED;
			break;
		}
	}
	rec->argc = argc;
	rec->argv_len = used;
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
	offset = exec__begin_record(rec, data, inflight);
	rec->ret = ret;
	offset &= PATH_OFFSET_MASK;
	exec__read_caller_argv(rec, data, offset, inflight->argv_ptr, inflight->flags & TRACER_EXEC_COMPAT);
	rec->header.size = sizeof(*rec) + offset + rec->argv_len;
	record__send(rec, rec->header.size);
done:
	bpf_map_delete_elem(&exec_inflight_by_tid, &tid);
	return 0;
}

/* The executed file's absolute path, from its dentry. */
static __always_inline void exec__append_exe(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
					     struct linux_binprm *bprm)
{
	struct path_scratch *scratch = path__scratch();
	__u32 at = *offset & PATH_OFFSET_MASK;

	if (!scratch)
		return;
	path__of_file(scratch, BPF_CORE_READ(bprm, file));
	if (scratch->truncated)
		rec->flags |= TRACER_EXEC_EXE_TRUNCATED;
	__u32 len = scratch->len & (TRACER_PATH_MAX - 1);
	bpf_probe_read_kernel(&data[at], len, &scratch->bytes[scratch->start & (PATH_HALF - 1)]);
	rec->exe_len = len;
	*offset = at + len;
}

/* What only the kernel knows once the exec has succeeded. */
static __always_inline void exec__read_kernel_view(struct tracer_exec_record *rec, __u8 *data, __u32 *offset,
						   struct task_struct *task, struct linux_binprm *bprm)
{
	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	struct inode *inode = BPF_CORE_READ(bprm, file, f_inode);
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 arg_start = BPF_CORE_READ(mm, arg_start);
	__u64 arg_end = BPF_CORE_READ(mm, arg_end);
	__u64 argv_len = arg_end > arg_start ? arg_end - arg_start : 0;
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
	exec__append_exe(rec, data, offset, bprm);
	rec->inode = BPF_CORE_READ(inode, i_ino);
	rec->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (BPF_CORE_READ(inode, i_nlink) == 0)
		rec->flags |= TRACER_EXEC_FILELESS;
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
	*offset = at;
}

static __always_inline int exec__on_sched_process_exec(struct task_struct *task, __u32 old_tid,
							struct linux_binprm *bprm)
{
	struct exec_inflight *inflight = bpf_map_lookup_elem(&exec_inflight_by_tid, &old_tid);
	struct record_scratch *scratch = record__scratch();
	struct tracer_exec_record *rec;
	__u8 *data;
	__u32 offset = 0;

	if (!scratch)
		goto done;
	rec = (struct tracer_exec_record *)scratch->bytes;
	data = scratch->bytes + sizeof(*rec);
	if (inflight) {
		offset = exec__begin_record(rec, data, inflight);
	} else if (bpf_map_lookup_elem(&exec_filtered_out_by_tid, &old_tid)) {
		bpf_map_delete_elem(&exec_filtered_out_by_tid, &old_tid);
		return 0;
	} else {
		/* Entered before we attached, or by a path we do not hook. The
		 * filters see the task as it is now (its comm is the new one). */
		exec__reset_record(rec, TRACER_EVENT_EXECVE);
		task__read_context(&rec->header.task);
		if (!filter__wants_event(TRACER_EVENT_EXECVE) || !filter__selects(&rec->header.task))
			return 0;
		rec->header.task.tid = old_tid;
		rec->flags = TRACER_EXEC_ENTRY_MISSING;
	}
	rec->old_tid = old_tid;
	exec__read_kernel_view(rec, data, &offset, task, bprm);
	rec->header.size = sizeof(*rec) + (offset & PATH_OFFSET_MASK) + rec->argv_len;
	record__send(rec, rec->header.size);
done:
	if (inflight)
		bpf_map_delete_elem(&exec_inflight_by_tid, &old_tid);
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
