#pragma once
// bash_readline's hold on a first exec: fanotify's FAN_OPEN_EXEC_PERM makes
// the kernel wait, inside execve, until the tracer has looked at the file
// being executed, so a bash copied or built elsewhere has its readline probed
// before its first instruction runs: its first typed line is never lost to a
// race. Only files the tracer has not judged yet wait: a file found not to be
// a bash to probe gets an ignore mark (dropped by the kernel when the file is
// modified), so it is asked about once.
//
// Nothing is ever refused, and nothing waits past the tracer: the kernel
// allows every pending exec when the fanotify group is closed (the tracer
// stopped, or died). Needs CAP_SYS_ADMIN and a kernel with
// CONFIG_FANOTIFY_ACCESS_PERMISSIONS; without them the bash watcher only sees
// a copy after its exec (the kernel's report), which races its first line.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

// The mount points of /proc/self/mountinfo's text whose filesystem can hold
// executables (not proc, sysfs, cgroup and the like), octal escapes undone.
std::vector<std::string> executable_mount_points(std::string_view mountinfo);

class ExecGate {
 public:
  // The group, marked on every filesystem of executable_mount_points; an
  // error saying why not when the kernel refuses.
  static Result<ExecGate> open();

  int fd() const { return group_.get(); }
  // look(file_fd, pid) judges a file being executed by pid and says whether
  // it may run unasked from now on; then the exec goes on. Serves every
  // pending exec.
  void serve(const std::function<bool(int file_fd, uint32_t pid)>& look);

 private:
  explicit ExecGate(UniqueFd group) : group_(std::move(group)) {}
  UniqueFd group_;
};

}  // namespace tracer
