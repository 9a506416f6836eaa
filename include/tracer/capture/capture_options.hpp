#pragma once
// --exec-hash, --capture SPEC and --capture-limit BYTES, as parsed.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/result.hpp"

namespace tracer {

inline constexpr std::string_view kDefaultCaptureDirectory = "/var/lib/tracer/capture";
inline constexpr uint64_t kDefaultCaptureFileLimit = uint64_t{16} << 20;

struct CaptureOptions {
  bool exec_hash = false;     // sha256 on successful exec records (--capture exec implies it)
  bool capture_exec = false;  // save each executed binary once per content
  std::string directory{kDefaultCaptureDirectory};
  uint64_t limit_bytes = uint64_t{1} << 30;
  std::vector<std::string> write_globs;                  // --capture write=GLOB: absolute paths, fnmatch(3)
  uint64_t file_limit_bytes = kDefaultCaptureFileLimit;  // --capture-file-limit: write bytes saved per file
  bool capture_mem = false;  // --capture mem: memory made executable after being writable, saved once per content
  bool operator==(const CaptureOptions&) const = default;
};

// Applies every --capture SPEC: exec, exec:DIR (exec, into DIR), dir:DIR,
// write=GLOB, mem.
Status apply_capture_specs(const std::vector<std::string>& specs, CaptureOptions& options);
// "1048576", "512K", "100M", "2G" (powers of 1024).
Result<uint64_t> parse_byte_count(std::string_view text, std::string_view option);

}  // namespace tracer
