#include "tracer/views/replay.hpp"

#include "tracer/output/sinks.hpp"
#include "tracer/views/json_record.hpp"
#include "tracer/views/line_reader.hpp"
#include "tracer/views/log_filter.hpp"

namespace tracer {
namespace {

constexpr uint64_t kBatchLines = 4096;  // records between end_of_batch calls

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
  const BootToWallClock clock = replay_clock();
  std::unique_ptr<Sink> sink;
  std::string boot_tag;
  Status status = for_each_record(
      options.view_input, *options.user_functions,
      [&](const Event& event, const JsonRecordReader& reader, const LineReader& input) -> Status {
        if (!sink) {
          boot_tag = reader.boot_tag();
          Result<std::unique_ptr<Sink>> opened = open_sink(options, boot_tag, clock);
          if (!opened) return opened.take_error();
          sink = std::move(*opened);
        } else if (reader.boot_tag() != boot_tag) {
          return at_line(input, runtime_error("a record of another boot (" + std::string(reader.boot_tag()) +
                                              ", the log began in " + boot_tag + "): replay one boot at a time"));
        }
        if (filter->selects(event))
          if (Status written = sink->write(event); !written) return written;
        if (input.line_number() % kBatchLines == 0) return sink->end_of_batch();
        return ok_status();
      });
  if (!status) return status;
  if (!sink) {
    Result<std::unique_ptr<Sink>> opened = open_sink(options, "", clock);
    if (!opened) return opened.take_error();
    sink = std::move(*opened);
  }
  return sink->flush();
}

}  // namespace tracer
