// End-to-end: the real tracer, real execs, the exact JSON it printed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

struct stat stat_of(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info;
}

// Every exec test runs with each way of hooking the exec syscalls.
class ExecTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    TRACER_E2E_REQUIRE_ROOT();
    start({"--output", "json"});
  }
  void start(std::vector<std::string> args) {
    args.insert(args.end(), {"--syscall-hook", GetParam()});
    std::string why;
    tracer_ = TracerProcess::start(args, why);
    ASSERT_TRUE(tracer_) << why;
  }
  Json expect_record(const std::string& marker) {
    std::optional<Json> record = tracer_->wait_for_json(has_marker(marker));
    EXPECT_TRUE(record) << "no record with " << marker << "; stderr:\n" << tracer_->err().text();
    return record.value_or(Json::object());
  }
  std::unique_ptr<TracerProcess> tracer_;
};

TEST_P(ExecTest, SuccessfulExecveIsOneExactRecord) {
  const std::string marker = unique_marker("ok");
  const std::time_t before = std::time(nullptr);
  const pid_t child = run_execve("/bin/true", {"/bin/true", marker});
  const Json record = expect_record(marker);
  ASSERT_FALSE(record.empty());

  const struct stat executable = stat_of("/bin/true");
  EXPECT_EQ(record["event"], "execve");
  EXPECT_EQ(record["pid"], child);
  EXPECT_EQ(record["tid"], child);
  EXPECT_EQ(record["ppid"], getpid());
  EXPECT_EQ(record["ns_pid"], child);
  EXPECT_EQ(record["uid"], 0);
  EXPECT_EQ(record["gid"], 0);
  EXPECT_EQ(record["comm"], self_comm());  // the caller's comm, at entry
  EXPECT_EQ(record["mntns"], namespace_inode("mnt"));
  EXPECT_EQ(record["pidns"], namespace_inode("pid"));
  EXPECT_EQ(record["container_id"], nullptr);
  EXPECT_EQ(record["ret"], 0);
  EXPECT_EQ(record["flags"], Json::array());
  const Json expected_args = {{"pathname", "/bin/true"},
                              {"argv", {"/bin/true", marker}},
                              {"argv_truncated", false},
                              {"filename", "/bin/true"},
                              {"exe", std::filesystem::canonical("/bin/true").string()},
                              {"dev", executable.st_dev},
                              {"inode", executable.st_ino}};
  EXPECT_EQ(record["args"], expected_args);

  const std::string timestamp = record["timestamp"];
  EXPECT_TRUE(std::regex_match(timestamp, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)"))) << timestamp;
  std::tm parsed{};
  std::istringstream(timestamp) >> std::get_time(&parsed, "%Y-%m-%dT%H:%M:%S");
  const std::time_t when = timegm(&parsed);
  EXPECT_GE(when, before - 1);
  EXPECT_LE(when, std::time(nullptr) + 1);

  // Exactly one record for this attempt.
  tracer_->stop();
  int count = 0;
  for (const Json& line : tracer_->json_lines())
    if (has_marker(marker)(line)) ++count;
  EXPECT_EQ(count, 1);
}

TEST_P(ExecTest, MissingFileIsEnoent) {
  const std::string marker = unique_marker("enoent");
  const std::string path = "/nonexistent/" + marker;
  run_execve(path, {path, marker});
  const Json record = expect_record(marker);
  EXPECT_EQ(record["event"], "execve");
  EXPECT_EQ(record["ret"], -2);
  const Json expected_args = {{"pathname", path}, {"argv", {path, marker}}, {"argv_truncated", false}};
  EXPECT_EQ(record["args"], expected_args);
}

TEST_P(ExecTest, FailedExecKeepsEmptyArguments) {
  // A failed exec's argv is read string by string from the caller; empty
  // strings must stay (older kernels report them with a length of 0).
  const std::string marker = unique_marker("empty-args");
  const std::string path = "/nonexistent/" + marker;
  run_execve(path, {"", marker, "", "last"});
  const Json record = expect_record(marker);
  EXPECT_EQ(record["ret"], -2);
  EXPECT_EQ(record["args"]["argv"], (Json{"", marker, "", "last"}));
}

TEST_P(ExecTest, FileWithoutExecPermissionIsEacces) {
  TempDir dir;
  const std::string script = dir.write_file("not-executable", "#!/bin/sh\nexit 0\n", 0644);
  const std::string marker = unique_marker("eacces");
  run_execve(script, {script, marker});
  const Json record = expect_record(marker);
  EXPECT_EQ(record["ret"], -13);
  EXPECT_EQ(record["args"]["pathname"], script);
}

// A pathname whose page the child has not touched yet cannot be read at
// syscall entry; the tracer must still report it exactly.
TEST_P(ExecTest, PathnameNotYetMappedAtEntryIsStillRead) {
  for (int i = 0; i < 5; ++i) {
    const std::string marker = unique_marker("literal");
    run_execve_of_literal(true, {"true", marker});
    const Json record = expect_record(marker);
    EXPECT_EQ(record["args"]["pathname"], "/bin/true");
    EXPECT_EQ(record["flags"], Json::array()) << record.dump();

    const std::string failed_marker = unique_marker("literal-failed");
    run_execve_of_literal(false, {"nope", failed_marker});
    const Json failed = expect_record(failed_marker);
    EXPECT_EQ(failed["ret"], -2);
    EXPECT_EQ(failed["args"]["pathname"], "/nonexistent/tracer-e2e-literal");
    EXPECT_EQ(failed["flags"], Json::array()) << failed.dump();
  }
}

TEST_P(ExecTest, ExecveatRelativeToDirectoryFd) {
  const int directory = open("/usr/bin", O_PATH | O_DIRECTORY);
  ASSERT_GE(directory, 0);
  const std::string marker = unique_marker("execveat");
  run_execveat(directory, "true", {"true", marker}, 0);
  const Json record = expect_record(marker);
  close(directory);
  const struct stat executable = stat_of("/usr/bin/true");
  EXPECT_EQ(record["event"], "execveat");
  EXPECT_EQ(record["ret"], 0);
  EXPECT_EQ(record["args"]["pathname"], "true");
  EXPECT_EQ(record["args"]["dirfd"], directory);
  EXPECT_EQ(record["args"]["flags"], "0");
  EXPECT_EQ(record["args"]["filename"], "/dev/fd/" + std::to_string(directory) + "/true");
  EXPECT_EQ(record["args"]["inode"], executable.st_ino);
  EXPECT_EQ(record["args"]["dev"], executable.st_dev);
  EXPECT_EQ(record["flags"], Json::array());
}

TEST_P(ExecTest, ExecveatEmptyPathOnMemfdIsFileless) {
  const int memory_file = memfd_create("tracer-e2e", 0);
  ASSERT_GE(memory_file, 0);
  std::ifstream binary("/bin/true", std::ios::binary);
  const std::string content((std::istreambuf_iterator<char>(binary)), std::istreambuf_iterator<char>());
  ASSERT_EQ(write(memory_file, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  const std::string marker = unique_marker("memfd");
  run_execveat(memory_file, "", {"memfd-true", marker}, AT_EMPTY_PATH);
  const Json record = expect_record(marker);
  close(memory_file);
  EXPECT_EQ(record["event"], "execveat");
  EXPECT_EQ(record["ret"], 0);
  EXPECT_EQ(record["args"]["pathname"], "");
  EXPECT_EQ(record["args"]["flags"], "AT_EMPTY_PATH");
  EXPECT_EQ(record["args"]["filename"], "/dev/fd/" + std::to_string(memory_file));
  EXPECT_EQ(record["flags"], Json::array({"fileless"}));
  EXPECT_EQ(record["args"]["exe"], "/memfd:tracer-e2e");
}

TEST_P(ExecTest, ShebangScriptReportsInterpreter) {
  TempDir dir;
  const std::string script = dir.write_file("script.sh", "#!/bin/sh\nexit 0\n", 0755);
  const std::string marker = unique_marker("script");
  run_execve(script, {script, marker});
  const Json record = expect_record(marker);
  const struct stat interpreter = stat_of("/bin/sh");
  EXPECT_EQ(record["ret"], 0);
  EXPECT_EQ(record["args"]["pathname"], script);
  EXPECT_EQ(record["args"]["filename"], script);
  EXPECT_EQ(record["args"]["interpreter"], "/bin/sh");
  // argv as the kernel installed it in the new image: the interpreter first.
  EXPECT_EQ(argv_of(record), (std::vector<std::string>{"/bin/sh", script, marker}));
  // exe, dev and inode name the image the kernel loaded (the interpreter, as /proc/PID/exe).
  EXPECT_EQ(record["args"]["inode"], interpreter.st_ino);
  EXPECT_EQ(record["args"]["exe"], std::filesystem::canonical("/bin/sh").string());
}

const std::vector<std::string> kHostileArguments = {
    "with space", "quote\"d 'single'",   "back\\slash",      "new\nline",
    "tab\there",  "\x1b[31mansi\x1b[0m", "\xff\xfe invalid", "caf\xc3\xa9",
};

TEST_P(ExecTest, HostileArgvRoundTripsInJson) {
  const std::string marker = unique_marker("hostile");
  std::vector<std::string> argv = {"/bin/true", marker};
  argv.insert(argv.end(), kHostileArguments.begin(), kHostileArguments.end());
  run_execve("/bin/true", argv);

  const std::string raw_line = tracer_->wait_for_line_containing(marker);
  ASSERT_FALSE(raw_line.empty()) << tracer_->err().text();
  // §4: one line, invalid bytes as \u00XX per byte, control characters escaped.
  EXPECT_NE(raw_line.find(R"("\u00ff\u00fe invalid")"), std::string::npos) << raw_line;
  EXPECT_NE(raw_line.find(R"("new\nline")"), std::string::npos);
  EXPECT_NE(raw_line.find(R"("\u001b[31mansi\u001b[0m")"), std::string::npos);
  EXPECT_NE(raw_line.find(R"("back\\slash")"), std::string::npos);
  EXPECT_NE(raw_line.find(R"("quote\"d 'single'")"), std::string::npos);
  EXPECT_NE(raw_line.find("\"caf\xc3\xa9\""), std::string::npos);
  EXPECT_EQ(raw_line.find('\x1b'), std::string::npos);

  const Json record = Json::parse(raw_line);
  std::vector<std::string> expected = argv;
  expected[2 + 6] = "\xc3\xbf\xc3\xbe invalid";  // each invalid byte 0xXX decodes as U+00XX
  EXPECT_EQ(argv_of(record), expected);
  EXPECT_TRUE(has_flag(record, "invalid_utf8"));
}

TEST_P(ExecTest, HostileArgvIsEscapedInTheTable) {
  tracer_->stop();
  start({});  // table output
  const std::string marker = unique_marker("table");
  std::vector<std::string> argv = {"/bin/true", marker};
  argv.insert(argv.end(), kHostileArguments.begin(), kHostileArguments.end());
  run_execve("/bin/true", argv);
  const std::string row = tracer_->wait_for_line_containing(marker);
  ASSERT_FALSE(row.empty()) << tracer_->err().text();
  EXPECT_NE(row.find(R"('new\nline')"), std::string::npos) << row;
  EXPECT_NE(row.find(R"(\x1b[31mansi\x1b[0m)"), std::string::npos) << row;
  EXPECT_NE(row.find(R"('\xff\xfe invalid')"), std::string::npos) << row;
  EXPECT_NE(row.find(R"('back\\slash')"), std::string::npos) << row;
  EXPECT_NE(row.find("'with space'"), std::string::npos) << row;
  EXPECT_NE(row.find(" execve "), std::string::npos);
  for (char c : row) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20) << row;
  const std::vector<std::string> lines = tracer_->out().lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(lines[0].starts_with("TIME            UID   COMM            PID     TID     RET    EVENT         ARGS"))
      << lines[0];
}

TEST_P(ExecTest, ThousandArgumentsAreCutToMaxArgs) {
  const std::string marker = unique_marker("many");
  std::vector<std::string> argv = {"/bin/true", marker};
  // Appended, not "a" + number: gcc 12.2's -O3 -Wrestrict misreads that.
  for (int i = 0; i < 1000; ++i) argv.push_back(std::string("a").append(std::to_string(i)));
  run_execve("/bin/true", argv);
  const Json record = expect_record(marker);
  EXPECT_EQ(record["ret"], 0);
  const std::vector<std::string> captured = argv_of(record);
  ASSERT_EQ(captured.size(), 128u);
  EXPECT_EQ(captured, std::vector<std::string>(argv.begin(), argv.begin() + 128));
  EXPECT_EQ(record["args"]["argv_truncated"], true);
  EXPECT_TRUE(has_flag(record, "argv_truncated"));
}

TEST_P(ExecTest, FailedExecWithThousandArgumentsIsCutToMaxArgs) {
  const std::string marker = unique_marker("many-failed");
  std::vector<std::string> argv = {"/nonexistent", marker};
  for (int i = 0; i < 1000; ++i) argv.push_back(std::string("a").append(std::to_string(i)));
  run_execve("/nonexistent", argv);
  const Json record = expect_record(marker);
  EXPECT_EQ(record["ret"], -2);
  EXPECT_EQ(argv_of(record), std::vector<std::string>(argv.begin(), argv.begin() + 128));
  EXPECT_EQ(record["args"]["argv_truncated"], true);
}

TEST_P(ExecTest, HundredKibArgumentIsTruncatedAndFlagged) {
  const std::string marker = unique_marker("huge");
  const std::string huge(100 * 1024, 'x');
  run_execve("/bin/true", {"/bin/true", marker, huge, "after"});
  const Json record = expect_record(marker);
  EXPECT_EQ(record["ret"], 0);
  const std::vector<std::string> captured = argv_of(record);
  ASSERT_EQ(captured.size(), 3u);
  EXPECT_EQ(captured[0], "/bin/true");
  EXPECT_LT(captured[2].size(), huge.size());
  EXPECT_EQ(captured[2], huge.substr(0, captured[2].size()));
  EXPECT_GE(captured[0].size() + captured[1].size() + captured[2].size() + 3, 32768u - 1);
  EXPECT_EQ(record["args"]["argv_truncated"], true);
}

TEST_P(ExecTest, ExecFromNonLeaderThread) {
  const std::string marker = unique_marker("thread");
  pid_t thread_tid = -1;
  const pid_t child = run_execve_from_thread("/bin/true", {"/bin/true", marker}, thread_tid);
  const Json record = expect_record(marker);
  ASSERT_GT(thread_tid, 0);
  ASSERT_NE(thread_tid, child);
  EXPECT_EQ(record["event"], "execve");
  EXPECT_EQ(record["ret"], 0);
  EXPECT_EQ(record["pid"], child);
  EXPECT_EQ(record["tid"], thread_tid);  // the caller, as it was at entry
  EXPECT_EQ(argv_of(record), (std::vector<std::string>{"/bin/true", marker}));
  EXPECT_EQ(record["flags"], Json::array());
}

TEST_P(ExecTest, BurstOfTwoThousandExecsIsComplete) {
  constexpr int kExecs = 2000;
  const std::string prefix = unique_marker("burst") + "-";
  for (int i = 0; i < kExecs; ++i) run_execve("/bin/true", {"/bin/true", prefix + std::to_string(i)});
  const std::string last = prefix + std::to_string(kExecs - 1);
  ASSERT_TRUE(tracer_->wait_for_json(has_marker(last), 60s)) << tracer_->err().text();
  tracer_->stop();
  std::vector<bool> seen(kExecs, false);
  for (const Json& record : tracer_->json_lines()) {
    if (!record.contains("args")) continue;
    for (const Json& argument : record["args"]["argv"]) {
      const std::string text = argument.get<std::string>();
      if (text.starts_with(prefix)) seen[std::stoi(text.substr(prefix.size()))] = true;
    }
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), kExecs) << tracer_->err().text();
  EXPECT_NE(tracer_->err().text().find(" 0 lost"), std::string::npos) << tracer_->err().text();
}

INSTANTIATE_TEST_SUITE_P(SyscallHook, ExecTest, ::testing::Values("tracepoint", "raw"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param == "tracepoint" ? std::string("Tracepoints")
                                                                   : std::string("RawSysEnterExit");
                         });

}  // namespace
}  // namespace tracer::e2e
