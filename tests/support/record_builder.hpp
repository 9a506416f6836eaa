#pragma once
// Builds ring-buffer records byte by byte from the ABI header, as the kernel
// would, so that decode() can be tested without a kernel.

#include <sys/syscall.h>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/abi.hpp"

namespace tracer::testing {

// The calling task of a record.
struct TaskSpec {
  uint32_t tgid = 4242;
  uint32_t tid = 4243;
  uint32_t ppid = 4200;
  uint64_t start_boot_ns = 500'000'000;
  uint64_t parent_start_boot_ns = 400'000'000;
  uint32_t exec_gen = 3;
  uint32_t parent_exec_gen = 2;
  uint64_t container_cgroup_id = 0;
  std::string comm = "bash";
  uint64_t boot_ns = 1'000'000'123;  // the event's time
  uint32_t euid = 0;
  uint32_t auid = 1000;
  uint32_t sessionid = 3;
  uint32_t tty_dev = (136u << 20) | 3;  // pts/3
};

struct ExecRecordSpec {
  // Built by a constructor, not as an aggregate: gcc 12 at -O3 takes the
  // strings of a `build_exec_record({})` temporary for uninitialized
  // (-Wmaybe-uninitialized) when it inlines the aggregate's construction.
  ExecRecordSpec() = default;
  TaskSpec task;
  uint16_t event_id = TRACER_EVENT_EXECVE;
  int64_t ret = 0;
  uint32_t flags = TRACER_EXEC_KERNEL_VIEW;
  int32_t dirfd = -100;
  uint32_t at_flags = 0;
  uint32_t argc = 0;  // 0: count the strings in argv
  uint64_t kernel_dev = (8ull << 20) | 1;
  uint64_t inode = 1234;
  std::string pathname = "/bin/ls";
  std::string filename = "/bin/ls";
  std::string interpreter;
  std::string exe = "/usr/bin/ls";
  std::string cwd = "/home/user";
  std::string argv = std::string("ls\0-la\0", 7);  // NUL-separated as in the kernel
  std::string env;                                 // NUL-separated; option:env only
  uint8_t header_flags = 0;
  uint32_t old_tid = 4243;
  std::string host = "build-7";  // the UTS nodename the kernel read
};

std::vector<std::byte> build_exec_record(const ExecRecordSpec& spec);
std::vector<std::byte> build_fork_record(const TaskSpec& parent, uint32_t child_pid, uint64_t child_start_boot_ns,
                                         uint8_t header_flags = 0);
std::vector<std::byte> build_exit_record(const TaskSpec& task, int32_t exit_code, uint32_t signal,
                                         uint8_t header_flags = 0);
// A syscall's return: raw arguments and the bytes captured per argument.
struct SyscallRecordSpec {
  TaskSpec task;
  uint32_t number = __NR_openat;
  int64_t ret = 3;
  std::array<uint64_t, TRACER_SYSCALL_ARGS> args{};
  std::array<std::string, TRACER_SYSCALL_ARGS> captures{};
  uint8_t capture_failed = 0;
  uint8_t capture_truncated = 0;
  uint16_t flags = 0;
  uint64_t duration_ns = 1500;
};
std::vector<std::byte> build_syscall_record(const SyscallRecordSpec& spec);

// A user function's return: registers, return value, captures per parameter
// (those read at entry first, then those read at return, as the kernel sends).
struct UserFunctionRecordSpec {
  TaskSpec task;
  uint32_t slot = 1;
  uint64_t return_value = 0;
  std::array<uint64_t, TRACER_SYSCALL_ARGS> args{};
  std::array<uint16_t, TRACER_USER_PARAMS_MAX> capture_len{};
  std::string captures;  // the capture bytes, in the kernel's order
  uint8_t capture_failed = 0;
  uint8_t capture_truncated = 0;
  uint8_t pointer_null = 0;
  uint8_t read_at_return = 0;
  uint8_t flags = 0;
};
std::vector<std::byte> build_user_function_record(const UserFunctionRecordSpec& spec);

// A --capture write record as the kernel sends it (fixed part, path, data): a
// pwrite64 by pid 77 ("writer") of fd 3 at offset 4096 into inode 99 of
// device 8:3; length is data's size unless given.
std::vector<std::byte> build_write_capture_record(const std::string& path, const std::string& data, uint8_t flags = 0,
                                                  uint32_t length = 0);

// One chunk of a --capture mem record as the kernel sends it (fixed part,
// data): an mprotect(address, length, PROT_READ|PROT_EXEC) by pid 77, thread
// tid, of writable anonymous memory, the chunk's bytes from chunk_offset.
std::vector<std::byte> build_mem_capture_record(uint64_t address, uint64_t length, uint64_t chunk_offset,
                                                const std::string& data, uint8_t flags, uint32_t tid = 77);

// An executable's first run: for the event loop, never decoded into an event.
std::vector<std::byte> build_executable_record(const TaskSpec& task, uint64_t inode, uint32_t kernel_dev);

std::string nul_joined(const std::vector<std::string>& items);

}  // namespace tracer::testing
