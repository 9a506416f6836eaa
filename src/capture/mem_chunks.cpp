#include "tracer/capture/mem_chunks.hpp"

#include <utility>

namespace tracer {

std::optional<JoinedMemCapture> MemChunkJoiner::add(const tracer_mem_capture_record& fixed,
                                                    std::span<const std::byte> data) {
  const uint32_t tid = fixed.header.task.tid;
  auto found = pending_.find(tid);
  const bool first = fixed.chunk_offset == 0;
  if (found != pending_.end() && (first || found->second.address != fixed.address)) {
    ++calls_abandoned_;  // that call's last chunk was lost
    pending_.erase(found);
    found = pending_.end();
  }
  if (found == pending_.end()) {
    if (pending_.size() >= kMaxPending) {
      calls_abandoned_ += pending_.size();
      pending_.clear();
    }
    found = pending_.emplace(tid, Pending{fixed.address, {}}).first;
    found->second.joined.chunks_lost = !first;  // the call's first chunks were lost
  }
  JoinedMemCapture& joined = found->second.joined;
  constexpr size_t kMaxBytes = size_t{TRACER_MEM_CAPTURE_CHUNK} * TRACER_MEM_CAPTURE_CHUNKS_MAX;
  if (fixed.chunk_offset != joined.bytes.size() || joined.bytes.size() + data.size() > kMaxBytes)
    joined.chunks_lost = true;
  if (!joined.chunks_lost) joined.bytes.insert(joined.bytes.end(), data.begin(), data.end());
  if (!(fixed.flags & TRACER_MEM_CAPTURE_LAST)) return std::nullopt;
  JoinedMemCapture done = std::move(joined);
  pending_.erase(found);
  if (done.chunks_lost) done.bytes.clear();
  return done;
}

}  // namespace tracer
