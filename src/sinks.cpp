#include "tracer/sinks.hpp"

#include "tracer/format.hpp"
#include "tracer/output_writer.hpp"

namespace tracer {
namespace {

template <typename Formatter>
class FormattingSink final : public Sink {
 public:
  FormattingSink(OutputWriter writer, Formatter formatter)
      : writer_(std::move(writer)), formatter_(std::move(formatter)) {}

  Status write(const Event& event) override {
    formatter_.append(writer_.buffer(), event);
    return ok_status();
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

}  // namespace

Result<std::unique_ptr<Sink>> make_sink(const Options& options, const BootToWallClock& clock) {
  if (options.format == OutputFormat::none) return std::unique_ptr<Sink>(std::make_unique<DiscardingSink>());
  Result<OutputWriter> writer =
      options.output_file ? OutputWriter::open_file(*options.output_file) : OutputWriter::open_stdout();
  if (!writer) return writer.take_error();
  if (options.format == OutputFormat::json)
    return std::unique_ptr<Sink>(
        std::make_unique<FormattingSink<JsonFormatter>>(std::move(*writer), JsonFormatter(clock)));
  auto sink = std::make_unique<FormattingSink<TableFormatter>>(std::move(*writer), TableFormatter(clock));
  sink->writer().buffer() += TableFormatter::header();
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace tracer
