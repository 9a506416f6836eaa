#pragma once
// --capture write=GLOB: the bytes of write_capture records, saved per file
// as DIR/write/<dev>-<inode> (the written file's numbers, never its path:
// nothing a traced program names chooses where the tracer writes). Chunks
// are appended in the order they arrive, so a file rewritten in place keeps
// every version; each record says where its bytes are in the capture
// (capture, capture_offset) and where they were written (offset, length).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

// The capture's name for a file (user dev_t, inode): "2049-1234".
std::string write_capture_file_name(uint64_t dev, uint64_t inode);

enum class WriteSaveState : uint8_t {
  saved,
  file_limit,   // the file's bytes would pass --capture-file-limit
  total_limit,  // the run's would pass --capture-limit (or too many files)
};

struct WriteSave {
  WriteSaveState state = WriteSaveState::saved;
  uint64_t capture_offset = 0;  // where the chunk starts in the capture file
};

struct WriteCaptureLimits {
  uint64_t total_bytes = 0;
  uint64_t file_bytes = 0;
  size_t max_open_files = 64;  // capture files kept open; others are reopened
  size_t max_files = 65536;    // files counted; a file beyond is not saved
};

class WriteCaptureStore {
 public:
  // Creates DIR and DIR/write (0700) when missing.
  static Result<WriteCaptureStore> open(const std::string& directory, const WriteCaptureLimits& limits);

  // Appends one chunk of the file's bytes: whole, or not at all.
  Result<WriteSave> append(uint64_t dev, uint64_t inode, std::span<const std::byte> data);
  // DIR/write.
  const std::string& directory() const { return directory_; }
  uint64_t saved_bytes() const { return saved_bytes_; }

 private:
  struct CaptureFile {
    UniqueFd fd;
    uint64_t end = 0;    // the capture file's size
    uint64_t saved = 0;  // bytes saved by this run
  };
  using FileKey = std::pair<uint64_t, uint64_t>;  // dev, inode

  WriteCaptureStore(std::string directory, UniqueFd dir, const WriteCaptureLimits& limits)
      : directory_(std::move(directory)), dir_(std::move(dir)), limits_(limits) {}
  Status open_file(const FileKey& key, CaptureFile& file);

  std::string directory_;
  UniqueFd dir_;
  WriteCaptureLimits limits_;
  uint64_t saved_bytes_ = 0;
  size_t open_files_ = 0;
  std::map<FileKey, CaptureFile> files_;
};

struct WriteCaptureCounters {
  uint64_t chunks_saved = 0;
  uint64_t bytes_saved = 0;
  uint64_t chunks_not_saved = 0;  // a bound reached, a buffer unreadable, a write failed
  uint64_t bytes_not_saved = 0;
};

class WriteCapture {
 public:
  WriteCapture(std::vector<std::string> globs, WriteCaptureStore store)
      : globs_(std::move(globs)), store_(std::move(store)) {}

  // A write_capture event and the record it was decoded from: false when
  // the path is outside the globs (the kernel compared a prefix only); else
  // saves the bytes and adds capture and capture_offset, or capture_error.
  // The strings added live until the next call.
  bool annotate(Event& event, std::span<const std::byte> record);
  const WriteCaptureCounters& counters() const { return counters_; }
  // A line for stderr, once each: the whole bound reached, a save failed.
  std::optional<std::string> take_notice() { return std::exchange(notice_, std::nullopt); }

 private:
  void not_saved(Event& event, std::string_view why, uint64_t bytes);

  std::vector<std::string> globs_;
  WriteCaptureStore store_;
  WriteCaptureCounters counters_;
  std::string capture_path_;
  std::optional<std::string> notice_;
  bool limit_noticed_ = false;
  bool failure_noticed_ = false;
};

}  // namespace tracer
