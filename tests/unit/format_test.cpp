#include "tracer/output/format.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>

#include "record_builder.hpp"
#include "tracer/decode/decode.hpp"

namespace tracer {
namespace {

using testing::build_exec_record;
using testing::ExecRecordSpec;
using testing::nul_joined;

class FormatTest : public ::testing::Test {
 protected:
  // boot_ns 1'000'000'123 + offset → 2026-11-23T04:30:30.000000123Z
  BootToWallClock clock_{1'795'408'230'000'000'000 - 1'000'000'000};

  std::string json_line(const ExecRecordSpec& spec) {
    record_ = build_exec_record(spec);
    Result<Event> event = decode(record_, {});
    EXPECT_TRUE(event.ok());
    std::string out;
    JsonFormatter formatter(clock_);
    formatter.append(out, *event);
    return out;
  }
  std::string table_line(const ExecRecordSpec& spec) {
    record_ = build_exec_record(spec);
    Result<Event> event = decode(record_, {});
    EXPECT_TRUE(event.ok());
    std::string out;
    TableFormatter(clock_).append(out, *event);
    return out;
  }
  std::vector<std::byte> record_;
};

TEST_F(FormatTest, JsonLineIsTheSchema) {
  const std::string line = json_line({});
  EXPECT_EQ(line, R"({"timestamp":"2026-11-23T04:30:30.000000123Z","event":"execve","pid":4242,"tid":4243,"ppid":4200,)"
                  R"("ns_pid":7,"uid":1000,"gid":1001,"comm":"bash","cgroup_id":99,"mntns":4026531841,)"
                  R"("pidns":4026531836,"container_id":null,"euid":0,"egid":1001,"auid":1000,"sessionid":3,"sid":4100,)"
                  R"("tty":null,"host":null,"exec_id":"0000000000000000-4242-500000000-3",)"
                  R"("parent_exec_id":"0000000000000000-4200-400000000-2","cwd":"/home/user",)"
                  R"("ret":0,"flags":[],"args":{"pathname":"/bin/ls",)"
                  R"("argv":["ls","-la"],"argv_truncated":false,"filename":"/bin/ls","exe":"/usr/bin/ls","dev":2049,)"
                  R"("inode":1234}})"
                  "\n");
}

TEST_F(FormatTest, IdentityFields) {
  ExecRecordSpec spec;
  spec.task.euid = 0;
  spec.task.auid = TRACER_ID_UNSET;
  spec.task.sessionid = TRACER_ID_UNSET;
  record_ = build_exec_record(spec);
  Result<Event> event = decode(record_, {});
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->task.tty_dev, (136u << 20) | 3);
  EXPECT_EQ(event->task.utsns, 4026531838u);
  EXPECT_EQ(event->exec_host, "build-7");
  event->tty = "pts/3";
  event->host = "build\n7";
  std::string out;
  JsonFormatter(clock_).append(out, *event);
  EXPECT_NE(out.find(R"("container_id":null,"euid":0,"egid":1001,"auid":null,"sessionid":null,"sid":4100,)"
                     R"("tty":"pts/3","host":"build\n7","exec_id")"),
            std::string::npos)
      << out;
}

TEST_F(FormatTest, ContainerParentAndAncestors) {
  record_ = build_exec_record({});
  Result<Event> event = decode(record_, {});
  ASSERT_TRUE(event.ok());
  const std::string id(64, 'a');
  event->container_id = id;
  const std::string parent_argv("sh\0-c\0", 6);
  const ProcessSummary lineage[] = {
      {4200, 400'000'000, 2, "sh", "/usr/bin/dash", StringList{parent_argv}, false},
      {1, 0, std::nullopt, "init", "/sbin/init", StringList{}, true},
  };
  event->lineage = lineage;
  std::string out;
  JsonFormatter(clock_, JsonOptions{"00112233aabbccdd", true}).append(out, *event);
  const auto document = nlohmann::json::parse(out);
  EXPECT_EQ(document["container_id"], id);
  EXPECT_EQ(document["exec_id"], "00112233aabbccdd-4242-500000000-3");
  EXPECT_EQ(document["parent"].dump(),
            R"({"argv":["sh","-c"],"argv_truncated":false,"comm":"sh","exe":"/usr/bin/dash",)"
            R"("exec_id":"00112233aabbccdd-4200-400000000-2","pid":4200})");
  ASSERT_EQ(document["ancestors"].size(), 2u);
  EXPECT_EQ(document["ancestors"][0], document["parent"]);
  EXPECT_FALSE(document["ancestors"][1].contains("exec_id"));  // unknown for a process seen only in /proc
  EXPECT_EQ(document["ancestors"][1]["argv_truncated"], true);

  // Without option:ancestors only the parent is printed.
  out.clear();
  JsonFormatter(clock_, JsonOptions{"00112233aabbccdd", false}).append(out, *event);
  EXPECT_FALSE(nlohmann::json::parse(out).contains("ancestors"));
}

TEST_F(FormatTest, HostileArgvStaysOneValidLine) {
  ExecRecordSpec spec;
  spec.argv = nul_joined({"a b", "q\"uote", "back\\slash", "new\nline", "tab\t", "\x1b[31mred", "\xff\xfe"});
  const std::string line = json_line(spec);
  ASSERT_EQ(line.find('\n'), line.size() - 1);
  const auto document = nlohmann::json::parse(line);
  EXPECT_EQ(document["args"]["argv"][3], "new\nline");
  EXPECT_EQ(document["args"]["argv"][5], "\x1b[31mred");
  EXPECT_NE(line.find(R"("\u00ff\u00fe")"), std::string::npos);
  EXPECT_EQ(document["flags"], nlohmann::json::array({"invalid_utf8"}));
}

// The readable field keeps its escapes; each string that was not valid
// UTF-8 also has its exact bytes as <key>_b64 (a list: by index).
TEST_F(FormatTest, InvalidUtf8StringsCarryTheirExactBytes) {
  ExecRecordSpec spec;
  spec.argv = nul_joined({"ok", "\xe9", "caf\xc3\xa9", "\xc0\xaf", "\x80"});
  spec.pathname = "/tmp/\xff";
  spec.filename = spec.pathname;
  spec.cwd = "/home/\xed\xa0\x80";
  spec.task.comm = "b\xe9";
  record_ = build_exec_record(spec);
  Result<Event> event = decode(record_, {});
  ASSERT_TRUE(event.ok());
  const std::string parent_argv("sh\0\xfe\0", 5);
  const ProcessSummary lineage[] = {{4200, 400'000'000, 2, "sh", "/bin/\xf8", StringList{parent_argv}, false}};
  event->lineage = lineage;
  event->host = "h\xe9";
  std::string line;
  JsonFormatter(clock_).append(line, *event);
  EXPECT_NE(
      line.find(
          R"("argv":["ok","\u00e9","café","\u00c0\u00af","\u0080"],"argv_b64":{"1":"6Q==","3":"wK8=","4":"gA=="})"),
      std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("pathname":"/tmp/\u00ff","pathname_b64":"L3RtcC//")"), std::string::npos) << line;
  const auto document = nlohmann::json::parse(line);
  EXPECT_EQ(document["args"]["filename_b64"], "L3RtcC//");
  EXPECT_FALSE(document["args"].contains("exe_b64"));  // valid: no twin
  EXPECT_EQ(document["cwd_b64"], "L2hvbWUv7aCA");
  EXPECT_EQ(document["comm_b64"], "Yuk=");
  EXPECT_EQ(document["host_b64"], "aOk=");
  EXPECT_FALSE(document.contains("tty_b64"));
  EXPECT_EQ(document["parent"]["exe_b64"], "L2Jpbi/4");
  EXPECT_EQ(document["parent"]["argv_b64"], nlohmann::json::parse(R"({"1":"/g=="})"));
  EXPECT_FALSE(document["parent"].contains("comm_b64"));
  EXPECT_EQ(document["flags"], nlohmann::json::array({"invalid_utf8"}));
}

// One formatter keeps the task's part of the last line: every change of a
// field in it (and of the strings enrichment adds) must show, and a kept
// part's invalid UTF-8 must still flag the line.
TEST_F(FormatTest, OneFormatterGivesEveryRecordItsOwnTaskFields) {
  struct Step {
    std::string comm;
    uint32_t euid;
    uint32_t exec_gen;
    std::optional<std::string_view> tty;
    std::optional<std::string_view> host;
    std::string_view container_id;
  };
  const Step steps[] = {
      {"b\xe9", 1000, 3, std::nullopt, std::nullopt, ""},
      {"b\xe9", 1000, 3, std::nullopt, std::nullopt, ""},
      {"bash", 1000, 3, std::nullopt, std::nullopt, ""},
      {"bash", 0, 3, std::nullopt, std::nullopt, ""},
      {"bash", 0, 4, std::nullopt, std::nullopt, ""},
      {"bash", 0, 4, "pts/1", std::nullopt, ""},
      {"bash", 0, 4, "pts/2", std::nullopt, ""},
      {"bash", 0, 4, "pts/2", "h1", ""},
      {"bash", 0, 4, "pts/2", "h2", ""},
      {"bash", 0, 4, "pts/2", "h2", "0123456789ab"},
      {"bash", 0, 4, "pts/2", "h2", "0123456789ab"},
      {"bash", 0, 4, std::nullopt, std::nullopt, ""},
  };
  JsonFormatter kept(clock_);
  for (const Step& step : steps) {
    ExecRecordSpec spec;
    spec.task.comm = step.comm;
    spec.task.euid = step.euid;
    spec.task.exec_gen = step.exec_gen;
    record_ = build_exec_record(spec);
    Result<Event> event = decode(record_, {});
    ASSERT_TRUE(event.ok());
    event->tty = step.tty;
    event->host = step.host;
    event->container_id = step.container_id;
    std::string from_kept;
    kept.append(from_kept, *event);
    std::string from_fresh;
    JsonFormatter(clock_).append(from_fresh, *event);
    EXPECT_EQ(from_kept, from_fresh);
  }
}

TEST_F(FormatTest, ValidStringsHaveNoExactBytes) {
  ExecRecordSpec spec;
  spec.argv = nul_joined({"caf\xc3\xa9", "\xf0\x9f\x99\x82"});
  EXPECT_EQ(json_line(spec).find("_b64"), std::string::npos);
}

TEST_F(FormatTest, FlagsAreListed) {
  ExecRecordSpec spec;
  spec.flags |= TRACER_EXEC_FILELESS | TRACER_EXEC_ARGV_TRUNCATED;
  spec.filename = "/bin/sh";
  const auto document = nlohmann::json::parse(json_line(spec));
  EXPECT_EQ(document["flags"], nlohmann::json::array({"argv_truncated", "path_mismatch", "fileless"}));
}

TEST_F(FormatTest, TableLineEscapesAndAligns) {
  ExecRecordSpec spec;
  spec.argv = nul_joined({"echo", "two words", "\x1b[2J", "x\ny"});
  const std::string line = table_line(spec);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_NE(line.find(R"( \x1b[2J )"), std::string::npos);
  EXPECT_NE(line.find(R"('x\ny')"), std::string::npos);
  EXPECT_NE(line.find("'two words'"), std::string::npos);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const std::string header = TableFormatter::header();
  EXPECT_EQ(line.find("1000"), header.find("UID"));
  EXPECT_EQ(line.find("execve"), header.find("EVENT"));
  EXPECT_EQ(line.find("/bin/ls"), header.find("ARGS"));
}

TEST_F(FormatTest, FailedExecShowsTheErrnoNameAsSyscallsDo) {
  ExecRecordSpec spec;
  spec.ret = -2;
  spec.flags = 0;
  const std::string line = table_line(spec);
  const std::string header = TableFormatter::header();
  EXPECT_EQ(line.find("ENOENT "), header.find("RET")) << line;
  EXPECT_EQ(line.find("execve"), header.find("EVENT")) << line;
  EXPECT_EQ(nlohmann::json::parse(json_line(spec))["ret"], -2);  // JSON keeps the number
}

TEST_F(FormatTest, EventAndRetColumnsHoldTheLongestNames) {
  const std::string header = TableFormatter::header();
  EXPECT_GE(header.find("EVENT") - header.find("RET"), std::string("ENOENT ").size());
  EXPECT_GE(header.find("ARGS") - header.find("EVENT"), std::string("bash_readline ").size());
}

TEST_F(FormatTest, TableFitsEightyColumns) {
  ExecRecordSpec spec;
  std::string argv = "ls";
  for (int i = 0; i < 40; ++i) argv += std::string(1, '\0') + "argument-" + std::to_string(i);
  spec.argv = argv + '\0';
  spec.pathname = "/usr/lib/x86_64-linux-gnu/some/long/path/\xc3\xa9t\xc3\xa9";
  std::string out;
  append_fitted(out, TableFormatter::header(), 80);
  append_fitted(out, table_line(spec), 80);
  append_fitted(out, "short\n", 80);
  std::istringstream lines(out);
  std::vector<std::string> rows;
  for (std::string row; std::getline(lines, row);) rows.push_back(row);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].ends_with("ARGS")) << rows[0];  // the header fits whole
  EXPECT_TRUE(rows[1].ends_with("\u2026")) << rows[1];
  EXPECT_EQ(rows[2], "short");
  for (const std::string& row : rows) {
    size_t columns = 0;
    for (unsigned char c : row) columns += (c & 0xC0) != 0x80;
    EXPECT_LE(columns, 80u) << row;
  }
  EXPECT_EQ(rows[1].find("/usr"), rows[0].find("ARGS"));  // ARGS is what gets cut
  // No limit: the line as formatted.
  std::string whole;
  append_fitted(whole, table_line(spec), 0);
  EXPECT_EQ(whole, table_line(spec));
}

}  // namespace
}  // namespace tracer
