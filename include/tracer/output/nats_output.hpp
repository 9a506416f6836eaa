#pragma once
// --output nats:URL[/SUBJECT]: each record, as its JSON line, published to a
// NATS JetStream stream. Like the file outputs it has its own thread and a
// bounded queue: the ring-buffer consumer only appends lines to a buffer and
// hands whole buffers over, never waits on the network. The thread publishes
// asynchronously (at most kNatsMaxInFlight messages awaiting their
// acknowledgement); while no server of the cluster answers, records go to
// the spool (--nats-spool) and leave it, in order and before newer ones,
// once a server answers again. An outage is said once on stderr. libnats
// (libnats.so.3.4) is loaded only by a run that publishes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "tracer/core/result.hpp"
#include "tracer/output/metrics.hpp"
#include "tracer/output/nats_target.hpp"
#include "tracer/output/output_batch.hpp"

namespace tracer {

constexpr int kNatsMaxInFlight = 4096;

// This run's message id prefix: the boot tag, the start time and the pid.
std::string nats_run_prefix(std::string_view boot_tag);

class NatsChannel;  // what the consumer, the writer thread and libnats' callbacks share

class NatsWriter {
 public:
  // run_prefix: unique per run (the message ids are run_prefix-N).
  static Result<NatsWriter> open(const NatsSettings& settings, std::string run_prefix);
  NatsWriter(NatsWriter&& other) noexcept = default;
  NatsWriter& operator=(NatsWriter&&) = delete;
  ~NatsWriter();

  // One JSON line ('\n' included).
  void append_record(std::string_view line) { filling_.append_record(line); }
  void end_of_batch();
  bool holds_lines() const { return !filling_.bytes.empty(); }
  void write_if_full();
  // Hands everything over and waits, at most until deadline, until it is
  // acknowledged (or spooled); the rest is counted lost (output stalled).
  void flush(std::chrono::steady_clock::time_point deadline);

  const std::string& name() const { return name_; }
  OutputMetrics counters() const;
  // Its counters, named, into --metrics.
  void add_metrics(MetricsSnapshot& snapshot) const;

 private:
  NatsWriter(std::shared_ptr<NatsChannel> channel, std::string name);
  void hand_off();

  std::shared_ptr<NatsChannel> channel_;
  std::thread thread_;
  std::string name_;
  OutputBatch filling_;
  DeliveryPacer pacer_;
};

}  // namespace tracer
