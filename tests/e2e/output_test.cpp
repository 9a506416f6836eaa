// Several outputs at once: the table on stdout and JSON lines in a file from
// one run, the combinations that cannot work refused, and one set of counters
// per output on /metrics.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <regex>

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
  std::string body;
  // The JSON file is written at least every 100 ms, the metrics published four times a second.
  for (const auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    body = fetch(url);
    if (body.find(json_series + expected) != std::string::npos &&
        body.find(audit_series + expected) != std::string::npos)
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(body.find(stdout_series + expected), std::string::npos) << body;
  EXPECT_NE(body.find(json_series + expected), std::string::npos) << body;
  EXPECT_NE(body.find(audit_series + expected), std::string::npos) << body;
  EXPECT_NE(body.find("\ntracer_audit_log_sequence " + expected), std::string::npos) << body;
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

}  // namespace
}  // namespace tracer::e2e
