#pragma once
// --capture: the directory where executed binaries are saved, once per
// content, as DIR/exec/<sha256>. Names come only from the digest, every file
// is created relative to the directory's fd without following symlinks,
// written under a temporary name and renamed into place: a reader never sees
// half a file, and nothing a traced program controls chooses a path.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>

#include "tracer/capture/file_digest.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

// What reading a file gave: its digest and size, and what became of its bytes.
enum class CaptureState : uint8_t {
  not_wanted,  // hashing only
  saved,       // a new file DIR/exec/<sha256>
  present,     // the same bytes were saved before
  over_limit,  // --capture-limit reached: not saved
};

struct DigestedFile {
  Sha256Digest digest{};
  uint64_t size = 0;
  CaptureState capture = CaptureState::not_wanted;
};

// A directory of files named by the sha256 of their bytes (DIR/exec,
// DIR/mem): each is written under a temporary name (0600, O_EXCL|O_NOFOLLOW)
// and renamed to its digest without replacing; the names this run saved or
// found are remembered (a bounded number).
class DigestDirectory {
 public:
  // shown: the directory's path, for messages; fd: the directory (open_capture_subdirectory).
  DigestDirectory(std::string shown, UniqueFd fd) : shown_(std::move(shown)), fd_(std::move(fd)) {}

  const std::string& shown() const { return shown_; }
  bool holds(const std::string& hex) const { return saved_.contains(hex); }
  // A new temporary file; temporary receives its name.
  Result<UniqueFd> create_temporary(std::string& temporary);
  void discard(const std::string& temporary) const;
  // Renames temporary to hex: true when placed, false when those bytes were
  // there already (the temporary is removed).
  Result<bool> place(const std::string& temporary, const std::string& hex);

 private:
  void remember(const std::string& hex);

  std::string shown_;
  UniqueFd fd_;
  uint64_t temporary_serial_ = 0;
  std::unordered_set<std::string> saved_;  // hex digests saved or found by this run
};

class CaptureStore {
 public:
  // Creates DIR (0700) and DIR/exec when missing; DIR must not be a symlink.
  static Result<CaptureStore> open(const std::string& directory, uint64_t limit_bytes);

  // Reads fd from its start to its end, hashing; saves the bytes too when
  // wanted (the same bytes are hashed and saved: no second read to race).
  Result<DigestedFile> digest(int fd, bool save);

  const std::string& directory() const { return directory_; }
  uint64_t saved_bytes() const { return saved_bytes_; }

 private:
  CaptureStore(std::string directory, UniqueFd exec_dir, uint64_t limit_bytes)
      : directory_(directory), exec_dir_(directory + "/exec", std::move(exec_dir)), limit_bytes_(limit_bytes) {}

  std::string directory_;
  DigestDirectory exec_dir_;
  uint64_t limit_bytes_ = 0;
  uint64_t saved_bytes_ = 0;
  bool limit_reached_ = false;
};

// Hashing only, without a capture directory.
Result<DigestedFile> digest_fd(int fd);

// DIR (0700; missing parents created 0755) and DIR/SUB (0700), neither a
// symlink: the fd of DIR/SUB, where capture files are created by name.
Result<UniqueFd> open_capture_subdirectory(const std::string& directory, const std::string& sub);

}  // namespace tracer
