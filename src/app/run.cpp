#include "tracer/app/run.hpp"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tracer/app/event_loop.hpp"
#include "tracer/app/metrics_publisher.hpp"
#include "tracer/app/service_notify.hpp"
#include "tracer/kernel/bpf_program.hpp"
#include "tracer/kernel/features.hpp"
#include "tracer/kernel/load_heap.hpp"
#include "tracer/kernel/privileges.hpp"
#include "tracer/kernel/trace_plan.hpp"
#include "tracer/output/metrics_server.hpp"
#include "tracer/output/sinks.hpp"
#include "tracer/process/proc_scan.hpp"
#include "tracer/syscalls/stats_mode.hpp"
#include "tracer/syscalls/syscall_tracefs.hpp"
#include "tracer/user_functions/bash_watcher.hpp"
#include "tracer/user_functions/resolve.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {
namespace {

// --stats prints its totals itself: no sink.
Result<std::unique_ptr<Sink>> make_sink_unless_counting(const Options& options, BootToWallClock& clock) {
  if (options.stats) return std::unique_ptr<Sink>();
  return make_sink(options, clock);
}

// The functions of the user tracers this run produces, found in their ELF
// files before anything is loaded (a missing one is a usage error).
Result<std::vector<ResolvedUserFunction>> resolve_user_functions(const Options& options) {
  std::vector<ResolvedUserFunction> targets;
  if (options.stats) return targets;
  const std::span<const UserFunction> tracers = options.user_functions->all();
  for (uint32_t slot = 0; slot < tracers.size(); ++slot) {
    if (!options.filters.wants(static_cast<uint16_t>(TRACER_EVENT_USER_FUNCTION_BASE + slot))) continue;
    Result<ResolvedUserFunction> target =
        tracers[slot].builtin ? resolve_bash_readline(slot) : resolve_user_function(tracers[slot], slot);
    if (!target) return target.take_error();
    targets.push_back(std::move(*target));
  }
  return targets;
}

// What the plan needs to know about this kernel and this process. tracefs
// keeps the syscall signatures the facts point to (decoding reads them too).
Result<KernelFacts> gather_kernel_facts(const Options& options, TracefsSyscalls& tracefs) {
  KernelFacts facts;
  facts.boot_clock_ns = boot_clock_now_ns();
  // Tracepoint ids and the selected syscalls' argument names, from tracefs.
  const std::bitset<TRACER_SYSCALL_NR_MAX> syscalls = selected_syscalls(options);
  if (requested_syscall_hook(options) != SyscallHook::raw || syscalls.any()) tracefs = read_tracefs_syscalls(syscalls);
  // Checked as soon as the argument names are known: before the slower
  // steps below, and before any notice.
  if (Status status = check_syscall_argument_filters(options.filters, tracefs.signatures); !status)
    return status.take_error();
  facts.tracepoint_ids = tracefs.tracepoint_ids;
  facts.syscall_signatures = &tracefs.signatures;
  Result<std::vector<ResolvedUserFunction>> user_functions = resolve_user_functions(options);
  if (!user_functions) return user_functions.take_error();
  facts.user_functions = std::move(*user_functions);
  if (options.filters.wants(TRACER_EVENT_SECURITY_BPRM_CHECK)) facts.bpf_lsm_refusal = probe_bpf_lsm();
  facts.possible_cpus = libbpf_num_possible_cpus();
  facts.own_pid = static_cast<uint32_t>(getpid());
  facts.in_host_pid_namespace = in_host_pid_namespace();
  return facts;
}

void report_unavailable(const std::vector<UnavailableEvent>& unavailable) {
  for (const UnavailableEvent& event : unavailable)
    std::fprintf(stderr, "tracer: %s is not produced: %s\n", event.name.c_str(), event.reason.c_str());
}

Result<TracerBpf> load(const TracePlan& plan, bool verbose) {
  Result<TracerBpf> bpf = [&] {
    // libbpf reads the kernel's BTF into one buffer and copies it into another.
    const HugePageLoadHeap load_heap(2 * kernel_btf_bytes());
    return TracerBpf::open_and_load(plan);
  }();
  if (!bpf || !verbose) return bpf;
  if (bpf->own_container_cgroup_id())
    std::fprintf(stderr, "tracer: running in a container (cgroup %llu): its own records are left out\n",
                 static_cast<unsigned long long>(bpf->own_container_cgroup_id()));
  std::fprintf(stderr, "tracer: syscalls hooked by %s\n",
               bpf->syscall_hook() == SyscallHook::tracepoints
                   ? "their own tracepoints (syscalls:sys_{enter,exit}_<name>; 32-bit calls are not seen, a 32-bit "
                     "exec is seen at exec only)"
                   : "raw_tp/sys_enter and tp_btf/sys_exit");
  return bpf;
}

// A hook the kernel refused is reported; an optional one only with --verbose.
// How many required hooks failed.
Result<uint64_t> attach_and_report(TracerBpf& bpf, bool verbose) {
  Result<std::vector<AttachOutcome>> outcomes = bpf.attach();
  if (!outcomes) return outcomes.take_error();
  uint64_t failures = 0;
  for (const AttachOutcome& outcome : *outcomes) {
    if (outcome.attached) continue;
    if (!outcome.optional) ++failures;
    if (!outcome.optional || verbose)
      std::fprintf(stderr, "tracer: %s could not be attached (%s); events that need it are not produced\n",
                   outcome.hook.c_str(), outcome.error.c_str());
  }
  return failures;
}

// The summary line, unless the reader of the output went away.
Status finish(Status status, const RunTotals& totals) {
  if (!status && status.error().kind == ExitKind::reader_gone) return status;
  std::fprintf(stderr, "%s\n", summary_line(totals.events_emitted, totals.losses).c_str());
  return status;
}

Status count_syscalls(TracerBpf& bpf, const Options& options, const TracePlan& plan) {
  std::fprintf(stderr, "tracer: tracing %s, counting (--stats; Ctrl-C prints the totals)\n",
               plan.traced_events.c_str());
  notify_ready("counting " + plan.traced_events);
  RunTotals totals;
  Status status = run_stats_loop(bpf, options, totals.events_emitted, totals.losses);
  notify_stopping();
  return finish(std::move(status), totals);
}

// Seeded after attach: a process is then in /proc, in the records, or both.
std::optional<ProcessTable> seed_process_table(const Options& options) {
  std::optional<ProcessTable> table;
  if (options.lineage == Lineage::none) return table;
  table.emplace(
      ProcessTable::Limits{}, [](uint32_t pid) { return read_proc_process(pid); }, proc_clock_tick_ns());
  for (ProcessEntry& entry : scan_proc_processes()) table->seed(std::move(entry));
  return table;
}

ExecutableHooks watch_hooks(BashWatcher* watcher) {
  ExecutableHooks hooks;
  if (!watcher) return hooks;
  hooks.on_new_executable = [watcher](const tracer_executable_record& record) { watcher->on_new_executable(record); };
  hooks.admit_unverified = [watcher](const Event& event) { return watcher->admit_unverified(event); };
  return hooks;
}

// --metrics: the server listens before the readiness line, so that a
// scraper that waits for readiness finds it.
Result<std::unique_ptr<MetricsServer>> start_metrics(const Options& options) {
  if (!options.metrics) return std::unique_ptr<MetricsServer>();
  Result<std::unique_ptr<MetricsServer>> server = MetricsServer::start(*options.metrics);
  if (!server) return server;
  const bool v6 = options.metrics->host.find(':') != std::string::npos;
  std::fprintf(stderr, "tracer: metrics on http://%s%s%s:%u/metrics\n", v6 ? "[" : "", options.metrics->host.c_str(),
               v6 ? "]" : "", unsigned((*server)->port()));
  return server;
}

Status trace_events(TracerBpf& bpf, const Options& options, const TracePlan& plan, Sink& sink, BootToWallClock& clock,
                    const SyscallSignatures& signatures, uint64_t attach_failures) {
  Enricher enricher(bpf.container_ids_fd(), options.lineage, seed_process_table(options));
  Result<std::unique_ptr<MetricsServer>> metrics_server = start_metrics(options);
  if (!metrics_server) return metrics_server.take_error();
  std::optional<MetricsPublisher> metrics;
  if (*metrics_server)
    metrics.emplace(**metrics_server,
                    MetricsPublisher::Sources{
                        bpf.ring_buffer_fd(), uint64_t(options.ring_buffer_kib) * 1024, options.user_functions.get(),
                        [&enricher] { return enricher.table() ? uint64_t(enricher.table()->size()) : 0; },
                        [attach_failures] { return attach_failures; },
                        [&sink](MetricsSnapshot& snapshot) { sink.add_metrics(snapshot); }});
  // Tests and scripts wait for this line: from here on every event is seen.
  std::fprintf(stderr, "tracer: tracing %s (Ctrl-C to stop)\n", plan.traced_events.c_str());
  notify_ready("tracing " + plan.traced_events);

  DecodeOptions decode_options;
  decode_options.max_args = options.max_args;
  decode_options.syscalls = &signatures;
  decode_options.user_functions = options.user_functions.get();
  std::optional<BashWatcher> watcher;
  if (plan.bash_readline_slot) watcher.emplace(bpf, *plan.bash_readline_slot, options.verbose);
  RunTotals totals;
  Status status = run_event_loop(bpf, sink, decode_options, options.filters, enricher, clock, totals,
                                 watch_hooks(watcher ? &*watcher : nullptr), metrics ? &*metrics : nullptr);
  notify_stopping();
  if (options.verbose && enricher.table())
    std::fprintf(stderr, "tracer: process table: %zu processes at exit, %zu at most\n", enricher.table()->size(),
                 enricher.table()->peak_size());
  return finish(std::move(status), totals);
}

}  // namespace

Status run_trace(const Options& options) {
  if (Status status = check_privileges(); !status) return status;
  if (Status status = block_handled_signals(); !status) return status;
  BootToWallClock clock = BootToWallClock::calibrate();
  Result<std::unique_ptr<Sink>> sink = make_sink_unless_counting(options, clock);
  if (!sink) return sink.take_error();

  TracefsSyscalls tracefs;
  Result<KernelFacts> facts = gather_kernel_facts(options, tracefs);
  if (!facts) return facts.take_error();
  report_unavailable(unavailable_events(options, *facts));
  Result<TracePlan> plan = plan_trace(options, *facts);
  if (!plan) return plan.take_error();

  Result<TracerBpf> bpf = load(*plan, options.verbose);
  if (!bpf) return bpf.take_error();
  Result<uint64_t> attach_failures = attach_and_report(*bpf, options.verbose);
  if (!attach_failures) return attach_failures.take_error();
  if (options.stats) return count_syscalls(*bpf, options, *plan);
  return trace_events(*bpf, options, *plan, **sink, clock, tracefs.signatures, *attach_failures);
}

}  // namespace tracer
