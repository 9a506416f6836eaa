#include "tracer/output/output_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <utility>

#include "tracer/core/clock.hpp"
#include "tracer/core/escape.hpp"
#include "tracer/output/syslog_connection.hpp"

namespace tracer {
namespace {

using Clock = std::chrono::steady_clock;

// What may wait for a writer thread, beyond the batch it is writing: about
// four full buffers, enough for any disk that works, little memory.
constexpr size_t kQueueBytes = 1024 * 1024;
// A full queue behind a writer that is writing makes the consumer wait for
// room, up to this long: the records wait in the ring buffer (8 MiB) rather
// than being dropped because the writer thread lost its CPU for a moment.
constexpr auto kFullQueueWait = std::chrono::milliseconds(100);
// A writer in one write for longer is stuck (a reader that stopped
// reading): nobody waits for it, its records are dropped at once.
constexpr auto kWriterStuck = std::chrono::milliseconds(100);
constexpr mode_t kFileMode = 0640;

struct OpenedFile {
  UniqueFd fd;
  bool ends_torn = false;  // a regular file whose last line has no '\n'
  bool immediate = false;  // a FIFO or a device: hand lines over at once
};

// Whether a non-empty regular file ends inside a line (a previous run's
// write cut short): the next record must then start on a fresh line. Read
// through a second, read-only fd (the output's is write-only), checked to be
// the same file.
bool ends_inside_a_line(const std::string& path, const struct stat& output) {
  if (output.st_size == 0) return false;
  const UniqueFd reader(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat info {};
  char last = '\n';
  return reader && fstat(reader.get(), &info) == 0 && info.st_dev == output.st_dev && info.st_ino == output.st_ino &&
         ::pread(reader.get(), &last, 1, output.st_size - 1) == 1 && last != '\n';
}

// A regular file is ours alone: our owner, mode 0640. A FIFO or a character
// device (/dev/null, a terminal) is written as it is, its mode untouched.
Status check_opened(int fd, const std::string& path, OpenedFile& opened) {
  struct stat info {};
  if (fstat(fd, &info) != 0) return errno_error("cannot open output file " + path);
  if (S_ISFIFO(info.st_mode) || S_ISCHR(info.st_mode)) {
    opened.immediate = true;
    return ok_status();
  }
  if (!S_ISREG(info.st_mode))
    return runtime_error("cannot open output file " + path +
                         ": not a regular file, a FIFO or a character device (refused)");
  if (info.st_uid != geteuid())
    return runtime_error("cannot open output file " + path + ": it belongs to uid " + std::to_string(info.st_uid) +
                         ", not to the tracer's (refused)");
  if ((info.st_mode & 07777) != kFileMode && fchmod(fd, kFileMode) != 0)
    return errno_error("cannot set the mode of output file " + path + " to 0640");
  opened.ends_torn = ends_inside_a_line(path, info);
  return ok_status();
}

// Opened without following a symbolic link, and without blocking: a FIFO
// with no reader is refused at once rather than hanging the start. The
// writes then block, in the writer thread (the open file description is
// ours alone, unlike an inherited stdout's).
Result<OpenedFile> open_output_path(const std::string& path, std::string_view verb) {
  OpenedFile opened;
  opened.fd = UniqueFd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, kFileMode));
  const int error = errno;
  const std::string what = std::string(verb) + " output file " + path;
  if (!opened.fd && error == ELOOP) return runtime_error(what + ": it is a symbolic link (refused)");
  if (!opened.fd && error == ENXIO) return runtime_error(what + ": a FIFO with no reader (start its reader first)");
  if (!opened.fd) return errno_error(what, error);
  if (Status status = check_opened(opened.fd.get(), path, opened); !status) return status.take_error();
  const int flags = fcntl(opened.fd.get(), F_GETFL);
  if (flags < 0 || fcntl(opened.fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return errno_error(what);
  return opened;
}

// Writes bytes whole unless an error stops it: the bytes written and the
// error (0 when none).
std::pair<size_t, int> write_fully(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return {done, errno};
    done += static_cast<size_t>(written);
  }
  return {done, 0};
}

}  // namespace

// The writer thread's side: it alone writes to the fd (or the syslog
// connection); the consumer hands it batches (a swap of buffers under the
// lock, no copy, no allocation once the buffers have grown) and, on SIGHUP, a
// file to switch to.
class OutputChannel {
 public:
  OutputChannel(UniqueFd file, std::string name, bool torn, bool is_stdout,
                std::unique_ptr<SyslogConnection> connection = nullptr)
      : file_(std::move(file)),
        torn_(torn),
        connection_(std::move(connection)),
        name_(std::move(name)),
        is_stdout_(is_stdout) {}

  int fd() const { return file_ ? file_.get() : STDOUT_FILENO; }

  void run() {
    // An unreachable server is said at the start, not at the first record.
    if (connection_) connection_->connect_now();
    std::unique_lock lock(mutex_);
    for (;;) {
      work_.wait(lock, [&] { return !pending_.empty() || replacement_ || stop_; });
      if (pending_.empty() && !replacement_) break;
      std::swap(pending_, writing_);
      std::optional<OpenedFile> replacement = std::exchange(replacement_, std::nullopt);
      const bool reader_gone = reader_gone_;
      busy_ = true;
      write_started_ = Clock::now();
      progress_.notify_all();  // the queue has room again
      in_flight_abandoned_ = false;
      in_flight_records_ = writing_.records();
      lock.unlock();
      const BatchWritten written = reader_gone ? BatchWritten{0, EPIPE, {0, writing_.records(), false}} : write_batch();
      if (replacement) {
        file_ = std::move(replacement->fd);
        torn_ = replacement->ends_torn;
      }
      lock.lock();
      count(written);
      writing_.clear();
      busy_ = false;
      progress_.notify_all();
    }
    exited_ = true;
    progress_.notify_all();
  }

  // The consumer's batch into the queue; whether stdout's reader went away.
  bool give(OutputBatch& filling) {
    std::unique_lock lock(mutex_);
    wait_for_room(lock, filling.bytes.size());
    const uint64_t records = filling.records();
    if (hand_off_batch(filling, pending_, kQueueBytes) == HandOff::dropped) counters_.records_stalled += records;
    const bool gone = reader_gone_;
    lock.unlock();
    work_.notify_one();
    return gone;
  }

  // Waits until everything given is written, or deadline: then what is
  // still queued or being written is counted lost (output stalled).
  void drain(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (progress_.wait_until(lock, deadline, [&] { return (pending_.empty() && !busy_) || exited_; })) return;
    stalled_at_stop_ = true;
    counters_.records_stalled += pending_.records();
    pending_.clear();
    if (busy_ && !in_flight_abandoned_) counters_.records_stalled += in_flight_records_;
    in_flight_abandoned_ = true;
  }

  void replace_file(OpenedFile file) {
    {
      std::lock_guard lock(mutex_);
      replacement_ = std::move(file);
    }
    work_.notify_one();
  }

  // Stops the thread once the queue is written: true when it has, within
  // grace (none when a drain found it stuck already).
  bool stop(Clock::duration grace) {
    std::unique_lock lock(mutex_);
    stop_ = true;
    work_.notify_one();
    const auto deadline = Clock::now() + (stalled_at_stop_ ? Clock::duration::zero() : grace);
    return progress_.wait_until(lock, deadline, [&] { return exited_; });
  }

  OutputMetrics counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
  }

 private:
  // Under the lock: a queue that cannot take `bytes` more waits while the
  // writer is working, up to kFullQueueWait (not at all once it is stuck).
  void wait_for_room(std::unique_lock<std::mutex>& lock, size_t bytes) {
    const auto give_up = Clock::now() + kFullQueueWait;
    while (!pending_.empty() && pending_.bytes.size() + bytes > kQueueBytes && !exited_ && !stalled_at_stop_) {
      const auto until = busy_ ? std::min(give_up, write_started_ + kWriterStuck) : give_up;
      if (progress_.wait_until(lock, until) == std::cv_status::timeout) return;
    }
  }

  // Runs without the lock: only this thread touches file_, torn_, failing_
  // and writing_. A write error is said once, until a write succeeds again.
  BatchWritten write_batch() {
    if (connection_) return connection_->write(writing_);  // says its own failures
    const BatchWritten written = write_records();
    if (written.error && !(written.error == EPIPE && is_stdout_) && !failing_)
      std::fprintf(stderr, "tracer: writing to %s: %s; its records are counted as lost until a write succeeds\n",
                   terminal_safe(name_).c_str(), errno_text(written.error).c_str());
    else if (!written.error && failing_)
      std::fprintf(stderr, "tracer: writing to %s works again\n", terminal_safe(name_).c_str());
    failing_ = written.error != 0;
    return written;
  }

  // A line a failed write cut is ended first: the next record is never
  // glued to the fragment (which is counted lost).
  BatchWritten write_records() {
    BatchWritten written;
    if (torn_) {
      const auto [bytes, error] = write_fully(fd(), "\n");
      if (error) return {0, error, {0, writing_.records(), true}};
      written.bytes = bytes;
      torn_ = false;
    }
    const auto [bytes, error] = write_fully(fd(), writing_.bytes);
    written.bytes += bytes;
    written.error = error;
    written.judged = error ? judge_partial_write(writing_, bytes) : PartialWrite{writing_.records(), 0, false};
    torn_ = written.judged.torn;
    return written;
  }

  void count(const BatchWritten& written) {
    counters_.bytes_written += written.bytes;
    if (written.error) ++counters_.write_errors;
    if (in_flight_abandoned_) return;  // counted lost by drain() already
    counters_.records_written += written.judged.records_written;
    // Not a loss: nobody wants them any more (`tracer | head -1`), and the run ends.
    if (written.error == EPIPE && is_stdout_) {
      reader_gone_ = true;
      return;
    }
    (written.unreachable ? counters_.records_unreachable : counters_.records_lost) += written.judged.records_lost;
  }

  mutable std::mutex mutex_;
  std::condition_variable work_;      // the writer thread waits on it
  std::condition_variable progress_;  // drain() and stop() wait on it
  // Under mutex_:
  OutputBatch pending_;
  std::optional<OpenedFile> replacement_;
  OutputMetrics counters_;
  uint64_t in_flight_records_ = 0;
  Clock::time_point write_started_{};  // of the batch being written (busy_)
  bool busy_ = false;
  bool in_flight_abandoned_ = false;
  bool reader_gone_ = false;
  bool stop_ = false;
  bool stalled_at_stop_ = false;
  bool exited_ = false;
  // The writer thread's own:
  UniqueFd file_;  // empty for stdout, which is not ours to close
  bool torn_;
  std::unique_ptr<SyslogConnection> connection_;  // set for a syslog output, which has no file
  bool failing_ = false;
  OutputBatch writing_;
  const std::string name_;
  const bool is_stdout_;
};

OutputWriter::OutputWriter(std::shared_ptr<OutputChannel> channel, std::string name, std::optional<std::string> path,
                           bool immediate)
    : channel_(std::move(channel)),
      // The thread holds the channel too: one stuck in a write is left
      // behind at exit, never freed under it.
      thread_([channel = channel_] { channel->run(); }),
      name_(std::move(name)),
      path_(std::move(path)),
      immediate_(immediate),
      pacer_(Clock::now()) {
  filling_.bytes.reserve(kBatchHighWater + 64 * 1024);
}

OutputWriter::~OutputWriter() {
  if (!channel_) return;  // moved from
  if (channel_->stop(kOutputStopDeadline))
    thread_.join();
  else
    thread_.detach();
}

Result<OutputWriter> OutputWriter::open_stdout() {
  struct stat info {};
  if (fstat(STDOUT_FILENO, &info) != 0) return errno_error("stdout");
  const bool file = S_ISREG(info.st_mode);
  return OutputWriter(std::make_shared<OutputChannel>(UniqueFd(), "stdout", false, true), "stdout", std::nullopt,
                      !file);
}

Result<OutputWriter> OutputWriter::open_file(const std::string& path) {
  Result<OpenedFile> file = open_output_path(path, "cannot open");
  if (!file) return file.take_error();
  const bool immediate = file->immediate;
  return OutputWriter(std::make_shared<OutputChannel>(std::move(file->fd), path, file->ends_torn, false), path, path,
                      immediate);
}

Result<OutputWriter> OutputWriter::open_syslog(const SyslogTarget& target) {
  std::string name = syslog_target_name(target);
  auto channel =
      std::make_shared<OutputChannel>(UniqueFd(), name, false, false, std::make_unique<SyslogConnection>(target));
  // Every batch at once: a network output has no reason to wait.
  return OutputWriter(std::move(channel), std::move(name), std::nullopt, true);
}

Status OutputWriter::hand_off() {
  // Only lines count: after a quiet spell the first record goes at once.
  pacer_.handed_off(!filling_.bytes.empty(), Clock::now());
  if (channel_->give(filling_)) return Error{"the reader of " + name_ + " went away", ExitKind::reader_gone};
  return ok_status();
}

Status OutputWriter::end_of_batch() {
  // An empty hand-off only asks whether the reader went away.
  if (filling_.empty() || immediate_ || pacer_.due(filling_, Clock::now())) return hand_off();
  return ok_status();
}

Status OutputWriter::write_if_full() {
  // A ring buffer that never drains would otherwise grow the batch unbounded.
  if (filling_.full()) return hand_off();
  return ok_status();
}

Status OutputWriter::flush(Clock::time_point deadline) {
  Status status = hand_off();
  channel_->drain(deadline);
  return status;
}

Status OutputWriter::flush() { return flush(Clock::now() + kOutputStopDeadline); }

Status OutputWriter::reopen() {
  if (!path_) return ok_status();
  if (Status status = hand_off(); !status) return status;  // what came before goes to the old file
  Result<OpenedFile> file = open_output_path(*path_, "cannot reopen");
  if (!file) {
    // Monitoring goes on: the old file is still open, only its name moved.
    std::fprintf(stderr, "tracer: %s; still writing to the file opened before\n",
                 terminal_safe(file.error().message).c_str());
    return ok_status();
  }
  channel_->replace_file(std::move(*file));
  return ok_status();
}

OutputMetrics OutputWriter::counters() const { return channel_->counters(); }

}  // namespace tracer
