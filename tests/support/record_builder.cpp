#include "record_builder.hpp"

#include <algorithm>
#include <cstring>

namespace tracer::testing {

namespace {

void fill_header(tracer_record_header& header, uint8_t kind, uint16_t event_id, uint8_t flags, const TaskSpec& task) {
  header.kind = kind;
  header.event_id = event_id;
  header.flags = flags;
  header.boot_ns = task.boot_ns;
  header.task.tgid = task.tgid;
  header.task.tid = task.tid;
  header.task.ppid = task.ppid;
  header.task.ns_tgid = 7;
  header.task.uid = 1000;
  header.task.gid = 1001;
  header.task.mntns = 4026531841;
  header.task.pidns = 4026531836;
  header.task.cgroup_id = 99;
  header.task.start_boot_ns = task.start_boot_ns;
  header.task.parent_start_boot_ns = task.parent_start_boot_ns;
  header.task.exec_gen = task.exec_gen;
  header.task.parent_exec_gen = task.parent_exec_gen;
  header.task.container_cgroup_id = task.container_cgroup_id;
  header.task.euid = task.euid;
  header.task.egid = 1001;
  header.task.auid = task.auid;
  header.task.sessionid = task.sessionid;
  header.task.sid = 4100;
  header.task.tty_dev = task.tty_dev;
  header.task.utsns = 4026531838;
  std::memcpy(header.task.comm, task.comm.data(), std::min(task.comm.size(), sizeof(header.task.comm)));
}

template <typename Record>
std::vector<std::byte> bytes_of(const Record& record) {
  std::vector<std::byte> bytes(sizeof(record));
  std::memcpy(bytes.data(), &record, sizeof(record));
  return bytes;
}

}  // namespace

std::vector<std::byte> build_fork_record(const TaskSpec& parent, uint32_t child_pid, uint64_t child_start_boot_ns,
                                         uint8_t header_flags) {
  tracer_fork_record record{};
  fill_header(record.header, TRACER_RECORD_PROCESS_FORK, TRACER_EVENT_SCHED_PROCESS_FORK, header_flags, parent);
  record.header.size = sizeof(record);
  record.child_pid = child_pid;
  record.child_tid = child_pid;
  record.child_start_boot_ns = child_start_boot_ns;
  return bytes_of(record);
}

std::vector<std::byte> build_exit_record(const TaskSpec& task, int32_t exit_code, uint32_t signal,
                                         uint8_t header_flags) {
  tracer_exit_record record{};
  fill_header(record.header, TRACER_RECORD_PROCESS_EXIT, TRACER_EVENT_SCHED_PROCESS_EXIT, header_flags, task);
  record.header.size = sizeof(record);
  record.exit_code = exit_code;
  record.signal = signal;
  return bytes_of(record);
}

std::vector<std::byte> build_executable_record(const TaskSpec& task, uint64_t inode, uint32_t kernel_dev) {
  tracer_executable_record record{};
  fill_header(record.header, TRACER_RECORD_EXECUTABLE, 0, 0, task);
  record.header.size = sizeof(record);
  record.inode = inode;
  record.dev = kernel_dev;
  return bytes_of(record);
}

std::vector<std::byte> build_exec_record(const ExecRecordSpec& spec) {
  tracer_exec_record record{};
  fill_header(record.header, TRACER_RECORD_EXEC, spec.event_id, spec.header_flags, spec.task);
  record.old_tid = spec.old_tid;
  record.ret = spec.ret;
  record.dirfd = spec.dirfd;
  record.at_flags = spec.at_flags;
  record.dev = spec.kernel_dev;
  record.inode = spec.inode;
  record.flags = spec.flags;
  record.argc = spec.argc ? spec.argc : static_cast<uint32_t>(std::count(spec.argv.begin(), spec.argv.end(), '\0'));
  record.pathname_len = static_cast<uint16_t>(spec.pathname.size());
  record.filename_len = static_cast<uint16_t>(spec.filename.size());
  record.interp_len = static_cast<uint16_t>(spec.interpreter.size());
  record.exe_len = static_cast<uint16_t>(spec.exe.size());
  record.cwd_len = static_cast<uint16_t>(spec.cwd.size());
  record.argv_len = static_cast<uint32_t>(spec.argv.size());
  record.env_len = static_cast<uint32_t>(spec.env.size());
  std::memcpy(record.host, spec.host.data(), std::min(spec.host.size(), sizeof(record.host) - 1));
  const std::string strings =
      spec.filename + spec.interpreter + spec.exe + spec.cwd + spec.argv + spec.env + spec.pathname;
  record.header.size = static_cast<uint32_t>(sizeof(record) + strings.size());

  std::vector<std::byte> bytes(record.header.size);
  std::memcpy(bytes.data(), &record, sizeof(record));
  std::memcpy(bytes.data() + sizeof(record), strings.data(), strings.size());
  return bytes;
}

std::string nul_joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += item;
    out += '\0';
  }
  return out;
}

std::vector<std::byte> build_mem_capture_record(uint64_t address, uint64_t length, uint64_t chunk_offset,
                                                const std::string& data, uint8_t flags, uint32_t tid) {
  tracer_mem_capture_record fixed{};
  fixed.header.kind = TRACER_RECORD_MEM_CAPTURE;
  fixed.header.event_id = TRACER_EVENT_MEM_CAPTURE;
  fixed.header.size = static_cast<uint32_t>(sizeof(fixed) + data.size());
  fixed.header.task.tgid = 77;
  fixed.header.task.tid = tid;
  std::memcpy(fixed.header.task.comm, "unpacker", 9);
  fixed.address = address;
  fixed.length = length;
  fixed.chunk_offset = chunk_offset;
  fixed.prot = 0x5;  // PROT_READ|PROT_EXEC
  fixed.data_len = static_cast<uint32_t>(data.size());
  fixed.call = TRACER_MEM_CALL_MPROTECT;
  fixed.flags = flags | TRACER_MEM_CAPTURE_WAS_WRITABLE | TRACER_MEM_CAPTURE_ANONYMOUS;
  std::vector<std::byte> record(fixed.header.size);
  std::memcpy(record.data(), &fixed, sizeof(fixed));
  std::memcpy(record.data() + sizeof(fixed), data.data(), data.size());
  return record;
}

}  // namespace tracer::testing

namespace tracer::testing {

std::vector<std::byte> build_syscall_record(const SyscallRecordSpec& spec) {
  tracer_syscall_record record{};
  fill_header(record.header, TRACER_RECORD_SYSCALL, static_cast<uint16_t>(TRACER_EVENT_SYSCALL_BASE + spec.number), 0,
              spec.task);
  record.ret = spec.ret;
  record.nr = spec.number;
  record.flags = spec.flags;
  record.enter_boot_ns = spec.task.boot_ns - spec.duration_ns;
  record.capture_failed = spec.capture_failed;
  record.capture_truncated = spec.capture_truncated;
  std::string captures;
  for (size_t i = 0; i < TRACER_SYSCALL_ARGS; ++i) {
    record.args[i] = spec.args[i];
    record.capture_len[i] = static_cast<uint16_t>(spec.captures[i].size());
    captures += spec.captures[i];
  }
  record.header.size = static_cast<uint32_t>(sizeof(record) + captures.size());
  std::vector<std::byte> bytes = bytes_of(record);
  for (char c : captures) bytes.push_back(static_cast<std::byte>(c));
  return bytes;
}

std::vector<std::byte> build_user_function_record(const UserFunctionRecordSpec& spec) {
  tracer_user_function_record record{};
  fill_header(record.header, TRACER_RECORD_USER_FUNCTION,
              static_cast<uint16_t>(TRACER_EVENT_USER_FUNCTION_BASE + spec.slot), 0, spec.task);
  record.return_value = spec.return_value;
  for (size_t i = 0; i < TRACER_SYSCALL_ARGS; ++i) record.args[i] = spec.args[i];
  record.enter_boot_ns = spec.task.boot_ns - 1000;
  record.slot = spec.slot;
  for (size_t i = 0; i < TRACER_USER_PARAMS_MAX; ++i) record.capture_len[i] = spec.capture_len[i];
  record.capture_failed = spec.capture_failed;
  record.capture_truncated = spec.capture_truncated;
  record.pointer_null = spec.pointer_null;
  record.read_at_return = spec.read_at_return;
  record.flags = spec.flags;
  record.exe_inode = 77;
  record.exe_dev = 8;
  record.header.size = static_cast<uint32_t>(sizeof(record) + spec.captures.size());
  std::vector<std::byte> bytes(sizeof(record) + spec.captures.size());
  std::memcpy(bytes.data(), &record, sizeof(record));
  std::memcpy(bytes.data() + sizeof(record), spec.captures.data(), spec.captures.size());
  return bytes;
}

std::vector<std::byte> build_write_capture_record(const std::string& path, const std::string& data, uint8_t flags,
                                                  uint32_t length) {
  tracer_write_capture_record fixed{};
  fixed.header.kind = TRACER_RECORD_WRITE_CAPTURE;
  fixed.header.event_id = TRACER_EVENT_WRITE_CAPTURE;
  fixed.header.size = static_cast<uint32_t>(sizeof(fixed) + path.size() + data.size());
  fixed.header.task.tgid = 77;
  std::memcpy(fixed.header.task.comm, "writer", 7);
  fixed.offset = 4096;
  fixed.dev = (8ull << 20) | 3;
  fixed.inode = 99;
  fixed.ret = 5;
  fixed.fd = 3;
  fixed.length = length ? length : static_cast<uint32_t>(data.size());
  fixed.data_len = static_cast<uint32_t>(data.size());
  fixed.path_len = static_cast<uint16_t>(path.size());
  fixed.call = TRACER_WRITE_CALL_PWRITE64;
  fixed.flags = flags;
  std::vector<std::byte> record(fixed.header.size);
  std::memcpy(record.data(), &fixed, sizeof(fixed));
  std::memcpy(record.data() + sizeof(fixed), path.data(), path.size());
  std::memcpy(record.data() + sizeof(fixed) + path.size(), data.data(), data.size());
  return record;
}

}  // namespace tracer::testing
