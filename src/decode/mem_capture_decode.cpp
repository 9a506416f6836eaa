#include "tracer/decode/mem_capture_decode.hpp"

#include <cstring>
#include <string>

#include "tracer/decode/event_table.hpp"

namespace tracer {

static_assert(kMemCaptureEventId == TRACER_EVENT_MEM_CAPTURE);

Result<MemCaptureRecord> parse_mem_capture(std::span<const std::byte> record) {
  MemCaptureRecord out;
  if (record.size() < sizeof(out.fixed))
    return runtime_error("mem capture record of " + std::to_string(record.size()) + " bytes is too short");
  std::memcpy(&out.fixed, record.data(), sizeof(out.fixed));
  if (out.fixed.data_len > record.size() - sizeof(out.fixed) || out.fixed.data_len > TRACER_MEM_CAPTURE_CHUNK)
    return runtime_error("mem capture record's data overruns the record");
  out.data = record.subspan(sizeof(out.fixed), out.fixed.data_len);
  return out;
}

std::string_view mem_call_name(uint8_t call) {
  constexpr std::string_view kNames[] = {"mprotect", "pkey_mprotect"};
  static_assert(std::size(kNames) == TRACER_MEM_CALL_PKEY_MPROTECT + 1);
  return call < std::size(kNames) ? kNames[call] : std::string_view("unknown");
}

Result<Event> decode_mem_capture(std::span<const std::byte> record, Event event) {
  Result<MemCaptureRecord> parsed = parse_mem_capture(record);
  if (!parsed) return parsed.take_error();
  const tracer_mem_capture_record& fixed = parsed->fixed;
  event.ret = fixed.ret;
  event.args.add("address", SymbolicValue{static_cast<int64_t>(fixed.address), Symbols::address});
  event.args.add("length", uint64_t{fixed.length});
  event.args.add("prot", SymbolicValue{fixed.prot, Symbols::memory_protection});
  event.args.add("call", mem_call_name(fixed.call));
  event.args.add("was_writable", (fixed.flags & TRACER_MEM_CAPTURE_WAS_WRITABLE) != 0);
  event.args.add("anonymous", (fixed.flags & TRACER_MEM_CAPTURE_ANONYMOUS) != 0);
  return event;
}

}  // namespace tracer
