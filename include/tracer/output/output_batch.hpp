#pragma once
// The pure part of an output's queue: the batches the ring-buffer consumer
// hands to an output's writer thread (src/output/output_writer.cpp), how a
// batch joins a bounded queue, and what a write cut short cost.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/clock.hpp"

namespace tracer {

// A batch this big is handed over whatever the time: the consumer's buffer
// stays bounded when the ring buffer never drains.
inline constexpr size_t kBatchHighWater = 256 * 1024;

// Bytes handed from the consumer to a writer thread in one piece, and where
// each record in them ends (what a partial write is judged by).
struct OutputBatch {
  std::string bytes;
  std::vector<uint32_t> record_ends;

  uint64_t records() const { return record_ends.size(); }
  bool empty() const { return bytes.empty(); }
  bool full() const { return bytes.size() >= kBatchHighWater; }
  // One formatted record ('\n' included).
  void append_record(std::string_view line) {
    bytes += line;
    record_ends.push_back(static_cast<uint32_t>(bytes.size()));
  }
  // After a batch of records: whether to hand this over now. A lone record
  // after a quiet spell goes at once; a storm goes in batches at most
  // kDeliveryInterval apart, or full ones.
  bool due(std::chrono::steady_clock::time_point last_hand_off, std::chrono::steady_clock::time_point now) const {
    return full() || now - last_hand_off >= kDeliveryInterval;
  }
  void clear() {
    bytes.clear();
    record_ends.clear();
  }
};

// Hands `filling` to the queue (`pending`, at most `limit` bytes): swapped in
// when the queue is empty, appended when it fits, else dropped (the queue is
// full: its reader does not keep up). filling is empty afterwards.
enum class HandOff { swapped, appended, dropped };
HandOff hand_off_batch(OutputBatch& filling, OutputBatch& pending, size_t limit);

// What a write of `written` bytes of `batch` (cut short by an error) did:
// records written whole, records lost (the cut one included), and whether
// the file now ends inside a line.
struct PartialWrite {
  uint64_t records_written = 0;
  uint64_t records_lost = 0;
  bool torn = false;
};
PartialWrite judge_partial_write(const OutputBatch& batch, size_t written);

// What writing one batch did, as a writer thread counts it: bytes written,
// the error that stopped it (0: none), the records written and lost, and
// whether they were lost because the destination could not be reached (a
// syslog server down) rather than to a failed write.
struct BatchWritten {
  size_t bytes = 0;
  int error = 0;
  PartialWrite judged;
  bool unreachable = false;
};

}  // namespace tracer
