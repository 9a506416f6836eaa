#pragma once
// What the fuzz targets share: the syscall signatures and user tracers a
// record is decoded with, properties every escaped text must have, and input
// handed over as a file (a memfd named by /proc/self/fd/N) to code that takes
// a path.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "record_builder.hpp"
#include "tracer/core/escape.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/syscalls/syscall_signature.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer::fuzz {

inline std::string_view text_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A property that does not hold is a finding: libFuzzer keeps the input.
inline void require(bool holds, const char* property, std::string_view detail = {}) {
  if (holds) return;
  std::fprintf(stderr, "property violated: %s\n%.*s\n", property, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// Valid UTF-8 throughout.
inline bool is_utf8(std::string_view text) {
  while (!text.empty()) {
    const size_t length = utf8_sequence_length(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

// No byte a terminal acts on: C0 controls, DEL, and (as UTF-8) C1 controls.
inline bool terminal_inert(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) return false;
    if (byte == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f) return false;
  }
  return true;
}

// One line of escaped text, its newline last: valid UTF-8 a terminal shows as is.
inline void require_one_safe_line(std::string_view line, const char* what) {
  require(!line.empty() && line.back() == '\n', what, line);
  line.remove_suffix(1);
  require(terminal_inert(line), what, line);
  require(is_utf8(line), what, line);
}

// The input as a file: /proc/self/fd/N names it while the object lives.
class MemoryFile {
 public:
  explicit MemoryFile(std::string_view bytes) : fd_(memfd_create("fuzz-input", MFD_CLOEXEC)) {
    require(fd_.get() >= 0, "memfd_create works");
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t wrote = write(fd_.get(), bytes.data() + done, bytes.size() - done);
      require(wrote > 0, "the memfd takes the input");
      done += static_cast<size_t>(wrote);
    }
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_.get()); }

 private:
  UniqueFd fd_;
};

// As the kernel writes events/syscalls/sys_enter_<name>/format.
inline std::string syscall_format_text(std::string_view name, const std::vector<std::string>& fields) {
  std::string text = "name: sys_enter_" + std::string(name) +
                     "\nID: 77\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                     "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n";
  int offset = 16;
  for (const std::string& field : fields)
    text += "\tfield:" + field + ";\toffset:" + std::to_string(offset += 8) + ";\tsize:8;\tsigned:0;\n";
  return text + "\nprint fmt: \"...\"\n";
}

// Signatures with every argument format: strings, socket addresses (a length
// by value and one by pointer), each kind of symbolic value, numbers, and a
// call that never returns. Other syscalls decode as arg0..arg5.
inline const SyscallSignatures& fuzz_signatures() {
  static const SyscallSignatures signatures = [] {
    const std::pair<std::string_view, std::vector<std::string>> calls[] = {
        {"openat", {"int dfd", "const char * filename", "int flags", "umode_t mode"}},
        {"connect", {"int fd", "struct sockaddr * uservaddr", "int addrlen"}},
        {"accept4", {"int fd", "struct sockaddr * upeer_sockaddr", "int * upeer_addrlen", "int flags"}},
        {"socket", {"int family", "int type", "int protocol"}},
        {"kill", {"pid_t pid", "int sig"}},
        {"clone",
         {"unsigned long clone_flags", "unsigned long newsp", "int * parent_tidptr", "int * child_tidptr",
          "unsigned long tls"}},
        {"mprotect", {"unsigned long start", "size_t len", "unsigned long prot"}},
        {"faccessat", {"int dfd", "const char * filename", "int mode"}},
        {"lseek", {"unsigned int fd", "off_t offset", "unsigned int whence"}},
        {"exit_group", {"int error_code"}},
    };
    SyscallSignatures all;
    for (const auto& [name, fields] : calls) {
      const std::optional<uint16_t> number = syscall_number(name);
      require(number.has_value(), "the fuzz signatures name syscalls of this architecture");
      Result<SyscallSignature> signature = parse_syscall_format(name, *number, syscall_format_text(name, fields));
      require(signature.ok(), "the fuzz signatures parse");
      all.add(std::move(*signature));
    }
    return all;
  }();
  return signatures;
}

// A configured tracer with every parameter type and mode, after bash_readline.
inline constexpr std::string_view kFuzzUserTracers = R"([{"table_name": "every_kind", "path": "/bin/x",
    "function_name": "f", "parameter_list": [
      {"name": "text", "type": "String", "mode": "In"},
      {"name": "small", "type": "Int8"},
      {"name": "point", "type": "ByteArray", "length": 16, "mode": "Out"},
      {"name": "count", "type": "UInt16", "mode": "Out"},
      {"name": "where", "type": "Pointer"},
      {"name": "big", "type": "Int64"},
      {"name": "EXIT_CODE", "type": "String", "mode": "Out"}]}])";

inline const UserFunctions& fuzz_user_functions() {
  static const UserFunctions functions = [] {
    Result<std::vector<UserFunction>> parsed = parse_user_functions(nlohmann::json::parse(kFuzzUserTracers));
    require(parsed.ok(), "the fuzz user tracers parse", parsed.ok() ? "" : parsed.error().message);
    return UserFunctions(std::move(*parsed));
  }();
  return functions;
}

// A valid record of each kind, named: the seeds of the decode target, and
// the events the filter target runs its argument filters on.
inline std::vector<std::pair<std::string, std::vector<std::byte>>> sample_records() {
  using namespace tracer::testing;
  std::vector<std::pair<std::string, std::vector<std::byte>>> records;
  ExecRecordSpec exec;
  exec.argv = nul_joined({"ls", "-la", "/tmp/\x1b[2J"});
  records.emplace_back("execve", build_exec_record(exec));
  ExecRecordSpec invalid;  // strings that are not valid UTF-8: their exact bytes as _b64
  invalid.argv = nul_joined({"ls", "\xe9", "caf\xc3\xa9", "\xc0\xaf\x80"});
  invalid.pathname = "/bin/\xff";
  invalid.filename = invalid.pathname;
  invalid.cwd = "/home/\xed\xa0\x80";
  records.emplace_back("execve_invalid_utf8", build_exec_record(invalid));
  ExecRecordSpec execveat;
  execveat.event_id = TRACER_EVENT_EXECVEAT;
  execveat.dirfd = 3;
  execveat.pathname = "ls";
  execveat.filename = "/dev/fd/3/ls";
  execveat.interpreter = "/bin/sh";
  records.emplace_back("execveat", build_exec_record(execveat));
  ExecRecordSpec sched;
  sched.event_id = TRACER_EVENT_SCHED_PROCESS_EXEC;
  sched.flags |= TRACER_EXEC_FILELESS | TRACER_EXEC_ARGV_TRUNCATED;
  records.emplace_back("sched_process_exec", build_exec_record(sched));
  records.emplace_back("fork", build_fork_record(TaskSpec{}, 5000, 600'000'000));
  records.emplace_back("exit", build_exit_record(TaskSpec{}, 1, 9));
  SyscallRecordSpec openat;
  openat.args = {static_cast<uint32_t>(-100), 0x7ffd0000, 0x80241, 0640};
  openat.captures[1] = "/etc/passwd";
  records.emplace_back("openat", build_syscall_record(openat));
  SyscallRecordSpec connect;
  connect.number = *syscall_number("connect");
  connect.ret = -111;
  const unsigned char inet[16] = {2, 0, 0, 80, 127, 0, 0, 1};
  connect.args = {3, 0x7ffd1000, sizeof(inet)};
  connect.captures[1].assign(reinterpret_cast<const char*>(inet), sizeof(inet));
  records.emplace_back("connect", build_syscall_record(connect));
  SyscallRecordSpec accept = connect;
  accept.number = *syscall_number("accept4");
  const char unix_address[] = "\x01\x00/run/socket";
  accept.args = {3, 0x7ffd1000, 0x7ffd2000, 0x80800};
  accept.captures[1].assign(unix_address, sizeof(unix_address) - 1);
  records.emplace_back("accept4", build_syscall_record(accept));
  SyscallRecordSpec generic;
  generic.number = *syscall_number("getpid");
  generic.ret = 4242;
  records.emplace_back("getpid", build_syscall_record(generic));
  UserFunctionRecordSpec user;
  user.args = {0x1000, uint64_t(-3), 0x2000, 0x3000, 0x4000, uint64_t(1) << 40};
  user.return_value = 0x5000;
  user.capture_len = {5, 0, 16, 2, 0, 0, 3};
  user.captures = std::string("hello") + std::string(16, 'p') + std::string("\x07\x00", 2) + "ret";
  user.read_at_return = 0x4c;
  records.emplace_back("user_function", build_user_function_record(user));
  UserFunctionRecordSpec readline;
  readline.slot = 0;
  readline.capture_len = {0, 0, 0, 0, 0, 0, 0};
  readline.capture_len[1] = 7;
  readline.captures = "ls -la\n";
  records.emplace_back("bash_readline", build_user_function_record(readline));
  records.emplace_back("mem_capture",
                       build_mem_capture_record(0x7f0000001000, 4096, 0, std::string("\xb8\x2a\0\0\0\xc3", 6),
                                                TRACER_MEM_CAPTURE_LAST | TRACER_MEM_CAPTURE_TRUNCATED));
  return records;
}

}  // namespace tracer::fuzz
