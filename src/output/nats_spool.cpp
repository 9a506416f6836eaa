#include "tracer/output/nats_spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <memory>

namespace tracer {
namespace {

// A segment is closed at this size: what is acknowledged leaves the disk a
// segment at a time, and a resend after a restart is at most this much.
constexpr uint64_t kSegmentBytes = 1 << 20;
constexpr std::string_view kSuffix = ".spool";

std::string segment_name(uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu", static_cast<unsigned long long>(number));
  return std::string(name) + std::string(kSuffix);
}

std::optional<uint64_t> segment_number(std::string_view name) {
  if (name.size() != 20 + kSuffix.size() || !name.ends_with(kSuffix)) return {};
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(name.data(), name.data() + 20, number);
  if (error != std::errc() || end != name.data() + 20) return {};
  return number;
}

Result<UniqueFd> open_spool_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("cannot create NATS spool " + dir);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat link {};
  // O_DIRECTORY answers ENOTDIR for a symbolic link, whatever it points to.
  if (!fd && (errno == ELOOP || errno == ENOTDIR) && ::lstat(dir.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
    return runtime_error("NATS spool " + dir + ": a symbolic link (refused)");
  if (!fd) return errno_error("cannot open NATS spool " + dir);
  struct stat info {};
  if (fstat(fd.get(), &info) != 0) return errno_error("NATS spool " + dir);
  if (info.st_uid != geteuid())
    return runtime_error("NATS spool " + dir + ": it belongs to uid " + std::to_string(info.st_uid) +
                         ", not to the tracer's (refused)");
  if ((info.st_mode & 07777) != 0700 && fchmod(fd.get(), 0700) != 0)
    return errno_error("cannot set the mode of NATS spool " + dir + " to 0700");
  return fd;
}

Result<std::string> read_all(int dir_fd, const std::string& name) {
  const UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("cannot open NATS spool segment " + name);
  std::string bytes;
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t got = ::read(fd.get(), chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_error("cannot read NATS spool segment " + name);
    if (got == 0) return bytes;
    bytes.append(chunk, static_cast<size_t>(got));
  }
}

}  // namespace

Result<NatsSpool> NatsSpool::open(const std::string& dir, uint64_t max_bytes) {
  Result<UniqueFd> dir_fd = open_spool_dir(dir);
  if (!dir_fd) return dir_fd.take_error();
  NatsSpool spool(dir, std::move(*dir_fd), max_bytes);
  const int listing = ::dup(spool.dir_fd_.get());
  std::unique_ptr<DIR, int (*)(DIR*)> entries(listing >= 0 ? ::fdopendir(listing) : nullptr, ::closedir);
  if (!entries) {
    if (listing >= 0) ::close(listing);
    return errno_error("cannot list NATS spool " + dir);
  }
  while (const dirent* entry = ::readdir(entries.get())) {
    const std::optional<uint64_t> number = segment_number(entry->d_name);
    struct stat info {};
    if (!number || ::fstatat(spool.dir_fd_.get(), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(info.st_mode))
      continue;
    spool.segments_.push_back({*number, static_cast<uint64_t>(info.st_size)});
    spool.bytes_ += static_cast<uint64_t>(info.st_size);
  }
  std::sort(spool.segments_.begin(), spool.segments_.end(),
            [](const Segment& a, const Segment& b) { return a.number < b.number; });
  spool.next_number_ = spool.segments_.empty() ? 0 : spool.segments_.back().number + 1;
  return spool;
}

Status NatsSpool::open_new_segment() {
  const std::string name = segment_name(next_number_);
  writing_ = UniqueFd(
      ::openat(dir_fd_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!writing_) return errno_error("cannot create NATS spool segment " + dir_ + "/" + name);
  segments_.push_back({next_number_++, 0});
  return ok_status();
}

NatsSpool::Appended NatsSpool::append(std::span<const SpooledRecord> records) {
  Appended appended;
  std::string framed;
  for (const SpooledRecord& record : records) {
    const size_t before = framed.size();
    append_spooled_record(framed, record.id, record.body);
    if (bytes_ + framed.size() > max_bytes_) {
      framed.resize(before);
      break;
    }
    ++appended.stored;
  }
  if (framed.empty()) return appended;
  if (!writing_ || segments_.back().bytes >= kSegmentBytes) {
    if (Status status = open_new_segment(); !status) return {0, errno ? errno : EIO};
  }
  size_t done = 0;
  while (done < framed.size()) {
    const ssize_t written = ::write(writing_.get(), framed.data() + done, framed.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) {
      const int error = errno;
      // A torn record is ignored when read back; the next ones start afresh.
      writing_.reset();
      segments_.back().bytes += done;
      bytes_ += done;
      return {0, error};
    }
    done += static_cast<size_t>(written);
  }
  segments_.back().bytes += framed.size();
  bytes_ += framed.size();
  return appended;
}

Result<std::vector<SpooledRecord>> NatsSpool::read_oldest() {
  if (segments_.empty()) return std::vector<SpooledRecord>{};
  if (segments_.size() == 1) writing_.reset();
  Result<std::string> bytes = read_all(dir_fd_.get(), segment_name(segments_.front().number));
  if (!bytes) return bytes.take_error();
  return parse_spooled_records(*bytes);
}

Status NatsSpool::remove_oldest() {
  if (segments_.empty()) return ok_status();
  if (segments_.size() == 1) writing_.reset();
  const std::string name = segment_name(segments_.front().number);
  if (::unlinkat(dir_fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT)
    return errno_error("cannot remove NATS spool segment " + dir_ + "/" + name);
  bytes_ -= std::min(bytes_, segments_.front().bytes);
  segments_.erase(segments_.begin());
  return ok_status();
}

}  // namespace tracer
