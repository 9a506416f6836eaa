/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space functions (uprobes): one generic entry program and one generic
 * return program, attached once per configured function with the function's
 * slot as the attach cookie. What to capture is data (user_function_specs),
 * never code generated at run time.
 *
 * Entry keeps the caller's context, the six argument registers and the
 * parameters read at entry (mode In) per (tid, slot); the return reads the
 * parameters read at return (mode Out) and sends one record per call.
 * bash_readline adds a third probe, on readline's accept-line, for a call
 * entered before the probes were attached (user_function__on_accept).
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "tracer_abi.h"
#include "user_accept_abi.h"
#include "filter.bpf.h"
#include "maps.bpf.h"
#include "record.bpf.h"
#include "task.bpf.h"

/* The captures of one call's In parameters: each starts below
 * USER_IN_OFFSET_MASK + 1 and is at most TRACER_USER_STRING_MAX long. */
#define USER_IN_OFFSET_MASK (TRACER_USER_STRING_MAX - 1)
#define USER_IN_BYTES (2 * TRACER_USER_STRING_MAX)
/* Out captures start below 32 KiB in the record (scratch of 128 KiB). */
#define USER_OUT_OFFSET_MASK (8 * TRACER_USER_STRING_MAX - 1)

struct user_call {
	struct tracer_task_context task;
	__u64 args[TRACER_SYSCALL_ARGS];
	__u64 enter_boot_ns;
	__u16 capture_len[TRACER_USER_PARAMS_MAX];
	__u8 capture_failed;
	__u8 capture_truncated;
	__u8 pointer_null;
	__u8 unverified_exe;
	__u32 in_len; /* bytes used in `bytes` */
	__u64 exe_inode;
	__u32 exe_dev;
	__u32 _pad;
	__u8 bytes[USER_IN_BYTES];
};

/* Calls in progress. Not preallocated (a value is 8 KiB): memory only for
 * the calls in flight, e.g. one per interactive shell waiting in readline. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tracer_user_call_key);
	__type(value, struct user_call);
} user_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TRACER_USER_FUNCTION_MAX);
	__type(key, __u32);
	__type(value, struct tracer_user_function_spec);
} user_function_specs SEC(".maps");

/* For a slot with TRACER_USER_EXE_FILTER: the verdict on each executable
 * (TRACER_USER_EXE_*), e.g. readline in libreadline is for bash only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tracer_user_exe_key);
	__type(value, __u8);
} user_function_exes SEC(".maps");

/* The verdict on the caller's executable (0: none yet); key gets its id. */
static __always_inline __u8 user_function__exe_verdict(__u32 slot, struct tracer_user_exe_key *key)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct inode *inode = BPF_CORE_READ(task, mm, exe_file, f_inode);
	__u8 *verdict;

	key->inode = BPF_CORE_READ(inode, i_ino);
	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->slot = slot;
	verdict = bpf_map_lookup_elem(&user_function_exes, key);
	return verdict ? *verdict : 0;
}

/* The sixth argument register (libbpf's bpf_tracing.h of Debian 12 stops at
 * the fifth). */
#if defined(__TARGET_ARCH_x86)
#define USER_PARM6(ctx) ((ctx)->r9)
#elif defined(__TARGET_ARCH_arm64)
#define USER_PARM6(ctx) (((const struct user_pt_regs *)(ctx))->regs[5])
#else
#error "user functions: unsupported architecture"
#endif

static __always_inline __u64 user_function__arg(struct pt_regs *ctx, int i)
{
	switch (i) {
	case 0: return PT_REGS_PARM1(ctx);
	case 1: return PT_REGS_PARM2(ctx);
	case 2: return PT_REGS_PARM3(ctx);
	case 3: return PT_REGS_PARM4(ctx);
	case 4: return PT_REGS_PARM5(ctx);
	default: return USER_PARM6(ctx);
	}
}

/* Reads parameter i's memory to data[at & mask]; its length, or < 0. The
 * bits say what happened (bit i of failed, truncated, null). */
static __always_inline long user_function__capture(const struct tracer_user_param_spec *param, __u64 pointer,
						   __u8 *data, __u8 *failed, __u8 *truncated, __u8 *null, int i)
{
	long len;

	if (param->capture == TRACER_USER_CAPTURE_VALUE)
		return 0;
	if (!pointer) {
		*null |= 1u << i;
		return 0;
	}
	if (param->capture == TRACER_USER_CAPTURE_STRING) {
		len = bpf_probe_read_user_str(data, TRACER_USER_STRING_MAX, (const void *)pointer);
		if (len < 0)
			goto failed;
		len = record__user_str_length(len);
		if (len == TRACER_USER_STRING_MAX - 1)
			*truncated |= 1u << i;
		return len;
	}
	len = param->size & (TRACER_USER_BYTES_MAX * 2 - 1);
	if (len > TRACER_USER_BYTES_MAX)
		len = TRACER_USER_BYTES_MAX;
	if (bpf_probe_read_user(data, len, (const void *)pointer))
		goto failed;
	return len;
failed:
	*failed |= 1u << i;
	return 0;
}

/* Keeps a call's entry: its context, its arguments (args) and its In
 * captures, for user_function__leave. */
static __always_inline int user_function__enter(__u32 slot, const __u64 *args)
{
	const struct tracer_user_function_spec *spec = bpf_map_lookup_elem(&user_function_specs, &slot);
	struct tracer_user_exe_key exe = {};
	struct tracer_task_context task;
	struct record_scratch *scratch;
	struct user_call *call;
	struct tracer_user_call_key key;
	__u8 verdict = TRACER_USER_EXE_ALLOWED;

	if (!spec)
		return 0;
	if (spec->flags & TRACER_USER_EXE_FILTER)
		verdict = user_function__exe_verdict(slot, &exe);
	if (verdict == TRACER_USER_EXE_REFUSED)
		return 0;
	task__read_context(&task);
	if (!filter__selects(&task)) /* may use the scratch (exe=): before the call is built there */
		return 0;
	scratch = record__scratch();
	if (!scratch)
		return 0;
	call = (struct user_call *)scratch->bytes;
	__builtin_memset(call, 0, offsetof(struct user_call, bytes));
	call->task = task;
	call->unverified_exe = !verdict;
	call->exe_inode = exe.inode;
	call->exe_dev = exe.dev;
	__builtin_memcpy(call->args, args, sizeof(call->args));
	call->enter_boot_ns = bpf_ktime_get_boot_ns();
#pragma unroll
	for (int i = 0; i < TRACER_USER_PARAMS_MAX; i++) {
		const struct tracer_user_param_spec *param = &spec->params[i];
		__u32 at = call->in_len & USER_IN_OFFSET_MASK;
		long len;

		if (i >= spec->param_count || param->at_return || param->source >= TRACER_SYSCALL_ARGS)
			continue;
		len = user_function__capture(param, call->args[param->source], &call->bytes[at],
					     &call->capture_failed, &call->capture_truncated, &call->pointer_null, i);
		call->capture_len[i] = (__u16)len;
		call->in_len = at + len;
	}
	key.tid = task.tid;
	key.slot = slot;
	if (!bpf_map_update_elem(&user_calls, &key, call, BPF_NOEXIST))
		return 0;
	/* An earlier call of this thread has not returned: a nested (recursive)
	 * call, or a thread that died inside it. The earlier one is given up. */
	if (bpf_map_lookup_elem(&user_calls, &key))
		drops__count(TRACER_DROP_USER_ENTRY_MISSING);
	if (bpf_map_update_elem(&user_calls, &key, call, BPF_ANY))
		drops__count(TRACER_DROP_INFLIGHT_FULL);
	return 0;
}

/* Sends the record of the call user_function__enter kept, returning
 * return_value, and forgets the call. */
static __always_inline int user_function__leave(__u32 slot, __u64 return_value)
{
	const struct tracer_user_function_spec *spec = bpf_map_lookup_elem(&user_function_specs, &slot);
	struct tracer_user_function_record *record;
	struct record_scratch *scratch;
	struct tracer_user_call_key key = {.tid = (__u32)bpf_get_current_pid_tgid(), .slot = slot};
	struct user_call *call;
	__u32 offset;

	if (!spec)
		return 0;
	call = bpf_map_lookup_elem(&user_calls, &key);
	if (!call)
		return 0; /* filtered out at entry, or entered before the probe */
	scratch = record__scratch();
	if (!scratch)
		goto done;
	record = (struct tracer_user_function_record *)scratch->bytes;
	__builtin_memset(record, 0, sizeof(*record));
	record__init_header(&record->header, TRACER_RECORD_USER_FUNCTION, TRACER_EVENT_USER_FUNCTION_BASE + slot,
			    0, 0);
	record->header.task = call->task;
	record->return_value = return_value;
	__builtin_memcpy(record->args, call->args, sizeof(record->args));
	record->enter_boot_ns = call->enter_boot_ns;
	record->slot = slot;
	__builtin_memcpy(record->capture_len, call->capture_len, sizeof(record->capture_len));
	record->capture_failed = call->capture_failed;
	record->capture_truncated = call->capture_truncated;
	record->pointer_null = call->pointer_null;
	if (call->unverified_exe) {
		record->flags = TRACER_USER_RECORD_UNVERIFIED_EXE;
		record->exe_inode = call->exe_inode;
		record->exe_dev = call->exe_dev;
	}
	offset = sizeof(*record);
	if (call->in_len) {
		__u32 in_len = call->in_len & (USER_IN_BYTES - 1);

		bpf_probe_read_kernel(&scratch->bytes[offset], in_len, call->bytes);
		offset += in_len;
	}
#pragma unroll
	for (int i = 0; i < TRACER_USER_PARAMS_MAX; i++) {
		const struct tracer_user_param_spec *param = &spec->params[i];
		__u32 at = offset & USER_OUT_OFFSET_MASK;
		__u32 source = param->source;
		__u8 bit = 1u << i;
		__u64 pointer;
		long len;

		if (i >= spec->param_count)
			continue;
		if (!param->at_return) {
			/* An In parameter whose page was not in memory at entry:
			 * the function has touched it since; read it now. */
			if (!(record->capture_failed & bit) || source >= TRACER_SYSCALL_ARGS)
				continue;
			record->capture_failed &= ~bit;
			record->read_at_return |= bit;
		}
		pointer = source < TRACER_SYSCALL_ARGS ? record->args[source] : record->return_value;
		len = user_function__capture(param, pointer, &scratch->bytes[at], &record->capture_failed,
					     &record->capture_truncated, &record->pointer_null, i);
		record->capture_len[i] = (__u16)len;
		offset = at + len;
	}
	if (record->capture_failed)
		drops__count(TRACER_DROP_ARGUMENT_READ);
	record->header.size = offset;
	record__send(record, offset & RECORD_OFFSET_MASK);
done:
	bpf_map_delete_elem(&user_calls, &key);
	return 0;
}

/*
 * bash_readline's accept probe, on readline's rl_newline (accept-line): the
 * line of a readline call that was already waiting when the probes were
 * attached. Its entry was missed, and a return probe attached after a call's
 * entry does not fire for that call; rl_newline runs when Enter is pressed,
 * with the finished line in rl_line_buffer and the prompt in rl_prompt (a
 * copy of readline's argument). A call whose entry was kept is left to the
 * return probe, so each line is sent once: userspace attaches the return
 * probe before the entry probe, so a kept entry always has its return armed.
 *
 * The cookie says where the two variables are from rl_newline
 * (TRACER_USER_ACCEPT_*); the probe's address is rl_newline's.
 */
static __always_inline int user_function__on_accept(struct pt_regs *ctx, __u64 cookie)
{
	__u32 slot = (__u32)(cookie & TRACER_USER_ACCEPT_SLOT_MASK);
	__s64 line_delta = (__s64)(cookie << (64 - TRACER_USER_ACCEPT_PROMPT_SHIFT)) >>
			   (64 - TRACER_USER_ACCEPT_PROMPT_SHIFT + TRACER_USER_ACCEPT_LINE_SHIFT);
	__s64 prompt_delta = (__s64)cookie >> TRACER_USER_ACCEPT_PROMPT_SHIFT;
	struct tracer_user_call_key key = {.tid = (__u32)bpf_get_current_pid_tgid(), .slot = slot};
	__u64 at = PT_REGS_IP(ctx);
	__u64 args[TRACER_SYSCALL_ARGS] = {};
	__u64 line = 0;

	if (bpf_map_lookup_elem(&user_calls, &key))
		return 0; /* readline's own return sends this line */
	if (bpf_probe_read_user(&line, sizeof(line), (const void *)(at + line_delta)) ||
	    bpf_probe_read_user(&args[0], sizeof(args[0]), (const void *)(at + prompt_delta))) {
		drops__count(TRACER_DROP_ARGUMENT_READ);
		return 0;
	}
	user_function__enter(slot, args);
	return user_function__leave(slot, line);
}

static __always_inline int user_function__on_entry(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 args[TRACER_SYSCALL_ARGS];

	if (cookie > TRACER_USER_ACCEPT_SLOT_MASK)
		return user_function__on_accept(ctx, cookie);
#pragma unroll
	for (int i = 0; i < TRACER_SYSCALL_ARGS; i++)
		args[i] = user_function__arg(ctx, i);
	return user_function__enter((__u32)cookie, args);
}

static __always_inline int user_function__on_return(struct pt_regs *ctx)
{
	return user_function__leave((__u32)bpf_get_attach_cookie(ctx), PT_REGS_RC(ctx));
}
