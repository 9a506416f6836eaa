#include "tracer/output/output_batch.hpp"

#include <algorithm>
#include <utility>

namespace tracer {

HandOff hand_off_batch(OutputBatch& filling, OutputBatch& pending, size_t limit) {
  HandOff outcome = HandOff::dropped;
  if (pending.empty()) {
    std::swap(filling, pending);
    outcome = HandOff::swapped;
  } else if (pending.bytes.size() + filling.bytes.size() <= limit) {
    const auto offset = static_cast<uint32_t>(pending.bytes.size());
    pending.bytes += filling.bytes;
    for (const uint32_t end : filling.record_ends) pending.record_ends.push_back(offset + end);
    outcome = HandOff::appended;
  }
  filling.clear();
  return outcome;
}

PartialWrite judge_partial_write(const OutputBatch& batch, size_t written) {
  PartialWrite judged;
  judged.records_written = static_cast<uint64_t>(
      std::upper_bound(batch.record_ends.begin(), batch.record_ends.end(), written) - batch.record_ends.begin());
  judged.records_lost = batch.records() - judged.records_written;
  judged.torn = written > 0 && written < batch.bytes.size() && batch.bytes[written - 1] != '\n';
  return judged;
}

}  // namespace tracer
