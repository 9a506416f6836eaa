#include "tracer/output/output_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace tracer {
namespace {

constexpr auto kFileFlushInterval = std::chrono::milliseconds(100);
constexpr size_t kBufferHighWater = 256 * 1024;

UniqueFd open_output_file(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
}

}  // namespace

OutputWriter::OutputWriter(UniqueFd file, std::string name, std::optional<std::string> path, bool immediate)
    : file_(std::move(file)),
      name_(std::move(name)),
      path_(std::move(path)),
      immediate_(immediate),
      last_write_(std::chrono::steady_clock::now()) {
  buffer_.reserve(kBufferHighWater + 64 * 1024);
}

Result<OutputWriter> OutputWriter::open_stdout() {
  struct stat info {};
  if (fstat(STDOUT_FILENO, &info) != 0) return errno_error("stdout");
  const bool file = S_ISREG(info.st_mode);
  return OutputWriter(UniqueFd(), "stdout", std::nullopt, !file);
}

Result<OutputWriter> OutputWriter::open_file(const std::string& path) {
  UniqueFd file = open_output_file(path);
  if (!file) return errno_error("cannot open output file " + path);
  return OutputWriter(std::move(file), path, path, false);
}

Status OutputWriter::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd(), bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      ++counters_.write_errors;
      if (errno == EPIPE) return Error{"the reader of " + name_ + " went away", ExitKind::reader_gone};
      return errno_error("writing to " + name_);
    }
    counters_.bytes_written += static_cast<uint64_t>(written);
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return ok_status();
}

Status OutputWriter::flush() {
  if (buffer_.empty()) return ok_status();
  Status status = write_all(buffer_);
  (status ? counters_.records_written : counters_.records_lost) += pending_records_;
  pending_records_ = 0;
  buffer_.clear();
  last_write_ = std::chrono::steady_clock::now();
  return status;
}

Status OutputWriter::end_of_batch() {
  if (immediate_ || buffer_.size() >= kBufferHighWater ||
      std::chrono::steady_clock::now() - last_write_ >= kFileFlushInterval)
    return flush();
  return ok_status();
}

Status OutputWriter::write_if_full() {
  // A ring buffer that never drains would otherwise grow the batch unbounded.
  if (buffer_.size() >= kBufferHighWater) return flush();
  return ok_status();
}

Status OutputWriter::reopen() {
  if (!path_) return ok_status();
  if (Status status = flush(); !status) return status;
  UniqueFd file = open_output_file(*path_);
  if (!file) return errno_error("cannot reopen output file " + *path_);
  file_ = std::move(file);
  return ok_status();
}

}  // namespace tracer
