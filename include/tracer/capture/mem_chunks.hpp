#pragma once
// --capture mem: the chunks of one mprotect's region joined again. The
// kernel sends a call's chunks one after another from one program run, so a
// thread's chunks arrive in order; a chunk missing (lost in a full ring
// buffer) shows as a gap, and the call's bytes are then not saved.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "tracer/core/abi.hpp"

namespace tracer {

struct JoinedMemCapture {
  std::vector<std::byte> bytes;  // from the call's address on, in order
  bool chunks_lost = false;      // some never arrived: bytes is incomplete
};

class MemChunkJoiner {
 public:
  // Calls waiting for their last chunk, at most (one per thread in a call).
  static constexpr size_t kMaxPending = 4096;

  // One chunk (fixed part and data); the call's bytes when it is its last.
  std::optional<JoinedMemCapture> add(const tracer_mem_capture_record& fixed, std::span<const std::byte> data);
  // Calls whose last chunk never came (lost): a later call of the thread, or
  // too many waiting, ended them.
  uint64_t calls_abandoned() const { return calls_abandoned_; }
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    uint64_t address = 0;
    JoinedMemCapture joined;
  };
  std::unordered_map<uint32_t, Pending> pending_;  // by tid
  uint64_t calls_abandoned_ = 0;
};

}  // namespace tracer
