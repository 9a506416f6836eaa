#include "tracer/kernel/features.hpp"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <sstream>
#include <string_view>
#include <vector>

#include "tracer/core/abi.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/kernel/privileges.hpp"
#include "tracer/kernel/pseudo_fs.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/user_functions/user_function.hpp"
#include "tracer_probe_bpf.skel.h"

namespace tracer {
namespace {

bool path_exists(const char* path) { return access(path, F_OK) == 0; }

// The active LSMs (securityfs, mounted privately when it is not mounted).
std::string read_active_lsms() {
  return read_pseudo_fs_lines("securityfs", "/sys/kernel/security", {"/sys/kernel/security/lsm"})[0].value_or("");
}

struct ProbeSkeletonDeleter {
  void operator()(tracer_probe_bpf* skeleton) const { tracer_probe_bpf__destroy(skeleton); }
};

// Loads and attaches one probe program; "" when it works, else why not.
std::string probe_program(bool trampoline) {
  std::unique_ptr<tracer_probe_bpf, ProbeSkeletonDeleter> skeleton(tracer_probe_bpf__open());
  if (!skeleton) return std::string("cannot open probe: ") + std::strerror(errno);
  bpf_program* wanted = trampoline ? skeleton->progs.probe_trampoline : skeleton->progs.probe_bpf_lsm;
  bpf_program* other = trampoline ? skeleton->progs.probe_bpf_lsm : skeleton->progs.probe_trampoline;
  bpf_program__set_autoload(other, false);
  if (int err = tracer_probe_bpf__load(skeleton.get()); err) return std::string("load refused: ") + std::strerror(-err);
  bpf_link* link = bpf_program__attach(wanted);
  if (!link) return std::string("attach refused: ") + std::strerror(errno);
  bpf_link__destroy(link);
  return {};
}

// What the events need from the kernel, as probed.
struct EventHooks {
  bool raw_tp = false;
  std::string bpf_lsm_refusal;  // "" when lsm/ programs load and attach
};

EventHooks probe_event_hooks() {
  EventHooks hooks;
  hooks.raw_tp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, nullptr) == 1;
  hooks.bpf_lsm_refusal = check_privileges().ok() ? probe_bpf_lsm() : "not probed without privileges";
  return hooks;
}

std::vector<Feature> probe_features(const EventHooks& hooks) {
  std::vector<Feature> features;
  const bool privileged = check_privileges().ok();
  features.push_back(
      {"privileges", privileged, privileged ? "root or CAP_BPF+CAP_PERFMON" : "missing: probes below are incomplete"});
  features.push_back({"btf", path_exists(kKernelBtfPath), kKernelBtfPath});
  const bool ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
  features.push_back({"ring_buffer", ringbuf, "BPF_MAP_TYPE_RINGBUF"});
  features.push_back({"raw_tracepoints", hooks.raw_tp, "raw_tp programs (no tracefs needed)"});

  const std::string lsms = read_active_lsms();
  const bool bpf_lsm_active = (',' + lsms + ',').find(",bpf,") != std::string::npos;
  features.push_back({"bpf_lsm", bpf_lsm_active, lsms.empty() ? "active LSMs unknown" : "active LSMs: " + lsms});
  const std::string trampoline = privileged ? probe_program(true) : "not probed without privileges";
  features.push_back({"trampolines", trampoline.empty(), trampoline.empty() ? "fentry/fexit attach" : trampoline});
  const std::string& lsm_attach = hooks.bpf_lsm_refusal;
  features.push_back({"bpf_lsm_attach", lsm_attach.empty(), lsm_attach.empty() ? "lsm/ programs attach" : lsm_attach});
  features.push_back(
      {"kprobes", path_exists("/sys/bus/event_source/devices/kprobe/type"), "perf kprobe PMU (not used)"});
  features.push_back({"uprobes", path_exists("/sys/bus/event_source/devices/uprobe/type"), "perf uprobe PMU"});
  const bool tracefs = path_exists("/sys/kernel/tracing/events") || path_exists("/sys/kernel/debug/tracing/events");
  features.push_back({"tracefs", tracefs, tracefs ? "mounted (not needed)" : "not mounted (not needed)"});
  return features;
}

std::string event_support(const EventDefinition& definition, const EventHooks& hooks) {
  if (!definition.implemented) return "not implemented in this version";
  if (definition.id == TRACER_EVENT_SECURITY_BPRM_CHECK) {
    if (!hooks.bpf_lsm_refusal.empty())
      return "unsupported here: BPF LSM program " + hooks.bpf_lsm_refusal +
             "; execve/execveat keep their kernel-side fields from raw_tp/sched_process_exec";
    return "supported via " + std::string(definition.hooks);
  }
  if (!hooks.raw_tp) return "unsupported here: raw tracepoints unavailable";
  return "supported via " + std::string(definition.hooks);
}

std::string format_events(const EventHooks& hooks, const UserFunctions& user_functions) {
  std::string out;
  for (const EventDefinition& definition : event_definitions())
    fmt::format_to(std::back_inserter(out), "{:<22} {:<8} {}\n", definition.name,
                   definition.on_by_default ? "default" : "", event_support(definition, hooks));
  // User tracers: bash_readline, and those of --config.
  const bool uprobes = path_exists("/sys/bus/event_source/devices/uprobe/type");
  for (size_t slot = 0; slot < user_functions.all().size(); ++slot) {
    const UserFunction& tracer = user_functions.all()[slot];
    const EventDefinition& definition = user_functions.definitions()[slot];
    const std::string what = tracer.builtin ? std::string(definition.hooks)
                                            : "uprobe + uretprobe on " + tracer.function_name + " in " + tracer.path;
    fmt::format_to(std::back_inserter(out), "{:<22} {:<8} {}\n", definition.name,
                   definition.on_by_default ? "default" : "",
                   uprobes ? "supported via " + what : "unsupported here: no perf uprobe PMU");
  }
  // Every syscall is an event by its name; groups name several.
  std::string names;
  for (const SyscallName& syscall : syscall_names()) {
    if (!names.empty()) names += ' ';
    names += syscall.name;
  }
  fmt::format_to(std::back_inserter(out),
                 "\nsyscalls (event=NAME; {} on this architecture, 64-bit calls; arguments named from the kernel's "
                 "syscall tracepoint formats):\n{}\n\ngroups:\n",
                 syscall_names().size(), names);
  for (const SyscallGroup& group : syscall_groups()) {
    std::string members;
    for (std::string_view member : group.members)
      if (syscall_number(member)) {
        if (!members.empty()) members += ' ';
        members += member;
      }
    fmt::format_to(std::back_inserter(out), "{:<9} {}\n          {}\n", group.name, group.description, members);
  }
  return out;
}

}  // namespace

std::string describe_kernel_features(const UserFunctions& user_functions) {
  utsname uts{};
  uname(&uts);
  std::string out = fmt::format("kernel                 {} {}\n", uts.release, uts.machine);
  const EventHooks hooks = probe_event_hooks();
  for (const Feature& feature : probe_features(hooks)) {
    fmt::format_to(std::back_inserter(out), "{:<22} {:<4} {}\n", feature.name, feature.available ? "yes" : "no",
                   feature.detail);
  }
  out += "\nevents:\n";
  out += format_events(hooks, user_functions);
  return out;
}

std::string describe_events(const UserFunctions& user_functions) {
  return format_events(probe_event_hooks(), user_functions);
}

uint64_t kernel_btf_bytes() {
  struct stat btf {};
  if (stat(kKernelBtfPath, &btf) != 0 || btf.st_size <= 0) return 0;
  return static_cast<uint64_t>(btf.st_size);
}

std::string probe_bpf_lsm() { return probe_program(false); }

bool in_host_pid_namespace() {
  constexpr std::string_view kInitialPidNamespace = "pid:[4026531836]";  // PROC_PID_INIT_INO
  char ns[64] = {};
  return ::readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1) > 0 && std::string_view(ns) == kInitialPidNamespace;
}

uint64_t boot_clock_now_ns() {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
}

}  // namespace tracer
