#pragma once
// --capture write's kernel record (struct tracer_write_capture_record): its
// fixed part, the file's path and the bytes written, checked against the
// record's size.

#include <cstddef>
#include <span>
#include <string_view>

#include "tracer/core/abi.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

struct WriteCaptureRecord {
  tracer_write_capture_record fixed{};
  std::string_view path;  // views into the record
  std::span<const std::byte> data;
};

Result<WriteCaptureRecord> parse_write_capture(std::span<const std::byte> record);
// "write", "pwrite64", "writev", "pwritev", "pwritev2".
std::string_view write_call_name(uint8_t call);
// The event's arguments: path, fd, file_offset, length, call, dev, inode (and
// path_truncated). The capture's own (capture, capture_offset,
// capture_error) are added when the bytes are saved.
Result<Event> decode_write_capture(std::span<const std::byte> record, Event event);

}  // namespace tracer
