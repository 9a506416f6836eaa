#include "tracer/process/exec_id.hpp"

#include <charconv>

namespace tracer {

// On every record, twice: to_chars, no formatting library.
void append_exec_id(std::string& out, std::string_view boot_tag, uint32_t pid, uint64_t start_boot_ns,
                    uint32_t exec_gen) {
  char digits[24];
  const auto append_number = [&](auto value) {
    out += '-';
    out.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof(digits), value).ptr - digits));
  };
  out.append(boot_tag.substr(0, 16));
  append_number(pid);
  append_number(start_boot_ns);
  append_number(exec_gen);
}

}  // namespace tracer
