#include "tracer/capture/mem_capture.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

#include "tracer/capture/capture_store.hpp"
#include "tracer/decode/mem_capture_decode.hpp"

namespace tracer {
namespace {}  // namespace

Result<MemCaptureStore> MemCaptureStore::open(const std::string& directory, uint64_t limit_bytes) {
  Result<UniqueFd> dir = open_capture_subdirectory(directory, "mem");
  if (!dir) return dir.take_error();
  return MemCaptureStore(DigestDirectory(directory + "/mem", std::move(*dir)), limit_bytes);
}

Result<MemSaveState> MemCaptureStore::save(const std::string& hex, std::span<const std::byte> bytes) {
  if (dir_.holds(hex)) return MemSaveState::present;
  if (saved_bytes_ + bytes.size() > limit_bytes_) return MemSaveState::total_limit;
  std::string temporary;
  Result<UniqueFd> out = dir_.create_temporary(temporary);
  if (!out) return out.take_error();
  for (size_t written = 0; written < bytes.size();) {
    const ssize_t step = ::write(out->get(), bytes.data() + written, bytes.size() - written);
    if (step < 0 && errno == EINTR) continue;
    if (step < 0) {
      const int error = errno;
      dir_.discard(temporary);
      return errno_error("cannot write the capture " + dir_.shown() + "/" + hex, error);
    }
    written += static_cast<size_t>(step);
  }
  out->reset();
  Result<bool> placed = dir_.place(temporary, hex);
  if (!placed) return placed.take_error();
  if (!*placed) return MemSaveState::present;  // an earlier run saved these bytes
  saved_bytes_ += bytes.size();
  return MemSaveState::saved;
}

void MemCapture::not_saved(Event& event, std::string_view why) {
  event.args.add("capture_error", why);
  ++counters_.regions_not_saved;
}

bool MemCapture::annotate(Event& event, std::span<const std::byte> record) {
  Result<MemCaptureRecord> parsed = parse_mem_capture(record);
  if (!parsed) return false;
  const tracer_mem_capture_record& fixed = parsed->fixed;
  std::optional<JoinedMemCapture> joined = joiner_.add(fixed, parsed->data);
  if (!joined) return false;  // more chunks to come
  if (joined->chunks_lost) {
    not_saved(event, "chunks_lost");
    return true;
  }
  const bool read_failed = fixed.flags & TRACER_MEM_CAPTURE_READ_FAILED;
  const uint64_t size = joined->bytes.size();
  if (size < fixed.length) event.args.add("truncated", true);
  if (read_failed) event.args.add("read_failed", true);
  if (size == 0) {
    not_saved(event, read_failed ? "read_failed" : "empty");
    return true;
  }
  Sha256 hash;
  hash.update(joined->bytes);
  sha256_ = sha256_hex(hash.finish());
  event.args.add("sha256", std::string_view(sha256_));
  event.args.add("size", size);
  Result<MemSaveState> saved = store_.save(sha256_, joined->bytes);
  if (!saved) {
    if (!std::exchange(failure_noticed_, true))
      notice_ = saved.error().message + " (memory captures go on failing the same way; tracing goes on)";
    not_saved(event, "save_failed");
    return true;
  }
  if (*saved == MemSaveState::total_limit) {
    if (!std::exchange(limit_noticed_, true))
      notice_ = "memory capture limit reached: executable regions are no longer saved (tracing goes on)";
    not_saved(event, "total_limit");
    return true;
  }
  ++(*saved == MemSaveState::saved ? counters_.regions_saved : counters_.regions_present);
  capture_path_ = store_.directory() + "/" + sha256_;
  event.args.add("capture", std::string_view(capture_path_));
  event.args.add("existing", *saved == MemSaveState::present);
  return true;
}

}  // namespace tracer
