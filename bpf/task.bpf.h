/* SPDX-License-Identifier: GPL-2.0-only */
/* The calling task's context, read once at the start of an event. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"
#include "container.bpf.h"
#include "forker.bpf.h"

static __always_inline struct upid task__own_upid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid upid = {};

	bpf_core_read(&upid, sizeof(upid), &pid->numbers[level & 31]);
	return upid;
}

static __always_inline __u64 task__leader_start_ns(struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (bpf_core_field_exists(leader->start_boottime))
		return BPF_CORE_READ(leader, start_boottime);
	return BPF_CORE_READ(leader, start_time);
}

/* self_exec_id of the thread group leader: how many execs led to the image
 * it runs (counted since the fork of an ancestor; unique with tgid+start). */
static __always_inline __u32 task__exec_gen(struct task_struct *task)
{
	return (__u32)BPF_CORE_READ(task, group_leader, self_exec_id);
}

/* The login uid and audit session: fields only with CONFIG_AUDIT. */
static __always_inline void task__read_audit(struct task_struct *task, struct tracer_task_context *ctx)
{
	ctx->auid = TRACER_ID_UNSET;
	ctx->sessionid = TRACER_ID_UNSET;
	if (bpf_core_field_exists(task->loginuid))
		ctx->auid = BPF_CORE_READ(task, loginuid.val);
	if (bpf_core_field_exists(task->sessionid))
		ctx->sessionid = BPF_CORE_READ(task, sessionid);
}

/* The controlling tty as a kernel dev_t (what the tty's device node is). */
static __always_inline __u32 task__tty_dev(struct signal_struct *signal)
{
	struct tty_struct *tty = BPF_CORE_READ(signal, tty);
	struct tty_driver *driver;
	__u32 minor;

	if (!tty)
		return 0;
	driver = BPF_CORE_READ(tty, driver);
	minor = (__u32)BPF_CORE_READ(driver, minor_start) + (__u32)BPF_CORE_READ(tty, index);
	return ((__u32)BPF_CORE_READ(driver, major) << 20) | (minor & 0xfffff);
}

/* Who the task acts as: effective ids, audit identity, session, tty, host. */
static __always_inline void task__read_identity(struct task_struct *task, struct tracer_task_context *ctx)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);
	struct signal_struct *signal = BPF_CORE_READ(task, signal);
	struct pid *session = BPF_CORE_READ(signal, pids[PIDTYPE_SID]);

	ctx->euid = BPF_CORE_READ(cred, euid.val);
	ctx->egid = BPF_CORE_READ(cred, egid.val);
	task__read_audit(task, ctx);
	ctx->sid = session ? BPF_CORE_READ(session, numbers[0].nr) : 0;
	ctx->tty_dev = task__tty_dev(signal);
	ctx->utsns = BPF_CORE_READ(task, nsproxy, uts_ns, ns.inum);
	ctx->_pad = 0;
}

/* A little-endian word of a string up to its first NUL, the bytes after it
 * zero; *ended set when the word holds a NUL. The lowest byte whose high bit
 * (word - 0x01..) & ~word & 0x80.. sets is the first NUL exactly (a false
 * hit can only come above a true NUL). */
static __always_inline __u64 task__word_to_nul(__u64 word, int *ended)
{
	__u64 nul_bytes = (word - 0x0101010101010101ULL) & ~word & 0x8080808080808080ULL;
	__u64 first;

	if (!nul_bytes)
		return word;
	*ended = 1;
	first = nul_bytes & -nul_bytes; /* the first NUL's high bit */
	return word & ((first >> 7) - 1);
}

/* Two plain loads from the task, not bpf_get_current_comm (a helper call
 * and a byte-by-byte copy: a tenth of an emitted syscall event's program
 * time). The bytes after the NUL are zero as that helper leaves them: the
 * comm is a hash key for the comm filter and must not keep a previous
 * comm's tail. A rename racing with the read can tear the name, as it can
 * under the helper. */
static __always_inline void task__read_comm(struct tracer_task_context *ctx)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && TRACER_COMM_LEN == 16
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *out = (__u64 *)ctx->comm;
	int ended = 0;

	out[0] = task__word_to_nul(*(const __u64 *)&task->comm[0], &ended);
	out[1] = ended ? 0 : task__word_to_nul(*(const __u64 *)&task->comm[8], &ended);
#else
	__builtin_memset(ctx->comm, 0, sizeof(ctx->comm));
	bpf_get_current_comm(ctx->comm, sizeof(ctx->comm));
#endif
}

static __always_inline void task__read_context(struct tracer_task_context *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	__u64 tgid_tid = bpf_get_current_pid_tgid();
	__u64 gid_uid = bpf_get_current_uid_gid();
	struct upid upid = task__own_upid(task);

	ctx->tgid = tgid_tid >> 32;
	ctx->tid = (__u32)tgid_tid;
	ctx->uid = (__u32)gid_uid;
	ctx->gid = gid_uid >> 32;
	ctx->ppid = BPF_CORE_READ(parent, tgid);
	ctx->ns_tgid = upid.nr;
	ctx->pidns = BPF_CORE_READ(upid.ns, ns.inum);
	ctx->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	ctx->cgroup_id = bpf_get_current_cgroup_id();
	ctx->start_boot_ns = task__leader_start_ns(task);
	ctx->parent_start_boot_ns = task__leader_start_ns(parent);
	ctx->exec_gen = task__exec_gen(task);
	ctx->parent_exec_gen = task__exec_gen(parent);
	forker__apply(ctx);
	ctx->container_cgroup_id = container__cgroup_of_task(task);
	task__read_identity(task, ctx);
	task__read_comm(ctx);
}

static __always_inline int task__in_compat_syscall(void)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, thread_info.status) & 0x0002 /* TS_COMPAT */;
#else
	return 0;
#endif
}

/* The same from a tp_btf program: a direct load, no helper call. */
static __always_inline int task__in_compat_syscall_btf(void)
{
#if defined(__TARGET_ARCH_x86)
	return bpf_get_current_task_btf()->thread_info.status & 0x0002 /* TS_COMPAT */;
#else
	return 0;
#endif
}

/*
 * The context cached per task (task storage: no hashing, freed with the
 * task), so that a syscall event reads a dozen plain loads instead of some
 * forty helper reads. What the context holds changes only with what the key
 * below names, each a plain load from the task; a different key, and the
 * whole context is read again.
 */
struct task_cache_key {
	__u64 cred;       /* commit_creds replaces it: uid, gid, euid, egid */
	__u64 nsproxy;    /* setns, unshare: mntns, utsns */
	__u64 parent;     /* real_parent: reparenting (ppid, parent start) */
	__u64 cgroups;    /* the css_set: moved to another cgroup (cgroup, container) */
	__u64 tty;        /* signal->tty: TIOCSCTTY, TIOCNOTTY, setsid */
	__u64 session;    /* signal's session pid: setsid */
	__u64 exe_file;   /* mm->exe_file: exec, PR_SET_MM_EXE_FILE (the exe filter) */
	__u32 exec_id;    /* self_exec_id: an exec (a non-leader's exec changes its tid too) */
	__u32 parent_exec_id; /* the parent's: its exec (parent_exec_gen) */
	__u32 auid;       /* written through /proc/PID/loginuid, creds unchanged */
	__u32 sessionid;
};

/* A selected syscall between its entry and its return (syscall.bpf.h). */
struct task_syscall_slot {
	__u64 args[TRACER_SYSCALL_ARGS];
	__u64 enter_boot_ns;
	__u32 nr;
	__u32 active; /* entered, its return not seen yet */
};

struct task_cache {
	struct task_cache_key key;
	struct task_cache_key seen; /* this event's, compared with key */
	/* comm aside: prctl(PR_SET_NAME) changes it unseen, so it is read
	 * where an event needs it. */
	struct tracer_task_context ctx;
	__u8 selected;      /* the context filters but comm (filter.bpf.h) */
	__u8 own_container; /* the tracer's own container: never selected */
	__u8 _pad[6];
	/* Here, not in storage of its own: an emitted syscall takes one task
	 * storage lookup at entry and one at return, and its return reads the
	 * context where the entry's filter found it instead of a copy. */
	struct task_syscall_slot syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_cache);
} task_caches SEC(".maps");

static __always_inline void task__cache_key(struct task_struct *task, struct task_cache_key *key)
{
	struct task_struct *parent = task->real_parent;
	struct signal_struct *signal = task->signal;
	struct mm_struct *mm = task->mm;

	key->cred = (__u64)task->cred;
	key->nsproxy = (__u64)task->nsproxy;
	key->parent = (__u64)parent;
	key->cgroups = (__u64)task->cgroups;
	key->tty = (__u64)signal->tty;
	key->session = (__u64)signal->pids[PIDTYPE_SID];
	key->exe_file = mm ? (__u64)mm->exe_file : 0;
	key->exec_id = task->self_exec_id;
	key->parent_exec_id = parent->self_exec_id;
	key->auid = TRACER_ID_UNSET;
	key->sessionid = TRACER_ID_UNSET;
	if (bpf_core_field_exists(task->loginuid))
		key->auid = task->loginuid.val;
	if (bpf_core_field_exists(task->sessionid))
		key->sessionid = task->sessionid;
}

static __always_inline int task__cache_key_equal(const struct task_cache_key *a, const struct task_cache_key *b)
{
	const __u64 *x = (const __u64 *)a;
	const __u64 *y = (const __u64 *)b;
	__u64 differ = 0;

#pragma unroll
	for (int i = 0; i < sizeof(*a) / sizeof(__u64); i++)
		differ |= x[i] ^ y[i];
	return !differ;
}

/*
 * The current task's cache, its context read again if its key changed
 * (*refreshed then set: what was derived from the context must be too).
 * NULL when no storage can be had (out of memory, or a task storage call of
 * this CPU under way): the caller reads the context itself.
 */
static __always_inline struct task_cache *task__cached(int *refreshed)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_cache *cache = bpf_task_storage_get(&task_caches, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	*refreshed = 0;
	if (!cache)
		return 0;
	/* Through map memory: read back, the pointers are plain numbers to the
	 * verifier, which refuses arithmetic (the compare) on pointers. */
	task__cache_key(task, &cache->seen);
	barrier();
	/* A fresh entry is all zeros: its exec_id of 0 can match a task's, its
	 * cred pointer cannot. */
	if (task__cache_key_equal(&cache->seen, &cache->key))
		return cache;
	cache->key = cache->seen;
	task__read_context(&cache->ctx);
	*refreshed = 1;
	return cache;
}
