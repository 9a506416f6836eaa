// User tracers without a kernel: the configuration's user_tracers (and its
// errors), the capture specs the kernel is given, the decoding of their
// records (byte for byte as the kernel sends them), --config merging, event
// selection, and the JSON of the new value kinds.
#include "tracer/user_functions/user_function.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "record_builder.hpp"
#include "tracer/app/options.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/filter/filter.hpp"
#include "tracer/output/format.hpp"

namespace tracer {
namespace {

using nlohmann::json;

const json kIssueConfig = json::parse(R"([{"table_name": "bash_events", "path": "/usr/bin/bash",
    "function_name": "readline",
    "parameter_list": [{"name": "prompt", "type": "String", "mode": "In"},
                       {"name": "EXIT_CODE", "type": "String", "mode": "Out"}]}])");

const json kMixedConfig = json::parse(R"([{"table_name": "mixed", "path": "/bin/x", "function_name": "f",
    "parameter_list": [{"name": "count", "type": "Int32"},
                       {"name": "name", "type": "String", "mode": "In"},
                       {"name": "point", "type": "ByteArray", "length": 16, "mode": "Out"},
                       {"name": "out", "type": "Int16", "mode": "Out"},
                       {"name": "where", "type": "Pointer"}]}])");

std::string parse_error(const std::string& text) {
  Result<std::vector<UserFunction>> parsed = parse_user_functions(json::parse(text));
  return parsed ? "" : parsed.error().message;
}

TEST(UserTracerConfig, TheIssuesBashEventsParse) {
  Result<std::vector<UserFunction>> parsed = parse_user_functions(kIssueConfig);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  const UserFunction& tracer = parsed->front();
  EXPECT_EQ(tracer.table_name, "bash_events");
  EXPECT_EQ(tracer.origin, "user_tracers[0] (bash_events)");
  ASSERT_EQ(tracer.params.size(), 2u);
  EXPECT_EQ(tracer.params[0].name, "prompt");
  EXPECT_EQ(tracer.params[0].argument, 0);
  EXPECT_FALSE(tracer.params[0].is_return);
  EXPECT_EQ(tracer.params[1].name, "return_value");
  EXPECT_TRUE(tracer.params[1].is_return);
  EXPECT_EQ(tracer.params[1].type, ParamType::string);
}

TEST(UserTracerConfig, ReturnValueIsAlwaysThereAsANumber) {
  Result<std::vector<UserFunction>> parsed =
      parse_user_functions(json::parse(R"([{"table_name": "t", "path": "/x", "function_name": "f"}])"));
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->front().params.size(), 1u);
  EXPECT_EQ(parsed->front().params[0].name, "return_value");
  EXPECT_EQ(parsed->front().params[0].type, ParamType::int64);
}

TEST(UserTracerConfig, ErrorsNameTheEntryAndTheProblem) {
  EXPECT_EQ(parse_error(R"([{"table_name": "t", "path": "/x"}])"), "user_tracers[0] (t): missing \"function_name\"");
  EXPECT_EQ(parse_error(R"([{"table_name": "t", "path": "/x", "function_name": "f", "paht": 1}])"),
            "user_tracers[0] (t): unknown key \"paht\" (expected table_name, path, function_name, parameter_list)");
  EXPECT_EQ(parse_error(R"([{"table_name": "Bash-Events", "path": "/x", "function_name": "f"}])"),
            "user_tracers[0] (Bash-Events): table_name must be snake_case: a-z, 0-9 and _ (at most 64)");
  EXPECT_EQ(parse_error(R"([{"table_name": "openat", "path": "/x", "function_name": "f"}])"),
            "user_tracers[0] (openat): table_name 'openat' is already an event of the tracer");
  EXPECT_EQ(parse_error(R"([{"table_name": "t", "path": "/x", "function_name": "f"},
                            {"table_name": "t", "path": "/y", "function_name": "g"}])"),
            "user_tracers[1] (t): table_name 't' is given twice");
  EXPECT_EQ(parse_error(R"([{"table_name": "t", "path": "/x", "function_name": "f",
                             "parameter_list": [{"name": "b", "type": "ByteArray"}]}])"),
            "user_tracers[0] (t): parameter 'b': a ByteArray needs \"length\", 1 to 1024");
  EXPECT_EQ(parse_error(R"([{"table_name": "t", "path": "/x", "function_name": "f",
                             "parameter_list": [{"name": "EXIT_CODE", "type": "Int8"},
                                                {"name": "EXIT_CODE", "type": "Int8"}]}])"),
            "user_tracers[0] (t): EXIT_CODE is given twice");
  EXPECT_EQ(parse_error(R"([{"table_name": "t", "path": "/x", "function_name": "f",
                             "parameter_list": [{"name": "a", "type": "Int8"}, {"name": "b", "type": "Int8"},
                                                {"name": "c", "type": "Int8"}, {"name": "d", "type": "Int8"},
                                                {"name": "e", "type": "Int8"}, {"name": "f", "type": "Int8"},
                                                {"name": "g", "type": "Int8"}]}])"),
            "user_tracers[0] (t): at most 6 parameters (the arguments passed in registers), besides EXIT_CODE");
  EXPECT_EQ(parse_error(R"({"table_name": "t"})"), "user_tracers must be an array");
}

TEST(UserTracerConfig, CaptureSpecsSayWhatTheKernelReadsAndWhen) {
  Result<std::vector<UserFunction>> parsed = parse_user_functions(kMixedConfig);
  ASSERT_TRUE(parsed) << parsed.error().message;
  const tracer_user_function_spec spec = capture_spec(parsed->front());
  ASSERT_EQ(spec.param_count, 6);
  // count: the register at entry; name: the string at entry.
  EXPECT_EQ(spec.params[0].capture, TRACER_USER_CAPTURE_VALUE);
  EXPECT_EQ(spec.params[0].at_return, 0);
  EXPECT_EQ(spec.params[1].capture, TRACER_USER_CAPTURE_STRING);
  EXPECT_EQ(spec.params[1].source, 1);
  // point: 16 bytes it points to, at return; out: the Int16 it points to, at return.
  EXPECT_EQ(spec.params[2].capture, TRACER_USER_CAPTURE_BYTES);
  EXPECT_EQ(spec.params[2].size, 16);
  EXPECT_EQ(spec.params[2].at_return, 1);
  EXPECT_EQ(spec.params[3].capture, TRACER_USER_CAPTURE_BYTES);
  EXPECT_EQ(spec.params[3].size, 2);
  EXPECT_EQ(spec.params[4].capture, TRACER_USER_CAPTURE_VALUE);
  // The return value: the register at return.
  EXPECT_EQ(spec.params[5].source, TRACER_USER_SOURCE_RETURN);
  EXPECT_EQ(spec.params[5].at_return, 1);
  EXPECT_EQ(spec.params[5].capture, TRACER_USER_CAPTURE_VALUE);
}

class UserFunctionDecode : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::vector<UserFunction>> parsed = parse_user_functions(kMixedConfig);
    ASSERT_TRUE(parsed);
    functions_ = std::make_unique<UserFunctions>(std::move(*parsed));
    options_.user_functions = functions_.get();
  }
  std::unique_ptr<UserFunctions> functions_;
  DecodeOptions options_;
};

TEST_F(UserFunctionDecode, ValuesOfEveryKindInTheirOrder) {
  testing::UserFunctionRecordSpec spec;
  spec.args = {uint64_t(-5), 0x1000, 0x2000, 0x3000, 0x7ffd1234, 0};
  spec.return_value = uint64_t(-1);
  // At entry: name; at return: point (16 bytes) and out (2 bytes, -2).
  const std::string point("\x31\0\0\0\xf7\xff\xff\xffmoved!!\0", 16);
  spec.capture_len = {0, 4, 16, 2, 0, 0, 0, 0};
  spec.captures = std::string("ab\xff\n", 4) + point + std::string("\xfe\xff", 2);
  std::vector<std::byte> record = testing::build_user_function_record(spec);
  Result<Event> event = decode(record, options_);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->definition->name, "mixed");
  EXPECT_FALSE(event->ret);
  ASSERT_EQ(event->args.size(), 6u);
  EXPECT_EQ(std::get<int64_t>(event->args.find("count")->value), -5);
  EXPECT_EQ(std::get<std::string_view>(event->args.find("name")->value), std::string_view("ab\xff\n", 4));
  EXPECT_EQ(std::get<ByteArray>(event->args.find("point")->value).bytes, point);
  EXPECT_EQ(std::get<int64_t>(event->args.find("out")->value), -2);
  EXPECT_EQ(std::get<SymbolicValue>(event->args.find("where")->value).raw, 0x7ffd1234);
  EXPECT_EQ(std::get<int64_t>(event->args.find("return_value")->value), -1);

  BootToWallClock clock(0);
  JsonFormatter formatter(clock);
  std::string line;
  formatter.append(line, *event);
  const json parsed = json::parse(line);
  EXPECT_EQ(
      parsed["args"],
      json::parse(R"({"count":-5,"name":"ab\u00ff\n","name_b64":"YWL/Cg==","point":"31000000f7ffffff6d6f766564212100",
                                            "out":-2,"where":"0x7ffd1234","return_value":-1})"));
}

TEST_F(UserFunctionDecode, NullFailedTruncatedAndLateReads) {
  testing::UserFunctionRecordSpec spec;
  spec.args = {1, 0xdead, 0, 0x3000, 0, 0};
  // name failed at entry and was read at return ("late"); point NULL; out unreadable.
  spec.capture_len = {0, 4, 0, 0, 0, 0, 0, 0};
  spec.captures = "late";
  spec.read_at_return = 1u << 1;
  spec.pointer_null = 1u << 2;
  spec.capture_failed = 1u << 3;
  spec.capture_truncated = 1u << 1;
  // The event's strings view the record: it outlives them.
  const std::vector<std::byte> record = testing::build_user_function_record(spec);
  Result<Event> event = decode(record, options_);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(std::get<std::string_view>(event->args.find("name")->value), "late");
  EXPECT_TRUE(std::holds_alternative<std::nullptr_t>(event->args.find("point")->value));
  EXPECT_EQ(std::get<SymbolicValue>(event->args.find("out")->value).raw, 0x3000);
  EXPECT_TRUE(event->has(EventFlag::argument_read_failed));
  EXPECT_TRUE(event->has(EventFlag::argument_truncated));
}

TEST_F(UserFunctionDecode, LengthsOverrunningTheRecordAreRejected) {
  testing::UserFunctionRecordSpec spec;
  spec.capture_len = {0, 4000, 0, 0, 0, 0, 0, 0};
  spec.captures = "short";
  EXPECT_FALSE(decode(testing::build_user_function_record(spec), options_));
  spec.slot = 40;  // no such tracer
  spec.capture_len = {};
  EXPECT_FALSE(decode(testing::build_user_function_record(spec), options_));
}

TEST_F(UserFunctionDecode, UnverifiedExecutableIsCarried) {
  testing::UserFunctionRecordSpec spec;
  spec.flags = TRACER_USER_RECORD_UNVERIFIED_EXE;
  Result<Event> event = decode(testing::build_user_function_record(spec), options_);
  ASSERT_TRUE(event);
  ASSERT_TRUE(event->unverified_executable);
  EXPECT_EQ(event->unverified_executable->inode, 77u);
}

TEST(UserTracerEvents, ConfiguredOnesAreProducedByDefaultBashReadlineOnDemand) {
  Result<std::vector<UserFunction>> parsed = parse_user_functions(kIssueConfig);
  ASSERT_TRUE(parsed);
  const UserFunctions functions(std::move(*parsed));
  const EventDefinition* bash_readline = functions.find("bash_readline");
  const EventDefinition* bash_events = functions.find("bash_events");
  ASSERT_TRUE(bash_readline && bash_events);
  EXPECT_EQ(bash_readline->id, TRACER_EVENT_USER_FUNCTION_BASE);
  EXPECT_EQ(bash_events->id, TRACER_EVENT_USER_FUNCTION_BASE + 1);

  Result<FilterSpec> defaults = parse_filters({}, functions);
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(defaults->wants(TRACER_EVENT_EXECVE));
  EXPECT_TRUE(defaults->wants(bash_events->id));
  EXPECT_FALSE(defaults->wants(bash_readline->id));

  Result<FilterSpec> chosen = parse_filters({"event=bash_readline", "bash_readline.line=sudo *"}, functions);
  ASSERT_TRUE(chosen) << chosen.error().message;
  EXPECT_TRUE(chosen->wants(bash_readline->id));
  EXPECT_FALSE(chosen->wants(bash_events->id));
  EXPECT_FALSE(chosen->wants(TRACER_EVENT_EXECVE));
  ASSERT_EQ(chosen->argument_filters.size(), 1u);

  Result<FilterSpec> wrong = parse_filters({"bash_readline.nosuch=x"}, functions);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message, "--trace 'bash_readline.nosuch=x': bash_readline has no argument 'nosuch'");
  // Without a configuration, bash_readline is still an event.
  EXPECT_TRUE(parse_filters({"event=bash_readline"}));
  EXPECT_FALSE(parse_filters({"event=bash_events"}));
}

class ConfigFileOptions : public ::testing::Test {
 protected:
  std::string write(const std::string& content) {
    path_ = ::testing::TempDir() + "/tracer-config-" + std::to_string(::getpid()) + ".json";
    std::ofstream(path_) << content;
    return path_;
  }
  Result<Options> parse(std::vector<const char*> args) {
    args.insert(args.begin(), "tracer");
    return parse_command_line(static_cast<int>(args.size()), args.data());
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(ConfigFileOptions, TheFileSetsOptionsTheCommandLineWins) {
  const std::string path = write(R"({"trace": ["uid=1000"], "output": "json", "max_args": 16,
                                     "user_tracers": )" +
                                 kIssueConfig.dump() + "}");
  Result<Options> from_file = parse({"--config", path.c_str()});
  ASSERT_TRUE(from_file) << from_file.error().message;
  EXPECT_EQ(from_file->trace_expressions, std::vector<std::string>{"uid=1000"});
  EXPECT_EQ(from_file->format, OutputFormat::json);
  EXPECT_EQ(from_file->max_args, 16u);
  ASSERT_EQ(from_file->user_functions->all().size(), 2u);
  EXPECT_EQ(from_file->user_functions->all()[1].origin, "--config " + path + ": user_tracers[0] (bash_events)");

  Result<Options> overridden = parse({"--config", path.c_str(), "--max-args", "8", "--trace", "uid=0"});
  ASSERT_TRUE(overridden) << overridden.error().message;
  EXPECT_EQ(overridden->max_args, 8u);
  EXPECT_EQ(overridden->trace_expressions, std::vector<std::string>{"uid=0"});
  EXPECT_EQ(overridden->format, OutputFormat::json);
}

TEST_F(ConfigFileOptions, BadFilesAreUsageErrors) {
  const auto error_of = [&](const std::string& content) {
    const std::string path = write(content);
    Result<Options> parsed = parse({"--config", path.c_str()});
    EXPECT_FALSE(parsed);
    if (parsed) return std::string();
    EXPECT_EQ(parsed.error().kind, ExitKind::usage);
    return parsed.error().message.substr(("--config " + path + ": ").size());
  };
  EXPECT_EQ(error_of(R"({"max_args": 5000})"), "\"max_args\" must be a number from 1 to 1024");
  EXPECT_EQ(error_of(R"({"trace": [1]})"), "\"trace\" must be a string or an array of strings");
  EXPECT_EQ(error_of(R"({"syscall_hook": "fast"})"), "\"syscall_hook\" must be auto, tracepoint or raw");
  EXPECT_EQ(error_of(R"([1])"), "must hold a JSON object");
  EXPECT_EQ(error_of(R"({"verbose": "yes"})"), "\"verbose\" must be true or false");
  Result<Options> missing = parse({"--config", "/nonexistent/tracer.json"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "--config /nonexistent/tracer.json: cannot read: No such file or directory");
}

}  // namespace
}  // namespace tracer
