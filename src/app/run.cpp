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
#include "tracer/capture/exec_hasher.hpp"
#include "tracer/capture/mem_capture.hpp"
#include "tracer/capture/write_capture.hpp"
#include "tracer/core/escape.hpp"
#include "tracer/kernel/bpf_program.hpp"
#include "tracer/kernel/confine.hpp"
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
#include "tracer/user_functions/exec_gate.hpp"
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
  // --capture write: its calls' tracepoint ids too.
  // --capture mem: mprotect's and pkey_mprotect's.
  const bool write_capture = !options.capture.write_globs.empty();
  const bool mem_capture = options.capture.capture_mem;
  if (requested_syscall_hook(options) != SyscallHook::raw || syscalls.any() || write_capture || mem_capture) {
    std::bitset<TRACER_SYSCALL_NR_MAX> read = syscalls;
    if (write_capture) read |= write_capture_syscalls();
    if (mem_capture) read |= mem_capture_syscalls();
    tracefs = read_tracefs_syscalls(read);
    facts.tracefs_unreadable = tracefs.tracepoint_ids.empty();
  }
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

// Events asked for by name that cannot be produced stop the run; those of
// the default set are named in one line.
Status refuse_unavailable(const Options& options, const std::vector<UnavailableEvent>& unavailable) {
  if (std::string named = named_refusal(options, unavailable); !named.empty()) return runtime_error(named);
  if (std::string others = default_refusal(options, unavailable); !others.empty())
    std::fprintf(stderr, "tracer: %s\n", terminal_safe(others).c_str());
  return ok_status();
}

void report_syscall_hook_fallback(const TracePlan& plan) {
  if (plan.syscall_hook_fallback.empty()) return;
  std::string why = plan.syscall_hook_fallback;
  if (std::string hint = tracefs_hint(); !hint.empty()) why += " (" + hint + ")";
  std::fprintf(stderr,
               "tracer: syscalls hooked by raw_tp/sys_enter and tp_btf/sys_exit (every syscall runs a program): %s\n",
               terminal_safe(why).c_str());
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

// The run as attached: an event asked for by name that lost its hook stops
// it (and the links go with bpf); other lost events are named in one line; a
// failed hook that costs no event is reported on its own, an optional one
// only with --verbose.
Result<AttachedRun> attach_and_assess(TracerBpf& bpf, const Options& options, const TracePlan& plan) {
  Result<std::vector<AttachOutcome>> outcomes = bpf.attach();
  if (!outcomes) return outcomes.take_error();
  AttachedRun run = assess_attachments(options, plan, *outcomes);
  if (std::string named = named_refusal(options, run.lost); !named.empty()) return runtime_error(named);
  if (run.traced_events.empty())  // the default events lost, and nothing else wanted
    return runtime_error("no event left to trace: " + default_refusal(options, run.lost));
  if (Status status = refuse_unavailable(options, run.lost); !status) return status.take_error();
  for (const AttachOutcome& outcome : run.other_failures)
    if (!outcome.optional || options.verbose)
      std::fprintf(stderr, "tracer: %s could not be attached (%s); events that need it are not produced\n",
                   terminal_safe(outcome.hook).c_str(), terminal_safe(outcome.error).c_str());
  return run;
}

// From here on the run needs no privilege beyond the bash watcher's; a
// kernel without seccomp leaves it unconfined.
void confine(const TracePlan& plan, const Options& options) {
  const RunNeeds needs{.attaches_probes = plan.bash_readline_slot.has_value(),
                       .connects = !options.syslog_outputs.empty(),
                       .publishes = options.nats.has_value(),
                       .reads_executables = options.capture.exec_hash,
                       .renames_captures = options.capture.capture_mem};
  if (Status status = confine_run(needs); !status)
    std::fprintf(stderr, "tracer: %s; the run goes on unconfined\n", terminal_safe(status.error().message).c_str());
}

// The summary line, unless the reader of the output went away.
// Probes not attached (bash copies found while running) are counted there.
Status finish(Status status, const RunTotals& totals, uint64_t probes_not_attached = 0) {
  if (!status && status.error().kind == ExitKind::reader_gone) return status;
  std::string line = summary_line(totals.events_emitted, totals.losses, totals.outputs);
  if (probes_not_attached > 0)
    line += ", " + std::to_string(probes_not_attached) + (probes_not_attached == 1 ? " probe" : " probes") +
            " not attached";
  std::fprintf(stderr, "%s\n", line.c_str());
  return status;
}

Status count_syscalls(TracerBpf& bpf, const Options& options, const TracePlan& plan, const std::string& traced) {
  confine(plan, options);
  std::fprintf(stderr, "tracer: tracing %s, counting (--stats; Ctrl-C prints the totals)\n",
               terminal_safe(traced).c_str());
  notify_ready("counting " + traced);
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

ExecutableHooks watch_hooks(BashWatcher* watcher, std::optional<ExecGate>& gate) {
  ExecutableHooks hooks;
  if (!watcher) return hooks;
  hooks.on_new_executable = [watcher](const tracer_executable_record& record) { watcher->on_new_executable(record); };
  hooks.admit_unverified = [watcher](const Event& event) { return watcher->admit_unverified(event); };
  if (!gate) return hooks;
  hooks.gate_fd = gate->fd();
  hooks.on_gate_ready = [watcher, &gate] {
    if (gate) gate->serve([watcher](int file_fd, uint32_t pid) { return watcher->on_exec_opened(file_fd, pid); });
  };
  hooks.close_gate = [&gate] { gate.reset(); };  // no exec waits for a stopping loop
  return hooks;
}

// bash_readline: first execs wait for the bash watcher (a copy of bash is
// probed before it runs); without the gate, a copy is probed when the kernel
// reports its exec, racing its first line.
std::optional<ExecGate> open_exec_gate(const TracePlan& plan) {
  if (!plan.bash_readline_slot) return std::nullopt;
  Result<ExecGate> gate = ExecGate::open();
  if (gate) return std::move(*gate);
  std::fprintf(stderr,
               "tracer: bash_readline: cannot hold first execs (%s): a bash copied elsewhere is probed only after "
               "its exec, and may miss its first line\n",
               terminal_safe(gate.error().message).c_str());
  return std::nullopt;
}

// --capture exec: its directory, created before the run is confined.
Result<std::optional<CaptureStore>> open_capture_store(const CaptureOptions& capture) {
  if (!capture.capture_exec) return std::optional<CaptureStore>();
  Result<CaptureStore> store = CaptureStore::open(capture.directory, capture.limit_bytes);
  if (!store) return store.take_error();
  return std::optional<CaptureStore>(std::move(*store));
}

// --capture write: DIR/write, created before the run is confined.
Result<std::unique_ptr<WriteCapture>> open_write_capture(const CaptureOptions& capture) {
  if (capture.write_globs.empty()) return std::unique_ptr<WriteCapture>();
  WriteCaptureLimits limits;
  limits.total_bytes = capture.limit_bytes;
  limits.file_bytes = capture.file_limit_bytes;
  Result<WriteCaptureStore> store = WriteCaptureStore::open(capture.directory, limits);
  if (!store) return store.take_error();
  return std::make_unique<WriteCapture>(capture.write_globs, std::move(*store));
}

// --capture mem: DIR/mem, created before the run is confined.
Result<std::unique_ptr<MemCapture>> open_mem_capture(const CaptureOptions& capture) {
  if (!capture.capture_mem) return std::unique_ptr<MemCapture>();
  Result<MemCaptureStore> store = MemCaptureStore::open(capture.directory, capture.limit_bytes);
  if (!store) return store.take_error();
  return std::make_unique<MemCapture>(std::move(*store));
}

// --metrics: the socket listens before the run is confined (a port below
// 1024 needs a capability); the server answers from before the readiness
// line, so that a scraper that waits for readiness finds it.
Result<std::unique_ptr<MetricsServer>> listen_for_metrics(const Options& options) {
  if (!options.metrics) return std::unique_ptr<MetricsServer>();
  Result<std::unique_ptr<MetricsServer>> server = MetricsServer::listen(*options.metrics);
  if (!server) return server;
  const bool v6 = options.metrics->host.find(':') != std::string::npos;
  std::fprintf(stderr, "tracer: metrics on http://%s%s%s:%u/metrics\n", v6 ? "[" : "",
               terminal_safe(options.metrics->host).c_str(), v6 ? "]" : "", unsigned((*server)->port()));
  return server;
}

Status trace_events(TracerBpf& bpf, const Options& options, const TracePlan& plan, const AttachedRun& attached,
                    Sink& sink, BootToWallClock& clock, const SyscallSignatures& signatures) {
  Enricher enricher(bpf.container_ids_fd(), options.lineage, seed_process_table(options), options.env);
  std::optional<BashWatcher> watcher;
  if (plan.bash_readline_slot) watcher.emplace(bpf, *plan.bash_readline_slot, options.verbose);
  Result<std::unique_ptr<MetricsServer>> metrics_server = listen_for_metrics(options);
  if (!metrics_server) return metrics_server.take_error();
  std::optional<MetricsPublisher> metrics;
  const uint64_t failed_at_start = attached.other_failures.size();
  if (*metrics_server)
    metrics.emplace(
        **metrics_server,
        MetricsPublisher::Sources{
            bpf.ring_buffer_fd(), uint64_t(options.ring_buffer_kib) * 1024, options.user_functions.get(),
            [&enricher] { return enricher.table() ? uint64_t(enricher.table()->size()) : 0; },
            [&watcher, failed_at_start] { return failed_at_start + (watcher ? watcher->probes_not_attached() : 0); },
            [&sink](MetricsSnapshot& snapshot) { sink.add_metrics(snapshot); }});
  DecodeOptions decode_options;
  decode_options.max_args = options.max_args;
  decode_options.env = options.env.enabled;
  decode_options.syscalls = &signatures;
  decode_options.user_functions = options.user_functions.get();
  Result<std::optional<CaptureStore>> capture_store = open_capture_store(options.capture);
  if (!capture_store) return capture_store.take_error();
  Result<std::unique_ptr<WriteCapture>> write_capture = open_write_capture(options.capture);
  if (!write_capture) return write_capture.take_error();
  Result<std::unique_ptr<MemCapture>> mem_capture = open_mem_capture(options.capture);
  if (!mem_capture) return mem_capture.take_error();
  std::optional<ExecGate> gate = open_exec_gate(plan);
  confine(plan, options);
  // The hasher's thread starts confined, as does the metrics server's.
  std::unique_ptr<ExecHasher> hasher;
  if (options.capture.exec_hash)
    hasher = std::make_unique<ExecHasher>(
        ExecHashSettings{.capture = options.capture.capture_exec, .capture_limit_bytes = options.capture.limit_bytes},
        std::move(*capture_store));
  // Its thread starts confined: no capability, the seccomp filter.
  if (*metrics_server)
    if (Status status = (*metrics_server)->serve(); !status) return status;
  // Tests and scripts wait for this line: from here on every event is seen.
  std::fprintf(stderr, "tracer: tracing %s (Ctrl-C to stop)\n", terminal_safe(attached.traced_events).c_str());
  notify_ready("tracing " + attached.traced_events);

  RunTotals totals;
  Status status = run_event_loop(bpf, sink, decode_options, options.filters, enricher, clock, totals,
                                 watch_hooks(watcher ? &*watcher : nullptr, gate), metrics ? &*metrics : nullptr,
                                 hasher.get(), write_capture->get(), mem_capture->get());
  notify_stopping();
  if (options.verbose && enricher.table())
    std::fprintf(stderr, "tracer: process table: %zu processes at exit, %zu at most\n", enricher.table()->size(),
                 enricher.table()->peak_size());
  return finish(std::move(status), totals, watcher ? watcher->probes_not_attached() : 0);
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
  if (Status status = refuse_unavailable(options, unavailable_events(options, *facts)); !status) return status;
  Result<TracePlan> plan = plan_trace(options, *facts);
  if (!plan) return plan.take_error();
  report_syscall_hook_fallback(*plan);

  Result<TracerBpf> bpf = load(*plan, options.verbose);
  if (!bpf) return bpf.take_error();
  Result<AttachedRun> attached = attach_and_assess(*bpf, options, *plan);
  if (!attached) return attached.take_error();
  if (options.stats) return count_syscalls(*bpf, options, *plan, attached->traced_events);
  return trace_events(*bpf, options, *plan, *attached, **sink, clock, tracefs.signatures);
}

}  // namespace tracer
