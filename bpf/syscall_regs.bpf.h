/* SPDX-License-Identifier: GPL-2.0-only */
/* Syscall numbers and arguments: from the user pt_regs (raw_tp/sys_enter,
 * bprm_check) or from a syscalls:sys_enter_<name> tracepoint's record. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "tracer_abi.h"

#if defined(__TARGET_ARCH_x86)
#define NR_EXECVE 59
#define NR_EXECVEAT 322
#define NR_COMPAT_EXECVE 11
#define NR_COMPAT_EXECVEAT 358
#elif defined(__TARGET_ARCH_arm64)
#define NR_EXECVE 221
#define NR_EXECVEAT 281
#define NR_COMPAT_EXECVE -1
#define NR_COMPAT_EXECVEAT -1
#else
#error "tracer: syscall numbers for this architecture are missing"
#endif

/* The n-th (0-based) syscall argument of a 64-bit or a 32-bit (compat) call. */
static __always_inline __u64 syscall__arg(struct pt_regs *regs, int n, int compat)
{
#if defined(__TARGET_ARCH_x86)
	if (compat) {
		switch (n) {
		case 0: return (__u32)BPF_CORE_READ(regs, bx);
		case 1: return (__u32)BPF_CORE_READ(regs, cx);
		case 2: return (__u32)BPF_CORE_READ(regs, dx);
		case 3: return (__u32)BPF_CORE_READ(regs, si);
		case 4: return (__u32)BPF_CORE_READ(regs, di);
		default: return (__u32)BPF_CORE_READ(regs, bp);
		}
	}
#endif
	switch (n) {
	case 0: return PT_REGS_PARM1_CORE_SYSCALL(regs);
	case 1: return PT_REGS_PARM2_CORE_SYSCALL(regs);
	case 2: return PT_REGS_PARM3_CORE_SYSCALL(regs);
	case 3: return PT_REGS_PARM4_CORE_SYSCALL(regs);
	case 4: return PT_REGS_PARM5_CORE_SYSCALL(regs);
#if defined(__TARGET_ARCH_x86)
	default: return BPF_CORE_READ(regs, r9);
#else
	default: return BPF_CORE_READ(regs, regs[5]);
#endif
	}
}

/* The syscall number as seen at sys_exit, from a tp_btf program's trusted
 * regs: a direct load, no helper call (this runs for every syscall). */
static __always_inline long syscall__nr_at_exit(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#else
	return regs->syscallno;
#endif
}

/* The syscall number from any pt_regs pointer (read through a helper). */
static __always_inline long syscall__nr_of(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#else
	return BPF_CORE_READ(regs, syscallno);
#endif
}

/* The first count arguments of a 64-bit or a 32-bit (compat) call. */
static __always_inline void syscall__args_from_regs(__u64 *args, int count, struct pt_regs *regs, int compat)
{
#pragma unroll
	for (int i = 0; i < TRACER_SYSCALL_ARGS; i++)
		if (i < count)
			args[i] = syscall__arg(regs, i, compat);
}

/* The record of syscalls:sys_enter_<name>: __syscall_nr is an int, and the
 * record ends after the syscall's own arguments (12 bytes for none), so
 * vmlinux.h's struct trace_event_raw_sys_enter (a long id) cannot be used. */
struct syscall_enter_record {
	__u64 common;
	__s32 nr;
	__s32 _pad;
	__u64 args[TRACER_SYSCALL_ARGS];
};

/* The first count arguments of such a record. Inlined with a constant
 * count, so that every read is at a constant offset (the verifier refuses a
 * ctx pointer moved by a loop) and none is past the syscall's own arguments
 * (the kernel refuses to attach a program that reads past a tracepoint's
 * record). */
static __always_inline void syscall__args_from_tracepoint(__u64 *args, int count,
							   const struct syscall_enter_record *ctx)
{
#pragma unroll
	for (int i = 0; i < TRACER_SYSCALL_ARGS; i++)
		if (i < count)
			args[i] = ctx->args[i];
}
