#pragma once
// A program run on a pseudo-terminal, as a user at a terminal runs it: the
// test types lines and waits for what the program prints, always with a
// deadline. For interactive shells (bash_readline) and readline callers.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace tracer::e2e {

class PtyProgram {
 public:
  // forkpty; the child takes uid/gid (when not 0), sets env ("NAME=value"),
  // then execs path with argv. nullptr (and why) when it cannot start.
  static std::unique_ptr<PtyProgram> start(const std::string& path, const std::vector<std::string>& argv,
                                           const std::vector<std::string>& env, uid_t uid, std::string& why);
  ~PtyProgram();
  PtyProgram(const PtyProgram&) = delete;
  PtyProgram& operator=(const PtyProgram&) = delete;

  // Waits until the output (from offset `from` on) holds needle; the offset
  // just after it, or npos at the deadline.
  size_t wait_for_output(const std::string& needle, std::chrono::milliseconds deadline, size_t from = 0);
  // Writes text and a newline, as typed.
  bool type_line(const std::string& text);
  // Waits for the program to exit (after "exit" or EOF); false at the deadline.
  bool wait_exit(std::chrono::milliseconds deadline);
  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }

 private:
  PtyProgram(pid_t pid, int master) : pid_(pid), master_(master) {}
  bool read_some(std::chrono::milliseconds timeout);

  pid_t pid_;
  int master_;
  bool exited_ = false;
  std::string output_;
};

}  // namespace tracer::e2e
