#pragma once
// The table of event definitions: every event the tracer can produce, by
// stable name, with the hooks that produce it.

#include <cstdint>
#include <span>
#include <string_view>

namespace tracer {

struct EventDefinition {
  uint16_t id;                                       // enum tracer_event_id
  std::string_view name;                             // stable: event= and the output use it
  std::string_view hooks;                            // what it attaches to, for --list/--check
  bool on_by_default;                                // produced when no event= filter is given
  bool implemented;                                  // produced by this build
  std::span<const std::string_view> argument_names;  // what EVENT.ARG filters may name
};

// The built-in events (exec, process lifecycle, LSM); syscalls: syscall_catalog.hpp.
std::span<const EventDefinition> event_definitions();
// Built-in events first, then syscalls by name.
const EventDefinition* find_event(std::string_view name);
const EventDefinition* event_by_id(uint16_t id);

}  // namespace tracer

namespace tracer {

// Records the tracer makes itself, after the exec they are about (same
// exec_id): the hash of an executable read after its exec record went out,
// and the index entry of a saved capture. Not kernel events: no filter names
// them, event_by_id finds them (metrics).
inline constexpr uint16_t kExecHashEventId = 900;
inline constexpr uint16_t kExecCaptureEventId = 901;
const EventDefinition& exec_hash_definition();
const EventDefinition& exec_capture_definition();
// --capture write: bytes written to a file, from the kernel's own record
// kind (not a syscall event, so no event= filter names it either).
inline constexpr uint16_t kWriteCaptureEventId = 902;  // TRACER_EVENT_WRITE_CAPTURE
const EventDefinition& write_capture_definition();
// --capture mem: memory made executable after being writable (its own
// record kind too).
inline constexpr uint16_t kMemCaptureEventId = 903;  // TRACER_EVENT_MEM_CAPTURE
const EventDefinition& mem_capture_definition();

}  // namespace tracer
