// The pure part of an output's queue: how a batch joins the bounded queue,
// what a write cut short costs, and when a batch is handed over.
#include "tracer/output/output_batch.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>

namespace tracer {
namespace {

OutputBatch batch_of(std::initializer_list<std::string_view> records) {
  OutputBatch batch;
  for (std::string_view record : records) {
    batch.bytes += record;
    batch.record_ends.push_back(static_cast<uint32_t>(batch.bytes.size()));
  }
  return batch;
}

TEST(OutputBatch, AQueueThatIsEmptyTakesTheBatchAsItIs) {
  OutputBatch filling = batch_of({"a\n", "bb\n"}), pending;
  EXPECT_EQ(hand_off_batch(filling, pending, 10), HandOff::swapped);
  EXPECT_EQ(pending.bytes, "a\nbb\n");
  EXPECT_EQ(pending.record_ends, (std::vector<uint32_t>{2, 5}));
  EXPECT_TRUE(filling.empty());
  EXPECT_EQ(filling.records(), 0u);
}

TEST(OutputBatch, ABatchJoinsTheQueueWhileItFitsAndIsDroppedWhenItDoesNot) {
  OutputBatch pending = batch_of({"a\n"}), filling = batch_of({"bb\n", "c\n"});
  EXPECT_EQ(hand_off_batch(filling, pending, 7), HandOff::appended);
  EXPECT_EQ(pending.bytes, "a\nbb\nc\n");
  EXPECT_EQ(pending.record_ends, (std::vector<uint32_t>{2, 5, 7}));
  EXPECT_TRUE(filling.empty());

  filling = batch_of({"d\n"});
  EXPECT_EQ(hand_off_batch(filling, pending, 7), HandOff::dropped);
  EXPECT_EQ(pending.bytes, "a\nbb\nc\n");
  EXPECT_TRUE(filling.empty());
}

TEST(OutputBatch, APartialWriteCountsWholeRecordsAndTheCutOneAsLost) {
  OutputBatch batch;
  batch.bytes = "HEADER\n";  // not a record
  batch.bytes += "a\nbb\nccc\n";
  batch.record_ends = {9, 12, 16};
  const PartialWrite none = judge_partial_write(batch, 0);
  EXPECT_EQ(none.records_written, 0u);
  EXPECT_EQ(none.records_lost, 3u);
  EXPECT_FALSE(none.torn);
  const PartialWrite header_cut = judge_partial_write(batch, 3);
  EXPECT_EQ(header_cut.records_lost, 3u);
  EXPECT_TRUE(header_cut.torn);
  const PartialWrite at_a_line_end = judge_partial_write(batch, 9);
  EXPECT_EQ(at_a_line_end.records_written, 1u);
  EXPECT_EQ(at_a_line_end.records_lost, 2u);
  EXPECT_FALSE(at_a_line_end.torn);
  const PartialWrite inside = judge_partial_write(batch, 13);
  EXPECT_EQ(inside.records_written, 2u);
  EXPECT_EQ(inside.records_lost, 1u);
  EXPECT_TRUE(inside.torn);
}

using std::chrono::milliseconds;

// A record after a quiet gap goes at once; records following each other
// closely wait for the delivery interval; a full batch goes whatever the time.
TEST(DeliveryPacer, SparseRecordsGoAtOnceSteadyOnesBatch) {
  const auto start = std::chrono::steady_clock::now();
  DeliveryPacer pacer(start);
  OutputBatch batch = batch_of({"{}\n"});
  EXPECT_TRUE(pacer.due(batch, start + milliseconds(1))) << "the first record of a run";
  pacer.handed_off(true, start + milliseconds(1));

  // Steady: a record every 2 ms after the last delivery waits.
  batch = batch_of({"{}\n"});
  EXPECT_FALSE(pacer.due(batch, start + milliseconds(3)));
  batch.append_record("{}\n");
  EXPECT_FALSE(pacer.due(batch, start + milliseconds(5)));
  EXPECT_FALSE(pacer.due(batch, start + milliseconds(20))) << "no new record: nothing new after a gap";
  batch.append_record("{}\n");
  EXPECT_TRUE(pacer.due(batch, start + milliseconds(101))) << "the delivery interval passed";
  pacer.handed_off(true, start + milliseconds(101));

  // Sparse: 40 ms after the last record, one more goes at once, though a
  // delivery was 40 ms ago.
  batch = batch_of({"{}\n"});
  EXPECT_TRUE(pacer.due(batch, start + milliseconds(141)));
  pacer.handed_off(true, start + milliseconds(141));

  // A batch end that finds no new record does not count as one with lines.
  batch = OutputBatch();
  EXPECT_FALSE(pacer.due(batch, start + milliseconds(145)));
  pacer.handed_off(false, start + milliseconds(145));
  batch = batch_of({"{}\n"});
  EXPECT_TRUE(pacer.due(batch, start + milliseconds(160))) << "19 ms after the last record";
  pacer.handed_off(true, start + milliseconds(160));

  batch = batch_of({"{}\n"});
  EXPECT_FALSE(pacer.due(batch, start + milliseconds(162)));
  batch.append_record(std::string(kBatchHighWater, 'x'));
  EXPECT_TRUE(pacer.due(batch, start + milliseconds(163))) << "full";
}

}  // namespace
}  // namespace tracer
