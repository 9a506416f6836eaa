#pragma once
// What a syscall's arguments are called and how to show them. Names and C
// types come from the kernel itself (the syscall tracepoint's format file in
// tracefs, read at run time); how each is decoded (a path to read from user
// memory, open flags, a socket address, ...) follows from its type and name.
// A few kernel names are renamed to the man pages' (filename → pathname,
// uservaddr → addr) so that filters read as users expect.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/abi.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

enum class ArgFormat : uint8_t {
  signed_number,
  unsigned_number,
  pointer,
  string,    // read from user memory at return
  sockaddr,  // read from user memory at return, length from another argument
  symbolic,  // a number shown by name (ArgSymbols)
};

struct SyscallArg {
  std::string name;  // as filters and JSON name it
  std::string type;  // the kernel's C type, e.g. "const char *"
  ArgFormat format = ArgFormat::unsigned_number;
  Symbols symbols = Symbols::fd;   // for ArgFormat::symbolic
  bool is_32bit = false;           // int-sized: only the low 32 bits count
  bool is_signed = false;          // a signed C type
  uint8_t length_arg = 0;          // sockaddr: the argument holding its length
  bool length_is_pointer = false;  // sockaddr: the length is an int the call writes (accept)
};

struct SyscallSignature {
  uint16_t number = 0;
  std::string name;
  std::vector<SyscallArg> args;     // at most TRACER_SYSCALL_ARGS
  bool no_return = false;           // exit, exit_group: reported at entry
  bool from_kernel_format = false;  // false: generic arg0..arg5 (no tracefs)

  const SyscallArg* find(std::string_view arg_name) const;
  // The names argument filters may use: the arguments, and the fields of a
  // socket address (family, address, port, path).
  std::vector<std::string> filterable_names() const;
  tracer_syscall_capture_spec capture_spec() const;
};

// The signatures of the selected syscalls, by number.
class SyscallSignatures {
 public:
  void add(SyscallSignature signature);
  const SyscallSignature* find(uint16_t number) const;
  const std::vector<SyscallSignature>& all() const { return signatures_; }

 private:
  std::vector<SyscallSignature> signatures_;
  std::vector<int16_t> index_ = std::vector<int16_t>(TRACER_SYSCALL_NR_MAX, -1);
};

// From the text of events/syscalls/sys_enter_<name>/format.
Result<SyscallSignature> parse_syscall_format(std::string_view name, uint16_t number, std::string_view format_text);
// Six unsigned arguments arg0..arg5: where the format cannot be read.
SyscallSignature generic_syscall_signature(std::string_view name, uint16_t number);
// The tracepoint id in a format file's "ID: N" line.
std::optional<uint64_t> format_tracepoint_id(std::string_view format_text);

}  // namespace tracer
