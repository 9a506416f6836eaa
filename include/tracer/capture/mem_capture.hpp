#pragma once
// --capture mem: the regions made executable after being writable, joined
// from their mem_capture chunks, hashed, and saved once per content as
// DIR/mem/<sha256> (named by the digest only: nothing a traced program
// chooses names a file). One mem_capture record per call, from its last
// chunk; the others are not emitted.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "tracer/capture/capture_store.hpp"
#include "tracer/capture/file_digest.hpp"
#include "tracer/capture/mem_chunks.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

enum class MemSaveState : uint8_t {
  saved,        // a new file DIR/mem/<sha256>
  present,      // the same bytes were saved before (this run or an earlier one)
  total_limit,  // --capture-limit reached: not saved
};

class MemCaptureStore {
 public:
  // Creates DIR and DIR/mem (0700) when missing.
  static Result<MemCaptureStore> open(const std::string& directory, uint64_t limit_bytes);

  // Saves bytes as DIR/mem/<hex>, written under a temporary name (0600,
  // O_EXCL|O_NOFOLLOW) and renamed into place without replacing.
  Result<MemSaveState> save(const std::string& hex, std::span<const std::byte> bytes);
  // DIR/mem.
  const std::string& directory() const { return dir_.shown(); }
  uint64_t saved_bytes() const { return saved_bytes_; }

 private:
  MemCaptureStore(DigestDirectory dir, uint64_t limit_bytes) : dir_(std::move(dir)), limit_bytes_(limit_bytes) {}

  DigestDirectory dir_;
  uint64_t limit_bytes_ = 0;
  uint64_t saved_bytes_ = 0;
};

struct MemCaptureCounters {
  uint64_t regions_saved = 0;      // new files
  uint64_t regions_present = 0;    // bytes saved before
  uint64_t regions_not_saved = 0;  // the limit, lost chunks, unreadable memory, a failed save
};

class MemCapture {
 public:
  explicit MemCapture(MemCaptureStore store) : store_(std::move(store)) {}

  // A mem_capture event and the record it was decoded from: false for a
  // chunk that is not its call's last (not emitted); else the call's bytes
  // are saved and sha256, size, capture (or capture_error) are added. The
  // strings added live until the next call.
  bool annotate(Event& event, std::span<const std::byte> record);
  const MemCaptureCounters& counters() const { return counters_; }
  // Calls not saved, those whose last chunk never came included.
  uint64_t not_saved() const { return counters_.regions_not_saved + joiner_.calls_abandoned(); }
  // A line for stderr, once each: the limit reached, a save failed.
  std::optional<std::string> take_notice() { return std::exchange(notice_, std::nullopt); }

 private:
  void not_saved(Event& event, std::string_view why);

  MemCaptureStore store_;
  MemChunkJoiner joiner_;
  MemCaptureCounters counters_;
  std::string sha256_;
  std::string capture_path_;
  std::optional<std::string> notice_;
  bool limit_noticed_ = false;
  bool failure_noticed_ = false;
};

}  // namespace tracer
