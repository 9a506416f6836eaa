#include "tracer/capture/capture_options.hpp"

#include <charconv>

#include "tracer/capture/write_glob.hpp"

namespace tracer {

Status apply_capture_specs(const std::vector<std::string>& specs, CaptureOptions& options) {
  for (const std::string& spec : specs) {
    const std::string_view text = spec;
    if (text == "exec") {
      options.capture_exec = true;
    } else if (text.starts_with("exec:") && text.size() > 5) {
      options.capture_exec = true;
      options.directory = text.substr(5);
    } else if (text.starts_with("dir:") && text.size() > 4) {
      options.directory = text.substr(4);
    } else if (text.starts_with("write=")) {
      if (Status status = check_write_glob(text.substr(6)); !status) return status;
      options.write_globs.emplace_back(text.substr(6));
    } else if (text == "mem") {
      options.capture_mem = true;
    } else {
      return usage_error("--capture " + spec + ": expected exec, exec:DIR, dir:DIR, write=GLOB or mem");
    }
  }
  if (options.capture_exec) options.exec_hash = true;  // a capture is named by its hash
  return ok_status();
}

Result<uint64_t> parse_byte_count(std::string_view text, std::string_view option) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string_view suffix(end, static_cast<size_t>(text.data() + text.size() - end));
  int shift = -1;
  if (suffix.empty()) shift = 0;
  if (suffix == "K" || suffix == "k") shift = 10;
  if (suffix == "M" || suffix == "m") shift = 20;
  if (suffix == "G" || suffix == "g") shift = 30;
  if (error != std::errc() || end == text.data() || shift < 0 || (shift > 0 && value > (UINT64_MAX >> shift)))
    return usage_error(std::string(option) + " '" + std::string(text) +
                       "': expected a number of bytes (K, M, G: KiB, MiB, GiB)");
  return value << shift;
}

}  // namespace tracer
