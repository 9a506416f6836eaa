#pragma once
// Processes as /proc shows them: to seed the process table at start and to
// look up a process the records have not told of.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tracer/process/process_table.hpp"

namespace tracer {

// This boot: the first 16 hex digits of /proc/sys/kernel/random/boot_id, or
// "0000000000000000" when it cannot be read.
std::string read_boot_tag();

// Nanoseconds per clock tick of /proc/<pid>/stat's start time.
uint64_t proc_clock_tick_ns();

// One process, or nothing when it is gone (or is no process).
std::optional<ProcessEntry> read_proc_process(uint32_t pid, size_t argv_bytes = 1024);

// Every process /proc lists now.
std::vector<ProcessEntry> scan_proc_processes(size_t argv_bytes = 1024);

}  // namespace tracer
