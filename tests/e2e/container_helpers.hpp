#pragma once
// "Containers" for the end-to-end tests: a cgroup named the way a container
// runtime names it, on the hierarchy this machine has, and processes run in
// it as pid 1 of a new pid and mount namespace (unshare --pid --mount --fork).

#include <sys/types.h>

#include <string>
#include <vector>

namespace tracer::e2e {

enum class CgroupNaming {
  systemd_scope,  // <unified>/tracer-e2e.slice/docker-<id>.scope (cgroup v2, systemd driver)
  cgroupfs,       // <memory>/tracer-e2e-docker/<id> (cgroup v1, cgroupfs driver)
};

// Creates the cgroup; removes it (and its parents it made) when destroyed.
class ContainerCgroup {
 public:
  explicit ContainerCgroup(CgroupNaming naming);
  ~ContainerCgroup();
  ContainerCgroup(const ContainerCgroup&) = delete;
  ContainerCgroup& operator=(const ContainerCgroup&) = delete;

  bool ok() const { return why_.empty(); }
  const std::string& why() const { return why_; }  // what is missing when not ok()
  const std::string& id() const { return id_; }    // 64 hex digits
  const std::string& procs_file() const { return procs_file_; }

 private:
  std::string id_;
  std::vector<std::string> made_;  // directories made, innermost last
  std::string procs_file_;
  std::string why_;
};

// Runs `argv` under `unshare --pid --mount --fork` inside the cgroup.
// Parked: it starts now (the namespace's init exists) but execs only on go().
class ContainerProcess {
 public:
  ContainerProcess(const ContainerCgroup& cgroup, const std::vector<std::string>& argv, bool parked);
  ~ContainerProcess();
  ContainerProcess(const ContainerProcess&) = delete;
  ContainerProcess& operator=(const ContainerProcess&) = delete;

  void go();                          // parked only: lets it exec
  int wait();                         // its wait status
  pid_t pid() const { return pid_; }  // the unshare process (host pid namespace)

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
  bool waited_ = false;
  int status_ = -1;
};

}  // namespace tracer::e2e
