#pragma once
// Reading a file named by the user (a config, a key, a log to verify) without
// trusting what it is: a directory, /dev/zero, a FIFO with no writer or a
// multi-gigabyte file is refused with one line, never read into memory or
// waited on.

#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

struct RegularFile {
  UniqueFd fd;
  struct stat info {};
};

// Opens path read-only (symlinks followed: config maps and secrets are
// symlinks) with O_NONBLOCK, so that a FIFO cannot block the open, and
// refuses anything but a regular file. The message names no path: callers
// put what the file is for in front.
Result<RegularFile> open_regular_file(const std::string& path);

// The whole content of a regular file of at most max_bytes. The limit holds
// even for a file that grows while it is read.
Result<std::string> read_bounded_file(const std::string& path, size_t max_bytes);
// The same from a file already opened (and checked) by open_regular_file.
Result<std::string> read_bounded_file(const RegularFile& file, size_t max_bytes);

// "1 MiB", "4 KiB", "512 bytes": a limit in a message.
std::string describe_size(size_t bytes);

}  // namespace tracer
