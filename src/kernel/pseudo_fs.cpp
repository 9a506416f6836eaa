#include "tracer/kernel/pseudo_fs.hpp"

#include <sched.h>
#include <sys/mount.h>

#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

namespace tracer {
namespace {

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return std::nullopt;
  return contents.str();
}

std::vector<std::optional<std::string>> read_all(const std::vector<std::string>& paths) {
  std::vector<std::optional<std::string>> files;
  for (const std::string& path : paths) files.push_back(read_whole(path));
  return files;
}

}  // namespace

std::vector<std::optional<std::string>> read_pseudo_fs_files(const std::string& fs_type, const std::string& mount_point,
                                                             const std::vector<std::string>& paths) {
  std::vector<std::optional<std::string>> files = read_all(paths);
  bool any_read = false;
  for (const auto& file : files) any_read |= file.has_value();
  if (any_read || paths.empty()) return files;  // mounted already

  // A thread of our own with a mount namespace of its own (unsharing one
  // needs no single-threaded process, only CAP_SYS_ADMIN): the mount is seen
  // by that thread alone and goes away with it. No fork: on a guest where
  // page faults are dear, copying the process costs more than the reads.
  try {
    std::thread reader([&] {
      if (unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
          mount(fs_type.c_str(), mount_point.c_str(), fs_type.c_str(), 0, nullptr) == 0)
        files = read_all(paths);
    });
    reader.join();
  } catch (const std::system_error&) {
    // No thread to be had: the files stay unread, as when the mount fails.
  }
  return files;
}

std::vector<std::optional<std::string>> read_pseudo_fs_lines(const std::string& fs_type, const std::string& mount_point,
                                                             const std::vector<std::string>& paths) {
  std::vector<std::optional<std::string>> lines = read_pseudo_fs_files(fs_type, mount_point, paths);
  for (auto& line : lines)
    if (line) line = line->substr(0, line->find('\n'));
  return lines;
}

}  // namespace tracer
