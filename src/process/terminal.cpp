#include "tracer/process/terminal.hpp"

#include <charconv>

namespace tracer {
namespace {

// Fixed by the kernel's device list (Documentation/admin-guide/devices.txt).
constexpr uint32_t kTtyMajor = 4;  // tty0..tty63 virtual consoles, ttyS0.. serial at 64
constexpr uint32_t kSerialMinorBase = 64;
constexpr uint32_t kPtsMajor = 136;  // UNIX98 pty slaves: one major, 20-bit minors
constexpr uint32_t kMinorBits = 20;
constexpr uint32_t kMinorMask = (1u << kMinorBits) - 1;

uint32_t kernel_dev_of(uint32_t major, uint32_t minor) { return major << kMinorBits | minor; }

std::optional<uint32_t> number_after(std::string_view text, std::string_view prefix) {
  if (!text.starts_with(prefix) || text.size() == prefix.size()) return std::nullopt;
  text.remove_prefix(prefix.size());
  uint32_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> well_known_tty_name(uint32_t kernel_dev) {
  const uint32_t major = kernel_dev >> kMinorBits;
  const uint32_t minor = kernel_dev & kMinorMask;
  if (major == kPtsMajor) return "pts/" + std::to_string(minor);
  if (major == kTtyMajor && minor < kSerialMinorBase) return "tty" + std::to_string(minor);
  if (major == kTtyMajor && minor < 256) return "ttyS" + std::to_string(minor - kSerialMinorBase);
  return std::nullopt;
}

std::string numbered_tty_name(uint32_t kernel_dev) {
  return std::to_string(kernel_dev >> kMinorBits) + ":" + std::to_string(kernel_dev & kMinorMask);
}

std::optional<uint32_t> tty_dev_of_name(std::string_view name) {
  if (name == "none") return 0;
  if (auto pts = number_after(name, "pts/"); pts && *pts <= kMinorMask) return kernel_dev_of(kPtsMajor, *pts);
  if (auto serial = number_after(name, "ttyS"); serial && *serial < 256 - kSerialMinorBase)
    return kernel_dev_of(kTtyMajor, kSerialMinorBase + *serial);
  if (auto console = number_after(name, "tty"); console && *console < kSerialMinorBase)
    return kernel_dev_of(kTtyMajor, *console);
  const size_t colon = name.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  uint32_t major = 0;
  uint32_t minor = 0;
  const char* begin = name.data();
  const char* end = name.data() + name.size();
  const auto [major_end, major_error] = std::from_chars(begin, begin + colon, major);
  const auto [minor_end, minor_error] = std::from_chars(begin + colon + 1, end, minor);
  if (major_error != std::errc() || major_end != begin + colon || minor_error != std::errc() || minor_end != end ||
      colon == 0 || major >= (1u << 12) || minor > kMinorMask || (major == 0 && minor == 0))
    return std::nullopt;
  return kernel_dev_of(major, minor);
}

}  // namespace tracer
