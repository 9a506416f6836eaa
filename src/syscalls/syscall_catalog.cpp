#include "tracer/syscalls/syscall_catalog.hpp"

#include <algorithm>
#include <array>

#include "tracer/core/abi.hpp"

namespace tracer {
namespace {

constexpr SyscallName kSyscalls[] = {
#include "syscall_names.inc"
};
constexpr size_t kSyscallCount = std::size(kSyscalls);

constexpr std::string_view kSyscallHooks =
    "tracepoint/syscalls/sys_{enter,exit}_<name> (raw_tp/sys_enter, tp_btf/sys_exit when many are selected or "
    "without tracefs)";

constexpr std::array<EventDefinition, kSyscallCount> make_definitions() {
  std::array<EventDefinition, kSyscallCount> definitions{};
  for (size_t i = 0; i < kSyscallCount; ++i)
    definitions[i] = EventDefinition{static_cast<uint16_t>(TRACER_EVENT_SYSCALL_BASE + kSyscalls[i].number),
                                     kSyscalls[i].name,
                                     kSyscallHooks,
                                     false,
                                     true,
                                     {}};
  return definitions;
}
constexpr std::array<EventDefinition, kSyscallCount> kDefinitions = make_definitions();

// Groups: what a security engineer asks for first. Names missing on an
// architecture (open, stat on arm64) are skipped.
constexpr std::string_view kFs[] = {
    "open",       "openat",   "openat2",    "creat",  "close",    "read",      "write",      "pread64",
    "pwrite64",   "truncate", "ftruncate",  "rename", "renameat", "renameat2", "unlink",     "unlinkat",
    "mkdir",      "mkdirat",  "rmdir",      "link",   "linkat",   "symlink",   "symlinkat",  "chmod",
    "fchmod",     "fchmodat", "fchmodat2",  "chown",  "fchown",   "lchown",    "fchownat",   "stat",
    "lstat",      "fstat",    "newfstatat", "statx",  "access",   "faccessat", "faccessat2", "readlink",
    "readlinkat", "chdir",    "fchdir",     "mount",  "umount2",  "mknod",     "mknodat",    "utimensat"};
constexpr std::string_view kNet[] = {"socket",      "socketpair", "connect",   "accept",   "accept4",
                                     "bind",        "listen",     "sendto",    "recvfrom", "sendmsg",
                                     "recvmsg",     "sendmmsg",   "recvmmsg",  "shutdown", "getsockname",
                                     "getpeername", "setsockopt", "getsockopt"};
constexpr std::string_view kProc[] = {"clone",    "clone3", "fork",       "vfork",      "execve",
                                      "execveat", "exit",   "exit_group", "wait4",      "waitid",
                                      "kill",     "tkill",  "tgkill",     "pidfd_open", "pidfd_send_signal",
                                      "ptrace",   "prctl",  "unshare",    "setns"};
constexpr std::string_view kCreds[] = {"setuid",   "setgid",   "setreuid",  "setregid", "setresuid", "setresgid",
                                       "setfsuid", "setfsgid", "setgroups", "capset",   "capget"};
constexpr std::string_view kMemory[] = {"mmap",    "munmap",       "mprotect",         "mremap",           "brk",
                                        "madvise", "memfd_create", "process_vm_readv", "process_vm_writev"};
constexpr std::string_view kModule[] = {"init_module",     "finit_module", "delete_module",  "kexec_load",
                                        "kexec_file_load", "bpf",          "perf_event_open"};

constexpr SyscallGroup kGroups[] = {
    {"@fs", "files and directories: open, read/write, rename, unlink, chmod, stat, mount, ...", kFs},
    {"@net", "sockets: socket, connect, accept, bind, listen, send/recv, ...", kNet},
    {"@proc", "processes: clone, fork, exec, exit, wait, kill, ptrace, prctl, namespaces", kProc},
    {"@creds", "credentials: set*uid, set*gid, setgroups, capabilities", kCreds},
    {"@memory", "memory mappings: mmap, mprotect, memfd_create, process_vm_*", kMemory},
    {"@module", "kernel extension: modules, kexec, bpf, perf_event_open", kModule},
};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace

std::span<const SyscallName> syscall_names() { return kSyscalls; }

std::optional<uint16_t> syscall_number(std::string_view name) {
  for (const SyscallName& syscall : kSyscalls)
    if (syscall.name == name) return syscall.number;
  return std::nullopt;
}

const EventDefinition* syscall_event(uint16_t number) {
  for (const EventDefinition& definition : kDefinitions)
    if (definition.id == TRACER_EVENT_SYSCALL_BASE + number) return &definition;
  return nullptr;
}

std::optional<uint16_t> syscall_of_event(uint16_t event_id) {
  if (event_id < TRACER_EVENT_SYSCALL_BASE || event_id >= TRACER_EVENT_SYSCALL_BASE + TRACER_SYSCALL_NR_MAX)
    return std::nullopt;
  return static_cast<uint16_t>(event_id - TRACER_EVENT_SYSCALL_BASE);
}

std::span<const SyscallGroup> syscall_groups() { return kGroups; }

std::optional<std::vector<uint16_t>> syscall_group_numbers(std::string_view group) {
  for (const SyscallGroup& candidate : kGroups) {
    if (candidate.name != group) continue;
    std::vector<uint16_t> numbers;
    for (std::string_view member : candidate.members)
      if (std::optional<uint16_t> number = syscall_number(member)) numbers.push_back(*number);
    return numbers;
  }
  return std::nullopt;
}

std::vector<std::string> closest_event_names(std::string_view unknown, size_t count) {
  std::vector<std::pair<size_t, std::string_view>> scored;
  const auto consider = [&](std::string_view name) { scored.emplace_back(edit_distance(unknown, name), name); };
  for (const EventDefinition& definition : event_definitions()) consider(definition.name);
  for (const SyscallName& syscall : kSyscalls) consider(syscall.name);
  for (const SyscallGroup& group : kGroups) consider(group.name);
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names;
  for (const auto& [distance, name] : scored) {
    if (names.size() == count || distance > std::max<size_t>(2, unknown.size() / 2)) break;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
  }
  return names;
}

std::string_view syscall_tracepoint_name(std::string_view name) {
  struct Renamed {
    std::string_view libc, kernel;
  };
  static constexpr Renamed kRenamed[] = {{"stat", "newstat"},   {"lstat", "newlstat"}, {"fstat", "newfstat"},
                                         {"uname", "newuname"}, {"umount2", "umount"}, {"sendfile", "sendfile64"}};
  for (const Renamed& renamed : kRenamed)
    if (renamed.libc == name) return renamed.kernel;
  return name;
}

}  // namespace tracer
