// End-to-end: how the tracer starts, stops, fails and reports (§6, §7).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <set>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

// Ids of loaded BPF programs whose name starts with "tracer_".
std::set<uint32_t> tracer_program_ids() {
  std::set<uint32_t> ids;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &length) == 0 && std::string(info.name).starts_with("tracer_"))
      ids.insert(id);
    close(fd);
  }
  return ids;
}

// Ids of BPF links whose program is one of program_ids.
std::set<uint32_t> links_of(const std::set<uint32_t>& program_ids) {
  std::set<uint32_t> ids;
  uint32_t id = 0;
  while (bpf_link_get_next_id(id, &id) == 0) {
    const int fd = bpf_link_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_link_info info{};
    uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &length) == 0 && program_ids.count(info.prog_id)) ids.insert(id);
    close(fd);
  }
  return ids;
}

// The kernel frees a program after an RCU grace period, shortly after the
// last fd closed: wait for that, with a deadline.
bool tracer_programs_gone(const std::set<uint32_t>& links_to_watch = {}) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    const std::set<uint32_t> programs = tracer_program_ids();
    if (programs.empty() && links_of(links_to_watch).empty()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Execs until the tracer exits by itself (it should, on a write error); its
// wait status, or -1 when it kept running.
int exec_until_tracer_exits(TracerProcess& tracer, const std::string& tag) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    run_execve("/bin/true", {"/bin/true", unique_marker(tag)});
    if (const int status = tracer.wait_exit(200ms); status != -1) return status;
  }
  return -1;
}

TEST(Lifecycle, SigtermDrainsSummarisesAndLeavesNoProgramOrLink) {
  TRACER_E2E_REQUIRE_ROOT();
  ASSERT_TRUE(tracer_programs_gone()) << "programs of an earlier tracer are still loaded";
  auto tracer = start_tracer({"--output", "json"});
  ASSERT_TRUE(tracer);
  const std::set<uint32_t> programs = tracer_program_ids();
  // The exec syscalls' entry (two tracepoints, or raw sys_enter) and exit (one
  // program on two tracepoints, or raw sys_exit), sched_process_exec,
  // sched_prepare_exec where the kernel has it, and tracer_whoami (run once at
  // start, never attached).
  EXPECT_GE(programs.size(), 4u);
  EXPECT_LE(programs.size(), 6u);
  EXPECT_GE(links_of(programs).size(), programs.size() - 1);

  const std::string marker = unique_marker("drain");
  run_execve("/bin/true", {"/bin/true", marker});
  // Stop at once: the record may still be in the ring buffer and must be drained.
  EXPECT_EQ(tracer->stop(SIGTERM), 0);
  bool found = false;
  for (const Json& record : tracer->json_lines()) found |= has_marker(marker)(record);
  EXPECT_TRUE(found) << "record not drained before exit";
  const std::vector<std::string> errors = tracer->err().lines();
  ASSERT_FALSE(errors.empty());
  EXPECT_TRUE(std::regex_match(errors.back(), std::regex(R"(tracer: \d+ events emitted, 0 lost)"))) << errors.back();

  EXPECT_TRUE(tracer_programs_gone(programs));
}

TEST(Lifecycle, SigintStopsWithStatusZero) {
  TRACER_E2E_REQUIRE_ROOT();
  auto tracer = start_tracer({"--output", "none"});
  ASSERT_TRUE(tracer);
  run_execve("/bin/true", {"/bin/true", unique_marker("sigint")});
  EXPECT_EQ(tracer->stop(SIGINT), 0);
  EXPECT_NE(tracer->err().text().find("events emitted"), std::string::npos);
  EXPECT_TRUE(tracer_programs_gone());
}

TEST(Lifecycle, SigkillLeavesNoProgram) {
  TRACER_E2E_REQUIRE_ROOT();
  auto tracer = start_tracer({"--output", "none"});
  ASSERT_TRUE(tracer);
  EXPECT_FALSE(tracer_program_ids().empty());
  const int status = tracer->stop(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(tracer_programs_gone());
}

TEST(Lifecycle, ClosedStdoutExitsZeroQuietly) {
  TRACER_E2E_REQUIRE_ROOT();
  auto tracer = start_tracer({"--output", "json"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("head");
  run_execve("/bin/true", {"/bin/true", marker});
  ASSERT_TRUE(tracer->wait_for_json(has_marker(marker)));
  tracer->out().stop_and_close();  // like `head -1` exiting
  const int status = exec_until_tracer_exits(*tracer, "after-head");
  ASSERT_NE(status, -1) << "tracer kept running after its reader went away";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::vector<std::string> errors = tracer->err().lines();
  ASSERT_EQ(errors.size(), 1u) << tracer->err().text();  // the readiness line only
  EXPECT_TRUE(tracer_programs_gone());
}

TEST(Lifecycle, OutFileIsCreated0640AndAppended) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string path = dir.path() + "/events.json";
  {
    std::ofstream existing(path);
    existing << "previous line\n";
  }
  auto tracer = start_tracer({"--output", "json", "--output", "out-file:" + path});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("file");
  run_execve("/bin/true", {"/bin/true", marker});
  EXPECT_EQ(tracer->stop(), 0);
  std::ifstream file(path);
  std::string first, line;
  std::getline(file, first);
  EXPECT_EQ(first, "previous line");
  bool found = false;
  while (std::getline(file, line)) found |= line.find(marker) != std::string::npos;
  EXPECT_TRUE(found);
  EXPECT_TRUE(tracer->out().lines().empty());

  const std::string fresh = dir.path() + "/fresh.json";
  auto second = start_tracer({"--output", "json", "--output", "out-file:" + fresh});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->stop(), 0);
  struct stat info {};
  ASSERT_EQ(stat(fresh.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0640u);
}

TEST(Lifecycle, LostRecordsAreCountedAndReported) {
  TRACER_E2E_REQUIRE_ROOT();
  auto tracer = start_tracer({"--output", "json", "--ring-buffer-kib", "64"});
  ASSERT_TRUE(tracer);
  // A stopped consumer cannot drain: the small ring buffer must overflow.
  kill(tracer->pid(), SIGSTOP);
  constexpr int kExecs = 600;
  const std::string prefix = unique_marker("overflow") + "-";
  for (int i = 0; i < kExecs; ++i) run_execve("/bin/true", {"/bin/true", prefix + std::to_string(i)});
  kill(tracer->pid(), SIGCONT);
  const auto report = tracer->err().wait_for(
      [](const std::string& line) { return line.find("ring buffer full") != std::string::npos; }, 10s);
  EXPECT_TRUE(report) << "loss not reported while running:\n" << tracer->err().text();
  EXPECT_EQ(tracer->stop(), 0);
  int captured = 0;
  for (const Json& record : tracer->json_lines()) {
    if (!record.contains("args")) continue;
    for (const Json& argument : record["args"]["argv"])
      if (argument.get<std::string>().starts_with(prefix)) ++captured;
  }
  const std::string summary = tracer->err().lines().back();
  std::smatch match;
  ASSERT_TRUE(std::regex_search(summary, match, std::regex(R"((\d+) events emitted, (\d+) lost)"))) << summary;
  const int lost = std::stoi(match[2]);
  EXPECT_GT(lost, 0);
  EXPECT_LT(captured, kExecs);
  // Every exec is either printed or counted as lost (others may exec too).
  EXPECT_GE(captured + lost, kExecs) << summary;
}

TEST(Lifecycle, WithoutPrivilegesOneLineAndStatusOne) {
  TRACER_E2E_REQUIRE_ROOT();
  const Completed completed = run_tracer_to_completion({"--output", "json"}, 65534);
  ASSERT_TRUE(WIFEXITED(completed.status));
  EXPECT_EQ(WEXITSTATUS(completed.status), 1);
  EXPECT_EQ(completed.err,
            "tracer: needs root, or the capabilities CAP_BPF and CAP_PERFMON (running as uid 65534 without them; "
            "per-syscall tracepoints and uprobes also need CAP_SYS_ADMIN)\n");
  EXPECT_EQ(completed.out, "");
}

TEST(Lifecycle, UsageErrorIsOneLineAndStatusTwo) {
  const Completed completed = run_tracer_to_completion({"--output", "xml"});
  ASSERT_TRUE(WIFEXITED(completed.status));
  EXPECT_EQ(WEXITSTATUS(completed.status), 2);
  EXPECT_EQ(completed.err,
            "tracer: --output 'xml': expected table, json, none, out-file:PATH, audit-log:PATH, option:parent or "
            "option:ancestors\n");
}

TEST(Lifecycle, UnwritableOutFileIsStatusOne) {
  TRACER_E2E_REQUIRE_ROOT();
  const Completed completed = run_tracer_to_completion({"--output", "out-file:/nonexistent-dir/x.json"});
  ASSERT_TRUE(WIFEXITED(completed.status));
  EXPECT_EQ(WEXITSTATUS(completed.status), 1);
  EXPECT_EQ(completed.err, "tracer: cannot open output file /nonexistent-dir/x.json: No such file or directory\n");
}

TEST(Lifecycle, FullDiskIsOneLineAndStatusOne) {
  TRACER_E2E_REQUIRE_ROOT();
  auto tracer = start_tracer({"--output", "json", "--output", "out-file:/dev/full"});
  ASSERT_TRUE(tracer);
  const int status = exec_until_tracer_exits(*tracer, "full");
  ASSERT_NE(status, -1);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(tracer->err().text().find("tracer: writing to /dev/full: No space left on device"), std::string::npos)
      << tracer->err().text();
}

TEST(Lifecycle, CheckAndListDescribeTheKernel) {
  TRACER_E2E_REQUIRE_ROOT();
  const Completed check = run_tracer_to_completion({"--check"});
  EXPECT_EQ(check.status, 0);
  EXPECT_TRUE(std::regex_search(check.out, std::regex(R"(\nring_buffer +yes)"))) << check.out;
  EXPECT_TRUE(std::regex_search(check.out, std::regex(R"(\nbtf +yes)"))) << check.out;
  EXPECT_TRUE(std::regex_search(check.out, std::regex(R"(\nexecve +yes +default\n)"))) << check.out;
  EXPECT_TRUE(std::regex_search(check.out, std::regex(R"(\nbpf_lsm_attach +(yes|no) )"))) << check.out;
  const Completed list = run_tracer_to_completion({"--list"});
  EXPECT_EQ(list.status, 0);
  EXPECT_TRUE(std::regex_search(list.out, std::regex(R"(^execve +default +supported)"))) << list.out;
  EXPECT_TRUE(tracer_programs_gone());
}

}  // namespace
}  // namespace tracer::e2e
