// The syslog output against the real rsyslog: every record arrives as one
// RFC 5424 message, whole (one with a 100 KiB argv included), exactly once
// and byte for byte the JSON output's line of the same run, over TCP and over
// a unix stream socket. A server down at the start or killed mid-run costs
// the syslog output its records, counted and said once, while the tracer and
// its other outputs go on; it reconnects when the server is back.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

constexpr auto kDeadline = 20s;
// The one line that says a server cannot be reached (the loss counts that
// follow once a second are the losses' report, as for any output).
constexpr const char* kSaidUnreachable = "its records are counted as lost (output unreachable) until it is back";

// A port nobody listens on now (the kernel's choice), for a server to take.
uint16_t free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  ::close(fd);
  return bound ? ntohs(address.sin_port) : 0;
}

bool can_connect(const sockaddr* address, socklen_t size, int family) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool connected = ::connect(fd, address, size) == 0;
  ::close(fd);
  return connected;
}

bool tcp_listening(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return can_connect(reinterpret_cast<sockaddr*>(&address), sizeof(address), AF_INET);
}

bool unix_listening(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  return can_connect(reinterpret_cast<sockaddr*>(&address), sizeof(address), AF_UNIX);
}

// The whole lines of a file ('\n'-ended: a line rsyslog is still writing is
// not one yet).
std::vector<std::string> whole_lines(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  std::vector<std::string> lines;
  const std::string all = text.str();
  for (size_t start = 0, end; (end = all.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(all.substr(start, end - start));
  return lines;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds deadline = kDeadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// One message as rsyslog parsed it: the header fields, then MSG as received.
struct Received {
  std::string app_name, msgid, procid, pri, timestamp, msg;
};

// rsyslogd in the foreground with its own configuration, work directory and
// files: a TCP input on 127.0.0.1:port and a unix stream socket input, each
// writing the messages' fields and MSG into its own file.
class Rsyslog {
 public:
  Rsyslog(const std::string& dir, uint16_t port) : dir_(dir), port_(port) {
    std::filesystem::create_directories(dir_ + "/work");
    std::ofstream(dir_ + "/rsyslog.conf") << configuration();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("rsyslogd", "rsyslogd", "-n", "-f", (dir_ + "/rsyslog.conf").c_str(), "-i",
               (dir_ + "/rsyslogd.pid").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Rsyslog() { stop(SIGTERM); }

  // Both inputs accept connections (rsyslog is up), within the deadline.
  bool wait_listening() const {
    return wait_until([&] { return tcp_listening(port_) && unix_listening(socket_path()); });
  }
  void stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string socket_path() const { return dir_ + "/syslog.sock"; }
  std::string tcp_file() const { return dir_ + "/tcp.log"; }
  std::string unix_file() const { return dir_ + "/unix.log"; }

  static std::vector<Received> received(const std::string& file) {
    std::vector<Received> messages;
    for (const std::string& line : whole_lines(file)) {
      Received message;
      std::string* fields[] = {&message.app_name, &message.msgid, &message.procid, &message.pri, &message.timestamp};
      size_t start = 0;
      for (std::string* field : fields) {
        const size_t bar = line.find('|', start);
        if (bar == std::string::npos) break;
        *field = line.substr(start, bar - start);
        start = bar + 1;
      }
      message.msg = line.substr(start);
      messages.push_back(std::move(message));
    }
    return messages;
  }

 private:
  std::string configuration() const {
    // 1 MiB messages: a record's JSON line is at most about 40 KiB (argv is
    // cut at 32 KiB); the default 8 KiB would cut rsyslog's copy.
    return "global(maxMessageSize=\"1m\" workDirectory=\"" + dir_ + "/work\")\n" +
           "module(load=\"imtcp\")\nmodule(load=\"imptcp\")\n"
           "template(name=\"fields\" type=\"list\") {\n"
           "  property(name=\"app-name\") constant(value=\"|\") property(name=\"msgid\") constant(value=\"|\")\n"
           "  property(name=\"procid\") constant(value=\"|\") property(name=\"pri\") constant(value=\"|\")\n"
           "  property(name=\"timereported\" dateFormat=\"rfc3339\") constant(value=\"|\")\n"
           "  property(name=\"msg\") constant(value=\"\\n\")\n}\n"
           "ruleset(name=\"tcp\") { action(type=\"omfile\" file=\"" +
           tcp_file() + "\" template=\"fields\") }\n" + "ruleset(name=\"unix\") { action(type=\"omfile\" file=\"" +
           unix_file() + "\" template=\"fields\") }\n" + "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" +
           std::to_string(port_) + "\" ruleset=\"tcp\")\n" + "input(type=\"imptcp\" path=\"" + socket_path() +
           "\" unlink=\"on\" ruleset=\"unix\")\n";
  }

  std::string dir_;
  uint16_t port_;
  pid_t pid_ = -1;
};

std::string tcp_spec(uint16_t port) { return "syslog:tcp://127.0.0.1:" + std::to_string(port); }

// "2026-12-03T22:19:46.123456789Z" → "2026-12-03T22:19:46.123456Z".
std::string in_microseconds(const std::string& timestamp) { return timestamp.substr(0, timestamp.size() - 4) + "Z"; }

// Every message is the JSON line of the same record, in the same order, with
// the header a syslog receiver files it by.
void expect_same_records(const std::vector<std::string>& json_lines, const std::vector<Received>& messages,
                         pid_t tracer_pid, const std::string& transport) {
  ASSERT_EQ(messages.size(), json_lines.size()) << transport;
  for (size_t i = 0; i < messages.size(); ++i) {
    ASSERT_EQ(messages[i].msg, json_lines[i]) << transport << " message " << i;
    const Json record = Json::parse(json_lines[i]);
    EXPECT_EQ(messages[i].app_name, "tracer");
    EXPECT_EQ(messages[i].msgid, record["event"].get<std::string>());
    EXPECT_EQ(messages[i].procid, std::to_string(tracer_pid));
    EXPECT_EQ(messages[i].pri, "14");  // user.info
    EXPECT_EQ(messages[i].timestamp, in_microseconds(record["timestamp"].get<std::string>()));
  }
}

size_t count_lines_with(const std::vector<std::string>& lines, const std::string& needle) {
  return std::count_if(lines.begin(), lines.end(),
                       [&](const std::string& line) { return line.find(needle) != std::string::npos; });
}

// The exit summary's (the last line) "NAME: W written, L lost (output
// unreachable: L)" for name: {W, L}; {-1, -1} when absent.
std::pair<long, long> summary_counts(const std::vector<std::string>& stderr_lines, const std::string& name) {
  if (stderr_lines.empty()) return {-1, -1};
  const std::string& summary = stderr_lines.back();
  std::smatch match;
  const std::regex counts(std::regex_replace(name, std::regex(R"([.:/])"), R"(\$&)") +
                          R"(: (\d+) written, (\d+) lost \(output unreachable: (\d+)\))");
  if (!std::regex_search(summary, match, counts) || match[2] != match[3]) return {-1, -1};
  return {std::stol(match[1]), std::stol(match[2])};
}

TEST(SyslogTest, EveryRecordArrivesWholeOnceAndAsTheJsonLineOverTcpAndAUnixSocket) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const uint16_t port = free_tcp_port();
  Rsyslog rsyslog(dir.path() + "/rsyslog", port);
  ASSERT_TRUE(rsyslog.wait_listening()) << "rsyslogd did not listen on 127.0.0.1:" << port;
  // JSON on stdout: the lines compared, and checked against the schema.
  auto tracer = start_tracer(
      {"--output", "json", "--output", tcp_spec(port), "--output", "syslog:unix:" + rsyslog.socket_path()});
  ASSERT_TRUE(tracer);

  std::vector<std::string> markers;
  for (int i = 0; i < 5; ++i) {
    markers.push_back(unique_marker("syslog"));
    run_execve("/bin/true", {"/bin/true", markers.back()});
  }
  // 100 KiB of argv: the record keeps what the kernel side keeps (32 KiB),
  // far beyond rsyslog's default message size and any line-based framing.
  markers.push_back(unique_marker("syslog-big"));
  std::vector<std::string> big = {"/bin/true", markers.back()};
  for (int i = 0; i < 10; ++i) big.push_back(std::string(10 * 1024, static_cast<char>('a' + i)));
  run_execve("/bin/true", big);
  ASSERT_FALSE(tracer->wait_for_line_containing(markers.back()).empty());
  EXPECT_EQ(tracer->stop(), 0);

  ASSERT_TRUE(tracer->out().wait_for_eof(kDeadline));
  const std::vector<std::string> json_lines = tracer->out().lines();
  for (const std::string& marker : markers) ASSERT_EQ(count_lines_with(json_lines, marker), 1u) << marker;
  const auto big_line = std::find_if(json_lines.begin(), json_lines.end(), [&](const std::string& line) {
    return line.find(markers.back()) != std::string::npos;
  });
  ASSERT_NE(big_line, json_lines.end());
  EXPECT_GT(big_line->size(), 32u * 1024) << "the big record is not big";
  for (const std::string& file : {rsyslog.tcp_file(), rsyslog.unix_file()}) {
    wait_until([&] { return whole_lines(file).size() >= json_lines.size(); });
    expect_same_records(json_lines, Rsyslog::received(file), tracer->pid(), file);
  }
  EXPECT_EQ(tracer->err().text().find("output unreachable"), std::string::npos) << tracer->err().text();
}

TEST(SyslogTest, AServerDownAtTheStartCostsItsRecordsCountedAndSaidOnce) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const uint16_t port = free_tcp_port();
  const std::string json_file = dir.path() + "/exec.json";
  auto tracer = start_tracer({"--output", "json:" + json_file, "--output", tcp_spec(port)});
  ASSERT_TRUE(tracer);
  const std::string unreachable = tcp_spec(port) + ": connect: Connection refused; its records are counted as lost";
  ASSERT_TRUE(tracer->err().wait_for([&](const std::string& line) { return line.find(unreachable) == 8; }, kDeadline))
      << tracer->err().text();
  // Records over more than one reconnection attempt (0.5 s, then 1 s apart).
  const std::string first = unique_marker("syslog-down");
  run_execve("/bin/true", {"/bin/true", first});
  const auto started = std::chrono::steady_clock::now();
  std::string last;
  while (std::chrono::steady_clock::now() - started < 2s) {
    last = unique_marker("syslog-down");
    run_execve("/bin/true", {"/bin/true", last});
    ASSERT_TRUE(wait_until([&] { return count_lines_with(whole_lines(json_file), last) == 1; }));
  }
  EXPECT_EQ(tracer->stop(), 0);

  const std::string errors = tracer->err().text();
  EXPECT_EQ(count_lines_with(tracer->err().lines(), kSaidUnreachable), 1u) << errors;
  const std::vector<std::string> json_lines = whole_lines(json_file);
  EXPECT_EQ(count_lines_with(json_lines, first), 1u);
  const auto [written, lost] = summary_counts(tracer->err().lines(), tcp_spec(port));
  EXPECT_EQ(written, 0) << errors;
  EXPECT_EQ(lost, static_cast<long>(json_lines.size())) << errors;
}

TEST(SyslogTest, AServerKilledMidRunCostsRecordsCountedAndIsReconnectedWhenBack) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const uint16_t port = free_tcp_port();
  auto rsyslog = std::make_unique<Rsyslog>(dir.path() + "/first", port);
  ASSERT_TRUE(rsyslog->wait_listening());
  const std::string json_file = dir.path() + "/exec.json";
  auto tracer = start_tracer({"--output", "json:" + json_file, "--output", tcp_spec(port)});
  ASSERT_TRUE(tracer);

  const std::string before = unique_marker("syslog-before");
  run_execve("/bin/true", {"/bin/true", before});
  ASSERT_TRUE(wait_until([&] { return count_lines_with(whole_lines(rsyslog->tcp_file()), before) == 1; }));
  const std::string first_file = rsyslog->tcp_file();
  rsyslog->stop(SIGKILL);

  const std::string during = unique_marker("syslog-during");
  run_execve("/bin/true", {"/bin/true", during});
  ASSERT_TRUE(wait_until([&] { return count_lines_with(whole_lines(json_file), during) == 1; }));
  ASSERT_TRUE(tracer->err().wait_for(
      [&](const std::string& line) { return line.find(kSaidUnreachable) != std::string::npos; }, kDeadline))
      << tracer->err().text();

  rsyslog = std::make_unique<Rsyslog>(dir.path() + "/second", port);
  ASSERT_TRUE(rsyslog->wait_listening());
  // Each record gives the tracer a reason to try again once its backoff is over.
  const std::string back = tcp_spec(port) + " is reachable again";
  ASSERT_TRUE(wait_until([&] {
    run_execve("/bin/true", {"/bin/true", unique_marker("syslog-retry")});
    return tracer->err().wait_for([&](const std::string& line) { return line.ends_with(back); }, 200ms).has_value();
  })) << tracer->err().text();
  const std::string after = unique_marker("syslog-after");
  run_execve("/bin/true", {"/bin/true", after});
  ASSERT_TRUE(wait_until([&] { return count_lines_with(whole_lines(rsyslog->tcp_file()), after) == 1; }));
  EXPECT_EQ(tracer->stop(), 0);

  const std::vector<std::string> json_lines = whole_lines(json_file);
  for (const std::string& marker : {before, during, after}) EXPECT_EQ(count_lines_with(json_lines, marker), 1u);
  const std::vector<std::string> first_lines = whole_lines(first_file);
  const std::vector<std::string> second_lines = whole_lines(rsyslog->tcp_file());
  EXPECT_EQ(count_lines_with(first_lines, during) + count_lines_with(second_lines, during), 0u);
  const std::string errors = tracer->err().text();
  EXPECT_EQ(count_lines_with(tracer->err().lines(), kSaidUnreachable), 1u) << errors;
  EXPECT_EQ(count_lines_with(tracer->err().lines(), "reachable again"), 1u) << errors;
  // Every record is either written or counted lost; none of the lost ones arrived.
  const auto [written, lost] = summary_counts(tracer->err().lines(), tcp_spec(port));
  EXPECT_GT(lost, 0) << errors;
  EXPECT_EQ(written + lost, static_cast<long>(json_lines.size())) << errors;
  EXPECT_LE(first_lines.size() + second_lines.size(), static_cast<size_t>(written));
}

}  // namespace
}  // namespace tracer::e2e
