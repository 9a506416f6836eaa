// The tracer as a service: systemd's readiness protocol and the Prometheus
// endpoint, checked with the real tools (promtool, a Prometheus server that
// scrapes it on loopback).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "exec_helpers.hpp"
#include "net_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

// A datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
    bind_ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool ok() const { return fd_ >= 0 && bind_ok_; }
  // The next datagram, or "" after the deadline.
  std::string receive(std::chrono::milliseconds deadline) {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(deadline.count())) != 1) return "";
    char buffer[4096];
    const ssize_t got = ::recv(fd_, buffer, sizeof(buffer), 0);
    return got > 0 ? std::string(buffer, static_cast<size_t>(got)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bind_ok_ = false;
};

// "CapEff: ..." style fields of every thread of pid.
std::vector<std::string> thread_status_fields(pid_t pid, const std::string& field) {
  std::vector<std::string> values;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.starts_with(field + ":")) values.push_back(line.substr(line.find_first_not_of(" \t", field.size() + 1)));
  }
  return values;
}

// The port of "tracer: metrics on http://127.0.0.1:PORT/metrics".
uint16_t metrics_port(TracerProcess& tracer) {
  const std::regex announced("^tracer: metrics on http://127\\.0\\.0\\.1:([0-9]+)/metrics");
  uint16_t port = 0;
  tracer.err().wait_for(
      [&](const std::string& line) {
        std::smatch match;
        if (!std::regex_search(line, match, announced)) return false;
        port = static_cast<uint16_t>(std::stoi(match[1]));
        return true;
      },
      5s);
  return port;
}

// The value of one sample line ("name{labels} value") in an exposition.
std::optional<double> sample_value(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

// Runs a command with text on its stdin; its exit status and output.
Completed run_with_input(const std::string& command, const std::string& input, const TempDir& dir) {
  const std::string in = dir.path() + "/stdin", out = dir.path() + "/stdout";
  std::ofstream(in) << input;
  Completed result;
  result.status = std::system((command + " < " + in + " > " + out + " 2>&1").c_str());
  std::ifstream text(out);
  result.out.assign(std::istreambuf_iterator<char>(text), {});
  return result;
}

TEST(ServiceTest, ReadyIsNotifiedOnceTracingAndStoppingAtTheEnd) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  NotifySocket notify(dir.path() + "/notify");
  ASSERT_TRUE(notify.ok());
  ::setenv("NOTIFY_SOCKET", (dir.path() + "/notify").c_str(), 1);
  auto tracer = start_tracer({"--output", "none"});
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(tracer);
  const std::string ready = notify.receive(10s);
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(ready.find("STATUS=tracing execve, execveat"), std::string::npos) << ready;
  EXPECT_EQ(tracer->stop(SIGTERM), 0);
  EXPECT_NE(notify.receive(5s).find("STOPPING=1"), std::string::npos);
}

TEST(ServiceTest, MetricsCountTheExecsAndPassPromtool) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string comm = "mtr" + std::to_string(::getpid() % 100000);
  auto tracer = start_tracer({"--metrics", "127.0.0.1:0", "--output", "none", "--trace", "comm=" + comm});
  ASSERT_TRUE(tracer);
  const uint16_t port = metrics_port(*tracer);
  ASSERT_NE(port, 0) << tracer->err().text();
  // Healthy once the loop has consumed the ring buffer (it turns every 100 ms).
  int health = 0;
  for (const auto deadline = std::chrono::steady_clock::now() + 5s;
       health != 200 && std::chrono::steady_clock::now() < deadline;)
    if ((health = http_get(port, "/healthz").status) != 200) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(health, 200);
  constexpr int kExecs = 7;
  for (int i = 0; i < kExecs; ++i) run_child({.argv = {"true", unique_marker("metrics")}, .comm = comm});
  std::optional<double> execs;
  HttpAnswer metrics;
  for (const auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    metrics = http_get(port, "/metrics");
    execs = sample_value(metrics.body, "tracer_events_total{event=\"execve\"}");
    if (execs && *execs >= kExecs) break;
    std::this_thread::sleep_for(50ms);  // the loop publishes a few times a second
  }
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(execs, kExecs) << metrics.body;
  EXPECT_TRUE(sample_value(metrics.body, "tracer_lost_records_total{cause=\"ring_buffer_full\"}")) << metrics.body;
  EXPECT_EQ(sample_value(metrics.body, "tracer_ring_buffer_size_bytes"), 4 << 20) << metrics.body;
  const Completed promtool = run_with_input("promtool check metrics", metrics.body, dir);
  EXPECT_EQ(promtool.status, 0) << promtool.out;
  EXPECT_EQ(promtool.out, "") << "promtool lint findings";
  EXPECT_EQ(http_get(port, "/nothing").status, 404);
  EXPECT_EQ(tracer->stop(SIGTERM), 0);
}

TEST(ServiceTest, MetricsAddressErrorsAreUsageErrors) {
  TRACER_E2E_REQUIRE_ROOT();
  for (const char* bad : {"localhost:9464", "127.0.0.1", "[::1]:99999"}) {
    const Completed run = run_tracer_to_completion({"--metrics", bad});
    EXPECT_EQ(WEXITSTATUS(run.status), 2) << bad;
    EXPECT_NE(run.err.find("--metrics"), std::string::npos) << run.err;
  }
}

TEST(ServiceTest, PrometheusScrapesTheExecCountTheTestCaused) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string comm = "prm" + std::to_string(::getpid() % 100000);
  auto tracer = start_tracer({"--metrics", "127.0.0.1:0", "--output", "none", "--trace", "comm=" + comm});
  ASSERT_TRUE(tracer);
  const uint16_t port = metrics_port(*tracer);
  ASSERT_NE(port, 0) << tracer->err().text();
  constexpr int kExecs = 5;
  for (int i = 0; i < kExecs; ++i) run_child({.argv = {"true", unique_marker("prometheus")}, .comm = comm});

  const uint16_t prometheus_port = free_port();
  dir.write_file("prometheus.yml",
                 "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tracer\n    static_configs:\n"
                 "      - targets: ['127.0.0.1:" +
                     std::to_string(port) + "']\n",
                 0644);
  const pid_t prometheus = ::fork();
  if (prometheus == 0) {
    const std::string log = dir.path() + "/prometheus.log";
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    const std::string config = "--config.file=" + dir.path() + "/prometheus.yml";
    const std::string storage = "--storage.tsdb.path=" + dir.path() + "/data";
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port);
    ::execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(), nullptr);
    ::_exit(127);
  }
  std::optional<double> scraped;
  std::string last;
  for (const auto deadline = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < deadline;) {
    const HttpAnswer answer =
        http_get(prometheus_port, "/api/v1/query?query=tracer_events_total%7Bevent%3D%22execve%22%7D");
    last = answer.body;
    const std::regex value("\"value\":\\[[0-9.]+,\"([0-9.]+)\"\\]");
    std::smatch match;
    if (answer.status == 200 && std::regex_search(answer.body, match, value)) {
      scraped = std::stod(match[1]);
      if (*scraped >= kExecs) break;
    }
    std::this_thread::sleep_for(200ms);  // Prometheus scrapes once a second
  }
  ::kill(prometheus, SIGTERM);
  ::waitpid(prometheus, nullptr, 0);
  EXPECT_EQ(scraped, kExecs) << last;
  EXPECT_EQ(tracer->stop(SIGTERM), 0);
}

// Capabilities belong to threads: the HTTP thread starts after the run has
// dropped them, yet a port below 1024 (bound before) is served.
TEST(ServiceTest, TheMetricsThreadHoldsNoCapabilityYetServesAPrivilegedPort) {
  TRACER_E2E_REQUIRE_ROOT();
  const uint16_t privileged = free_port(600);
  ASSERT_LT(privileged, 1024);
  auto tracer = start_tracer({"--metrics", "127.0.0.1:" + std::to_string(privileged), "--output", "none"});
  ASSERT_TRUE(tracer);
  ASSERT_EQ(metrics_port(*tracer), privileged) << tracer->err().text();
  EXPECT_EQ(http_get(privileged, "/metrics").status, 200);
  const std::vector<std::string> capabilities = thread_status_fields(tracer->pid(), "CapEff");
  ASSERT_GE(capabilities.size(), 2u) << "no HTTP thread";
  for (const std::string& effective : capabilities) EXPECT_EQ(effective, "0000000000000000");
  for (const std::string& permitted : thread_status_fields(tracer->pid(), "CapPrm"))
    EXPECT_EQ(permitted, "0000000000000000");
  for (const std::string& seccomp : thread_status_fields(tracer->pid(), "Seccomp")) EXPECT_EQ(seccomp, "2");
  EXPECT_EQ(tracer->stop(SIGTERM), 0);
}

std::string mapped_files(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  return std::string(std::istreambuf_iterator<char>(maps), {});
}

// libmicrohttpd and libsystemd (and the dozen libraries they pull in, ~4 MiB
// resident), and libnats, are loaded only by the runs that use them.
TEST(ServiceTest, TheHttpAndSystemdLibrariesAreLoadedOnlyWhenUsed) {
  TRACER_E2E_REQUIRE_ROOT();
  auto plain = start_tracer({"--output", "none"});
  ASSERT_TRUE(plain);
  const std::string without = mapped_files(plain->pid());
  EXPECT_EQ(without.find("libmicrohttpd"), std::string::npos) << without;
  EXPECT_EQ(without.find("libsystemd"), std::string::npos) << without;
  EXPECT_EQ(without.find("libgnutls"), std::string::npos) << without;
  EXPECT_EQ(without.find("libnats"), std::string::npos) << without;
  EXPECT_EQ(plain->stop(SIGTERM), 0);

  // No server needs to answer: the tracer starts, and goes on trying.
  auto publishing = start_tracer({"--output", "none", "--output", "nats:127.0.0.1:" + std::to_string(free_port())});
  ASSERT_TRUE(publishing);
  EXPECT_NE(mapped_files(publishing->pid()).find("libnats"), std::string::npos);
  EXPECT_EQ(publishing->stop(SIGTERM), 0);

  auto serving = start_tracer({"--metrics", "127.0.0.1:0", "--output", "none"});
  ASSERT_TRUE(serving);
  EXPECT_NE(mapped_files(serving->pid()).find("libmicrohttpd"), std::string::npos);
  EXPECT_EQ(serving->stop(SIGTERM), 0);
}

}  // namespace
}  // namespace tracer::e2e
