#pragma once
// Controlling terminals: the kernel reports a tty as its dev_t (major << 20 |
// minor, four bytes per record, no string read); people name it "pts/3".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tracer {

// The name of a tty the kernel numbers alone: "pts/N", "ttyN", "ttySN";
// none for other drivers (the runtime asks sysfs, see enrich.hpp).
std::optional<std::string> well_known_tty_name(uint32_t kernel_dev);

// "MAJ:MIN": a tty no name is known for.
std::string numbered_tty_name(uint32_t kernel_dev);

// The kernel dev_t of a tty named as above ("pts/3", "tty1", "ttyS0",
// "4:1"); 0 for "none". Other names: none.
std::optional<uint32_t> tty_dev_of_name(std::string_view name);

}  // namespace tracer
