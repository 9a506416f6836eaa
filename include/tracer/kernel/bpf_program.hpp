#pragma once
// The tracer's BPF object: open → configure → load → attach, each libbpf
// handle owned by RAII. Hooks attach one by one so that a hook the kernel
// refuses is reported by name and the others keep working.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tracer/core/result.hpp"
#include "tracer/kernel/trace_plan.hpp"
#include "tracer/output/drop_report.hpp"
#include "tracer/syscalls/stats_report.hpp"
#include "tracer/user_functions/resolve.hpp"

struct tracer_bpf;
struct bpf_link;
struct bpf_map;
struct bpf_program;

namespace tracer {

class TracerBpf {
 public:
  // Applies the plan: programs to load, map sizes, read-only data, then the
  // maps' first entries.
  static Result<TracerBpf> open_and_load(const TracePlan& plan);

  // Attaches every program of the plan, the outcome per hook (in the plan's
  // order, then the user functions' probes); fails only when nothing could
  // be attached.
  Result<std::vector<AttachOutcome>> attach();
  // Detaches every program: no new records are produced after this.
  void detach();

  int ring_buffer_fd() const;
  // The map of container id texts by the cgroup that names them.
  int container_ids_fd() const;
  // The cgroup naming the container the tracer runs in; 0 on the host.
  uint64_t own_container_cgroup_id() const;
  // The hook in use for syscalls (tracepoints or raw).
  SyscallHook syscall_hook() const { return syscall_hook_; }
  LossCounts read_kernel_losses() const;
  SyscallCounts read_syscall_counts() const;
  // Probes a user function target (those of the plan, at attach(); a bash
  // found while running, for `owner`); the outcome per probe; points probed
  // already are skipped. Its executables are the caller's to allow first.
  std::vector<AttachOutcome> attach_user_function(const ResolvedUserFunction& target,
                                                  std::optional<ExecutableId> owner = std::nullopt);
  // Detaches the probes attached for owner; their points may be probed again.
  void release_user_probes(const ExecutableId& owner);
  // Forgets that the executable ran: its next first run is reported again.
  void forget_executable(const ExecutableId& executable);
  // Run at each periodic sweep (the event loop's, through sweep_user_calls).
  void on_sweep(std::function<void()> sweep) { on_sweep_ = std::move(sweep); }
  // Records the verdict on an executable for a slot with an executable
  // filter; false (errno set) when the map refuses it.
  bool judge_executable(uint32_t slot, const ExecutableId& executable, bool allowed);
  // Forgets calls in flight of threads that no longer exist (they died inside
  // a traced function); how many. Runs the on_sweep function too.
  size_t sweep_user_calls();

 private:
  struct SkeletonDeleter {
    void operator()(tracer_bpf* skeleton) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* link) const;
  };
  explicit TracerBpf(tracer_bpf* skeleton) : skeleton_(skeleton) {}
  bpf_program* program(BpfProgram which) const;
  bpf_map* map(BpfMap which) const;
  void configure(const TracePlan& plan);
  Status fill_maps(const TracePlan& plan);
  // Runs attach (a libbpf call: a link, or null with errno set) and records
  // the outcome (its hook, optional and serves set by the caller); the link
  // the link is kept until detach() (or, with an owner, until its release).
  template <typename Attach>
  void attach_one(std::vector<AttachOutcome>& outcomes, AttachOutcome outcome, Attach attach,
                  std::optional<ExecutableId> owner = std::nullopt);

  std::unique_ptr<tracer_bpf, SkeletonDeleter> skeleton_;
  SyscallHook syscall_hook_ = SyscallHook::raw;
  std::vector<Attachment> attachments_;
  std::vector<ResolvedUserFunction> user_functions_;
  bool sweep_user_calls_ = false;
  uint32_t possible_cpus_ = 1;
  struct ProbedPoint {
    std::string point;                  // "SLOT:BINARY+OFFSET"
    std::optional<ExecutableId> owner;  // probed for this executable, while running
  };
  using Link = std::unique_ptr<bpf_link, LinkDeleter>;
  struct OwnedLink {
    ExecutableId owner;
    Link link;
  };
  std::vector<ProbedPoint> probed_points_;
  std::function<void()> on_sweep_;
  // Declared last: destroyed first.
  std::vector<OwnedLink> owned_links_;  // probes of executables found while running
  std::vector<Link> links_;

 public:
  TracerBpf(TracerBpf&&) noexcept = default;
  TracerBpf& operator=(TracerBpf&&) noexcept = default;
};

// Routes libbpf's own messages: dropped, or to stderr with --verbose.
void route_libbpf_messages(bool verbose);

}  // namespace tracer
