#pragma once
// The running architecture's syscalls by name and number (generated at build
// time from the kernel headers), the named groups of them (@fs, @net, ...),
// and their event definitions: every syscall is an event, id
// TRACER_EVENT_SYSCALL_BASE + number.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/decode/event_table.hpp"

namespace tracer {

struct SyscallName {
  std::string_view name;
  uint16_t number;
};

// Every 64-bit syscall this build knows, by number.
std::span<const SyscallName> syscall_names();
std::optional<uint16_t> syscall_number(std::string_view name);
// The name the kernel gives the syscall's tracepoints (sys_enter_NAME), where
// its SYSCALL_DEFINE is not the libc name: stat is newstat, sendfile is
// sendfile64, umount2 is umount, ...
std::string_view syscall_tracepoint_name(std::string_view name);
const EventDefinition* syscall_event(uint16_t number);
// The syscall behind an event id, if it is a syscall event.
std::optional<uint16_t> syscall_of_event(uint16_t event_id);

struct SyscallGroup {
  std::string_view name;  // "@fs"
  std::string_view description;
  std::span<const std::string_view> members;  // names; those this architecture lacks are skipped
};
std::span<const SyscallGroup> syscall_groups();
// The numbers of a group's syscalls that exist here; nothing for an unknown group.
std::optional<std::vector<uint16_t>> syscall_group_numbers(std::string_view group);

// Up to `count` event names (built-in events, syscalls, groups) closest to a
// misspelt one, closest first.
std::vector<std::string> closest_event_names(std::string_view unknown, size_t count);

}  // namespace tracer
