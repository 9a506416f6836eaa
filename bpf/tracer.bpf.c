// SPDX-License-Identifier: GPL-2.0-only
/* The tracer's BPF object: every program and map, one skeleton. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "tracer_abi.h"
#include "container.bpf.h"
#include "exec_bprm_check.bpf.h"
#include "exec_entry.bpf.h"
#include "exec_failure.bpf.h"
#include "exec_success.bpf.h"
#include "executable_watch.bpf.h"
#include "filter.bpf.h"
#include "lifecycle.bpf.h"
#include "syscall.bpf.h"
#include "syscall_regs.bpf.h"
#include "task.bpf.h"
#include "mem_capture.bpf.h"
#include "user_function.bpf.h"
#include "write_capture.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Syscall entry and exit. Where the per-syscall tracepoints can be attached
 * (userspace finds their ids in tracefs, mounted privately if need be), only
 * the exec syscalls run a program; elsewhere the raw sys_enter/sys_exit
 * programs below run for every syscall and pick the execs out.
 */
static __always_inline int on_exec_enter(const struct exec_syscall_args *args, __u16 event_id, int compat)
{
	if (!filter__wants_event(event_id))
		return exec_entry__mark_filtered_out((__u32)bpf_get_current_pid_tgid());
	return exec_entry__on_sys_enter(args, event_id, compat);
}

/* Inlined with a constant event, so that execve's program reads only the
 * three arguments its tracepoint has. */
static __always_inline int on_exec_tracepoint_enter(struct syscall_enter_record *ctx, __u16 event_id)
{
	struct exec_syscall_args args = {};

	syscall__args_from_tracepoint(args.arg, event_id == TRACER_EVENT_EXECVEAT ? EXEC_SYSCALL_ARGS : 3, ctx);
	return on_exec_enter(&args, event_id, 0);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int tracer_enter_execve(struct syscall_enter_record *ctx)
{
	return on_exec_tracepoint_enter(ctx, TRACER_EVENT_EXECVE);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int tracer_enter_execveat(struct syscall_enter_record *ctx)
{
	return on_exec_tracepoint_enter(ctx, TRACER_EVENT_EXECVEAT);
}

/* One program for both exits (verified once): userspace attaches it to
 * sys_exit_execve and sys_exit_execveat, whose records are alike. */
SEC("tracepoint/syscalls/sys_exit_execve")
int tracer_exec_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exec_failure__on_sys_exit(ctx->ret);
}

/*
 * Any other selected syscall by its own tracepoints: userspace attaches the
 * entry program matching the syscall's argument count (a program may not read
 * past its tracepoint's record) and the one exit program.
 */
static __always_inline int on_syscall_tracepoint_enter(struct syscall_enter_record *ctx, int arg_count)
{
	__u64 args[TRACER_SYSCALL_ARGS] = {};

	syscall__args_from_tracepoint(args, arg_count, ctx);
	return syscall__on_enter(ctx->nr, args);
}

#define SYSCALL_TRACEPOINT_ENTER(n)                                         \
	SEC("tracepoint")                                                   \
	int tracer_syscall_enter_##n(struct syscall_enter_record *ctx)      \
	{                                                                   \
		return on_syscall_tracepoint_enter(ctx, n);                 \
	}

SYSCALL_TRACEPOINT_ENTER(0)
SYSCALL_TRACEPOINT_ENTER(1)
SYSCALL_TRACEPOINT_ENTER(2)
SYSCALL_TRACEPOINT_ENTER(3)
SYSCALL_TRACEPOINT_ENTER(4)
SYSCALL_TRACEPOINT_ENTER(5)
SYSCALL_TRACEPOINT_ENTER(6)

SEC("tracepoint")
int tracer_syscall_exit(struct trace_event_raw_sys_exit *ctx)
{
	return syscall__on_exit(ctx->id, ctx->ret);
}

/* The raw syscall-entry dispatcher, where per-syscall tracepoints are not
 * used: the selected syscalls (64-bit), then the exec numbers, 64- and 32-bit. */
SEC("raw_tp/sys_enter")
int BPF_PROG(tracer_sys_enter, struct pt_regs *regs, long nr)
{
	struct exec_syscall_args args;
	__u16 event_id;
	int compat;

	if (syscall__selected(nr)) {
		__u64 raw_args[TRACER_SYSCALL_ARGS];

		if (task__in_compat_syscall())
			return 0;
		syscall__args_from_regs(raw_args, TRACER_SYSCALL_ARGS, regs, 0);
		return syscall__on_enter(nr, raw_args);
	}
	event_id = exec_entry__event_of_syscall(nr, &compat);
	if (!event_id)
		return 0;
	syscall__args_from_regs(args.arg, EXEC_SYSCALL_ARGS, regs, compat);
	return on_exec_enter(&args, event_id, compat);
}

/* tp_btf, not raw_tp: it reads regs and the task directly (see
 * syscall__nr_at_exit); no helper call for the unselected. */
SEC("tp_btf/sys_exit")
int BPF_PROG(tracer_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = syscall__nr_at_exit(regs);

	if (syscall__selected(nr)) {
		if (task__in_compat_syscall_btf())
			return 0;
		return syscall__on_exit(nr, ret);
	}
	if (nr == NR_EXECVE || nr == NR_EXECVEAT || nr == NR_COMPAT_EXECVE || nr == NR_COMPAT_EXECVEAT)
		return exec_failure__on_sys_exit(ret);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(tracer_sched_process_exec, struct task_struct *task, pid_t old_tid, struct linux_binprm *bprm)
{
	return exec_success__on_sched_process_exec(task, old_tid, bprm);
}

/* Optional: attaches only where the kernel has this tracepoint (6.10+). */
SEC("raw_tp/sched_prepare_exec")
int BPF_PROG(tracer_sched_prepare_exec)
{
	return exec_entry__on_sched_prepare_exec();
}

/* Loaded for security_bprm_check where the kernel permits BPF LSM programs
 * (userspace probes that first; autoload off otherwise). */
SEC("lsm/bprm_check_security")
int BPF_PROG(tracer_bprm_check, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret; /* denied already: no exec follows */
	exec_bprm_check__on_check(bprm);
	return 0;
}

/* Loaded for the fork/exit events or for follow (autoload off otherwise). */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(tracer_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	return lifecycle__on_fork(child);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(tracer_sched_process_exit, struct task_struct *task)
{
	return lifecycle__on_exit(task);
}

/* User-space functions: attached by userspace per configured function (its
 * slot is the attach cookie); autoload off unless some are traced. */
SEC("uprobe")
int tracer_user_enter(struct pt_regs *ctx)
{
	return user_function__on_entry(ctx);
}

SEC("uretprobe")
int tracer_user_return(struct pt_regs *ctx)
{
	return user_function__on_return(ctx);
}

/* Loaded for bash_readline: a bash run from elsewhere is probed when first seen. */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(tracer_executable_watch, struct task_struct *task, pid_t old_tid, struct linux_binprm *bprm)
{
	return executable__on_exec(bprm);
}

/* Never attached: userspace runs it once (BPF_PROG_TEST_RUN runs a raw_tp
 * program in the caller's context) to learn the tracer's own container. */
SEC("raw_tp")
int tracer_whoami(void *ctx)
{
	self_container_cgroup_id = container__cgroup_of_task((struct task_struct *)bpf_get_current_task());
	return 0;
}

/* --capture write: each call of the write family at its own tracepoint (its
 * argument count bounds what the program may read), and one exit program
 * for all five. Autoload off unless write captures are asked for. */
#define WRITE_CAPTURE_ENTER(name, count, call)                              \
	SEC("tracepoint")                                                   \
	int tracer_capture_##name(struct syscall_enter_record *ctx)   \
	{                                                                   \
		__u64 args[TRACER_SYSCALL_ARGS] = {};                       \
                                                                            \
		syscall__args_from_tracepoint(args, count, ctx);            \
		return write_capture__on_enter(ctx->nr, args, call);        \
	}

WRITE_CAPTURE_ENTER(write, 3, TRACER_WRITE_CALL_WRITE)
WRITE_CAPTURE_ENTER(pwrite64, 4, TRACER_WRITE_CALL_PWRITE64)
WRITE_CAPTURE_ENTER(writev, 3, TRACER_WRITE_CALL_WRITEV)
WRITE_CAPTURE_ENTER(pwritev, 5, TRACER_WRITE_CALL_PWRITEV)
WRITE_CAPTURE_ENTER(pwritev2, 6, TRACER_WRITE_CALL_PWRITEV2)

SEC("tracepoint")
int tracer_capture_write_exit(struct trace_event_raw_sys_exit *ctx)
{
	return write_capture__on_exit(ctx->id, ctx->ret);
}

/* --capture mem: mprotect and pkey_mprotect at their own tracepoints, one
 * exit program for both. Autoload off unless memory captures are asked for. */
#define MEM_CAPTURE_ENTER(name, count, call)                                \
	SEC("tracepoint")                                                   \
	int tracer_capture_##name(struct syscall_enter_record *ctx)         \
	{                                                                   \
		__u64 args[TRACER_SYSCALL_ARGS] = {};                       \
                                                                            \
		syscall__args_from_tracepoint(args, count, ctx);            \
		return mem_capture__on_enter(ctx->nr, args, call);          \
	}

MEM_CAPTURE_ENTER(mprotect, 3, TRACER_MEM_CALL_MPROTECT)
MEM_CAPTURE_ENTER(pkey_mprotect, 4, TRACER_MEM_CALL_PKEY_MPROTECT)

SEC("tracepoint")
int tracer_capture_mem_exit(struct trace_event_raw_sys_exit *ctx)
{
	return mem_capture__on_exit(ctx->id, ctx->ret);
}
