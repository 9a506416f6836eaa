#include "tracer/output/sinks.hpp"

#include <vector>

#include "tracer/audit/audit_log.hpp"
#include "tracer/output/format.hpp"
#include "tracer/output/output_writer.hpp"
#include "tracer/process/proc_scan.hpp"

namespace tracer {
namespace {

template <typename Formatter>
class FormattingSink final : public Sink {
 public:
  FormattingSink(OutputWriter writer, Formatter formatter)
      : writer_(std::move(writer)), formatter_(std::move(formatter)) {}

  Status write(const Event& event) override {
    formatter_.append(writer_.buffer(), event);
    return writer_.write_if_full();
  }
  Status end_of_batch() override { return writer_.end_of_batch(); }
  Status flush() override { return writer_.flush(); }
  Status reopen() override { return writer_.reopen(); }
  OutputWriter& writer() { return writer_; }

 private:
  OutputWriter writer_;
  Formatter formatter_;
};

// --output none: events are counted by the loop, nothing is written.
class DiscardingSink final : public Sink {
 public:
  Status write(const Event&) override { return ok_status(); }
  Status end_of_batch() override { return ok_status(); }
  Status flush() override { return ok_status(); }
  Status reopen() override { return ok_status(); }
};

// Several sinks fed the same events (e.g. the table and the audit log).
class FanoutSink final : public Sink {
 public:
  explicit FanoutSink(std::vector<std::unique_ptr<Sink>> sinks) : sinks_(std::move(sinks)) {}
  Status write(const Event& event) override {
    return each([&](Sink& sink) { return sink.write(event); });
  }
  Status end_of_batch() override {
    return each([](Sink& sink) { return sink.end_of_batch(); });
  }
  Status flush() override {
    return each([](Sink& sink) { return sink.flush(); });
  }
  Status reopen() override {
    return each([](Sink& sink) { return sink.reopen(); });
  }

 private:
  template <typename Call>
  Status each(Call call) {
    for (auto& sink : sinks_)
      if (Status status = call(*sink); !status) return status;
    return ok_status();
  }
  std::vector<std::unique_ptr<Sink>> sinks_;
};

Result<std::unique_ptr<Sink>> make_format_sink(const Options& options, const BootToWallClock& clock,
                                               const JsonOptions& json) {
  if (options.format == OutputFormat::none) return std::unique_ptr<Sink>(std::make_unique<DiscardingSink>());
  Result<OutputWriter> writer =
      options.output_file ? OutputWriter::open_file(*options.output_file) : OutputWriter::open_stdout();
  if (!writer) return writer.take_error();
  if (options.format == OutputFormat::json)
    return std::unique_ptr<Sink>(
        std::make_unique<FormattingSink<JsonFormatter>>(std::move(*writer), JsonFormatter(clock, json)));
  auto sink = std::make_unique<FormattingSink<TableFormatter>>(std::move(*writer), TableFormatter(clock));
  sink->writer().buffer() += TableFormatter::header();
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace

Result<std::unique_ptr<Sink>> make_sink(const Options& options, const BootToWallClock& clock) {
  JsonOptions json;
  json.boot_tag = read_boot_tag();
  json.ancestors = options.lineage == Lineage::ancestors;
  Result<std::unique_ptr<Sink>> primary = make_format_sink(options, clock, json);
  if (!primary || !options.audit_log) return primary;
  AuditLogOptions audit{*options.audit_log, options.audit_key_file, options.audit_sync_interval_ms, json};
  Result<std::unique_ptr<Sink>> audit_sink = open_audit_log(audit, clock);
  if (!audit_sink) return audit_sink.take_error();
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::move(*primary));
  sinks.push_back(std::move(*audit_sink));
  return std::unique_ptr<Sink>(std::make_unique<FanoutSink>(std::move(sinks)));
}

}  // namespace tracer
