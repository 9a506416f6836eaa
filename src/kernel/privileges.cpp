#include "tracer/kernel/privileges.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace tracer {
namespace {

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool has_capability(const __user_cap_data_struct (&data)[2], int capability) {
  return data[capability / 32].effective & (1u << (capability % 32));
}

}  // namespace

Status check_privileges() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return runtime_error("cannot read this process's capabilities");
  if (has_capability(data, CAP_SYS_ADMIN) || (has_capability(data, CAP_BPF) && has_capability(data, CAP_PERFMON)))
    return ok_status();
  return runtime_error("needs root, or the capabilities CAP_BPF and CAP_PERFMON (running as uid " +
                       std::to_string(getuid()) + " without them)");
}

}  // namespace tracer
