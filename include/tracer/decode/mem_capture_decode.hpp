#pragma once
// --capture mem's kernel record (struct tracer_mem_capture_record): its fixed
// part and one chunk of the region's bytes, checked against the record's size.

#include <cstddef>
#include <span>
#include <string_view>

#include "tracer/core/abi.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

struct MemCaptureRecord {
  tracer_mem_capture_record fixed{};
  std::span<const std::byte> data;  // a view into the record
};

Result<MemCaptureRecord> parse_mem_capture(std::span<const std::byte> record);
// "mprotect", "pkey_mprotect".
std::string_view mem_call_name(uint8_t call);
// The event's arguments from the record: address, length, prot, call,
// was_writable, anonymous. The capture's own (sha256, size, truncated,
// read_failed, capture, existing, capture_error) are added when the call's
// chunks are joined and saved.
Result<Event> decode_mem_capture(std::span<const std::byte> record, Event event);

}  // namespace tracer
