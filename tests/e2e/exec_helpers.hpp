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
// The same with env as the child's whole environment.
pid_t run_execve_with_env(const std::string& path, const std::vector<std::string>& argv,
                          const std::vector<std::string>& env);
// fork + execveat(dirfd, path, argv, flags); waits. The child's pid.
pid_t run_execveat(int dirfd, const std::string& path, const std::vector<std::string>& argv, int flags);
// A child that takes on an identity, then execs.
struct ChildSpec {
  std::string path = "/bin/true";
  std::vector<std::string> argv;
  uid_t uid = 0;     // setuid in the child when not 0
  gid_t gid = 0;     // setgid in the child when not 0
  std::string comm;  // prctl(PR_SET_NAME) in the child when set
};
pid_t run_child(const ChildSpec& spec);

// A child that exists now and execs only when told: for filters about
// processes that started before the tracer.
class ParkedChild {
 public:
  ParkedChild(const std::string& path, std::vector<std::string> argv);
  ~ParkedChild();
  void exec_now();  // lets it exec, and waits for it
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
};

// fork + execve of a pathname that is a string literal (in .rodata): in a
// fresh child its page is not mapped until the kernel faults it in.
pid_t run_execve_of_literal(bool existing, const std::vector<std::string>& argv);
// A child whose second thread calls execve(path, argv). Sets thread_tid.
pid_t run_execve_from_thread(const std::string& path, const std::vector<std::string>& argv, pid_t& thread_tid);

// The record whose argv holds marker (and optionally of this event).
std::function<bool(const Json&)> has_marker(const std::string& marker);
// --output json, then --trace and each expression.
std::vector<std::string> json_args_tracing(std::vector<std::string> expressions);
// The tracer's record of the exec with marker; a failure (and an empty
// object) when none came.
Json expect_marker_reported(TracerProcess& tracer, const std::string& marker);
// Fails for each record printed so far that holds marker: call it after the
// record of an exec made later than that of marker was seen.
void expect_marker_not_reported(const TracerProcess& tracer, const std::string& marker);
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
