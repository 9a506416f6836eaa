#include "tracer/kernel/features.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "tracer/core/abi.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/kernel/privileges.hpp"
#include "tracer/kernel/pseudo_fs.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/syscalls/syscall_tracefs.hpp"
#include "tracer/user_functions/user_function.hpp"
#include "tracer_probe_bpf.skel.h"

namespace tracer {
namespace {

bool path_exists(const char* path) { return access(path, F_OK) == 0; }

constexpr const char* kUprobePmuType = "/sys/bus/event_source/devices/uprobe/type";

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

// A program that does nothing, of the given type: its fd, or -errno.
int load_trivial_program(bpf_prog_type type) {
  bpf_insn program[2] = {};
  program[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = 0
  program[0].dst_reg = BPF_REG_0;
  program[1].code = BPF_JMP | BPF_EXIT;
  const int fd = bpf_prog_load(type, nullptr, "GPL", program, 2, nullptr);
  return fd >= 0 ? fd : -errno;
}

// "" when a program of type attaches to the perf event attr opens, else why not.
std::string probe_perf_attach(bpf_prog_type type, perf_event_attr attr) {
  const int program = load_trivial_program(type);
  if (program < 0) return "load refused: " + errno_text(-program);
  const UniqueFd program_fd(program);
  attr.size = sizeof(attr);
  const UniqueFd event(static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC)));
  if (!event) return "perf_event_open refused: " + errno_text(errno);
  if (ioctl(event.get(), PERF_EVENT_IOC_SET_BPF, program_fd.get()) != 0) return "attach refused: " + errno_text(errno);
  return "";
}

// "" when a raw tracepoint program attaches to sys_enter, else why not.
std::string probe_raw_tracepoint() {
  const int program = load_trivial_program(BPF_PROG_TYPE_RAW_TRACEPOINT);
  if (program < 0) return "load refused: " + errno_text(-program);
  const UniqueFd program_fd(program);
  const UniqueFd link(bpf_raw_tracepoint_open("sys_enter", program_fd.get()));
  if (!link) return "attach refused: " + errno_text(errno);
  return "";
}

// "" when the syscalls' own tracepoints can be found and attached to.
std::string probe_syscall_tracepoints() {
  const TracefsSyscalls tracefs = read_tracefs_syscalls({});
  if (tracefs.tracepoint_ids.empty()) {
    const std::string hint = tracefs_hint();
    return "tracefs could not be read" + (hint.empty() ? "" : " (" + hint + ")");
  }
  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.config = tracefs.tracepoint_ids.front().second;
  return probe_perf_attach(BPF_PROG_TYPE_TRACEPOINT, attr);
}

// The file offset of path's entry point: an instruction where a uprobe may go.
std::optional<uint64_t> entry_offset(const char* path) {
  const UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd || elf_version(EV_CURRENT) == EV_NONE) return std::nullopt;
  std::unique_ptr<Elf, int (*)(Elf*)> elf(elf_begin(fd.get(), ELF_C_READ, nullptr), elf_end);
  GElf_Ehdr header;
  size_t count = 0;
  if (!elf || !gelf_getehdr(elf.get(), &header) || elf_getphdrnum(elf.get(), &count) != 0) return std::nullopt;
  for (size_t i = 0; i < count; ++i) {
    GElf_Phdr segment;
    if (gelf_getphdr(elf.get(), static_cast<int>(i), &segment) && segment.p_type == PT_LOAD &&
        (segment.p_flags & PF_X) && header.e_entry >= segment.p_vaddr &&
        header.e_entry < segment.p_vaddr + segment.p_memsz)
      return header.e_entry - segment.p_vaddr + segment.p_offset;
  }
  return std::nullopt;
}

// "" when a uprobe attaches (at the tracer's own entry point, run only at its
// start), else why not.
std::string probe_uprobes() {
  const std::optional<std::string> type = read_pseudo_fs_lines("sysfs", "/sys", {kUprobePmuType})[0];
  if (!type || type->empty()) return "no perf uprobe PMU";
  char self[PATH_MAX] = {};
  const std::optional<uint64_t> offset =
      ::realpath("/proc/self/exe", self) ? entry_offset(self) : std::optional<uint64_t>();
  if (!offset) return "cannot find an entry point to probe in /proc/self/exe";
  perf_event_attr attr{};
  attr.type = static_cast<uint32_t>(std::stoul(*type));
  attr.config1 = reinterpret_cast<uint64_t>(self);
  attr.config2 = *offset;
  std::string refusal = probe_perf_attach(BPF_PROG_TYPE_KPROBE, attr);
  if (!refusal.empty() && !has_capability(CAP_SYS_ADMIN)) refusal += " (uprobes need CAP_SYS_ADMIN)";
  return refusal;
}

// What the events need from the kernel, probed with this process's
// privileges: "" when a hook works, else why not.
struct EventHooks {
  std::string raw_tp;
  std::string syscall_tracepoints;
  std::string bpf_lsm_refusal;
  std::string uprobes;
};

EventHooks probe_event_hooks() {
  const bool privileged = check_privileges().ok();
  const std::string unprivileged = "not probed without CAP_BPF+CAP_PERFMON";
  EventHooks hooks;
  hooks.raw_tp = privileged ? probe_raw_tracepoint() : unprivileged;
  hooks.syscall_tracepoints = privileged ? probe_syscall_tracepoints() : unprivileged;
  hooks.bpf_lsm_refusal = privileged ? probe_bpf_lsm() : unprivileged;
  hooks.uprobes = privileged ? probe_uprobes() : unprivileged;
  return hooks;
}

Feature probed(std::string name, const std::string& refusal, std::string works) {
  return {std::move(name), refusal.empty(), refusal.empty() ? std::move(works) : refusal};
}

std::vector<Feature> probe_features(const EventHooks& hooks) {
  std::vector<Feature> features;
  const bool privileged = check_privileges().ok();
  features.push_back({"privileges", privileged,
                      privileged ? "CAP_BPF+CAP_PERFMON or root: exec events and syscalls"
                                 : "needs root or CAP_BPF+CAP_PERFMON: probes below are incomplete"});
  features.push_back({"btf", path_exists(kKernelBtfPath), kKernelBtfPath});
  const bool ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
  features.push_back({"ring_buffer", ringbuf, "BPF_MAP_TYPE_RINGBUF"});
  features.push_back(probed("raw_tracepoints", hooks.raw_tp, "raw_tp/sys_enter attaches (no tracefs needed)"));
  features.push_back(probed("syscall_tracepoints", hooks.syscall_tracepoints,
                            "syscalls:sys_enter_* attach (else the raw hooks are used)"));
  const std::string lsms = read_active_lsms();
  const bool bpf_lsm_active = (',' + lsms + ',').find(",bpf,") != std::string::npos;
  features.push_back({"bpf_lsm", bpf_lsm_active, lsms.empty() ? "active LSMs unknown" : "active LSMs: " + lsms});
  const std::string trampoline = privileged ? probe_program(true) : "not probed without CAP_BPF+CAP_PERFMON";
  features.push_back(probed("trampolines", trampoline, "fentry/fexit attach"));
  features.push_back(probed("bpf_lsm_attach", hooks.bpf_lsm_refusal, "lsm/ programs attach"));
  features.push_back(probed("uprobes", hooks.uprobes, "a uprobe attaches (bash_readline, user functions)"));
  const bool ptrace = has_capability(CAP_SYS_PTRACE);
  features.push_back({"other_users_bash", ptrace,
                      ptrace ? "bash copies other users run can be probed"
                             : "bash copies other users run are not probed (needs CAP_SYS_PTRACE)"});
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
  if (!hooks.raw_tp.empty()) return "unsupported here: raw tracepoints: " + hooks.raw_tp;
  return "supported via " + std::string(definition.hooks);
}

// Why a user function's events cannot be produced here; "" when they can.
std::string user_function_refusal(const EventHooks& hooks) {
  return hooks.uprobes.empty() ? "" : "uprobes: " + hooks.uprobes;
}

// Appends `head` then `text` wrapped at spaces so that no line is wider than
// 100 columns; continuation lines start at column `indent`.
void append_wrapped(std::string& out, std::string line, std::string_view text, size_t indent) {
  constexpr size_t kWidth = 100;
  while (!text.empty()) {
    const size_t room = kWidth > line.size() ? kWidth - line.size() : 1;
    size_t cut = text.size() <= room ? text.size() : text.rfind(' ', room);
    if (cut == std::string_view::npos || cut == 0) cut = std::min(room, text.size());
    line += text.substr(0, cut);
    text.remove_prefix(cut);
    while (text.starts_with(' ')) text.remove_prefix(1);
    if (text.empty()) break;
    out += line + "\n";
    line.assign(indent, ' ');
  }
  while (line.ends_with(' ')) line.pop_back();
  out += line + "\n";
}

namespace {

constexpr size_t kListIndent = 2 + 22 + 1 + 8 + 1;  // where an event's support starts

void append_event_line(std::string& out, std::string_view name, bool on_by_default, std::string_view support) {
  append_wrapped(out, fmt::format("  {:<22} {:<8} ", name, on_by_default ? "default" : ""), support, kListIndent);
}

bool is_lifecycle(const EventDefinition& definition) {
  return definition.id == TRACER_EVENT_SCHED_PROCESS_FORK || definition.id == TRACER_EVENT_SCHED_PROCESS_EXIT;
}

}  // namespace

std::string format_events(const EventHooks& hooks, const UserFunctions& user_functions) {
  std::string out = "exec:\n";
  for (const EventDefinition& definition : event_definitions())
    if (!is_lifecycle(definition))
      append_event_line(out, definition.name, definition.on_by_default, event_support(definition, hooks));
  out += "\nprocess lifecycle:\n";
  for (const EventDefinition& definition : event_definitions())
    if (is_lifecycle(definition))
      append_event_line(out, definition.name, definition.on_by_default, event_support(definition, hooks));
  // User tracers: bash_readline, and those of --config.
  out += "\nuser functions (uprobes):\n";
  const std::string refusal = user_function_refusal(hooks);
  for (size_t slot = 0; slot < user_functions.all().size(); ++slot) {
    const UserFunction& tracer = user_functions.all()[slot];
    const EventDefinition& definition = user_functions.definitions()[slot];
    const std::string what = tracer.builtin ? std::string(definition.hooks)
                                            : "uprobe + uretprobe on " + tracer.function_name + " in " + tracer.path;
    append_event_line(out, definition.name, definition.on_by_default,
                      refusal.empty() ? "supported via " + what : "unsupported here: " + refusal);
  }
  // Every syscall is an event by its name; groups name several.
  std::vector<std::string_view> sorted;
  for (const SyscallName& syscall : syscall_names()) sorted.push_back(syscall.name);
  std::ranges::sort(sorted);
  std::string names;
  for (std::string_view name : sorted) {
    if (!names.empty()) names += ' ';
    names += name;
  }
  out += "\n";
  append_wrapped(out, "",
                 fmt::format("syscalls (event=NAME; {} on this architecture, 64-bit calls; arguments named from "
                             "the kernel's syscall tracepoint formats), by name:",
                             syscall_names().size()),
                 2);
  append_wrapped(out, "  ", names, 2);
  out += "\ngroups (event=@NAME):\n";
  for (const SyscallGroup& group : syscall_groups()) {
    std::string members;
    for (std::string_view member : group.members)
      if (syscall_number(member)) {
        if (!members.empty()) members += ' ';
        members += member;
      }
    append_wrapped(out, fmt::format("  {:<9} ", group.name), group.description, 12);
    append_wrapped(out, std::string(12, ' '), members, 12);
  }
  return out;
}

// One --check line: NAME yes|no DETAIL, the detail wrapped at spaces so that
// no line is wider than 100 columns.
void append_check_line(std::string& out, std::string_view name, bool yes, std::string_view detail) {
  constexpr size_t kIndent = 28;  // where the detail starts
  append_wrapped(out, fmt::format("{:<22} {:<4} ", name, yes ? "yes" : "no"), detail, kIndent);
}

// --check's events: can each be produced here (yes/no), and why not.
std::string check_events(const EventHooks& hooks, const UserFunctions& user_functions) {
  std::string out;
  for (const EventDefinition& definition : event_definitions()) {
    std::string why = !definition.implemented                             ? "not implemented in this version"
                      : definition.id == TRACER_EVENT_SECURITY_BPRM_CHECK ? hooks.bpf_lsm_refusal
                                                                          : hooks.raw_tp;
    if (!why.empty() && definition.id == TRACER_EVENT_SECURITY_BPRM_CHECK) why = "BPF LSM program " + why;
    append_check_line(out, definition.name, why.empty(), why.empty() && definition.on_by_default ? "default" : why);
  }
  const std::string refusal = user_function_refusal(hooks);
  for (const EventDefinition& definition : user_functions.definitions())
    append_check_line(out, definition.name, refusal.empty(), refusal);
  append_check_line(
      out, "syscalls", hooks.raw_tp.empty(),
      hooks.raw_tp.empty() ? std::to_string(syscall_names().size()) + " (tracer --list names them)" : hooks.raw_tp);
  return out;
}

}  // namespace

std::string describe_kernel_features(const UserFunctions& user_functions) {
  utsname uts{};
  uname(&uts);
  std::string out = fmt::format("{:<22} {} {}\n", "kernel", uts.release, uts.machine);
  const EventHooks hooks = probe_event_hooks();
  for (const Feature& feature : probe_features(hooks))
    append_check_line(out, feature.name, feature.available, feature.detail);
  out += "\nevents (with this process's privileges):\n";
  out += check_events(hooks, user_functions);
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
