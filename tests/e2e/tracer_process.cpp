#include "tracer_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

namespace tracer::e2e {
namespace {

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (std::string& arg : args) out.push_back(arg.data());
  out.push_back(nullptr);
  return out;
}

// fork + exec tracer with stdout/stderr to new pipes; as_uid != 0 drops to it.
pid_t spawn_tracer(const std::vector<std::string>& args, int& stdout_fd, int& stderr_fd, uid_t as_uid) {
  std::vector<std::string> full{TRACER_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  return spawn_piped(std::move(full), &stdout_fd, &stderr_fd, as_uid);
}

}  // namespace

pid_t spawn_piped(std::vector<std::string> argv, int* stdout_fd, int* stderr_fd, uid_t as_uid) {
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return -1;
  if (stderr_fd && pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return -1;
  }
  std::vector<char*> args = c_argv(argv);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    if (stderr_fd) dup2(err_pipe[1], STDERR_FILENO);
    if (as_uid != 0 && (setgroups(0, nullptr) != 0 || setgid(as_uid) != 0 || setuid(as_uid) != 0)) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  *stdout_fd = out_pipe[0];
  if (stderr_fd) {
    close(err_pipe[1]);
    *stderr_fd = err_pipe[0];
  }
  return pid;
}

int wait_with_deadline(pid_t pid, std::chrono::milliseconds deadline) {
  const int pid_fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pid_fd < 0) return -1;
  pollfd exited{pid_fd, POLLIN, 0};
  const int ready = poll(&exited, 1, static_cast<int>(deadline.count()));
  close(pid_fd);
  if (ready != 1) return -1;
  int status = 0;
  return waitpid(pid, &status, 0) == pid ? status : -1;
}

LineCollector::LineCollector(int fd) : fd_(fd), reader_([this] { read_loop(); }) {}

LineCollector::~LineCollector() { stop_and_close(); }

void LineCollector::read_loop() {
  char buffer[65536];
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stop_requested_) return;
    }
    pollfd readable{fd_, POLLIN, 0};
    if (poll(&readable, 1, 50) <= 0) continue;
    const ssize_t got = read(fd_, buffer, sizeof(buffer));
    std::lock_guard lock(mutex_);
    if (got <= 0) {
      eof_ = true;
      if (!partial_.empty()) lines_.push_back(std::move(partial_));
      changed_.notify_all();
      return;
    }
    partial_.append(buffer, static_cast<size_t>(got));
    size_t newline;
    while ((newline = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, newline));
      partial_.erase(0, newline + 1);
    }
    changed_.notify_all();
  }
}

std::optional<size_t> LineCollector::wait_for(const std::function<bool(const std::string&)>& match,
                                              std::chrono::milliseconds deadline, size_t from) {
  std::unique_lock lock(mutex_);
  size_t checked = from;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    for (; checked < lines_.size(); ++checked)
      if (match(lines_[checked])) return checked;
    if (eof_) return std::nullopt;
    if (changed_.wait_until(lock, until) == std::cv_status::timeout && checked == lines_.size()) return std::nullopt;
  }
}

bool LineCollector::wait_for_eof(std::chrono::milliseconds deadline) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, deadline, [this] { return eof_; });
}

std::vector<std::string> LineCollector::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::string LineCollector::text() const {
  std::string out;
  for (const std::string& line : lines()) out += line + "\n";
  return out;
}

void LineCollector::stop_and_close() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  if (reader_.joinable()) reader_.join();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

TracerProcess::TracerProcess(pid_t pid, int stdout_fd, int stderr_fd)
    : pid_(pid),
      stdout_(std::make_unique<LineCollector>(stdout_fd)),
      stderr_(std::make_unique<LineCollector>(stderr_fd)) {}

namespace {

// Every whole JSON record a test's tracer printed, for the schema check that
// runs after the suite (records_match_schema.py); a line cut by SIGKILL is
// not a record.
void log_records(const LineCollector& out) {
  const char* path = std::getenv("TRACER_E2E_RECORD_LOG");
  if (!path) return;
  std::ofstream log(path, std::ios::app);
  for (const std::string& line : out.lines())
    if (line.starts_with(R"({"timestamp":")") && line.ends_with('}')) log << line << '\n';
}

}  // namespace

TracerProcess::~TracerProcess() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  log_records(*stdout_);
}

std::unique_ptr<TracerProcess> TracerProcess::start(const std::vector<std::string>& args, std::string& why) {
  int stdout_fd = -1, stderr_fd = -1;
  const pid_t pid = spawn_tracer(args, stdout_fd, stderr_fd, 0);
  if (pid < 0) {
    why = std::string("fork failed: ") + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<TracerProcess> process(new TracerProcess(pid, stdout_fd, stderr_fd));
  const auto ready =
      process->err().wait_for([](const std::string& line) { return line.starts_with("tracer: tracing"); }, 30s);
  if (!ready) {
    why = "tracer did not become ready; stderr:\n" + process->err().text();
    return nullptr;
  }
  return process;
}

std::optional<Json> TracerProcess::wait_for_json(const std::function<bool(const Json&)>& match,
                                                 std::chrono::milliseconds deadline) {
  std::optional<Json> found;
  stdout_->wait_for(
      [&](const std::string& line) {
        Json document = Json::parse(line, nullptr, false);
        if (document.is_discarded() || !match(document)) return false;
        found = std::move(document);
        return true;
      },
      deadline);
  return found;
}

std::string TracerProcess::wait_for_line_containing(const std::string& needle, std::chrono::milliseconds deadline) {
  std::string found;
  stdout_->wait_for(
      [&](const std::string& line) {
        if (line.find(needle) == std::string::npos) return false;
        found = line;
        return true;
      },
      deadline);
  return found;
}

std::vector<Json> TracerProcess::json_lines() const {
  std::vector<Json> out;
  for (const std::string& line : stdout_->lines()) out.push_back(Json::parse(line, nullptr, false));
  return out;
}

int TracerProcess::stop(int signal, std::chrono::milliseconds deadline) {
  kill(pid_, signal);
  return wait_exit(deadline);
}

int TracerProcess::wait_exit(std::chrono::milliseconds deadline) {
  const int status = wait_with_deadline(pid_, deadline);
  if (status != -1) {
    exited_ = true;
    stdout_->wait_for_eof(5s);
    stderr_->wait_for_eof(5s);
  }
  return status;
}

Completed run_tracer_to_completion(const std::vector<std::string>& args, uid_t as_uid) {
  int stdout_fd = -1, stderr_fd = -1;
  Completed completed;
  const pid_t pid = spawn_tracer(args, stdout_fd, stderr_fd, as_uid);
  if (pid < 0) return completed;
  LineCollector out(stdout_fd), err(stderr_fd);
  completed.status = wait_with_deadline(pid, 60s);
  if (completed.status == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  out.wait_for_eof(5s);
  err.wait_for_eof(5s);
  completed.out = out.text();
  completed.err = err.text();
  return completed;
}

std::unique_ptr<TracerProcess> start_tracer(const std::vector<std::string>& args) {
  std::string why;
  auto tracer = TracerProcess::start(args, why);
  EXPECT_TRUE(tracer) << why;
  return tracer;
}

Json expect_record(TracerProcess& tracer, const std::function<bool(const Json&)>& match, const std::string& what) {
  std::optional<Json> record = tracer.wait_for_json(match);
  EXPECT_TRUE(record) << what << " not reported; stderr:\n" << tracer.err().text();
  return record.value_or(Json::object());
}

}  // namespace tracer::e2e
