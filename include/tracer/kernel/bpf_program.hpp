#pragma once
// The tracer's BPF object: open → configure → load → attach, each libbpf
// handle owned by RAII. Hooks attach one by one so that a hook the kernel
// refuses is reported by name and the others keep working.

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tracer/core/result.hpp"
#include "tracer/filter/filter_compile.hpp"
#include "tracer/output/drop_report.hpp"
#include "tracer/syscalls/stats_report.hpp"
#include "tracer/syscalls/syscall_signature.hpp"
#include "tracer/user_functions/resolve.hpp"

struct tracer_bpf;
struct bpf_link;
struct bpf_program;

namespace tracer {

// How exec syscalls are hooked: the per-syscall tracepoints (only the execs
// run a program; needs their ids from tracefs) or raw sys_enter/sys_exit
// (every syscall runs a program; sees 32-bit execs too).
enum class SyscallHook { automatic, tracepoints, raw };

struct BpfSettings {
  uint32_t max_args = 128;
  uint32_t ring_buffer_bytes = 8u << 20;
  // The kernel wakes the consumer once this much is pending; below it the
  // consumer's 100 ms poll picks records up. 0: wake for every record.
  uint64_t wakeup_min_bytes = 0;
  KernelFilter filter;
  // Every fork, exec and exit, for the process table (parent, ancestors).
  bool process_table_feed = false;
  // Load lsm/bprm_check_security: only where a probe showed the kernel permits it.
  bool load_bprm_check = false;
  SyscallHook syscall_hook = SyscallHook::automatic;
  // Load the exec programs: an exec event is wanted, or the process table.
  bool exec_programs = true;
  // Syscall events by number; with syscall_stats counted in the kernel
  // instead of sent.
  std::bitset<TRACER_SYSCALL_NR_MAX> syscalls;
  const SyscallSignatures* syscall_signatures = nullptr;  // capture specs, argument counts
  bool syscall_stats = false;
  // "syscalls/sys_enter_openat" → id (read_tracefs_syscalls).
  std::vector<std::pair<std::string, uint64_t>> tracepoint_ids;
  // User functions to probe (resolved), and what each slot captures.
  std::vector<ResolvedUserFunction> resolved_user_functions;
  const UserFunctions* user_functions = nullptr;
  // Report each executable's first run (TRACER_RECORD_EXECUTABLE), except these.
  bool watch_executables = false;
  std::vector<ExecutableId> known_executables;
};

struct AttachOutcome {
  std::string hook;  // e.g. "raw_tp/sys_enter"
  bool attached = false;
  bool optional = false;  // a hook this kernel may lack, by design
  std::string error;      // why not, when not
};

class TracerBpf {
 public:
  static Result<TracerBpf> open_and_load(const BpfSettings& settings);

  // Attaches every program; fails only when nothing could be attached.
  Result<std::vector<AttachOutcome>> attach();
  // Detaches every program: no new records are produced after this.
  void detach();

  int ring_buffer_fd() const;
  // The map of container id texts by the cgroup that names them.
  int container_ids_fd() const;
  // The cgroup naming the container the tracer runs in; 0 on the host.
  uint64_t own_container_cgroup_id() const;
  // The hook in use for the exec syscalls (tracepoints or raw).
  SyscallHook syscall_hook() const { return syscall_hook_; }
  LossCounts read_kernel_losses() const;
  SyscallCounts read_syscall_counts() const;
  // Probes a user function target (those of the settings, at attach(); a
  // bash found while running); the outcome per probe; points probed already
  // are skipped. Its executables are the caller's to allow first.
  std::vector<AttachOutcome> attach_user_function(const ResolvedUserFunction& target);
  // Records the verdict on an executable for a slot with an executable
  // filter; false (errno set) when the map refuses it.
  bool judge_executable(uint32_t slot, const ExecutableId& executable, bool allowed);
  // Forgets calls in flight of threads that no longer exist (they died inside
  // a traced function); how many.
  size_t sweep_user_calls();

 private:
  struct SkeletonDeleter {
    void operator()(tracer_bpf* skeleton) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* link) const;
  };
  explicit TracerBpf(tracer_bpf* skeleton) : skeleton_(skeleton) {}
  Status fill_filter_maps(const KernelFilter& filter);
  bpf_link* attach_syscall_tracepoint(bpf_program* program, const std::string& name);
  void attach_selected_syscalls(std::vector<AttachOutcome>& outcomes);
  Status fill_capture_specs(const BpfSettings& settings);
  Status fill_user_function_specs(const BpfSettings& settings);

  std::unique_ptr<tracer_bpf, SkeletonDeleter> skeleton_;
  SyscallHook syscall_hook_ = SyscallHook::raw;
  std::vector<std::pair<std::string, uint64_t>> tracepoint_ids_;  // "syscalls/sys_enter_execve" → id
  // Selected syscalls hooked by their own tracepoints: number, argument count.
  std::vector<std::pair<uint16_t, uint8_t>> syscall_tracepoints_;
  bool syscall_stats_ = false;
  std::vector<ResolvedUserFunction> resolved_user_functions_;
  bool in_host_pid_namespace_ = false;                         // sweep_user_calls can tell dead threads
  std::vector<std::string> probed_points_;                     // "SLOT:BINARY+OFFSET"
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;  // declared last: destroyed first

 public:
  TracerBpf(TracerBpf&&) noexcept = default;
  TracerBpf& operator=(TracerBpf&&) noexcept = default;
};

// Routes libbpf's own messages: dropped, or to stderr with --verbose.
void route_libbpf_messages(bool verbose);

}  // namespace tracer
