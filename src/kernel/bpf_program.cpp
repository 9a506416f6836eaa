#include "tracer/kernel/bpf_program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "tracer/core/escape.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/kernel/privileges.hpp"
#include "tracer_bpf.skel.h"

namespace tracer {
namespace {

// libbpf's messages name files (a user tracer's path) and objects: escaped
// like any untrusted text, each line kept a line.
int print_libbpf_verbose(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buffer[1024];
  const int length = std::vsnprintf(buffer, sizeof(buffer), format, args);
  if (length < 0) return length;
  std::string_view message(buffer, std::min(static_cast<size_t>(length), sizeof(buffer) - 1));
  if (message.ends_with('\n')) message.remove_suffix(1);
  std::fprintf(stderr, "libbpf: %s\n", terminal_safe(message).c_str());
  return length;
}

int drop_libbpf_message(enum libbpf_print_level, const char*, va_list) { return 0; }

// One entry of a map filled before the run; the error names the map.
Status fill_entry(int fd, const char* map_name, const void* key, const void* value) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0)
    return errno_error(std::string("cannot fill the ") + map_name + " map");
  return ok_status();
}

// The next key after previous (none: the first) of a map, for each key.
template <typename Key, typename Visit>
void for_each_key(int fd, Visit visit) {
  Key key{};
  Key next{};
  const Key* previous = nullptr;
  while (bpf_map_get_next_key(fd, previous, &next) == 0) {
    key = next;
    previous = &key;
    visit(next);
  }
}

void add_slot(uint64_t& total, uint64_t slot) { total += slot; }
void add_slot(tracer_syscall_stats& total, const tracer_syscall_stats& slot) {
  total.calls += slot.calls;
  total.errors += slot.errors;
}
void add_slot(tracer_process_stats& total, const tracer_process_stats& slot) {
  total.calls += slot.calls;
  total.errors += slot.errors;
  if (!total.comm[0]) std::memcpy(total.comm, slot.comm, sizeof(total.comm));
}

// A per-CPU map keeps one value per possible CPU: the entry's value is their
// sum. None when the map has no such key.
template <typename Value, typename Key>
std::optional<Value> sum_per_cpu(int fd, const Key& key, uint32_t cpus) {
  std::vector<Value> slots(cpus);
  if (bpf_map_lookup_elem(fd, &key, slots.data()) != 0) return std::nullopt;
  Value total{};
  for (const Value& slot : slots) add_slot(total, slot);
  return total;
}

// perf_event_open on the tracepoint's id, as libbpf would after reading the
// id from tracefs itself (which it cannot where tracefs is not mounted).
bpf_link* attach_tracepoint_by_id(bpf_program* program, uint64_t id) {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.size = sizeof(attr);
  attr.config = id;
  UniqueFd fd(static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC)));
  if (!fd) return nullptr;
  bpf_link* link = bpf_program__attach_perf_event(program, fd.get());
  // The link owns the fd from here; without one it is closed (a successful
  // close leaves errno as the attach set it).
  if (link) static_cast<void>(fd.release());
  return link;
}

}  // namespace

void route_libbpf_messages(bool verbose) { libbpf_set_print(verbose ? print_libbpf_verbose : drop_libbpf_message); }

void TracerBpf::SkeletonDeleter::operator()(tracer_bpf* skeleton) const { tracer_bpf__destroy(skeleton); }
void TracerBpf::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

Result<TracerBpf> TracerBpf::open_and_load(const TracePlan& plan) {
  tracer_bpf* raw = tracer_bpf__open();
  if (!raw) return errno_error("cannot open the BPF object");
  TracerBpf bpf(raw);
  bpf.configure(plan);
  bpf.syscall_hook_ = plan.syscall_hook;
  bpf.attachments_ = plan.attachments;
  bpf.user_functions_ = plan.user_functions;
  bpf.sweep_user_calls_ = plan.sweep_user_calls;
  bpf.possible_cpus_ = plan.possible_cpus;

  if (int err = tracer_bpf__load(raw); err) {
    std::string message = "cannot load the BPF programs: " + errno_text(err);
    if (err == -EPERM || err == -EACCES)
      message += " (the kernel refused; is a lockdown or a seccomp policy in force?)";
    return runtime_error(message + "; run with --verbose for the kernel's log");
  }
  if (Status status = bpf.fill_maps(plan); !status) return status.take_error();
  // The tracer's own container, if it runs in one: its records are left out.
  LIBBPF_OPTS(bpf_test_run_opts, run);
  if (bpf_prog_test_run_opts(bpf_program__fd(raw->progs.tracer_whoami), &run) != 0)
    return errno_error("cannot learn the tracer's own container (BPF_PROG_TEST_RUN)");
  return bpf;
}

bpf_program* TracerBpf::program(BpfProgram which) const {
  const auto& progs = skeleton_->progs;
  bpf_program* const programs[] = {
      progs.tracer_enter_execve,       progs.tracer_enter_execveat,
      progs.tracer_exec_exit,          progs.tracer_syscall_enter_0,
      progs.tracer_syscall_enter_1,    progs.tracer_syscall_enter_2,
      progs.tracer_syscall_enter_3,    progs.tracer_syscall_enter_4,
      progs.tracer_syscall_enter_5,    progs.tracer_syscall_enter_6,
      progs.tracer_syscall_exit,       progs.tracer_sys_enter,
      progs.tracer_sys_exit,           progs.tracer_sched_process_exec,
      progs.tracer_executable_watch,   progs.tracer_sched_prepare_exec,
      progs.tracer_bprm_check,         progs.tracer_sched_process_fork,
      progs.tracer_sched_process_exit, progs.tracer_user_enter,
      progs.tracer_user_return,        progs.tracer_whoami,
      progs.tracer_capture_write,      progs.tracer_capture_pwrite64,
      progs.tracer_capture_writev,     progs.tracer_capture_pwritev,
      progs.tracer_capture_pwritev2,   progs.tracer_capture_write_exit,
      progs.tracer_capture_mprotect,   progs.tracer_capture_pkey_mprotect,
      progs.tracer_capture_mem_exit,
  };
  static_assert(std::size(programs) == static_cast<size_t>(BpfProgram::count));
  return programs[static_cast<size_t>(which)];
}

bpf_map* TracerBpf::map(BpfMap which) const {
  const auto& maps = skeleton_->maps;
  bpf_map* const sized[] = {maps.events, maps.record_scratch_by_cpu, maps.process_syscall_stats, maps.known_executables,
                            maps.followed_tgids};
  return sized[static_cast<size_t>(which)];
}

// Before load: which programs load, the maps' sizes, the read-only data.
void TracerBpf::configure(const TracePlan& plan) {
  for (size_t index = 0; index < static_cast<size_t>(BpfProgram::count); ++index)
    bpf_program__set_autoload(program(static_cast<BpfProgram>(index)), plan.programs.test(index));
  for (const MapSize& size : plan.map_sizes) bpf_map__set_max_entries(map(size.map), size.max_entries);
  auto& rodata = *skeleton_->rodata;
  rodata.max_args = plan.rodata.max_args;
  rodata.env_max = plan.rodata.env_max;
  rodata.wakeup_min_bytes = plan.rodata.wakeup_min_bytes;
  rodata.wakeup_interval_ns = plan.rodata.wakeup_interval_ns;
  rodata.wakeup_quiet_ns = plan.rodata.wakeup_quiet_ns;
  static_assert(sizeof(rodata.filter) == sizeof(plan.filter.config));
  std::memcpy(const_cast<void*>(static_cast<const volatile void*>(&rodata.filter)), &plan.filter.config,
              sizeof(plan.filter.config));
  rodata.process_table_feed = plan.rodata.process_table_feed;
  for (size_t number = 0; number < plan.syscalls.size(); ++number)
    if (plan.syscalls.test(number)) rodata.syscall_selected[number / 64] |= uint64_t{1} << (number % 64);
  rodata.syscall_stats_mode = plan.rodata.syscall_stats_mode;
  rodata.tracer_tgid = plan.rodata.tracer_tgid;
  const std::string& prefix = plan.write_capture_prefix;
  const size_t prefix_len = std::min<size_t>(prefix.size(), TRACER_WRITE_CAPTURE_PREFIX_MAX);
  std::memcpy(const_cast<char*>(&rodata.write_capture_prefix[0]), prefix.data(), prefix_len);
  rodata.write_capture_prefix_len = static_cast<uint32_t>(prefix_len);
  rodata.write_capture_file_limit = plan.write_capture_file_limit;
}

// After load: the maps' entries known from the start.
Status TracerBpf::fill_maps(const TracePlan& plan) {
  const auto& maps = skeleton_->maps;
  const uint8_t present = 1;
  for (const tracer_filter_value_key& key : plan.filter.values)
    if (Status status = fill_entry(bpf_map__fd(maps.filter_values), "filter_values", &key, &present); !status)
      return status;
  for (const auto& [comm, tag] : plan.filter.comms)
    if (Status status = fill_entry(bpf_map__fd(maps.filter_comms), "filter_comms", comm.data(), &tag); !status)
      return status;
  for (const SyscallCaptureSpec& capture : plan.syscall_capture_specs)
    if (Status status = fill_entry(bpf_map__fd(maps.syscall_capture_specs), "syscall_capture_specs", &capture.number,
                                   &capture.spec);
        !status)
      return status;
  for (const UserFunctionSpec& function : plan.user_function_specs) {
    if (Status status =
            fill_entry(bpf_map__fd(maps.user_function_specs), "user_function_specs", &function.slot, &function.spec);
        !status)
      return status;
    for (const ExecutableId& executable : function.executables)
      if (!judge_executable(function.slot, executable, true))
        return errno_error("cannot fill the user_function_exes map");
  }
  const uint8_t seen = 1;
  for (const ExecutableId& executable : plan.known_executables) {
    const tracer_executable_key key{executable.inode, executable.kernel_dev, 0};
    if (Status status = fill_entry(bpf_map__fd(maps.known_executables), "known_executables", &key, &seen); !status)
      return status;
  }
  return ok_status();
}

bool TracerBpf::judge_executable(uint32_t slot, const ExecutableId& executable, bool allowed) {
  const tracer_user_exe_key key{executable.inode, executable.kernel_dev, slot};
  const uint8_t verdict = allowed ? TRACER_USER_EXE_ALLOWED : TRACER_USER_EXE_REFUSED;
  return bpf_map_update_elem(bpf_map__fd(skeleton_->maps.user_function_exes), &key, &verdict, BPF_ANY) == 0;
}

template <typename Attach>
void TracerBpf::attach_one(std::vector<AttachOutcome>& outcomes, AttachOutcome outcome, Attach attach,
                           std::optional<ExecutableId> owner) {
  if (bpf_link* link = attach()) {
    outcome.attached = true;
    if (owner) {
      owned_links_.push_back({*owner, Link(link)});
    } else {
      links_.emplace_back(link);
    }
  } else {
    outcome.error = errno_text(errno) + privilege_hint(outcome.hook, errno);
  }
  outcomes.push_back(std::move(outcome));
}

std::vector<AttachOutcome> TracerBpf::attach_user_function(const ResolvedUserFunction& target,
                                                           std::optional<ExecutableId> owner) {
  std::vector<AttachOutcome> outcomes;
  // One probe, once: "uprobe"/"uretprobe"/"accept" on point, with its cookie.
  const auto attach_point = [&](const UprobePoint& point, const std::string& kind, uint64_t cookie) {
    const std::string where = point.binary + "+" + std::to_string(point.offset);
    const std::string probed = std::to_string(target.slot) + ":" + kind + ":" + where;
    if (std::ranges::find(probed_points_, probed, &ProbedPoint::point) != probed_points_.end()) return;
    probed_points_.push_back({probed, owner});
    const bool at_return = kind == "uretprobe";
    bpf_program* program = at_return ? skeleton_->progs.tracer_user_return : skeleton_->progs.tracer_user_enter;
    AttachOutcome outcome{(at_return ? "uretprobe:" : "uprobe:") + where, false, false, "", {}};
    outcome.serves.user_slot = target.slot;
    attach_one(
        outcomes, std::move(outcome),
        [&] {
          LIBBPF_OPTS(bpf_uprobe_opts, options, .bpf_cookie = cookie, .retprobe = at_return);
          return bpf_program__attach_uprobe_opts(program, -1, point.binary.c_str(), point.offset, &options);
        },
        owner);
  };
  // The return probe first: an entry kept is then always followed by its
  // return (bash_readline's accept probe leaves such a call to it).
  for (const UprobePoint& point : target.points) {
    attach_point(point, "uretprobe", target.slot);
    attach_point(point, "uprobe", target.slot);
  }
  for (const AcceptPoint& accept : target.accept_points) attach_point(accept.point, "accept", accept.cookie);
  return outcomes;
}

void TracerBpf::release_user_probes(const ExecutableId& owner) {
  std::erase_if(owned_links_, [&](const OwnedLink& owned) { return owned.owner == owner; });
  std::erase_if(probed_points_, [&](const ProbedPoint& probed) { return probed.owner == owner; });
}

void TracerBpf::forget_executable(const ExecutableId& executable) {
  const tracer_executable_key key{executable.inode, executable.kernel_dev, 0};
  bpf_map_delete_elem(bpf_map__fd(skeleton_->maps.known_executables), &key);
}

size_t TracerBpf::sweep_user_calls() {
  if (on_sweep_) on_sweep_();
  if (!sweep_user_calls_) return 0;
  const int fd = bpf_map__fd(skeleton_->maps.user_calls);
  std::vector<tracer_user_call_key> gone;
  for_each_key<tracer_user_call_key>(fd, [&](const tracer_user_call_key& call) {
    // A thread that no longer exists: it died inside the function.
    if (::kill(static_cast<pid_t>(call.tid), 0) != 0 && errno == ESRCH) gone.push_back(call);
  });
  for (const tracer_user_call_key& call : gone) bpf_map_delete_elem(fd, &call);
  return gone.size();
}

SyscallCounts TracerBpf::read_syscall_counts() const {
  SyscallCounts counts;
  counts.by_syscall.resize(TRACER_SYSCALL_NR_MAX);
  const int syscalls_fd = bpf_map__fd(skeleton_->maps.syscall_stats);
  for (uint32_t number = 0; number < TRACER_SYSCALL_NR_MAX; ++number)
    if (auto total = sum_per_cpu<tracer_syscall_stats>(syscalls_fd, number, possible_cpus_))
      counts.by_syscall[number] = *total;
  const int processes_fd = bpf_map__fd(skeleton_->maps.process_syscall_stats);
  for_each_key<uint32_t>(processes_fd, [&](uint32_t tgid) {
    if (auto total = sum_per_cpu<tracer_process_stats>(processes_fd, tgid, possible_cpus_))
      counts.by_process.emplace_back(tgid, *total);
  });
  return counts;
}

Result<std::vector<AttachOutcome>> TracerBpf::attach() {
  std::vector<AttachOutcome> outcomes;
  for (const Attachment& attachment : attachments_) {
    bpf_program* const hooked = program(attachment.program);
    AttachOutcome outcome{"", false, attachment.optional, "", attachment.serves};
    if (attachment.tracepoint.empty()) {
      outcome.hook = bpf_program__section_name(hooked);
      attach_one(outcomes, std::move(outcome), [&] { return bpf_program__attach(hooked); });
      continue;
    }
    outcome.hook = "tracepoint/" + attachment.tracepoint;
    attach_one(outcomes, std::move(outcome), [&]() -> bpf_link* {
      if (attachment.tracepoint_id) return attach_tracepoint_by_id(hooked, *attachment.tracepoint_id);
      errno = ENOENT;
      return nullptr;
    });
  }
  for (const ResolvedUserFunction& target : user_functions_)
    for (AttachOutcome& outcome : attach_user_function(target)) outcomes.push_back(std::move(outcome));
  if (links_.empty()) {
    std::string message = "cannot attach any BPF program:";
    for (const AttachOutcome& outcome : outcomes) message += " " + outcome.hook + ": " + outcome.error + ";";
    message.pop_back();
    return runtime_error(message);
  }
  return outcomes;
}

void TracerBpf::detach() {
  owned_links_.clear();
  links_.clear();
}

int TracerBpf::ring_buffer_fd() const { return bpf_map__fd(skeleton_->maps.events); }

uint64_t TracerBpf::own_container_cgroup_id() const { return skeleton_->bss->self_container_cgroup_id; }

int TracerBpf::container_ids_fd() const { return bpf_map__fd(skeleton_->maps.container_ids); }

LossCounts TracerBpf::read_kernel_losses() const {
  LossCounts counts;
  const int fd = bpf_map__fd(skeleton_->maps.drop_counters);
  for (uint32_t cause = 0; cause < TRACER_DROP_CAUSE_COUNT; ++cause)
    if (auto total = sum_per_cpu<uint64_t>(fd, cause, possible_cpus_)) counts.kernel[cause] += *total;
  return counts;
}

}  // namespace tracer
