// End-to-end: syscalls by name (§2 "any syscall name", §3 event= and
// EVENT.ARG=, §4): real calls made by a child, checked in the exact JSON (and
// table) the tracer printed, under both syscall hooks; and --stats.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <map>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

// fork; the child runs body and exits with its result. Waits; the child's
// pid, and its exit status in `status`.
pid_t run_in_child(const std::function<int()>& body, int& status) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int wait_status = 0;
  waitpid(pid, &wait_status, 0);
  status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  return pid;
}

std::function<bool(const Json&)> syscall_with(const std::string& event, const std::string& arg, const Json& value) {
  return [=](const Json& line) {
    return line["event"] == event && line["args"].contains(arg) && line["args"][arg] == value;
  };
}

class SyscallTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }

  std::unique_ptr<TracerProcess> start(std::vector<std::string> args) {
    args.insert(args.end(), {"--syscall-hook", GetParam()});
    return start_tracer(args);
  }

  TempDir dir_;
};

TEST_P(SyscallTest, OpenatPathFlagsAndModeDecodedExactly) {
  auto tracer = start({"--output", "json", "--trace", "event=openat"});
  ASSERT_TRUE(tracer);
  const std::string path = dir_.path() + "/" + unique_marker("openat");
  int fd = -1;
  const pid_t child =
      run_in_child([&] { return openat(AT_FDCWD, path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640); }, fd);
  ASSERT_GE(fd, 0);
  const Json record = expect_record(*tracer, syscall_with("openat", "pathname", path), "the openat");
  EXPECT_EQ(record["pid"], child);
  EXPECT_EQ(record["tid"], child);
  EXPECT_EQ(record["ret"], fd);
  EXPECT_FALSE(record.contains("errno"));
  EXPECT_EQ(record["args"],
            (Json{{"dirfd", -100}, {"pathname", path}, {"flags", "O_WRONLY|O_CREAT|O_CLOEXEC"}, {"mode", "0640"}}));
  EXPECT_EQ(record["syscall"]["nr"], __NR_openat);
  EXPECT_EQ(record["syscall"]["raw_args"][0], -100);
  EXPECT_EQ(record["syscall"]["raw_args"][2], O_WRONLY | O_CREAT | O_CLOEXEC);
  EXPECT_EQ(record["flags"], Json::array());
}

// One JSON type per argument name across every event (a mapping conflict in
// Elasticsearch/OpenSearch otherwise), and an fd of -1 is -1.
TEST_P(SyscallTest, EveryArgumentNameKeepsOneJsonType) {
  const std::string comm = "types" + std::to_string(getpid() % 100000);
  auto tracer =
      start({"--output", "json", "--trace", "event=mmap,openat,newfstatat,mkdirat,unlinkat,pipe2,execveat,close",
             "--trace", "comm=" + comm});
  ASSERT_TRUE(tracer);
  const std::string path = dir_.path() + "/" + unique_marker("types");
  int status = -1;
  run_in_child(
      [&] {
        prctl(PR_SET_NAME, comm.c_str());
        void* anonymous = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int pipe_ends[2];
        struct stat info {};
        const bool done = anonymous != MAP_FAILED && pipe2(pipe_ends, O_CLOEXEC) == 0 &&
                          fstatat(AT_FDCWD, "/", &info, AT_SYMLINK_NOFOLLOW) == 0 &&
                          mkdirat(AT_FDCWD, path.c_str(), 0700) == 0 &&
                          unlinkat(AT_FDCWD, path.c_str(), AT_REMOVEDIR) == 0;
        syscall(SYS_execveat, AT_FDCWD, "/nonexistent-tracer-types", nullptr, nullptr, AT_SYMLINK_NOFOLLOW);
        return done ? 0 : 1;
      },
      status);
  ASSERT_EQ(status, 0);
  const Json unlinkat_record = expect_record(*tracer, syscall_with("unlinkat", "pathname", path), "the unlinkat");
  EXPECT_EQ(unlinkat_record["args"]["flag"], "AT_REMOVEDIR");
  const Json mmap_record = expect_record(*tracer, syscall_with("mmap", "fd", -1), "the anonymous mmap");
  EXPECT_EQ(mmap_record["args"]["flags"], "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(mmap_record["args"]["prot"], "PROT_READ|PROT_WRITE");
  const Json execveat_record = expect_record(
      *tracer, [](const Json& line) { return line["event"] == "execveat"; }, "the failed execveat");
  EXPECT_EQ(execveat_record["args"]["flags"], "AT_SYMLINK_NOFOLLOW");
  EXPECT_EQ(execveat_record["args"]["dirfd"], AT_FDCWD);

  std::map<std::string, Json::value_t> types;
  size_t records = 0;
  for (const std::string& line : tracer->out().lines()) {
    const Json record = Json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.contains("args")) continue;
    ++records;
    for (const auto& [name, value] : record["args"].items()) {
      const Json::value_t type = value.is_number() ? Json::value_t::number_integer : value.type();
      const auto [known, inserted] = types.emplace(name, type);
      EXPECT_TRUE(inserted || known->second == type) << name << " changes type in " << line;
      if (name.ends_with("fd")) {
        EXPECT_TRUE(value.is_number() && value.get<int64_t>() >= -100) << line;
      }
    }
  }
  EXPECT_GE(records, 6u);
  for (const char* name : {"flags", "flag", "mode", "prot"})
    if (types.contains(name)) {
      EXPECT_EQ(types[name], Json::value_t::string) << name;
    }
}

// stat's tracepoints are the kernel's sys_{enter,exit}_newstat: its
// arguments are named from that format, on either hook.
TEST_P(SyscallTest, StatIsTracedWithItsArgumentsUnderItsKernelName) {
  auto tracer = start({"--output", "json", "--trace", "event=stat"});
  ASSERT_TRUE(tracer);
  const std::string path = dir_.path() + "/" + unique_marker("stat");
  std::ofstream(path) << "x";
  int status = -1;
  struct stat info {};
  const pid_t child = run_in_child([&] { return int(syscall(SYS_stat, path.c_str(), &info)); }, status);
  ASSERT_EQ(status, 0);
  const Json record = expect_record(*tracer, syscall_with("stat", "pathname", path), "the stat");
  EXPECT_EQ(record["pid"], child);
  EXPECT_EQ(record["ret"], 0);
  EXPECT_EQ(record["syscall"]["nr"], SYS_stat);
}

TEST_P(SyscallTest, FailedOpenatIsEnoentInJsonAndTable) {
  auto json_tracer = start({"--output", "json", "--trace", "event=openat"});
  auto table_tracer = start({"--trace", "event=openat"});
  ASSERT_TRUE(json_tracer && table_tracer);
  const std::string path = dir_.path() + "/missing/" + unique_marker("enoent");
  int status = 0;
  const pid_t child = run_in_child([&] { return openat(AT_FDCWD, path.c_str(), O_RDONLY) == -1 ? errno : 0; }, status);
  ASSERT_EQ(status, ENOENT);
  const Json record = expect_record(*json_tracer, syscall_with("openat", "pathname", path), "the failed openat");
  EXPECT_EQ(record["pid"], child);
  EXPECT_EQ(record["ret"], -2);
  EXPECT_EQ(record["errno"], "ENOENT");
  EXPECT_EQ(record["args"]["flags"], "O_RDONLY");

  const auto line =
      table_tracer->out().wait_for([&](const std::string& text) { return text.find(path) != std::string::npos; }, 20s);
  ASSERT_TRUE(line) << table_tracer->err().text();
  const std::string text = table_tracer->out().lines()[*line];
  EXPECT_NE(text.find(" ENOENT "), std::string::npos) << text;
  EXPECT_NE(text.find(" openat "), std::string::npos) << text;
  EXPECT_NE(text.find("dirfd=AT_FDCWD pathname=" + path + " flags=O_RDONLY"), std::string::npos) << text;
}

TEST_P(SyscallTest, ConnectToLoopbackTcpAndUnixSocket) {
  auto tracer = start({"--output", "json", "--trace", "event=connect"});
  ASSERT_TRUE(tracer);
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);

  const std::string unix_path = dir_.path() + "/" + unique_marker("sock").substr(0, 40);
  const int unix_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un unix_address{};
  unix_address.sun_family = AF_UNIX;
  ASSERT_LT(unix_path.size(), sizeof(unix_address.sun_path));
  std::strcpy(unix_address.sun_path, unix_path.c_str());
  ASSERT_EQ(bind(unix_listener, reinterpret_cast<sockaddr*>(&unix_address), sizeof(unix_address)), 0);
  ASSERT_EQ(listen(unix_listener, 4), 0);

  int status = 0;
  const pid_t child = run_in_child(
      [&] {
        const int tcp = socket(AF_INET, SOCK_STREAM, 0);
        const int local = socket(AF_UNIX, SOCK_STREAM, 0);
        const bool ok = connect(tcp, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 &&
                        connect(local, reinterpret_cast<const sockaddr*>(&unix_address), sizeof(unix_address)) == 0;
        return ok ? 0 : 1;
      },
      status);
  ASSERT_EQ(status, 0);
  const Json inet = expect_record(
      *tracer,
      [&](const Json& r) {
        return r["event"] == "connect" && r["pid"] == child && r["args"]["addr"]["family"] == "AF_INET";
      },
      "the TCP connect");
  EXPECT_EQ(inet["ret"], 0);
  EXPECT_EQ(inet["args"]["addr"], (Json{{"family", "AF_INET"}, {"address", "127.0.0.1"}, {"port", port}}));
  EXPECT_EQ(inet["args"]["addrlen"], sizeof(address));
  const Json local = expect_record(
      *tracer,
      [&](const Json& r) {
        return r["event"] == "connect" && r["pid"] == child && r["args"]["addr"]["family"] == "AF_UNIX";
      },
      "the unix connect");
  EXPECT_EQ(local["ret"], 0);
  EXPECT_EQ(local["args"]["addr"], (Json{{"family", "AF_UNIX"}, {"path", unix_path}}));
  close(listener);
  close(unix_listener);
}

TEST_P(SyscallTest, KillShowsTheSignalByName) {
  auto tracer = start({"--output", "json", "--trace", "event=kill"});
  ASSERT_TRUE(tracer);
  const pid_t target = fork();
  if (target == 0) {
    pause();
    _exit(0);
  }
  int status = 0;
  const pid_t child = run_in_child([&] { return kill(target, SIGTERM); }, status);
  waitpid(target, nullptr, 0);
  const Json record = expect_record(*tracer, syscall_with("kill", "pid", target), "the kill");
  EXPECT_EQ(record["pid"], child);
  EXPECT_EQ(record["ret"], 0);
  EXPECT_EQ(record["args"], (Json{{"pid", target}, {"sig", "SIGTERM"}}));
}

TEST_P(SyscallTest, SyscallWithoutArgumentsIsReported) {
  auto tracer = start({"--output", "json", "--trace", "event=getppid"});
  ASSERT_TRUE(tracer);
  int status = 0;
  const pid_t child = run_in_child([] { return syscall(SYS_getppid) > 0 ? 0 : 1; }, status);
  const Json record = expect_record(
      *tracer, [&](const Json& r) { return r["event"] == "getppid" && r["pid"] == child; }, "the getppid");
  EXPECT_EQ(record["ret"], getpid());
  EXPECT_EQ(record["args"], Json::object());
  EXPECT_EQ(record["syscall"]["raw_args"], Json::array());
}

// The kernel caches a task's context: a change of identity inside a process
// (comm, session, uid) shows on its next syscall, and the filters decide on
// the new identity from then on.
TEST_P(SyscallTest, IdentityChangesShowOnTheNextSyscall) {
  const std::string first = "idf" + std::to_string(getpid() % 100000);
  const std::string second = "ids" + std::to_string(getpid() % 100000);
  auto by_comm = start({"--output", "json", "--trace", "event=getppid", "--trace", "comm=" + first + "," + second});
  auto by_uid = start({"--output", "json", "--trace", "event=getppid", "--trace", "uid=65534"});
  ASSERT_TRUE(by_comm && by_uid);
  int status = -1;
  const pid_t child = run_in_child(
      [&] {
        prctl(PR_SET_NAME, first.c_str());
        syscall(SYS_getppid);
        if (setsid() < 0) return 1;
        syscall(SYS_getppid);
        prctl(PR_SET_NAME, second.c_str());
        syscall(SYS_getppid);
        if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) return 2;
        syscall(SYS_getppid);
        return 0;
      },
      status);
  ASSERT_EQ(status, 0);
  const auto last = [&](const Json& r) { return r["event"] == "getppid" && r["pid"] == child && r["uid"] == 65534; };
  expect_record(*by_comm, last, "the getppid as nobody");
  expect_record(*by_uid, last, "the getppid as nobody");
  std::vector<Json> calls;
  for (const Json& line : by_comm->json_lines())
    if (line["pid"] == child) calls.push_back(line);
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0]["comm"], first);
  EXPECT_NE(calls[0]["sid"], child);
  EXPECT_EQ(calls[1]["sid"], child);
  EXPECT_EQ(calls[1]["comm"], first);
  EXPECT_EQ(calls[2]["comm"], second);
  EXPECT_EQ(calls[2]["uid"], 0);
  EXPECT_EQ(calls[3]["euid"], 65534);
  size_t as_nobody = 0;
  for (const Json& line : by_uid->json_lines()) as_nobody += line["pid"] == child;
  EXPECT_EQ(as_nobody, 1u);  // the calls as root were filtered out
}

TEST_P(SyscallTest, UnselectedSyscallsNeverAppear) {
  auto tracer = start({"--output", "json", "--trace", "event=openat"});
  ASSERT_TRUE(tracer);
  const std::string path = dir_.path() + "/" + unique_marker("only-openat");
  int status = 0;
  run_in_child(
      [&] {
        // unlinkat, getppid and close are not selected; the openat comes last.
        unlinkat(AT_FDCWD, path.c_str(), 0);
        getppid();
        close(openat(AT_FDCWD, path.c_str(), O_RDONLY | O_CREAT, 0600));
        return 0;
      },
      status);
  expect_record(*tracer, syscall_with("openat", "pathname", path), "the openat");
  for (const Json& line : tracer->json_lines()) EXPECT_EQ(line["event"], "openat") << line.dump();
}

TEST_P(SyscallTest, ArgumentFilterOnPathWithControl) {
  const std::string keep = dir_.path() + "/keep-" + unique_marker("arg");
  const std::string drop = dir_.path() + "/drop-" + unique_marker("arg");
  auto tracer =
      start({"--output", "json", "--trace", "event=openat", "--trace", "openat.pathname=" + dir_.path() + "/keep-*"});
  ASSERT_TRUE(tracer);
  int status = 0;
  run_in_child(
      [&] {
        close(open(drop.c_str(), O_RDONLY | O_CREAT, 0600));
        close(open(keep.c_str(), O_RDONLY | O_CREAT, 0600));
        return 0;
      },
      status);
  expect_record(*tracer, syscall_with("openat", "pathname", keep), "the selected openat");
  for (const Json& line : tracer->json_lines()) EXPECT_NE(line["args"]["pathname"], drop) << line.dump();
}

TEST_P(SyscallTest, StatsCountExactlyTheCallsMade) {
  constexpr int kCalls = 1234;
  const std::string comm = "stats-" + std::to_string(getpid() % 100000);
  auto tracer = start({"--stats", "--output", "json", "--trace", "event=getppid", "--trace", "comm=" + comm});
  ASSERT_TRUE(tracer);
  int status = 0;
  const pid_t child = run_in_child(
      [&] {
        prctl(PR_SET_NAME, comm.c_str());
        for (int i = 0; i < kCalls; ++i) syscall(SYS_getppid);
        syscall(SYS_getppid, 1);  // still counted: one more
        return 0;
      },
      status);
  ASSERT_EQ(tracer->stop(SIGINT), 0) << tracer->err().text();
  const std::vector<Json> lines = tracer->json_lines();
  ASSERT_FALSE(lines.empty()) << tracer->err().text();
  const Json& total = lines.back();
  EXPECT_EQ(total["event"], "syscall_stats");
  EXPECT_EQ(total["final"], true);
  EXPECT_EQ(total["calls"], kCalls + 1);
  ASSERT_EQ(total["syscalls"].size(), 1u) << total.dump();
  EXPECT_EQ(total["syscalls"][0],
            (Json{{"name", "getppid"}, {"nr", __NR_getppid}, {"calls", kCalls + 1}, {"errors", 0}}));
  ASSERT_EQ(total["processes"].size(), 1u) << total.dump();
  EXPECT_EQ(total["processes"][0]["pid"], child);
  EXPECT_EQ(total["processes"][0]["calls"], kCalls + 1);
}

TEST(SyscallUsage, UnknownNamesAndArgumentsAreOneLineUsageErrors) {
  TRACER_E2E_REQUIRE_ROOT();
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--trace", "event=opnat"},
       "tracer: --trace 'event=opnat': unknown event 'opnat' (did you mean openat, openat2?); tracer --list shows "
       "the events\n"},
      {{"--trace", "event=connect", "--trace", "connect.nosuch=1"},
       "tracer: --trace 'connect.nosuch=1': connect has no argument 'nosuch' (it has fd, addr, addrlen, family, "
       "address, port, path)\n"},
      {{"--stats", "--trace", "event=sched_process_fork"},
       "tracer: --stats counts syscalls: event= may name syscalls and @groups only\n"},
  };
  for (const auto& [args, message] : cases) {
    const Completed completed = run_tracer_to_completion(args);
    ASSERT_TRUE(WIFEXITED(completed.status));
    EXPECT_EQ(WEXITSTATUS(completed.status), 2);
    EXPECT_EQ(completed.err, message);
  }
}

INSTANTIATE_TEST_SUITE_P(SyscallHook, SyscallTest, ::testing::Values("tracepoint", "raw"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param == "tracepoint" ? std::string("Tracepoints")
                                                                   : std::string("RawSysEnterExit");
                         });

}  // namespace
}  // namespace tracer::e2e
