#pragma once
// --capture write=GLOB: which files' writes are captured. The kernel keeps
// only writes to files under the globs' common literal prefix (a byte
// compare on the path it walks); userspace matches each record's path
// against the whole globs.

#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/result.hpp"

namespace tracer {

// An absolute path pattern, fnmatch(3) syntax without FNM_PATHNAME: * also
// matches /, so /srv/data/* covers the whole tree below /srv/data.
Status check_write_glob(std::string_view glob);
// The glob up to its first wildcard (*, ?, [) or backslash.
std::string_view glob_literal_prefix(std::string_view glob);
// What the kernel compares: the longest prefix common to every glob's
// literal prefix, at most max_length bytes ("/" at least, globs being absolute).
std::string kernel_write_prefix(const std::vector<std::string>& globs, size_t max_length);
// Whether path matches any of globs.
bool write_glob_matches(const std::vector<std::string>& globs, std::string_view path);

}  // namespace tracer
