#include "container_helpers.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace tracer::e2e {
namespace {

std::string random_container_id() {
  std::random_device seed;
  std::mt19937_64 generator(seed());
  std::string id;
  const char* digits = "0123456789abcdef";
  while (id.size() < 64) id += digits[generator() % 16];
  return id;
}

// Where a hierarchy is mounted: cgroup2 ("") or a v1 hierarchy with this controller.
std::string mount_point_of(const std::string& type, const std::string& controller) {
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string source, target, fs_type, options;
    fields >> source >> target >> fs_type >> options;
    if (fs_type != type) continue;
    if (controller.empty() || ("," + options + ",").find("," + controller + ",") != std::string::npos) return target;
  }
  return {};
}

}  // namespace

ContainerCgroup::ContainerCgroup(CgroupNaming naming) : id_(random_container_id()) {
  std::string root;
  std::vector<std::string> levels;
  if (naming == CgroupNaming::systemd_scope) {
    root = mount_point_of("cgroup2", "");
    levels = {"tracer-e2e.slice", "docker-" + id_ + ".scope"};
  } else {
    root = mount_point_of("cgroup", "memory");
    levels = {"tracer-e2e-docker", id_};
  }
  if (root.empty()) {
    why_ = naming == CgroupNaming::systemd_scope ? "no cgroup2 hierarchy is mounted" : "no v1 memory hierarchy";
    return;
  }
  std::string path = root;
  for (const std::string& level : levels) {
    path += "/" + level;
    if (mkdir(path.c_str(), 0755) == 0) {
      made_.push_back(path);
    } else if (errno != EEXIST) {
      why_ = "cannot make " + path + ": " + std::strerror(errno);
      return;
    }
  }
  procs_file_ = path + "/cgroup.procs";
}

ContainerCgroup::~ContainerCgroup() {
  // A cgroup is removable once its last process is reaped; allow a moment.
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (rmdir(it->c_str()) != 0 && errno == EBUSY && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ContainerProcess::ContainerProcess(const ContainerCgroup& cgroup, const std::vector<std::string>& argv, bool parked) {
  std::vector<std::string> command = {"/usr/bin/unshare", "--pid", "--mount", "--fork"};
  if (parked) {
    // The namespace's init is this shell: it says it exists (a line on
    // stdout), and execs on a line on stdin.
    command.insert(command.end(), {"/bin/sh", "-c", "echo ready; read go; exec \"$@\" >/dev/null", "sh"});
  }
  command.insert(command.end(), argv.begin(), argv.end());
  int go[2] = {-1, -1};
  int ready[2] = {-1, -1};
  if (parked && (pipe(go) != 0 || pipe(ready) != 0)) return;
  pid_ = fork();
  if (pid_ == 0) {
    const int procs = open(cgroup.procs_file().c_str(), O_WRONLY | O_CLOEXEC);
    if (procs < 0 || write(procs, "0\n", 2) != 2) _exit(126);
    close(procs);
    if (parked) {
      dup2(go[0], 0);
      dup2(ready[1], 1);
      close(go[0]);
      close(go[1]);
      close(ready[0]);
      close(ready[1]);
    }
    std::vector<char*> args;
    for (const std::string& arg : command) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  if (parked) {
    close(go[0]);
    close(ready[1]);
    go_fd_ = go[1];
    // Not before the namespace's init exists: it must be older than a
    // tracer started after this returns (deadline 20 s).
    pollfd line{ready[0], POLLIN, 0};
    char byte = 0;
    if (poll(&line, 1, 20000) == 1) {
      [[maybe_unused]] const ssize_t got = read(ready[0], &byte, 1);
    }
    close(ready[0]);
  }
}

void ContainerProcess::go() {
  if (go_fd_ < 0) return;
  [[maybe_unused]] ssize_t written = write(go_fd_, "\n", 1);
  close(go_fd_);
  go_fd_ = -1;
}

int ContainerProcess::wait() {
  if (!waited_ && pid_ > 0) {
    waitpid(pid_, &status_, 0);
    waited_ = true;
  }
  return status_;
}

ContainerProcess::~ContainerProcess() {
  if (go_fd_ >= 0) close(go_fd_);  // a parked shell reads EOF and execs anyway
  wait();
}

}  // namespace tracer::e2e
