// End-to-end: how the tracer starts, stops, fails and reports (§6, §7).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

// The BPF programs and links one process holds: the ids its fds name in
// /proc/PID/fdinfo (prog_id, link_id). Only this tracer's, whatever else runs
// on the machine (another tracer too).
struct BpfObjects {
  std::set<uint32_t> programs;
  std::set<uint32_t> links;
};

BpfObjects bpf_objects_of(pid_t pid) {
  BpfObjects objects;
  const std::filesystem::path fdinfo = "/proc/" + std::to_string(pid) + "/fdinfo";
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(fdinfo, error)) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      std::set<uint32_t>* ids = line.starts_with("prog_id:")   ? &objects.programs
                                : line.starts_with("link_id:") ? &objects.links
                                                               : nullptr;
      if (ids) ids->insert(static_cast<uint32_t>(std::stoul(line.substr(line.find(':') + 1))));
    }
  }
  return objects;
}

bool program_loaded(uint32_t id) {
  const int fd = bpf_prog_get_fd_by_id(id);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

bool link_loaded(uint32_t id) {
  const int fd = bpf_link_get_fd_by_id(id);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

// The kernel frees a program after an RCU grace period, shortly after the
// last fd closed: wait for that, with a deadline. Ids are not reused soon
// (the kernel allocates them cyclically).
bool all_gone(const BpfObjects& objects) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    if (std::none_of(objects.programs.begin(), objects.programs.end(), program_loaded) &&
        std::none_of(objects.links.begin(), objects.links.end(), link_loaded))
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// A tracer's BPF objects, taken while it runs, for all_gone() after it exits.
BpfObjects held_by(const TracerProcess& tracer) {
  BpfObjects objects = bpf_objects_of(tracer.pid());
  EXPECT_FALSE(objects.programs.empty()) << "tracer " << tracer.pid() << " holds no BPF program";
  return objects;
}

// The newest BPF program's id.
uint32_t highest_program_id() {
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
  }
  return id;
}

// Programs named tracer_ or probe_ loaded since `after` (the highest id then)
// and still loaded: for a tracer run to completion, whose fds cannot be seen.
// Another tracer started meanwhile would count too.
BpfObjects ours_loaded_since(uint32_t after) {
  BpfObjects objects;
  uint32_t id = after;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t length = sizeof(info);
    const std::string name = bpf_obj_get_info_by_fd(fd, &info, &length) == 0 ? info.name : "";
    if (name.starts_with("tracer_") || name.starts_with("probe_")) objects.programs.insert(id);
    close(fd);
  }
  return objects;
}

// Execs until the tracer exits by itself (it should, when the reader of its
// stdout went away); its wait status, or -1 when it kept running.
int exec_until_tracer_exits(TracerProcess& tracer, const std::string& tag) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    run_execve("/bin/true", {"/bin/true", unique_marker(tag)});
    if (const int status = tracer.wait_exit(200ms); status != -1) return status;
  }
  return -1;
}

TEST(Lifecycle, SigtermDrainsSummarisesAndLeavesNoProgramOrLink) {
  TRACER_E2E_REQUIRE_ROOT();
  auto tracer = start_tracer({"--output", "json"});
  ASSERT_TRUE(tracer);
  const BpfObjects objects = held_by(*tracer);
  const std::set<uint32_t>& programs = objects.programs;
  // The exec syscalls' entry (two tracepoints, or raw sys_enter) and exit (one
  // program on two tracepoints, or raw sys_exit), sched_process_exec,
  // sched_prepare_exec where the kernel has it, and tracer_whoami (run once at
  // start, never attached).
  EXPECT_GE(programs.size(), 4u);
  EXPECT_LE(programs.size(), 6u);
  EXPECT_GE(objects.links.size(), programs.size() - 1);

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

  EXPECT_TRUE(all_gone(objects));
}

TEST(Lifecycle, SigintStopsWithStatusZero) {
  TRACER_E2E_REQUIRE_ROOT();
  auto tracer = start_tracer({"--output", "none"});
  ASSERT_TRUE(tracer);
  const BpfObjects objects = held_by(*tracer);
  run_execve("/bin/true", {"/bin/true", unique_marker("sigint")});
  EXPECT_EQ(tracer->stop(SIGINT), 0);
  EXPECT_NE(tracer->err().text().find("events emitted"), std::string::npos);
  EXPECT_TRUE(all_gone(objects));
}

TEST(Lifecycle, SigkillLeavesNoProgram) {
  TRACER_E2E_REQUIRE_ROOT();
  auto tracer = start_tracer({"--output", "none"});
  ASSERT_TRUE(tracer);
  const BpfObjects objects = held_by(*tracer);
  const int status = tracer->stop(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(all_gone(objects));
}

TEST(Lifecycle, ClosedStdoutExitsZeroQuietly) {
  TRACER_E2E_REQUIRE_ROOT();
  auto tracer = start_tracer({"--output", "json"});
  ASSERT_TRUE(tracer);
  const BpfObjects objects = held_by(*tracer);
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
  EXPECT_TRUE(all_gone(objects));
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
            "tracer: --output 'xml': expected table, json, none, table:PATH, json:PATH, out-file:PATH, "
            "audit-log:PATH, syslog:tcp://HOST:PORT, syslog:unix:PATH, nats:URL, option:parent, option:ancestors or "
            "option:env "
            "(--output help)\n");
}

TEST(Lifecycle, UnwritableOutFileIsStatusOne) {
  TRACER_E2E_REQUIRE_ROOT();
  const Completed completed = run_tracer_to_completion({"--output", "out-file:/nonexistent-dir/x.json"});
  ASSERT_TRUE(WIFEXITED(completed.status));
  EXPECT_EQ(WEXITSTATUS(completed.status), 1);
  EXPECT_EQ(completed.err, "tracer: cannot open output file /nonexistent-dir/x.json: No such file or directory\n");
}

// A path is shown escaped: its newline does not start a forged line.
TEST(Lifecycle, OutputPathIsShownEscaped) {
  TRACER_E2E_REQUIRE_ROOT();
  const Completed completed =
      run_tracer_to_completion({"--output", "out-file:/nonexistent-dir/x\ntracer: 0 events emitted\x1b[8m"});
  ASSERT_TRUE(WIFEXITED(completed.status));
  EXPECT_EQ(WEXITSTATUS(completed.status), 1);
  EXPECT_EQ(std::count(completed.err.begin(), completed.err.end(), '\n'), 1) << completed.err;
  EXPECT_NE(completed.err.find("/nonexistent-dir/x\\ntracer: 0 events emitted\\x1b[8m"), std::string::npos)
      << completed.err;
}

// A --config file's path and keys are the user's: shown escaped.
TEST(Lifecycle, ConfigKeyAndPathAreShownEscaped) {
  char directory[] = "/tmp/tracer-e2e-XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  const std::string path = std::string(directory) + "/config\x1b]0;title\x07.json";
  std::ofstream(path) << R"({"\u001b[31mtrace": []})";
  const Completed completed = run_tracer_to_completion({"--config", path});
  std::filesystem::remove_all(directory);
  ASSERT_TRUE(WIFEXITED(completed.status));
  EXPECT_EQ(WEXITSTATUS(completed.status), 2);
  EXPECT_EQ(completed.err.find('\x1b'), std::string::npos) << completed.err;
  EXPECT_NE(completed.err.find("config\\x1b]0;title\\x07.json: unknown key \"\\x1b[31mtrace\""), std::string::npos)
      << completed.err;
}

TEST(Lifecycle, CheckAndListDescribeTheKernel) {
  TRACER_E2E_REQUIRE_ROOT();
  const uint32_t before = highest_program_id();
  const Completed check = run_tracer_to_completion({"--check"});
  EXPECT_EQ(check.status, 0);
  EXPECT_TRUE(std::regex_search(check.out, std::regex(R"(\nring_buffer +yes)"))) << check.out;
  EXPECT_TRUE(std::regex_search(check.out, std::regex(R"(\nbtf +yes)"))) << check.out;
  EXPECT_TRUE(std::regex_search(check.out, std::regex(R"(\nexecve +yes +default\n)"))) << check.out;
  EXPECT_TRUE(std::regex_search(check.out, std::regex(R"(\nbpf_lsm_attach +(yes|no) )"))) << check.out;
  const Completed list = run_tracer_to_completion({"--list"});
  EXPECT_EQ(list.status, 0);
  EXPECT_TRUE(std::regex_search(list.out, std::regex(R"(^exec:\n  execve +default +supported)"))) << list.out;
  // Grouped, syscalls sorted by name, every line within 100 columns.
  for (const char* heading : {"\nprocess lifecycle:\n  sched_process_fork ",
                              "\nuser functions (uprobes):\n  bash_readline ", "\ngroups (event=@NAME):\n  @fs "})
    EXPECT_NE(list.out.find(heading), std::string::npos) << heading << "\n" << list.out;
  const size_t syscalls = list.out.find("by name:\n");
  ASSERT_NE(syscalls, std::string::npos) << list.out;
  std::istringstream names(list.out.substr(syscalls + 9, list.out.find("\n\n", syscalls) - syscalls - 9));
  std::vector<std::string> sorted{std::istream_iterator<std::string>(names), {}};
  EXPECT_GT(sorted.size(), 300u);
  EXPECT_TRUE(std::ranges::is_sorted(sorted));
  std::istringstream lines(list.out);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << line;
  EXPECT_TRUE(all_gone(ours_loaded_since(before)));
}

}  // namespace
}  // namespace tracer::e2e
