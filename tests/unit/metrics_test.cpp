#include "tracer/output/metrics.hpp"

#include <gtest/gtest.h>

namespace tracer {
namespace {

MetricsSnapshot sample_snapshot() {
  MetricsSnapshot snapshot;
  snapshot.version = "0.1.0";
  snapshot.start_time_seconds = 1764763200.25;
  snapshot.events = {{"execve", 42}, {"openat", 7}};
  snapshot.lost = {{"ring_buffer_full", 3}, {"undecodable", 0}};
  snapshot.incomplete = {{"argv_read", 1}};
  snapshot.outputs = {{"stdout", "table", 49, 4096, 0, 0, 3},
                      {"out-file:/var/log/a \"b\"\\c\nd", "json", 48, 9000, 2, 1, 0}};
  snapshot.ring_buffer_size_bytes = 4 << 20;
  snapshot.ring_buffer_used_bytes = 512;
  snapshot.process_table_entries = 311;
  snapshot.attach_failures = 2;
  return snapshot;
}

TEST(Metrics, EveryFamilyHasHelpTypeAndItsSamples) {
  const std::string text = render_prometheus(sample_snapshot());
  for (const char* family :
       {"tracer_build_info", "tracer_start_time_seconds", "tracer_events_total", "tracer_lost_records_total",
        "tracer_incomplete_records_total", "tracer_output_records_total", "tracer_output_bytes_total",
        "tracer_output_write_errors_total", "tracer_output_lost_records_total", "tracer_ring_buffer_size_bytes",
        "tracer_ring_buffer_used_bytes", "tracer_process_table_entries", "tracer_attach_failures_total"}) {
    EXPECT_NE(text.find(std::string("# HELP ") + family + " "), std::string::npos) << family;
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  }
  EXPECT_NE(text.find("tracer_build_info{version=\"0.1.0\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("tracer_start_time_seconds 1764763200.250\n"), std::string::npos);
  EXPECT_NE(text.find("tracer_events_total{event=\"execve\"} 42\n"), std::string::npos);
  EXPECT_NE(text.find("tracer_lost_records_total{cause=\"ring_buffer_full\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("tracer_output_bytes_total{output=\"stdout\",format=\"table\"} 4096\n"), std::string::npos);
  EXPECT_NE(text.find("tracer_ring_buffer_size_bytes 4194304\n"), std::string::npos);
  EXPECT_NE(
      text.find("tracer_output_lost_records_total{output=\"stdout\",format=\"table\",cause=\"output_stalled\"} 3\n"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("tracer_output_lost_records_total{output=\"stdout\",format=\"table\",cause=\"output_write_error\"} "
                "0\n"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("tracer_audit_log_sequence"), std::string::npos) << "no audit log, no sequence";
  EXPECT_EQ(text.back(), '\n');
}

TEST(Metrics, LabelValuesAreEscapedSoNoLineCanBeForged) {
  const std::string text = render_prometheus(sample_snapshot());
  EXPECT_NE(
      text.find(
          "tracer_output_write_errors_total{output=\"out-file:/var/log/a \\\"b\\\"\\\\c\\nd\",format=\"json\"} 2\n"),
      std::string::npos)
      << text;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    const std::string_view line(text.data() + start, end - start);
    EXPECT_TRUE(line.starts_with("# HELP tracer_") || line.starts_with("# TYPE tracer_") || line.starts_with("tracer_"))
        << line;
    start = end + 1;
  }
}

TEST(Metrics, AuditSequenceOnlyWithAnAuditLog) {
  MetricsSnapshot snapshot = sample_snapshot();
  snapshot.audit_log_sequence = 1042;
  EXPECT_NE(render_prometheus(snapshot).find("tracer_audit_log_sequence 1042\n"), std::string::npos);
}

TEST(Metrics, AddressesAreIpAndPort) {
  const std::optional<MetricsAddress> v4 = parse_metrics_address("127.0.0.1:9464");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9464);
  const std::optional<MetricsAddress> v6 = parse_metrics_address("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  for (const char* bad : {"", "9464", ":9464", "localhost:9464", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:94x",
                          "127.0.0.1:-1", "::1:9464", "[127.0.0.1:9"})
    EXPECT_FALSE(parse_metrics_address(bad)) << bad;
}

}  // namespace
}  // namespace tracer
