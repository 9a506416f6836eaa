// End-to-end: tracer tree and tracer replay over a log the real tracer wrote
// while an interactive bash ran a script of nested children.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "exec_helpers.hpp"
#include "pty_program.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

constexpr const char* kPrompt = "tracer-views-prompt$ ";

size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

struct Browser {
  int status = -1;
  std::string out;
  std::string err;
};

// Headless Chromium (Debian's chromium package) with its console on stderr.
Browser run_chromium(const std::vector<std::string>& args) {
  TempDir profile;
  std::string command =
      "chromium --headless --disable-gpu --no-sandbox --enable-logging=stderr --v=0 "
      "--user-data-dir=" +
      profile.path();
  for (const std::string& arg : args) command += " '" + arg + "'";
  const std::string err_path = profile.path() + "/stderr";
  command += " 2>" + err_path;
  Browser browser;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return browser;
  char buffer[65536];
  for (size_t got; (got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) browser.out.append(buffer, got);
  browser.status = ::pclose(pipe);
  std::ifstream err(err_path);
  browser.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  return browser;
}

class ViewsTest : public ::testing::Test {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }

  // Types each line at the prompt of an interactive bash, then exit; the
  // shell's pid.
  pid_t run_shell(const std::vector<std::string>& lines) {
    std::string why;
    auto shell =
        PtyProgram::start("/usr/bin/bash", {"bash", "--norc", "--noprofile", "-i"},
                          {std::string("PS1=") + kPrompt, "HOME=/tmp", "TERM=dumb", "PATH=/usr/bin:/bin"}, 0, why);
    EXPECT_TRUE(shell) << why;
    if (!shell) return -1;
    size_t at = shell->wait_for_output(kPrompt, 20s);
    EXPECT_NE(at, std::string::npos) << shell->output();
    for (const std::string& line : lines) {
      EXPECT_TRUE(shell->type_line(line));
      at = shell->wait_for_output(kPrompt, 20s, at);
      EXPECT_NE(at, std::string::npos) << "no prompt after '" << line << "': " << shell->output();
    }
    EXPECT_TRUE(shell->type_line("exit"));
    EXPECT_TRUE(shell->wait_exit(20s));
    return shell->pid();
  }

  std::vector<Json> records() const {
    std::ifstream in(log_);
    std::vector<Json> out;
    for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
    return out;
  }

  // The pid of the successful exec whose argv holds text.
  pid_t exec_pid(const std::vector<Json>& log, const std::string& text, int ret = 0) const {
    for (const Json& record : log)
      if (record["event"] == "execve" && record["ret"] == ret &&
          record["args"]["argv"].dump().find(text) != std::string::npos)
        return record["pid"].get<pid_t>();
    ADD_FAILURE() << "no execve of " << text << " in the log";
    return -1;
  }

  // The pid that begins each row of a text tree, after its branch lines.
  static std::set<pid_t> row_pids(const std::string& tree) {
    std::set<pid_t> pids;
    std::istringstream lines(tree);
    for (std::string line; std::getline(lines, line);) {
      const size_t digits = line.find_first_of("0123456789");
      if (digits == std::string::npos || line.find_first_not_of("\u2502\u251c\u2514\u2500 ") != digits) continue;
      pids.insert(static_cast<pid_t>(std::stol(line.substr(digits))));
    }
    return pids;
  }

  TempDir dir_;
  std::string log_ = dir_.path() + "/log.json";
};

TEST_F(ViewsTest, TreeOfAShellRunningNestedChildren) {
  const std::string marker = unique_marker("tree");
  const std::string script = dir_.write_file("nested.sh",
                                             "/bin/echo " + marker + "-one\n" + "/bin/sh -c '/bin/echo " + marker +
                                                 "-two; /bin/echo " + marker + "-three; exit 4'\n" + "/nonexistent/" +
                                                 marker + "-missing 2>/dev/null\n" + "exit 3\n",
                                             0644);
  auto tracer = start_tracer(
      {"--output", "json:" + log_, "--trace", "event=execve,sched_process_fork,sched_process_exit,bash_readline"});
  ASSERT_TRUE(tracer);
  const pid_t shell = run_shell({"sh " + script});
  ASSERT_GT(shell, 0);
  ASSERT_EQ(tracer->stop(), 0) << tracer->err().text();

  const std::vector<Json> log = records();
  const pid_t sh = exec_pid(log, script);
  const pid_t one = exec_pid(log, marker + "-one");
  const pid_t nested = exec_pid(log, "exit 4");
  const pid_t two = exec_pid(log, marker + "-two\"");
  const pid_t three = exec_pid(log, marker + "-three\"");
  const pid_t missing = exec_pid(log, marker + "-missing", -2);

  const Completed tree = run_tracer_to_completion({"tree", log_, "--pid", std::to_string(shell)});
  ASSERT_EQ(tree.status, 0) << tree.err;
  // Durations vary: each becomes T.
  const std::string shape = std::regex_replace(tree.out, std::regex(R"( \d+(\.\d+s|m\d\ds|h\d\dm))"), " T");
  const auto id = [](pid_t pid) { return std::to_string(pid); };
  const std::string nested_argv = "/bin/sh -c /bin/echo " + marker + "-two; /bin/echo " + marker + "-three; exit 4";
  // bash exits with the status of the last command, the script's 3.
  EXPECT_EQ(shape, id(shell) + " bash --norc --noprofile -i  exit 3 T\n" + "\u251c\u2500 $ sh " + script + "\n" +
                       "\u251c\u2500 " + id(sh) + " sh " + script + "  exit 3 T\n" + "\u2502  \u251c\u2500 " + id(one) +
                       " /bin/echo " + marker + "-one  exit 0 T\n" + "\u2502  \u251c\u2500 " + id(nested) + " " +
                       nested_argv + "  exit 4 T\n" + "\u2502  \u2502  \u251c\u2500 " + id(two) + " /bin/echo " +
                       marker + "-two  exit 0 T\n" + "\u2502  \u2502  \u2514\u2500 " + id(three) + " /bin/echo " +
                       marker + "-three  exit 0 T\n" + "\u2502  \u2514\u2500 " + id(missing) + " (sh)  exit 127 T\n" +
                       "\u2502     \u2514\u2500 \u2717 exec /nonexistent/" + marker + "-missing: ENOENT\n" +
                       "\u2514\u2500 $ exit\n")
      << tree.out;

  // replay: the same records through a filter, as JSON lines again.
  const Completed replay = run_tracer_to_completion(
      {"replay", log_, "--output", "json", "--trace", "event=execve", "--trace", "execve.argv=" + marker + "*"});
  ASSERT_EQ(replay.status, 0) << replay.err;
  std::istringstream lines(replay.out);
  std::vector<pid_t> pids;
  for (std::string line; std::getline(lines, line);) pids.push_back(Json::parse(line)["pid"].get<pid_t>());
  EXPECT_EQ(pids, (std::vector<pid_t>{one, two, three})) << replay.out;

  // --session: the shell's terminal keeps the shell and all it started, and
  // no process that exec'd on another terminal or none.
  std::string tty;
  for (const Json& record : log)
    if (record["event"] == "execve" && record["pid"] == shell && record["tty"].is_string()) tty = record["tty"];
  ASSERT_TRUE(tty.starts_with("pts/")) << tty;
  const Completed session = run_tracer_to_completion({"tree", log_, "--session", tty});
  ASSERT_EQ(session.status, 0) << session.err;
  const std::set<pid_t> rows = row_pids(session.out);
  const std::set<pid_t> in_session{shell, sh, one, nested, two, three, missing};
  for (pid_t pid : in_session) EXPECT_TRUE(rows.contains(pid)) << pid << " missing from\n" << session.out;
  for (const Json& record : log)
    if (record["event"] == "execve" && record["tty"] != tty && !in_session.contains(record["pid"].get<pid_t>())) {
      EXPECT_FALSE(rows.contains(record["pid"].get<pid_t>())) << record.dump() << "\n" << session.out;
    }

  // The page: headless Chromium loads it, searches from the address, and
  // dumps the DOM; a screenshot stays with the test output.
  const std::string page = dir_.path() + "/tree.html";
  const Completed html = run_tracer_to_completion({"tree", log_, "--pid", std::to_string(shell), "--html", page});
  ASSERT_EQ(html.status, 0) << html.err;
  const Browser dom = run_chromium({"--dump-dom", "file://" + page + "#search=" + marker + "-missing"});
  ASSERT_EQ(dom.status, 0) << dom.err;
  EXPECT_EQ(count_of(dom.out, "class=\"row proc"), 7u) << dom.out;  // bash, sh, one, nested, two, three, missing
  EXPECT_NE(dom.out.find("id=\"search-result\" data-count=\"1\""), std::string::npos) << dom.out;
  EXPECT_NE(dom.out.find("class=\"row failed hit\""), std::string::npos) << dom.out;
  EXPECT_EQ(dom.err.find(":CONSOLE("), std::string::npos) << dom.err;  // no console message, no error
  std::filesystem::create_directories(TRACER_TEST_OUTPUT_DIR);
  const std::string screenshot = std::string(TRACER_TEST_OUTPUT_DIR) + "/views-tree.png";
  const Browser shot = run_chromium({"--screenshot=" + screenshot, "--window-size=1400,700", "file://" + page});
  EXPECT_EQ(shot.status, 0) << shot.err;
  EXPECT_GT(std::filesystem::file_size(screenshot), 1000u);

  const Completed kernel_only = run_tracer_to_completion({"replay", log_, "--trace", "exe=/usr/bin/*"});
  EXPECT_EQ(WEXITSTATUS(kernel_only.status), 2);
  EXPECT_NE(kernel_only.err.find("exe= needs the kernel"), std::string::npos) << kernel_only.err;
}

}  // namespace
}  // namespace tracer::e2e
