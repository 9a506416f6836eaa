#include "tracer/kernel/trace_plan.hpp"

#include <algorithm>
#include <chrono>
#include <string_view>

#include "tracer/capture/write_glob.hpp"
#include "tracer/core/clock.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {
namespace {

constexpr std::string_view kProgramNames[] = {
    "tracer_enter_execve",       "tracer_enter_execveat",
    "tracer_exec_exit",          "tracer_syscall_enter_0",
    "tracer_syscall_enter_1",    "tracer_syscall_enter_2",
    "tracer_syscall_enter_3",    "tracer_syscall_enter_4",
    "tracer_syscall_enter_5",    "tracer_syscall_enter_6",
    "tracer_syscall_exit",       "tracer_sys_enter",
    "tracer_sys_exit",           "tracer_sched_process_exec",
    "tracer_executable_watch",   "tracer_sched_prepare_exec",
    "tracer_bprm_check",         "tracer_sched_process_fork",
    "tracer_sched_process_exit", "tracer_user_enter",
    "tracer_user_return",        "tracer_whoami",
    "tracer_capture_write",      "tracer_capture_pwrite64",
    "tracer_capture_writev",     "tracer_capture_pwritev",
    "tracer_capture_pwritev2",   "tracer_capture_write_exit",
    "tracer_capture_mprotect",   "tracer_capture_pkey_mprotect",
    "tracer_capture_mem_exit",
};
static_assert(std::size(kProgramNames) == static_cast<size_t>(BpfProgram::count));

constexpr const char* kExecTracepoints[] = {"syscalls/sys_enter_execve", "syscalls/sys_enter_execveat",
                                            "syscalls/sys_exit_execve", "syscalls/sys_exit_execveat"};

constexpr uint64_t bit(uint16_t event_id) { return uint64_t{1} << event_id; }

std::optional<uint64_t> tracepoint_id(const KernelFacts& facts, const std::string& name) {
  for (const auto& [tracepoint, id] : facts.tracepoint_ids)
    if (tracepoint == name) return id;
  return std::nullopt;
}

// The syscall's name in its tracepoints' names; its number when it has none
// (so that no tracepoint is found for it).
std::string tracepoint_name(size_t number) {
  const EventDefinition* definition = syscall_event(static_cast<uint16_t>(number));
  return definition ? std::string(syscall_tracepoint_name(definition->name)) : std::to_string(number);
}

// The first tracepoint this run would need that tracefs did not give: the
// exec ones, and the exit (and, unless counting, the entry) of each selected
// syscall. "" when there is none.
std::string missing_tracepoint(const KernelFacts& facts, bool exec, bool stats,
                               const std::bitset<TRACER_SYSCALL_NR_MAX>& syscalls) {
  if (exec)
    for (const char* name : kExecTracepoints)
      if (!tracepoint_id(facts, name)) return name;
  for (size_t number = 0; number < syscalls.size(); ++number) {
    if (!syscalls.test(number)) continue;
    const std::string name = tracepoint_name(number);
    if (!stats && !tracepoint_id(facts, "syscalls/sys_enter_" + name)) return "syscalls/sys_enter_" + name;
    if (!tracepoint_id(facts, "syscalls/sys_exit_" + name)) return "syscalls/sys_exit_" + name;
  }
  return "";
}

// One hook for every syscall this run traces: their own tracepoints where
// tracefs gave every id (and not too many are selected), raw otherwise.
Result<SyscallHook> choose_syscall_hook(const Options& options, const KernelFacts& facts, bool exec,
                                        const std::bitset<TRACER_SYSCALL_NR_MAX>& syscalls) {
  const SyscallHook requested = requested_syscall_hook(options);
  const std::string missing = missing_tracepoint(facts, exec, options.stats, syscalls);
  const bool possible = missing.empty() && syscalls.count() <= kMaxSyscallTracepoints;
  if (requested == SyscallHook::tracepoints && !possible)
    return runtime_error(missing.empty() ? "--syscall-hook tracepoint: more than " +
                                               std::to_string(kMaxSyscallTracepoints) + " syscalls selected"
                                         : "--syscall-hook tracepoint: tracepoint " + missing +
                                               " is not available (tracefs cannot be read, or the kernel lacks it)");
  return requested != SyscallHook::raw && possible ? SyscallHook::tracepoints : SyscallHook::raw;
}

std::string traced_event_names(const FilterSpec& filters, uint64_t unavailable,
                               const std::bitset<TRACER_SYSCALL_NR_MAX>& syscalls, const UserFunctions* user_functions,
                               const std::vector<uint32_t>& lost_slots = {}) {
  std::string names;
  const auto add = [&](std::string_view name) {
    if (!names.empty()) names += ", ";
    names += name;
  };
  for (const EventDefinition& definition : event_definitions())
    if (filters.wants(definition.id) && !(unavailable & bit(definition.id))) add(definition.name);
  if (user_functions)
    for (size_t slot = 0; slot < user_functions->definitions().size(); ++slot) {
      const EventDefinition& definition = user_functions->definitions()[slot];
      if (filters.wants(definition.id) && std::ranges::count(lost_slots, slot) == 0) add(definition.name);
    }
  if (syscalls.count() > 16) {
    add(std::to_string(syscalls.count()) + " syscalls");
    return names;
  }
  for (const SyscallName& syscall : syscall_names())
    if (syscall.number < TRACER_SYSCALL_NR_MAX && syscalls.test(syscall.number)) add(syscall.name);
  return names;
}

uint8_t argument_count(const KernelFacts& facts, size_t number) {
  const SyscallSignature* signature =
      facts.syscall_signatures ? facts.syscall_signatures->find(static_cast<uint16_t>(number)) : nullptr;
  return static_cast<uint8_t>(signature ? signature->args.size() : TRACER_SYSCALL_ARGS);
}

Attachment tracepoint_attachment(const KernelFacts& facts, BpfProgram program, std::string tracepoint, Serves serves) {
  Attachment attachment{program, std::move(tracepoint), std::nullopt, false, serves};
  attachment.tracepoint_id = tracepoint_id(facts, attachment.tracepoint);
  return attachment;
}

// Attached apart: the selected syscalls' programs per syscall, the uprobes
// per user function (at attach); whoami is run once, never attached.
bool attached_apart(BpfProgram program) {
  return (program >= BpfProgram::syscall_enter_0 && program <= BpfProgram::syscall_exit) ||
         (program >= BpfProgram::write_capture_write && program <= BpfProgram::write_capture_exit) ||
         (program >= BpfProgram::mem_capture_mprotect && program <= BpfProgram::mem_capture_exit) ||
         program == BpfProgram::user_enter || program == BpfProgram::user_return || program == BpfProgram::whoami;
}

Serves serving(uint64_t events, bool every_syscall = false) {
  Serves serves;
  serves.events = events;
  serves.every_syscall = every_syscall;
  return serves;
}

// The events that go without the program's own hook.
Serves served_by(BpfProgram program, uint64_t exec_events) {
  switch (program) {
    case BpfProgram::sys_enter:
    case BpfProgram::sys_exit: return serving(exec_events, true);
    case BpfProgram::sched_process_exec: return serving(exec_events | bit(TRACER_EVENT_SCHED_PROCESS_EXEC));
    case BpfProgram::bprm_check: return serving(bit(TRACER_EVENT_SECURITY_BPRM_CHECK));
    case BpfProgram::sched_process_fork: return serving(bit(TRACER_EVENT_SCHED_PROCESS_FORK));
    case BpfProgram::sched_process_exit: return serving(bit(TRACER_EVENT_SCHED_PROCESS_EXIT));
    default: return {};  // sched_prepare_exec is optional; executable_watch finds bash copies only
  }
}

// The loaded programs in the object's order: the exec ones at their syscalls'
// tracepoints (the exit program serves both), the others at their own hooks.
void plan_program_attachments(TracePlan& plan, const KernelFacts& facts, bool exec) {
  const uint64_t exec_events = exec ? bit(TRACER_EVENT_EXECVE) | bit(TRACER_EVENT_EXECVEAT) : 0;
  const Serves execve = serving(bit(TRACER_EVENT_EXECVE));
  const Serves execveat = serving(bit(TRACER_EVENT_EXECVEAT));
  for (size_t index = 0; index < static_cast<size_t>(BpfProgram::count); ++index) {
    const auto program = static_cast<BpfProgram>(index);
    if (!plan.loads(program) || attached_apart(program)) continue;
    if (program == BpfProgram::enter_execve) {
      plan.attachments.push_back(tracepoint_attachment(facts, program, kExecTracepoints[0], execve));
    } else if (program == BpfProgram::enter_execveat) {
      plan.attachments.push_back(tracepoint_attachment(facts, program, kExecTracepoints[1], execveat));
    } else if (program == BpfProgram::exec_exit) {
      plan.attachments.push_back(tracepoint_attachment(facts, program, kExecTracepoints[2], execve));
      plan.attachments.push_back(tracepoint_attachment(facts, program, kExecTracepoints[3], execveat));
    } else {
      // sched_prepare_exec is 6.10+: its raw tracepoint is looked up only at
      // attach, and failing there is expected.
      plan.attachments.push_back(
          {program, "", std::nullopt, program == BpfProgram::sched_prepare_exec, served_by(program, exec_events)});
    }
  }
}

// Each selected syscall's entry (the program for its argument count) and exit.
void plan_syscall_attachments(TracePlan& plan, const KernelFacts& facts) {
  if (plan.syscall_hook != SyscallHook::tracepoints) return;
  for (size_t number = 0; number < plan.syscalls.size(); ++number) {
    if (!plan.syscalls.test(number) || !syscall_event(static_cast<uint16_t>(number))) continue;
    const std::string name = tracepoint_name(number);
    const auto enter = static_cast<BpfProgram>(static_cast<size_t>(BpfProgram::syscall_enter_0) +
                                               argument_count(facts, number) % (TRACER_SYSCALL_ARGS + 1));
    Serves serves;
    serves.syscall = static_cast<int>(number);
    if (!plan.rodata.syscall_stats_mode) {
      plan.attachments.push_back(tracepoint_attachment(facts, enter, "syscalls/sys_enter_" + name, serves));
      plan.programs.set(static_cast<size_t>(enter));  // the entry program for this argument count
    }
    plan.attachments.push_back(
        tracepoint_attachment(facts, BpfProgram::syscall_exit, "syscalls/sys_exit_" + name, serves));
  }
}

constexpr std::pair<std::string_view, BpfProgram> kWriteCaptureCalls[] = {
    {"write", BpfProgram::write_capture_write},       {"pwrite64", BpfProgram::write_capture_pwrite64},
    {"writev", BpfProgram::write_capture_writev},     {"pwritev", BpfProgram::write_capture_pwritev},
    {"pwritev2", BpfProgram::write_capture_pwritev2},
};

// --capture write: each call's entry program at its own tracepoint (the one
// for its argument count), the exit program at each exit. Without tracefs's
// ids there is no capture: an error, not a silent run without it.
Status plan_write_capture(TracePlan& plan, const Options& options, const KernelFacts& facts) {
  const std::vector<std::string>& globs = options.capture.write_globs;
  if (globs.empty()) return ok_status();
  for (const auto& [name, program] : kWriteCaptureCalls) {
    const std::string enter = "syscalls/sys_enter_" + std::string(name);
    const std::string exit = "syscalls/sys_exit_" + std::string(name);
    for (const std::string& tracepoint : {enter, exit})
      if (!tracepoint_id(facts, tracepoint))
        return runtime_error("--capture write: tracepoint " + tracepoint +
                             " is not available (tracefs cannot be read, or the kernel lacks it)");
    plan.programs.set(static_cast<size_t>(program));
    plan.programs.set(static_cast<size_t>(BpfProgram::write_capture_exit));
    plan.attachments.push_back(tracepoint_attachment(facts, program, enter, Serves{}));
    plan.attachments.push_back(tracepoint_attachment(facts, BpfProgram::write_capture_exit, exit, Serves{}));
  }
  plan.write_capture_prefix = kernel_write_prefix(globs, TRACER_WRITE_CAPTURE_PREFIX_MAX);
  plan.write_capture_file_limit = options.capture.file_limit_bytes;
  return ok_status();
}

constexpr std::pair<std::string_view, BpfProgram> kMemCaptureCalls[] = {
    {"mprotect", BpfProgram::mem_capture_mprotect},
    {"pkey_mprotect", BpfProgram::mem_capture_pkey_mprotect},
};

// --capture mem: each call's entry program at its own tracepoint, the exit
// program at both exits; like the write capture, an error without them.
Status plan_mem_capture(TracePlan& plan, const Options& options, const KernelFacts& facts) {
  if (!options.capture.capture_mem) return ok_status();
  for (const auto& [name, program] : kMemCaptureCalls) {
    const std::string enter = "syscalls/sys_enter_" + std::string(name);
    const std::string exit = "syscalls/sys_exit_" + std::string(name);
    for (const std::string& tracepoint : {enter, exit})
      if (!tracepoint_id(facts, tracepoint))
        return runtime_error("--capture mem: tracepoint " + tracepoint +
                             " is not available (tracefs cannot be read, or the kernel lacks it)");
    plan.programs.set(static_cast<size_t>(program));
    plan.programs.set(static_cast<size_t>(BpfProgram::mem_capture_exit));
    plan.attachments.push_back(tracepoint_attachment(facts, program, enter, Serves{}));
    plan.attachments.push_back(tracepoint_attachment(facts, BpfProgram::mem_capture_exit, exit, Serves{}));
  }
  return ok_status();
}

void plan_programs(TracePlan& plan, const Options& options, const KernelFacts& facts, bool exec) {
  const bool tracepoints = plan.syscall_hook == SyscallHook::tracepoints;
  const bool stats = options.stats;
  const bool any_syscall = plan.syscalls.any();
  const bool lifecycle =
      options.filters.follow || plan.rodata.process_table_feed ||
      (options.filters.wanted_events & (bit(TRACER_EVENT_SCHED_PROCESS_FORK) | bit(TRACER_EVENT_SCHED_PROCESS_EXIT)));
  const auto load = [&](BpfProgram program, bool loads) { plan.programs.set(static_cast<size_t>(program), loads); };
  load(BpfProgram::enter_execve, tracepoints && exec);
  load(BpfProgram::enter_execveat, tracepoints && exec);
  load(BpfProgram::exec_exit, tracepoints && exec);
  load(BpfProgram::syscall_exit, tracepoints && any_syscall);
  load(BpfProgram::sys_enter, !tracepoints && !stats && (exec || any_syscall));
  load(BpfProgram::sys_exit, !tracepoints && (exec || any_syscall));
  load(BpfProgram::sched_process_exec, exec);
  load(BpfProgram::executable_watch, plan.bash_readline_slot.has_value());
  load(BpfProgram::sched_prepare_exec, exec);
  load(BpfProgram::bprm_check,
       options.filters.wants(TRACER_EVENT_SECURITY_BPRM_CHECK) && facts.bpf_lsm_refusal.empty());
  load(BpfProgram::sched_process_fork, lifecycle);
  load(BpfProgram::sched_process_exit, lifecycle);
  load(BpfProgram::user_enter, !plan.user_functions.empty());
  load(BpfProgram::user_return, !plan.user_functions.empty());
  load(BpfProgram::whoami, true);
}

// Preallocated maps a run does not use are kept small.
void plan_map_sizes(TracePlan& plan, const Options& options) {
  const uint32_t ring_buffer_bytes = options.ring_buffer_kib * 1024;
  plan.map_sizes.push_back({BpfMap::events, ring_buffer_bytes});
  plan.map_sizes.push_back({BpfMap::record_scratch_by_cpu, plan.possible_cpus});
  if (!options.stats) plan.map_sizes.push_back({BpfMap::process_syscall_stats, 1});
  if (!plan.bash_readline_slot) plan.map_sizes.push_back({BpfMap::known_executables, 1});
  if (!options.filters.follow) plan.map_sizes.push_back({BpfMap::followed_tgids, 1});
  // Batch wakeups: one per 256 KiB (or a quarter of a smaller ring), or the
  // first record after a quiet interval, instead of one per record.
  plan.rodata.wakeup_min_bytes = std::min<uint64_t>(256 * 1024, ring_buffer_bytes / 4);
  plan.rodata.wakeup_interval_ns = std::chrono::nanoseconds(kDeliveryInterval).count();
  plan.rodata.wakeup_quiet_ns = std::chrono::nanoseconds(kQuietGap).count();
}

void plan_user_functions(TracePlan& plan, const Options& options, const KernelFacts& facts) {
  plan.user_functions = facts.user_functions;
  plan.sweep_user_calls = !plan.user_functions.empty() && facts.in_host_pid_namespace;
  if (!options.user_functions) return;
  const std::span<const UserFunction> functions = options.user_functions->all();
  for (const ResolvedUserFunction& target : plan.user_functions) {
    if (target.slot >= functions.size()) continue;
    UserFunctionSpec spec{target.slot, capture_spec(functions[target.slot]), target.executables};
    if (!target.executables.empty()) spec.spec.flags |= TRACER_USER_EXE_FILTER;
    plan.user_function_specs.push_back(std::move(spec));
    if (functions[target.slot].builtin) {
      plan.bash_readline_slot = target.slot;
      plan.known_executables = target.executables;
    }
  }
}

}  // namespace

std::string_view program_name(BpfProgram program) { return kProgramNames[static_cast<size_t>(program)]; }

std::optional<uint32_t> TracePlan::max_entries(BpfMap map) const {
  for (const MapSize& size : map_sizes)
    if (size.map == map) return size.max_entries;
  return std::nullopt;
}

SyscallHook requested_syscall_hook(const Options& options) {
  return options.syscall_hook == "tracepoint" ? SyscallHook::tracepoints
         : options.syscall_hook == "raw"      ? SyscallHook::raw
                                              : SyscallHook::automatic;
}

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

std::bitset<TRACER_SYSCALL_NR_MAX> mem_capture_syscalls() {
  std::bitset<TRACER_SYSCALL_NR_MAX> calls;
  for (const auto& [name, program] : kMemCaptureCalls)
    if (std::optional<uint16_t> number = syscall_number(name); number && *number < TRACER_SYSCALL_NR_MAX)
      calls.set(*number);
  return calls;
}

std::bitset<TRACER_SYSCALL_NR_MAX> write_capture_syscalls() {
  std::bitset<TRACER_SYSCALL_NR_MAX> calls;
  for (const auto& [name, program] : kWriteCaptureCalls)
    if (std::optional<uint16_t> number = syscall_number(name); number && *number < TRACER_SYSCALL_NR_MAX)
      calls.set(*number);
  return calls;
}

bool wants_exec_programs(const Options& options) {
  const FilterSpec& filters = options.filters;
  return filters.wants(TRACER_EVENT_EXECVE) || filters.wants(TRACER_EVENT_EXECVEAT) ||
         filters.wants(TRACER_EVENT_SCHED_PROCESS_EXEC) || options.lineage != Lineage::none;
}

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

// security_bprm_check needs a BPF LSM program: probed, never assumed.
std::vector<UnavailableEvent> unavailable_events(const Options& options, const KernelFacts& facts) {
  std::vector<UnavailableEvent> unavailable;
  if (options.filters.wants(TRACER_EVENT_SECURITY_BPRM_CHECK) && !facts.bpf_lsm_refusal.empty())
    unavailable.push_back({TRACER_EVENT_SECURITY_BPRM_CHECK, "security_bprm_check",
                           "the kernel refuses BPF LSM programs (" + facts.bpf_lsm_refusal +
                               "); execve/execveat still carry filename, exe, dev, inode and argv from "
                               "raw_tp/sched_process_exec"});
  return unavailable;
}

Result<TracePlan> plan_trace(const Options& options, const KernelFacts& facts) {
  if (facts.syscall_signatures)
    if (Status status = check_syscall_argument_filters(options.filters, *facts.syscall_signatures); !status)
      return status.take_error();
  TracePlan plan;
  plan.syscalls = selected_syscalls(options);
  plan.unavailable = unavailable_events(options, facts);
  uint64_t unavailable = 0;
  for (const UnavailableEvent& event : plan.unavailable) unavailable |= bit(event.event_id);
  plan.produced_events = options.filters.wanted_events & ~unavailable;
  if (plan.produced_events == 0 && plan.syscalls.none() && facts.user_functions.empty())
    return runtime_error("no event left to trace on this kernel (tracer --check shows what it supports)");
  if (facts.possible_cpus <= 0)
    return runtime_error("cannot count the possible CPUs: " + errno_text(facts.possible_cpus));
  plan.possible_cpus = static_cast<uint32_t>(facts.possible_cpus);

  const bool exec = wants_exec_programs(options) && !options.stats;
  Result<SyscallHook> hook = choose_syscall_hook(options, facts, exec, plan.syscalls);
  if (!hook) return hook.take_error();
  plan.syscall_hook = *hook;
  if (plan.syscall_hook == SyscallHook::raw && requested_syscall_hook(options) == SyscallHook::automatic &&
      facts.tracefs_unreadable && (exec || plan.syscalls.any()) && plan.syscalls.count() <= kMaxSyscallTracepoints)
    plan.syscall_hook_fallback = "tracefs could not be read";
  plan.rodata = {.max_args = options.max_args,
                 .env_max = options.env.enabled ? uint32_t{TRACER_ENV_MAX} : 0,
                 .process_table_feed = options.lineage != Lineage::none,
                 .syscall_stats_mode = options.stats,
                 .tracer_tgid = facts.own_pid};
  plan.filter = compile_filter(options.filters, facts.boot_clock_ns);
  if (facts.syscall_signatures)
    for (const SyscallSignature& signature : facts.syscall_signatures->all())
      plan.syscall_capture_specs.push_back({signature.number, signature.capture_spec()});
  plan_user_functions(plan, options, facts);
  plan_programs(plan, options, facts, exec);
  plan_program_attachments(plan, facts, exec);
  plan_syscall_attachments(plan, facts);
  if (Status status = plan_write_capture(plan, options, facts); !status) return status.take_error();
  if (Status status = plan_mem_capture(plan, options, facts); !status) return status.take_error();
  plan_map_sizes(plan, options);
  plan.traced_events =
      options.stats ? traced_event_names(FilterSpec{}, 0, plan.syscalls, nullptr)
                    : traced_event_names(options.filters, unavailable, plan.syscalls, options.user_functions.get());
  return plan;
}

bool asked_by_name(const Options& options, uint16_t event_id) {
  return options.filters.events_given && options.filters.wants(event_id);
}

namespace {

// "a, b: reason; c: other reason" for the events of unavailable that pass keep.
template <typename Keep>
std::string describe_unavailable(const std::vector<UnavailableEvent>& unavailable, std::string_view verb, Keep keep) {
  std::vector<std::pair<std::string, std::string>> by_reason;  // reason → names
  for (const UnavailableEvent& event : unavailable) {
    if (!keep(event)) continue;
    auto same = std::ranges::find(by_reason, event.reason, &std::pair<std::string, std::string>::first);
    if (same == by_reason.end()) {
      by_reason.emplace_back(event.reason, event.name);
    } else {
      same->second += ", " + event.name;
    }
  }
  std::string text;
  for (const auto& [reason, names] : by_reason) {
    if (!text.empty()) text += "; ";
    text += names + " " + std::string(verb) + ": " + reason;
  }
  return text;
}

}  // namespace

std::string named_refusal(const Options& options, const std::vector<UnavailableEvent>& unavailable) {
  return describe_unavailable(unavailable, "cannot be traced",
                              [&](const UnavailableEvent& event) { return asked_by_name(options, event.event_id); });
}

std::string default_refusal(const Options& options, const std::vector<UnavailableEvent>& unavailable) {
  return describe_unavailable(unavailable, "not produced",
                              [&](const UnavailableEvent& event) { return !asked_by_name(options, event.event_id); });
}

namespace {

// What the failed outcome costs: the planned events, syscalls and user
// functions nothing else can produce. False when it serves none of them.
bool lose_served(AttachedRun& run, const TracePlan& plan, const AttachOutcome& failed, uint64_t& lost_events,
                 std::bitset<TRACER_SYSCALL_NR_MAX>& lost_syscalls) {
  const std::string why = failed.hook + ": " + failed.error;
  const uint64_t events = failed.serves.events & plan.produced_events;
  std::bitset<TRACER_SYSCALL_NR_MAX> syscalls;
  if (failed.serves.every_syscall) syscalls = plan.syscalls;
  if (failed.serves.syscall >= 0 && plan.syscalls.test(static_cast<size_t>(failed.serves.syscall)))
    syscalls.set(static_cast<size_t>(failed.serves.syscall));
  for (const EventDefinition& definition : event_definitions())
    if ((events & bit(definition.id)) && !(lost_events & bit(definition.id))) {
      lost_events |= bit(definition.id);
      run.lost.push_back({definition.id, std::string(definition.name), why});
    }
  for (size_t number = 0; number < syscalls.size(); ++number) {
    const EventDefinition* definition = syscall_event(static_cast<uint16_t>(number));
    if (!syscalls.test(number) || lost_syscalls.test(number) || !definition) continue;
    lost_syscalls.set(number);
    run.lost.push_back({definition->id, std::string(definition->name), why});
  }
  return events != 0 || syscalls.any();
}

// A user function is lost when none of its probes attached.
std::vector<uint32_t> lose_user_functions(AttachedRun& run, const Options& options, const TracePlan& plan,
                                          const std::vector<AttachOutcome>& outcomes) {
  std::vector<uint32_t> lost_slots;
  for (const ResolvedUserFunction& function : plan.user_functions) {
    const AttachOutcome* failed = nullptr;
    bool attached = false;
    for (const AttachOutcome& outcome : outcomes) {
      if (outcome.serves.user_slot != function.slot) continue;
      attached |= outcome.attached;
      if (!outcome.attached && !failed) failed = &outcome;
    }
    if (!failed) continue;
    if (attached) {
      for (const AttachOutcome& outcome : outcomes)
        if (outcome.serves.user_slot == function.slot && !outcome.attached) run.other_failures.push_back(outcome);
      continue;
    }
    lost_slots.push_back(function.slot);
    const EventDefinition* definition =
        options.user_functions && function.slot < options.user_functions->definitions().size()
            ? &options.user_functions->definitions()[function.slot]
            : nullptr;
    run.lost.push_back({static_cast<uint16_t>(TRACER_EVENT_USER_FUNCTION_BASE + function.slot),
                        definition ? std::string(definition->name) : "user function " + std::to_string(function.slot),
                        failed->hook + ": " + failed->error});
  }
  return lost_slots;
}

}  // namespace

AttachedRun assess_attachments(const Options& options, const TracePlan& plan,
                               const std::vector<AttachOutcome>& outcomes) {
  AttachedRun run;
  uint64_t lost_events = 0;
  std::bitset<TRACER_SYSCALL_NR_MAX> lost_syscalls;
  for (const AttachOutcome& outcome : outcomes) {
    if (outcome.attached || outcome.serves.user_slot) continue;
    if (outcome.optional || !lose_served(run, plan, outcome, lost_events, lost_syscalls))
      run.other_failures.push_back(outcome);
  }
  const std::vector<uint32_t> lost_slots = lose_user_functions(run, options, plan, outcomes);
  const std::bitset<TRACER_SYSCALL_NR_MAX> syscalls = plan.syscalls & ~lost_syscalls;
  run.traced_events = options.stats ? traced_event_names(FilterSpec{}, 0, syscalls, nullptr)
                                    : traced_event_names(options.filters, ~plan.produced_events | lost_events, syscalls,
                                                         options.user_functions.get(), lost_slots);
  return run;
}

}  // namespace tracer
