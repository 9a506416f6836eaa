/* SPDX-License-Identifier: GPL-2.0-only */
/* Syscall numbers and arguments from the user pt_regs of raw_tp/sys_enter. */
#pragma once

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
