/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --capture write=GLOB: the bytes the write family (write, pwrite64, writev,
 * pwritev, pwritev2) wrote to regular files under the globs' literal prefix.
 *
 * The entry program (one per call, at its own syscalls tracepoint) looks the
 * fd up in the caller's file table and keeps the call only for a regular file
 * whose path, walked from its dentry as the kernel holds it now, starts with
 * the prefix: no userspace open/fd bookkeeping to race. The exit program
 * finds the same file again (dev and inode checked), takes the offset (the
 * call's own for a positioned write, else f_pos after the write minus the
 * bytes written: right for O_APPEND too) and sends what was written, read from
 * the caller's buffers at return, when the kernel has faulted them in, in
 * chunks of TRACER_WRITE_CAPTURE_CHUNK. Userspace matches the whole glob.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"
#include "filter.bpf.h"
#include "maps.bpf.h"
#include "path.bpf.h"
#include "record.bpf.h"
#include "syscall.bpf.h"
#include "syscall_regs.bpf.h"
#include "task.bpf.h"

const volatile char write_capture_prefix[TRACER_WRITE_CAPTURE_PREFIX_MAX] = {};
const volatile __u32 write_capture_prefix_len = 0;
/* Bytes sent per file (dev, inode) at most; userspace keeps the exact count. */
const volatile __u64 write_capture_file_limit = 0;

#define WRITE_CAPTURE_S_IFMT 0170000
#define WRITE_CAPTURE_S_IFREG 0100000
#define WRITE_CAPTURE_IOV_MAX 1024 /* UIO_MAXIOV */
/* Pieces (an iovec fetched, or bytes copied) one call may take. */
#define WRITE_CAPTURE_STEPS_MAX (2 * WRITE_CAPTURE_IOV_MAX + 2 * TRACER_WRITE_CAPTURE_CHUNKS_MAX)
#define WRITE_CAPTURE_DATA_MASK (2 * TRACER_WRITE_CAPTURE_CHUNK - 1)

_Static_assert(WRITE_CAPTURE_DATA_MASK + TRACER_WRITE_CAPTURE_CHUNK < RECORD_SCRATCH_SIZE, "a chunk fits");
_Static_assert(sizeof(struct tracer_write_capture_record) + TRACER_PATH_MAX < TRACER_WRITE_CAPTURE_CHUNK,
	       "path and record start below the data mask");

struct write_capture_call {
	struct tracer_task_context task;
	__u64 buffer; /* the data, or the iovec array */
	__u64 count;  /* bytes, or iovecs */
	__u64 position;
	__u64 dev;
	__u64 inode;
	__s32 fd;
	__u32 nr;
	__u8 call;
	__u8 positioned; /* position is the call's own */
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tid */
	__type(value, struct write_capture_call);
} write_capture_calls SEC(".maps");

struct write_capture_file_key {
	__u64 inode;
	__u64 dev;
};

/* Bytes sent per file: the kernel's side of the per-file bound. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct write_capture_file_key);
	__type(value, __u64);
} write_capture_sent SEC(".maps");

static __always_inline struct file *write_capture__file(__s64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

static __always_inline int write_capture__regular(struct file *file)
{
	return file && (BPF_CORE_READ(file, f_inode, i_mode) & WRITE_CAPTURE_S_IFMT) == WRITE_CAPTURE_S_IFREG;
}

/* Global: the bounded compare is verified once. */
__noinline int write_capture__prefix_matches(struct path_scratch *scratch)
{
	__u32 prefix_len = write_capture_prefix_len;

	if (!scratch || scratch->len < prefix_len)
		return 0;
	for (int i = 0; i < TRACER_WRITE_CAPTURE_PREFIX_MAX; i++) {
		if (i >= prefix_len)
			return 1;
		if (scratch->bytes[(scratch->start + i) & (PATH_SCRATCH_SIZE - 1)] != write_capture_prefix[i])
			return 0;
	}
	return 1;
}

/* args: as the call's tracepoint gave them; call: enum tracer_write_call. */
static __always_inline int write_capture__on_enter(__s32 nr, const __u64 *args, __u8 call)
{
	struct write_capture_call entry = {};
	struct path_scratch *path;
	struct file *file;
	__u32 tid;

	if (syscall__from_tracer())
		return 0;
	file = write_capture__file((__s64)(__s32)args[0]);
	if (!write_capture__regular(file))
		return 0;
	path = path__scratch();
	if (!path)
		return 0;
	path__of_file(path, file);
	if (!write_capture__prefix_matches(path))
		return 0;
	task__read_context(&entry.task);
	if (!filter__selects(&entry.task))
		return 0;
	entry.fd = (__s32)args[0];
	entry.buffer = args[1];
	entry.count = args[2];
	entry.nr = (__u32)nr;
	entry.call = call;
	/* pwritev(2): on 64-bit, pos_l is the whole offset; pwritev2's -1 is the file position. */
	entry.positioned = call == TRACER_WRITE_CALL_PWRITE64 || call == TRACER_WRITE_CALL_PWRITEV ||
			   (call == TRACER_WRITE_CALL_PWRITEV2 && (__s64)args[3] != -1);
	entry.position = args[3];
	entry.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	entry.inode = BPF_CORE_READ(file, f_inode, i_ino);
	tid = entry.task.tid;
	if (bpf_map_update_elem(&write_capture_calls, &tid, &entry, BPF_ANY))
		drops__count(TRACER_DROP_INFLIGHT_FULL);
	return 0;
}

/* Where the copy is: the call's buffers, and the chunk being filled. In map
 * memory, not on the stack: read back from a map each step, the fields have
 * one unknown range in every iteration, so the verifier's walk of the
 * bpf_loop callback converges (on the stack it would follow each distinct
 * value, iteration after iteration, past its instruction limit). */
struct write_capture_state {
	__u64 buffer;
	__u64 iov_count;
	__u64 iov_index;
	__u64 segment;      /* user address of the current buffer's rest */
	__u64 segment_left; /* bytes in it */
	__u64 remaining;    /* bytes still to send */
	__u64 offset;       /* file offset of the chunk being filled */
	__u64 sent;
	__u32 data_start;   /* scratch offset of the data */
	__u32 fill;         /* bytes in the chunk being filled */
	__u32 chunks;
	__u8 vector;
	__u8 failed;
	__u8 _pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct write_capture_state);
} write_capture_state_by_cpu SEC(".maps");

static __always_inline struct write_capture_state *write_capture__state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&write_capture_state_by_cpu, &zero);
}

static __always_inline void write_capture__flush(struct write_capture_state *state,
						 struct tracer_write_capture_record *record)
{
	record->header.boot_ns = bpf_ktime_get_boot_ns();
	record->offset = state->offset;
	record->length = state->fill;
	record->data_len = state->fill;
	record->flags &= TRACER_WRITE_CAPTURE_PATH_TRUNCATED;
	record->header.size = state->data_start + state->fill;
	record__send(record, record->header.size & RECORD_OFFSET_MASK);
	state->offset += state->fill;
	state->sent += state->fill;
	state->fill = 0;
	state->chunks += 1;
}

/* One piece: the next iovec, or bytes of the current buffer into the chunk. */
static long write_capture__step(__u32 index, void *context)
{
	struct write_capture_state *state = write_capture__state();
	struct record_scratch *scratch;
	__u64 wanted;
	__u32 at;

	if (!state || !state->remaining || state->chunks >= TRACER_WRITE_CAPTURE_CHUNKS_MAX)
		return 1;
	if (!state->segment_left) {
		struct iovec iov;

		if (!state->vector || state->iov_index >= state->iov_count)
			return 1;
		if (bpf_probe_read_user(&iov, sizeof(iov), (const void *)(state->buffer + state->iov_index * sizeof(iov)))) {
			state->failed = 1;
			return 1;
		}
		state->iov_index += 1;
		state->segment = (__u64)iov.iov_base;
		state->segment_left = iov.iov_len;
		return 0;
	}
	scratch = record__scratch();
	if (!scratch)
		return 1;
	wanted = TRACER_WRITE_CAPTURE_CHUNK - state->fill;
	if (wanted > state->segment_left)
		wanted = state->segment_left;
	if (wanted > state->remaining)
		wanted = state->remaining;
	at = (state->data_start + state->fill) & WRITE_CAPTURE_DATA_MASK;
	barrier_var(wanted);
	if (wanted > TRACER_WRITE_CAPTURE_CHUNK)
		return 1;
	if (bpf_probe_read_user(&scratch->bytes[at], wanted, (const void *)state->segment)) {
		state->failed = 1;
		drops__count(TRACER_DROP_ARGUMENT_READ);
		return 1;
	}
	state->fill += wanted;
	state->segment += wanted;
	state->segment_left -= wanted;
	state->remaining -= wanted;
	if (state->fill >= TRACER_WRITE_CAPTURE_CHUNK || !state->remaining)
		write_capture__flush(state, (struct tracer_write_capture_record *)scratch->bytes);
	return 0;
}

/* The record's fixed part and path, kept in the scratch for every chunk. */
static __always_inline struct tracer_write_capture_record *
write_capture__start(const struct write_capture_call *entry, struct file *file, long ret, __u32 *data_start)
{
	struct record_scratch *scratch = record__scratch();
	struct path_scratch *path = path__scratch();
	struct tracer_write_capture_record *record;
	__u32 len;

	if (!scratch || !path)
		return NULL;
	record = (struct tracer_write_capture_record *)scratch->bytes;
	__builtin_memset(record, 0, sizeof(*record));
	record__init_header(&record->header, TRACER_RECORD_WRITE_CAPTURE, TRACER_EVENT_WRITE_CAPTURE, 0, 0);
	record->header.task = entry->task;
	record->dev = entry->dev;
	record->inode = entry->inode;
	record->ret = ret;
	record->fd = entry->fd;
	record->call = entry->call;
	path__of_file(path, file);
	if (path->truncated)
		record->flags = TRACER_WRITE_CAPTURE_PATH_TRUNCATED;
	len = path->len;
	if (len > TRACER_PATH_MAX)
		len = TRACER_PATH_MAX;
	bpf_probe_read_kernel(&scratch->bytes[sizeof(*record)], len & (2 * TRACER_PATH_MAX - 1),
			      &path->bytes[path->start & (PATH_HALF - 1)]);
	record->path_len = (__u16)len;
	*data_start = sizeof(*record) + len;
	return record;
}

/* What was not sent (per-file bound, the per-call bound, an unreadable
 * buffer): one record without data, so that userspace counts it. */
static __always_inline void write_capture__send_rest(struct write_capture_state *state, __u64 rest, __u8 flag)
{
	struct record_scratch *scratch = record__scratch();
	struct tracer_write_capture_record *record;

	if (!scratch || !rest)
		return;
	record = (struct tracer_write_capture_record *)scratch->bytes;
	record->header.boot_ns = bpf_ktime_get_boot_ns();
	record->offset = state->offset;
	record->length = rest > 0xffffffffULL ? 0xffffffffU : (__u32)rest;
	record->data_len = 0;
	record->flags = (record->flags & TRACER_WRITE_CAPTURE_PATH_TRUNCATED) | flag;
	record->header.size = state->data_start;
	record__send(record, record->header.size & RECORD_OFFSET_MASK);
}

static __always_inline void write_capture__send(const struct write_capture_call *entry, long ret)
{
	struct write_capture_file_key key = {.inode = entry->inode, .dev = entry->dev};
	struct write_capture_state *state = write_capture__state();
	struct file *file = write_capture__file(entry->fd);
	__u64 zero = 0, allowed, *sent;
	__u32 data_start = 0;

	/* Closed or replaced by another thread during the call: not this file. */
	if (!state || !file || BPF_CORE_READ(file, f_inode, i_ino) != entry->inode ||
	    BPF_CORE_READ(file, f_inode, i_sb, s_dev) != entry->dev)
		return;
	if (!write_capture__start(entry, file, ret, &data_start))
		return;
	__builtin_memset(state, 0, sizeof(*state));
	state->data_start = data_start;
	state->offset = entry->positioned ? entry->position : BPF_CORE_READ(file, f_pos) - ret;
	state->vector = entry->call == TRACER_WRITE_CALL_WRITEV || entry->call == TRACER_WRITE_CALL_PWRITEV ||
			entry->call == TRACER_WRITE_CALL_PWRITEV2;
	state->buffer = entry->buffer;
	if (state->vector) {
		state->iov_count = entry->count < WRITE_CAPTURE_IOV_MAX ? entry->count : WRITE_CAPTURE_IOV_MAX;
	} else {
		state->segment = entry->buffer;
		state->segment_left = ret;
	}
	bpf_map_update_elem(&write_capture_sent, &key, &zero, BPF_NOEXIST);
	sent = bpf_map_lookup_elem(&write_capture_sent, &key);
	allowed = !sent ? write_capture_file_limit
		  : *sent >= write_capture_file_limit ? 0
						      : write_capture_file_limit - *sent;
	state->remaining = (__u64)ret < allowed ? (__u64)ret : allowed;
	if (state->remaining)
		bpf_loop(WRITE_CAPTURE_STEPS_MAX, write_capture__step, NULL, 0);
	if (sent)
		__sync_fetch_and_add(sent, state->sent);
	/* A chunk being filled when the copy stopped is not sent: its bytes
	 * count in the rest. */
	if (state->sent < (__u64)ret)
		write_capture__send_rest(state, (__u64)ret - state->sent,
					 state->failed		    ? TRACER_WRITE_CAPTURE_READ_FAILED
					 : state->sent >= allowed ? TRACER_WRITE_CAPTURE_FILE_LIMIT
								  : TRACER_WRITE_CAPTURE_REST_DROPPED);
}

static __always_inline int write_capture__on_exit(long nr, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct write_capture_call *entry = bpf_map_lookup_elem(&write_capture_calls, &tid);

	if (!entry)
		return 0;
	if (entry->nr == (__u32)nr && ret > 0)
		write_capture__send(entry, ret);
	bpf_map_delete_elem(&write_capture_calls, &tid);
	return 0;
}
