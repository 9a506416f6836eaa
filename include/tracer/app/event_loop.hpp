#pragma once
// Consumes the ring buffer until SIGINT/SIGTERM: decode → sink, one batch at a
// time; SIGHUP reopens output files. Losses are reported on stderr while
// running (at most once a second) and returned for the summary.

#include <cstdint>
#include <functional>
#include <vector>

#include "tracer/core/clock.hpp"
#include "tracer/core/result.hpp"
#include "tracer/core/signals.hpp"  // block_handled_signals(), called before the loop
#include "tracer/decode/decode.hpp"
#include "tracer/filter/filter.hpp"
#include "tracer/kernel/bpf_program.hpp"
#include "tracer/output/drop_report.hpp"
#include "tracer/output/sinks.hpp"
#include "tracer/process/enrich.hpp"

namespace tracer {

struct RunTotals {
  uint64_t events_emitted = 0;
  std::vector<uint64_t> events_by_id;  // emitted, indexed by event id
  LossCounts losses;
  std::vector<OutputMetrics> outputs;  // at the end: what each output wrote and lost
};

class MetricsPublisher;
class ExecHasher;
class WriteCapture;
class MemCapture;

// Runs until a stop signal. totals is kept up to date so that it is right even
// when the loop ends early with an error.
// Every record first updates the enricher's process table; context-only
// records (for that table) stop there. Argument filters of `filters` are
// applied here; its context filters already ran in the kernel.
// on_new_executable receives the internal records of executables run for the
// first time (BpfSettings::watch_executables);
// admit_unverified judges events whose executable is not judged yet
// (Event::unverified_executable): false drops the event.
// hasher (--exec-hash): annotates exec records on their way to the sink; its
// follow-up records are written as the worker finishes them, and at the stop
// (within a bound) before the summary.
// write_capture (--capture write): saves each write_capture record's bytes on
// its way to the sink, and drops those outside its globs.
// mem_capture (--capture mem): joins each call's mem_capture chunks and saves
// the region; only a call's last chunk goes on to the sink.
// gate_fd, when not -1, is watched too: on_gate_ready serves it (execs the
// bash watcher holds until it has looked at the file); close_gate lets them
// all go when the loop stops.
struct ExecutableHooks {
  std::function<void(const tracer_executable_record&)> on_new_executable;
  std::function<bool(const Event&)> admit_unverified;
  int gate_fd = -1;
  std::function<void()> on_gate_ready;
  std::function<void()> close_gate;
};
Status run_event_loop(TracerBpf& bpf, Sink& sink, const DecodeOptions& decode_options, const FilterSpec& filters,
                      Enricher& enricher, BootToWallClock& clock, RunTotals& totals,
                      const ExecutableHooks& executable_hooks = {}, MetricsPublisher* metrics = nullptr,
                      ExecHasher* hasher = nullptr, WriteCapture* write_capture = nullptr,
                      MemCapture* mem_capture = nullptr);

}  // namespace tracer
