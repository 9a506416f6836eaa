#include "pty_program.hpp"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tracer::e2e {

std::unique_ptr<PtyProgram> PtyProgram::start(const std::string& path, const std::vector<std::string>& argv,
                                              const std::vector<std::string>& env, uid_t uid, std::string& why) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<char*> environment;
  for (const std::string& entry : env) environment.push_back(const_cast<char*>(entry.c_str()));
  environment.push_back(nullptr);

  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    why = std::string("forkpty: ") + std::strerror(errno);
    return nullptr;
  }
  if (pid == 0) {
    if (uid != 0 && (setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0)) _exit(126);
    execve(path.c_str(), args.data(), environment.data());
    _exit(127);
  }
  return std::unique_ptr<PtyProgram>(new PtyProgram(pid, master));
}

PtyProgram::~PtyProgram() {
  ::close(master_);
  if (!exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool PtyProgram::read_some(std::chrono::milliseconds timeout) {
  pollfd ready{master_, POLLIN, 0};
  if (poll(&ready, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buffer[4096];
  const ssize_t got = ::read(master_, buffer, sizeof(buffer));
  if (got <= 0) return false;  // EIO: the program closed the terminal
  output_.append(buffer, static_cast<size_t>(got));
  return true;
}

size_t PtyProgram::wait_for_output(const std::string& needle, std::chrono::milliseconds deadline, size_t from) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (const size_t at = output_.find(needle, from); at != std::string::npos) return at + needle.size();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::string::npos;
    if (!read_some(std::min(left, std::chrono::milliseconds(100)))) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return output_.find(needle, from) == std::string::npos ? std::string::npos
                                                               : output_.find(needle, from) + needle.size();
      }
    }
  }
}

bool PtyProgram::type_line(const std::string& text) {
  const std::string line = text + "\n";
  return ::write(master_, line.data(), line.size()) == static_cast<ssize_t>(line.size());
}

bool PtyProgram::wait_exit(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return true;
    }
    read_some(std::chrono::milliseconds(50));  // keep the terminal drained
  }
  return false;
}

}  // namespace tracer::e2e
