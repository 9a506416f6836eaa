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
