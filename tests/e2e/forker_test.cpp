// End-to-end: a process's parent is the image that forked it, also after the
// kernel reparented it (its forker exited) to a subreaper or to init.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

enum class Reaper { subreaper, namespace_init };

// Only async-signal-safe calls: the test process has threads.
[[noreturn]] void reap_all_and_exit() {
  while (wait(nullptr) > 0 || errno == EINTR) {
  }
  _exit(0);
}

// B forks C and exits at once; C waits (10 s at most) until the kernel has
// given it another parent, then execs argv.
[[noreturn]] void fork_orphan(char* const* argv) {
  const pid_t forker = getpid();
  if (fork() == 0) {
    const timespec millisecond{0, 1'000'000};
    for (int i = 0; i < 10'000 && getppid() == forker; ++i) nanosleep(&millisecond, nullptr);
    if (getppid() == forker) _exit(125);
    execv("/bin/true", argv);
    _exit(127);
  }
  _exit(0);
}

// The test's child is the reaper: a subreaper, or the init of a new pid
// namespace. It forks B (fork_orphan) and reaps everyone. Waits for it.
void run_orphan_chain(Reaper reaper, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    if (reaper == Reaper::subreaper) {
      if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) _exit(126);
    } else {
      if (unshare(CLONE_NEWPID) != 0) _exit(126);
      if (fork() != 0) reap_all_and_exit();  // the namespace's init is that child
    }
    if (fork() == 0) fork_orphan(args.data());
    reap_all_and_exit();
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

class ForkerTest : public ::testing::TestWithParam<Reaper> {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }
};

TEST_P(ForkerTest, ReparentedChildNamesTheImageThatForkedIt) {
  auto tracer =
      start_tracer({"--output", "json", "--output", "option:parent", "--trace", "event=execve,sched_process_fork"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("orphan");
  run_orphan_chain(GetParam(), {"true", marker});

  const Json exec = expect_marker_reported(*tracer, marker);
  ASSERT_TRUE(exec.contains("pid")) << exec.dump();
  // B's fork of C: B's pid and its image.
  const Json fork = expect_record(
      *tracer,
      [&](const Json& r) { return r["event"] == "sched_process_fork" && r["args"]["child_pid"] == exec["pid"]; },
      "the fork of the orphan");
  ASSERT_TRUE(fork.contains("exec_id")) << fork.dump();
  EXPECT_EQ(exec["ppid"], fork["pid"]) << exec.dump();
  EXPECT_EQ(exec["parent_exec_id"], fork["exec_id"]) << exec.dump();
  ASSERT_TRUE(exec.contains("parent")) << exec.dump();
  EXPECT_EQ(exec["parent"]["pid"], fork["pid"]) << exec.dump();
  EXPECT_EQ(exec["parent"]["exec_id"], fork["exec_id"]) << exec.dump();
}

INSTANTIATE_TEST_SUITE_P(Reapers, ForkerTest, ::testing::Values(Reaper::subreaper, Reaper::namespace_init),
                         [](const auto& param_info) {
                           return param_info.param == Reaper::subreaper ? std::string("Subreaper")
                                                                        : std::string("NamespaceInit");
                         });

}  // namespace
}  // namespace tracer::e2e
