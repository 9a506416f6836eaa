#include "tracer/bpf_program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string_view>

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

  if (int err = tracer_bpf__load(raw); err) {
    std::string message = "cannot load the BPF programs: " + errno_text(err);
    if (err == -EPERM || err == -EACCES)
      message += " (the kernel refused; is a lockdown or a seccomp policy in force?)";
    return runtime_error(message + "; run with --verbose for the kernel's log");
  }
  if (Status status = bpf.fill_filter_maps(settings.filter); !status) return status.take_error();
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
    if (!bpf_program__autoload(program)) continue;
    AttachOutcome outcome;
    outcome.hook = bpf_program__section_name(program);
    outcome.optional = is_optional_hook(program);
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

void TracerBpf::detach() { links_.clear(); }

int TracerBpf::ring_buffer_fd() const { return bpf_map__fd(skeleton_->maps.events); }

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
