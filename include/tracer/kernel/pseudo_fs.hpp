#pragma once
// First lines of files in kernel pseudo-filesystems (securityfs, tracefs) that
// are often not mounted. Where the mount point is empty, the filesystem is
// mounted in a private mount namespace of a thread of ours and read there: the
// host's mounts are never touched.

#include <optional>
#include <string>
#include <vector>

namespace tracer {

// fs_type e.g. "tracefs", mounted at mount_point; paths are absolute, under it.
// One entry per path: its whole contents, or nothing when it cannot be read.
std::vector<std::optional<std::string>> read_pseudo_fs_files(const std::string& fs_type, const std::string& mount_point,
                                                             const std::vector<std::string>& paths);

// fs_type e.g. "tracefs", mounted at mount_point; paths are absolute, under it.
// One entry per path: its first line, or nothing when it cannot be read.
std::vector<std::optional<std::string>> read_pseudo_fs_lines(const std::string& fs_type, const std::string& mount_point,
                                                             const std::vector<std::string>& paths);

}  // namespace tracer
