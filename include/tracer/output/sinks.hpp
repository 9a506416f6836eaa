#pragma once
// Where events end up. Every sink takes the same calls, so table, JSON,
// count-only output and the audit log sit behind one interface; several
// outputs at once are one sink that fans each event out to all of them.

#include <memory>

#include "tracer/app/options.hpp"
#include "tracer/core/clock.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"
#include "tracer/output/drop_report.hpp"
#include "tracer/output/metrics.hpp"

namespace tracer {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status write(const Event& event) = 0;
  // After each batch of records, and on the loop's timer when idle.
  virtual Status end_of_batch() = 0;
  virtual Status flush() = 0;
  // Whether lines wait for a later end_of_batch (the loop then comes back
  // within kDeliveryInterval rather than its idle poll).
  virtual bool holds_lines() const { return false; }
  // SIGHUP: reopen output files.
  virtual Status reopen() = 0;
  // --metrics: adds this sink's outputs (records, bytes, write errors) and,
  // for the audit log, its last sealed seq.
  virtual void add_metrics(MetricsSnapshot&) const {}
  // The run's own story, sealed into the audit log (others ignore it): the
  // losses counted so far, per cause, and the stop with the run's totals.
  virtual void note_losses(const LossCounts&) {}
  virtual void note_stop(uint64_t /*events_emitted*/, const LossCounts&) {}
};

// Every output of options.outputs (each format formatted once per event,
// whatever the number of its outputs) and the audit log.
Result<std::unique_ptr<Sink>> make_sink(const Options& options, const BootToWallClock& clock);

}  // namespace tracer
