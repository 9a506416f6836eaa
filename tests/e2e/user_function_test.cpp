// End-to-end: user tracers (§2 "user tracer tables", --config): uprobes on
// real functions. An interactive bash driven through a pseudo-terminal for
// bash_readline and the configured bash_events; a program of ours with typed
// In and Out parameters; bash copies and readline callers told apart by their
// binary; configuration errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "exec_helpers.hpp"
#include "pty_program.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

constexpr uid_t kNobody = 65534;
constexpr const char* kPrompt = "tracer-e2e-prompt$ ";

std::vector<std::string> shell_environment() {
  return {std::string("PS1=") + kPrompt, "HOME=/tmp", "TERM=dumb", "PATH=/usr/bin:/bin"};
}

// An interactive bash (no rc files) on a terminal, waiting at its prompt.
std::unique_ptr<PtyProgram> start_shell(const std::string& bash, uid_t uid = 0) {
  std::string why;
  auto shell = PtyProgram::start(bash, {"bash", "--norc", "--noprofile", "-i"}, shell_environment(), uid, why);
  EXPECT_TRUE(shell) << why;
  if (shell) {
    EXPECT_NE(shell->wait_for_output(kPrompt, 20s), std::string::npos) << shell->output();
  }
  return shell;
}

// Types each line, waiting for the next prompt after each; then exits.
void type_lines(PtyProgram& shell, const std::vector<std::string>& lines) {
  size_t at = shell.wait_for_output(kPrompt, 20s);
  for (const std::string& line : lines) {
    ASSERT_TRUE(shell.type_line(line));
    at = shell.wait_for_output(kPrompt, 20s, at);
    ASSERT_NE(at, std::string::npos) << "no prompt after '" << line << "': " << shell.output();
  }
  ASSERT_TRUE(shell.type_line("exit"));
  EXPECT_TRUE(shell.wait_exit(20s));
}

std::function<bool(const Json&)> user_event(const std::string& event, const std::string& arg,
                                            const std::string& value) {
  return [=](const Json& line) {
    return line["event"] == event && line["args"].contains(arg) && line["args"][arg] == value;
  };
}

std::string config_of(const Json& user_tracers) { return Json{{"user_tracers", user_tracers}}.dump(); }

class UserFunctionTest : public ::testing::Test {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }
  TempDir dir_;
};

TEST_F(UserFunctionTest, BashReadlineReportsTheTypedLinesFirstCommandIncluded) {
  auto tracer = start_tracer({"--output", "json", "--trace", "event=bash_readline"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("readline");
  auto shell = start_shell("/usr/bin/bash", kNobody);  // started after the tracer: its first line counts
  ASSERT_TRUE(shell);
  type_lines(*shell, {"echo " + marker, "cd /tmp"});

  const Json echo = expect_record(*tracer, user_event("bash_readline", "line", "echo " + marker), "echo line");
  EXPECT_EQ(echo["pid"], shell->pid());
  EXPECT_EQ(echo["uid"], kNobody);
  EXPECT_EQ(echo["comm"], "bash");
  EXPECT_EQ(echo["args"], (Json{{"prompt", kPrompt}, {"line", "echo " + marker}}));
  EXPECT_FALSE(echo.contains("ret"));
  const Json cd = expect_record(
      *tracer,
      [&](const Json& line) {
        return user_event("bash_readline", "line", "cd /tmp")(line) && line["pid"] == shell->pid();
      },
      "cd line (a builtin: never an exec)");
  EXPECT_EQ(cd["uid"], kNobody);
}

TEST_F(UserFunctionTest, ConfiguredBashEventsCarryPromptAndReturnValue) {
  // The configuration of the issue, as written there.
  const std::string config = dir_.write_file("bash.json", R"({"user_tracers": [{"table_name": "bash_events",
      "path": "/usr/bin/bash", "function_name": "readline",
      "parameter_list": [{"name": "prompt", "type": "String", "mode": "In"},
                         {"name": "EXIT_CODE", "type": "String", "mode": "Out"}]}]})",
                                             0644);
  auto tracer = start_tracer({"--config", config, "--output", "json", "--trace", "event=bash_events"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("bash-events");
  auto shell = start_shell("/usr/bin/bash");
  ASSERT_TRUE(shell);
  type_lines(*shell, {"echo " + marker});

  const Json record =
      expect_record(*tracer, user_event("bash_events", "return_value", "echo " + marker), "bash_events");
  EXPECT_EQ(record["pid"], shell->pid());
  EXPECT_EQ(record["args"], (Json{{"prompt", kPrompt}, {"return_value", "echo " + marker}}));
}

// Our own program (tests/e2e/programs/probe_target.c), not running when the
// tracer starts: typed In parameters, a struct read through its pointer at
// return, a number written through a pointer, the return value.
Json probe_target_tracers() {
  return Json::array({{{"table_name", "probe_mixed"},
                       {"path", TRACER_PROBE_TARGET},
                       {"function_name", "tracer_probe_mixed"},
                       {"parameter_list",
                        {{{"name", "count"}, {"type", "Int32"}, {"mode", "In"}},
                         {{"name", "name"}, {"type", "String"}, {"mode", "In"}},
                         {{"name", "point"}, {"type", "ByteArray"}, {"length", 16}, {"mode", "Out"}},
                         {{"name", "EXIT_CODE"}, {"type", "Int64"}, {"mode", "Out"}}}}},
                      {{"table_name", "probe_numbers"},
                       {"path", TRACER_PROBE_TARGET},
                       {"function_name", "tracer_probe_numbers"},
                       {"parameter_list",
                        {{{"name", "small"}, {"type", "UInt8"}},
                         {{"name", "negative"}, {"type", "Int16"}},
                         {{"name", "big"}, {"type", "UInt64"}},
                         {{"name", "pointer"}, {"type", "Pointer"}},
                         {{"name", "out"}, {"type", "Int32"}, {"mode", "Out"}},
                         {{"name", "EXIT_CODE"}, {"type", "Int32"}, {"mode", "Out"}}}}}});
}

TEST_F(UserFunctionTest, OwnFunctionsInAndOutParametersOfSeveralTypesExactly) {
  const std::string config = dir_.write_file("probe.json", config_of(probe_target_tracers()), 0644);
  auto tracer = start_tracer({"--config", config, "--output", "json"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("probe");
  const pid_t child = run_child({.path = TRACER_PROBE_TARGET, .argv = {"probe_target", marker}});

  const Json mixed = expect_record(*tracer, user_event("probe_mixed", "name", marker), "probe_mixed");
  EXPECT_EQ(mixed["pid"], child);
  // point after the call: x 7+42=49, y -9, label "moved!!" (little-endian bytes).
  EXPECT_EQ(mixed["args"], (Json{{"count", 42},
                                 {"name", marker},
                                 {"point", "31000000f7ffffff6d6f766564212100"},
                                 {"return_value", 42000 + static_cast<int64_t>(marker.size())}}));
  const Json numbers = expect_record(
      *tracer, [&](const Json& line) { return line["event"] == "probe_numbers" && line["pid"] == child; },
      "probe_numbers");
  EXPECT_EQ(numbers["args"], (Json{{"small", 200},
                                   {"negative", -300},
                                   {"big", 0x1122334455667788ull},
                                   {"pointer", "0x1234"},
                                   {"out", -123456},
                                   {"return_value", -99}}));
  EXPECT_EQ(numbers["flags"], Json::array());
}

TEST_F(UserFunctionTest, ContextFiltersRunInTheKernelForUserFunctions) {
  const std::string config = dir_.write_file("probe.json", config_of(probe_target_tracers()), 0644);
  auto tracer =
      start_tracer({"--config", config, "--output", "json", "--trace", "uid=4242", "--trace", "event=probe_mixed"});
  ASSERT_TRUE(tracer);
  const std::string excluded = unique_marker("as-root");
  const std::string selected = unique_marker("as-4242");
  run_child({.path = TRACER_PROBE_TARGET, .argv = {"probe_target", excluded}});
  run_child({.path = TRACER_PROBE_TARGET, .argv = {"probe_target", selected}, .uid = 4242, .gid = 4242});
  const Json record = expect_record(*tracer, user_event("probe_mixed", "name", selected), "the uid 4242 call");
  EXPECT_EQ(record["uid"], 4242);
  tracer->stop();
  for (const Json& line : tracer->json_lines()) EXPECT_NE(line["args"]["name"], excluded) << line.dump();
}

// The records of bash_readline whose line is `line`, all of them: the tracer
// is stopped first (everything it saw is then written).
std::vector<Json> readline_records(TracerProcess& tracer, const std::string& line) {
  tracer.stop();
  std::vector<Json> found;
  for (const Json& record : tracer.json_lines())
    if (user_event("bash_readline", "line", line)(record)) found.push_back(record);
  return found;
}

// A line typed into a bash that was already waiting in readline when the
// tracer started: readline's entry was missed and its return probe does not
// fire for that call; the accept probe (rl_newline) reports it, and the next
// line comes by readline's own probes, each once.
TEST_F(UserFunctionTest, BashWaitingAtItsPromptBeforeTheTracerStartsLosesNoLine) {
  auto shell = start_shell("/usr/bin/bash", kNobody);
  ASSERT_TRUE(shell);  // at its prompt, inside readline
  auto tracer = start_tracer({"--output", "json", "--trace", "event=bash_readline"});
  ASSERT_TRUE(tracer);
  const std::string waiting = "echo " + unique_marker("in-flight");
  const std::string next = "echo " + unique_marker("next");
  type_lines(*shell, {waiting, next});

  const std::vector<Json> first = readline_records(*tracer, waiting);
  ASSERT_EQ(first.size(), 1u) << tracer->out().text();
  EXPECT_EQ(first[0]["pid"], shell->pid());
  EXPECT_EQ(first[0]["uid"], kNobody);
  EXPECT_EQ(first[0]["args"], (Json{{"prompt", kPrompt}, {"line", waiting}}));
  size_t next_count = 0;
  for (const Json& record : tracer->json_lines())
    if (user_event("bash_readline", "line", next)(record)) ++next_count;
  EXPECT_EQ(next_count, 1u) << tracer->out().text();
}

// A fresh copy of bash, its first line typed at once, before it has even
// started: its exec waits until the tracer has probed it. Ten copies, ten
// first lines, each reported once.
TEST_F(UserFunctionTest, BashCopiedElsewhereIsProbedFromItsFirstCommand) {
  constexpr int kRuns = 10;
  std::vector<std::string> copies;
  for (int run = 0; run < kRuns; ++run) {
    copies.push_back(dir_.path() + "/renamed-shell-" + std::to_string(run));
    std::filesystem::copy_file("/usr/bin/bash", copies.back());
    std::filesystem::permissions(copies.back(), std::filesystem::perms(0755));
  }
  auto tracer = start_tracer({"--output", "json", "--trace", "event=bash_readline"});
  ASSERT_TRUE(tracer);
  struct Typed {
    std::string line;
    pid_t pid;
    std::string comm;
  };
  std::vector<Typed> typed;
  for (const std::string& copy : copies) {
    const std::string marker = unique_marker("copied-bash");
    const std::string name = std::filesystem::path(copy).filename();
    std::string why;
    auto shell = PtyProgram::start(copy, {name, "--norc", "--noprofile", "-i"}, shell_environment(), 0, why);
    ASSERT_TRUE(shell) << why;
    // Typed at once; $((6*7)) tells the command's output from the echo of the typing.
    ASSERT_TRUE(shell->type_line("echo " + marker + "-$((6*7))"));
    ASSERT_NE(shell->wait_for_output(marker + "-42", 20s), std::string::npos) << shell->output();
    ASSERT_TRUE(shell->type_line("exit"));
    EXPECT_TRUE(shell->wait_exit(20s));
    typed.push_back({"echo " + marker + "-$((6*7))", shell->pid(), name});
  }
  tracer->stop();
  for (const Typed& expected : typed) {
    size_t count = 0;
    for (const Json& record : tracer->json_lines()) {
      if (!user_event("bash_readline", "line", expected.line)(record)) continue;
      ++count;
      EXPECT_EQ(record["pid"], expected.pid);
      EXPECT_EQ(record["comm"], expected.comm);
    }
    EXPECT_EQ(count, 1u) << expected.line << "\n" << tracer->err().text();
  }
  EXPECT_NE(tracer->err().text().find(copies.front() + " is a bash too"), std::string::npos) << tracer->err().text();
}

// Whether process pid sleeps in a kernel function whose name holds `what`.
bool process_waits_in(pid_t pid, const std::string& what) {
  std::ifstream wchan("/proc/" + std::to_string(pid) + "/wchan");
  std::string function;
  std::getline(wchan, function);
  return function.find(what) != std::string::npos;
}

// Not a race won: with the tracer stopped, the copy's exec waits for it (on a
// tracer without the hold, bash runs its first line unprobed meanwhile).
TEST_F(UserFunctionTest, FirstExecOfABashCopyWaitsForTheTracer) {
  const std::string copy = dir_.path() + "/held-shell";
  std::filesystem::copy_file("/usr/bin/bash", copy);
  std::filesystem::permissions(copy, std::filesystem::perms(0755));
  auto tracer = start_tracer({"--output", "json", "--trace", "event=bash_readline"});
  ASSERT_TRUE(tracer);
  const std::string marker = unique_marker("held-bash");
  const std::string line = "echo " + marker + "-$((6*7))";
  ASSERT_EQ(::kill(tracer->pid(), SIGSTOP), 0);
  std::string why;
  auto shell = PtyProgram::start(copy, {"held-shell", "--norc", "--noprofile", "-i"}, shell_environment(), 0, why);
  const bool typed = shell && shell->type_line(line);
  // Until the exec is seen waiting (or, without the hold, the line has run);
  // briefly: every first exec on the machine waits for the stopped tracer.
  bool held = false;
  for (const auto deadline = std::chrono::steady_clock::now() + 5s;
       shell && !held && std::chrono::steady_clock::now() < deadline;) {
    held = process_waits_in(shell->pid(), "fanotify");
    if (shell->wait_for_output(marker + "-42", 10ms) != std::string::npos) break;
  }
  ::kill(tracer->pid(), SIGCONT);
  ASSERT_TRUE(shell) << why;
  ASSERT_TRUE(typed);
  EXPECT_TRUE(held) << "the exec did not wait for the tracer";
  ASSERT_NE(shell->wait_for_output(marker + "-42", 20s), std::string::npos) << shell->output();
  ASSERT_TRUE(shell->type_line("exit"));
  EXPECT_TRUE(shell->wait_exit(20s));
  const std::vector<Json> records = readline_records(*tracer, line);
  ASSERT_EQ(records.size(), 1u) << tracer->out().text();
  EXPECT_EQ(records[0]["pid"], shell->pid());
  EXPECT_EQ(records[0]["comm"], "held-shell");
}

// readline_caller calls libreadline's readline. As a program named bash it is
// still not bash; posing as bash (bash's symbols, linked with libreadline) it
// is probed in libreadline for itself only.
TEST_F(UserFunctionTest, ReadlineInLibreadlineIsReportedForBashBinariesOnly) {
  const std::string named_bash = dir_.path() + "/bash";
  std::filesystem::copy_file(TRACER_READLINE_CALLER, named_bash);
  std::filesystem::permissions(named_bash, std::filesystem::perms(0755));
  auto tracer = start_tracer({"--output", "json", "--trace", "event=bash_readline"});
  ASSERT_TRUE(tracer);

  const std::string posing_marker = unique_marker("posing-bash");
  const std::string caller_marker = unique_marker("named-bash");
  std::string why;
  auto posing = PtyProgram::start(TRACER_READLINE_POSING_BASH, {"bash"}, shell_environment(), 0, why);
  ASSERT_TRUE(posing) << why;
  ASSERT_NE(posing->wait_for_output("caller> ", 20s), std::string::npos);
  ASSERT_TRUE(posing->type_line(posing_marker));
  ASSERT_NE(posing->wait_for_output("got: " + posing_marker, 20s), std::string::npos);
  const Json record = expect_record(*tracer, user_event("bash_readline", "line", posing_marker), "posing bash");
  EXPECT_EQ(record["pid"], posing->pid());

  // libreadline is probed now; the program named bash must not be reported.
  auto caller = PtyProgram::start(named_bash, {"bash"}, shell_environment(), 0, why);
  ASSERT_TRUE(caller) << why;
  ASSERT_NE(caller->wait_for_output("caller> ", 20s), std::string::npos);
  ASSERT_TRUE(caller->type_line(caller_marker));
  ASSERT_NE(caller->wait_for_output("got: " + caller_marker, 20s), std::string::npos);
  // A later line of the posing bash: the records before it are all in.
  const std::string control = unique_marker("control");
  ASSERT_TRUE(posing->type_line(control));
  expect_record(*tracer, user_event("bash_readline", "line", control), "control line");
  for (const Json& line : tracer->json_lines()) EXPECT_NE(line["args"]["line"], caller_marker) << line.dump();
}

TEST_F(UserFunctionTest, ConfigurationErrorsAreOneLineAndExitTwo) {
  const auto expect_error = [&](const std::string& name, const std::string& content, const std::string& message) {
    const std::string config = dir_.write_file(name, content, 0644);
    const Completed run = run_tracer_to_completion({"--config", config});
    EXPECT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 2) << run.err;
    EXPECT_EQ(run.err, "tracer: --config " + config + ": " + message + "\n");
  };
  const auto tracer_with = [](const Json& parameter_list, const std::string& path, const std::string& function) {
    return config_of(Json::array(
        {{{"table_name", "t"}, {"path", path}, {"function_name", function}, {"parameter_list", parameter_list}}}));
  };
  expect_error("type.json", tracer_with(Json::array({{{"name", "p"}, {"type", "Strng"}}}), TRACER_PROBE_TARGET, "main"),
               "user_tracers[0] (t): parameter 'p': unknown type 'Strng' (expected String, Int8, Int16, Int32, "
               "Int64, UInt8, UInt16, UInt32, UInt64, Pointer, ByteArray)");
  expect_error("symbol.json", tracer_with(Json::array(), TRACER_PROBE_TARGET, "no_such_function"),
               std::string("user_tracers[0] (t): no function 'no_such_function' in ") + TRACER_PROBE_TARGET +
                   " (.symtab and .dynsym)");
  expect_error("path.json", tracer_with(Json::array(), "/nonexistent/tracer-e2e", "main"),
               "user_tracers[0] (t): cannot open /nonexistent/tracer-e2e: No such file or directory");
  expect_error(
      "mode.json",
      tracer_with(Json::array({{{"name", "p"}, {"type", "Int32"}, {"mode", "Inout"}}}), TRACER_PROBE_TARGET, "main"),
      "user_tracers[0] (t): parameter 'p': unknown mode 'Inout' (expected In or Out)");
  const std::string malformed = dir_.write_file("malformed.json", "{\"user_tracers\": [", 0644);
  const Completed run = run_tracer_to_completion({"--config", malformed});
  EXPECT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 2) << run.err;
  EXPECT_EQ(run.err.rfind("tracer: --config " + malformed + ": not valid JSON: parse error at line 1, column 19", 0),
            0u)
      << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1);
}

}  // namespace
}  // namespace tracer::e2e
