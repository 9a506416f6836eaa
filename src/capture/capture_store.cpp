#include "tracer/capture/capture_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

namespace tracer {
namespace {

constexpr size_t kChunk = size_t{1} << 20;
constexpr size_t kMaxSavedNames = 65536;

Result<UniqueFd> open_private_directory(int parent, const std::string& name, const std::string& shown) {
  if (::mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error("cannot create the capture directory " + shown);
  UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("cannot open the capture directory " + shown + " (a symlink is refused)");
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) return errno_error("cannot stat the capture directory " + shown);
  // An existing directory others can enter would expose what was captured.
  if ((status.st_mode & 077) != 0 && ::fchmod(fd.get(), 0700) != 0)
    return errno_error("cannot make the capture directory " + shown + " private");
  return fd;
}

// Reads all of fd from offset 0: each chunk goes to the hash and, when
// out is valid, to out.
Result<DigestedFile> read_all(int fd, int out) {
  Sha256 hash;
  DigestedFile file;
  std::vector<std::byte> buffer(kChunk);
  for (;;) {
    const ssize_t got = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(file.size));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_error("cannot read the executable");
    if (got == 0) break;
    hash.update({buffer.data(), static_cast<size_t>(got)});
    for (ssize_t written = 0; out >= 0 && written < got;) {
      const ssize_t step = ::write(out, buffer.data() + written, static_cast<size_t>(got - written));
      if (step < 0 && errno == EINTR) continue;
      if (step < 0) return errno_error("cannot write the capture");
      written += step;
    }
    file.size += static_cast<uint64_t>(got);
  }
  file.digest = hash.finish();
  return file;
}

// The missing parents of path, as `mkdir -p` would (0755: only the capture
// directory itself is private).
void create_parents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
    ::mkdir(path.substr(0, slash).c_str(), 0755);
}

}  // namespace

Result<DigestedFile> digest_fd(int fd) { return read_all(fd, -1); }

Result<UniqueFd> open_capture_subdirectory(const std::string& directory, const std::string& sub) {
  create_parents(directory);
  const std::string absolute = directory.starts_with('/') ? directory : "./" + directory;
  const size_t slash = absolute.find_last_of('/');
  const std::string parent_path = slash == 0 ? "/" : absolute.substr(0, slash);
  const std::string name = absolute.substr(slash + 1);
  if (name.empty() || name == "." || name == "..")
    return usage_error("--capture dir:" + directory + ": name a directory (no trailing slash)");
  UniqueFd parent(::open(parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent) return errno_error("cannot open " + parent_path + ", the capture directory's parent");
  Result<UniqueFd> top = open_private_directory(parent.get(), name, directory);
  if (!top) return top.take_error();
  return open_private_directory(top->get(), sub, directory + "/" + sub);
}

Result<CaptureStore> CaptureStore::open(const std::string& directory, uint64_t limit_bytes) {
  Result<UniqueFd> exec_dir = open_capture_subdirectory(directory, "exec");
  if (!exec_dir) return exec_dir.take_error();
  return CaptureStore(directory, std::move(*exec_dir), limit_bytes);
}

Result<DigestedFile> CaptureStore::digest(int fd, bool save) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) return errno_error("cannot stat the executable");
  const auto size = static_cast<uint64_t>(status.st_size);
  if (save && !limit_reached_ && saved_bytes_ + size > limit_bytes_) limit_reached_ = true;
  if (!save || limit_reached_) {
    Result<DigestedFile> file = read_all(fd, -1);
    if (file && save) file->capture = CaptureState::over_limit;
    return file;
  }
  std::string temporary;
  Result<UniqueFd> out = exec_dir_.create_temporary(temporary);
  if (!out) return out.take_error();
  Result<DigestedFile> file = read_all(fd, out->get());
  if (!file) {
    exec_dir_.discard(temporary);
    return file;
  }
  Result<bool> placed = exec_dir_.place(temporary, sha256_hex(file->digest));
  if (!placed) return placed.take_error();
  if (*placed) saved_bytes_ += file->size;
  file->capture = *placed ? CaptureState::saved : CaptureState::present;
  return file;
}

Result<UniqueFd> DigestDirectory::create_temporary(std::string& temporary) {
  temporary = ".partial-" + std::to_string(::getpid()) + "-" + std::to_string(++temporary_serial_);
  UniqueFd out(::openat(fd_.get(), temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return errno_error("cannot create a capture file in " + shown_);
  return out;
}

void DigestDirectory::discard(const std::string& temporary) const { ::unlinkat(fd_.get(), temporary.c_str(), 0); }

Result<bool> DigestDirectory::place(const std::string& temporary, const std::string& hex) {
  const bool known = holds(hex);
  if (!known && ::renameat2(fd_.get(), temporary.c_str(), fd_.get(), hex.c_str(), RENAME_NOREPLACE) == 0) {
    remember(hex);
    return true;
  }
  const int error = errno;
  discard(temporary);
  if (!known && error != EEXIST) return errno_error("cannot name the capture " + shown_ + "/" + hex, error);
  remember(hex);
  return false;
}

void DigestDirectory::remember(const std::string& hex) {
  if (saved_.size() < kMaxSavedNames) saved_.insert(hex);
}

}  // namespace tracer
