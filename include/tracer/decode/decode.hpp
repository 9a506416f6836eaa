#pragma once
// Turns one ring-buffer record into an Event. Pure: the record's bytes are
// untrusted (sizes and lengths are checked), and the Event's strings point
// into them.

#include <cstddef>
#include <cstdint>
#include <span>

#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

class SyscallSignatures;
class UserFunctions;

struct DecodeOptions {
  uint32_t max_args = 128;  // --max-args: argv beyond this is cut and flagged
  bool env = false;         // option:env: successful execs carry their environment
  // Argument names and formats of the selected syscalls; without them a
  // syscall's arguments are arg0..arg5.
  const SyscallSignatures* syscalls = nullptr;
  // The user tracers by slot: their records are undecodable without them.
  const UserFunctions* user_functions = nullptr;
};

Result<Event> decode(std::span<const std::byte> record, const DecodeOptions& options);

// Userspace st_dev encoding (makedev) of a kernel dev_t (major << 20 | minor).
uint64_t user_dev_from_kernel(uint64_t kernel_dev);

}  // namespace tracer
