// End-to-end: what a record says about its process (§2, §3, §4): the
// sched_process_exec and security_bprm_check events, exec_id, cwd, parent and
// ancestors, container_id and the container filters.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "container_helpers.hpp"
#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

std::function<bool(const Json&)> event_with_marker(const std::string& event, const std::string& marker) {
  auto marked = has_marker(marker);
  return [=](const Json& line) { return line["event"] == event && marked(line); };
}

// No record carries the marker (checked once a later record has arrived).
void expect_absent(TracerProcess& tracer, const std::string& marker) {
  for (const Json& line : tracer.json_lines()) EXPECT_FALSE(has_marker(marker)(line)) << line.dump();
}

// fork, chdir(dir), execv(argv); waits. The child's pid.
pid_t run_in_dir(const std::string& dir, const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  waitpid(pid, nullptr, 0);
  return pid;
}

std::string boot_tag() {
  std::ifstream file("/proc/sys/kernel/random/boot_id");
  std::string line, tag;
  std::getline(file, line);
  for (char c : line)
    if (tag.size() < 16 && std::isxdigit(static_cast<unsigned char>(c))) tag += c;
  return tag;
}

// "<boot>-<pid>-<start>-<gen>" → gen.
uint64_t exec_gen_of(const std::string& exec_id) { return std::stoull(exec_id.substr(exec_id.rfind('-') + 1)); }

class ProcessContextTest : public ::testing::Test {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }
};

TEST_F(ProcessContextTest, SchedProcessExecReportsTheNewImage) {
  auto tracer = start_tracer({"--output", "json", "--trace", "event=sched_process_exec"});
  ASSERT_TRUE(tracer);
  TempDir dir;
  const std::string marker = unique_marker("sched-exec");
  const pid_t child = run_in_dir(dir.path(), {"/bin/true", marker});
  const Json record = expect_record(*tracer, event_with_marker("sched_process_exec", marker), "sched_process_exec");
  EXPECT_EQ(record["pid"], child);
  EXPECT_EQ(record["comm"], "true");  // the task as it is after the exec
  EXPECT_FALSE(record.contains("ret"));
  EXPECT_EQ(record["cwd"], dir.path());
  struct stat file {};
  ASSERT_EQ(stat("/bin/true", &file), 0);
  EXPECT_EQ(record["args"], (Json{{"filename", "/bin/true"},
                                  {"exe", std::filesystem::canonical("/bin/true").string()},
                                  {"argv", {"/bin/true", marker}},
                                  {"argv_truncated", false},
                                  {"dev", file.st_dev},
                                  {"inode", file.st_ino},
                                  {"old_tid", child}}));
  EXPECT_TRUE(record["exec_id"].get<std::string>().starts_with(boot_tag() + "-" + std::to_string(child) + "-"));
}

TEST_F(ProcessContextTest, ExecIdJoinsForkExecAndExit) {
  auto tracer = start_tracer(
      {"--output", "json", "--trace", "event=execve,sched_process_fork,sched_process_exit", "--trace", "pid=new"});
  ASSERT_TRUE(tracer);
  const std::string parent_marker = unique_marker("exec-id-parent");
  const std::string child_marker = unique_marker("exec-id-child");
  const pid_t shell =
      run_execve("/bin/sh", {"/bin/sh", "-c", "/bin/true " + child_marker + "; exit 3", "sh", parent_marker});
  const Json shell_exec = expect_record(*tracer, event_with_marker("execve", parent_marker), "the shell's execve");
  const Json child_exec = expect_record(*tracer, event_with_marker("execve", child_marker), "the child's execve");
  const std::string shell_id = shell_exec["exec_id"];
  const pid_t child = child_exec["pid"];
  EXPECT_EQ(shell_exec["pid"], shell);
  // The shell's later records name the same image; its child names it as parent.
  const Json fork_record = expect_record(
      *tracer, [&](const Json& r) { return r["event"] == "sched_process_fork" && r["args"]["child_pid"] == child; },
      "the shell's fork");
  EXPECT_EQ(fork_record["exec_id"], shell_id);
  EXPECT_EQ(child_exec["parent_exec_id"], shell_id);
  EXPECT_EQ(child_exec["ppid"], shell);
  // The child ran a copy of the shell's image, then exec'd once more.
  EXPECT_EQ(exec_gen_of(child_exec["exec_id"]), exec_gen_of(shell_id) + 1);
  EXPECT_NE(child_exec["exec_id"], shell_id);
  const Json child_exit = expect_record(
      *tracer, [&](const Json& r) { return r["event"] == "sched_process_exit" && r["pid"] == child; }, "child exit");
  EXPECT_EQ(child_exit["exec_id"], child_exec["exec_id"]);
  const Json shell_exit = expect_record(
      *tracer, [&](const Json& r) { return r["event"] == "sched_process_exit" && r["pid"] == shell; }, "shell exit");
  EXPECT_EQ(shell_exit["exec_id"], shell_id);
  EXPECT_EQ(shell_exit["args"]["exit_code"], 3);
}

TEST_F(ProcessContextTest, ParentIsReportedAfterItExited) {
  auto tracer = start_tracer({"--output", "json", "--output", "option:parent"});
  ASSERT_TRUE(tracer);
  const std::string parent_marker = unique_marker("gone-parent");
  const std::string child_marker = unique_marker("gone-child");
  // The tracer reads nothing while stopped: by the time it prints the child's
  // record, the parent has exited and /proc has forgotten it.
  ASSERT_EQ(kill(tracer->pid(), SIGSTOP), 0);
  const std::string script = "/bin/true " + child_marker + " & wait";
  const pid_t shell = run_execve("/bin/sh", {"/bin/sh", "-c", script, "sh", parent_marker});
  ASSERT_FALSE(std::filesystem::exists("/proc/" + std::to_string(shell)));
  ASSERT_EQ(kill(tracer->pid(), SIGCONT), 0);
  const Json record = expect_record(*tracer, event_with_marker("execve", child_marker), "the child's execve");
  ASSERT_TRUE(record.contains("parent")) << record.dump();
  const Json& parent = record["parent"];
  EXPECT_EQ(parent["pid"], shell);
  EXPECT_EQ(parent["comm"], "sh");
  EXPECT_EQ(parent["exe"], std::filesystem::canonical("/bin/sh").string());
  EXPECT_EQ(parent["argv"], (Json{"/bin/sh", "-c", script, "sh", parent_marker}));
  EXPECT_EQ(parent["exec_id"], record["parent_exec_id"]);
  EXPECT_FALSE(record.contains("ancestors"));
}

TEST_F(ProcessContextTest, AncestorsOfAThreeDeepChain) {
  auto tracer = start_tracer({"--output", "json", "--output", "option:ancestors"});
  ASSERT_TRUE(tracer);
  const std::string a = unique_marker("chain-a");
  const std::string b = unique_marker("chain-b");
  const std::string c = unique_marker("chain-c");
  const std::string inner = "/bin/true " + c + "; exit 0";
  const std::string outer = "/bin/sh -c '" + inner + "' sh " + b + "; exit 0";
  const pid_t first = run_execve("/bin/sh", {"/bin/sh", "-c", outer, "sh", a});
  const Json record = expect_record(*tracer, event_with_marker("execve", c), "the innermost execve");
  ASSERT_TRUE(record.contains("ancestors")) << record.dump();
  const Json& chain = record["ancestors"];
  ASSERT_GE(chain.size(), 4u) << chain.dump();
  EXPECT_EQ(chain[0], record["parent"]);
  EXPECT_EQ(chain[0]["argv"], (Json{"/bin/sh", "-c", inner, "sh", b}));
  EXPECT_EQ(chain[1]["pid"], first);
  EXPECT_EQ(chain[1]["argv"], (Json{"/bin/sh", "-c", outer, "sh", a}));
  EXPECT_EQ(chain[2]["pid"], getpid());
  EXPECT_EQ(chain[2]["comm"], self_comm());
  EXPECT_EQ(chain.back()["pid"], 1) << "the chain goes up to pid 1";
}

TEST_F(ProcessContextTest, BprmCheckIsReportedOrRefusedInOneLine) {
  const Completed check = run_tracer_to_completion({"--check"});
  ASSERT_EQ(check.status, 0) << check.err;
  const bool lsm_attaches = check.out.find("bpf_lsm_attach         yes") != std::string::npos;
  const std::vector<std::string> args = {"--output", "json", "--trace", "event=security_bprm_check,execve"};
  if (!lsm_attaches) {
    // This machine: BPF LSM is active, but its programs are refused. Asked
    // for by name, the event that cannot be produced stops the run.
    EXPECT_NE(check.out.find("security_bprm_check    no   BPF LSM program"), std::string::npos) << check.out;
    const Completed refused = run_tracer_to_completion(args);
    ASSERT_TRUE(WIFEXITED(refused.status)) << refused.status;
    EXPECT_EQ(WEXITSTATUS(refused.status), 1) << refused.err;
    EXPECT_TRUE(
        refused.err.starts_with("tracer: security_bprm_check cannot be traced: the kernel refuses BPF LSM "
                                "programs"))
        << refused.err;
    EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
    return;
  }
  // The kernel matrix's 6.1 guest: BPF LSM programs load and attach there.
  EXPECT_NE(check.out.find("security_bprm_check    yes"), std::string::npos) << check.out;
  auto tracer = start_tracer(args);
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("bprm");
  const pid_t child = run_execve("/bin/true", {"/bin/true", marker});
  struct stat file {};
  ASSERT_EQ(stat("/bin/true", &file), 0);
  const Json exec = expect_record(*tracer, event_with_marker("execve", marker), "execve");
  EXPECT_EQ(exec["pid"], child);
  EXPECT_EQ(exec["args"]["filename"], "/bin/true");
  EXPECT_EQ(exec["args"]["inode"], file.st_ino);
  EXPECT_EQ(exec["args"]["dev"], file.st_dev);
  const Json check_record = expect_record(*tracer, event_with_marker("security_bprm_check", marker), "bprm");
  EXPECT_EQ(check_record["args"]["filename"], "/bin/true");
  EXPECT_EQ(check_record["args"]["inode"], file.st_ino);
  EXPECT_EQ(check_record["args"]["dev"], file.st_dev);
  EXPECT_EQ(check_record["args"]["argv"], (Json{"/bin/true", marker}));
}

class ContainerTest : public ::testing::TestWithParam<CgroupNaming> {
 protected:
  void SetUp() override {
    TRACER_E2E_REQUIRE_ROOT();
    cgroup_ = std::make_unique<ContainerCgroup>(GetParam());
    if (!cgroup_->ok()) {
      if (GetParam() == CgroupNaming::systemd_scope && std::getenv("CI")) FAIL() << cgroup_->why();
      GTEST_SKIP() << cgroup_->why();
    }
  }
  // Runs /bin/true <marker> as pid 1 of a new pid namespace in the cgroup.
  void run_in_container(const std::string& marker) {
    ContainerProcess process(*cgroup_, {"/bin/true", marker}, false);
    EXPECT_EQ(process.wait(), 0);
  }
  std::unique_ptr<ContainerCgroup> cgroup_;
};

TEST_P(ContainerTest, RecordCarriesContainerIdAndNamespacePid) {
  auto tracer = start_tracer({"--output", "json"});
  ASSERT_TRUE(tracer);
  const std::string host_marker = unique_marker("host");
  const std::string marker = unique_marker("container");
  run_execve("/bin/true", {"/bin/true", host_marker});
  run_in_container(marker);
  // The marker is in unshare's argv too; /bin/true is exec'd by the namespace's init.
  const auto marked = has_marker(marker);
  const Json record = expect_record(
      *tracer, [&](const Json& r) { return marked(r) && r["args"]["filename"] == "/bin/true"; },
      "the container's execve");
  EXPECT_EQ(record["container_id"], cgroup_->id());
  EXPECT_EQ(record["ns_pid"], 1);
  EXPECT_NE(record["pid"], 1);
  EXPECT_NE(record["pidns"], namespace_inode("pid"));
  const Json host = expect_record(*tracer, event_with_marker("execve", host_marker), "the host's execve");
  EXPECT_EQ(host["container_id"], nullptr);
  EXPECT_EQ(host["ns_pid"], host["pid"]);
}

TEST_P(ContainerTest, ContainerFiltersSelectContainersOnly) {
  const std::vector<std::string> filters = {"container", "container=" + cgroup_->id().substr(0, 12), "container=new"};
  for (const std::string& filter : filters) {
    auto tracer = start_tracer({"--output", "json", "--trace", filter});
    ASSERT_TRUE(tracer);
    const std::string host_marker = unique_marker("host");
    const std::string marker = unique_marker("container");
    run_execve("/bin/true", {"/bin/true", host_marker});
    run_in_container(marker);
    const Json record = expect_record(*tracer, event_with_marker("execve", marker), filter);
    EXPECT_EQ(record["container_id"], cgroup_->id()) << filter;
    expect_absent(*tracer, host_marker);
  }
}

TEST_P(ContainerTest, NotContainerSelectsTheHostOnly) {
  auto tracer = start_tracer({"--output", "json", "--trace", "!container"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("container");
  const std::string host_marker = unique_marker("host");
  run_in_container(marker);
  run_execve("/bin/true", {"/bin/true", host_marker});
  expect_record(*tracer, event_with_marker("execve", host_marker), "the host's execve");
  expect_absent(*tracer, marker);
}

TEST_P(ContainerTest, OtherIdsAndOlderContainersAreNotSelected) {
  ContainerCgroup second(GetParam());
  ASSERT_TRUE(second.ok()) << second.why();
  // Its namespace's init starts before the tracers: an older container.
  const std::string old_marker = unique_marker("old");
  ContainerProcess parked(*cgroup_, {"/bin/true", old_marker}, true);
  auto newer = start_tracer({"--output", "json", "--trace", "container=new"});
  auto by_id = start_tracer({"--output", "json", "--trace", "container=" + second.id().substr(0, 16)});
  ASSERT_TRUE(newer && by_id);
  parked.go();
  EXPECT_EQ(parked.wait(), 0);
  const std::string first_marker = unique_marker("first");
  const std::string second_marker = unique_marker("second");
  run_in_container(first_marker);
  ContainerProcess in_second(second, {"/bin/true", second_marker}, false);
  EXPECT_EQ(in_second.wait(), 0);

  expect_record(*newer, event_with_marker("execve", first_marker), "a new container's execve");
  expect_record(*newer, event_with_marker("execve", second_marker), "another new container's execve");
  expect_absent(*newer, old_marker);
  const Json selected = expect_record(*by_id, event_with_marker("execve", second_marker), "the chosen id's execve");
  EXPECT_EQ(selected["container_id"], second.id());
  expect_absent(*by_id, first_marker);
  expect_absent(*by_id, old_marker);
}

INSTANTIATE_TEST_SUITE_P(Naming, ContainerTest, ::testing::Values(CgroupNaming::systemd_scope, CgroupNaming::cgroupfs),
                         [](const ::testing::TestParamInfo<CgroupNaming>& param_info) {
                           return param_info.param == CgroupNaming::systemd_scope ? "SystemdScopeV2" : "CgroupfsV1";
                         });

}  // namespace
}  // namespace tracer::e2e
