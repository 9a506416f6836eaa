#include "tracer/kernel/bpf_program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/user_functions/user_function.hpp"
#include "tracer_bpf.skel.h"

namespace tracer {
namespace {

int print_libbpf_verbose(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  std::fputs("libbpf: ", stderr);
  return std::vfprintf(stderr, format, args);
}

int drop_libbpf_message(enum libbpf_print_level, const char*, va_list) { return 0; }

// Hooks the kernel may not have (sched_prepare_exec is 6.10+): their raw
// tracepoint is looked up only at attach, and failing there is expected.
bool is_optional_hook(const bpf_program* program) {
  return std::string_view(bpf_program__name(program)) == "tracer_sched_prepare_exec";
}

constexpr const char* kExecTracepoints[] = {"syscalls/sys_enter_execve", "syscalls/sys_enter_execveat",
                                            "syscalls/sys_exit_execve", "syscalls/sys_exit_execveat"};

// Beyond this many selected syscalls, one raw hook costs less to attach (and
// to run) than a tracepoint pair per syscall.
constexpr size_t kMaxSyscallTracepoints = 64;

bool has_id(const std::vector<std::pair<std::string, uint64_t>>& ids, const std::string& name) {
  for (const auto& [tracepoint, id] : ids)
    if (tracepoint == name) return true;
  return false;
}

// Whether every tracepoint this run needs has an id: the exec ones, and the
// exit (and, unless counting, the entry) of each selected syscall.
std::string missing_tracepoint(const BpfSettings& settings) {
  if (settings.exec_programs && !settings.syscall_stats)
    for (const char* name : kExecTracepoints)
      if (!has_id(settings.tracepoint_ids, name)) return name;
  for (size_t number = 0; number < settings.syscalls.size(); ++number) {
    if (!settings.syscalls.test(number)) continue;
    const EventDefinition* definition = syscall_event(static_cast<uint16_t>(number));
    const std::string name = definition ? std::string(definition->name) : std::to_string(number);
    if (!settings.syscall_stats && !has_id(settings.tracepoint_ids, "syscalls/sys_enter_" + name))
      return "syscalls/sys_enter_" + name;
    if (!has_id(settings.tracepoint_ids, "syscalls/sys_exit_" + name)) return "syscalls/sys_exit_" + name;
  }
  return "";
}

// The map of calls in flight is keyed by host tids: only from the host's pid
// namespace can this process tell a dead thread from one it does not see.
bool in_host_pid_namespace() {
  constexpr std::string_view kInitialPidNamespace = "pid:[4026531836]";  // PROC_PID_INIT_INO
  char ns[64] = {};
  return ::readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1) > 0 && std::string_view(ns) == kInitialPidNamespace;
}

}  // namespace

void route_libbpf_messages(bool verbose) { libbpf_set_print(verbose ? print_libbpf_verbose : drop_libbpf_message); }

void TracerBpf::SkeletonDeleter::operator()(tracer_bpf* skeleton) const { tracer_bpf__destroy(skeleton); }
void TracerBpf::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

Result<TracerBpf> TracerBpf::open_and_load(const BpfSettings& settings) {
  tracer_bpf* raw = tracer_bpf__open();
  if (!raw) return runtime_error("cannot open the BPF object: " + errno_text(errno));
  TracerBpf bpf(raw);

  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return runtime_error("cannot count the possible CPUs: " + errno_text(cpus));
  bpf_map__set_max_entries(raw->maps.record_scratch_by_cpu, static_cast<uint32_t>(cpus));
  bpf_map__set_max_entries(raw->maps.events, settings.ring_buffer_bytes);
  raw->rodata->max_args = settings.max_args;
  raw->rodata->wakeup_min_bytes = settings.wakeup_min_bytes;

  static_assert(sizeof(raw->rodata->filter) == sizeof(settings.filter.config));
  std::memcpy(const_cast<void*>(static_cast<const volatile void*>(&raw->rodata->filter)), &settings.filter.config,
              sizeof(settings.filter.config));
  raw->rodata->process_table_feed = settings.process_table_feed;
  const uint64_t lifecycle_events =
      (uint64_t{1} << TRACER_EVENT_SCHED_PROCESS_FORK) | (uint64_t{1} << TRACER_EVENT_SCHED_PROCESS_EXIT);
  if (!settings.filter.config.follow && !settings.process_table_feed &&
      !(settings.filter.config.wanted_events & lifecycle_events)) {
    bpf_program__set_autoload(raw->progs.tracer_sched_process_fork, false);
    bpf_program__set_autoload(raw->progs.tracer_sched_process_exit, false);
  }
  if (!settings.load_bprm_check) bpf_program__set_autoload(raw->progs.tracer_bprm_check, false);

  // One hook for every syscall this run traces: their own tracepoints where
  // tracefs gave every id (and not too many are selected), raw otherwise.
  const std::string missing = missing_tracepoint(settings);
  const bool tracepoints_possible = missing.empty() && settings.syscalls.count() <= kMaxSyscallTracepoints;
  if (settings.syscall_hook == SyscallHook::tracepoints && !tracepoints_possible)
    return runtime_error(missing.empty() ? "--syscall-hook tracepoint: more than " +
                                               std::to_string(kMaxSyscallTracepoints) + " syscalls selected"
                                         : "--syscall-hook tracepoint: tracepoint " + missing +
                                               " is not available (tracefs cannot be read, or the kernel lacks it)");
  const bool tracepoints = settings.syscall_hook != SyscallHook::raw && tracepoints_possible;
  bpf.syscall_hook_ = tracepoints ? SyscallHook::tracepoints : SyscallHook::raw;
  bpf.tracepoint_ids_ = settings.tracepoint_ids;
  bpf.syscall_stats_ = settings.syscall_stats;
  const bool exec = settings.exec_programs && !settings.syscall_stats;
  const bool any_syscall = settings.syscalls.any();
  bpf_program__set_autoload(raw->progs.tracer_enter_execve, tracepoints && exec);
  bpf_program__set_autoload(raw->progs.tracer_enter_execveat, tracepoints && exec);
  bpf_program__set_autoload(raw->progs.tracer_exec_exit, tracepoints && exec);
  bpf_program__set_autoload(raw->progs.tracer_sched_process_exec, exec);
  bpf_program__set_autoload(raw->progs.tracer_sched_prepare_exec, exec);
  bpf_program__set_autoload(raw->progs.tracer_sys_enter,
                            !tracepoints && !settings.syscall_stats && (exec || any_syscall));
  bpf_program__set_autoload(raw->progs.tracer_sys_exit, !tracepoints && (exec || any_syscall));
  bpf_program__set_autoload(raw->progs.tracer_syscall_exit, tracepoints && any_syscall);
  bpf_program* const enter_programs[] = {raw->progs.tracer_syscall_enter_0, raw->progs.tracer_syscall_enter_1,
                                         raw->progs.tracer_syscall_enter_2, raw->progs.tracer_syscall_enter_3,
                                         raw->progs.tracer_syscall_enter_4, raw->progs.tracer_syscall_enter_5,
                                         raw->progs.tracer_syscall_enter_6};
  bool enter_needed[std::size(enter_programs)] = {};
  for (size_t number = 0; number < settings.syscalls.size(); ++number) {
    if (!settings.syscalls.test(number)) continue;
    raw->rodata->syscall_selected[number / 64] |= uint64_t{1} << (number % 64);
    const SyscallSignature* signature =
        settings.syscall_signatures ? settings.syscall_signatures->find(static_cast<uint16_t>(number)) : nullptr;
    const auto arg_count = static_cast<uint8_t>(signature ? signature->args.size() : TRACER_SYSCALL_ARGS);
    if (tracepoints) bpf.syscall_tracepoints_.emplace_back(static_cast<uint16_t>(number), arg_count);
    enter_needed[arg_count] = true;
  }
  for (size_t count = 0; count < std::size(enter_programs); ++count)
    bpf_program__set_autoload(enter_programs[count], tracepoints && !settings.syscall_stats && enter_needed[count]);
  raw->rodata->syscall_stats_mode = settings.syscall_stats;
  raw->rodata->tracer_tgid = static_cast<uint32_t>(getpid());
  // Preallocated maps a run does not use are kept small.
  if (!settings.syscall_stats) bpf_map__set_max_entries(raw->maps.process_syscall_stats, 1);
  if (settings.syscall_stats || !any_syscall) bpf_map__set_max_entries(raw->maps.syscall_inflight_by_tid, 64);
  const bool user_functions = !settings.resolved_user_functions.empty();
  bpf_program__set_autoload(raw->progs.tracer_user_enter, user_functions);
  bpf_program__set_autoload(raw->progs.tracer_user_return, user_functions);
  bpf.resolved_user_functions_ = settings.resolved_user_functions;
  bpf.in_host_pid_namespace_ = in_host_pid_namespace();
  bpf_program__set_autoload(raw->progs.tracer_executable_watch, settings.watch_executables);
  if (!settings.watch_executables) bpf_map__set_max_entries(raw->maps.known_executables, 1);
  // follow's set is preallocated: keep it small unless follow is asked for.
  if (!settings.filter.config.follow) bpf_map__set_max_entries(raw->maps.followed_tgids, 1);

  if (int err = tracer_bpf__load(raw); err) {
    std::string message = "cannot load the BPF programs: " + errno_text(err);
    if (err == -EPERM || err == -EACCES)
      message += " (the kernel refused; is a lockdown or a seccomp policy in force?)";
    return runtime_error(message + "; run with --verbose for the kernel's log");
  }
  if (Status status = bpf.fill_filter_maps(settings.filter); !status) return status.take_error();
  if (Status status = bpf.fill_capture_specs(settings); !status) return status.take_error();
  if (Status status = bpf.fill_user_function_specs(settings); !status) return status.take_error();
  const int known_fd = bpf_map__fd(raw->maps.known_executables);
  for (const ExecutableId& executable : settings.known_executables) {
    const struct {
      uint64_t inode;
      uint32_t dev;
      uint32_t pad;
    } key{executable.inode, executable.kernel_dev, 0};  // struct executable_key
    const uint8_t seen = 1;
    if (bpf_map_update_elem(known_fd, &key, &seen, BPF_ANY) != 0)
      return runtime_error("cannot fill the known_executables map: " + errno_text(errno));
  }
  // The tracer's own container, if it runs in one: its records are left out.
  LIBBPF_OPTS(bpf_test_run_opts, run);
  if (bpf_prog_test_run_opts(bpf_program__fd(raw->progs.tracer_whoami), &run) != 0)
    return runtime_error("cannot learn the tracer's own container (BPF_PROG_TEST_RUN): " + errno_text(errno));
  return bpf;
}

Status TracerBpf::fill_filter_maps(const KernelFilter& filter) {
  const uint8_t present = 1;
  const int values_fd = bpf_map__fd(skeleton_->maps.filter_values);
  for (const tracer_filter_value_key& key : filter.values)
    if (bpf_map_update_elem(values_fd, &key, &present, BPF_ANY) != 0)
      return runtime_error("cannot fill the filter_values map: " + errno_text(errno));
  const int comms_fd = bpf_map__fd(skeleton_->maps.filter_comms);
  for (const auto& [comm, tag] : filter.comms)
    if (bpf_map_update_elem(comms_fd, comm.data(), &tag, BPF_ANY) != 0)
      return runtime_error("cannot fill the filter_comms map: " + errno_text(errno));
  return ok_status();
}

Status TracerBpf::fill_capture_specs(const BpfSettings& settings) {
  if (!settings.syscall_signatures) return ok_status();
  const int fd = bpf_map__fd(skeleton_->maps.syscall_capture_specs);
  for (const SyscallSignature& signature : settings.syscall_signatures->all()) {
    const uint32_t number = signature.number;
    const tracer_syscall_capture_spec spec = signature.capture_spec();
    if (bpf_map_update_elem(fd, &number, &spec, BPF_ANY) != 0)
      return runtime_error("cannot fill the syscall_capture_specs map: " + errno_text(errno));
  }
  return ok_status();
}

Status TracerBpf::fill_user_function_specs(const BpfSettings& settings) {
  if (!settings.user_functions) return ok_status();
  const int specs_fd = bpf_map__fd(skeleton_->maps.user_function_specs);
  for (const ResolvedUserFunction& target : settings.resolved_user_functions) {
    if (target.slot >= settings.user_functions->all().size()) continue;
    tracer_user_function_spec spec = capture_spec(settings.user_functions->all()[target.slot]);
    if (!target.executables.empty()) spec.flags |= TRACER_USER_EXE_FILTER;
    if (bpf_map_update_elem(specs_fd, &target.slot, &spec, BPF_ANY) != 0)
      return runtime_error("cannot fill the user_function_specs map: " + errno_text(errno));
    for (const ExecutableId& executable : target.executables)
      if (!judge_executable(target.slot, executable, true))
        return runtime_error("cannot fill the user_function_exes map: " + errno_text(errno));
  }
  return ok_status();
}

bool TracerBpf::judge_executable(uint32_t slot, const ExecutableId& executable, bool allowed) {
  const tracer_user_exe_key key{executable.inode, executable.kernel_dev, slot};
  const uint8_t verdict = allowed ? TRACER_USER_EXE_ALLOWED : TRACER_USER_EXE_REFUSED;
  return bpf_map_update_elem(bpf_map__fd(skeleton_->maps.user_function_exes), &key, &verdict, BPF_ANY) == 0;
}

std::vector<AttachOutcome> TracerBpf::attach_user_function(const ResolvedUserFunction& target) {
  std::vector<AttachOutcome> outcomes;
  for (const UprobePoint& point : target.points) {
    const std::string where = point.binary + "+" + std::to_string(point.offset);
    const std::string probed = std::to_string(target.slot) + ":" + where;
    if (std::find(probed_points_.begin(), probed_points_.end(), probed) != probed_points_.end()) continue;
    probed_points_.push_back(probed);
    for (const bool at_return : {false, true}) {
      AttachOutcome outcome;
      outcome.hook = (at_return ? "uretprobe:" : "uprobe:") + where;
      LIBBPF_OPTS(bpf_uprobe_opts, options, .bpf_cookie = target.slot, .retprobe = at_return);
      bpf_program* program = at_return ? skeleton_->progs.tracer_user_return : skeleton_->progs.tracer_user_enter;
      if (bpf_link* link = bpf_program__attach_uprobe_opts(program, -1, point.binary.c_str(), point.offset, &options)) {
        outcome.attached = true;
        links_.emplace_back(link);
      } else {
        outcome.error = errno_text(errno);
      }
      outcomes.push_back(std::move(outcome));
    }
  }
  return outcomes;
}

size_t TracerBpf::sweep_user_calls() {
  if (resolved_user_functions_.empty() || !in_host_pid_namespace_) return 0;
  const int fd = bpf_map__fd(skeleton_->maps.user_calls);
  struct CallKey {
    uint32_t tid;
    uint32_t slot;
  };
  std::vector<CallKey> gone;
  CallKey key{};
  CallKey next{};
  const CallKey* previous = nullptr;
  while (bpf_map_get_next_key(fd, previous, &next) == 0) {
    key = next;
    previous = &key;
    // A thread that no longer exists: it died inside the function.
    if (::kill(static_cast<pid_t>(next.tid), 0) != 0 && errno == ESRCH) gone.push_back(next);
  }
  for (const CallKey& call : gone) bpf_map_delete_elem(fd, &call);
  return gone.size();
}

// Each selected syscall's entry (the program for its argument count) and exit.
void TracerBpf::attach_selected_syscalls(std::vector<AttachOutcome>& outcomes) {
  bpf_program* const enter_programs[] = {
      skeleton_->progs.tracer_syscall_enter_0, skeleton_->progs.tracer_syscall_enter_1,
      skeleton_->progs.tracer_syscall_enter_2, skeleton_->progs.tracer_syscall_enter_3,
      skeleton_->progs.tracer_syscall_enter_4, skeleton_->progs.tracer_syscall_enter_5,
      skeleton_->progs.tracer_syscall_enter_6};
  const auto attach_one = [&](bpf_program* program, const std::string& tracepoint) {
    AttachOutcome outcome;
    outcome.hook = "tracepoint/" + tracepoint;
    if (bpf_link* link = attach_syscall_tracepoint(program, tracepoint)) {
      outcome.attached = true;
      links_.emplace_back(link);
    } else {
      outcome.error = errno_text(errno);
    }
    outcomes.push_back(std::move(outcome));
  };
  for (const auto& [number, arg_count] : syscall_tracepoints_) {
    const EventDefinition* definition = syscall_event(number);
    if (!definition) continue;
    const std::string name(definition->name);
    if (!syscall_stats_)
      attach_one(enter_programs[arg_count % std::size(enter_programs)], "syscalls/sys_enter_" + name);
    attach_one(skeleton_->progs.tracer_syscall_exit, "syscalls/sys_exit_" + name);
  }
}

// The maps are per CPU: each value is the sum of the CPUs' slots.
SyscallCounts TracerBpf::read_syscall_counts() const {
  const int cpus = std::max(libbpf_num_possible_cpus(), 1);
  SyscallCounts counts;
  counts.by_syscall.resize(TRACER_SYSCALL_NR_MAX);
  std::vector<tracer_syscall_stats> syscall_slots(static_cast<size_t>(cpus));
  const int syscalls_fd = bpf_map__fd(skeleton_->maps.syscall_stats);
  for (uint32_t number = 0; number < TRACER_SYSCALL_NR_MAX; ++number) {
    if (bpf_map_lookup_elem(syscalls_fd, &number, syscall_slots.data()) != 0) continue;
    for (const tracer_syscall_stats& slot : syscall_slots) {
      counts.by_syscall[number].calls += slot.calls;
      counts.by_syscall[number].errors += slot.errors;
    }
  }
  std::vector<tracer_process_stats> process_slots(static_cast<size_t>(cpus));
  const int processes_fd = bpf_map__fd(skeleton_->maps.process_syscall_stats);
  uint32_t key = 0;
  uint32_t next = 0;
  const uint32_t* previous = nullptr;
  while (bpf_map_get_next_key(processes_fd, previous, &next) == 0) {
    key = next;
    previous = &key;
    if (bpf_map_lookup_elem(processes_fd, &next, process_slots.data()) != 0) continue;
    tracer_process_stats total{};
    for (const tracer_process_stats& slot : process_slots) {
      total.calls += slot.calls;
      total.errors += slot.errors;
      if (!total.comm[0]) std::memcpy(total.comm, slot.comm, sizeof(total.comm));
    }
    counts.by_process.emplace_back(next, total);
  }
  return counts;
}

Result<std::vector<AttachOutcome>> TracerBpf::attach() {
  std::vector<AttachOutcome> outcomes;
  bpf_program* program;
  bpf_object__for_each_program(program, skeleton_->obj) {
    if (!bpf_program__autoload(program) || program == skeleton_->progs.tracer_whoami) continue;
    const std::string_view section = bpf_program__section_name(program);
    if (section == "tracepoint") continue;                        // attach_selected_syscalls
    if (section == "uprobe" || section == "uretprobe") continue;  // attach_user_function
    AttachOutcome outcome;
    outcome.hook = bpf_program__section_name(program);
    outcome.optional = is_optional_hook(program);
    if (outcome.hook.starts_with("tracepoint/syscalls/")) {
      // The exit program serves both exec syscalls: execve's tracepoint and execveat's.
      const std::string tracepoint = outcome.hook.substr(std::string_view("tracepoint/").size());
      std::vector<std::string> names = {tracepoint};
      if (tracepoint == "syscalls/sys_exit_execve") names.push_back("syscalls/sys_exit_execveat");
      for (const std::string& name : names) {
        AttachOutcome each = outcome;
        each.hook = "tracepoint/" + name;
        if (bpf_link* link = attach_syscall_tracepoint(program, name)) {
          each.attached = true;
          links_.emplace_back(link);
        } else {
          each.error = errno_text(errno);
        }
        outcomes.push_back(std::move(each));
      }
      continue;
    }
    bpf_link* link = bpf_program__attach(program);
    if (!link) {
      outcome.error = errno_text(errno);
    } else {
      outcome.attached = true;
      links_.emplace_back(link);
    }
    outcomes.push_back(std::move(outcome));
  }
  attach_selected_syscalls(outcomes);
  for (const ResolvedUserFunction& target : resolved_user_functions_)
    for (AttachOutcome& outcome : attach_user_function(target)) outcomes.push_back(std::move(outcome));
  if (links_.empty()) {
    std::string message = "cannot attach any BPF program:";
    for (const AttachOutcome& outcome : outcomes) message += " " + outcome.hook + ": " + outcome.error + ";";
    message.pop_back();
    return runtime_error(message);
  }
  return outcomes;
}

// perf_event_open on the tracepoint's id, as libbpf would after reading the
// id from tracefs itself (which it cannot where tracefs is not mounted).
bpf_link* TracerBpf::attach_syscall_tracepoint(bpf_program* program, const std::string& name) {
  for (const auto& [tracepoint, id] : tracepoint_ids_) {
    if (tracepoint != name) continue;
    perf_event_attr attr{};
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.size = sizeof(attr);
    attr.config = id;
    const int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) return nullptr;
    bpf_link* link = bpf_program__attach_perf_event(program, fd);  // the link owns fd from here
    if (!link) {
      const int error = errno;
      ::close(fd);
      errno = error;
    }
    return link;
  }
  errno = ENOENT;
  return nullptr;
}

void TracerBpf::detach() { links_.clear(); }

int TracerBpf::ring_buffer_fd() const { return bpf_map__fd(skeleton_->maps.events); }

uint64_t TracerBpf::own_container_cgroup_id() const { return skeleton_->bss->self_container_cgroup_id; }

int TracerBpf::container_ids_fd() const { return bpf_map__fd(skeleton_->maps.container_ids); }

LossCounts TracerBpf::read_kernel_losses() const {
  LossCounts counts;
  const int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> per_cpu(cpus > 0 ? cpus : 1);
  const int fd = bpf_map__fd(skeleton_->maps.drop_counters);
  for (uint32_t cause = 0; cause < TRACER_DROP_CAUSE_COUNT; ++cause) {
    if (bpf_map_lookup_elem(fd, &cause, per_cpu.data()) != 0) continue;
    for (uint64_t value : per_cpu) counts.kernel[cause] += value;
  }
  return counts;
}

}  // namespace tracer
