#pragma once
// A saved log read line by line in constant memory: a file, or stdin for
// "-". A line may not exceed kMaxLine (a record is far smaller).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

class JsonRecordReader;
class UserFunctions;

class LineReader {
 public:
  static constexpr size_t kMaxLine = 16 << 20;
  static Result<LineReader> open(const std::string& path);

  // The next line, without its '\n', valid until the next call; false at
  // the end of the input.
  Result<bool> next(std::string_view& line);
  // The line next() returned last, and its number, from 1.
  std::string_view line() const { return line_; }
  uint64_t line_number() const { return line_number_; }
  const std::string& name() const { return name_; }

 private:
  LineReader(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  int fd() const { return fd_ ? fd_.get() : 0; }
  Result<bool> fill();  // false: end of input

  UniqueFd fd_;  // empty: stdin, not ours to close
  std::string name_;
  std::string buffer_ = std::string(1 << 20, '\0');
  size_t begin_ = 0;  // unread bytes: [begin_, end_)
  size_t end_ = 0;
  bool at_end_ = false;
  uint64_t line_number_ = 0;
  std::string_view line_;
};

// Each record of the log at path (empty lines skipped), read into an Event
// and handed to visit with its reader (boot tag, session fields) and line. A
// line that is no record is an error naming it; visit's errors end the walk.
using RecordVisitor = std::function<Status(const Event&, const JsonRecordReader&, const LineReader&)>;
Status for_each_record(const std::string& path, const UserFunctions& user_functions, const RecordVisitor& visit);

// "LOG:LINE: message", of the same kind.
Error at_line(const LineReader& input, const Error& error);

}  // namespace tracer
