#include "tracer/app/run.hpp"

#include <time.h>

#include <algorithm>
#include <bitset>
#include <cstdio>
#include <string>

#include "tracer/app/event_loop.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/kernel/bpf_program.hpp"
#include "tracer/kernel/features.hpp"
#include "tracer/kernel/load_heap.hpp"
#include "tracer/kernel/privileges.hpp"
#include "tracer/output/sinks.hpp"
#include "tracer/process/proc_scan.hpp"
#include "tracer/syscalls/stats_mode.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/syscalls/syscall_tracefs.hpp"
#include "tracer/user_functions/resolve.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {
namespace {

uint64_t boot_clock_now_ns() {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
}

std::string traced_event_names(const FilterSpec& filters, uint64_t unavailable,
                               const std::bitset<TRACER_SYSCALL_NR_MAX>& syscalls,
                               const UserFunctions* user_functions) {
  std::string names;
  const auto add = [&](std::string_view name) {
    if (!names.empty()) names += ", ";
    names += name;
  };
  for (const EventDefinition& definition : event_definitions())
    if (filters.wants(definition.id) && !(unavailable & (uint64_t{1} << definition.id))) add(definition.name);
  if (user_functions)
    for (const EventDefinition& definition : user_functions->definitions())
      if (filters.wants(definition.id)) add(definition.name);
  if (syscalls.count() > 16) {
    add(std::to_string(syscalls.count()) + " syscalls");
    return names;
  }
  for (const SyscallName& syscall : syscall_names())
    if (syscall.number < TRACER_SYSCALL_NR_MAX && syscalls.test(syscall.number)) add(syscall.name);
  return names;
}

// The syscalls this run hooks: those event= names; with --stats every
// syscall unless event= names some (execve/execveat counted as syscalls).
std::bitset<TRACER_SYSCALL_NR_MAX> selected_syscalls(const Options& options) {
  std::bitset<TRACER_SYSCALL_NR_MAX> selected = options.filters.wanted_syscalls;
  if (!options.stats) return selected;
  for (const SyscallName& syscall : syscall_names()) {
    if (syscall.number >= TRACER_SYSCALL_NR_MAX) continue;
    const EventDefinition* builtin = find_event(syscall.name);
    const bool wanted = !options.filters.events_given || (builtin && options.filters.wants(builtin->id));
    if (wanted) selected.set(syscall.number);
  }
  return selected;
}

// A syscall's argument names are known only now (from the kernel's formats).
Status check_syscall_argument_filters(const FilterSpec& filters, const SyscallSignatures& signatures) {
  for (const ArgumentFilter& filter : filters.argument_filters) {
    const std::optional<uint16_t> number = syscall_of_event(filter.event_id);
    if (!number) continue;
    const SyscallSignature* signature = signatures.find(*number);
    if (!signature) continue;
    const std::vector<std::string> names = signature->filterable_names();
    if (std::find(names.begin(), names.end(), filter.argument) != names.end()) continue;
    std::string known;
    for (const std::string& name : names) {
      if (!known.empty()) known += ", ";
      known += name;
    }
    return usage_error("--trace '" + filter.expression + "': " + signature->name + " has no argument '" +
                       filter.argument + "' (it has " + known + ")");
  }
  return ok_status();
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

bool wants_exec_programs(const Options& options) {
  const FilterSpec& filters = options.filters;
  return filters.wants(TRACER_EVENT_EXECVE) || filters.wants(TRACER_EVENT_EXECVEAT) ||
         filters.wants(TRACER_EVENT_SCHED_PROCESS_EXEC) || options.lineage != Lineage::none;
}

}  // namespace

Status run_trace(const Options& options) {
  if (Status status = check_privileges(); !status) return status;
  if (Status status = block_handled_signals(); !status) return status;

  BootToWallClock clock = BootToWallClock::calibrate();
  std::unique_ptr<Sink> sink;
  if (!options.stats) {
    Result<std::unique_ptr<Sink>> made = make_sink(options, clock);
    if (!made) return made.take_error();
    sink = std::move(*made);
  }

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
  settings.exec_programs = wants_exec_programs(options);
  settings.syscalls = selected_syscalls(options);
  settings.syscall_stats = options.stats;
  // Tracepoint ids and the selected syscalls' argument names, from tracefs.
  TracefsSyscalls tracefs;
  if (settings.syscall_hook != SyscallHook::raw || settings.syscalls.any())
    tracefs = read_tracefs_syscalls(settings.syscalls);
  if (Status status = check_syscall_argument_filters(options.filters, tracefs.signatures); !status) return status;
  settings.tracepoint_ids = tracefs.tracepoint_ids;
  settings.syscall_signatures = &tracefs.signatures;
  Result<std::vector<ResolvedUserFunction>> user_targets = resolve_user_functions(options);
  if (!user_targets) return user_targets.take_error();
  settings.resolved_user_functions = std::move(*user_targets);
  settings.user_functions = options.user_functions.get();
  // bash_readline: a bash run from elsewhere (copied, built) is probed when it
  // first runs; the bashes probed already (its executables) are known.
  const ResolvedUserFunction* bash_target = nullptr;
  for (const ResolvedUserFunction& target : settings.resolved_user_functions)
    if (options.user_functions->all()[target.slot].builtin) bash_target = &target;
  if (bash_target) {
    settings.watch_executables = true;
    settings.known_executables = bash_target->executables;
  }
  const std::optional<uint32_t> bash_slot = bash_target ? std::optional<uint32_t>(bash_target->slot) : std::nullopt;

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
  if ((options.filters.wanted_events & ~unavailable) == 0 && settings.syscalls.none() &&
      settings.resolved_user_functions.empty())
    return runtime_error("no event left to trace on this kernel (tracer --check shows what it supports)");

  Result<TracerBpf> bpf = [&] {
    // libbpf reads the kernel's BTF into one buffer and copies it into another.
    const HugePageLoadHeap load_heap(2 * kernel_btf_bytes());
    return TracerBpf::open_and_load(settings);
  }();
  if (!bpf) return bpf.take_error();
  if (options.verbose && bpf->own_container_cgroup_id())
    std::fprintf(stderr, "tracer: running in a container (cgroup %llu): its own records are left out\n",
                 static_cast<unsigned long long>(bpf->own_container_cgroup_id()));
  if (options.verbose)
    std::fprintf(stderr, "tracer: syscalls hooked by %s\n",
                 bpf->syscall_hook() == SyscallHook::tracepoints
                     ? "their own tracepoints (syscalls:sys_{enter,exit}_<name>; 32-bit calls are not seen, a 32-bit "
                       "exec is seen at exec only)"
                     : "raw_tp/sys_enter and tp_btf/sys_exit");
  Result<std::vector<AttachOutcome>> outcomes = bpf->attach();
  if (!outcomes) return outcomes.take_error();
  for (const AttachOutcome& outcome : *outcomes)
    if (!outcome.attached && (!outcome.optional || options.verbose))
      std::fprintf(stderr, "tracer: %s could not be attached (%s); events that need it are not produced\n",
                   outcome.hook.c_str(), outcome.error.c_str());

  if (options.stats) {
    std::fprintf(stderr, "tracer: tracing %s, counting (--stats; Ctrl-C prints the totals)\n",
                 traced_event_names(FilterSpec{}, 0, settings.syscalls, nullptr).c_str());
    RunTotals totals;
    Status status = run_stats_loop(*bpf, options, totals.events_emitted, totals.losses);
    if (!status && status.error().kind == ExitKind::reader_gone) return status;
    std::fprintf(stderr, "%s\n", summary_line(totals.events_emitted, totals.losses).c_str());
    return status;
  }

  // Tests and scripts wait for this line: from here on every event is seen.
  std::optional<ProcessTable> table;
  if (options.lineage != Lineage::none) {
    // Seeded after attach: a process is then in /proc, in the records, or both.
    table.emplace(
        ProcessTable::Limits{}, [](uint32_t pid) { return read_proc_process(pid); }, proc_clock_tick_ns());
    for (ProcessEntry& entry : scan_proc_processes()) table->seed(std::move(entry));
  }
  Enricher enricher(bpf->container_ids_fd(), options.lineage, std::move(table));

  std::fprintf(
      stderr, "tracer: tracing %s (Ctrl-C to stop)\n",
      traced_event_names(options.filters, unavailable, settings.syscalls, options.user_functions.get()).c_str());

  DecodeOptions decode_options;
  decode_options.max_args = options.max_args;
  decode_options.syscalls = &tracefs.signatures;
  decode_options.user_functions = options.user_functions.get();
  ExecutableHooks executable_hooks;
  if (bash_slot) {
    executable_hooks.on_new_executable = [&](const tracer_executable_record& record) {
      std::string path;
      const ExecutableId id{record.inode, record.dev};
      std::optional<ResolvedUserFunction> target =
          bash_readline_of_process(record.header.task.tgid, id, *bash_slot, path);
      if (!target) return;
      // Allowed before the probes attach: no call of theirs waits for a verdict.
      for (const ExecutableId& executable : target->executables) bpf->judge_executable(*bash_slot, executable, true);
      for (const AttachOutcome& outcome : bpf->attach_user_function(*target))
        if (!outcome.attached)
          std::fprintf(stderr, "tracer: bash_readline: %s could not be attached (%s)\n", outcome.hook.c_str(),
                       outcome.error.c_str());
      std::fprintf(stderr, "tracer: bash_readline: %s is a bash too (pid %u): its readline is probed from now on\n",
                   path.c_str(), record.header.task.tgid);
      if (options.verbose)
        std::fprintf(stderr, "tracer: bash_readline: probed %.1f ms after its first exec\n",
                     double(boot_clock_now_ns() - record.header.boot_ns) / 1e6);
    };
    // readline in a library: called by a program the kernel has no verdict
    // on yet. Judged once, by its binary; the kernel keeps the verdict.
    executable_hooks.admit_unverified = [&](const Event& event) {
      const ExecutableId id{event.unverified_executable->inode, event.unverified_executable->kernel_dev};
      std::string path;
      const bool bash = bash_readline_of_process(event.task.pid, id, *bash_slot, path).has_value();
      bpf->judge_executable(*bash_slot, id, bash);
      return bash;
    };
  }
  RunTotals totals;
  Status status =
      run_event_loop(*bpf, *sink, decode_options, options.filters, enricher, clock, totals, executable_hooks);
  if (options.verbose && enricher.table())
    std::fprintf(stderr, "tracer: process table: %zu processes at exit, %zu at most\n", enricher.table()->size(),
                 enricher.table()->peak_size());
  if (!status && status.error().kind == ExitKind::reader_gone) return status;
  std::fprintf(stderr, "%s\n", summary_line(totals.events_emitted, totals.losses).c_str());
  return status;
}

}  // namespace tracer
