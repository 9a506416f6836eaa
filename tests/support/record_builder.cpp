#include "record_builder.hpp"

#include <algorithm>
#include <cstring>

namespace tracer::testing {

std::vector<std::byte> build_exec_record(const ExecRecordSpec& spec) {
  tracer_exec_record record{};
  record.header.kind = TRACER_RECORD_EXEC;
  record.header.event_id = spec.event_id;
  record.header.flags = spec.header_flags;
  record.header.boot_ns = 1'000'000'123;
  record.header.task.tgid = 4242;
  record.header.task.tid = 4243;
  record.header.task.ppid = 4200;
  record.header.task.ns_tgid = 7;
  record.header.task.uid = 1000;
  record.header.task.gid = 1001;
  record.header.task.mntns = 4026531841;
  record.header.task.pidns = 4026531836;
  record.header.task.cgroup_id = 99;
  record.header.task.start_boot_ns = 500'000'000;
  record.header.task.parent_start_boot_ns = 400'000'000;
  record.header.task.exec_gen = 3;
  record.header.task.parent_exec_gen = 2;
  record.old_tid = spec.old_tid;
  std::memcpy(record.header.task.comm, spec.comm.data(), std::min(spec.comm.size(), sizeof(record.header.task.comm)));
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
  const std::string strings = spec.filename + spec.interpreter + spec.exe + spec.cwd + spec.argv + spec.pathname;
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

}  // namespace tracer::testing
