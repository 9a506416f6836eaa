// Saved JSON lines read back into Events (tracer replay): the same line comes
// out of the formatter again, and the --trace filters judge the records as the
// kernel judged the live ones.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

#include "record_builder.hpp"
#include "tracer/decode/decode.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/output/format.hpp"
#include "tracer/user_functions/user_function.hpp"
#include "tracer/views/json_record.hpp"
#include "tracer/views/log_filter.hpp"

namespace tracer {
namespace {

using namespace std::string_literals;
using testing::build_exec_record;
using testing::ExecRecordSpec;

class ReplayTest : public ::testing::Test {
 protected:
  // The live run's clock and boot: not those of the replay.
  BootToWallClock clock_{1'795'408'230'000'000'000 - 1'000'000'000};
  JsonOptions live_options_{"a3b9c62238a549af", true};
  UserFunctions user_functions_{{}};
  JsonRecordReader reader_{user_functions_};

  std::string live_line(const Event& event, bool ancestors = true) {
    JsonOptions options = live_options_;
    options.ancestors = ancestors;
    std::string out;
    JsonFormatter(clock_, options).append(out, event);
    return out;
  }
  // JSON → Event → JSON through the replay clock and the log's boot tag.
  std::string replayed(const std::string& line) {
    Result<const Event*> event = reader_.read(std::string_view(line).substr(0, line.size() - 1));
    EXPECT_TRUE(event) << (event ? "" : event.error().message) << "\n" << line;
    if (!event) return {};
    const BootToWallClock clock = replay_clock();
    std::string out;
    JsonFormatter(clock, JsonOptions{std::string(reader_.boot_tag()), reader_.had_ancestors()}).append(out, **event);
    return out;
  }
  Event decoded(const std::vector<std::byte>& record) {
    records_.push_back(record);
    DecodeOptions options;
    options.user_functions = &user_functions_;
    Result<Event> event = decode(records_.back(), options);
    EXPECT_TRUE(event) << (event ? "" : event.error().message);
    return event ? *event : Event{};
  }
  std::vector<std::vector<std::byte>> records_;
};

TEST_F(ReplayTest, ExecRecordsComeBackByteForByte) {
  ExecRecordSpec spec;
  spec.argv = "ls\0-la\0\0with \"quotes\" and \\\0tab\there\0\xe9\xc0\xaf\0"s;
  spec.cwd = "/home/ann/\xff\xfe dir\n";
  spec.pathname = "/bin/\x80ls";
  Event event = decoded(build_exec_record(spec));
  const std::string line = live_line(event);
  ASSERT_NE(line.find("invalid_utf8"), std::string::npos) << line;
  ASSERT_NE(line.find(R"("argv_b64":{"5":"6cCv"})"), std::string::npos) << line;
  EXPECT_EQ(replayed(line), line);

  ExecRecordSpec failed;
  failed.ret = -2;
  failed.argv = std::string("\0", 1);  // one empty argument
  const std::string failed_line = live_line(decoded(build_exec_record(failed)));
  ASSERT_NE(failed_line.find(R"("argv":[""])"), std::string::npos) << failed_line;
  EXPECT_EQ(replayed(failed_line), failed_line);

  ExecRecordSpec none;
  none.argv.clear();
  const std::string empty_line = live_line(decoded(build_exec_record(none)));
  EXPECT_EQ(replayed(empty_line), empty_line);
}

TEST_F(ReplayTest, LifecycleAndUserFunctionRecordsComeBack) {
  testing::TaskSpec task;
  task.comm = "sh\x1b[31m";
  const std::string fork_line = live_line(decoded(testing::build_fork_record(task, 5000, 600'000'000)));
  EXPECT_EQ(replayed(fork_line), fork_line);
  const std::string exit_line = live_line(decoded(testing::build_exit_record(task, 0, 9)));
  EXPECT_EQ(replayed(exit_line), exit_line);

  testing::UserFunctionRecordSpec readline;
  readline.slot = 0;
  readline.return_value = 0x1000;
  readline.capture_len = {5};
  readline.captures = "ls -l";
  const std::string bash_line = live_line(decoded(testing::build_user_function_record(readline)));
  ASSERT_NE(bash_line.find(R"("event":"bash_readline")"), std::string::npos) << bash_line;
  EXPECT_EQ(replayed(bash_line), bash_line);
}

// Every kind of Value, a container, a parent chain and a syscall's raw side.
TEST_F(ReplayTest, SyscallValuesContainerAndLineageComeBack) {
  sockaddr_in6 six{};
  six.sin6_family = AF_INET6;
  six.sin6_port = htons(8443);
  inet_pton(AF_INET6, "fe80::1", &six.sin6_addr);
  const std::string inet6(reinterpret_cast<const char*>(&six), sizeof(six));
  std::string abstract(offsetof(sockaddr_un, sun_path), '\0');
  const sa_family_t unix_family = AF_UNIX;
  std::memcpy(abstract.data(), &unix_family, sizeof(unix_family));
  abstract += std::string("\0bus\"name", 9);
  const std::string argv_bytes("make\0-j4\0", 9);
  const std::string container(64, 'c');
  const ProcessSummary lineage[] = {{4200, 12'000, 3, "bash", "/usr/bin/bash", StringList{argv_bytes}, true},
                                    {1, 5, std::nullopt, "systemd", "/usr/lib/systemd/systemd", StringList{}, false}};

  Event event;
  event.definition = find_event("connect");
  ASSERT_NE(event.definition, nullptr);
  event.boot_ns = 77'000'000'001;
  event.task = {4242, 4243, 4200, 7,      1000, 1000, 4026531841,   4026531836,   99, 1'000, 12'000,
                4,    3,    0,    "curl", 0,    0,    std::nullopt, std::nullopt, 0,  0,     0};
  event.ret = -111;
  event.args.add("fd", SymbolicValue{3, Symbols::fd});
  event.args.add("uservaddr", SocketAddress{inet6});
  event.args.add("other", SocketAddress{abstract});
  event.args.add("flags", SymbolicValue{O_RDONLY | O_CLOEXEC, Symbols::open_flags});
  event.args.add("negative", int64_t{-5});
  event.args.add("big", uint64_t{18'446'744'073'709'551'615u});
  event.args.add("yes", true);
  event.args.add("bytes", ByteArray{std::string_view("\x01\xff", 2)});
  event.args.add("nothing", nullptr);
  event.set(EventFlag::argument_truncated);
  event.syscall = SyscallRaw{42, 3, 0b001, {static_cast<uint64_t>(-1), 140737488346112, 28}, 1500, false};
  event.container_id = container;
  event.lineage = lineage;
  event.task.euid = 0;
  event.task.egid = 5;
  event.task.auid = 1000;
  event.task.sessionid = 12;
  event.task.sid = 4100;
  event.tty = "pts/3";
  event.host = "web-1";
  const std::string line = live_line(event);
  ASSERT_NE(line.find(R"("auid":1000,"sessionid":12,"sid":4100,"tty":"pts/3","host":"web-1")"), std::string::npos)
      << line;
  EXPECT_EQ(replayed(line), line);
  const std::string parent_only = live_line(event, false);
  EXPECT_EQ(replayed(parent_only), parent_only);

  event.syscall->no_return = true;
  event.ret.reset();
  event.lineage = {};
  const std::string no_return = live_line(event);
  EXPECT_EQ(replayed(no_return), no_return);
}

TEST_F(ReplayTest, BadLinesAreErrorsThatSayWhat) {
  EXPECT_FALSE(reader_.read(""));
  EXPECT_FALSE(reader_.read(R"({"timestamp":"2026-11-23T04:30:30.000000123Z"})"));  // no event
  EXPECT_FALSE(reader_.read(R"({"event":"execve","pid":-1})"));
  EXPECT_FALSE(reader_.read(R"({"event":"execve","exec_id":"x"})"));
  Result<const Event*> cut = reader_.read(R"({"event":"execve","comm":"bash)");
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message.find("closing quote"), std::string::npos) << cut.error().message;
  EXPECT_FALSE(reader_.read(R"({"event":"execve"} trailing)"));
  // Fields of later versions are skipped; events of no table get a definition.
  Result<const Event*> later = reader_.read(R"({"event":"future_event","tty":"pts/3","new":{"a":[1,2,{"b":null}]}})");
  ASSERT_TRUE(later) << later.error().message;
  EXPECT_EQ((*later)->definition->name, "future_event");
  EXPECT_EQ(reader_.session().tty, "pts/3");
}

TEST(Rfc3339, ParsesWhatTheFormatterWrites) {
  std::string text;
  Rfc3339Formatter formatter;
  for (int64_t ns : {int64_t{0}, int64_t{951'782'400'123'456'789}, int64_t{1'795'408'230'000'000'123}}) {
    text.clear();
    formatter.append(text, replay_clock().to_wall(static_cast<uint64_t>(ns)));
    EXPECT_EQ(parse_rfc3339(text), ns) << text;
  }
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00.000000000Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-23 04:30:30"));
}

class LogFilterTest : public ::testing::Test {
 protected:
  LogFilter filter(const std::vector<std::string>& expressions) {
    Result<FilterSpec> spec = parse_filters(expressions);
    EXPECT_TRUE(spec) << spec.error().message;
    Result<LogFilter> made = LogFilter::make(*spec);
    EXPECT_TRUE(made) << made.error().message;
    return std::move(*made);
  }
  Event record(std::string_view name, uint32_t pid, uint32_t ppid, std::string_view comm = "bash") {
    Event event;
    event.definition = find_event(name);
    event.task.pid = event.task.tid = pid;
    event.task.ppid = ppid;
    event.task.uid = 1000;
    event.task.comm = comm;
    return event;
  }
  Event fork(uint32_t parent, uint32_t child) {
    Event event = record("sched_process_fork", parent, 1);
    event.args.add("child_pid", uint64_t{child});
    return event;
  }
};

TEST_F(LogFilterTest, ContextArgumentsAndEvents) {
  LogFilter by_comm = filter({"comm=ba*", "uid>=1000", "event=execve", "execve.pathname=/usr/bin/*"});
  Event exec = record("execve", 10, 1);
  exec.args.add("pathname", std::string_view("/usr/bin/ls"));
  EXPECT_TRUE(by_comm.selects(exec));
  exec.task.uid = 0;
  EXPECT_FALSE(by_comm.selects(exec));
  EXPECT_FALSE(by_comm.selects(record("sched_process_exit", 10, 1)));  // not a wanted event
  Event other = record("execve", 10, 1, "sh");
  other.args.add("pathname", std::string_view("/usr/bin/ls"));
  EXPECT_FALSE(by_comm.selects(other));

  LogFilter host = filter({"!container"});
  Event in_container = record("execve", 11, 1);
  const std::string id = "3f2a9c81d4e5" + std::string(52, '0');
  in_container.container_id = id;
  EXPECT_FALSE(host.selects(in_container));
  LogFilter that_container = filter({"container=3f2a9c81d4e5"});
  EXPECT_TRUE(that_container.selects(in_container));
  EXPECT_FALSE(that_container.selects(record("execve", 11, 1)));
}

// euid=, auid=, tty= judge a saved record as the kernel judges a live one.
TEST_F(LogFilterTest, IdentityFieldsFromTheLog) {
  UserFunctions user_functions{{}};
  JsonRecordReader reader{user_functions};
  const auto selects = [&](const std::vector<std::string>& expressions, std::string_view fields) {
    const std::string line = R"({"event":"execve","pid":10,"uid":1000,"comm":"sh",)" + std::string(fields) + "}";
    Result<const Event*> event = reader.read(line);
    EXPECT_TRUE(event) << event.error().message;
    return event && filter(expressions).selects(**event);
  };
  const std::string on_pty = R"("euid":0,"auid":1000,"sessionid":4,"sid":10,"tty":"pts/3","host":"h")";
  const std::string detached = R"("euid":1000,"auid":null,"sessionid":null,"sid":1,"tty":null,"host":null)";
  const std::string odd_tty = R"("euid":1000,"auid":1000,"sid":1,"tty":"ttyUSB0")";
  EXPECT_TRUE(selects({"euid=0"}, on_pty));
  EXPECT_FALSE(selects({"euid=0"}, detached));
  EXPECT_TRUE(selects({"auid=1000"}, on_pty));
  EXPECT_FALSE(selects({"auid=1000"}, detached));
  EXPECT_TRUE(selects({"auid=unset"}, detached));
  EXPECT_TRUE(selects({"tty=pts/3"}, on_pty));
  EXPECT_FALSE(selects({"tty=pts/3"}, detached));
  EXPECT_TRUE(selects({"tty=none"}, detached));
  EXPECT_FALSE(selects({"tty=none"}, odd_tty));
  EXPECT_FALSE(selects({"tty=pts/3"}, odd_tty));
}

TEST_F(LogFilterTest, NewAndFollowAreRelativeToTheLog) {
  LogFilter fresh = filter({"pid=new"});
  EXPECT_FALSE(fresh.selects(record("execve", 20, 1)));  // running before the log began
  EXPECT_FALSE(fresh.selects(fork(20, 21)));
  EXPECT_TRUE(fresh.selects(record("execve", 21, 20)));
  EXPECT_TRUE(fresh.selects(record("execve", 22, 21)));  // its child, fork unrecorded
  EXPECT_TRUE(fresh.selects(record("sched_process_exit", 21, 20)));
  EXPECT_FALSE(fresh.selects(record("execve", 21, 20)));  // the pid reused after the exit

  LogFilter follow = filter({"comm=sshd", "follow"});
  EXPECT_FALSE(follow.selects(fork(29, 28)));  // a bash forks
  Event sshd_fork = fork(30, 31);
  sshd_fork.task.comm = "sshd";
  EXPECT_TRUE(follow.selects(sshd_fork));
  EXPECT_TRUE(follow.selects(record("execve", 31, 30)));  // its child, named bash
  EXPECT_TRUE(follow.selects(record("execve", 32, 31)));  // and its grandchild by ppid
  EXPECT_FALSE(follow.selects(record("execve", 40, 1)));  // an unrelated bash
}

TEST_F(LogFilterTest, FiltersOnWhatOnlyTheKernelKnewAreUsageErrors) {
  for (const char* expression : {"exe=/usr/bin/*", "container=new"}) {
    Result<FilterSpec> spec = parse_filters({expression});
    ASSERT_TRUE(spec) << expression;
    Result<LogFilter> made = LogFilter::make(*spec);
    ASSERT_FALSE(made) << expression;
    EXPECT_EQ(made.error().kind, ExitKind::usage);
    EXPECT_NE(made.error().message.find("needs the kernel"), std::string::npos) << made.error().message;
  }
}

}  // namespace
}  // namespace tracer
