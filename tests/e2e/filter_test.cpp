// End-to-end: --trace filters (§3). Every test runs a control that must NOT be
// reported before the exec that must be: once the match is seen, the control
// would have been printed already (the ring buffer keeps reservation order).
#include <bpf/bpf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string_view>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

constexpr uid_t kNobody = 65534;

class FilterTest : public ::testing::Test {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }

  void start(std::vector<std::string> filters) {
    std::string why;
    tracer_ = TracerProcess::start(json_args_tracing(std::move(filters)), why);
    ASSERT_TRUE(tracer_) << why;
  }
  Json expect_reported_pid(pid_t pid) {
    std::optional<Json> record = tracer_->wait_for_json([pid](const Json& line) { return line["pid"] == pid; });
    EXPECT_TRUE(record) << "pid " << pid << " not reported; stderr:\n" << tracer_->err().text();
    return record.value_or(Json::object());
  }
  Json expect_reported(const std::string& marker) { return expect_marker_reported(*tracer_, marker); }
  // Call after expect_reported of an exec made later than the control.
  void expect_not_reported(const std::string& marker) { expect_marker_not_reported(*tracer_, marker); }
  std::unique_ptr<TracerProcess> tracer_;
};

TEST_F(FilterTest, UidEquals) {
  start({"uid=65534"});
  const std::string control = unique_marker("root"), match = unique_marker("nobody");
  run_child({.argv = {"true", control}});
  run_child({.argv = {"true", match}, .uid = kNobody, .gid = kNobody});
  EXPECT_EQ(expect_reported(match)["uid"], kNobody);
  expect_not_reported(control);
}

TEST_F(FilterTest, UidNotEqualsAndRange) {
  start({"uid!=0", "uid>=60000", "uid<65535"});
  const std::string control_root = unique_marker("root"), control_low = unique_marker("low");
  const std::string match = unique_marker("nobody");
  run_child({.argv = {"true", control_root}});
  run_child({.argv = {"true", control_low}, .uid = 1000, .gid = 1000});
  run_child({.argv = {"true", match}, .uid = kNobody, .gid = kNobody});
  expect_reported(match);
  expect_not_reported(control_root);
  expect_not_reported(control_low);
}

TEST_F(FilterTest, ValueListIsOred) {
  start({"uid=1000,65534"});
  const std::string control = unique_marker("root"), first = unique_marker("u1000"), second = unique_marker("nobody");
  run_child({.argv = {"true", control}});
  run_child({.argv = {"true", first}, .uid = 1000, .gid = 1000});
  run_child({.argv = {"true", second}, .uid = kNobody, .gid = kNobody});
  EXPECT_EQ(expect_reported(first)["uid"], 1000);
  EXPECT_EQ(expect_reported(second)["uid"], kNobody);
  expect_not_reported(control);
}

TEST_F(FilterTest, Gid) {
  start({"gid=65534"});
  const std::string control = unique_marker("gid0"), match = unique_marker("gid-nobody");
  run_child({.argv = {"true", control}});
  run_child({.argv = {"true", match}, .gid = kNobody});  // uid stays 0
  const Json record = expect_reported(match);
  EXPECT_EQ(record["gid"], kNobody);
  EXPECT_EQ(record["uid"], 0);
  expect_not_reported(control);
}

TEST_F(FilterTest, PidTidAndPpid) {
  ParkedChild by_pid("/bin/true", {"true", unique_marker("by-pid")});
  ParkedChild other("/bin/true", {"true", unique_marker("other")});
  start({"pid=" + std::to_string(by_pid.pid()), "tid=" + std::to_string(by_pid.pid()),
         "ppid=" + std::to_string(getpid())});
  const pid_t matched = by_pid.pid(), unmatched = other.pid();
  other.exec_now();
  by_pid.exec_now();
  const Json record = expect_reported_pid(matched);
  EXPECT_EQ(record["ppid"], getpid());
  for (const Json& line : tracer_->json_lines()) EXPECT_NE(line["pid"], unmatched);
}

TEST_F(FilterTest, CommExactAndWildcards) {
  for (const std::string filter : {"comm=e2e-cmatch", "comm=e2e-cm*", "comm=*match", "comm=*cmat*"}) {
    SCOPED_TRACE(filter);
    start({filter});
    const std::string control = unique_marker("comm-other"), match = unique_marker("comm-match");
    run_child({.argv = {"true", control}, .comm = "e2e-cother"});
    run_child({.argv = {"true", match}, .comm = "e2e-cmatch"});
    EXPECT_EQ(expect_reported(match)["comm"], "e2e-cmatch");
    expect_not_reported(control);
    tracer_->stop();
  }
}

TEST_F(FilterTest, CommNotEquals) {
  start({"comm!=e2e-cother", "uid=0"});
  const std::string control = unique_marker("comm-other"), match = unique_marker("comm-match");
  run_child({.argv = {"true", control}, .comm = "e2e-cother"});
  run_child({.argv = {"true", match}, .comm = "e2e-cmatch"});
  expect_reported(match);
  expect_not_reported(control);
}

TEST_F(FilterTest, ExeOfTheCaller) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  const std::string directory = self.substr(0, self.rfind('/'));
  for (const std::string& filter :
       std::vector<std::string>{"exe=" + self, "exe=" + directory + "/*", "exe=*/tracer_e2e_tests"}) {
    SCOPED_TRACE(filter);
    start({filter});
    // The control's caller is /bin/sh, not this test binary.
    const std::string control = unique_marker("via-sh"), match = unique_marker("via-test");
    run_execve("/bin/sh", {"sh", "-c", "/bin/true " + control + "; true"});
    run_execve("/bin/true", {"true", match});
    expect_reported(match);
    expect_not_reported(control);
    tracer_->stop();
  }
}

TEST_F(FilterTest, PidNew) {
  ParkedChild old_process("/bin/true", {"true", unique_marker("old")});
  start({"pid=new"});
  const pid_t old_pid = old_process.pid();
  old_process.exec_now();
  const std::string match = unique_marker("new");
  run_execve("/bin/true", {"true", match});
  expect_reported(match);
  for (const Json& line : tracer_->json_lines()) EXPECT_NE(line["pid"], old_pid) << line.dump();
}

// A shell-like tree: leader (matches) → middle (renamed, its parent exits
// first, then it execs a shell) → the shell's child execs the marker. The
// sibling never descends from the leader.
TEST_F(FilterTest, FollowDescendantsEvenAfterTheParentExits) {
  start({"comm=e2e-leader", "follow"});
  const std::string sibling = unique_marker("sibling"), grandchild = unique_marker("grandchild");
  run_child({.argv = {"true", sibling}, .comm = "e2e-sibling"});

  int middle_started[2];
  ASSERT_EQ(pipe(middle_started), 0);
  const pid_t leader = fork();
  if (leader == 0) {
    prctl(PR_SET_NAME, "e2e-leader");
    const pid_t middle = fork();
    if (middle == 0) {
      prctl(PR_SET_NAME, "e2e-middle");
      // Wait until the leader has exited (we are reparented), then exec a shell.
      while (getppid() != 1 && kill(getppid(), 0) == 0 && getppid() == leader) usleep(1000);
      const std::string command = "/bin/true " + grandchild + "; true";
      execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
      _exit(127);
    }
    [[maybe_unused]] ssize_t written = write(middle_started[1], &middle, sizeof(middle));
    _exit(0);  // the leader exits before its descendants exec
  }
  close(middle_started[1]);
  pid_t middle = -1;
  ASSERT_EQ(read(middle_started[0], &middle, sizeof(middle)), static_cast<ssize_t>(sizeof(middle)));
  close(middle_started[0]);
  waitpid(leader, nullptr, 0);

  const Json record = expect_reported(grandchild);
  EXPECT_EQ(record["comm"], "sh");  // matched only by following
  expect_not_reported(sibling);
  bool saw_middle_exec = false;
  for (const Json& line : tracer_->json_lines()) saw_middle_exec |= line["pid"] == middle;
  EXPECT_TRUE(saw_middle_exec) << "the middle process's exec of /bin/sh was not followed";
}

// The tracer's followed_tgids map, found through its own fds (another
// tracer on the machine has one too), filled to its last entry with thread
// group ids no process has (above pid_max's limit of 2^22).
void fill_followed_tgids(pid_t tracer) {
  bool filled = false;
  const std::filesystem::path fdinfo = "/proc/" + std::to_string(tracer) + "/fdinfo";
  for (const auto& entry : std::filesystem::directory_iterator(fdinfo)) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("map_id:")) continue;
      const int fd = bpf_map_get_fd_by_id(static_cast<uint32_t>(std::stoul(line.substr(7))));
      if (fd < 0) continue;
      bpf_map_info info{};
      uint32_t length = sizeof(info);
      if (bpf_obj_get_info_by_fd(fd, &info, &length) == 0 && std::string_view(info.name) == "followed_tgids") {
        const uint8_t one = 1;
        uint32_t key = 1u << 30;
        while (bpf_map_update_elem(fd, &key, &one, BPF_NOEXIST) == 0) ++key;
        EXPECT_EQ(errno, E2BIG) << "followed_tgids took " << key - (1u << 30) << " entries";
        filled = true;
      }
      close(fd);
    }
  }
  ASSERT_TRUE(filled) << "no followed_tgids map among the tracer's fds";
}

// A full followed_tgids map: the child of a matching process is not followed
// (its exec is not reported), and the summary says so.
TEST_F(FilterTest, FollowTableFullIsCountedAsALoss) {
  start({"comm=e2e-leader", "follow"});
  ASSERT_NO_FATAL_FAILURE(fill_followed_tgids(tracer_->pid()));
  const std::string escaped = unique_marker("escaped"), leader_marker = unique_marker("leader");
  const pid_t leader = fork();
  if (leader == 0) {
    prctl(PR_SET_NAME, "e2e-leader");
    const pid_t child = fork();
    if (child == 0) {
      prctl(PR_SET_NAME, "e2e-child");  // matched only by following
      execl("/bin/true", "true", escaped.c_str(), nullptr);
      _exit(127);
    }
    waitpid(child, nullptr, 0);
    execl("/bin/true", "true", leader_marker.c_str(), nullptr);
    _exit(127);
  }
  waitpid(leader, nullptr, 0);
  expect_reported(leader_marker);
  expect_not_reported(escaped);
  ASSERT_EQ(tracer_->stop(), 0);
  const std::string errors = tracer_->err().text();
  EXPECT_TRUE(std::regex_search(errors, std::regex(R"(children not followed \(follow table full\): 1\b)"))) << errors;
}

TEST_F(FilterTest, EventSelection) {
  const int directory = open("/usr/bin", O_PATH | O_DIRECTORY);
  ASSERT_GE(directory, 0);
  start({"event=execveat"});
  const std::string control = unique_marker("execve"), match = unique_marker("execveat");
  run_execve("/bin/true", {"true", control});
  run_execveat(directory, "true", {"true", match}, 0);
  EXPECT_EQ(expect_reported(match)["event"], "execveat");
  expect_not_reported(control);
  tracer_->stop();

  start({"event!=execveat"});
  const std::string control2 = unique_marker("execveat"), match2 = unique_marker("execve");
  run_execveat(directory, "true", {"true", control2}, 0);
  run_execve("/bin/true", {"true", match2});
  EXPECT_EQ(expect_reported(match2)["event"], "execve");
  expect_not_reported(control2);
  close(directory);
}

TEST_F(FilterTest, ArgumentFiltersWithWildcards) {
  start({"execve.pathname=/usr/bin/*", "execve.argv!=*-skip"});
  const std::string control_path = unique_marker("bin-path"), control_argv = unique_marker("x") + "-skip";
  const std::string match = unique_marker("usr-bin-path");
  run_execve("/bin/true", {"true", control_path});
  run_execve("/usr/bin/true", {"true", control_argv});
  run_execve("/usr/bin/true", {"true", match});
  EXPECT_EQ(expect_reported(match)["args"]["pathname"], "/usr/bin/true");
  expect_not_reported(control_path);
  expect_not_reported(control_argv);
}

TEST_F(FilterTest, ExpressionsOnDifferentFieldsAreAnded) {
  start({"uid=65534", "comm=e2e-and"});
  const std::string only_uid = unique_marker("only-uid"), only_comm = unique_marker("only-comm");
  const std::string both = unique_marker("both");
  run_child({.argv = {"true", only_uid}, .uid = kNobody, .gid = kNobody, .comm = "e2e-other"});
  run_child({.argv = {"true", only_comm}, .comm = "e2e-and"});
  run_child({.argv = {"true", both}, .uid = kNobody, .gid = kNobody, .comm = "e2e-and"});
  expect_reported(both);
  expect_not_reported(only_uid);
  expect_not_reported(only_comm);
}

TEST_F(FilterTest, MalformedExpressionIsUsageErrorBeforeLoading) {
  const Completed completed = run_tracer_to_completion({"--trace", "uid>abc"});
  ASSERT_TRUE(WIFEXITED(completed.status));
  EXPECT_EQ(WEXITSTATUS(completed.status), 2);
  EXPECT_EQ(completed.err, "tracer: --trace 'uid>abc': uid needs a number\n");
}

// What the user typed is shown, never acted on: an ESC and a newline in the
// expression cannot clear the screen or forge a line of their own.
TEST_F(FilterTest, MalformedExpressionIsShownEscaped) {
  const Completed completed = run_tracer_to_completion({"--trace", "uid>\x1b[2J\ntracer: 0 events emitted"});
  ASSERT_TRUE(WIFEXITED(completed.status));
  EXPECT_EQ(WEXITSTATUS(completed.status), 2);
  EXPECT_EQ(completed.err, "tracer: --trace 'uid>\\x1b[2J\\ntracer: 0 events emitted': uid needs a number\n");
}

}  // namespace
}  // namespace tracer::e2e
