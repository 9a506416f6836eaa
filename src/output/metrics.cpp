#include "tracer/output/metrics.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>

#include "tracer/output/drop_report.hpp"

namespace tracer {
namespace {

// Label values are quoted: a backslash, a quote and a newline are escaped.
std::string label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string output_labels(const OutputMetrics& output) {
  return fmt::format("output=\"{}\",format=\"{}\"", label_value(output.name), label_value(output.format));
}

class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
  }
  void sample(std::string_view name, std::string_view labels, uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
  }
  void single(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    family(name, type, help);
    sample(name, value);
  }
  void labeled(std::string_view name, std::string_view help, std::string_view label,
               const std::vector<LabeledCount>& counts) {
    family(name, "counter", help);
    for (const LabeledCount& count : counts)
      sample(name, fmt::format("{}=\"{}\"", label, label_value(count.label)), count.count);
  }
  void per_output(std::string_view name, std::string_view help, const std::vector<OutputMetrics>& outputs,
                  uint64_t OutputMetrics::*field) {
    family(name, "counter", help);
    for (const OutputMetrics& output : outputs) sample(name, output_labels(output), output.*field);
  }
  void per_output_and_cause(std::string_view name, std::string_view help, const std::vector<OutputMetrics>& outputs) {
    family(name, "counter", help);
    for (const OutputMetrics& output : outputs)
      for (const OutputLossCause& cause : output_loss_causes())
        sample(name, fmt::format("{},cause=\"{}\"", output_labels(output), cause.label), output.*cause.count);
  }
  void seconds(std::string_view name, std::string_view help, double value) {
    family(name, "gauge", help);
    fmt::format_to(std::back_inserter(out_), "{} {:.3f}\n", name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string render_prometheus(const MetricsSnapshot& snapshot) {
  Exposition out;
  out.family("tracer_build_info", "gauge", "The tracer's version (always 1).");
  out.sample("tracer_build_info", fmt::format("version=\"{}\"", label_value(snapshot.version)), 1);
  out.seconds("tracer_start_time_seconds", "When the tracer started, in seconds since the epoch.",
              snapshot.start_time_seconds);
  out.labeled("tracer_events_total", "Events emitted, by event.", "event", snapshot.events);
  out.labeled("tracer_lost_records_total", "Records lost whole, by cause.", "cause", snapshot.lost);
  out.labeled("tracer_incomplete_records_total", "Records emitted with a part missing (flagged), by cause.", "cause",
              snapshot.incomplete);
  out.per_output("tracer_output_records_total", "Records written, per output.", snapshot.outputs,
                 &OutputMetrics::records_written);
  out.per_output("tracer_output_bytes_total", "Bytes written, per output.", snapshot.outputs,
                 &OutputMetrics::bytes_written);
  out.per_output("tracer_output_write_errors_total", "Failed writes, per output.", snapshot.outputs,
                 &OutputMetrics::write_errors);
  out.per_output_and_cause("tracer_output_lost_records_total",
                           "Records an output could not write, per output and cause.", snapshot.outputs);
  out.single("tracer_ring_buffer_size_bytes", "gauge", "The BPF ring buffer's size.", snapshot.ring_buffer_size_bytes);
  out.single("tracer_ring_buffer_used_bytes", "gauge", "Bytes in the ring buffer not consumed yet.",
             snapshot.ring_buffer_used_bytes);
  out.single("tracer_process_table_entries", "gauge", "Processes in the process table.",
             snapshot.process_table_entries);
  out.single("tracer_attach_failures_total", "counter", "Probes that could not be attached.", snapshot.attach_failures);
  if (snapshot.audit_log_sequence)
    out.single("tracer_audit_log_sequence", "gauge", "The seq of the last record sealed into the audit log.",
               *snapshot.audit_log_sequence);
  return out.take();
}

std::optional<MetricsAddress> parse_metrics_address(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  // An IPv6 address is bracketed: "::1:9464" could be an address alone.
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    return std::nullopt;
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc{} || end != port_text.data() + port_text.size() || port > 65535 || port_text.empty())
    return std::nullopt;
  const std::string host_text(host);
  unsigned char address[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host_text.c_str(), address) != 1 && inet_pton(AF_INET6, host_text.c_str(), address) != 1)
    return std::nullopt;
  return MetricsAddress{host_text, static_cast<uint16_t>(port)};
}

}  // namespace tracer
