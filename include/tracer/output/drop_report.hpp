#pragma once
// Losses, counted per cause: in the kernel (records that never reached
// the ring buffer, or reached it incomplete) and in userspace.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tracer/core/abi.hpp"

namespace tracer {

struct LossCounts {
  std::array<uint64_t, TRACER_DROP_CAUSE_COUNT> kernel{};  // enum tracer_drop_cause
  uint64_t undecodable = 0;                                // records userspace rejected

  uint64_t records_lost() const;     // whole records that never reached a sink
  uint64_t records_partial() const;  // records emitted with a part missing (flagged)
  bool operator==(const LossCounts&) const = default;
};

// What each kernel loss cause is called: in sentences, as a metric label,
// and whether the record was lost whole or sent incomplete.
struct LossCause {
  tracer_drop_cause cause;
  std::string_view name;   // "ring buffer full"
  std::string_view label;  // "ring_buffer_full"
  bool whole_record;
};
std::span<const LossCause> loss_causes();

// "lost 3 records (ring buffer full: 3)"; empty when nothing was lost.
std::string describe_losses(const LossCounts& counts);

// The one-line summary printed at exit.
std::string summary_line(uint64_t events_emitted, const LossCounts& counts);

}  // namespace tracer
