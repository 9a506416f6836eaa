/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The one kernel/userspace ABI of tracer. Included by the BPF programs (after
 * vmlinux.h) and by userspace (include/tracer/core/abi.hpp, which static_asserts
 * the layout). Fixed-width fields and explicit padding only: no bool, long or
 * pointers. Every record starts with struct tracer_record_header.
 */
#ifndef TRACER_ABI_H
#define TRACER_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TRACER_COMM_LEN 16
/* Longest path string kept per field, NUL included (PATH_MAX). */
#define TRACER_PATH_MAX 4096
/* Bytes of NUL-separated argv text kept per record. */
#define TRACER_ARGV_MAX 32768
/* Upper bound of --max-args, so that the kernel's argv loop stays bounded. */
#define TRACER_MAX_ARGS_LIMIT 1024
#define TRACER_MAX_ARGS_DEFAULT 128
/* Bytes of NUL-separated environment kept per exec record (--output
 * option:env), fewer when the record's paths and argv leave less room. */
#define TRACER_ENV_MAX 16384

/* Layout of the payload that follows the header. */
enum tracer_record_kind {
	TRACER_RECORD_EXEC = 1,
	TRACER_RECORD_PROCESS_FORK = 2,
	TRACER_RECORD_PROCESS_EXIT = 3,
	TRACER_RECORD_SYSCALL = 4,
	TRACER_RECORD_USER_FUNCTION = 5,
	TRACER_RECORD_EXECUTABLE = 6, /* internal: an executable run for the first time (no event) */
	TRACER_RECORD_WRITE_CAPTURE = 7, /* --capture write: bytes written to a matching file */
	TRACER_RECORD_MEM_CAPTURE = 8,   /* --capture mem: memory made executable */
};

/* Which event definition a record belongs to (userspace table: event_table.cpp). */
enum tracer_event_id {
	TRACER_EVENT_EXECVE = 1,
	TRACER_EVENT_EXECVEAT = 2,
	TRACER_EVENT_SCHED_PROCESS_EXEC = 3,
	TRACER_EVENT_SECURITY_BPRM_CHECK = 4,
	TRACER_EVENT_SCHED_PROCESS_FORK = 5,
	TRACER_EVENT_SCHED_PROCESS_EXIT = 6,
	TRACER_EVENT_ID_COUNT,
};

/* Any other syscall is an event too: its id is this base plus the syscall's
 * number on the running architecture (64-bit calls only). */
#define TRACER_EVENT_SYSCALL_BASE 1024
#define TRACER_SYSCALL_NR_MAX 512 /* numbers 0..511 */

/* A user-space function (uprobe) is an event too: its id is this base plus
 * its slot in map user_function_specs. Slot 0 is the built-in bash_readline;
 * the configured user tracers follow. */
#define TRACER_EVENT_USER_FUNCTION_BASE 2048
#define TRACER_USER_FUNCTION_MAX 64

/* Why a record, or part of one, was lost in the kernel. Index of drop_counters. */
enum tracer_drop_cause {
	TRACER_DROP_RINGBUF_FULL = 0,
	TRACER_DROP_INFLIGHT_FULL = 1,
	TRACER_DROP_PATHNAME_READ = 2,
	TRACER_DROP_ARGV_READ = 3,
	TRACER_DROP_FILENAME_READ = 4,
	TRACER_DROP_ENTRY_MISSING = 5,
	TRACER_DROP_STALE_INFLIGHT = 6,
	TRACER_DROP_ARGUMENT_READ = 7, /* a syscall argument's memory */
	TRACER_DROP_STATS_FULL = 8,    /* --stats: a process beyond the per-process table */
	TRACER_DROP_USER_ENTRY_MISSING = 9, /* a user function returned; its entry was not kept */
	TRACER_DROP_FOLLOW_FULL = 10,       /* follow: a child not followed, followed_tgids full */
	TRACER_DROP_CAUSE_COUNT,
};

/* The calling task, as it was when the syscall was entered. */
struct tracer_task_context {
	__u32 tgid;
	__u32 tid;
	__u32 ppid;     /* tgid of the real parent */
	__u32 ns_tgid;  /* tgid in the task's own pid namespace */
	__u32 uid;      /* real uid */
	__u32 gid;      /* real gid */
	__u32 mntns;
	__u32 pidns;
	__u64 cgroup_id;
	__u64 start_boot_ns; /* thread group leader's start, boot clock */
	__u64 parent_start_boot_ns; /* the real parent's leader start */
	/* The cgroup (kernfs id) whose name carries the task's container id; 0
	 * on the host. Its id text: map container_ids. */
	__u64 container_cgroup_id;
	/* self_exec_id of the leader: with tgid and start time it names one
	 * process image (exec_id). */
	__u32 exec_gen;
	__u32 parent_exec_gen;
	char comm[TRACER_COMM_LEN];
	__u32 euid;
	__u32 egid;
	__u32 auid;      /* login uid; TRACER_ID_UNSET: not set, or no CONFIG_AUDIT */
	__u32 sessionid; /* audit session; TRACER_ID_UNSET likewise */
	__u32 sid;       /* tgid of the session leader (host pid namespace); 0: none */
	__u32 tty_dev;   /* the controlling tty, kernel dev_t (major << 20 | minor); 0: none */
	__u32 utsns;     /* UTS namespace inode: its nodename is the host name */
	__u32 _pad;
};

/* (uid_t)-1 and AUDIT_SID_UNSET: a login uid or audit session never set. */
#define TRACER_ID_UNSET 0xffffffffu
/* Room for a UTS nodename (__NEW_UTS_LEN 64) and its NUL. */
#define TRACER_HOST_LEN 72

/* flags of struct tracer_record_header */
#define TRACER_HEADER_CONTEXT_ONLY (1u << 0) /* for the process table only: not selected */

struct tracer_record_header {
	__u8 kind;      /* enum tracer_record_kind */
	__u8 flags;     /* TRACER_HEADER_* */
	__u16 event_id; /* enum tracer_event_id */
	__u32 size;     /* whole record, header included */
	__u64 boot_ns;  /* kernel time of the event, boot clock */
	struct tracer_task_context task;
};

/* flags of struct tracer_exec_record */
#define TRACER_EXEC_KERNEL_VIEW      (1u << 0) /* filename/dev/inode/argv from the new image */
#define TRACER_EXEC_ARGV_TRUNCATED   (1u << 1)
#define TRACER_EXEC_ARGV_READ_FAILED (1u << 2)
#define TRACER_EXEC_PATHNAME_READ_FAILED (1u << 3)
#define TRACER_EXEC_FILENAME_READ_FAILED (1u << 4)
#define TRACER_EXEC_ENTRY_MISSING    (1u << 5) /* exec seen, its syscall entry was not */
#define TRACER_EXEC_FILELESS         (1u << 6) /* executed file has no link: memfd or deleted */
#define TRACER_EXEC_COMPAT           (1u << 7) /* 32-bit syscall */
#define TRACER_EXEC_EXE_TRUNCATED    (1u << 8) /* exe path deeper than the walk */
#define TRACER_EXEC_CWD_TRUNCATED    (1u << 9) /* cwd deeper than the walk */
#define TRACER_EXEC_ENV_TRUNCATED    (1u << 10) /* environment cut at its bound, or unreadable */

/*
 * execve/execveat, one per attempt. Followed by filename_len bytes of
 * filename, interp_len of interpreter, exe_len of the executed file's
 * absolute path, cwd_len of the caller's working directory, argv_len of
 * NUL-separated argv, env_len of the NUL-separated environment (a successful
 * exec with --output option:env only) and pathname_len of the pathname the
 * caller passed, in that order: the pathname last, so that a record without it is the same
 * bytes, shorter. Strings are not NUL-terminated. Also the layout of
 * sched_process_exec and security_bprm_check records (no pathname).
 */
struct tracer_exec_record {
	struct tracer_record_header header;
	__s64 ret;
	__s32 dirfd;
	__u32 at_flags;
	__u64 dev;      /* kernel dev_t of the executed image's superblock */
	__u64 inode;
	__u32 old_tid;  /* tid before the exec (differs for a non-leader thread) */
	__u32 argc;     /* arguments the kernel counted (success) or pointers walked */
	__u32 flags;    /* TRACER_EXEC_* */
	__u32 argv_len;
	__u16 pathname_len;
	__u16 filename_len;
	__u16 interp_len;
	__u16 exe_len;
	__u16 cwd_len;
	__u16 _pad;
	/* The UTS nodename of the task at the exec, NUL-terminated: userspace
	 * names every later record of that UTS namespace from it. */
	char host[TRACER_HOST_LEN];
	__u32 env_len;
};

/* sched_process_fork: the caller is the parent; a new process or thread. */
struct tracer_fork_record {
	struct tracer_record_header header;
	__u32 child_pid; /* tgid of the child (the parent's for a thread) */
	__u32 child_tid;
	__u64 child_start_boot_ns; /* the child's leader start, boot clock */
};

/* sched_process_exit: once per process, when its last thread exits. */
struct tracer_exit_record {
	struct tracer_record_header header;
	__s32 exit_code; /* as passed to exit(), when not killed by a signal */
	__u32 signal;    /* the signal that killed it, 0 when it exited */
};

/* How the exit program captures one syscall argument (it reads user memory
 * at return, when the kernel has faulted in what it used). */
enum tracer_capture_kind {
	TRACER_CAPTURE_NONE = 0,
	TRACER_CAPTURE_STRING = 1,       /* NUL-terminated, at most TRACER_PATH_MAX */
	TRACER_CAPTURE_SOCKADDR = 2,     /* length in argument length_arg */
	TRACER_CAPTURE_SOCKADDR_OUT = 3, /* length in the int that argument length_arg points to */
};
#define TRACER_SOCKADDR_MAX 128 /* sizeof(struct sockaddr_storage) */
#define TRACER_SYSCALL_ARGS 6

/* What to capture for one syscall (map syscall_capture_specs, by number). */
struct tracer_syscall_capture_spec {
	__u8 kind[TRACER_SYSCALL_ARGS];       /* enum tracer_capture_kind */
	__u8 length_arg[TRACER_SYSCALL_ARGS]; /* for the sockaddr kinds */
	__u8 emit_at_entry;                   /* the syscall never returns (exit, exit_group) */
	__u8 _pad[3];
};

/* flags of struct tracer_syscall_record */
#define TRACER_SYSCALL_NO_RETURN (1u << 0) /* sent at entry: the syscall does not return */

/* Any syscall, at return: the raw arguments of its entry and, per argument,
 * capture_len[i] bytes of the user memory it pointed to, in argument order. */
struct tracer_syscall_record {
	struct tracer_record_header header;
	__s64 ret;
	__u64 args[TRACER_SYSCALL_ARGS];
	__u64 enter_boot_ns;
	__u32 nr;
	__u16 capture_len[TRACER_SYSCALL_ARGS];
	__u8 capture_failed;    /* bit per argument: its memory could not be read */
	__u8 capture_truncated; /* bit per argument: cut at the capture bound */
	__u16 flags;            /* TRACER_SYSCALL_* */
	__u32 _pad;
};

/*
 * User functions (uprobes): what to capture per parameter, set by userspace
 * per slot (map user_function_specs) and told to the generic programs by the
 * attach cookie (the slot). Parameters are the function's arguments in order
 * (the first six, passed in registers), plus the return value.
 */
#define TRACER_USER_PARAMS_MAX 8
#define TRACER_USER_SOURCE_RETURN 6 /* source: the return value; 0..5 an argument */
#define TRACER_USER_STRING_MAX 4096 /* NUL included */
#define TRACER_USER_BYTES_MAX 1024  /* a ByteArray or a value through a pointer */

enum tracer_user_capture {
	TRACER_USER_CAPTURE_VALUE = 0,  /* the register itself: nothing is read */
	TRACER_USER_CAPTURE_STRING = 1, /* the NUL-terminated string it points to */
	TRACER_USER_CAPTURE_BYTES = 2,  /* `size` bytes it points to */
};

struct tracer_user_param_spec {
	__u8 source;    /* argument 0..5, or TRACER_USER_SOURCE_RETURN */
	__u8 at_return; /* read when the function returns (mode Out), else at entry */
	__u8 capture;   /* enum tracer_user_capture */
	__u8 _pad;
	__u16 size;     /* TRACER_USER_CAPTURE_BYTES: bytes to read */
	__u16 _pad2;
};

/* flags of struct tracer_user_function_spec */
#define TRACER_USER_EXE_FILTER (1u << 0) /* only processes whose executable user_function_exes allows */

struct tracer_user_function_spec {
	__u8 param_count;
	__u8 flags; /* TRACER_USER_* */
	__u8 _pad[6];
	struct tracer_user_param_spec params[TRACER_USER_PARAMS_MAX];
};

/* flags of struct tracer_user_function_record */
#define TRACER_USER_RECORD_UNVERIFIED_EXE (1u << 0) /* exe filter: the caller's executable is not judged yet */

/* Values of user_function_exes. An executable not in the map is sent
 * unverified: userspace judges it (and records its verdict) before the
 * record counts, so a call is never lost to the time that takes. */
#define TRACER_USER_EXE_ALLOWED 1
#define TRACER_USER_EXE_REFUSED 2

/* Key of known_executables: an executable userspace has seen already (the
 * watch reports the first run of any other). */
struct tracer_executable_key {
	__u64 inode;
	__u32 dev; /* kernel dev_t of its superblock */
	__u32 _pad;
};

/* Key of user_calls: a call in flight, by thread and user function slot. */
struct tracer_user_call_key {
	__u32 tid;
	__u32 slot;
};

/* Key of user_function_exes: an executable a slot is limited to. */
struct tracer_user_exe_key {
	__u64 inode;
	__u32 dev; /* kernel dev_t of its superblock */
	__u32 slot;
};

/*
 * One call of a user function, sent when it returns: the registers at entry,
 * the return value and, per parameter, capture_len[i] bytes of the memory it
 * points to. The captures follow the fixed part: first those read at entry,
 * then those read at return, each group in parameter order.
 */
struct tracer_user_function_record {
	struct tracer_record_header header;
	__u64 return_value;
	__u64 args[TRACER_SYSCALL_ARGS];
	__u64 enter_boot_ns;
	__u32 slot;
	__u16 capture_len[TRACER_USER_PARAMS_MAX];
	__u8 capture_failed;    /* bit per parameter: its memory could not be read */
	__u8 capture_truncated; /* bit per parameter: cut at its bound */
	__u8 pointer_null;      /* bit per parameter: the pointer was NULL, nothing read */
	/* bit per In parameter whose memory could not be read at entry (a page
	 * not yet faulted in) and was read at return instead: its capture is in
	 * the second group. */
	__u8 read_at_return;
	__u8 flags; /* TRACER_USER_RECORD_* */
	__u8 _pad[3];
	/* The caller's executable, when TRACER_USER_RECORD_UNVERIFIED_EXE. */
	__u64 exe_inode;
	__u32 exe_dev;
	__u32 _pad2;
};

/* An executable run for the first time since the tracer started (kept in
 * known_executables), for userspace to look at: is it a bash to probe? The
 * header's task is the process that runs it. Never printed. */
struct tracer_executable_record {
	struct tracer_record_header header;
	__u64 inode;
	__u32 dev; /* kernel dev_t of its superblock */
	__u32 _pad;
};

/*
 * --capture write=GLOB: bytes a write-family syscall wrote to a regular file
 * whose path starts with the globs' literal prefix (userspace matches the
 * whole glob). One record per contiguous chunk of at most
 * TRACER_WRITE_CAPTURE_CHUNK bytes, sent at the syscall's return (the bytes
 * written are known, and the kernel has faulted the buffer in). Followed by
 * path_len bytes of the file's absolute path (from the global root, not
 * NUL-terminated), then data_len bytes of data.
 */
#define TRACER_EVENT_WRITE_CAPTURE 902 /* event id: a record the tracer makes, not a syscall */
#define TRACER_WRITE_CAPTURE_CHUNK 32768
/* Chunks sent per syscall at most; the rest of a longer write is not sent. */
#define TRACER_WRITE_CAPTURE_CHUNKS_MAX 64
#define TRACER_WRITE_CAPTURE_PREFIX_MAX 256

/* The call, as the entry program learnt it from its tracepoint. */
enum tracer_write_call {
	TRACER_WRITE_CALL_WRITE = 0,
	TRACER_WRITE_CALL_PWRITE64 = 1,
	TRACER_WRITE_CALL_WRITEV = 2,
	TRACER_WRITE_CALL_PWRITEV = 3,
	TRACER_WRITE_CALL_PWRITEV2 = 4,
};

/* flags of struct tracer_write_capture_record */
#define TRACER_WRITE_CAPTURE_PATH_TRUNCATED (1u << 0) /* deeper than the walk */
#define TRACER_WRITE_CAPTURE_READ_FAILED    (1u << 1) /* the user buffer could not be read: no data */
#define TRACER_WRITE_CAPTURE_FILE_LIMIT     (1u << 2) /* the per-file bound was reached: no data */
#define TRACER_WRITE_CAPTURE_REST_DROPPED   (1u << 3) /* last chunk sent: the write was longer */
#define TRACER_WRITE_CAPTURE_FILE_CHANGED   (1u << 4) /* the fd names another file at return: no path */

struct tracer_write_capture_record {
	struct tracer_record_header header;
	__u64 offset;  /* file offset of this chunk's first byte */
	__u64 dev;     /* kernel dev_t of the file's superblock */
	__u64 inode;
	__s64 ret;     /* the syscall's return: bytes written by the whole call */
	__s32 fd;
	__u32 length;  /* bytes of the file this chunk covers (data_len unless no data) */
	__u32 data_len;
	__u16 path_len;
	__u8 call;     /* enum tracer_write_call */
	__u8 flags;    /* TRACER_WRITE_CAPTURE_* */
};

/*
 * --capture mem: an mprotect or pkey_mprotect that succeeded in adding
 * PROT_EXEC to memory that was writable or anonymous and not executable
 * (judged at entry from the region holding the start address). The region's
 * bytes, read at return, follow in chunks of at most TRACER_MEM_CAPTURE_CHUNK
 * (data_len bytes after the fixed part), at most TRACER_MEM_CAPTURE_CHUNKS_MAX
 * per call; the last chunk of a call carries TRACER_MEM_CAPTURE_LAST.
 * Userspace joins the chunks of a call (one thread's are consecutive).
 */
#define TRACER_EVENT_MEM_CAPTURE 903 /* event id: a record the tracer makes, not a syscall */
#define TRACER_MEM_CAPTURE_CHUNK 32768
#define TRACER_MEM_CAPTURE_CHUNKS_MAX 64 /* 2 MiB per call; the rest is not read */

enum tracer_mem_call {
	TRACER_MEM_CALL_MPROTECT = 0,
	TRACER_MEM_CALL_PKEY_MPROTECT = 1,
};

/* flags of struct tracer_mem_capture_record */
#define TRACER_MEM_CAPTURE_LAST         (1u << 0) /* the call's last chunk */
#define TRACER_MEM_CAPTURE_TRUNCATED    (1u << 1) /* the region is longer than the per-call bound */
#define TRACER_MEM_CAPTURE_READ_FAILED  (1u << 2) /* the region could not be read from here on */
#define TRACER_MEM_CAPTURE_WAS_WRITABLE (1u << 3) /* the region was writable before the call */
#define TRACER_MEM_CAPTURE_ANONYMOUS    (1u << 4) /* no file backs the region */

struct tracer_mem_capture_record {
	struct tracer_record_header header;
	__u64 address;      /* the call's start */
	__u64 length;       /* the call's length */
	__u64 chunk_offset; /* where this chunk's bytes start, from address */
	__s64 ret;
	__u32 prot;         /* the call's protection */
	__u32 data_len;
	__u8 call;          /* enum tracer_mem_call */
	__u8 flags;         /* TRACER_MEM_CAPTURE_* */
	__u8 _pad[6];
};

/* --stats: counted in the kernel at return, per syscall (array by number)
 * and per process, in per-CPU maps (userspace adds the CPUs up). */
struct tracer_syscall_stats {
	__u64 calls;
	__u64 errors;
};

struct tracer_process_stats {
	__u64 calls;
	__u64 errors;
	char comm[TRACER_COMM_LEN];
};

/*
 * In-kernel context filters (--trace), written to read-only data before load.
 * Numeric fields: an inclusive range, and a value set (IN or NOT_IN) kept in
 * the filter_values map. Text fields (comm, exe): exact values and patterns,
 * each to include or to exclude.
 */
enum tracer_filter_field {
	TRACER_FIELD_UID = 0,
	TRACER_FIELD_GID = 1,
	TRACER_FIELD_PID = 2,
	TRACER_FIELD_TID = 3,
	TRACER_FIELD_PPID = 4,
	TRACER_FIELD_MNTNS = 5,
	TRACER_FIELD_PIDNS = 6,
	TRACER_FIELD_CGROUP = 7,
	TRACER_FIELD_EUID = 8,
	TRACER_FIELD_AUID = 9, /* TRACER_ID_UNSET when not set */
	TRACER_FIELD_TTY = 10, /* kernel dev_t, 0: no controlling tty */
	TRACER_FIELD_COUNT = 11,
};

enum tracer_set_mode {
	TRACER_SET_NONE = 0,
	TRACER_SET_IN = 1,     /* the value must be in the set */
	TRACER_SET_NOT_IN = 2, /* the value must not be in the set */
};

enum tracer_pattern_kind {
	TRACER_PATTERN_EXACT = 0,
	TRACER_PATTERN_PREFIX = 1,   /* "text*" */
	TRACER_PATTERN_SUFFIX = 2,   /* "*text" */
	TRACER_PATTERN_CONTAINS = 3, /* "*text*" */
};

#define TRACER_FILTER_MAX_PATTERNS 8
#define TRACER_CONTAINER_ID_LEN 64
#define TRACER_CONTAINER_MAX_IDS 8

enum tracer_container_mode {
	TRACER_CONTAINER_ANY = 0,
	TRACER_CONTAINER_ONLY = 1, /* container, container=new, container=ID */
	TRACER_CONTAINER_HOST = 2, /* !container */
};

/* A container's id, as its cgroup names it (64 lowercase hex). */
struct tracer_container_id {
	char text[TRACER_CONTAINER_ID_LEN];
};
#define TRACER_EXE_PATTERN_MAX 256

struct tracer_filter_value_key {
	__u32 field; /* enum tracer_filter_field */
	__u32 _pad;
	__u64 value;
};

struct tracer_comm_pattern {
	__u8 kind;    /* enum tracer_pattern_kind */
	__u8 exclude; /* 1: a match excludes the task */
	__u8 len;
	__u8 _pad;
	char text[TRACER_COMM_LEN];
};

struct tracer_exe_pattern {
	__u8 kind;
	__u8 exclude;
	__u16 len;
	__u32 _pad;
	char text[TRACER_EXE_PATTERN_MAX];
};

/* Values of filter_comms (keyed by the 16-byte comm). */
#define TRACER_COMM_INCLUDE 1
#define TRACER_COMM_EXCLUDE 2

struct tracer_filter_config {
	__u64 wanted_events;   /* bit (1 << enum tracer_event_id) per event produced */
	__u64 new_after_boot_ns; /* pid=new: leader started after this boot time */
	__u64 range_min[TRACER_FIELD_COUNT];
	__u64 range_max[TRACER_FIELD_COUNT];
	__u8 set_mode[TRACER_FIELD_COUNT]; /* enum tracer_set_mode */
	__u8 _pad_mode;
	__u32 active_fields;   /* bit per field with a range or a set */
	__u8 enabled;          /* any context filter at all */
	__u8 only_new;
	__u8 follow;
	__u8 comm_enabled;       /* any comm rule: look the comm up */
	__u8 comm_include_any;   /* there are includes: the comm must match one */
	__u8 comm_pattern_count;
	__u8 exe_include_any;
	__u8 exe_pattern_count;
	__u8 container_mode;     /* enum tracer_container_mode */
	__u8 container_only_new; /* container=new: its pid namespace's init started after new_after_boot_ns */
	__u8 container_id_count; /* container=ID: a prefix of the id, in container_ids */
	__u8 container_id_lens[TRACER_CONTAINER_MAX_IDS];
	__u8 _pad[5];
	struct tracer_container_id container_ids[TRACER_CONTAINER_MAX_IDS];
	struct tracer_comm_pattern comm_patterns[TRACER_FILTER_MAX_PATTERNS];
	struct tracer_exe_pattern exe_patterns[TRACER_FILTER_MAX_PATTERNS];
};

#endif /* TRACER_ABI_H */
