#include "tracer/kernel/trace_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "tracer/app/options.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {
namespace {

using testing::parse;

uint16_t number_of(const char* name) { return syscall_number(name).value(); }

// A kernel that permits BPF LSM programs and whose tracefs gives every
// tracepoint the run needs; the syscalls' signatures have `arguments`
// arguments each (openat 4).
class Kernel {
 public:
  explicit Kernel(const Options& options) {
    for (const char* name : {"syscalls/sys_enter_execve", "syscalls/sys_enter_execveat", "syscalls/sys_exit_execve",
                             "syscalls/sys_exit_execveat"})
      add_tracepoint(name);
    const std::bitset<TRACER_SYSCALL_NR_MAX> syscalls = selected_syscalls(options);
    for (size_t number = 0; number < syscalls.size(); ++number) {
      if (!syscalls.test(number)) continue;
      const std::string name(syscall_event(static_cast<uint16_t>(number))->name);
      // As the kernel names them: sys_enter_newstat for stat.
      const std::string tracepoint(syscall_tracepoint_name(name));
      add_tracepoint("syscalls/sys_enter_" + tracepoint);
      add_tracepoint("syscalls/sys_exit_" + tracepoint);
      SyscallSignature signature;
      signature.number = static_cast<uint16_t>(number);
      signature.name = name;
      for (int arg = 0; arg < (name == "openat" ? 4 : 3); ++arg)
        signature.args.push_back({"arg" + std::to_string(arg), "long", ArgFormat::signed_number});
      signatures_.add(std::move(signature));
    }
    facts.syscall_signatures = &signatures_;
    facts.possible_cpus = 4;
    facts.own_pid = 4242;
    facts.in_host_pid_namespace = true;
    facts.boot_clock_ns = 1'000'000'000;
  }
  void add_tracepoint(const std::string& name) {
    facts.tracepoint_ids.emplace_back(name, 100 + facts.tracepoint_ids.size());
  }
  void remove_tracepoint(const std::string& name) {
    std::erase_if(facts.tracepoint_ids, [&](const auto& entry) { return entry.first == name; });
  }
  uint64_t id_of(const std::string& name) const {
    for (const auto& [tracepoint, id] : facts.tracepoint_ids)
      if (tracepoint == name) return id;
    return 0;
  }

  KernelFacts facts;

 private:
  SyscallSignatures signatures_;
};

TracePlan plan_of(const Options& options, const KernelFacts& facts) {
  Result<TracePlan> plan = plan_trace(options, facts);
  if (!plan) {
    ADD_FAILURE() << plan.error().message;
    return {};
  }
  return std::move(*plan);
}

std::string plan_error(const Options& options, const KernelFacts& facts) {
  Result<TracePlan> plan = plan_trace(options, facts);
  return plan ? "(planned)" : plan.error().message;
}

std::vector<std::string> hooks(const TracePlan& plan) {
  std::vector<std::string> names;
  for (const Attachment& attachment : plan.attachments)
    names.push_back(attachment.tracepoint.empty() ? std::string(program_name(attachment.program))
                                                  : attachment.tracepoint);
  return names;
}

std::vector<BpfProgram> loaded(const TracePlan& plan) {
  std::vector<BpfProgram> programs;
  for (size_t index = 0; index < static_cast<size_t>(BpfProgram::count); ++index)
    if (plan.loads(static_cast<BpfProgram>(index))) programs.push_back(static_cast<BpfProgram>(index));
  return programs;
}

using P = BpfProgram;
using Hooks = std::vector<std::string>;
using Programs = std::vector<BpfProgram>;

TEST(TracePlan, DefaultRunHooksExecsByTheirTracepoints) {
  const Options options = parse({});
  const Kernel kernel(options);
  const TracePlan plan = plan_of(options, kernel.facts);
  EXPECT_EQ(plan.syscall_hook, SyscallHook::tracepoints);
  EXPECT_EQ(loaded(plan), (Programs{P::enter_execve, P::enter_execveat, P::exec_exit, P::sched_process_exec,
                                    P::sched_prepare_exec, P::whoami}));
  EXPECT_EQ(hooks(plan),
            (Hooks{"syscalls/sys_enter_execve", "syscalls/sys_enter_execveat", "syscalls/sys_exit_execve",
                   "syscalls/sys_exit_execveat", "tracer_sched_process_exec", "tracer_sched_prepare_exec"}));
  EXPECT_EQ(plan.attachments[0].tracepoint_id, kernel.id_of("syscalls/sys_enter_execve"));
  EXPECT_EQ(plan.traced_events, "execve, execveat");
  EXPECT_TRUE(plan.unavailable.empty());
  // Maps this run does not use are kept small.
  EXPECT_EQ(plan.max_entries(BpfMap::events), 4096u * 1024);
  EXPECT_EQ(plan.rodata.wakeup_min_bytes, 256u * 1024);
  // The first record after 100 ms of quiet wakes the consumer at once.
  EXPECT_EQ(plan.rodata.wakeup_interval_ns, 100'000'000u);
  EXPECT_EQ(plan.rodata.wakeup_quiet_ns, 10'000'000u);
  EXPECT_EQ(plan.max_entries(BpfMap::record_scratch_by_cpu), 4u);
  EXPECT_EQ(plan.max_entries(BpfMap::process_syscall_stats), 1u);
  EXPECT_EQ(plan.max_entries(BpfMap::known_executables), 1u);
  EXPECT_EQ(plan.max_entries(BpfMap::followed_tgids), 1u);
  EXPECT_EQ(plan.rodata.tracer_tgid, 4242u);
  EXPECT_EQ(plan.rodata.max_args, 128u);
  EXPECT_FALSE(plan.rodata.process_table_feed);
  EXPECT_EQ(plan.rodata.env_max, 0u);  // the environment is not read
}

TEST(TracePlan, OptionEnvReadsTheEnvironment) {
  const Options options = parse({"--output", "json", "--output", "option:env"});
  EXPECT_EQ(plan_of(options, Kernel(options).facts).rodata.env_max, uint32_t{TRACER_ENV_MAX});
}

TEST(TracePlan, SmallRingBufferWakesAtAQuarter) {
  const Options options = parse({"--ring-buffer-kib", "64"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  EXPECT_EQ(plan.max_entries(BpfMap::events), 64u * 1024);
  EXPECT_EQ(plan.rodata.wakeup_min_bytes, 16u * 1024);
}

TEST(TracePlan, SchedPrepareExecIsAnOptionalHook) {
  const Options options = parse({});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  for (const Attachment& attachment : plan.attachments)
    EXPECT_EQ(attachment.optional, attachment.program == P::sched_prepare_exec) << program_name(attachment.program);
}

TEST(TracePlan, WithoutBpfLsmBprmCheckIsNotProducedAndSaysWhy) {
  const Options options = parse({"--trace", "event=security_bprm_check,execve"});
  Kernel kernel(options);
  kernel.facts.bpf_lsm_refusal = "load refused: Operation not permitted";
  const TracePlan plan = plan_of(options, kernel.facts);
  EXPECT_FALSE(plan.loads(P::bprm_check));
  ASSERT_EQ(plan.unavailable.size(), 1u);
  EXPECT_EQ(plan.unavailable[0].name, "security_bprm_check");
  EXPECT_EQ(plan.unavailable[0].reason,
            "the kernel refuses BPF LSM programs (load refused: Operation not permitted); execve/execveat still carry "
            "filename, exe, dev, inode and argv from raw_tp/sched_process_exec");
  EXPECT_EQ(unavailable_events(options, kernel.facts).size(), 1u);
  EXPECT_EQ(plan.produced_events, uint64_t{1} << TRACER_EVENT_EXECVE);
  EXPECT_EQ(plan.traced_events, "execve");
  // Asked for by name: the run stops, with one line that says why.
  EXPECT_EQ(named_refusal(options, plan.unavailable),
            "security_bprm_check cannot be traced: " + plan.unavailable[0].reason);
  EXPECT_EQ(default_refusal(options, plan.unavailable), "");
}

TEST(TracePlan, WithBpfLsmBprmCheckLoadsAtItsOwnHook) {
  const Options options = parse({"--trace", "event=security_bprm_check,execve"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  EXPECT_TRUE(plan.loads(P::bprm_check));
  EXPECT_TRUE(plan.unavailable.empty());
  const Hooks attached = hooks(plan);
  EXPECT_EQ(std::count(attached.begin(), attached.end(), "tracer_bprm_check"), 1);
  EXPECT_EQ(plan.traced_events, "execve, security_bprm_check");
}

TEST(TracePlan, WithoutBpfLsmTheDefaultSetIsUnaffected) {
  const Options options = parse({});
  Kernel kernel(options);
  kernel.facts.bpf_lsm_refusal = "attach refused: Invalid argument";
  const TracePlan plan = plan_of(options, kernel.facts);
  EXPECT_TRUE(plan.unavailable.empty());
  EXPECT_FALSE(plan.loads(P::bprm_check));
  EXPECT_EQ(plan.traced_events, "execve, execveat");
}

TEST(TracePlan, NothingLeftToTraceIsAnError) {
  const Options options = parse({"--trace", "event=security_bprm_check"});
  Kernel kernel(options);
  kernel.facts.bpf_lsm_refusal = "load refused: Operation not permitted";
  EXPECT_EQ(plan_error(options, kernel.facts),
            "no event left to trace on this kernel (tracer --check shows what it supports)");
  // The reason is still told (before the error).
  EXPECT_EQ(unavailable_events(options, kernel.facts).size(), 1u);
}

TEST(TracePlan, WithoutTracepointsExecsAndSyscallsFallBackToRaw) {
  const Options options = parse({"--trace", "event=execve,openat"});
  Kernel kernel(options);
  kernel.facts.tracepoint_ids.clear();  // tracefs cannot be read
  const TracePlan plan = plan_of(options, kernel.facts);
  EXPECT_EQ(plan.syscall_hook, SyscallHook::raw);
  EXPECT_EQ(loaded(plan),
            (Programs{P::sys_enter, P::sys_exit, P::sched_process_exec, P::sched_prepare_exec, P::whoami}));
  EXPECT_EQ(hooks(plan),
            (Hooks{"tracer_sys_enter", "tracer_sys_exit", "tracer_sched_process_exec", "tracer_sched_prepare_exec"}));
  EXPECT_TRUE(plan.syscalls.test(number_of("openat")));
  EXPECT_EQ(plan.syscall_hook_fallback, "");  // tracefs was not found unreadable
  kernel.facts.tracefs_unreadable = true;
  EXPECT_EQ(plan_of(options, kernel.facts).syscall_hook_fallback, "tracefs could not be read");
  EXPECT_EQ(
      plan_of(parse({"--trace", "event=execve,openat", "--syscall-hook", "raw"}), kernel.facts).syscall_hook_fallback,
      "")
      << "raw asked for: no fallback";
  EXPECT_EQ(plan_of(parse({"--stats"}), kernel.facts).syscall_hook_fallback, "")
      << "every syscall counted: the raw hooks anyway";
}

TEST(TracePlan, OneMissingTracepointIsEnoughForRaw) {
  const Options options = parse({"--trace", "event=openat"});
  Kernel kernel(options);
  kernel.remove_tracepoint("syscalls/sys_exit_openat");
  EXPECT_EQ(plan_of(options, kernel.facts).syscall_hook, SyscallHook::raw);
}

TEST(TracePlan, SyscallHookTracepointNamesTheMissingTracepoint) {
  Options options = parse({"--trace", "event=execve", "--syscall-hook", "tracepoint"});
  Kernel kernel(options);
  kernel.facts.tracepoint_ids.clear();
  EXPECT_EQ(plan_error(options, kernel.facts),
            "--syscall-hook tracepoint: tracepoint syscalls/sys_enter_execve is not available (tracefs cannot be "
            "read, or the kernel lacks it)");
  options = parse({"--trace", "event=openat", "--syscall-hook", "tracepoint"});
  Kernel openat(options);
  openat.remove_tracepoint("syscalls/sys_enter_openat");
  EXPECT_EQ(plan_error(options, openat.facts),
            "--syscall-hook tracepoint: tracepoint syscalls/sys_enter_openat is not available (tracefs cannot be "
            "read, or the kernel lacks it)");
}

TEST(TracePlan, SyscallHookRawIsKeptWhereTracepointsWouldDo) {
  const Options options = parse({"--trace", "event=openat", "--syscall-hook", "raw"});
  EXPECT_EQ(plan_of(options, Kernel(options).facts).syscall_hook, SyscallHook::raw);
}

TEST(TracePlan, SelectedSyscallsGetAnEntryProgramByArgumentCountAndAnExit) {
  const Options options = parse({"--trace", "event=openat,close"});
  const Kernel kernel(options);
  const TracePlan plan = plan_of(options, kernel.facts);
  EXPECT_EQ(plan.syscall_hook, SyscallHook::tracepoints);
  EXPECT_EQ(loaded(plan), (Programs{P::syscall_enter_3, P::syscall_enter_4, P::syscall_exit, P::whoami}));
  // close (3) comes before openat (257) by number.
  EXPECT_EQ(hooks(plan), (Hooks{"syscalls/sys_enter_close", "syscalls/sys_exit_close", "syscalls/sys_enter_openat",
                                "syscalls/sys_exit_openat"}));
  EXPECT_EQ(plan.attachments[2].program, P::syscall_enter_4);
  EXPECT_EQ(plan.attachments[2].tracepoint_id, kernel.id_of("syscalls/sys_enter_openat"));
  EXPECT_EQ(plan.syscall_capture_specs.size(), 2u);
  EXPECT_EQ(plan.traced_events, "openat, close");  // in the catalog's order
}

// The kernel's SYSCALL_DEFINE names, not libc's: stat's tracepoints are
// sys_enter_newstat and sys_exit_newstat.
TEST(TracePlan, SyscallsAreHookedByTheirKernelTracepointNames) {
  EXPECT_EQ(syscall_tracepoint_name("stat"), "newstat");
  EXPECT_EQ(syscall_tracepoint_name("umount2"), "umount");
  EXPECT_EQ(syscall_tracepoint_name("sendfile"), "sendfile64");
  EXPECT_EQ(syscall_tracepoint_name("openat"), "openat");
  const Options options = parse({"--trace", "event=stat,sendfile"});
  const Kernel kernel(options);
  const TracePlan plan = plan_of(options, kernel.facts);
  EXPECT_EQ(plan.syscall_hook, SyscallHook::tracepoints);
  EXPECT_EQ(hooks(plan), (Hooks{"syscalls/sys_enter_newstat", "syscalls/sys_exit_newstat",
                                "syscalls/sys_enter_sendfile64", "syscalls/sys_exit_sendfile64"}));
}

std::vector<const char*> many_syscalls(size_t count, std::string& list) {
  list = "event=";
  size_t added = 0;
  for (const SyscallName& syscall : syscall_names()) {
    if (added == count) break;
    if (syscall.number >= TRACER_SYSCALL_NR_MAX || syscall.name == "execve" || syscall.name == "execveat") continue;
    list += std::string(added ? "," : "") + std::string(syscall.name);
    ++added;
  }
  return {"--trace", list.c_str()};
}

TEST(TracePlan, MoreThan64SyscallsUseTheRawHook) {
  std::string list;
  Options options = parse(many_syscalls(64, list));
  EXPECT_EQ(plan_of(options, Kernel(options).facts).syscall_hook, SyscallHook::tracepoints);
  options = parse(many_syscalls(65, list));
  const Kernel kernel(options);
  const TracePlan plan = plan_of(options, kernel.facts);
  EXPECT_EQ(plan.syscall_hook, SyscallHook::raw);
  EXPECT_EQ(loaded(plan), (Programs{P::sys_enter, P::sys_exit, P::whoami}));
  EXPECT_EQ(plan.traced_events, "65 syscalls");
  std::vector<const char*> forced = many_syscalls(65, list);
  forced.insert(forced.end(), {"--syscall-hook", "tracepoint"});
  EXPECT_EQ(plan_error(parse(forced), kernel.facts), "--syscall-hook tracepoint: more than 64 syscalls selected");
}

TEST(TracePlan, StatsCountsAtExitOnlyWithoutEventPrograms) {
  const Options options = parse({"--stats"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  EXPECT_EQ(plan.syscall_hook, SyscallHook::raw);  // every syscall: more than 64
  EXPECT_EQ(loaded(plan), (Programs{P::sys_exit, P::whoami}));
  EXPECT_TRUE(plan.rodata.syscall_stats_mode);
  EXPECT_FALSE(plan.max_entries(BpfMap::process_syscall_stats));  // counted per process: full size
  EXPECT_EQ(plan.traced_events, std::to_string(plan.syscalls.count()) + " syscalls");
  EXPECT_GT(plan.syscalls.count(), 64u);
}

TEST(TracePlan, StatsOfAFewSyscallsHooksOnlyTheirExits) {
  const Options options = parse({"--stats", "--trace", "event=openat,close"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  EXPECT_EQ(plan.syscall_hook, SyscallHook::tracepoints);
  EXPECT_EQ(loaded(plan), (Programs{P::syscall_exit, P::whoami}));
  EXPECT_EQ(hooks(plan), (Hooks{"syscalls/sys_exit_close", "syscalls/sys_exit_openat"}));
  EXPECT_EQ(plan.traced_events, "openat, close");
}

TEST(TracePlan, BashReadlineWatchesExecutablesAndKnowsTheProbedOnes) {
  const Options options = parse({"--trace", "event=bash_readline"});
  Kernel kernel(options);
  const ExecutableId bash{1234, 8388609};
  kernel.facts.user_functions.push_back({0, {{"/usr/bin/bash", 0x9000}}, {}, {bash}});
  const TracePlan plan = plan_of(options, kernel.facts);
  EXPECT_EQ(loaded(plan), (Programs{P::executable_watch, P::user_enter, P::user_return, P::whoami}));
  EXPECT_EQ(hooks(plan), (Hooks{"tracer_executable_watch"}));  // the uprobes attach per function
  EXPECT_EQ(plan.bash_readline_slot, 0u);
  EXPECT_EQ(plan.known_executables, std::vector<ExecutableId>{bash});
  EXPECT_FALSE(plan.max_entries(BpfMap::known_executables));
  ASSERT_EQ(plan.user_function_specs.size(), 1u);
  EXPECT_TRUE(plan.user_function_specs[0].spec.flags & TRACER_USER_EXE_FILTER);
  EXPECT_EQ(plan.user_function_specs[0].executables, std::vector<ExecutableId>{bash});
  EXPECT_TRUE(plan.sweep_user_calls);
  EXPECT_EQ(plan.traced_events, "bash_readline");
}

TEST(TracePlan, ConfiguredUserFunctionLoadsTheUprobesOnly) {
  Options options = parse({});
  UserFunction function;
  function.table_name = "answers";
  function.path = "/usr/lib/libanswer.so";
  function.function_name = "answer";
  function.params = {{"return_value", ParamType::int64, ParamMode::out, 0, true, 0}};
  options.user_functions = std::make_shared<const UserFunctions>(std::vector<UserFunction>{function});
  options.filters.wanted_user_functions.set(1);
  Kernel kernel(options);
  kernel.facts.user_functions.push_back({1, {{"/usr/lib/libanswer.so", 0x100}}, {}, {}});
  kernel.facts.in_host_pid_namespace = false;
  const TracePlan plan = plan_of(options, kernel.facts);
  EXPECT_TRUE(plan.loads(P::user_enter));
  EXPECT_TRUE(plan.loads(P::user_return));
  EXPECT_FALSE(plan.loads(P::executable_watch));
  EXPECT_FALSE(plan.bash_readline_slot);
  EXPECT_EQ(plan.max_entries(BpfMap::known_executables), 1u);
  ASSERT_EQ(plan.user_function_specs.size(), 1u);
  EXPECT_EQ(plan.user_function_specs[0].slot, 1u);
  EXPECT_FALSE(plan.user_function_specs[0].spec.flags & TRACER_USER_EXE_FILTER);
  EXPECT_FALSE(plan.sweep_user_calls);  // outside the host's pid namespace a dead thread cannot be told
  EXPECT_EQ(plan.traced_events, "execve, execveat, answers");
}

TEST(TracePlan, StatsProbesNoUserFunction) {
  const Options options = parse({"--stats"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);  // run resolves none with --stats
  EXPECT_FALSE(plan.loads(P::user_enter));
  EXPECT_FALSE(plan.sweep_user_calls);
}

TEST(TracePlan, FollowLoadsForkAndExitAndSizesItsSet) {
  const Options options = parse({"--trace", "follow", "--trace", "pid=1"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  EXPECT_TRUE(plan.loads(P::sched_process_fork));
  EXPECT_TRUE(plan.loads(P::sched_process_exit));
  EXPECT_FALSE(plan.max_entries(BpfMap::followed_tgids));
  EXPECT_TRUE(plan.filter.config.follow);
  EXPECT_FALSE(plan.rodata.process_table_feed);
}

TEST(TracePlan, LineageFeedsTheProcessTableEvenWithoutExecEvents) {
  const Options options = parse({"--output", "option:parent", "--trace", "event=openat"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  EXPECT_TRUE(plan.rodata.process_table_feed);
  EXPECT_TRUE(plan.loads(P::sched_process_fork));
  EXPECT_TRUE(plan.loads(P::sched_process_exit));
  EXPECT_TRUE(plan.loads(P::sched_process_exec));
  EXPECT_TRUE(plan.loads(P::enter_execve));
  EXPECT_EQ(plan.max_entries(BpfMap::followed_tgids), 1u);
  EXPECT_EQ(plan.traced_events, "openat");
}

TEST(TracePlan, LifecycleEventsLoadForkAndExit) {
  const Options options = parse({"--trace", "event=sched_process_exit"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  EXPECT_EQ(loaded(plan), (Programs{P::sched_process_fork, P::sched_process_exit, P::whoami}));
}

TEST(TracePlan, ArgumentFilterNamingNoArgumentIsAUsageError) {
  const Options options = parse({"--trace", "event=openat", "--trace", "openat.nope=1"});
  const Result<TracePlan> plan = plan_trace(options, Kernel(options).facts);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().kind, ExitKind::usage);
  EXPECT_NE(plan.error().message.find("openat has no argument 'nope' (it has arg0, arg1, arg2, arg3)"),
            std::string::npos)
      << plan.error().message;
}

TEST(TracePlan, UncountableCpusIsAnError) {
  const Options options = parse({});
  Kernel kernel(options);
  kernel.facts.possible_cpus = -2;
  EXPECT_EQ(plan_error(options, kernel.facts), "cannot count the possible CPUs: No such file or directory");
}

TEST(TracePlan, ProgramNamesFollowTheBpfObject) {
  EXPECT_EQ(program_name(P::enter_execve), "tracer_enter_execve");
  EXPECT_EQ(program_name(P::syscall_enter_6), "tracer_syscall_enter_6");
  EXPECT_EQ(program_name(P::whoami), "tracer_whoami");
}

}  // namespace
}  // namespace tracer

namespace tracer {
namespace {

// Every hook of the plan attached, but those named in failed (by hook name).
std::vector<AttachOutcome> outcomes_of(const TracePlan& plan, const std::vector<std::string>& failed) {
  std::vector<AttachOutcome> outcomes;
  for (const Attachment& attachment : plan.attachments) {
    const std::string hook =
        attachment.tracepoint.empty() ? std::string(program_name(attachment.program)) : attachment.tracepoint;
    const bool fails = std::ranges::count(failed, hook) > 0;
    outcomes.push_back({hook, !fails, attachment.optional, fails ? "Permission denied" : "", attachment.serves});
  }
  return outcomes;
}

AttachOutcome uprobe(uint32_t slot, const std::string& hook, bool attached) {
  AttachOutcome outcome{hook, attached, false, attached ? "" : "Permission denied", {}};
  outcome.serves.user_slot = slot;
  return outcome;
}

TEST(AttachedRun, EverythingAttachedTracesWhatWasPlanned) {
  const Options options = parse({"--trace", "event=execve,openat"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  const AttachedRun run = assess_attachments(options, plan, outcomes_of(plan, {}));
  EXPECT_EQ(run.traced_events, "execve, openat");
  EXPECT_TRUE(run.lost.empty());
  EXPECT_TRUE(run.other_failures.empty());
}

TEST(AttachedRun, TheReadinessListLeavesOutWhatLostItsHook) {
  const Options options = parse({"--trace", "event=execve,openat,close"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  const AttachedRun run = assess_attachments(options, plan, outcomes_of(plan, {"syscalls/sys_exit_openat"}));
  EXPECT_EQ(run.traced_events, "execve, close");
  ASSERT_EQ(run.lost.size(), 1u);
  EXPECT_EQ(run.lost[0].name, "openat");
  EXPECT_EQ(run.lost[0].reason, "syscalls/sys_exit_openat: Permission denied");
  EXPECT_EQ(named_refusal(options, run.lost), "openat cannot be traced: syscalls/sys_exit_openat: Permission denied");
}

TEST(AttachedRun, DefaultEventsWithoutTheirHookAreNamedInOneNotice) {
  const Options options = parse({});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  const AttachedRun run = assess_attachments(options, plan, outcomes_of(plan, {"tracer_sched_process_exec"}));
  EXPECT_EQ(run.traced_events, "");
  ASSERT_EQ(run.lost.size(), 2u);
  EXPECT_EQ(named_refusal(options, run.lost), "") << "nothing was asked for by name";
  EXPECT_EQ(default_refusal(options, run.lost),
            "execve, execveat not produced: tracer_sched_process_exec: Permission denied");
}

TEST(AttachedRun, TheRawHooksServeEverySyscallAndTheExecs) {
  const Options options = parse({"--trace", "event=execve,openat"});
  Kernel kernel(options);
  kernel.facts.tracepoint_ids.clear();
  const TracePlan plan = plan_of(options, kernel.facts);
  const AttachedRun run = assess_attachments(options, plan, outcomes_of(plan, {"tracer_sys_exit"}));
  EXPECT_EQ(run.traced_events, "");
  ASSERT_EQ(run.lost.size(), 2u);
  EXPECT_EQ(run.lost[0].name, "execve");
  EXPECT_EQ(run.lost[1].name, "openat");
}

TEST(AttachedRun, AFailedOptionalOrUnneededHookCostsNoEvent) {
  const Options options = parse({});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  const AttachedRun run = assess_attachments(options, plan, outcomes_of(plan, {"tracer_sched_prepare_exec"}));
  EXPECT_EQ(run.traced_events, "execve, execveat");
  EXPECT_TRUE(run.lost.empty());
  ASSERT_EQ(run.other_failures.size(), 1u);
  EXPECT_TRUE(run.other_failures[0].optional);
}

TEST(AttachedRun, AUserFunctionIsLostOnlyWhenNoneOfItsProbesAttached) {
  const Options options = parse({"--trace", "event=bash_readline"});
  Kernel kernel(options);
  kernel.facts.user_functions.push_back({0, {{"/usr/bin/bash", 0x9000}, {"/usr/lib/libreadline.so", 0x100}}, {}, {}});
  const TracePlan plan = plan_of(options, kernel.facts);
  std::vector<AttachOutcome> outcomes = outcomes_of(plan, {});
  outcomes.push_back(uprobe(0, "uprobe:/usr/bin/bash+36864", false));
  outcomes.push_back(uprobe(0, "uretprobe:/usr/bin/bash+36864", false));
  outcomes.push_back(uprobe(0, "uprobe:/usr/lib/libreadline.so+256", true));
  outcomes.push_back(uprobe(0, "uretprobe:/usr/lib/libreadline.so+256", true));
  AttachedRun run = assess_attachments(options, plan, outcomes);
  EXPECT_EQ(run.traced_events, "bash_readline");
  EXPECT_TRUE(run.lost.empty());
  EXPECT_EQ(run.other_failures.size(), 2u) << "the bash probes are reported on their own";

  outcomes.resize(outcomes.size() - 2);  // the library's probes: refused too
  outcomes.push_back(uprobe(0, "uprobe:/usr/lib/libreadline.so+256", false));
  run = assess_attachments(options, plan, outcomes);
  EXPECT_EQ(run.traced_events, "");
  ASSERT_EQ(run.lost.size(), 1u);
  EXPECT_EQ(named_refusal(options, run.lost),
            "bash_readline cannot be traced: uprobe:/usr/bin/bash+36864: Permission denied");
}

TEST(AttachedRun, StatsCountsTheSyscallsWhoseHooksAttached) {
  const Options options = parse({"--stats", "--trace", "event=openat,close"});
  const TracePlan plan = plan_of(options, Kernel(options).facts);
  const AttachedRun run = assess_attachments(options, plan, outcomes_of(plan, {"syscalls/sys_exit_close"}));
  EXPECT_EQ(run.traced_events, "openat");
  ASSERT_EQ(run.lost.size(), 1u);
  EXPECT_EQ(run.lost[0].name, "close");
}

}  // namespace
}  // namespace tracer
