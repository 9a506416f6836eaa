#include "tracer/decode/write_capture_decode.hpp"

#include <cstring>
#include <string>

#include "tracer/decode/decode.hpp"
#include "tracer/decode/event_table.hpp"

namespace tracer {

static_assert(kWriteCaptureEventId == TRACER_EVENT_WRITE_CAPTURE);

Result<WriteCaptureRecord> parse_write_capture(std::span<const std::byte> record) {
  WriteCaptureRecord out;
  if (record.size() < sizeof(out.fixed))
    return runtime_error("write capture record of " + std::to_string(record.size()) + " bytes is too short");
  std::memcpy(&out.fixed, record.data(), sizeof(out.fixed));
  const size_t rest = record.size() - sizeof(out.fixed);
  if (size_t{out.fixed.path_len} + out.fixed.data_len > rest)
    return runtime_error("write capture record lengths overrun the record");
  out.path = {reinterpret_cast<const char*>(record.data()) + sizeof(out.fixed), out.fixed.path_len};
  out.data = record.subspan(sizeof(out.fixed) + out.fixed.path_len, out.fixed.data_len);
  return out;
}

std::string_view write_call_name(uint8_t call) {
  constexpr std::string_view kNames[] = {"write", "pwrite64", "writev", "pwritev", "pwritev2"};
  static_assert(std::size(kNames) == TRACER_WRITE_CALL_PWRITEV2 + 1);
  return call < std::size(kNames) ? kNames[call] : std::string_view("unknown");
}

Result<Event> decode_write_capture(std::span<const std::byte> record, Event event) {
  Result<WriteCaptureRecord> parsed = parse_write_capture(record);
  if (!parsed) return parsed.take_error();
  const tracer_write_capture_record& fixed = parsed->fixed;
  event.ret = fixed.ret;
  event.args.add("path", parsed->path);
  event.args.add("fd", SymbolicValue{fixed.fd, Symbols::fd});
  event.args.add("file_offset", uint64_t{fixed.offset});
  event.args.add("length", uint64_t{fixed.length});
  event.args.add("call", write_call_name(fixed.call));
  event.args.add("dev", user_dev_from_kernel(fixed.dev));
  event.args.add("inode", uint64_t{fixed.inode});
  if (fixed.flags & TRACER_WRITE_CAPTURE_PATH_TRUNCATED) event.args.add("path_truncated", true);
  return event;
}

}  // namespace tracer
