#include "tracer/capture/write_glob.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace tracer {

Status check_write_glob(std::string_view glob) {
  if (!glob.starts_with('/'))
    return usage_error("--capture write=" + std::string(glob) + ": GLOB must be an absolute path pattern");
  if (glob.find('\0') != std::string_view::npos) return usage_error("--capture write=GLOB: GLOB holds a NUL");
  return ok_status();
}

std::string_view glob_literal_prefix(std::string_view glob) { return glob.substr(0, glob.find_first_of("*?[\\")); }

std::string kernel_write_prefix(const std::vector<std::string>& globs, size_t max_length) {
  if (globs.empty()) return {};
  std::string_view common = glob_literal_prefix(globs.front());
  for (const std::string& glob : globs) {
    const std::string_view prefix = glob_literal_prefix(glob);
    const auto [differs, unused] = std::ranges::mismatch(common, prefix);
    common = common.substr(0, static_cast<size_t>(differs - common.begin()));
  }
  return std::string(common.substr(0, max_length));
}

bool write_glob_matches(const std::vector<std::string>& globs, std::string_view path) {
  // A path from the kernel holds no NUL; one that did could not be compared.
  if (path.find('\0') != std::string_view::npos) return false;
  const std::string text(path);
  return std::ranges::any_of(globs,
                             [&](const std::string& glob) { return ::fnmatch(glob.c_str(), text.c_str(), 0) == 0; });
}

}  // namespace tracer
