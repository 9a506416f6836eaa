/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --capture mem: memory made executable after being writable (the unpacker
 * pattern: map read-write, write code, mprotect it to read-execute, call it).
 *
 * The entry program of mprotect and pkey_mprotect (each at its own syscalls
 * tracepoint) keeps a call that adds PROT_EXEC when the region holding its
 * start address (bpf_find_vma) is not executable yet and is writable or
 * anonymous. The exit program, when the call succeeded, reads the call's
 * range from the caller's memory (the pages are the ones the caller just
 * wrote) and sends it in chunks of TRACER_MEM_CAPTURE_CHUNK, at most
 * TRACER_MEM_CAPTURE_CHUNKS_MAX per call (the rest is flagged, not read).
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tracer_abi.h"
#include "filter.bpf.h"
#include "maps.bpf.h"
#include "record.bpf.h"
#include "syscall.bpf.h"
#include "task.bpf.h"

#define MEM_CAPTURE_PROT_EXEC 0x4
#define MEM_CAPTURE_VM_WRITE 0x2
#define MEM_CAPTURE_VM_EXEC 0x4

_Static_assert(sizeof(struct tracer_mem_capture_record) + TRACER_MEM_CAPTURE_CHUNK < RECORD_SCRATCH_SIZE,
	       "a chunk fits");

struct mem_capture_call {
	struct tracer_task_context task;
	__u64 address;
	__u64 length;
	__u32 prot;
	__u32 nr;
	__u8 call;
	__u8 flags; /* TRACER_MEM_CAPTURE_WAS_WRITABLE, _ANONYMOUS */
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tid */
	__type(value, struct mem_capture_call);
} mem_capture_calls SEC(".maps");

/* What bpf_find_vma's callback saw of the region. */
struct mem_capture_region {
	__u64 vm_flags;
	__u8 found;
	__u8 anonymous;
};

static long mem_capture__region_of(struct task_struct *task, struct vm_area_struct *vma, void *context)
{
	struct mem_capture_region *region = context;

	region->found = 1;
	region->vm_flags = vma->vm_flags;
	region->anonymous = !vma->vm_file;
	return 0;
}

/* args: as the call's tracepoint gave them (start, len, prot[, pkey]). */
static __always_inline int mem_capture__on_enter(__s32 nr, const __u64 *args, __u8 call)
{
	struct mem_capture_region region = {};
	struct mem_capture_call entry = {};
	__u32 tid;

	if (!(args[2] & MEM_CAPTURE_PROT_EXEC) || !args[1] || syscall__from_tracer())
		return 0;
	if (bpf_find_vma(bpf_get_current_task_btf(), args[0], mem_capture__region_of, &region, 0) || !region.found)
		return 0;
	if (region.vm_flags & MEM_CAPTURE_VM_EXEC)
		return 0; /* executable already: nothing new runs */
	if (!(region.vm_flags & MEM_CAPTURE_VM_WRITE) && !region.anonymous)
		return 0; /* a file's pages, never writable here: the file is what runs */
	task__read_context(&entry.task);
	if (!filter__selects(&entry.task))
		return 0;
	entry.address = args[0];
	entry.length = args[1];
	entry.prot = (__u32)args[2];
	entry.nr = (__u32)nr;
	entry.call = call;
	entry.flags = (region.vm_flags & MEM_CAPTURE_VM_WRITE ? TRACER_MEM_CAPTURE_WAS_WRITABLE : 0) |
		      (region.anonymous ? TRACER_MEM_CAPTURE_ANONYMOUS : 0);
	tid = entry.task.tid;
	if (bpf_map_update_elem(&mem_capture_calls, &tid, &entry, BPF_ANY))
		drops__count(TRACER_DROP_INFLIGHT_FULL);
	return 0;
}

/* Where the copy is, in map memory (read back each step, the verifier sees
 * one range per field and the bpf_loop callback converges). */
struct mem_capture_state {
	__u64 address;
	__u64 length;
	__u64 offset; /* of the next chunk, from address */
	__u32 chunks;
	__u8 done;
	__u8 _pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mem_capture_state);
} mem_capture_state_by_cpu SEC(".maps");

static __always_inline struct mem_capture_state *mem_capture__state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mem_capture_state_by_cpu, &zero);
}

/* One chunk: read into the scratch after the record's fixed part, and sent. */
static long mem_capture__step(__u32 index, void *context)
{
	struct mem_capture_state *state = mem_capture__state();
	struct record_scratch *scratch = record__scratch();
	struct tracer_mem_capture_record *record;
	__u64 left, wanted;

	if (!state || !scratch || state->done)
		return 1;
	record = (struct tracer_mem_capture_record *)scratch->bytes;
	left = state->length - state->offset;
	wanted = left < TRACER_MEM_CAPTURE_CHUNK ? left : TRACER_MEM_CAPTURE_CHUNK;
	barrier_var(wanted);
	if (wanted > TRACER_MEM_CAPTURE_CHUNK)
		return 1;
	record->header.boot_ns = bpf_ktime_get_boot_ns();
	record->chunk_offset = state->offset;
	record->flags &= TRACER_MEM_CAPTURE_WAS_WRITABLE | TRACER_MEM_CAPTURE_ANONYMOUS;
	if (bpf_probe_read_user(&scratch->bytes[sizeof(*record)], wanted,
				(const void *)(state->address + state->offset))) {
		/* A page not present (never touched, or gone): the rest is not read. */
		wanted = 0;
		record->flags |= TRACER_MEM_CAPTURE_READ_FAILED | TRACER_MEM_CAPTURE_LAST;
		state->done = 1;
	}
	state->offset += wanted;
	state->chunks += 1;
	if (!state->done && (state->offset >= state->length || state->chunks >= TRACER_MEM_CAPTURE_CHUNKS_MAX)) {
		record->flags |= TRACER_MEM_CAPTURE_LAST;
		if (state->offset < state->length)
			record->flags |= TRACER_MEM_CAPTURE_TRUNCATED;
		state->done = 1;
	}
	record->data_len = (__u32)wanted;
	record->header.size = sizeof(*record) + (__u32)wanted;
	record__send(record, sizeof(*record) + wanted);
	return state->done ? 1 : 0;
}

static __always_inline void mem_capture__send(const struct mem_capture_call *entry, long ret)
{
	struct mem_capture_state *state = mem_capture__state();
	struct record_scratch *scratch = record__scratch();
	struct tracer_mem_capture_record *record;

	if (!state || !scratch)
		return;
	record = (struct tracer_mem_capture_record *)scratch->bytes;
	__builtin_memset(record, 0, sizeof(*record));
	record__init_header(&record->header, TRACER_RECORD_MEM_CAPTURE, TRACER_EVENT_MEM_CAPTURE, 0, 0);
	record->header.task = entry->task;
	record->address = entry->address;
	record->length = entry->length;
	record->ret = ret;
	record->prot = entry->prot;
	record->call = entry->call;
	record->flags = entry->flags;
	__builtin_memset(state, 0, sizeof(*state));
	state->address = entry->address;
	state->length = entry->length;
	bpf_loop(TRACER_MEM_CAPTURE_CHUNKS_MAX, mem_capture__step, NULL, 0);
}

static __always_inline int mem_capture__on_exit(long nr, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mem_capture_call *entry = bpf_map_lookup_elem(&mem_capture_calls, &tid);

	if (!entry)
		return 0;
	if (entry->nr == (__u32)nr && ret == 0)
		mem_capture__send(entry, ret);
	bpf_map_delete_elem(&mem_capture_calls, &tid);
	return 0;
}
