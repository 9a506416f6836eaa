#include "tracer/views/line_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tracer/views/json_record.hpp"

namespace tracer {

Result<LineReader> LineReader::open(const std::string& path) {
  if (path == "-") return LineReader(UniqueFd(), "stdin");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("cannot read " + path);
  return LineReader(std::move(fd), path);
}

Result<bool> LineReader::fill() {
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buffer_.size()) {
    if (buffer_.size() >= kMaxLine)
      return runtime_error(name_ + ": line " + std::to_string(line_number_ + 1) + " is longer than " +
                           std::to_string(kMaxLine >> 20) + " MiB: not a tracer log");
    buffer_.resize(buffer_.size() * 2);
  }
  while (true) {
    const ssize_t got = ::read(fd(), buffer_.data() + end_, buffer_.size() - end_);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_error("cannot read " + name_);
    end_ += static_cast<size_t>(got);
    return got > 0;
  }
}

Result<bool> LineReader::next(std::string_view& line) {
  size_t scanned = begin_;
  while (true) {
    const void* newline = std::memchr(buffer_.data() + scanned, '\n', end_ - scanned);
    if (newline) {
      const size_t stop = static_cast<size_t>(static_cast<const char*>(newline) - buffer_.data());
      line = std::string_view(buffer_).substr(begin_, stop - begin_);
      begin_ = stop + 1;
      ++line_number_;
      line_ = line;
      return true;
    }
    if (at_end_) break;
    const size_t unread = end_ - begin_;
    Result<bool> more = fill();
    if (!more) return more.take_error();
    at_end_ = !*more;
    scanned = begin_ + unread;
  }
  if (begin_ == end_) return false;
  line = std::string_view(buffer_).substr(begin_, end_ - begin_);  // the last line, without '\n'
  begin_ = end_;
  ++line_number_;
  line_ = line;
  return true;
}

Error at_line(const LineReader& input, const Error& error) {
  return Error{input.name() + ":" + std::to_string(input.line_number()) + ": " + error.message, error.kind};
}

Status for_each_record(const std::string& path, const UserFunctions& user_functions, const RecordVisitor& visit) {
  Result<LineReader> input = LineReader::open(path);
  if (!input) return input.take_error();
  JsonRecordReader reader(user_functions);
  std::string_view line;
  while (true) {
    Result<bool> more = input->next(line);
    if (!more) return more.take_error();
    if (!*more) return ok_status();
    if (line.empty()) continue;
    Result<const Event*> event = reader.read(line);
    if (!event) return at_line(*input, event.error());
    if (Status status = visit(**event, reader, *input); !status) return status;
  }
}

}  // namespace tracer
