#pragma once
// A syslog server's socket, as an output's writer thread uses it
// (src/output/output_writer.cpp): connected when the writer thread starts,
// again after a failure with a backoff (0.5 s, doubling up to 30 s). While
// the server cannot be reached its records are counted lost (output
// unreachable), never waited for: that is said once on stderr, and once
// again when it is back. A message a failed send cut is never continued: the
// connection is dropped and the next message starts a new one.

#include <chrono>
#include <string>

#include "tracer/core/fd.hpp"
#include "tracer/output/output_batch.hpp"
#include "tracer/output/syslog_format.hpp"

namespace tracer {

class SyslogConnection {
 public:
  explicit SyslogConnection(SyslogTarget target);
  // Connects now when not connected (the writer thread's start).
  void connect_now();
  // Sends the batch's framed messages, connecting first when needed.
  BatchWritten write(const OutputBatch& batch);

 private:
  using Clock = std::chrono::steady_clock;

  bool ensure_connected();
  void drop_if_closed_by_peer();
  // A connection attempt or a send failed: says so (once) and backs off.
  void failed(const std::string& why);

  SyslogTarget target_;
  std::string name_;
  UniqueFd socket_;
  bool unreachable_ = false;  // said on stderr, not yet said back
  Clock::duration backoff_{};
  Clock::time_point next_attempt_{};
};

}  // namespace tracer
