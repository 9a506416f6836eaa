#include "tracer/output/sinks.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <utility>
#include <vector>

#include "tracer/audit/audit_log.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/output/format.hpp"
#include "tracer/output/nats_output.hpp"
#include "tracer/output/output_writer.hpp"
#include "tracer/output/syslog_format.hpp"
#include "tracer/process/proc_scan.hpp"

namespace tracer {
namespace {

// The terminal's width when stdout is one; 0 (no limit) otherwise.
size_t stdout_terminal_width() {
  winsize size{};
  if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

struct Output {
  OutputWriter writer;
  OutputFormat format;
  size_t width = 0;     // a table on a terminal: its columns; 0: no limit
  bool syslog = false;  // the JSON line framed as a syslog message
};

// The table, JSON and syslog outputs, and the audit log when there is one.
// Each event is formatted once per format in use, then appended to every
// output of that format; with no output at all (--output none) events are
// only counted, by the loop.
class OutputsSink final : public Sink {
 public:
  OutputsSink(const BootToWallClock& clock, const JsonOptions& json, const SyslogHeader& syslog,
              std::vector<Output> outputs, std::unique_ptr<Sink> audit_log, std::optional<NatsWriter> nats)
      : clock_(clock),
        json_(clock, json),
        table_(clock),
        syslog_(syslog),
        outputs_(std::move(outputs)),
        audit_log_(std::move(audit_log)),
        nats_(std::move(nats)) {
    for (const Output& output : outputs_) {
      (output.format == OutputFormat::json ? wants_json_ : wants_table_) = true;
      wants_syslog_ |= output.syslog;
    }
    if (nats_) wants_json_ = true;
  }

  Status write(const Event& event) override {
    if (wants_json_) {
      json_line_.clear();
      json_.append(json_line_, event);
    }
    if (wants_syslog_) {
      syslog_message_.clear();
      const std::string_view record(json_line_.data(), json_line_.size() - 1);  // without its '\n'
      syslog_.append(syslog_message_, clock_.to_wall(event.boot_ns), event.definition->name, record);
    }
    if (wants_table_) {
      table_line_.clear();
      table_.append(table_line_, event);
    }
    Status status = ok_status();
    for (Output& output : outputs_) {
      if (output.syslog) {
        output.writer.append_record(syslog_message_);
      } else if (output.width) {
        fitted_line_.clear();
        append_fitted(fitted_line_, table_line_, output.width);
        output.writer.append_record(fitted_line_);
      } else {
        output.writer.append_record(output.format == OutputFormat::json ? json_line_ : table_line_);
      }
      keep_first_failure(status, output.writer.write_if_full());
    }
    if (nats_) {
      nats_->append_record(json_line_);
      nats_->write_if_full();
    }
    if (audit_log_) keep_first_failure(status, audit_log_->write(event));
    return status;
  }
  Status end_of_batch() override {
    // A resized terminal: the next lines take its new width.
    for (Output& output : outputs_)
      if (output.width)
        if (const size_t width = stdout_terminal_width()) output.width = width;
    if (nats_) nats_->end_of_batch();
    return each([](OutputWriter& writer) { return writer.end_of_batch(); }, &Sink::end_of_batch);
  }
  bool holds_lines() const override {
    if (nats_ && nats_->holds_lines()) return true;
    for (const Output& output : outputs_)
      if (output.writer.holds_lines()) return true;
    return false;
  }
  Status flush() override {
    // One deadline for all: a stop takes a bounded time however many outputs are stuck.
    const auto deadline = std::chrono::steady_clock::now() + kOutputStopDeadline;
    if (nats_) nats_->flush(deadline);
    return each([deadline](OutputWriter& writer) { return writer.flush(deadline); }, &Sink::flush);
  }
  Status reopen() override {
    return each([](OutputWriter& writer) { return writer.reopen(); }, &Sink::reopen);
  }
  void note_losses(const LossCounts& losses) override {
    if (audit_log_) audit_log_->note_losses(losses);
  }
  void note_stop(uint64_t events_emitted, const LossCounts& losses) override {
    if (audit_log_) audit_log_->note_stop(events_emitted, losses);
  }
  void add_metrics(MetricsSnapshot& snapshot) const override {
    for (const Output& output : outputs_) {
      OutputMetrics metrics = output.writer.counters();
      metrics.name = output.writer.name();
      metrics.format = output.syslog ? "syslog" : output.format == OutputFormat::json ? "json" : "table";
      snapshot.outputs.push_back(std::move(metrics));
    }
    if (nats_) nats_->add_metrics(snapshot);
    if (audit_log_) audit_log_->add_metrics(snapshot);
  }

 private:
  // Every output, then the audit log, whatever one of them answers (only the
  // reader of stdout going away, or the audit log, fails): the first failure
  // is the answer.
  template <typename Call>
  Status each(Call call, Status (Sink::*audit_call)()) {
    Status status = ok_status();
    for (Output& output : outputs_) keep_first_failure(status, call(output.writer));
    if (audit_log_) keep_first_failure(status, ((*audit_log_).*audit_call)());
    return status;
  }
  static void keep_first_failure(Status& first, Status next) {
    if (first && !next) first = std::move(next);
  }

  const BootToWallClock& clock_;
  JsonFormatter json_;
  TableFormatter table_;
  SyslogFramer syslog_;
  std::vector<Output> outputs_;
  std::unique_ptr<Sink> audit_log_;
  std::optional<NatsWriter> nats_;
  bool wants_json_ = false;
  bool wants_table_ = false;
  bool wants_syslog_ = false;
  std::string json_line_;  // reused: no allocation per event
  std::string table_line_;
  std::string fitted_line_;
  std::string syslog_message_;
};

Result<Output> open_output(const OutputSpec& spec) {
  Result<OutputWriter> writer = spec.path ? OutputWriter::open_file(*spec.path) : OutputWriter::open_stdout();
  if (!writer) return writer.take_error();
  const size_t width = spec.format == OutputFormat::table && !spec.path ? stdout_terminal_width() : 0;
  if (spec.format == OutputFormat::table) append_fitted(writer->buffer(), TableFormatter::header(), width);
  return Output{std::move(*writer), spec.format, width};
}

// The host name as syslog receivers file messages under; "-" (none) when it
// cannot be read.
SyslogHeader syslog_header(const Options& options) {
  char hostname[HOST_NAME_MAX + 1] = {};
  if (gethostname(hostname, sizeof(hostname) - 1) != 0) hostname[0] = '\0';
  return SyslogHeader{options.syslog_facility, hostname, static_cast<uint32_t>(getpid())};
}

}  // namespace

Result<std::unique_ptr<Sink>> make_sink(const Options& options, const BootToWallClock& clock) {
  JsonOptions json;
  json.boot_tag = options.boot_tag ? *options.boot_tag : read_boot_tag();
  json.ancestors = options.lineage == Lineage::ancestors;
  std::vector<Output> outputs;
  for (const OutputSpec& spec : options.outputs) {
    Result<Output> output = open_output(spec);
    if (!output) return output.take_error();
    outputs.push_back(std::move(*output));
  }
  for (const SyslogTarget& target : options.syslog_outputs) {
    Result<OutputWriter> writer = OutputWriter::open_syslog(target);
    if (!writer) return writer.take_error();
    outputs.push_back(Output{std::move(*writer), OutputFormat::json, 0, true});
  }
  std::optional<NatsWriter> nats;
  if (options.nats) {
    Result<NatsWriter> opened = NatsWriter::open(*options.nats, nats_run_prefix(json.boot_tag));
    if (!opened) return opened.take_error();
    nats.emplace(std::move(*opened));
  }
  std::unique_ptr<Sink> audit_log;
  if (options.audit_log) {
    AuditLogOptions audit{*options.audit_log,    options.audit_key_file,    options.audit_sync_interval_ms, json,
                          options.audit_epoch_s, audit_run_options(options)};
    // With the audit log, NATS carries its records, chain and all.
    Result<std::unique_ptr<Sink>> opened = open_audit_log(audit, clock, std::exchange(nats, std::nullopt));
    if (!opened) return opened.take_error();
    audit_log = std::move(*opened);
  }
  return std::unique_ptr<Sink>(std::make_unique<OutputsSink>(clock, json, syslog_header(options), std::move(outputs),
                                                             std::move(audit_log), std::move(nats)));
}

}  // namespace tracer
