#include "tracer/output/drop_report.hpp"

#include <fmt/format.h>

#include <string_view>
#include <utility>

namespace tracer {
namespace {

constexpr LossCause kCauses[] = {
    {TRACER_DROP_RINGBUF_FULL, "ring buffer full", "ring_buffer_full", true},
    {TRACER_DROP_INFLIGHT_FULL, "too many calls in flight", "inflight_full", true},
    {TRACER_DROP_STALE_INFLIGHT, "exec return not seen", "exec_return_not_seen", true},
    {TRACER_DROP_PATHNAME_READ, "pathname read failed", "pathname_read_failed", false},
    {TRACER_DROP_ARGV_READ, "argv read failed", "argv_read_failed", false},
    {TRACER_DROP_FILENAME_READ, "filename read failed", "filename_read_failed", false},
    {TRACER_DROP_ENTRY_MISSING, "syscall entry not seen", "syscall_entry_not_seen", false},
    {TRACER_DROP_ARGUMENT_READ, "argument read failed", "argument_read_failed", false},
    {TRACER_DROP_USER_ENTRY_MISSING, "user function entry not kept (nested, or too many in flight)",
     "user_function_entry_not_kept", true},
    {TRACER_DROP_STATS_FULL, "processes not counted per process (--stats table full)", "stats_table_full", false},
    {TRACER_DROP_FOLLOW_FULL, "children not followed (follow table full)", "follow_table_full", true},
};
static_assert(std::size(kCauses) == TRACER_DROP_CAUSE_COUNT, "every loss cause is named");

constexpr UserspaceLossCause kUserspaceCauses[] = {
    {"exec not hashed", "exec_not_hashed", &LossCounts::execs_not_hashed},
    {"capture limit reached", "capture_limit", &LossCounts::captures_over_limit},
    {"write capture not saved", "write_capture_not_saved", &LossCounts::write_captures_not_saved},
    {"mem capture not saved", "mem_capture_not_saved", &LossCounts::mem_captures_not_saved},
};

constexpr OutputLossCause kOutputCauses[] = {
    {"output write error", "output_write_error", &OutputMetrics::records_lost},
    {"output stalled", "output_stalled", &OutputMetrics::records_stalled},
    {"output unreachable", "output_unreachable", &OutputMetrics::records_unreachable},
    {"NATS spool full", "nats_spool_full", &OutputMetrics::records_spool_full},
};

std::string list_causes(const LossCounts& counts, bool whole_record) {
  std::string out;
  for (const LossCause& info : kCauses) {
    const uint64_t count = counts.kernel[info.cause];
    if (info.whole_record != whole_record || count == 0) continue;
    if (!out.empty()) out += ", ";
    fmt::format_to(std::back_inserter(out), "{}: {}", info.name, count);
  }
  if (whole_record && counts.undecodable) {
    if (!out.empty()) out += ", ";
    fmt::format_to(std::back_inserter(out), "undecodable: {}", counts.undecodable);
  }
  return out;
}

}  // namespace

std::span<const LossCause> loss_causes() { return kCauses; }

std::span<const OutputLossCause> output_loss_causes() { return kOutputCauses; }

std::span<const UserspaceLossCause> userspace_loss_causes() { return kUserspaceCauses; }

void LossCounts::keep_userspace_counts(const LossCounts& from) {
  undecodable = from.undecodable;
  for (const UserspaceLossCause& cause : kUserspaceCauses) this->*cause.count = from.*cause.count;
}

std::string describe_output_losses(std::span<const OutputMetrics> outputs) {
  std::string out;
  for (const OutputMetrics& output : outputs) {
    uint64_t lost = 0;
    std::string causes;
    for (const OutputLossCause& cause : kOutputCauses) {
      const uint64_t count = output.*cause.count;
      if (count == 0) continue;
      lost += count;
      fmt::format_to(std::back_inserter(causes), "{}{}: {}", causes.empty() ? "" : ", ", cause.name, count);
    }
    if (lost == 0) continue;
    fmt::format_to(std::back_inserter(out), "{}{}: {} written, {} lost ({})", out.empty() ? "" : "; ", output.name,
                   output.records_written, lost, causes);
  }
  return out;
}

uint64_t LossCounts::records_lost() const {
  uint64_t total = undecodable;
  for (const LossCause& info : kCauses)
    if (info.whole_record) total += kernel[info.cause];
  return total;
}

uint64_t LossCounts::records_partial() const {
  uint64_t total = 0;
  for (const LossCause& info : kCauses)
    if (!info.whole_record) total += kernel[info.cause];
  return total;
}

std::string describe_losses(const LossCounts& counts) {
  std::string out;
  if (uint64_t lost = counts.records_lost()) out = fmt::format("lost {} records ({})", lost, list_causes(counts, true));
  if (uint64_t partial = counts.records_partial()) {
    if (!out.empty()) out += "; ";
    fmt::format_to(std::back_inserter(out), "{} records incomplete ({})", partial, list_causes(counts, false));
  }
  for (const UserspaceLossCause& cause : kUserspaceCauses)
    if (const uint64_t count = counts.*cause.count) {
      if (!out.empty()) out += "; ";
      fmt::format_to(std::back_inserter(out), "{}: {}", cause.name, count);
    }
  return out;
}

std::string summary_line(uint64_t events_emitted, const LossCounts& counts, std::span<const OutputMetrics> outputs) {
  std::string line = fmt::format("tracer: {} events emitted, {} lost", events_emitted, counts.records_lost());
  if (std::string details = describe_losses(counts); !details.empty()) line += " — " + details;
  if (std::string details = describe_output_losses(outputs); !details.empty()) line += "; " + details;
  return line;
}

}  // namespace tracer
