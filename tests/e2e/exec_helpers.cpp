#include "exec_helpers.hpp"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

extern char** environ;

namespace tracer::e2e {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const std::string& arg : args) out.push_back(const_cast<char*>(arg.c_str()));
  out.push_back(nullptr);
  return out;
}

pid_t wait_child(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

struct ThreadExec {
  const char* path;
  char** argv;
  int report_fd;
};

void* exec_from_thread(void* argument) {
  auto* request = static_cast<ThreadExec*>(argument);
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  [[maybe_unused]] ssize_t written = write(request->report_fd, &tid, sizeof(tid));
  close(request->report_fd);
  execve(request->path, request->argv, environ);
  _exit(127);
}

}  // namespace

std::string unique_marker(const std::string& tag) {
  static std::atomic<int> counter{0};
  return "tracer-e2e-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

pid_t run_execve(const std::string& path, const std::vector<std::string>& argv) {
  std::vector<char*> args = c_argv(argv);
  const pid_t pid = fork();
  if (pid == 0) {
    execve(path.c_str(), args.data(), environ);
    _exit(127);
  }
  return wait_child(pid);
}

pid_t run_execve_with_env(const std::string& path, const std::vector<std::string>& argv,
                          const std::vector<std::string>& env) {
  std::vector<char*> args = c_argv(argv);
  std::vector<char*> envp = c_argv(env);
  const pid_t pid = fork();
  if (pid == 0) {
    execve(path.c_str(), args.data(), envp.data());
    _exit(127);
  }
  return wait_child(pid);
}

pid_t run_child(const ChildSpec& spec) {
  std::vector<char*> args = c_argv(spec.argv);
  const pid_t pid = fork();
  if (pid == 0) {
    if (!spec.comm.empty()) prctl(PR_SET_NAME, spec.comm.c_str());
    if (spec.gid && (setgroups(0, nullptr) != 0 || setgid(spec.gid) != 0)) _exit(126);
    if (spec.uid && setuid(spec.uid) != 0) _exit(126);
    execve(spec.path.c_str(), args.data(), environ);
    _exit(127);
  }
  return wait_child(pid);
}

ParkedChild::ParkedChild(const std::string& path, std::vector<std::string> argv) {
  int go[2];
  if (pipe(go) != 0) return;
  std::vector<std::string> arguments = std::move(argv);
  std::string program = path;
  pid_ = fork();
  if (pid_ == 0) {
    close(go[1]);
    char byte;
    if (read(go[0], &byte, 1) != 1) _exit(125);
    std::vector<char*> args = c_argv(arguments);
    execve(program.c_str(), args.data(), environ);
    _exit(127);
  }
  close(go[0]);
  go_fd_ = go[1];
}

ParkedChild::~ParkedChild() {
  if (go_fd_ >= 0) close(go_fd_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

void ParkedChild::exec_now() {
  [[maybe_unused]] ssize_t written = write(go_fd_, "x", 1);
  close(go_fd_);
  go_fd_ = -1;
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

pid_t run_execve_of_literal(bool existing, const std::vector<std::string>& argv) {
  std::vector<char*> args = c_argv(argv);
  const pid_t pid = fork();
  if (pid == 0) {
    execve(existing ? "/bin/true" : "/nonexistent/tracer-e2e-literal", args.data(), environ);
    _exit(127);
  }
  return wait_child(pid);
}

pid_t run_execveat(int dirfd, const std::string& path, const std::vector<std::string>& argv, int flags) {
  std::vector<char*> args = c_argv(argv);
  const pid_t pid = fork();
  if (pid == 0) {
    syscall(SYS_execveat, dirfd, path.c_str(), args.data(), environ, flags);
    _exit(127);
  }
  return wait_child(pid);
}

pid_t run_execve_from_thread(const std::string& path, const std::vector<std::string>& argv, pid_t& thread_tid) {
  std::vector<char*> args = c_argv(argv);
  int report[2];
  if (pipe(report) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    ThreadExec request{path.c_str(), args.data(), report[1]};
    pthread_t thread;
    pthread_create(&thread, nullptr, exec_from_thread, &request);
    pthread_join(thread, nullptr);  // never returns: the exec ends this thread group
    _exit(126);
  }
  close(report[1]);
  thread_tid = -1;
  [[maybe_unused]] ssize_t got = read(report[0], &thread_tid, sizeof(thread_tid));
  close(report[0]);
  return wait_child(pid);
}

std::function<bool(const Json&)> has_marker(const std::string& marker) {
  return [marker](const Json& record) {
    if (!record.contains("args") || !record["args"].contains("argv")) return false;
    for (const Json& argument : record["args"]["argv"])
      if (argument.is_string() && argument.get<std::string>() == marker) return true;
    return false;
  };
}

std::vector<std::string> json_args_tracing(std::vector<std::string> expressions) {
  std::vector<std::string> args = {"--output", "json"};
  for (std::string& expression : expressions) {
    args.push_back("--trace");
    args.push_back(std::move(expression));
  }
  return args;
}

Json expect_marker_reported(TracerProcess& tracer, const std::string& marker) {
  std::optional<Json> record = tracer.wait_for_json(has_marker(marker));
  EXPECT_TRUE(record) << marker << " not reported; stderr:\n" << tracer.err().text();
  return record.value_or(Json::object());
}

void expect_marker_not_reported(const TracerProcess& tracer, const std::string& marker) {
  for (const Json& record : tracer.json_lines())
    EXPECT_FALSE(has_marker(marker)(record)) << marker << " was reported: " << record.dump();
}

std::vector<std::string> argv_of(const Json& record) { return record["args"]["argv"].get<std::vector<std::string>>(); }

bool has_flag(const Json& record, const std::string& flag) {
  for (const Json& item : record["flags"])
    if (item == flag) return true;
  return false;
}

std::string self_comm() {
  std::ifstream file("/proc/self/comm");
  std::string comm;
  std::getline(file, comm);
  return comm;
}

uint64_t namespace_inode(const char* name) {
  struct stat info {};
  stat((std::string("/proc/self/ns/") + name).c_str(), &info);
  return info.st_ino;
}

TempDir::TempDir() {
  char pattern[] = "/tmp/tracer-e2e-XXXXXX";
  path_ = mkdtemp(pattern);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write_file(const std::string& name, const std::string& content, mode_t mode) {
  const std::string file = path_ + "/" + name;
  {
    std::ofstream out(file, std::ios::binary);
    out << content;
  }
  chmod(file.c_str(), mode);
  return file;
}

}  // namespace tracer::e2e
