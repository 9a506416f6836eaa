#include "tracer/bpf_program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "tracer/pseudo_fs.hpp"
#include "tracer_bpf.skel.h"

namespace tracer {
namespace {

std::string errno_text(int error) { return std::strerror(error < 0 ? -error : error); }

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

constexpr const char* kSyscallTracepoints[] = {"sys_enter_execve", "sys_enter_execveat", "sys_exit_execve",
                                               "sys_exit_execveat"};

// Ids of the exec syscalls' tracepoints ("syscalls/<name>" → id), all or none.
std::vector<std::pair<std::string, uint64_t>> read_syscall_tracepoint_ids() {
  std::vector<std::string> paths;
  for (const char* name : kSyscallTracepoints)
    paths.push_back(std::string("/sys/kernel/tracing/events/syscalls/") + name + "/id");
  const std::vector<std::optional<std::string>> lines = read_pseudo_fs_lines("tracefs", "/sys/kernel/tracing", paths);
  std::vector<std::pair<std::string, uint64_t>> ids;
  for (size_t i = 0; i < lines.size(); ++i) {
    uint64_t id = 0;
    if (!lines[i]) return {};
    const auto [end, error] = std::from_chars(lines[i]->data(), lines[i]->data() + lines[i]->size(), id);
    if (error != std::errc() || id == 0) return {};
    ids.emplace_back(std::string("syscalls/") + kSyscallTracepoints[i], id);
  }
  return ids;
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

  if (settings.syscall_hook != SyscallHook::raw) bpf.tracepoint_ids_ = read_syscall_tracepoint_ids();
  if (settings.syscall_hook == SyscallHook::tracepoints && bpf.tracepoint_ids_.empty())
    return runtime_error("the exec syscalls' tracepoints are not available (tracefs cannot be read)");
  bpf.syscall_hook_ = bpf.tracepoint_ids_.empty() ? SyscallHook::raw : SyscallHook::tracepoints;
  const bool tracepoints = bpf.syscall_hook_ == SyscallHook::tracepoints;
  bpf_program__set_autoload(raw->progs.tracer_enter_execve, tracepoints);
  bpf_program__set_autoload(raw->progs.tracer_enter_execveat, tracepoints);
  bpf_program__set_autoload(raw->progs.tracer_exec_exit, tracepoints);
  // follow's set is preallocated: keep it small unless follow is asked for.
  if (!settings.filter.config.follow) bpf_map__set_max_entries(raw->maps.followed_tgids, 1);
  bpf_program__set_autoload(raw->progs.tracer_sys_enter, !tracepoints);
  bpf_program__set_autoload(raw->progs.tracer_sys_exit, !tracepoints);

  if (int err = tracer_bpf__load(raw); err) {
    std::string message = "cannot load the BPF programs: " + errno_text(err);
    if (err == -EPERM || err == -EACCES)
      message += " (the kernel refused; is a lockdown or a seccomp policy in force?)";
    return runtime_error(message + "; run with --verbose for the kernel's log");
  }
  if (Status status = bpf.fill_filter_maps(settings.filter); !status) return status.take_error();
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

Result<std::vector<AttachOutcome>> TracerBpf::attach() {
  std::vector<AttachOutcome> outcomes;
  bpf_program* program;
  bpf_object__for_each_program(program, skeleton_->obj) {
    if (!bpf_program__autoload(program) || program == skeleton_->progs.tracer_whoami) continue;
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
