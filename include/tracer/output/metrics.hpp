#pragma once
// --metrics: what a fleet scrapes, in Prometheus' text exposition format
// (version 0.0.4). The run fills a MetricsSnapshot; rendering it is pure.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tracer {

struct LabeledCount {
  std::string label;
  uint64_t count = 0;
};

struct OutputMetrics {
  std::string name;    // e.g. "stdout", "out-file:/var/log/tracer/exec.json"
  std::string format;  // "json", "table", "audit-log", ...
  uint64_t records_written = 0;
  uint64_t bytes_written = 0;
  uint64_t write_errors = 0;
  uint64_t records_lost = 0;     // a failed write (a full disk), the record it cut included
  uint64_t records_stalled = 0;  // dropped: its queue was full, or still queued at exit
  // a syslog server down or gone; NATS: no server took them and no spool kept them
  uint64_t records_unreachable = 0;
  uint64_t records_spool_full = 0;  // NATS: no server took them, and the spool was full
};

struct MetricsSnapshot {
  std::string version;
  double start_time_seconds = 0;         // since the epoch
  std::vector<LabeledCount> events;      // by event name
  std::vector<LabeledCount> lost;        // whole records, by cause
  std::vector<LabeledCount> incomplete;  // records sent with a part missing, by cause
  std::vector<OutputMetrics> outputs;
  uint64_t ring_buffer_size_bytes = 0;
  uint64_t ring_buffer_used_bytes = 0;
  uint64_t process_table_entries = 0;
  uint64_t attach_failures = 0;
  std::optional<uint64_t> audit_log_sequence;  // the last sealed record's seq
};

// The exposition: every metric with HELP and TYPE, label values escaped.
std::string render_prometheus(const MetricsSnapshot& snapshot);

// "ADDR:PORT" (IPv4, or [IPv6]:PORT), port 0 for any free port: the parts,
// or nothing when the text is not one.
struct MetricsAddress {
  std::string host;
  uint16_t port = 0;
};
std::optional<MetricsAddress> parse_metrics_address(std::string_view text);

}  // namespace tracer
