#include "tracer/views/replay.hpp"

#include "tracer/output/sinks.hpp"
#include "tracer/views/json_record.hpp"
#include "tracer/views/line_reader.hpp"
#include "tracer/views/log_filter.hpp"

namespace tracer {
namespace {

constexpr uint64_t kBatchLines = 4096;  // records between end_of_batch calls

Error at_line(const LineReader& input, const Error& error) {
  return Error{input.name() + ":" + std::to_string(input.line_number()) + ": " + error.message, error.kind};
}

// The outputs write exec_ids with the log's boot tag, not this boot's.
Result<std::unique_ptr<Sink>> open_sink(const Options& options, std::string_view boot_tag,
                                        const BootToWallClock& clock) {
  Options with_tag = options;
  if (!boot_tag.empty()) with_tag.boot_tag = std::string(boot_tag);
  return make_sink(with_tag, clock);
}

}  // namespace

Status run_replay(const Options& options) {
  Result<LogFilter> filter = LogFilter::make(options.filters);
  if (!filter) return filter.take_error();
  Result<LineReader> input = LineReader::open(options.view_input);
  if (!input) return input.take_error();
  const BootToWallClock clock = replay_clock();
  JsonRecordReader reader(*options.user_functions);
  std::unique_ptr<Sink> sink;
  std::string boot_tag;
  std::string_view line;
  while (true) {
    Result<bool> more = input->next(line);
    if (!more) return more.take_error();
    if (!*more) break;
    if (line.empty()) continue;
    Result<const Event*> event = reader.read(line);
    if (!event) return at_line(*input, event.error());
    if (!sink) {
      boot_tag = reader.boot_tag();
      Result<std::unique_ptr<Sink>> opened = open_sink(options, boot_tag, clock);
      if (!opened) return opened.take_error();
      sink = std::move(*opened);
    } else if (reader.boot_tag() != boot_tag) {
      return at_line(*input, runtime_error("a record of another boot (" + std::string(reader.boot_tag()) +
                                           ", the log began in " + boot_tag + "): replay one boot at a time"));
    }
    if (filter->selects(**event))
      if (Status status = sink->write(**event); !status) return status;
    if (input->line_number() % kBatchLines == 0)
      if (Status status = sink->end_of_batch(); !status) return status;
  }
  if (!sink) {
    Result<std::unique_ptr<Sink>> opened = open_sink(options, "", clock);
    if (!opened) return opened.take_error();
    sink = std::move(*opened);
  }
  return sink->flush();
}

}  // namespace tracer
