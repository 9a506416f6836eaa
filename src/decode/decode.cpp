#include "tracer/decode/decode.hpp"

#include <sys/sysmacros.h>

#include <cstring>
#include <string>

#include "tracer/core/abi.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/decode/mem_capture_decode.hpp"
#include "tracer/decode/write_capture_decode.hpp"
#include "tracer/syscalls/syscall_decode.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {
namespace {

constexpr int32_t kAtFdcwd = -100;

template <typename T>
T read_struct(std::span<const std::byte> bytes) {
  T value;
  std::memcpy(&value, bytes.data(), sizeof(T));
  return value;
}

std::string_view view_of(std::span<const std::byte> bytes, size_t offset, size_t length) {
  return {reinterpret_cast<const char*>(bytes.data()) + offset, length};
}

TaskContext task_context_of(const tracer_task_context& raw, std::span<const std::byte> record) {
  constexpr size_t comm_offset = offsetof(tracer_record_header, task) + offsetof(tracer_task_context, comm);
  TaskContext task;
  task.pid = raw.tgid;
  task.tid = raw.tid;
  task.ppid = raw.ppid;
  task.ns_pid = raw.ns_tgid;
  task.uid = raw.uid;
  task.gid = raw.gid;
  task.mntns = raw.mntns;
  task.pidns = raw.pidns;
  task.cgroup_id = raw.cgroup_id;
  task.start_boot_ns = raw.start_boot_ns;
  task.parent_start_boot_ns = raw.parent_start_boot_ns;
  task.exec_gen = raw.exec_gen;
  task.parent_exec_gen = raw.parent_exec_gen;
  task.container_cgroup_id = raw.container_cgroup_id;
  task.comm = view_of(record, comm_offset, strnlen(raw.comm, sizeof(raw.comm)));
  task.euid = raw.euid;
  task.egid = raw.egid;
  if (raw.auid != TRACER_ID_UNSET) task.auid = raw.auid;
  if (raw.sessionid != TRACER_ID_UNSET) task.sessionid = raw.sessionid;
  task.sid = raw.sid;
  task.tty_dev = raw.tty_dev;
  task.utsns = raw.utsns;
  return task;
}

// argv cut to at most max_args strings; true when something was cut.
bool cut_to_max_args(std::string_view& argv, uint32_t max_args) {
  size_t position = 0;
  for (uint32_t count = 0; count < max_args; ++count) {
    size_t end = argv.find('\0', position);
    if (end == std::string_view::npos || end + 1 == argv.size()) return false;
    position = end + 1;
  }
  if (position >= argv.size()) return false;
  argv = argv.substr(0, position);
  return true;
}

// The name the kernel builds for an exec (bprm->filename): the pathname
// itself, or /dev/fd/N[/pathname] for execveat relative to a directory fd.
bool filename_matches_pathname(std::string_view filename, std::string_view pathname, int32_t dirfd) {
  if (dirfd == kAtFdcwd || pathname.starts_with('/')) return filename == pathname;
  std::string expected = "/dev/fd/" + std::to_string(dirfd);
  if (!pathname.empty()) {
    expected += '/';
    expected += pathname;
  }
  return filename == expected;
}

void map_exec_flags(uint32_t raw, Event& event) {
  constexpr std::pair<uint32_t, EventFlag> kMapping[] = {
      {TRACER_EXEC_ARGV_TRUNCATED, EventFlag::argv_truncated},
      {TRACER_EXEC_FILELESS, EventFlag::fileless},
      {TRACER_EXEC_ENTRY_MISSING, EventFlag::entry_missing},
      {TRACER_EXEC_PATHNAME_READ_FAILED, EventFlag::pathname_read_failed},
      {TRACER_EXEC_ARGV_READ_FAILED, EventFlag::argv_read_failed},
      {TRACER_EXEC_FILENAME_READ_FAILED, EventFlag::filename_read_failed},
      {TRACER_EXEC_COMPAT, EventFlag::compat_syscall},
      {TRACER_EXEC_EXE_TRUNCATED, EventFlag::exe_truncated},
      {TRACER_EXEC_CWD_TRUNCATED, EventFlag::cwd_truncated},
      {TRACER_EXEC_ENV_TRUNCATED, EventFlag::env_truncated},
  };
  for (auto [bit, flag] : kMapping)
    if (raw & bit) event.set(flag);
}

Result<Event> decode_exec(std::span<const std::byte> record, Event event, const DecodeOptions& options) {
  if (record.size() < sizeof(tracer_exec_record))
    return runtime_error("exec record of " + std::to_string(record.size()) + " bytes is shorter than its layout");
  const auto raw = read_struct<tracer_exec_record>(record);
  const size_t strings = sizeof(tracer_exec_record);
  const size_t total = size_t{raw.pathname_len} + raw.filename_len + raw.interp_len + raw.exe_len + raw.cwd_len +
                       raw.argv_len + raw.env_len;
  if (total > record.size() - strings) return runtime_error("exec record lengths overrun the record");

  size_t offset = strings;
  const auto next_string = [&](size_t length) {
    std::string_view view = view_of(record, offset, length);
    offset += length;
    return view;
  };
  const std::string_view filename = next_string(raw.filename_len);
  const std::string_view interpreter = next_string(raw.interp_len);
  const std::string_view exe = next_string(raw.exe_len);
  const std::string_view cwd = next_string(raw.cwd_len);
  std::string_view argv = next_string(raw.argv_len);
  const std::string_view env = next_string(raw.env_len);
  const std::string_view pathname = next_string(raw.pathname_len);

  map_exec_flags(raw.flags, event);
  if (cut_to_max_args(argv, options.max_args)) event.set(EventFlag::argv_truncated);
  if (raw.argc > options.max_args && (raw.flags & TRACER_EXEC_KERNEL_VIEW)) event.set(EventFlag::argv_truncated);
  if (raw.cwd_len > 0 || (raw.flags & TRACER_EXEC_CWD_TRUNCATED)) event.cwd = cwd;
  constexpr size_t host_offset = offsetof(tracer_exec_record, host);
  event.exec_host = view_of(record, host_offset, strnlen(raw.host, sizeof(raw.host)));

  const uint16_t id = event.definition->id;
  const bool syscall_record = id == TRACER_EVENT_EXECVE || id == TRACER_EVENT_EXECVEAT;
  const bool entry_seen = syscall_record && !(raw.flags & TRACER_EXEC_ENTRY_MISSING);
  const bool kernel_view = raw.flags & TRACER_EXEC_KERNEL_VIEW;
  if (syscall_record) event.ret = raw.ret;
  if (entry_seen) event.args.add("pathname", pathname);
  if (id == TRACER_EVENT_EXECVEAT) {
    event.args.add("dirfd", SymbolicValue{raw.dirfd, Symbols::fd});
    event.args.add("flags", SymbolicValue{raw.at_flags, Symbols::at_flags});
  }
  event.args.add("argv", StringList{argv});
  event.args.add("argv_truncated", event.has(EventFlag::argv_truncated));
  // A successful exec's: bprm_check reads the image, not the new mm.
  if (options.env && kernel_view && id != TRACER_EVENT_SECURITY_BPRM_CHECK)
    event.raw_env = RawEnvironment{env, bool(raw.flags & TRACER_EXEC_ENV_TRUNCATED)};
  if (kernel_view) {
    event.args.add("filename", filename);
    if (!exe.empty()) event.args.add("exe", exe);
    if (!interpreter.empty()) event.args.add("interpreter", interpreter);
    event.args.add("dev", user_dev_from_kernel(raw.dev));
    event.args.add("inode", uint64_t{raw.inode});
    if (entry_seen &&
        (event.has(EventFlag::pathname_read_failed) || !filename_matches_pathname(filename, pathname, raw.dirfd)))
      event.set(EventFlag::path_mismatch);
  }
  if (id == TRACER_EVENT_SCHED_PROCESS_EXEC) event.args.add("old_tid", uint64_t{raw.old_tid});
  return event;
}

template <typename Record>
Result<Record> fixed_record(std::span<const std::byte> record, const char* what) {
  if (record.size() < sizeof(Record))
    return runtime_error(std::string(what) + " record of " + std::to_string(record.size()) + " bytes is too short");
  return read_struct<Record>(record);
}

Result<Event> decode_fork(std::span<const std::byte> record, Event event) {
  Result<tracer_fork_record> raw = fixed_record<tracer_fork_record>(record, "fork");
  if (!raw) return raw.take_error();
  event.args.add("child_pid", uint64_t{raw->child_pid});
  event.args.add("child_tid", uint64_t{raw->child_tid});
  event.child_start_boot_ns = raw->child_start_boot_ns;
  return event;
}

Result<Event> decode_exit(std::span<const std::byte> record, Event event) {
  Result<tracer_exit_record> raw = fixed_record<tracer_exit_record>(record, "exit");
  if (!raw) return raw.take_error();
  event.args.add("exit_code", int64_t{raw->exit_code});
  event.args.add("signal", uint64_t{raw->signal});
  return event;
}

}  // namespace

uint64_t user_dev_from_kernel(uint64_t kernel_dev) {
  const auto major = static_cast<unsigned>(kernel_dev >> 20);
  const auto minor = static_cast<unsigned>(kernel_dev & 0xfffff);
  return makedev(major, minor);
}

Result<Event> decode(std::span<const std::byte> record, const DecodeOptions& options) {
  if (record.size() < sizeof(tracer_record_header))
    return runtime_error("record of " + std::to_string(record.size()) + " bytes is shorter than its header");
  const auto header = read_struct<tracer_record_header>(record);
  if (header.size < sizeof(tracer_record_header) || header.size > record.size())
    return runtime_error("record size field " + std::to_string(header.size) + " does not fit the record");
  record = record.first(header.size);

  Event event;
  event.definition = event_by_id(header.event_id);
  const UserFunction* user_tracer =
      options.user_functions ? options.user_functions->function_of_event(header.event_id) : nullptr;
  if (user_tracer) event.definition = options.user_functions->by_id(header.event_id);
  if (!event.definition) return runtime_error("unknown event id " + std::to_string(header.event_id));
  event.boot_ns = header.boot_ns;
  event.task = task_context_of(header.task, record);
  event.context_only = header.flags & TRACER_HEADER_CONTEXT_ONLY;

  switch (header.kind) {
    case TRACER_RECORD_EXEC:
      if (header.event_id != TRACER_EVENT_EXECVE && header.event_id != TRACER_EVENT_EXECVEAT &&
          header.event_id != TRACER_EVENT_SCHED_PROCESS_EXEC && header.event_id != TRACER_EVENT_SECURITY_BPRM_CHECK)
        return runtime_error("exec record with event id " + std::to_string(header.event_id));
      return decode_exec(record, event, options);
    case TRACER_RECORD_PROCESS_FORK:
      if (header.event_id != TRACER_EVENT_SCHED_PROCESS_FORK) return runtime_error("fork record with another event id");
      return decode_fork(record, event);
    case TRACER_RECORD_PROCESS_EXIT:
      if (header.event_id != TRACER_EVENT_SCHED_PROCESS_EXIT) return runtime_error("exit record with another event id");
      return decode_exit(record, event);
    case TRACER_RECORD_SYSCALL: return decode_syscall(record, event, options.syscalls);
    case TRACER_RECORD_USER_FUNCTION:
      if (!user_tracer) return runtime_error("user function record with event id " + std::to_string(header.event_id));
      return decode_user_function(record, event, *user_tracer);
    case TRACER_RECORD_WRITE_CAPTURE:
      if (header.event_id != TRACER_EVENT_WRITE_CAPTURE)
        return runtime_error("write capture record with another event id");
      return decode_write_capture(record, event);
    case TRACER_RECORD_MEM_CAPTURE:
      if (header.event_id != TRACER_EVENT_MEM_CAPTURE) return runtime_error("mem capture record with another event id");
      return decode_mem_capture(record, event);
    default: return runtime_error("unknown record kind " + std::to_string(header.kind));
  }
}

}  // namespace tracer
