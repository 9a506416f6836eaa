#include "tracer/run.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "tracer/bpf_program.hpp"
#include "tracer/event_loop.hpp"
#include "tracer/event_table.hpp"
#include "tracer/privileges.hpp"
#include "tracer/sinks.hpp"

namespace tracer {
namespace {

uint64_t boot_clock_now_ns() {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
}

std::string traced_event_names(const FilterSpec& filters) {
  std::string names;
  for (const EventDefinition& definition : event_definitions()) {
    if (!filters.wants(definition.id)) continue;
    if (!names.empty()) names += ", ";
    names += definition.name;
  }
  return names;
}

}  // namespace

Status run_trace(const Options& options) {
  if (Status status = check_privileges(); !status) return status;
  if (Status status = block_handled_signals(); !status) return status;

  BootToWallClock clock = BootToWallClock::calibrate();
  Result<std::unique_ptr<Sink>> sink = make_sink(options, clock);
  if (!sink) return sink.take_error();

  BpfSettings settings;
  settings.max_args = options.max_args;
  settings.ring_buffer_bytes = options.ring_buffer_kib * 1024;
  // Batch wakeups: one per 256 KiB (or a quarter of a smaller ring) instead
  // of one per record; the loop's 100 ms poll bounds the latency.
  settings.wakeup_min_bytes = std::min<uint64_t>(256 * 1024, settings.ring_buffer_bytes / 4);
  settings.filter = compile_filter(options.filters, boot_clock_now_ns());
  Result<TracerBpf> bpf = TracerBpf::open_and_load(settings);
  if (!bpf) return bpf.take_error();
  Result<std::vector<AttachOutcome>> outcomes = bpf->attach();
  if (!outcomes) return outcomes.take_error();
  for (const AttachOutcome& outcome : *outcomes)
    if (!outcome.attached && (!outcome.optional || options.verbose))
      std::fprintf(stderr, "tracer: %s could not be attached (%s); events that need it are not produced\n",
                   outcome.hook.c_str(), outcome.error.c_str());

  // Tests and scripts wait for this line: from here on every event is seen.
  std::fprintf(stderr, "tracer: tracing %s (Ctrl-C to stop)\n", traced_event_names(options.filters).c_str());

  DecodeOptions decode_options;
  decode_options.max_args = options.max_args;
  RunTotals totals;
  Status status = run_event_loop(*bpf, **sink, decode_options, options.filters, clock, totals);
  if (!status && status.error().kind == ExitKind::reader_gone) return status;
  std::fprintf(stderr, "%s\n", summary_line(totals.events_emitted, totals.losses).c_str());
  return status;
}

}  // namespace tracer
