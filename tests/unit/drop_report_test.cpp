#include "tracer/output/drop_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace tracer {
namespace {

TEST(DropReport, NothingLost) {
  LossCounts counts;
  EXPECT_EQ(describe_losses(counts), "");
  EXPECT_EQ(summary_line(12, counts), "tracer: 12 events emitted, 0 lost");
}

TEST(DropReport, CausesAreNamedAndSplitIntoLostAndIncomplete) {
  LossCounts counts;
  counts.kernel[TRACER_DROP_RINGBUF_FULL] = 3;
  counts.kernel[TRACER_DROP_ARGV_READ] = 2;
  counts.undecodable = 1;
  EXPECT_EQ(counts.records_lost(), 4u);
  EXPECT_EQ(counts.records_partial(), 2u);
  EXPECT_EQ(summary_line(10, counts),
            "tracer: 10 events emitted, 4 lost — lost 4 records (ring buffer full: 3, undecodable: 1); "
            "2 records incomplete (argv read failed: 2)");
}

TEST(DropReport, OutputsThatLostRecordsAreNamedWithTheirCauses) {
  std::vector<OutputMetrics> outputs(3);
  outputs[0].name = "stdout";
  outputs[0].records_written = 7;
  outputs[0].records_stalled = 5;
  outputs[1].name = "/var/log/tracer/exec.json";
  outputs[1].records_written = 12;
  outputs[2].name = "/full/exec.json";
  outputs[2].records_written = 9;
  outputs[2].records_lost = 2;
  outputs[2].records_stalled = 1;
  EXPECT_EQ(summary_line(12, LossCounts{}, outputs),
            "tracer: 12 events emitted, 0 lost; stdout: 7 written, 5 lost (output stalled: 5); "
            "/full/exec.json: 9 written, 3 lost (output write error: 2, output stalled: 1)");
  outputs.erase(outputs.begin());
  outputs.pop_back();
  EXPECT_EQ(summary_line(12, LossCounts{}, outputs), "tracer: 12 events emitted, 0 lost");
  EXPECT_EQ(describe_output_losses(outputs), "");
}

TEST(DropReport, OutputCausesHaveMetricLabels) {
  std::vector<std::string_view> labels;
  for (const OutputLossCause& cause : output_loss_causes()) labels.push_back(cause.label);
  EXPECT_EQ(labels, (std::vector<std::string_view>{"output_write_error", "output_stalled", "output_unreachable",
                                                   "nats_spool_full"}));
}

// A child that follow could not follow escapes the trace: a loss, named in
// the summary and labelled for the metrics.
TEST(DropReport, ChildrenNotFollowedAreALoss) {
  LossCounts counts;
  counts.kernel[TRACER_DROP_FOLLOW_FULL] = 5;
  EXPECT_EQ(summary_line(1, counts),
            "tracer: 1 events emitted, 5 lost — lost 5 records (children not followed (follow table full): 5)");
  const auto causes = loss_causes();
  const auto cause = std::find_if(causes.begin(), causes.end(),
                                  [](const LossCause& each) { return each.cause == TRACER_DROP_FOLLOW_FULL; });
  ASSERT_NE(cause, causes.end());
  EXPECT_EQ(cause->label, "follow_table_full");
}

}  // namespace
}  // namespace tracer
