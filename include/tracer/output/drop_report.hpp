#pragma once
// Losses, counted per cause: in the kernel (records that never reached
// the ring buffer, or reached it incomplete) and in userspace.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tracer/core/abi.hpp"
#include "tracer/output/metrics.hpp"

namespace tracer {

struct LossCounts {
  std::array<uint64_t, TRACER_DROP_CAUSE_COUNT> kernel{};  // enum tracer_drop_cause
  uint64_t undecodable = 0;                                // records userspace rejected
  // --exec-hash, --capture: exec records sent without their file's hash (the
  // file could not be opened or read), and executables not saved because
  // --capture-limit was reached. The records went out: not records lost.
  uint64_t execs_not_hashed = 0;
  uint64_t captures_over_limit = 0;
  // --capture write: chunks of written bytes not saved (the per-file or the
  // whole bound reached, or the writer's buffer unreadable); their
  // write_capture records say why.
  uint64_t write_captures_not_saved = 0;
  // --capture mem: regions made executable whose bytes were not saved (the
  // limit, chunks lost in the ring buffer, memory unreadable, a failed
  // save); their mem_capture records say why (none for a call whose last
  // chunk was lost).
  uint64_t mem_captures_not_saved = 0;

  uint64_t records_lost() const;                       // whole records that never reached a sink
  uint64_t records_partial() const;                    // records emitted with a part missing (flagged)
  void keep_userspace_counts(const LossCounts& from);  // after a fresh read of the kernel's
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

// What an output (stdout, a file, the audit log) loses after the records
// reached it, per output: named in sentences and as the `cause` label of
// tracer_output_lost_records_total.
struct OutputLossCause {
  std::string_view name;   // "output write error"
  std::string_view label;  // "output_write_error"
  uint64_t OutputMetrics::*count;
};
std::span<const OutputLossCause> output_loss_causes();

// "stdout: 7 written, 5 lost (output stalled: 5)", "; "-separated, for each
// output that lost records; empty when none did.
std::string describe_output_losses(std::span<const OutputMetrics> outputs);

// The userspace causes of incomplete records, beside the kernel's: metric
// labels and names.
struct UserspaceLossCause {
  std::string_view name;   // "exec not hashed"
  std::string_view label;  // "exec_not_hashed"
  uint64_t LossCounts::*count;
};
std::span<const UserspaceLossCause> userspace_loss_causes();

// "lost 3 records (ring buffer full: 3)"; empty when nothing was lost.
std::string describe_losses(const LossCounts& counts);

// The one-line summary printed at exit: the events lost before any output,
// then the outputs that lost some of the rest.
std::string summary_line(uint64_t events_emitted, const LossCounts& counts,
                         std::span<const OutputMetrics> outputs = {});

}  // namespace tracer
