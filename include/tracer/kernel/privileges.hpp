#pragma once
// What each feature needs, as measured (kernel 6.18, non-root user given
// capabilities by setpriv):
// - exec events and syscalls on the raw hooks: CAP_BPF and CAP_PERFMON;
// - per-syscall tracepoints: also CAP_SYS_ADMIN (tracefs is mounted
//   privately) and, as non-root, CAP_DAC_READ_SEARCH (its id files are
//   root's, mode 0640); without them the raw hooks are used;
// - uprobes (bash_readline, user functions): CAP_SYS_ADMIN;
// - probing a bash copy another user runs: CAP_SYS_PTRACE (/proc/PID/exe).
// Root (CAP_SYS_ADMIN) has all of them. Checked before anything is loaded so
// that a user without CAP_BPF+CAP_PERFMON reads one clear line instead of
// libbpf's errors.

#include <string>
#include <string_view>

#include "tracer/core/result.hpp"

namespace tracer {

#ifndef CAP_PERFMON
inline constexpr int kCapPerfmon = 38;
#else
inline constexpr int kCapPerfmon = CAP_PERFMON;
#endif
inline constexpr int kCapBpf = kCapPerfmon + 1;

Status check_privileges();

// Whether this process has the capability (CAP_*) in its effective set.
bool has_capability(int capability);

// Why an attach of hook that failed with err may have failed for want of a
// capability: " (uprobes need CAP_SYS_ADMIN)"; "" for other errors.
std::string privilege_hint(std::string_view hook, int err);

// Why tracefs cannot be read, as far as capabilities tell: "mounting it needs
// CAP_SYS_ADMIN"; "" when they do not explain it.
std::string tracefs_hint();

}  // namespace tracer
