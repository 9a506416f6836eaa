#include "tracer/decode/event_table.hpp"

#include <array>

#include "tracer/core/abi.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"

namespace tracer {
namespace {

constexpr std::string_view kExecHooks =
    "tracepoint/syscalls/sys_{enter,exit}_execve[at] (raw_tp/sys_enter, tp_btf/sys_exit without tracefs), "
    "raw_tp/sched_process_exec (+ raw_tp/sched_prepare_exec where present)";

constexpr std::string_view kExecveArgs[] = {"pathname",    "argv", "argv_truncated", "filename", "exe",
                                            "interpreter", "dev",  "inode"};
constexpr std::string_view kExecveatArgs[] = {"pathname", "dirfd", "flags",       "argv", "argv_truncated",
                                              "filename", "exe",   "interpreter", "dev",  "inode"};
constexpr std::string_view kSchedProcessExecArgs[] = {"filename", "interpreter", "dev", "inode", "argv", "old_tid"};
constexpr std::string_view kBprmCheckArgs[] = {"filename", "dev", "inode", "argv"};
constexpr std::string_view kForkArgs[] = {"child_pid", "child_tid"};
constexpr std::string_view kExitArgs[] = {"exit_code", "signal"};

constexpr std::array kDefinitions{
    EventDefinition{TRACER_EVENT_EXECVE, "execve", kExecHooks, true, true, kExecveArgs},
    EventDefinition{TRACER_EVENT_EXECVEAT, "execveat", kExecHooks, true, true, kExecveatArgs},
    EventDefinition{TRACER_EVENT_SCHED_PROCESS_EXEC, "sched_process_exec", "raw_tp/sched_process_exec", false, true,
                    kSchedProcessExecArgs},
    EventDefinition{TRACER_EVENT_SECURITY_BPRM_CHECK, "security_bprm_check", "lsm/bprm_check_security", false, true,
                    kBprmCheckArgs},
    EventDefinition{TRACER_EVENT_SCHED_PROCESS_FORK, "sched_process_fork", "raw_tp/sched_process_fork", false, true,
                    kForkArgs},
    EventDefinition{TRACER_EVENT_SCHED_PROCESS_EXIT, "sched_process_exit", "raw_tp/sched_process_exit", false, true,
                    kExitArgs},
};

constexpr std::string_view kExecHashArgs[] = {"path", "file", "sha256", "sha256_source", "size", "sha256_error"};
constexpr std::string_view kExecCaptureArgs[] = {"path", "sha256", "size", "capture", "existing"};
constexpr EventDefinition kExecHash{
    kExecHashEventId, "exec_hash", "userspace: the executable read after its exec", false, true, kExecHashArgs};
constexpr EventDefinition kExecCapture{kExecCaptureEventId, "exec_capture", "userspace: --capture exec", false, true,
                                       kExecCaptureArgs};
constexpr std::string_view kWriteCaptureArgs[] = {
    "path",           "fd",      "file_offset",    "length",       "call", "dev", "inode",
    "path_truncated", "capture", "capture_offset", "capture_error"};
constexpr EventDefinition kWriteCapture{
    kWriteCaptureEventId,
    "write_capture",
    "tracepoint/syscalls/sys_{enter,exit}_{write,pwrite64,writev,pwritev,pwritev2} (--capture write)",
    false,
    true,
    kWriteCaptureArgs};
constexpr std::string_view kMemCaptureArgs[] = {"address",   "length",   "prot",         "call",      "was_writable",
                                                "anonymous", "sha256",   "size",         "truncated", "read_failed",
                                                "capture",   "existing", "capture_error"};
constexpr EventDefinition kMemCapture{kMemCaptureEventId,
                                      "mem_capture",
                                      "tracepoint/syscalls/sys_{enter,exit}_{mprotect,pkey_mprotect} (--capture mem)",
                                      false,
                                      true,
                                      kMemCaptureArgs};

}  // namespace

const EventDefinition& exec_hash_definition() { return kExecHash; }
const EventDefinition& exec_capture_definition() { return kExecCapture; }
const EventDefinition& write_capture_definition() { return kWriteCapture; }
const EventDefinition& mem_capture_definition() { return kMemCapture; }

std::span<const EventDefinition> event_definitions() { return kDefinitions; }

const EventDefinition* find_event(std::string_view name) {
  for (const EventDefinition& definition : kDefinitions)
    if (definition.name == name) return &definition;
  if (std::optional<uint16_t> number = syscall_number(name)) return syscall_event(*number);
  return nullptr;
}

const EventDefinition* event_by_id(uint16_t id) {
  // Every syscall record asks: an index by number, not a walk over the
  // catalog's several hundred entries.
  static const std::array<const EventDefinition*, TRACER_SYSCALL_NR_MAX> kSyscallEvents = [] {
    std::array<const EventDefinition*, TRACER_SYSCALL_NR_MAX> events{};
    for (uint16_t number = 0; number < TRACER_SYSCALL_NR_MAX; ++number) events[number] = syscall_event(number);
    return events;
  }();
  if (std::optional<uint16_t> number = syscall_of_event(id)) return kSyscallEvents[*number];
  for (const EventDefinition& definition : kDefinitions)
    if (definition.id == id) return &definition;
  if (id == kExecHashEventId) return &kExecHash;
  if (id == kExecCaptureEventId) return &kExecCapture;
  if (id == kWriteCaptureEventId) return &kWriteCapture;
  if (id == kMemCaptureEventId) return &kMemCapture;
  return nullptr;
}

}  // namespace tracer
