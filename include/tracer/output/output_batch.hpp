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
  void clear() {
    bytes.clear();
    record_ends.clear();
  }
};

// When a consumer's batch goes to its writer, asked at the end of each batch
// of records: at once when its new records came after kQuietGap without any
// (an event on a quiet machine is in its file within milliseconds) or when
// it is full; under steady traffic at most once per kDeliveryInterval.
class DeliveryPacer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit DeliveryPacer(TimePoint now) : last_hand_off_(now), last_lines_(now - kQuietGap) {}

  bool due(const OutputBatch& batch, TimePoint now) {
    const bool new_lines = batch.records() > records_seen_;
    const bool after_quiet = new_lines && now - last_lines_ >= kQuietGap;
    if (new_lines) last_lines_ = now;
    records_seen_ = batch.records();
    return batch.full() || after_quiet || now - last_hand_off_ >= kDeliveryInterval;
  }
  // The batch went to the writer (only one with lines counts as a delivery).
  void handed_off(bool had_lines, TimePoint now) {
    if (had_lines) last_hand_off_ = now;
    records_seen_ = 0;
  }

 private:
  TimePoint last_hand_off_;
  TimePoint last_lines_;       // when a batch end last found new records
  uint64_t records_seen_ = 0;  // in the filling batch at the last batch end
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
