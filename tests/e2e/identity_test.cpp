// End-to-end: who a record's caller acts as and where it runs: euid/egid, the
// audit login uid and session, the session leader, the controlling tty and
// the host name; and the euid=, auid=, tty= filters, judged in the kernel.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

constexpr uid_t kNobody = 65534;

// What a child does before it execs /bin/true: only async-signal-safe calls
// (the test has threads). Returns false to fail the child.
enum class Setup { none, new_session, controlling_tty, login_uid, uts_namespace };

struct ChildPlan {
  Setup setup = Setup::none;
  int tty_fd = -1;         // controlling_tty: the pty slave
  const char* value = "";  // login_uid: the uid text; uts_namespace: the host name
  int report_fd = -1;      // login_uid: where the new session id is written
  uid_t uid = 0;           // setuid before the exec, when not 0
  const char* path = "/bin/true";
};

bool set_login_uid(const ChildPlan& plan) {
  const int fd = open("/proc/self/loginuid", O_WRONLY);
  if (fd < 0 || write(fd, plan.value, strlen(plan.value)) < 0) return false;
  close(fd);
  char session[32];
  const int in = open("/proc/self/sessionid", O_RDONLY);
  const ssize_t length = in < 0 ? -1 : read(in, session, sizeof(session));
  return length > 0 && write(plan.report_fd, session, static_cast<size_t>(length)) == length;
}

bool prepare(const ChildPlan& plan) {
  switch (plan.setup) {
    case Setup::none: return true;
    case Setup::new_session: return setsid() >= 0;
    case Setup::controlling_tty: return setsid() >= 0 && ioctl(plan.tty_fd, TIOCSCTTY, 0) == 0;
    case Setup::login_uid: return set_login_uid(plan);
    case Setup::uts_namespace: return unshare(CLONE_NEWUTS) == 0 && sethostname(plan.value, strlen(plan.value)) == 0;
  }
  return false;
}

// Runs argv (argv[0] names the program) after the plan's setup; waits for it.
pid_t run_planned(const ChildPlan& plan, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (!prepare(plan)) _exit(126);
    if (plan.uid && (setgroups(0, nullptr) != 0 || setgid(plan.uid) != 0 || setuid(plan.uid) != 0)) _exit(126);
    execv(plan.path, args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << argv.back() << ": status " << status;
  return pid;
}

uint32_t own_number(const char* proc_file) {
  std::ifstream in(proc_file);
  uint64_t value = 0;
  in >> value;
  return static_cast<uint32_t>(value);
}

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override { TRACER_E2E_REQUIRE_ROOT(); }

  void start(std::vector<std::string> filters, const std::string& events = "event=execve") {
    filters.push_back(events);
    std::string why;
    tracer_ = TracerProcess::start(json_args_tracing(std::move(filters)), why);
    ASSERT_TRUE(tracer_) << why;
  }
  Json expect_reported(const std::string& marker) { return expect_marker_reported(*tracer_, marker); }
  void expect_not_reported(const std::string& marker) { expect_marker_not_reported(*tracer_, marker); }
  std::unique_ptr<TracerProcess> tracer_;
};

// A setuid-root copy of env, run by nobody, execs the marker: the caller acts
// as root (euid 0) while its real uid stays nobody's.
class SetuidEnv {
 public:
  SetuidEnv() {
    chmod(dir_.path().c_str(), 0755);
    path_ = dir_.path() + "/env";
    std::filesystem::copy_file("/usr/bin/env", path_);
    chown(path_.c_str(), 0, 0);
    chmod(path_.c_str(), 04755);
  }
  const char* path() const { return path_.c_str(); }

 private:
  TempDir dir_;
  std::string path_;
};

TEST_F(IdentityTest, SetuidCallerHasEffectiveRootAndRealUid) {
  SetuidEnv env;
  ASSERT_NO_FATAL_FAILURE(start({"euid=0", "uid=65534"}));
  const std::string control = unique_marker("nobody-plain"), match = unique_marker("nobody-setuid");
  run_planned({.uid = kNobody}, {"true", control});
  run_planned({.uid = kNobody, .path = env.path()}, {"env", "/bin/true", match});
  const Json record = expect_reported(match);
  EXPECT_EQ(record["uid"], kNobody);
  EXPECT_EQ(record["gid"], kNobody);
  EXPECT_EQ(record.at("euid"), 0);
  EXPECT_EQ(record.at("egid"), kNobody);
  expect_not_reported(control);
}

TEST_F(IdentityTest, LoginUidAndAuditSessionAreReportedAndFiltered) {
  const uint32_t own_auid = own_number("/proc/self/loginuid");
  ASSERT_NE(own_auid, 4242u) << "the test's own login uid must differ from the one it sets";
  ASSERT_NO_FATAL_FAILURE(start({"auid=4242"}));
  const std::string control = unique_marker("own-auid"), match = unique_marker("auid-4242");
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  run_planned({}, {"true", control});
  run_planned({.setup = Setup::login_uid, .value = "4242", .report_fd = report[1]}, {"true", match});
  close(report[1]);
  char session[32] = {};
  ASSERT_GT(read(report[0], session, sizeof(session) - 1), 0);
  close(report[0]);
  const Json record = expect_reported(match);
  EXPECT_EQ(record.at("auid"), 4242);
  EXPECT_EQ(record.at("sessionid"), std::stoul(session));
  expect_not_reported(control);
}

TEST_F(IdentityTest, UnsetLoginUidIsNull) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  const std::string marker = unique_marker("own-auid");
  run_planned({}, {"true", marker});
  const Json record = expect_reported(marker);
  if (own_number("/proc/self/loginuid") == UINT32_MAX) {
    EXPECT_TRUE(record.at("auid").is_null()) << record.dump();
    EXPECT_TRUE(record.at("sessionid").is_null()) << record.dump();
  } else {
    EXPECT_EQ(record.at("auid"), own_number("/proc/self/loginuid"));
    EXPECT_EQ(record.at("sessionid"), own_number("/proc/self/sessionid"));
  }
}

// A pty opened before the tracer starts: its name goes into the filter.
class Pty {
 public:
  Pty() {
    char name[64];
    if (openpty(&master_, &slave_, name, nullptr, nullptr) == 0) name_ = std::string(name).substr(strlen("/dev/"));
  }
  ~Pty() {
    close(master_);
    close(slave_);
  }
  int slave() const { return slave_; }
  const std::string& name() const { return name_; }  // "pts/N"

 private:
  int master_ = -1;
  int slave_ = -1;
  std::string name_;
};

TEST_F(IdentityTest, ControllingTtyAndSessionLeader) {
  Pty pty;
  ASSERT_TRUE(pty.name().starts_with("pts/")) << pty.name();
  ASSERT_NO_FATAL_FAILURE(start({"tty=" + pty.name()}));
  const std::string control = unique_marker("no-tty"), match = unique_marker("on-pty");
  run_planned({.setup = Setup::new_session}, {"true", control});
  const pid_t leader = run_planned({.setup = Setup::controlling_tty, .tty_fd = pty.slave()}, {"true", match});
  const Json record = expect_reported(match);
  EXPECT_EQ(record.at("tty"), pty.name());
  EXPECT_EQ(record.at("sid"), leader);
  expect_not_reported(control);
}

TEST_F(IdentityTest, TtyNoneSelectsTasksWithoutATerminal) {
  Pty pty;
  ASSERT_NO_FATAL_FAILURE(start({"tty=none"}));
  const std::string control = unique_marker("on-pty"), match = unique_marker("no-tty");
  run_planned({.setup = Setup::controlling_tty, .tty_fd = pty.slave()}, {"true", control});
  const pid_t leader = run_planned({.setup = Setup::new_session}, {"true", match});
  const Json record = expect_reported(match);
  EXPECT_TRUE(record.at("tty").is_null()) << record.dump();
  EXPECT_EQ(record.at("sid"), leader);
  expect_not_reported(control);
}

// The exec reads the nodename of its new UTS namespace; the exit of the same
// process, which reads no string, is named from it.
TEST_F(IdentityTest, HostIsTheUtsNodename) {
  ASSERT_NO_FATAL_FAILURE(start({}, "event=execve,sched_process_exit"));
  const std::string marker = unique_marker("uts");
  const std::string host = "e2e-host-" + std::to_string(getpid());
  const pid_t pid = run_planned({.setup = Setup::uts_namespace, .value = host.c_str()}, {"true", marker});
  EXPECT_EQ(expect_reported(marker).at("host"), host);
  std::optional<Json> exit = tracer_->wait_for_json(
      [pid](const Json& line) { return line["event"] == "sched_process_exit" && line["pid"] == pid; });
  ASSERT_TRUE(exit) << tracer_->err().text();
  EXPECT_EQ(exit->at("host"), host);
  char own[256] = {};
  gethostname(own, sizeof(own) - 1);
  const std::string own_marker = unique_marker("own-host");
  run_planned({}, {"true", own_marker});
  EXPECT_EQ(expect_reported(own_marker).at("host"), own);
}

}  // namespace
}  // namespace tracer::e2e
