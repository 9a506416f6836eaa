#pragma once
// Where formatted lines go: stdout or a file (created 0640, appended to,
// reopened on SIGHUP). Lines are buffered and written whole; a pipe or a
// terminal gets every batch as soon as it is formatted, a file at least every
// 100 ms. A reader that went away is ExitKind::reader_gone; any other write
// error (a full disk) is a runtime error naming the destination. Each writer
// counts what it wrote, for --metrics.

#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"
#include "tracer/output/metrics.hpp"

namespace tracer {

class OutputWriter {
 public:
  static Result<OutputWriter> open_stdout();
  static Result<OutputWriter> open_file(const std::string& path);
  OutputWriter(OutputWriter&& other) noexcept = default;
  OutputWriter& operator=(OutputWriter&&) = delete;

  // The buffer lines are appended to; end_of_batch(), write_if_full() and
  // flush() send them.
  std::string& buffer() { return buffer_; }
  // Appends one formatted record to the buffer, counted once it is written.
  void append_record(std::string_view line) {
    buffer_ += line;
    ++pending_records_;
  }
  // Called after each batch of events: writes when the policy says so.
  Status end_of_batch();
  // Writes when the buffer passed its high-water mark (256 KiB), whatever
  // the policy: a batch of records never holds more memory than that.
  Status write_if_full();
  // Writes everything buffered now.
  Status flush();
  // Reopens the file (log rotation). No-op for stdout.
  Status reopen();

  // "stdout" or the path.
  const std::string& name() const { return name_; }
  // Records and bytes written, failed writes, records a failed write lost.
  // name and format are left to the caller.
  const OutputMetrics& counters() const { return counters_; }

 private:
  OutputWriter(UniqueFd file, std::string name, std::optional<std::string> path, bool immediate);
  int fd() const { return file_ ? file_.get() : STDOUT_FILENO; }
  Status write_all(std::string_view bytes);

  UniqueFd file_;  // out-file; empty for stdout, which is not ours to close
  std::string name_;
  std::optional<std::string> path_;  // set for out-file
  bool immediate_;                   // pipe or terminal: write at every batch end
  std::string buffer_;
  uint64_t pending_records_ = 0;  // appended, not yet written
  OutputMetrics counters_;
  std::chrono::steady_clock::time_point last_write_;
};

}  // namespace tracer
