#pragma once
// Builds ring-buffer records byte by byte from the ABI header, as the kernel
// would, so that decode() can be tested without a kernel.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/abi.hpp"

namespace tracer::testing {

struct ExecRecordSpec {
  uint16_t event_id = TRACER_EVENT_EXECVE;
  int64_t ret = 0;
  uint32_t flags = TRACER_EXEC_KERNEL_VIEW;
  int32_t dirfd = -100;
  uint32_t at_flags = 0;
  uint32_t argc = 0;  // 0: count the strings in argv
  uint64_t kernel_dev = (8ull << 20) | 1;
  uint64_t inode = 1234;
  std::string comm = "bash";
  std::string pathname = "/bin/ls";
  std::string filename = "/bin/ls";
  std::string interpreter;
  std::string exe = "/usr/bin/ls";
  std::string cwd = "/home/user";
  std::string argv = std::string("ls\0-la\0", 7);  // NUL-separated as in the kernel
  uint8_t header_flags = 0;
  uint32_t old_tid = 4243;
};

std::vector<std::byte> build_exec_record(const ExecRecordSpec& spec);
std::string nul_joined(const std::vector<std::string>& items);

}  // namespace tracer::testing
