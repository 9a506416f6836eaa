#include "tracer/pseudo_fs.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

namespace tracer {
namespace {

std::optional<std::string> read_first_line(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) return std::nullopt;
  return line;
}

std::vector<std::optional<std::string>> read_all(const std::vector<std::string>& paths) {
  std::vector<std::optional<std::string>> lines;
  for (const std::string& path : paths) lines.push_back(read_first_line(path));
  return lines;
}

}  // namespace

std::vector<std::optional<std::string>> read_pseudo_fs_lines(const std::string& fs_type, const std::string& mount_point,
                                                             const std::vector<std::string>& paths) {
  std::vector<std::optional<std::string>> lines = read_all(paths);
  bool any_read = false;
  for (const auto& line : lines) any_read |= line.has_value();
  if (any_read || paths.empty()) return lines;  // mounted already

  // The child writes "1<line>\n" or "0\n" per path.
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return lines;
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    std::string reply;
    if (unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        mount(fs_type.c_str(), mount_point.c_str(), fs_type.c_str(), 0, nullptr) == 0) {
      for (const auto& line : read_all(paths)) reply += line ? "1" + *line + "\n" : "0\n";
    }
    for (size_t done = 0; done < reply.size();) {
      const ssize_t written = write(pipe_fds[1], reply.data() + done, reply.size() - done);
      if (written <= 0) break;
      done += static_cast<size_t>(written);
    }
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string reply;
  char buffer[512];
  ssize_t got;
  while ((got = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) reply.append(buffer, static_cast<size_t>(got));
  close(pipe_fds[0]);
  if (child > 0) waitpid(child, nullptr, 0);

  size_t index = 0;
  for (size_t start = 0; start < reply.size() && index < lines.size(); ++index) {
    const size_t end = reply.find('\n', start);
    if (end == std::string::npos) break;
    if (reply[start] == '1') lines[index] = reply.substr(start + 1, end - start - 1);
    start = end + 1;
  }
  return lines;
}

}  // namespace tracer
