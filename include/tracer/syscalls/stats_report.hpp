#pragma once
// --stats: the kernel's syscall counts turned into a report (the busiest
// syscalls and processes, totals, errors), as a table or one JSON line.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tracer/core/abi.hpp"

namespace tracer {

// The counts as the kernel kept them since attach.
struct SyscallCounts {
  std::vector<tracer_syscall_stats> by_syscall;                       // by number
  std::vector<std::pair<uint32_t, tracer_process_stats>> by_process;  // tgid → counts
};

struct SyscallRow {
  uint16_t number = 0;
  uint64_t calls = 0;
  uint64_t errors = 0;
};

struct ProcessRow {
  uint32_t pid = 0;
  std::string comm;
  uint64_t calls = 0;
  uint64_t errors = 0;
};

struct StatsReport {
  std::string timestamp;  // RFC 3339, when the counts were read
  double seconds = 0;     // the span counted
  bool final = false;     // the whole run (at exit), not one interval
  uint64_t calls = 0;
  uint64_t errors = 0;
  size_t syscalls_seen = 0;           // syscalls called at least once
  size_t processes_seen = 0;          // processes that called any
  std::vector<SyscallRow> syscalls;   // busiest first, at most `top`
  std::vector<ProcessRow> processes;  // busiest first, at most `top`
};

// The counts since `since` (an earlier reading; empty: since attach).
StatsReport make_stats_report(const SyscallCounts& now, const SyscallCounts& since, size_t top);

std::string format_stats_table(const StatsReport& report);
std::string format_stats_json(const StatsReport& report);  // one line, '\n' included

}  // namespace tracer
