#pragma once
// exec_id (§4): one process image, named for the life of the machine by the
// boot it ran in, its tgid, its start time and the kernel's exec count
// (self_exec_id), so that records join into a tree across pid reuse. The
// boot tag comes from read_boot_tag() (proc_scan.hpp).

#include <cstdint>
#include <string>
#include <string_view>

namespace tracer {

// "<boot tag>-<pid>-<start boot ns>-<exec gen>".
void append_exec_id(std::string& out, std::string_view boot_tag, uint32_t pid, uint64_t start_boot_ns,
                    uint32_t exec_gen);

}  // namespace tracer
