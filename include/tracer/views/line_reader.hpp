#pragma once
// A saved log read line by line in constant memory: a file, or stdin for
// "-". A line may not exceed kMaxLine (a record is far smaller).

#include <cstdint>
#include <string>
#include <string_view>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

class LineReader {
 public:
  static constexpr size_t kMaxLine = 16 << 20;
  static Result<LineReader> open(const std::string& path);

  // The next line, without its '\n', valid until the next call; false at
  // the end of the input.
  Result<bool> next(std::string_view& line);
  // The number of the line next() returned last, from 1.
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
};

}  // namespace tracer
