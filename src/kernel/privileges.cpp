#include "tracer/kernel/privileges.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace tracer {

static_assert(kCapBpf == 39);

bool has_capability(int capability) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return data[capability / 32].effective & (1u << (capability % 32));
}

Status check_privileges() {
  // CAP_SYS_ADMIN stands for CAP_BPF and CAP_PERFMON in the kernel's checks.
  if (has_capability(CAP_SYS_ADMIN) || (has_capability(kCapBpf) && has_capability(kCapPerfmon))) return ok_status();
  return runtime_error("needs root, or the capabilities CAP_BPF and CAP_PERFMON (running as uid " +
                       std::to_string(getuid()) +
                       " without them; per-syscall tracepoints and uprobes also need CAP_SYS_ADMIN)");
}

std::string privilege_hint(std::string_view hook, int err) {
  if (err != EPERM && err != EACCES) return "";
  if (hook.starts_with("uprobe:") || hook.starts_with("uretprobe:"))
    return has_capability(CAP_SYS_ADMIN) ? "" : " (uprobes need CAP_SYS_ADMIN)";
  if (hook.starts_with("tracepoint/"))
    return has_capability(CAP_SYS_ADMIN) ? "" : " (tracepoints need CAP_SYS_ADMIN or CAP_PERFMON)";
  return "";
}

std::string tracefs_hint() {
  if (!has_capability(CAP_SYS_ADMIN)) return "mounting it needs CAP_SYS_ADMIN";
  if (geteuid() != 0 && !has_capability(CAP_DAC_READ_SEARCH))
    return "its id files are root's: as uid " + std::to_string(geteuid()) + " reading them needs CAP_DAC_READ_SEARCH";
  return "";
}

}  // namespace tracer
