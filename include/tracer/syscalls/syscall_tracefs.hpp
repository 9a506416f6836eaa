#pragma once
// What tracefs says about syscalls, read once at start-up (in a private mount
// namespace where tracefs is not mounted): the tracepoint ids the tracer
// attaches to, and the argument names and types of the selected syscalls.

#include <bitset>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tracer/core/abi.hpp"
#include "tracer/syscalls/syscall_signature.hpp"

namespace tracer {

struct TracefsSyscalls {
  // "syscalls/sys_enter_openat" → id, for every file that could be read.
  std::vector<std::pair<std::string, uint64_t>> tracepoint_ids;
  // Every selected syscall: from its format, or generic (arg0..arg5).
  SyscallSignatures signatures;
};

// The exec syscalls' four tracepoint ids, and for each selected syscall its
// entry format and exit id.
TracefsSyscalls read_tracefs_syscalls(const std::bitset<TRACER_SYSCALL_NR_MAX>& selected);

}  // namespace tracer
