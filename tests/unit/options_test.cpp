#include "tracer/app/options.hpp"

#include <gtest/gtest.h>

namespace tracer {
namespace {

Result<Options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "tracer");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(Options, Defaults) {
  Result<Options> options = parse({});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->command, Command::trace);
  EXPECT_EQ(options->format, OutputFormat::table);
  EXPECT_FALSE(options->output_file);
  EXPECT_EQ(options->max_args, 128u);
}

TEST(Options, OutputSpecs) {
  Result<Options> options = parse({"--output", "json", "--output", "out-file:/var/log/x.json"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->format, OutputFormat::json);
  EXPECT_EQ(options->output_file, "/var/log/x.json");
  EXPECT_EQ(parse({"--output", "none"})->format, OutputFormat::none);
  EXPECT_TRUE(parse({"--output", "none"})->outputs.empty());
}

TEST(Options, SyslogOutputsBesideTheOthers) {
  Result<Options> options = parse({"--output", "none", "--output", "syslog:tcp://127.0.0.1:514", "--output",
                                   "syslog:unix:/run/tracer.sock", "--output", "option:syslog-facility=local3"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_TRUE(options->outputs.empty());
  const std::vector<SyslogTarget> expected = {{"127.0.0.1", 514, {}}, {{}, 0, "/run/tracer.sock"}};
  EXPECT_EQ(options->syslog_outputs, expected);
  EXPECT_EQ(options->syslog_facility, 19);
  EXPECT_EQ(parse({"--output", "syslog:tcp://h:1"})->syslog_facility, kSyslogFacilityUser);
  for (const std::vector<const char*>& refused : {std::vector<const char*>{"--output", "syslog:udp://h:514"},
                                                  {"--output", "syslog:tcp://h"},
                                                  {"--output", "syslog:tcp://h:514", "--output", "syslog:tcp://h:514"},
                                                  {"--output", "option:syslog-facility=kern"},
                                                  {"--stats", "--output", "syslog:tcp://h:514"}}) {
    const Result<Options> result = parse(refused);
    ASSERT_FALSE(result.ok()) << refused.back();
    EXPECT_EQ(result.error().kind, ExitKind::usage) << result.error().message;
  }
}

TEST(Options, SeveralOutputsEachWithItsFormatAndDestination) {
  Result<Options> options = parse({"--output", "table", "--output", "json:/var/log/tracer/exec.json", "--output",
                                   "audit-log:/var/log/tracer/audit.log", "--output", "option:parent"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  const std::vector<OutputSpec> expected = {{OutputFormat::table, std::nullopt},
                                            {OutputFormat::json, "/var/log/tracer/exec.json"}};
  EXPECT_EQ(options->outputs, expected);
  EXPECT_EQ(options->audit_log, "/var/log/tracer/audit.log");
  EXPECT_EQ(options->lineage, Lineage::parent);
  // The same format to two files, and table:PATH.
  options = parse({"--output", "json:/a.json", "--output", "json:/b.json", "--output", "table:/c.txt"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->outputs.size(), 3u);
}

TEST(Options, OutFileSendsTheOneFormatToItsPath) {
  Result<Options> options = parse({"--output", "out-file:/x.txt"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->outputs, (std::vector<OutputSpec>{{OutputFormat::table, "/x.txt"}}));
  options = parse({"--output", "out-file:/x.json", "--output", "json"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->outputs, (std::vector<OutputSpec>{{OutputFormat::json, "/x.json"}}));
  // none beside the audit log: only the audit log is written.
  options = parse({"--output", "none", "--output", "audit-log:/a.log"});
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->outputs.empty());
  EXPECT_EQ(options->audit_log, "/a.log");
  // Only the audit log: the table still goes to stdout, as before.
  options = parse({"--output", "audit-log:/a.log"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->outputs, (std::vector<OutputSpec>{{}}));
}

TEST(Options, OutputCombinationsThatCannotWorkAreUsageErrors) {
  const auto refused = [](std::vector<const char*> args, std::string_view needle) {
    Result<Options> result = parse(std::move(args));
    ASSERT_FALSE(result.ok()) << needle;
    EXPECT_EQ(result.error().kind, ExitKind::usage);
    EXPECT_NE(result.error().message.find(needle), std::string::npos) << result.error().message;
    EXPECT_EQ(result.error().message.find('\n'), std::string::npos);
  };
  refused({"--output", "table", "--output", "json"}, "only one output may go to stdout");
  refused({"--output", "json", "--output", "json"}, "only one output may go to stdout");
  refused({"--output", "json:/a", "--output", "table:/a"}, "/a is given to two outputs");
  refused({"--output", "json:/var/log/a", "--output", "audit-log:/var/log/./a"}, "given to two outputs");
  refused({"--output", "table", "--output", "json", "--output", "out-file:/x"}, "several formats");
  refused({"--output", "json:/a", "--output", "out-file:/x"}, "already goes to /a");
  refused({"--output", "none", "--output", "out-file:/x"}, "none writes nothing");
  refused({"--output", "none", "--output", "table"}, "cannot be combined with table");
  refused({"--output", "json:"}, "needs a path");
  refused({"--output", "xml:/x"}, "'xml:/x'");
  refused({"--stats", "--output", "table", "--output", "json:/x"}, "one --output");
}

TEST(Options, UsageErrorsNameTheProblem) {
  const auto expect_usage = [](Result<Options> result, std::string_view needle) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().kind, ExitKind::usage);
    EXPECT_NE(result.error().message.find(needle), std::string::npos) << result.error().message;
    EXPECT_EQ(result.error().message.find('\n'), std::string::npos);
  };
  expect_usage(parse({"--output", "xml"}), "'xml'");
  expect_usage(parse({"--output", "out-file:"}), "needs a path");
  expect_usage(parse({"--output", "out-file:/a", "--output", "out-file:/b"}), "only one");
  expect_usage(parse({"--max-args", "0"}), "max-args");
  expect_usage(parse({"--max-args", "abc"}), "max-args");
  expect_usage(parse({"--bogus"}), "bogus");
  expect_usage(parse({"--list", "--check"}), "cannot be combined");
  expect_usage(parse({"--ring-buffer-kib", "100"}), "power of two");
}

TEST(Options, ListCheckVersion) {
  EXPECT_EQ(parse({"--list"})->command, Command::list);
  EXPECT_EQ(parse({"--check"})->command, Command::check);
  Result<Options> version = parse({"--version"});
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.error().kind, ExitKind::answered);
  EXPECT_NE(version.error().message.find("tracer "), std::string::npos);
}

}  // namespace
}  // namespace tracer
