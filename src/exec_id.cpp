#include "tracer/exec_id.hpp"

#include <fmt/format.h>

namespace tracer {

void append_exec_id(std::string& out, std::string_view boot_tag, uint32_t pid, uint64_t start_boot_ns,
                    uint32_t exec_gen) {
  fmt::format_to(std::back_inserter(out), "{}-{}-{}-{}", boot_tag, pid, start_boot_ns, exec_gen);
}

}  // namespace tracer
