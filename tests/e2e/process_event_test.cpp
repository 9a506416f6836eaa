// End-to-end: sched_process_fork and sched_process_exit (§2).
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

class ProcessEventTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TRACER_E2E_REQUIRE_ROOT();
    std::string why;
    tracer_ = TracerProcess::start(
        {"--output", "json", "--trace", "event=sched_process_fork,sched_process_exit,execve"}, why);
    ASSERT_TRUE(tracer_) << why;
  }
  Json expect(const std::string& event, const std::function<bool(const Json&)>& match) {
    std::optional<Json> record =
        tracer_->wait_for_json([&](const Json& line) { return line["event"] == event && match(line); });
    EXPECT_TRUE(record) << event << " not reported; stderr:\n" << tracer_->err().text();
    return record.value_or(Json::object());
  }
  std::unique_ptr<TracerProcess> tracer_;
};

TEST_F(ProcessEventTest, ForkAndExitWithCode) {
  const pid_t child = fork();
  if (child == 0) _exit(7);
  waitpid(child, nullptr, 0);
  const Json fork_record = expect("sched_process_fork", [&](const Json& r) { return r["args"]["child_pid"] == child; });
  EXPECT_EQ(fork_record["pid"], getpid());  // the caller is the parent
  EXPECT_EQ(fork_record["args"]["child_tid"], child);
  EXPECT_EQ(fork_record.contains("ret"), false);
  const Json exit_record = expect("sched_process_exit", [&](const Json& r) { return r["pid"] == child; });
  EXPECT_EQ(exit_record["args"], (Json{{"exit_code", 7}, {"signal", 0}}));
  EXPECT_EQ(exit_record["ppid"], getpid());
}

TEST_F(ProcessEventTest, DeathBySignal) {
  const pid_t child = fork();
  if (child == 0) {
    raise(SIGKILL);
    _exit(0);
  }
  waitpid(child, nullptr, 0);
  const Json exit_record = expect("sched_process_exit", [&](const Json& r) { return r["pid"] == child; });
  EXPECT_EQ(exit_record["args"], (Json{{"exit_code", 0}, {"signal", SIGKILL}}));
}

void* report_tid(void* out) {
  *static_cast<pid_t*>(out) = static_cast<pid_t>(syscall(SYS_gettid));
  return nullptr;
}

TEST_F(ProcessEventTest, ThreadIsAForkWithinTheProcessAndNoExit) {
  pid_t thread_tid = 0;
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, nullptr, report_tid, &thread_tid), 0);
  pthread_join(thread, nullptr);
  const Json record = expect("sched_process_fork", [&](const Json& r) { return r["args"]["child_tid"] == thread_tid; });
  EXPECT_EQ(record["args"]["child_pid"], getpid());
  // A thread's end is not the process's exit: run a marker process after it
  // and check that no exit of this process came first.
  const std::string marker = unique_marker("after-thread");
  run_execve("/bin/true", {"true", marker});
  ASSERT_TRUE(tracer_->wait_for_json(has_marker(marker)));
  for (const Json& line : tracer_->json_lines())
    EXPECT_FALSE(line["event"] == "sched_process_exit" && line["pid"] == getpid()) << line.dump();
}

TEST_F(ProcessEventTest, NotProducedUnlessSelected) {
  tracer_->stop();
  std::string why;
  tracer_ = TracerProcess::start({"--output", "json"}, why);
  ASSERT_TRUE(tracer_) << why;
  const pid_t child = fork();
  if (child == 0) _exit(3);
  waitpid(child, nullptr, 0);
  const std::string marker = unique_marker("default-events");
  run_execve("/bin/true", {"true", marker});
  ASSERT_TRUE(tracer_->wait_for_json(has_marker(marker)));
  for (const Json& line : tracer_->json_lines())
    EXPECT_TRUE(line["event"] == "execve" || line["event"] == "execveat") << line.dump();
}

}  // namespace
}  // namespace tracer::e2e
