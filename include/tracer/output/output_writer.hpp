#pragma once
// Where formatted lines go: stdout, a file (created 0640, appended to,
// reopened on SIGHUP) or a syslog server. Each output has its own writer thread and a bounded
// queue: the ring-buffer consumer only appends lines to a buffer and hands
// whole buffers over, so a reader that stops reading (a pipe nobody drains, a
// stuck terminal) costs that output records, counted, never the consumer or
// the other outputs. A write error (a full disk) is said once on stderr and
// costs records, counted; writing goes on. Only the reader of stdout going
// away ends the run (ExitKind::reader_gone). A line cut by a failed write is
// never continued: the next write starts on a fresh line.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"
#include "tracer/output/metrics.hpp"
#include "tracer/output/output_batch.hpp"
#include "tracer/output/syslog_format.hpp"

namespace tracer {

// How long a stop waits for the outputs to write what is queued: SIGTERM
// ends the run in bounded time whatever the readers do.
constexpr auto kOutputStopDeadline = std::chrono::seconds(2);

class OutputChannel;  // what the consumer and the writer thread share

class OutputWriter {
 public:
  static Result<OutputWriter> open_stdout();
  // Refuses a symbolic link, a file of another owner and anything but a
  // regular file, a FIFO (with a reader) or a character device (/dev/null);
  // a regular file's mode is set to 0640.
  static Result<OutputWriter> open_file(const std::string& path);
  // A syslog server (src/output/syslog_connection.cpp): connected by the
  // writer thread, so opening never fails and never waits for the network.
  static Result<OutputWriter> open_syslog(const SyslogTarget& target);
  OutputWriter(OutputWriter&& other) noexcept = default;
  OutputWriter& operator=(OutputWriter&&) = delete;
  ~OutputWriter();

  // The buffer lines are appended to (a header, a --stats report: not
  // counted as records).
  std::string& buffer() { return filling_.bytes; }
  // Appends one formatted record ('\n' included), counted once it is written.
  void append_record(std::string_view line) { filling_.append_record(line); }
  // Called after each batch of events: hands the buffer to the writer when
  // the policy says so (a pipe or a terminal at once, a file at most every
  // kDeliveryInterval: a lone record at once, a storm in batches).
  Status end_of_batch();
  // Whether lines wait for a later end_of_batch.
  bool holds_lines() const { return !filling_.bytes.empty(); }
  // Hands the buffer over when it passed 256 KiB, whatever the policy.
  Status write_if_full();
  // Hands everything over and waits until it is written, at most until
  // deadline: what is still queued then is counted lost (output stalled).
  Status flush(std::chrono::steady_clock::time_point deadline);
  Status flush();  // deadline: kOutputStopDeadline from now
  // Reopens the file (log rotation; no-op for stdout). When that fails, says
  // so on stderr and goes on writing to the file it had.
  Status reopen();

  // "stdout", the path, or "syslog:tcp://HOST:PORT".
  const std::string& name() const { return name_; }
  // Records and bytes written, failed writes, records lost by cause. name and
  // format are left to the caller.
  OutputMetrics counters() const;

 private:
  OutputWriter(std::shared_ptr<OutputChannel> channel, std::string name, std::optional<std::string> path,
               bool immediate);
  Status hand_off();

  std::shared_ptr<OutputChannel> channel_;  // shared with the writer thread, which may outlive us
  std::thread thread_;
  std::string name_;
  std::optional<std::string> path_;  // set for a file
  bool immediate_;                   // pipe or terminal: hand over at every batch end
  OutputBatch filling_;              // the consumer's, no lock
  DeliveryPacer pacer_;
};

}  // namespace tracer
