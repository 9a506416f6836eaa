#include "tracer/user_functions/exec_gate.hpp"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <sstream>

namespace tracer {
namespace {

// Filesystems that hold no executables, or refuse filesystem marks.
constexpr std::string_view kPseudoFilesystems[] = {"proc",      "sysfs",    "cgroup",  "cgroup2",     "devpts",
                                                   "mqueue",    "debugfs",  "tracefs", "bpf",         "securityfs",
                                                   "pstore",    "configfs", "fusectl", "binfmt_misc", "autofs",
                                                   "hugetlbfs", "efivarfs", "nsfs",    "rpc_pipefs",  "selinuxfs"};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        std::all_of(field.begin() + long(i) + 1, field.begin() + long(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += field[i];
  }
  return out;
}

}  // namespace

std::vector<std::string> executable_mount_points(std::string_view mountinfo) {
  std::vector<std::string> points;
  std::istringstream lines{std::string(mountinfo)};
  for (std::string line; std::getline(lines, line);) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    std::istringstream fields(line);
    std::vector<std::string> words;
    for (std::string word; fields >> word;) words.push_back(word);
    const auto dash = std::find(words.begin(), words.end(), "-");
    if (words.size() < 5 || dash == words.end() || dash + 1 == words.end()) continue;
    if (std::ranges::find(kPseudoFilesystems, std::string_view(*(dash + 1))) != std::end(kPseudoFilesystems)) continue;
    points.push_back(unescape_octal(words[4]));
  }
  return points;
}

Result<ExecGate> ExecGate::open() {
  UniqueFd group(fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_CLOEXEC | O_LARGEFILE));
  if (!group) return errno_error("fanotify_init");
  std::ifstream file("/proc/self/mountinfo");
  std::stringstream text;
  text << file.rdbuf();
  size_t marked = 0;
  int last_error = ENOENT;
  for (const std::string& point : executable_mount_points(text.str())) {
    // The whole filesystem, all its mounts (a container's too); a mount
    // where the filesystem refuses that.
    if (fanotify_mark(group.get(), FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, point.c_str()) ==
            0 ||
        fanotify_mark(group.get(), FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC_PERM, AT_FDCWD, point.c_str()) == 0)
      ++marked;
    else
      last_error = errno;
  }
  if (marked == 0) return errno_error("fanotify_mark", last_error);
  return ExecGate(std::move(group));
}

void ExecGate::serve(const std::function<bool(int file_fd, uint32_t pid)>& look) {
  alignas(fanotify_event_metadata) std::array<char, 4096> buffer;
  for (;;) {
    const ssize_t length = ::read(group_.get(), buffer.data(), buffer.size());
    if (length <= 0) return;  // EAGAIN: none pending
    auto* event = reinterpret_cast<const fanotify_event_metadata*>(buffer.data());
    for (ssize_t left = length; FAN_EVENT_OK(event, left); event = FAN_EVENT_NEXT(event, left)) {
      if (event->fd < 0) continue;  // an overflow: no exec waits for it
      const UniqueFd file(event->fd);
      if (look(file.get(), static_cast<uint32_t>(event->pid)))
        fanotify_mark(group_.get(), FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM, file.get(), nullptr);
      const fanotify_response response{event->fd, FAN_ALLOW};
      // Cannot fail for a pending event's fd; were it to, the exec would go
      // on when the group is closed.
      [[maybe_unused]] const ssize_t written = ::write(group_.get(), &response, sizeof(response));
    }
  }
}

}  // namespace tracer
