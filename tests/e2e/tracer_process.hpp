#pragma once
// Runs the real tracer binary for a test: starts it, waits for its readiness
// line, collects stdout and stderr lines on reader threads, and waits for the
// lines a test expects, always with a deadline.

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tracer::e2e {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// Skips when not root; fails instead when CI is set (CI must run these).
#define TRACER_E2E_REQUIRE_ROOT()                                                 \
  do {                                                                            \
    if (::geteuid() != 0) {                                                       \
      if (std::getenv("CI")) FAIL() << "end-to-end tests must run as root in CI"; \
      GTEST_SKIP() << "end-to-end tests need root";                               \
    }                                                                             \
  } while (0)

// Lines read from one fd by a thread, until EOF or stop().
class LineCollector {
 public:
  explicit LineCollector(int fd);
  ~LineCollector();
  LineCollector(const LineCollector&) = delete;
  LineCollector& operator=(const LineCollector&) = delete;

  // Waits until some line (from index `from` on) satisfies match; its index.
  std::optional<size_t> wait_for(const std::function<bool(const std::string&)>& match,
                                 std::chrono::milliseconds deadline, size_t from = 0);
  bool wait_for_eof(std::chrono::milliseconds deadline);
  std::vector<std::string> lines() const;
  std::string text() const;
  // Stops reading and closes the fd (the writer then gets EPIPE).
  void stop_and_close();

 private:
  void read_loop();

  int fd_;
  bool stop_requested_ = false;
  bool eof_ = false;
  std::string partial_;
  std::vector<std::string> lines_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::thread reader_;
};

// fork + exec argv[0] with stdout (and, when stderr_fd is given, stderr) to
// new pipes, whose read ends it sets; as_uid != 0 drops to that uid first.
// The child's pid, or -1.
pid_t spawn_piped(std::vector<std::string> argv, int* stdout_fd, int* stderr_fd = nullptr, uid_t as_uid = 0);
// The wait status of pid once it exits, or -1 when the deadline passes first.
int wait_with_deadline(pid_t pid, std::chrono::milliseconds deadline);

class TracerProcess {
 public:
  // Starts tracer with args and waits (deadline 30 s) for "tracer: tracing".
  // On failure returns nullptr and sets why.
  static std::unique_ptr<TracerProcess> start(const std::vector<std::string>& args, std::string& why);
  ~TracerProcess();

  // The first JSON line on stdout that satisfies match.
  std::optional<Json> wait_for_json(const std::function<bool(const Json&)>& match,
                                    std::chrono::milliseconds deadline = 20s);
  std::vector<Json> json_lines() const;
  // The first stdout line holding needle, as printed ("" when none came).
  std::string wait_for_line_containing(const std::string& needle, std::chrono::milliseconds deadline = 20s);
  // Sends signal and waits for the exit; the wait status, or -1 on timeout.
  int stop(int signal = SIGTERM, std::chrono::milliseconds deadline = 30s);
  // Waits for the process to exit by itself; the wait status, or -1.
  int wait_exit(std::chrono::milliseconds deadline);
  pid_t pid() const { return pid_; }
  LineCollector& out() { return *stdout_; }
  LineCollector& err() { return *stderr_; }

 private:
  TracerProcess(pid_t pid, int stdout_fd, int stderr_fd);
  pid_t pid_;
  bool exited_ = false;
  std::unique_ptr<LineCollector> stdout_;
  std::unique_ptr<LineCollector> stderr_;
};

// Runs tracer to completion (for usage errors, --check, ...).
struct Completed {
  int status = -1;
  std::string out;
  std::string err;
};
Completed run_tracer_to_completion(const std::vector<std::string>& args, uid_t as_uid = 0);

// Starts a tracer; a failure to start is a test failure (with the reason).
std::unique_ptr<TracerProcess> start_tracer(const std::vector<std::string>& args);
// The first JSON line matching, or a test failure naming `what` and an empty object.
Json expect_record(TracerProcess& tracer, const std::function<bool(const Json&)>& match, const std::string& what);

}  // namespace tracer::e2e
