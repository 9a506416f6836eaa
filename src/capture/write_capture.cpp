#include "tracer/capture/write_capture.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "tracer/capture/capture_store.hpp"
#include "tracer/capture/write_glob.hpp"
#include "tracer/core/abi.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/decode/write_capture_decode.hpp"

namespace tracer {

std::string write_capture_file_name(uint64_t dev, uint64_t inode) { return fmt::format("{}-{}", dev, inode); }

Result<WriteCaptureStore> WriteCaptureStore::open(const std::string& directory, const WriteCaptureLimits& limits) {
  Result<UniqueFd> dir = open_capture_subdirectory(directory, "write");
  if (!dir) return dir.take_error();
  return WriteCaptureStore(directory + "/write", std::move(*dir), limits);
}

// O_NOFOLLOW and a regular file only: a name planted in DIR/write (were it
// not private) could not redirect the tracer's writes. Appended after what
// an earlier run saved.
Status WriteCaptureStore::open_file(const FileKey& key, CaptureFile& file) {
  if (open_files_ >= limits_.max_open_files)
    for (auto& [other_key, other] : files_)
      if (other.fd) {
        other.fd.reset();
        --open_files_;
        break;
      }
  const std::string name = write_capture_file_name(key.first, key.second);
  file.fd = UniqueFd(::openat(dir_.get(), name.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file.fd) return errno_error("cannot open the write capture " + directory_ + "/" + name);
  struct stat status {};
  if (::fstat(file.fd.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
    file.fd.reset();
    return runtime_error("the write capture " + directory_ + "/" + name + " is not a regular file");
  }
  file.end = static_cast<uint64_t>(status.st_size);
  ++open_files_;
  return ok_status();
}

Result<WriteSave> WriteCaptureStore::append(uint64_t dev, uint64_t inode, std::span<const std::byte> data) {
  const FileKey key{dev, inode};
  auto found = files_.find(key);
  if (found == files_.end()) {
    if (files_.size() >= limits_.max_files) return WriteSave{WriteSaveState::total_limit};
    found = files_.emplace(key, CaptureFile{}).first;
  }
  CaptureFile& file = found->second;
  if (file.saved + data.size() > limits_.file_bytes) return WriteSave{WriteSaveState::file_limit};
  if (saved_bytes_ + data.size() > limits_.total_bytes) return WriteSave{WriteSaveState::total_limit};
  if (!file.fd)
    if (Status status = open_file(key, file); !status) return status.take_error();
  const uint64_t start = file.end;
  for (size_t written = 0; written < data.size();) {
    const ssize_t step =
        ::pwrite(file.fd.get(), data.data() + written, data.size() - written, static_cast<off_t>(start + written));
    if (step < 0 && errno == EINTR) continue;
    if (step < 0) return errno_error("cannot write the write capture " + directory_);
    written += static_cast<size_t>(step);
  }
  file.end += data.size();
  file.saved += data.size();
  saved_bytes_ += data.size();
  return WriteSave{WriteSaveState::saved, start};
}

void WriteCapture::not_saved(Event& event, std::string_view why, uint64_t bytes) {
  event.args.add("capture_error", why);
  ++counters_.chunks_not_saved;
  counters_.bytes_not_saved += bytes;
}

bool WriteCapture::annotate(Event& event, std::span<const std::byte> record) {
  Result<WriteCaptureRecord> parsed = parse_write_capture(record);
  if (!parsed || !write_glob_matches(globs_, parsed->path)) return false;
  const tracer_write_capture_record& fixed = parsed->fixed;
  if (fixed.data_len == 0) {
    // The kernel sent none of these bytes: say why.
    const bool file_limit = fixed.flags & TRACER_WRITE_CAPTURE_FILE_LIMIT;
    const bool unread = fixed.flags & TRACER_WRITE_CAPTURE_READ_FAILED;
    not_saved(event, file_limit ? "file_limit" : unread ? "read_failed" : "call_limit", fixed.length);
    return true;
  }
  Result<WriteSave> saved = store_.append(user_dev_from_kernel(fixed.dev), fixed.inode, parsed->data);
  if (!saved) {
    if (!std::exchange(failure_noticed_, true))
      notice_ = saved.error().message + " (write captures go on failing the same way; tracing goes on)";
    not_saved(event, "save_failed", fixed.data_len);
    return true;
  }
  if (saved->state == WriteSaveState::file_limit) {
    not_saved(event, "file_limit", fixed.data_len);
    return true;
  }
  if (saved->state == WriteSaveState::total_limit) {
    if (!std::exchange(limit_noticed_, true))
      notice_ = "write capture limit reached: written bytes are no longer saved (tracing goes on)";
    not_saved(event, "total_limit", fixed.data_len);
    return true;
  }
  ++counters_.chunks_saved;
  counters_.bytes_saved += fixed.data_len;
  capture_path_ = store_.directory() + "/" + write_capture_file_name(user_dev_from_kernel(fixed.dev), fixed.inode);
  event.args.add("capture", std::string_view(capture_path_));
  event.args.add("capture_offset", saved->capture_offset);
  return true;
}

}  // namespace tracer
