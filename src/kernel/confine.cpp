#include "tracer/kernel/confine.hpp"

#include <linux/capability.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

#include "tracer/kernel/privileges.hpp"

namespace tracer {
namespace {

// Found with `strace -f` of real runs in every mode (table, JSON, output
// file, audit log, option:parent, --stats, event=openat, bash_readline with a
// bash copy found while running, SIGHUP reopen), from the filter's
// installation to the exit; then what the loop may call on paths those runs
// did not take (the user-call sweep, an abort, realloc), and what a metrics
// thread (libmicrohttpd) and sd_notify call.
constexpr std::string_view kLoopSyscalls[] = {
    // the ring buffer, signals, timers
    "epoll_wait", "epoll_pwait", "epoll_ctl", "epoll_create1", "signalfd4", "poll", "rt_sigprocmask", "rt_sigaction",
    "rt_sigreturn", "restart_syscall", "clock_gettime", "clock_nanosleep", "nanosleep", "futex", "getrandom",
    // outputs: writes, SIGHUP reopen (fchmod: an existing file set to 0640), the audit log's syncs
    "read", "write", "writev", "pread64", "lseek", "openat", "close", "fstat", "newfstatat", "fcntl", "ioctl",
    "fdatasync", "fsync", "fchmod",
    // the audit key file, overwritten in place at each key epoch
    "pwrite64", "ftruncate",
    // /proc: the process table, the user-call sweep (kill(tid, 0)), bash copies
    "getdents64", "readlink", "readlinkat", "kill", "getpid", "gettid", "capget", "geteuid", "uname",
    // memory (malloc, libelf's mmap of ELF files)
    "mmap", "munmap", "mremap", "mprotect", "brk", "madvise",
    // BPF maps and links
    "bpf",
    // a metrics thread (libmicrohttpd) and sd_notify
    "clone", "clone3", "set_robust_list", "rseq", "ppoll", "accept4", "recvfrom", "sendto", "sendmsg", "setsockopt",
    "shutdown", "getsockname", "socket", "eventfd2", "pipe2", "sched_yield",
    // the end (abort raises with tgkill)
    "exit", "exit_group", "tgkill"};

// The bash watcher attaches uprobes: perf_event_open, then ioctl and bpf;
// its exec gate marks files judged (fanotify_mark).
constexpr std::string_view kProbeSyscalls[] = {"perf_event_open", "fanotify_mark"};

// A syslog output connects, and reconnects, while running: connect and the
// connection's error (getsockopt), and the resolver's DNS queries (sendmmsg)
// for a host given by name.
constexpr std::string_view kConnectSyscalls[] = {"connect", "getsockopt", "sendmmsg"};
// --output nats: libnats' threads connect and reconnect (maybe resolving a
// name), wait with select, read acks; the spool removes what was acked.
constexpr std::string_view kPublishSyscalls[] = {"connect",  "getsockopt", "getpeername", "bind",    "recvmsg",
                                                 "sendmmsg", "unlinkat",   "select",      "pselect6"};

constexpr int kProbeCapabilities[] = {CAP_SYS_ADMIN, kCapBpf, kCapPerfmon, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH};

// setpriority: the hashing thread lowers its own priority.
constexpr std::string_view kCaptureSyscalls[] = {"renameat2", "unlinkat", "setpriority"};
constexpr int kReadExecutableCapabilities[] = {CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH};

struct CapabilitySets {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
};

Status set_capabilities(uint64_t keep) {
  // Ambient and bounding sets first: dropping from the bounding set needs
  // CAP_SETPCAP, which goes with the rest below (refused without it: then
  // NO_NEW_PRIVS and the filter still stop any gain through exec).
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int capability = 0; capability < 64; ++capability)
    if (!(keep & (uint64_t{1} << capability)) && prctl(PR_CAPBSET_READ, capability, 0, 0, 0) == 1)
      prctl(PR_CAPBSET_DROP, capability, 0, 0, 0);
  CapabilitySets sets;
  for (int half = 0; half < 2; ++half) {
    const auto kept = static_cast<uint32_t>(keep >> (32 * half));
    sets.data[half] = {kept, kept, 0};  // effective, permitted, inheritable
  }
  if (syscall(SYS_capset, &sets.header, sets.data) != 0) return errno_error("cannot drop capabilities (capset)");
  return ok_status();
}

struct FilterDeleter {
  void operator()(void* filter) const { seccomp_release(filter); }
};

Status install_filter(const RunNeeds& needs) {
  std::unique_ptr<void, FilterDeleter> filter(seccomp_init(SCMP_ACT_ERRNO(EPERM)));
  if (!filter) return runtime_error("cannot set up the seccomp filter");
  if (int err = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_TSYNC, 1); err != 0)
    return errno_error("cannot set up the seccomp filter", -err);
  for (std::string_view name : allowed_syscalls(needs)) {
    const int number = seccomp_syscall_resolve_name(std::string(name).c_str());
    if (number == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int err = seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, number, 0); err != 0)
      return errno_error("cannot allow " + std::string(name) + " in the seccomp filter", -err);
  }
  if (int err = seccomp_load(filter.get()); err != 0) return errno_error("cannot install the seccomp filter", -err);
  return ok_status();
}

}  // namespace

uint64_t kept_capabilities(const RunNeeds& needs) {
  uint64_t kept = 0;
  if (needs.attaches_probes)
    for (int capability : kProbeCapabilities)
      if (has_capability(capability)) kept |= uint64_t{1} << capability;
  if (needs.reads_executables)
    for (int capability : kReadExecutableCapabilities)
      if (has_capability(capability)) kept |= uint64_t{1} << capability;
  return kept;
}

std::vector<std::string_view> allowed_syscalls(const RunNeeds& needs) {
  std::vector<std::string_view> names(std::begin(kLoopSyscalls), std::end(kLoopSyscalls));
  if (needs.attaches_probes) names.insert(names.end(), std::begin(kProbeSyscalls), std::end(kProbeSyscalls));
  if (needs.connects) names.insert(names.end(), std::begin(kConnectSyscalls), std::end(kConnectSyscalls));
  if (needs.publishes) names.insert(names.end(), std::begin(kPublishSyscalls), std::end(kPublishSyscalls));
  if (needs.reads_executables || needs.renames_captures)
    names.insert(names.end(), std::begin(kCaptureSyscalls), std::end(kCaptureSyscalls));
  std::sort(names.begin(), names.end());  // syslog, NATS and capture share some
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Status confine_run(const RunNeeds& needs) {
  if (Status status = set_capabilities(kept_capabilities(needs)); !status) return status;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno_error("cannot set NO_NEW_PRIVS");
  return install_filter(needs);
}

}  // namespace tracer
