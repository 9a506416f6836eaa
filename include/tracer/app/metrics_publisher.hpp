#pragma once
// Feeds --metrics from the event loop: a heartbeat every loop turn (for
// /healthz), and at most four times a second a snapshot of the run's counters
// (events by name, losses by cause, ring buffer fill, process table size,
// attach failures, each output's records, bytes and write errors, the audit
// log's seq) for /metrics.

#include <chrono>
#include <cstdint>
#include <functional>

#include "tracer/app/event_loop.hpp"
#include "tracer/output/metrics_server.hpp"

namespace tracer {

class UserFunctions;

class MetricsPublisher {
 public:
  struct Sources {
    int ring_buffer_fd = -1;
    uint64_t ring_buffer_bytes = 0;
    const UserFunctions* user_functions = nullptr;
    std::function<uint64_t()> process_table_entries;
    std::function<uint64_t()> attach_failures;
    // Adds the outputs' counters and the audit log's seq (Sink::add_metrics).
    std::function<void(MetricsSnapshot&)> outputs;
  };
  MetricsPublisher(MetricsServer& server, Sources sources);
  ~MetricsPublisher();
  MetricsPublisher(const MetricsPublisher&) = delete;
  MetricsPublisher& operator=(const MetricsPublisher&) = delete;

  // The loop turned; publishes when the last snapshot is old enough.
  void beat(const RunTotals& totals);
  void publish(const RunTotals& totals);

 private:
  uint64_t ring_buffer_used() const;

  MetricsServer& server_;
  Sources sources_;
  double start_time_seconds_ = 0;
  // The ring buffer's consumer and producer positions, mapped read-only.
  const volatile uint64_t* consumer_pos_ = nullptr;
  const volatile uint64_t* producer_pos_ = nullptr;
  std::chrono::steady_clock::time_point next_publish_{};
};

}  // namespace tracer
