// Several outputs at once: the table on stdout and JSON lines in a file from
// one run, the combinations that cannot work refused, and one set of counters
// per output on /metrics. Outputs under faults: a symlink or a FIFO nobody
// reads refused, a full output costing only its own records (counted), a torn
// line never continued, a failed reopen keeping the old file, and a stdout
// nobody reads that neither blocks the other outputs nor a stop.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "exec_helpers.hpp"
#include "pty_program.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

// The JSON line of path holding marker; an empty object when there is none.
Json json_record_with(const std::string& path, const std::string& marker) {
  for (const std::string& line : lines_of(path))
    if (line.find(marker) != std::string::npos) return Json::parse(line);
  return Json::object();
}

TEST(OutputTest, TableOnStdoutAndJsonInAFileFromOneRun) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string path = dir.path() + "/exec.json";
  auto tracer = start_tracer({"--output", "table", "--output", "json:" + path});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("both");
  const pid_t pid = run_execve("/bin/true", {"/bin/true", marker});
  const std::string row = tracer->wait_for_line_containing(marker);
  const std::string missing = unique_marker("missing");
  run_execve("/nonexistent/" + missing, {missing});
  // A failed exec's RET is spelled as a failed syscall's.
  const std::string failed = tracer->wait_for_line_containing(missing);
  EXPECT_EQ(tracer->stop(), 0);
  EXPECT_NE(failed.find(" ENOENT execve "), std::string::npos) << failed;

  EXPECT_NE(row.find(" execve "), std::string::npos) << row;
  EXPECT_NE(row.find(std::to_string(pid)), std::string::npos) << row;
  EXPECT_NE(row.find("/bin/true " + marker), std::string::npos) << row;
  ASSERT_FALSE(tracer->out().lines().empty());
  EXPECT_TRUE(tracer->out().lines().front().starts_with("TIME")) << tracer->out().lines().front();
  for (const std::string& line : tracer->out().lines()) EXPECT_FALSE(line.starts_with("{")) << line;

  const Json record = json_record_with(path, marker);
  ASSERT_FALSE(record.empty()) << "no JSON record of the marker in " << path;
  EXPECT_EQ(record["event"], "execve");
  EXPECT_EQ(record["pid"], pid);
  EXPECT_EQ(record["args"]["argv"], Json::array({"/bin/true", marker}));
}

TEST(OutputTest, CombinationsThatCannotWorkAreUsageErrors) {
  const std::vector<std::vector<std::string>> refused = {
      {"--output", "table", "--output", "json"},
      {"--output", "json:/tmp/x.json", "--output", "table:/tmp/x.json"},
      {"--output", "json:/tmp/x.json", "--output", "audit-log:/tmp/./x.json"},
      {"--output", "table", "--output", "json:/tmp/x.json", "--output", "out-file:/tmp/y"},
      {"--output", "none", "--output", "json"},
      {"--output", "json:"},
  };
  for (const std::vector<std::string>& args : refused) {
    const Completed run = run_tracer_to_completion(args);
    std::string joined;
    for (const std::string& arg : args) joined += arg + " ";
    ASSERT_TRUE(WIFEXITED(run.status)) << joined;
    EXPECT_EQ(WEXITSTATUS(run.status), 2) << joined;
    EXPECT_TRUE(run.err.starts_with("tracer: --output")) << joined << ": " << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << joined << ": " << run.err;
    EXPECT_EQ(run.out, "") << joined;
  }
}

// The URL of "tracer: metrics on http://127.0.0.1:PORT/metrics".
std::string announced_metrics_url(TracerProcess& tracer) {
  const std::regex announced("^tracer: metrics on (http://127\\.0\\.0\\.1:[0-9]+/metrics)");
  std::string url;
  tracer.err().wait_for(
      [&](const std::string& line) {
        std::smatch match;
        if (std::regex_search(line, match, announced)) url = match[1];
        return !url.empty();
      },
      5s);
  return url;
}

std::string fetch(const std::string& url) {
  std::string body;
  if (FILE* pipe = ::popen(("curl -s " + url).c_str(), "r")) {
    char buffer[4096];
    for (size_t got; (got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) body.append(buffer, got);
    ::pclose(pipe);
  }
  return body;
}

TEST(OutputTest, MetricsCountRecordsPerOutput) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string json = dir.path() + "/exec.json", audit = dir.path() + "/audit.log";
  const std::string comm = "out" + std::to_string(::getpid() % 100000);
  auto tracer = start_tracer({"--metrics", "127.0.0.1:0", "--trace", "comm=" + comm, "--output", "table", "--output",
                              "json:" + json, "--output", "audit-log:" + audit});
  ASSERT_TRUE(tracer);
  const std::string url = announced_metrics_url(*tracer);
  ASSERT_FALSE(url.empty()) << tracer->err().text();
  constexpr int kExecs = 3;
  for (int i = 0; i < kExecs; ++i) run_child({.argv = {"true", unique_marker("metrics")}, .comm = comm});

  const std::string stdout_series = R"(tracer_output_records_total{output="stdout",format="table"} )";
  const std::string json_series = "tracer_output_records_total{output=\"" + json + "\",format=\"json\"} ";
  const std::string audit_series = "tracer_output_records_total{output=\"" + audit + "\",format=\"audit-log\"} ";
  const std::string expected = std::to_string(kExecs) + "\n";
  // The audit log seals its own tracer-start record before the events.
  const std::string audit_expected = std::to_string(kExecs + 1) + "\n";
  std::string body;
  // The JSON file is written at least every 100 ms, the metrics published four times a second.
  for (const auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    body = fetch(url);
    if (body.find(json_series + expected) != std::string::npos &&
        body.find(audit_series + audit_expected) != std::string::npos)
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(body.find(stdout_series + expected), std::string::npos) << body;
  EXPECT_NE(body.find(json_series + expected), std::string::npos) << body;
  EXPECT_NE(body.find(audit_series + audit_expected), std::string::npos) << body;
  EXPECT_NE(body.find("\ntracer_audit_log_sequence " + audit_expected), std::string::npos) << body;
  size_t outputs = 0;
  for (size_t at = 0; (at = body.find("\ntracer_output_records_total{", at)) != std::string::npos; ++at) ++outputs;
  EXPECT_EQ(outputs, 3u) << body;
  EXPECT_EQ(tracer->stop(), 0);
}

TEST(OutputTest, TableOnAnEightyColumnTerminalIsCutNotWrapped) {
  TRACER_E2E_REQUIRE_ROOT();
  const std::string comm = "pty" + std::to_string(::getpid() % 100000);
  std::string why;
  auto terminal = PtyProgram::start(
      "/bin/sh", {"sh", "-c", "stty cols 80 rows 24 && exec " TRACER_BINARY " --trace comm=" + comm}, {}, 0, why);
  ASSERT_TRUE(terminal) << why;
  ASSERT_NE(terminal->wait_for_output("tracer: tracing", 30s), std::string::npos) << terminal->output();
  std::vector<std::string> argv = {"true"};
  for (int i = 0; i < 30; ++i) argv.push_back(unique_marker("long-argument"));
  run_child({.argv = argv, .comm = comm});
  const size_t end = terminal->wait_for_output("\u2026", 20s, terminal->output().find("tracer: tracing"));
  ::kill(terminal->pid(), SIGINT);
  EXPECT_TRUE(terminal->wait_exit(30s));
  ASSERT_NE(end, std::string::npos) << terminal->output();
  const std::string& output = terminal->output();
  const size_t start = output.rfind('\n', end) + 1;
  const std::string row = output.substr(start, end - start);
  EXPECT_NE(row.find(comm), std::string::npos) << row;
  size_t columns = 0;
  for (unsigned char c : row) columns += (c & 0xC0) != 0x80;
  EXPECT_EQ(columns, 80u) << row;
  EXPECT_NE(output.find("TIME "), std::string::npos) << output;
}

TEST(OutputTest, HelpForOutputsAndFiltersIsAnAnswer) {
  const Completed outputs = run_tracer_to_completion({"--output", "help"});
  EXPECT_EQ(outputs.status, 0);
  EXPECT_NE(outputs.out.find("json:PATH"), std::string::npos) << outputs.out;
  EXPECT_EQ(outputs.err, "");
  const Completed filters = run_tracer_to_completion({"--trace", "help"});
  EXPECT_EQ(filters.status, 0);
  EXPECT_NE(filters.out.find("--trace execve.pathname=/usr/bin/id"), std::string::npos) << filters.out;
  EXPECT_NE(filters.out.find("comm is the name of the task that calls exec"), std::string::npos) << filters.out;
  EXPECT_EQ(filters.err, "");
}

mode_t mode_of(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 ? info.st_mode & 07777 : 0;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Waits until path holds needle; false at the deadline.
bool file_contains(const std::string& path, const std::string& needle, std::chrono::milliseconds deadline = 20s) {
  for (const auto until = std::chrono::steady_clock::now() + deadline; std::chrono::steady_clock::now() < until;) {
    if (read_file(path).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// The number of stderr lines holding needle.
size_t lines_with(LineCollector& lines, const std::string& needle) {
  size_t count = 0;
  for (const std::string& line : lines.lines()) count += line.find(needle) != std::string::npos;
  return count;
}

std::string comm_of_this_test(const std::string& prefix) { return prefix + std::to_string(::getpid() % 100000); }

TEST(OutputTest, ASymlinkOrAFifoNobodyReadsIsRefusedAtOnceAndAFileIsMade0640) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string target = dir.write_file("target", "untouched\n", 0666), link = dir.path() + "/link.json";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  const Completed symlinked = run_tracer_to_completion({"--output", "json:" + link});
  EXPECT_EQ(symlinked.status, 1 << 8) << symlinked.err;
  EXPECT_EQ(symlinked.err, "tracer: cannot open output file " + link + ": it is a symbolic link (refused)\n");
  EXPECT_EQ(read_file(target), "untouched\n");
  EXPECT_EQ(mode_of(target), 0666u);

  const std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const Completed unread = run_tracer_to_completion({"--output", "json:" + fifo});
  EXPECT_EQ(unread.status, 1 << 8) << unread.err;
  EXPECT_EQ(unread.err,
            "tracer: cannot open output file " + fifo + ": a FIFO with no reader (start its reader first)\n");

  // An existing file open to all is made 0640; /dev/null is written as it is.
  const std::string open_to_all = dir.write_file("open.json", "previous\n", 0666);
  const mode_t dev_null = mode_of("/dev/null");
  auto tracer = start_tracer({"--output", "json:" + open_to_all, "--output", "table:/dev/null"});
  ASSERT_TRUE(tracer);
  EXPECT_EQ(mode_of(open_to_all), 0640u);
  EXPECT_EQ(tracer->stop(), 0);
  EXPECT_EQ(mode_of("/dev/null"), dev_null);
  EXPECT_TRUE(read_file(open_to_all).starts_with("previous\n"));
}

TEST(OutputTest, AFullOutputCostsOnlyItsOwnRecordsCountedAndTheRunGoesOn) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string json = dir.path() + "/exec.json", comm = comm_of_this_test("full");
  auto tracer = start_tracer(
      {"--trace", "comm=" + comm, "--output", "json", "--output", "table:/dev/full", "--output", "json:" + json});
  ASSERT_TRUE(tracer);
  constexpr int kExecs = 5;
  std::vector<std::string> markers;
  for (int i = 0; i < kExecs; ++i) {
    markers.push_back(unique_marker("full"));
    run_child({.argv = {"true", markers.back()}, .comm = comm});
    EXPECT_TRUE(tracer->wait_for_json(has_marker(markers.back()))) << tracer->err().text();
  }
  EXPECT_TRUE(file_contains(json, markers.back())) << tracer->err().text();
  EXPECT_EQ(tracer->stop(), 0) << tracer->err().text();
  for (const std::string& marker : markers) EXPECT_NE(read_file(json).find(marker), std::string::npos) << marker;
  // Said once, then counted: in the summary, per output and cause.
  EXPECT_EQ(lines_with(tracer->err(),
                       "tracer: writing to /dev/full: No space left on device; its records are counted "
                       "as lost until a write succeeds"),
            1u)
      << tracer->err().text();
  EXPECT_EQ(tracer->err().lines().back(),
            "tracer: 5 events emitted, 0 lost; /dev/full: 0 written, 5 lost (output write "
            "error: 5)")
      << tracer->err().text();
}

// A tmpfs of `kib` KiB mounted on dir/mnt for the test.
class SmallDisk {
 public:
  SmallDisk(const std::string& dir, int kib) : path_(dir + "/mnt") {
    std::filesystem::create_directory(path_);
    mounted_ = mount("tracer-e2e", path_.c_str(), "tmpfs", 0, ("size=" + std::to_string(kib) + "k").c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// argv of about 6 KB: a few records fill a small disk, mid-record.
std::vector<std::string> bulky_argv(const std::string& marker, int args = 20) {
  std::vector<std::string> argv = {"true", marker};
  for (int i = 0; i < args; ++i) argv.push_back(std::string(300, char('a' + i % 26)));
  return argv;
}

TEST(OutputTest, ALineCutByAFullDiskIsNeverContinuedAndItsRecordIsCounted) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  SmallDisk disk(dir.path(), 256);
  ASSERT_TRUE(disk.mounted()) << std::strerror(errno);
  const std::string filler = disk.path() + "/filler", json = disk.path() + "/exec.json";
  std::ofstream(filler) << std::string(240 * 1024, 'f');  // 16 KiB left
  const std::string comm = comm_of_this_test("torn");
  auto tracer = start_tracer({"--trace", "comm=" + comm, "--output", "json:" + json});
  ASSERT_TRUE(tracer);
  constexpr int kBefore = 5, kAfter = 3;
  for (int i = 0; i < kBefore; ++i) run_child({.argv = bulky_argv(unique_marker("before")), .comm = comm});
  ASSERT_TRUE(tracer->err().wait_for(
      [&](const std::string& line) { return line.starts_with("tracer: writing to " + json + ": No space left"); }, 20s))
      << tracer->err().text();
  std::filesystem::remove(filler);
  std::vector<std::string> after;
  for (int i = 0; i < kAfter; ++i) {
    after.push_back(unique_marker("after"));
    run_child({.argv = bulky_argv(after.back()), .comm = comm});
  }
  EXPECT_TRUE(file_contains(json, after.back())) << tracer->err().text();
  EXPECT_EQ(tracer->stop(), 0) << tracer->err().text();

  // Every line but the fragment is a whole record; the fragment is a line of its own.
  int whole = 0, fragments = 0;
  std::string text = read_file(json);
  for (const std::string& line : lines_of(json)) {
    const Json record = Json::parse(line, nullptr, false);
    (record.is_discarded() ? fragments : whole) += 1;
  }
  EXPECT_EQ(fragments, 1) << text.substr(0, 2000);
  for (const std::string& marker : after) EXPECT_NE(text.find(marker), std::string::npos) << marker;
  const int lost = kBefore + kAfter - whole;
  EXPECT_GE(lost, 1);
  EXPECT_EQ(tracer->err().lines().back(), "tracer: 8 events emitted, 0 lost; " + json + ": " + std::to_string(whole) +
                                              " written, " + std::to_string(lost) +
                                              " lost (output write error: " + std::to_string(lost) + ")")
      << tracer->err().text();
}

// The audit log on a disk that fills: its records are lost, counted, while
// the run and the other outputs go on; once it can be written again a sealed
// tracer-loss record says what the gap lost, and the chain still verifies.
TEST(OutputTest, AFullDiskCostsTheAuditLogOnlyItsRecordsSealedAsALossOnceItWritesAgain) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  SmallDisk disk(dir.path(), 256);
  ASSERT_TRUE(disk.mounted()) << std::strerror(errno);
  const std::string filler = disk.path() + "/filler", log = disk.path() + "/audit.log",
                    json = dir.path() + "/exec.json";
  std::ofstream(filler) << std::string(240 * 1024, 'f');  // 16 KiB left
  const std::string comm = comm_of_this_test("alog");
  auto tracer = start_tracer({"--trace", "comm=" + comm, "--output", "json:" + json, "--output", "audit-log:" + log});
  ASSERT_TRUE(tracer);
  const std::string failed = "tracer: writing the audit log " + log + ": No space left on device; ";
  const auto failure_said = [&](const std::string& line) { return line.starts_with(failed); };
  std::vector<std::string> markers;
  // Each record about 6 KB: the disk fills within a few, mid-record.
  for (int i = 0; i < 12 || (i < 40 && !tracer->err().wait_for(failure_said, 0ms)); ++i) {
    markers.push_back(unique_marker("full"));
    run_child({.argv = bulky_argv(markers.back()), .comm = comm});
  }
  ASSERT_TRUE(tracer->err().wait_for(failure_said, 20s)) << tracer->err().text();
  EXPECT_TRUE(file_contains(json, markers.back())) << tracer->err().text();
  std::filesystem::remove(filler);
  // Each failure is followed by a try that works (every 100 ms): once the
  // disk has room, the last one. A nearly full disk may have taken a record
  // or two between failures before.
  const std::string works = "tracer: writing the audit log " + log + " works again";
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (lines_with(tracer->err(), works) < lines_with(tracer->err(), failed) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(lines_with(tracer->err(), works), lines_with(tracer->err(), failed)) << tracer->err().text();
  for (int i = 0; i < 3; ++i) {
    markers.push_back(unique_marker("again"));
    run_child({.argv = bulky_argv(markers.back()), .comm = comm});
  }
  EXPECT_TRUE(file_contains(log, markers.back())) << tracer->err().text();
  EXPECT_EQ(tracer->stop(), 0) << tracer->err().text();

  const std::string events = read_file(json), audited = read_file(log);
  uint64_t lost = 0;
  for (const std::string& marker : markers) {
    EXPECT_NE(events.find(marker), std::string::npos) << marker;
    lost += audited.find(marker) == std::string::npos;
  }
  EXPECT_GE(lost, 1u);
  const std::vector<std::string> records = lines_of(log);
  std::vector<Json> losses;
  for (const std::string& line : records) {
    const Json record = Json::parse(line, nullptr, false);
    ASSERT_FALSE(record.is_discarded()) << line;  // the torn record was cut off
    if (record["event"] == "tracer-loss") losses.push_back(record);
  }
  // A disk that is nearly full may take a record or two between failures:
  // each failure is said once, and sealed as a loss once a write succeeds.
  ASSERT_GE(losses.size(), 1u) << audited.substr(0, 2000);
  uint64_t sealed = 0;
  for (const Json& loss : losses) {
    EXPECT_EQ(loss["cause"], "output_write_error");
    sealed += loss["count"].get<uint64_t>();
  }
  EXPECT_EQ(sealed, lost);
  EXPECT_EQ(lines_with(tracer->err(), failed), losses.size()) << tracer->err().text();
  EXPECT_EQ(tracer->err().lines().back(), "tracer: " + std::to_string(markers.size()) + " events emitted, 0 lost; " +
                                              log + ": " + std::to_string(records.size()) + " written, " +
                                              std::to_string(lost) +
                                              " lost (output write error: " + std::to_string(lost) + ")")
      << tracer->err().text();

  const Completed verified = run_tracer_to_completion({"verify", log});
  EXPECT_EQ(verified.status, 0) << verified.out;
  EXPECT_TRUE(verified.out.starts_with("OK: " + std::to_string(records.size()) + " records, head ")) << verified.out;
  EXPECT_NE(verified.out.find("\nruns: 1 started, 1 stopped; " + std::to_string(lost) + " record(s) lost (" +
                              std::to_string(losses.size()) + " loss records)\n"),
            std::string::npos)
      << verified.out;
  EXPECT_NE(verified.out.find("\nloss: " + std::to_string(losses[0]["count"].get<uint64_t>()) +
                              " record(s) lost (output_write_error) between "),
            std::string::npos)
      << verified.out;
}

TEST(OutputTest, AFileLeftEndingInsideALineGetsTheNextRecordOnAFreshLine) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string json = dir.write_file("exec.json", "{\"torn\":", 0640);
  const std::string comm = comm_of_this_test("rst"), marker = unique_marker("restart");
  auto tracer = start_tracer({"--trace", "comm=" + comm, "--output", "json:" + json});
  ASSERT_TRUE(tracer);
  run_child({.argv = {"true", marker}, .comm = comm});
  EXPECT_TRUE(file_contains(json, marker)) << tracer->err().text();
  EXPECT_EQ(tracer->stop(), 0);
  const std::vector<std::string> lines = lines_of(json);
  ASSERT_EQ(lines.size(), 2u) << read_file(json);
  EXPECT_EQ(lines[0], "{\"torn\":");
  const Json record = Json::parse(lines[1], nullptr, false);
  ASSERT_FALSE(record.is_discarded()) << lines[1];
  EXPECT_EQ(record["args"]["argv"][1], marker);
}

TEST(OutputTest, AFailedReopenKeepsWritingToTheOldFileAndSaysSoOnce) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string logs = dir.path() + "/logs", moved = dir.path() + "/moved";
  std::filesystem::create_directory(logs);
  const std::string comm = comm_of_this_test("hup");
  auto tracer = start_tracer({"--trace", "comm=" + comm, "--output", "json:" + logs + "/exec.json"});
  ASSERT_TRUE(tracer);
  const std::string before = unique_marker("before-hup"), after = unique_marker("after-hup");
  run_child({.argv = {"true", before}, .comm = comm});
  EXPECT_TRUE(file_contains(logs + "/exec.json", before)) << tracer->err().text();
  std::filesystem::rename(logs, moved);  // the log directory is gone
  kill(tracer->pid(), SIGHUP);
  EXPECT_TRUE(tracer->err().wait_for(
      [](const std::string& line) { return line.starts_with("tracer: cannot reopen output file "); }, 10s))
      << tracer->err().text();
  run_child({.argv = {"true", after}, .comm = comm});
  EXPECT_TRUE(file_contains(moved + "/exec.json", after)) << tracer->err().text();
  EXPECT_EQ(tracer->stop(), 0) << tracer->err().text();
  EXPECT_EQ(lines_with(tracer->err(), "cannot reopen"), 1u) << tracer->err().text();
  EXPECT_EQ(
      lines_with(tracer->err(), "tracer: cannot reopen output file " + logs +
                                    "/exec.json: No such file or directory; still writing to the file opened before"),
      1u)
      << tracer->err().text();
}

// A tracer whose stdout is a pipe nobody reads: its stderr is collected.
class UnreadTracer {
 public:
  explicit UnreadTracer(const std::vector<std::string>& args) {
    std::vector<std::string> full{TRACER_BINARY};
    full.insert(full.end(), args.begin(), args.end());
    int err = -1;
    pid_ = spawn_piped(std::move(full), &unread_, &err);
    if (pid_ > 0) err_ = std::make_unique<LineCollector>(err);
  }
  ~UnreadTracer() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (unread_ >= 0) close(unread_);
  }
  // The wait status, or -1 when it did not exit within deadline.
  int wait_exit(std::chrono::milliseconds deadline) {
    const int status = wait_with_deadline(pid_, deadline);
    if (status == -1) return -1;
    exited_ = true;
    err_->wait_for_eof(5s);
    return status;
  }
  pid_t pid() const { return pid_; }
  LineCollector& err() { return *err_; }

 private:
  pid_t pid_ = -1;
  int unread_ = -1;
  bool exited_ = false;
  std::unique_ptr<LineCollector> err_;
};

TEST(OutputTest, AStdoutNobodyReadsCostsOnlyItsOwnRecordsAndAStopStillTakesSeconds) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string json = dir.path() + "/exec.json", comm = comm_of_this_test("unread");
  UnreadTracer tracer({"--trace", "comm=" + comm, "--output", "table", "--output", "json:" + json});
  ASSERT_GT(tracer.pid(), 0);
  ASSERT_TRUE(tracer.err().wait_for([](const std::string& line) { return line.starts_with("tracer: tracing"); }, 30s))
      << tracer.err().text();
  // About 30 KB per record: 150 of them are far more than a pipe and the queue hold.
  constexpr int kExecs = 150;
  std::vector<std::string> markers;
  for (int i = 0; i < kExecs; ++i) {
    markers.push_back(unique_marker("unread"));
    run_child({.argv = bulky_argv(markers.back(), 100), .comm = comm});
  }
  EXPECT_TRUE(file_contains(json, markers.back())) << tracer.err().text();
  const std::string text = read_file(json);
  int in_file = 0;
  for (const std::string& marker : markers) in_file += text.find(marker) != std::string::npos;
  EXPECT_EQ(in_file, kExecs);

  const auto stopping = std::chrono::steady_clock::now();
  kill(tracer.pid(), SIGTERM);
  const int status = tracer.wait_exit(5s);
  ASSERT_NE(status, -1) << "still running 5 s after SIGTERM; stderr:\n" << tracer.err().text();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 5s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const std::string summary = tracer.err().lines().back();
  std::smatch match;
  ASSERT_TRUE(std::regex_match(summary, match,
                               std::regex(R"(tracer: (\d+) events emitted, 0 lost; stdout: (\d+) written, (\d+) lost )"
                                          R"(\(output stalled: (\d+)\))")))
      << tracer.err().text();
  EXPECT_EQ(std::stoi(match[1]), kExecs);
  EXPECT_GT(std::stoi(match[3]), 0);
  EXPECT_EQ(std::stoi(match[2]) + std::stoi(match[3]), kExecs) << summary;
}

}  // namespace
}  // namespace tracer::e2e
