#pragma once
// Start-up as a plan: from the options and what was learnt about the kernel,
// which BPF programs load, where each attaches, how big the maps are, what the
// read-only data says and which events the run produces (and why not the
// others). Pure: no I/O, no libbpf. TracerBpf::open_and_load only applies it.

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tracer/app/options.hpp"
#include "tracer/core/abi.hpp"
#include "tracer/core/result.hpp"
#include "tracer/filter/filter_compile.hpp"
#include "tracer/syscalls/syscall_signature.hpp"
#include "tracer/user_functions/resolve.hpp"

namespace tracer {

// How syscalls are hooked: the per-syscall tracepoints (only the selected
// syscalls run a program; needs their ids from tracefs) or raw
// sys_enter/sys_exit (every syscall runs a program; sees 32-bit execs too).
enum class SyscallHook { automatic, tracepoints, raw };

// The programs of bpf/tracer.bpf.c, in the order of the BPF object (the order
// they are attached in).
enum class BpfProgram : uint8_t {
  enter_execve,
  enter_execveat,
  exec_exit,
  syscall_enter_0,  // syscall_enter_N: a selected syscall's entry, N arguments
  syscall_enter_1,
  syscall_enter_2,
  syscall_enter_3,
  syscall_enter_4,
  syscall_enter_5,
  syscall_enter_6,
  syscall_exit,
  sys_enter,
  sys_exit,
  sched_process_exec,
  executable_watch,
  sched_prepare_exec,
  bprm_check,
  sched_process_fork,
  sched_process_exit,
  user_enter,
  user_return,
  whoami,
  write_capture_write,  // --capture write: each call's entry, at its tracepoint
  write_capture_pwrite64,
  write_capture_writev,
  write_capture_pwritev,
  write_capture_pwritev2,
  write_capture_exit,    // at each of their exits
  mem_capture_mprotect,  // --capture mem: each call's entry, at its tracepoint
  mem_capture_pkey_mprotect,
  mem_capture_exit,  // at both exits
  count,
};
// Its function name in bpf/tracer.bpf.c ("tracer_sys_enter").
std::string_view program_name(BpfProgram program);

// The maps whose size a run chooses (the others keep their declared size).
enum class BpfMap : uint8_t {
  events,
  record_scratch_by_cpu,
  process_syscall_stats,
  known_executables,
  followed_tgids,
};

// What was probed or read before planning (runtime code gathers it).
struct KernelFacts {
  // Why the kernel refuses BPF LSM programs; "" when it permits them. Only
  // probed when security_bprm_check is wanted.
  std::string bpf_lsm_refusal;
  // "syscalls/sys_enter_openat" → id: the tracepoints tracefs offered.
  std::vector<std::pair<std::string, uint64_t>> tracepoint_ids;
  // The selected syscalls' signatures (argument counts, capture specs).
  const SyscallSignatures* syscall_signatures = nullptr;
  // The user functions this run probes, found in their ELF files.
  std::vector<ResolvedUserFunction> user_functions;
  int possible_cpus = 0;  // as libbpf counts them: a negative errno when unknown
  uint32_t own_pid = 0;
  // Calls in flight are keyed by host tids: only from the host's pid
  // namespace can a dead thread be told from one not seen.
  bool in_host_pid_namespace = false;
  // tracefs was read for this run and gave no tracepoint at all.
  bool tracefs_unreadable = false;
  uint64_t boot_clock_ns = 0;  // now: pid=new compares start times with it
};

// An event that is wanted but not produced on this kernel.
struct UnavailableEvent {
  uint16_t event_id = 0;
  std::string name;
  std::string reason;  // "the kernel refuses BPF LSM programs (...); ..."
};

// What a hook is needed for: without it these events are not produced.
struct Serves {
  uint64_t events = 0;                // built-in events, bit per id
  int syscall = -1;                   // one selected syscall (its own tracepoint)
  bool every_syscall = false;         // every selected syscall (the raw hooks)
  std::optional<uint32_t> user_slot;  // a user function (its uprobes)
};

// One attach: a program at its own section's hook, or at a tracepoint by id.
struct Attachment {
  BpfProgram program = BpfProgram::whoami;
  std::string tracepoint;                 // "syscalls/sys_enter_openat"; empty: the program's section
  std::optional<uint64_t> tracepoint_id;  // from tracefs; none: the attach fails (ENOENT)
  bool optional = false;                  // a hook this kernel may lack, by design
  Serves serves;
};

// What became of one attach.
struct AttachOutcome {
  std::string hook;  // e.g. "raw_tp/sys_enter"
  bool attached = false;
  bool optional = false;  // a hook this kernel may lack, by design
  std::string error;      // why not, when not
  Serves serves;
};

struct MapSize {
  BpfMap map = BpfMap::events;
  uint32_t max_entries = 0;
};

// What the kernel is told before load (read-only data).
struct PlanRodata {
  uint32_t max_args = 128;
  uint32_t env_max = 0;  // bytes of a successful exec's environment kept; 0: not read
  // The kernel wakes the consumer once this much is pending, or for a record
  // after wakeup_quiet_ns without records or wakeup_interval_ns without a
  // wakeup; other records wait for the consumer's poll.
  uint64_t wakeup_min_bytes = 0;
  uint64_t wakeup_interval_ns = 0;
  uint64_t wakeup_quiet_ns = 0;
  bool process_table_feed = false;  // every fork, exec and exit, for the process table
  bool syscall_stats_mode = false;
  uint32_t tracer_tgid = 0;
};

struct SyscallCaptureSpec {
  uint32_t number = 0;
  tracer_syscall_capture_spec spec{};
};

struct UserFunctionSpec {
  uint32_t slot = 0;
  tracer_user_function_spec spec{};
  std::vector<ExecutableId> executables;  // allowed from the start
};

struct TracePlan {
  std::bitset<static_cast<size_t>(BpfProgram::count)> programs;  // those that load
  SyscallHook syscall_hook = SyscallHook::raw;                   // tracepoints or raw, never automatic
  // In order: the exec tracepoints, the programs at their own hooks, the
  // selected syscalls' tracepoints. User functions are attached after.
  std::vector<Attachment> attachments;
  std::vector<MapSize> map_sizes;
  PlanRodata rodata;
  KernelFilter filter;
  std::bitset<TRACER_SYSCALL_NR_MAX> syscalls;  // selected: sent, or counted with --stats
  std::vector<SyscallCaptureSpec> syscall_capture_specs;
  std::vector<ResolvedUserFunction> user_functions;  // probed at attach
  std::vector<UserFunctionSpec> user_function_specs;
  // bash_readline: a bash that first runs while tracing is probed then; the
  // executables probed already are known to the kernel.
  std::optional<uint32_t> bash_readline_slot;
  std::vector<ExecutableId> known_executables;
  // Forget calls of threads that died inside a function: there are user
  // functions, and dead threads can be told (host pid namespace).
  bool sweep_user_calls = false;
  uint32_t possible_cpus = 1;
  // --capture write, read-only data too: the path prefix the kernel compares
  // (the globs' common literal prefix) and the bytes it sends per file at most.
  std::string write_capture_prefix;
  uint64_t write_capture_file_limit = 0;
  std::vector<UnavailableEvent> unavailable;
  // Why the syscall hooks fall back from their tracepoints to the raw ones
  // ("tracefs could not be read"); "" when they do not.
  std::string syscall_hook_fallback;
  uint64_t produced_events = 0;  // bit per built-in event id
  std::string traced_events;     // "execve, execveat, openat": the readiness line's list

  bool loads(BpfProgram program) const { return programs.test(static_cast<size_t>(program)); }
  // The map's planned size; nullopt when it keeps its declared size.
  std::optional<uint32_t> max_entries(BpfMap map) const;
};

// Beyond this many selected syscalls, one raw hook costs less to attach (and
// to run) than a tracepoint pair per syscall.
inline constexpr size_t kMaxSyscallTracepoints = 64;

// --syscall-hook as an enum.
SyscallHook requested_syscall_hook(const Options& options);
// The syscalls this run hooks: those event= names; with --stats every
// syscall unless event= names some (execve/execveat counted as syscalls).
std::bitset<TRACER_SYSCALL_NR_MAX> selected_syscalls(const Options& options);
// The calls --capture write hooks: write, pwrite64, writev, pwritev, pwritev2.
std::bitset<TRACER_SYSCALL_NR_MAX> write_capture_syscalls();
// The calls --capture mem hooks: mprotect, pkey_mprotect.
std::bitset<TRACER_SYSCALL_NR_MAX> mem_capture_syscalls();
// Whether the exec programs are needed: an exec event is wanted, or lineage.
bool wants_exec_programs(const Options& options);
// Argument filters name arguments known only from the kernel's formats.
Status check_syscall_argument_filters(const FilterSpec& filters, const SyscallSignatures& signatures);
// The wanted events this kernel cannot produce, and why.
std::vector<UnavailableEvent> unavailable_events(const Options& options, const KernelFacts& facts);

// Whether the event was asked for by name (event=NAME): one it cannot
// produce is then an error, not a notice.
bool asked_by_name(const Options& options, uint16_t event_id);
// The events of `unavailable` asked for by name, as one error text ("" when
// none): "bash_readline cannot be traced: uprobe:/usr/bin/bash+8: Permission denied".
std::string named_refusal(const Options& options, const std::vector<UnavailableEvent>& unavailable);
// The others, as one notice text ("" when none).
std::string default_refusal(const Options& options, const std::vector<UnavailableEvent>& unavailable);

// The run as attached: what is traced (the readiness line's list), the
// planned events lost to a required hook that failed (with that hook and its
// error), and the failed hooks that lost no event (reported on their own).
struct AttachedRun {
  std::string traced_events;
  std::vector<UnavailableEvent> lost;
  std::vector<AttachOutcome> other_failures;
};
AttachedRun assess_attachments(const Options& options, const TracePlan& plan,
                               const std::vector<AttachOutcome>& outcomes);

// Errors: an argument filter naming no argument, --syscall-hook tracepoint
// where it cannot be, no event left to trace, no CPU count.
Result<TracePlan> plan_trace(const Options& options, const KernelFacts& facts);

}  // namespace tracer
