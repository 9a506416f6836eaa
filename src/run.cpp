#include "tracer/run.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "tracer/bpf_program.hpp"
#include "tracer/event_loop.hpp"
#include "tracer/event_table.hpp"
#include "tracer/features.hpp"
#include "tracer/privileges.hpp"
#include "tracer/proc_scan.hpp"
#include "tracer/sinks.hpp"

namespace tracer {
namespace {

uint64_t boot_clock_now_ns() {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
}

std::string traced_event_names(const FilterSpec& filters, uint64_t unavailable) {
  std::string names;
  for (const EventDefinition& definition : event_definitions()) {
    if (!filters.wants(definition.id) || (unavailable & (uint64_t{1} << definition.id))) continue;
    if (!names.empty()) names += ", ";
    names += definition.name;
  }
  return names;
}

}  // namespace

Status run_trace(const Options& options) {
  if (Status status = check_privileges(); !status) return status;
  if (Status status = block_handled_signals(); !status) return status;

  BootToWallClock clock = BootToWallClock::calibrate();
  Result<std::unique_ptr<Sink>> sink = make_sink(options, clock);
  if (!sink) return sink.take_error();

  BpfSettings settings;
  settings.max_args = options.max_args;
  settings.ring_buffer_bytes = options.ring_buffer_kib * 1024;
  // Batch wakeups: one per 256 KiB (or a quarter of a smaller ring) instead
  // of one per record; the loop's 100 ms poll bounds the latency.
  settings.wakeup_min_bytes = std::min<uint64_t>(256 * 1024, settings.ring_buffer_bytes / 4);
  settings.filter = compile_filter(options.filters, boot_clock_now_ns());
  settings.process_table_feed = options.lineage != Lineage::none;
  settings.syscall_hook = options.syscall_hook == "tracepoint" ? SyscallHook::tracepoints
                          : options.syscall_hook == "raw"      ? SyscallHook::raw
                                                               : SyscallHook::automatic;

  // security_bprm_check needs a BPF LSM program: probed, never assumed.
  uint64_t unavailable = 0;
  if (options.filters.wants(TRACER_EVENT_SECURITY_BPRM_CHECK)) {
    const std::string refusal = probe_bpf_lsm();
    settings.load_bprm_check = refusal.empty();
    if (!refusal.empty()) {
      unavailable |= uint64_t{1} << TRACER_EVENT_SECURITY_BPRM_CHECK;
      std::fprintf(stderr,
                   "tracer: security_bprm_check is not produced: the kernel refuses BPF LSM programs (%s); "
                   "execve/execveat still carry filename, exe, dev, inode and argv from raw_tp/sched_process_exec\n",
                   refusal.c_str());
    }
  }
  if ((options.filters.wanted_events & ~unavailable) == 0)
    return runtime_error("no event left to trace on this kernel (tracer --check shows what it supports)");

  Result<TracerBpf> bpf = TracerBpf::open_and_load(settings);
  if (!bpf) return bpf.take_error();
  if (options.verbose && bpf->own_container_cgroup_id())
    std::fprintf(stderr, "tracer: running in a container (cgroup %llu): its own records are left out\n",
                 static_cast<unsigned long long>(bpf->own_container_cgroup_id()));
  if (options.verbose)
    std::fprintf(stderr, "tracer: exec syscalls hooked by %s\n",
                 bpf->syscall_hook() == SyscallHook::tracepoints
                     ? "their tracepoints (syscalls:sys_{enter,exit}_execve[at]; 32-bit execs are seen at exec only)"
                     : "raw_tp/sys_enter and sys_exit");
  Result<std::vector<AttachOutcome>> outcomes = bpf->attach();
  if (!outcomes) return outcomes.take_error();
  for (const AttachOutcome& outcome : *outcomes)
    if (!outcome.attached && (!outcome.optional || options.verbose))
      std::fprintf(stderr, "tracer: %s could not be attached (%s); events that need it are not produced\n",
                   outcome.hook.c_str(), outcome.error.c_str());

  // Tests and scripts wait for this line: from here on every event is seen.
  std::optional<ProcessTable> table;
  if (options.lineage != Lineage::none) {
    // Seeded after attach: a process is then in /proc, in the records, or both.
    table.emplace(
        ProcessTable::Limits{}, [](uint32_t pid) { return read_proc_process(pid); }, proc_clock_tick_ns());
    for (ProcessEntry& entry : scan_proc_processes()) table->seed(std::move(entry));
  }
  Enricher enricher(bpf->container_ids_fd(), options.lineage, std::move(table));

  std::fprintf(stderr, "tracer: tracing %s (Ctrl-C to stop)\n",
               traced_event_names(options.filters, unavailable).c_str());

  DecodeOptions decode_options;
  decode_options.max_args = options.max_args;
  RunTotals totals;
  Status status = run_event_loop(*bpf, **sink, decode_options, options.filters, enricher, clock, totals);
  if (options.verbose && enricher.table())
    std::fprintf(stderr, "tracer: process table: %zu processes at exit, %zu at most\n", enricher.table()->size(),
                 enricher.table()->peak_size());
  if (!status && status.error().kind == ExitKind::reader_gone) return status;
  std::fprintf(stderr, "%s\n", summary_line(totals.events_emitted, totals.losses).c_str());
  return status;
}

}  // namespace tracer
