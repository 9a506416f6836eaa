#include "tracer/core/bounded_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace tracer {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::string describe_size(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Result<RegularFile> open_regular_file(const std::string& path) {
  RegularFile file;
  file.fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!file.fd) return runtime_error("cannot read: " + errno_text(errno));
  if (fstat(file.fd.get(), &file.info) != 0) return runtime_error("cannot stat: " + errno_text(errno));
  if (!S_ISREG(file.info.st_mode))
    return runtime_error(std::string("not a regular file (") + kind_of(file.info.st_mode) + ")");
  // Regular files never block; blocking reads are simpler to reason about.
  if (fcntl(file.fd.get(), F_SETFL, O_RDONLY) != 0) return runtime_error("fcntl: " + errno_text(errno));
  return file;
}

Result<std::string> read_bounded_file(const std::string& path, size_t max_bytes) {
  Result<RegularFile> file = open_regular_file(path);
  if (!file) return file.take_error();
  return read_bounded_file(*file, max_bytes);
}

Result<std::string> read_bounded_file(const RegularFile& file, size_t max_bytes) {
  const std::string too_large = "larger than " + describe_size(max_bytes);
  if (static_cast<uint64_t>(file.info.st_size) > max_bytes) return runtime_error(too_large);
  std::string content(static_cast<size_t>(file.info.st_size), '\0');
  size_t done = 0;
  while (true) {
    // One byte past the limit tells a file that grew past it.
    if (done == content.size()) content.resize(std::min(max_bytes + 1, content.size() + 4096));
    const ssize_t got = ::read(file.fd.get(), content.data() + done, content.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return runtime_error("cannot read: " + errno_text(errno));
    if (got == 0) break;
    done += static_cast<size_t>(got);
    if (done > max_bytes) return runtime_error(too_large);
  }
  content.resize(done);
  return content;
}

}  // namespace tracer
