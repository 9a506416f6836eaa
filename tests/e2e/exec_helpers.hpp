#pragma once
// Real execs for the end-to-end tests, each made recognisable by a unique
// marker argument.

#include <sys/types.h>

#include <string>
#include <vector>

#include "tracer_process.hpp"

namespace tracer::e2e {

// "tracer-e2e-<tag>-<pid>-<n>": unique across the test run.
std::string unique_marker(const std::string& tag);

// fork + execve(path, argv) in the child; waits for it. The child's pid.
pid_t run_execve(const std::string& path, const std::vector<std::string>& argv);
// fork + execveat(dirfd, path, argv, flags); waits. The child's pid.
pid_t run_execveat(int dirfd, const std::string& path, const std::vector<std::string>& argv, int flags);
// fork + execve of a pathname that is a string literal (in .rodata): in a
// fresh child its page is not mapped until the kernel faults it in.
pid_t run_execve_of_literal(bool existing, const std::vector<std::string>& argv);
// A child whose second thread calls execve(path, argv). Sets thread_tid.
pid_t run_execve_from_thread(const std::string& path, const std::vector<std::string>& argv, pid_t& thread_tid);

// The record whose argv holds marker (and optionally of this event).
std::function<bool(const Json&)> has_marker(const std::string& marker);
std::vector<std::string> argv_of(const Json& record);
bool has_flag(const Json& record, const std::string& flag);

std::string self_comm();
uint64_t namespace_inode(const char* name);  // /proc/self/ns/<name>

// A temporary directory removed with its content.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string write_file(const std::string& name, const std::string& content, mode_t mode);

 private:
  std::string path_;
};

}  // namespace tracer::e2e
