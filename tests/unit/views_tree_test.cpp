// tracer tree's model and text, on hand-made records: each process once, its
// execs in order, children under the image that forked them, typed lines
// under their shell, orphans of a log whose start is missing under their
// recorded parent.
#include <gtest/gtest.h>

#include <deque>

#include "tracer/app/options.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/views/process_tree.hpp"
#include "tracer/views/tree_html.hpp"
#include "tracer/views/tree_text.hpp"

namespace tracer {
namespace {

using namespace std::string_literals;

constexpr std::string_view kTag = "a3b9c62238a549af";
constexpr int64_t kSecond = 1'000'000'000;

class TreeTest : public ::testing::Test {
 protected:
  struct Proc {
    uint32_t pid, ppid;
    uint64_t start, parent_start;
    uint32_t gen, parent_gen;
    std::string comm;
  };
  Event base(std::string_view name, const Proc& p, int64_t second) {
    Event event;
    event.definition = find_event(name);
    if (!event.definition) event.definition = &bash_readline_;
    event.boot_ns = static_cast<uint64_t>(1'800'000'000 * kSecond + second * kSecond);
    event.task.pid = event.task.tid = p.pid;
    event.task.ppid = p.ppid;
    event.task.start_boot_ns = p.start;
    event.task.parent_start_boot_ns = p.parent_start;
    event.task.exec_gen = p.gen;
    event.task.parent_exec_gen = p.parent_gen;
    event.task.comm = texts_.emplace_back(p.comm);
    return event;
  }
  void exec(const Proc& p, int64_t second, std::string argv, int64_t ret = 0) {
    Event event = base("execve", p, second);
    event.ret = ret;
    event.args.add("argv", StringList{texts_.emplace_back(std::move(argv))});
    tree_.add(event, kTag);
  }
  void fork(const Proc& parent, uint32_t child, int64_t second) {
    Event event = base("sched_process_fork", parent, second);
    event.args.add("child_pid", uint64_t{child});
    event.args.add("child_tid", uint64_t{child});
    tree_.add(event, kTag);
  }
  void exit(const Proc& p, int64_t second, uint64_t code, uint64_t signal = 0) {
    Event event = base("sched_process_exit", p, second);
    event.args.add("exit_code", code);
    event.args.add("signal", signal);
    tree_.add(event, kTag);
  }
  void typed(const Proc& p, int64_t second, std::string line) {
    Event event = base("bash_readline", p, second);
    event.args.add("line", std::string_view(texts_.emplace_back(std::move(line))));
    tree_.add(event, kTag);
  }
  std::string text(TreeTextOptions options = {}) {
    tree_.finish();
    return render_tree_text(tree_, options);
  }

  EventDefinition bash_readline_{2048, "bash_readline", "", true, true, {}};
  std::deque<std::string> texts_;
  ProcessTree tree_;
};

// bash (already running when the log began) forks twice: the first child
// execs make, which runs cc and a failed exec; the second is killed.
TEST_F(TreeTest, ShellSessionShape) {
  const Proc bash{100, 0, 50, 0, 3, 0, "bash"};  // its parent: none (pid 1 would be)
  const Proc child{101, 100, 200, 50, 3, 3, "bash"};
  const Proc make{101, 100, 200, 50, 4, 3, "make"};
  const Proc cc_fork{102, 101, 300, 200, 4, 4, "make"};
  const Proc cc{102, 101, 300, 200, 5, 4, "cc"};
  const Proc sleeper{103, 100, 400, 50, 3, 3, "bash"};
  typed(bash, 0, "make all");
  fork(bash, 101, 1);
  exec(make, 1, "make\0all\0"s);
  fork(make, 102, 2);
  exec(cc, 2, "cc\0-c\0a.c\0"s);
  exit(cc, 4, 0);
  exec(make, 5, "/nope\0"s, -2);
  exec(make, 5, "/nope\0"s, -2);
  exit(make, 6, 2);
  typed(bash, 7, "sleep 100 &");
  fork(bash, 103, 8);
  exit(sleeper, 9, 0, 9);
  (void)child;
  (void)cc_fork;
  EXPECT_EQ(text(),
            "100 (bash)\n"
            "\u251c\u2500 $ make all\n"
            "\u251c\u2500 101 make all  exit 2 5.000s\n"
            "\u2502  \u251c\u2500 102 cc -c a.c  exit 0 2.000s\n"
            "\u2502  \u2514\u2500 \u2717 exec /nope: ENOENT \u00d72\n"
            "\u251c\u2500 $ sleep 100 &\n"
            "\u2514\u2500 103 (bash)  signal 9 (SIGKILL) 1.000s\n");
}

TEST_F(TreeTest, ImagesInOrderWithTheirOwnChildren) {
  const Proc sh{200, 0, 10, 0, 1, 0, "sh"};
  const Proc sh_exec{200, 0, 10, 0, 2, 0, "sh"};
  const Proc env{200, 0, 10, 0, 3, 0, "env"};
  const Proc first_child{201, 200, 20, 10, 2, 2, "ls"};
  const Proc second_child{202, 200, 30, 10, 3, 3, "id"};
  exec(sh_exec, 0, "sh\0-c\0x\0"s);
  exec(first_child, 1, "ls\0"s);
  exec(env, 2, "env\0id\0"s);
  exec(second_child, 3, "id\0"s);
  exit(env, 4, 0);
  const std::string drawn = text();
  EXPECT_EQ(drawn,
            "200 sh -c x  2.000s\n"
            "\u2514\u2500 201 ls\n"
            "\u21b3 exec env id  exit 0 2.000s\n"
            "\u2514\u2500 202 id\n")
      << drawn;
  (void)sh;
}

// The log began after the shells started: two orphans of one parent group
// under a placeholder, one of another parent under its own.
TEST_F(TreeTest, OrphansGroupUnderTheirRecordedParent) {
  exec({301, 300, 31, 30, 2, 7, "a"}, 0, "a\0"s);
  exec({302, 300, 32, 30, 2, 7, "b"}, 1, "b\0"s);
  exec({401, 400, 41, 40, 2, 7, "c"}, 2, "c\0"s);
  EXPECT_EQ(text(),
            "300 (not in the log)\n"
            "\u251c\u2500 301 a\n"
            "\u2514\u2500 302 b\n"
            "400 (not in the log)\n"
            "\u2514\u2500 401 c\n");
  const auto image = tree_.find_exec_id("a3b9c62238a549af-302-32-2");
  ASSERT_TRUE(image);
  EXPECT_EQ(tree_.processes()[image->first].key.pid, 302u);
}

TEST_F(TreeTest, WidthCutsRowsAndHostileTextIsEscaped) {
  exec({500, 0, 5, 0, 2, 0, "x"}, 0, "printf\0\x1b[2J\0a-very-long-argument-that-goes-on\0"s);
  TreeTextOptions options;
  options.width = 24;
  const std::string drawn = text(options);
  EXPECT_EQ(drawn, "500 printf \\x1b[2J a-ve\u2026\n") << drawn;
}

// The page holds its data as JSON in a script element: hostile argv can
// neither close that element nor run.
TEST_F(TreeTest, HtmlPageIsSelfContainedAndEscaped) {
  exec({600, 0, 6, 0, 2, 0, "x"}, 0, "echo\0</script><script>alert(1)</script>\0"s);
  exec({601, 600, 7, 6, 2, 2, "y"}, 1, "true\0"s);
  tree_.finish();
  const std::string page = render_tree_html(tree_, {}, "log <1>.json");
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  EXPECT_NE(page.find("\\u003c/script>\\u003cscript>alert(1)"), std::string::npos);
  EXPECT_NE(page.find("<title>log &lt;1&gt;.json</title>"), std::string::npos);
  EXPECT_NE(page.find(R"("processes":2,)"), std::string::npos);
  EXPECT_EQ(page.find("http"), std::string::npos);  // nothing fetched
}

TEST(ViewOptions, ReplayAndTreeParse) {
  const char* replay[] = {"tracer", "replay", "log.json", "--trace", "uid=1000", "--output", "json:out.json"};
  Result<Options> parsed = parse_command_line(7, replay);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->command, Command::replay);
  EXPECT_EQ(parsed->view_input, "log.json");
  EXPECT_TRUE(parsed->filters.numeric[TRACER_FIELD_UID].active());
  EXPECT_EQ(parsed->outputs, (std::vector<OutputSpec>{{OutputFormat::json, "out.json"}}));

  const char* tree[] = {"tracer", "tree", "--since", "2026-12-03T17:20:00Z", "--until", "2026-12-03T17:20:01.5Z"};
  parsed = parse_command_line(6, tree);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->command, Command::tree);
  EXPECT_EQ(parsed->view_input, "-");
  EXPECT_EQ(parsed->tree.until_ns.value() - parsed->tree.since_ns.value(), 1'500'000'000);

  const char* bad_time[] = {"tracer", "tree", "--since", "17:20"};
  parsed = parse_command_line(4, bad_time);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().kind, ExitKind::usage);
}

TEST(Duration, Formats) {
  EXPECT_EQ(format_duration(1'234'000'000), "1.234s");
  EXPECT_EQ(format_duration(12'340'000'000), "12.3s");
  EXPECT_EQ(format_duration(123 * kSecond), "2m03s");
  EXPECT_EQ(format_duration(3720 * kSecond), "1h02m");
}

}  // namespace
}  // namespace tracer
