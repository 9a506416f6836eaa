#include "tracer/pseudo_fs.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

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

bool write_all(int fd, const std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t written = write(fd, bytes.data() + done, bytes.size() - done);
    if (written <= 0) return false;
    done += static_cast<size_t>(written);
  }
  return true;
}

// The child's reply: per path "1<length>\n<bytes>" or "0\n".
std::string encode(const std::vector<std::optional<std::string>>& files) {
  std::string reply;
  for (const auto& file : files) {
    if (!file) {
      reply += "0\n";
      continue;
    }
    reply += '1';
    reply += std::to_string(file->size());
    reply += '\n';
    reply += *file;
  }
  return reply;
}

void decode_into(std::string_view reply, std::vector<std::optional<std::string>>& files) {
  for (size_t index = 0; index < files.size() && !reply.empty(); ++index) {
    const size_t newline = reply.find('\n');
    if (newline == std::string_view::npos) return;
    if (reply.front() == '1') {
      size_t length = 0;
      const auto [end, error] = std::from_chars(reply.data() + 1, reply.data() + newline, length);
      if (error != std::errc() || newline + 1 + length > reply.size()) return;
      files[index] = std::string(reply.substr(newline + 1, length));
      reply.remove_prefix(newline + 1 + length);
    } else {
      reply.remove_prefix(newline + 1);
    }
  }
}

}  // namespace

std::vector<std::optional<std::string>> read_pseudo_fs_files(const std::string& fs_type, const std::string& mount_point,
                                                             const std::vector<std::string>& paths) {
  std::vector<std::optional<std::string>> files = read_all(paths);
  bool any_read = false;
  for (const auto& file : files) any_read |= file.has_value();
  if (any_read || paths.empty()) return files;  // mounted already

  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return files;
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    std::string reply;
    if (unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        mount(fs_type.c_str(), mount_point.c_str(), fs_type.c_str(), 0, nullptr) == 0)
      reply = encode(read_all(paths));
    write_all(pipe_fds[1], reply);
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string reply;
  char buffer[4096];
  ssize_t got;
  while ((got = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) reply.append(buffer, static_cast<size_t>(got));
  close(pipe_fds[0]);
  if (child > 0) waitpid(child, nullptr, 0);
  decode_into(reply, files);
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
