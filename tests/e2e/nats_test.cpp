// --output nats: against real nats-server processes the tests start on
// loopback (JetStream, a store in a temporary directory), read back with
// libnats: every record in the stream once, through a server outage (the
// spool, then the records in order), a tracer killed with SIGKILL (the next
// run sends what reached the spool) and a 3-node cluster losing the node the
// tracer talks to.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nats/nats.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "exec_helpers.hpp"
#include "net_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// One nats-server with JetStream, its store and log under `dir`.
class NatsServer {
 public:
  NatsServer(std::string name, std::string dir, std::string cluster = {}, std::vector<uint16_t> routes = {})
      : name_(std::move(name)), dir_(std::move(dir)), cluster_(std::move(cluster)), routes_(std::move(routes)) {
    port_ = free_port();
    monitor_ = free_port();
    if (!cluster_.empty()) cluster_port_ = free_port();
  }
  ~NatsServer() { stop(SIGKILL); }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  void set_routes(std::vector<uint16_t> routes) { routes_ = std::move(routes); }
  // More nats-server arguments (authorization, TLS).
  void add_args(std::vector<std::string> args) { extra_.insert(extra_.end(), args.begin(), args.end()); }
  uint16_t port() const { return port_; }
  uint16_t cluster_port() const { return cluster_port_; }
  uint16_t monitor() const { return monitor_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_text(dir_ + "/" + name_ + ".log"); }

  void spawn() {
    std::vector<std::string> args = {"nats-server",
                                     "-a",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port_),
                                     "-m",
                                     std::to_string(monitor_),
                                     "-js",
                                     "-sd",
                                     dir_ + "/" + name_ + "-store",
                                     "-n",
                                     name_};
    if (!cluster_.empty()) {
      std::string routes;
      for (uint16_t route : routes_)
        routes += std::string(routes.empty() ? "" : ",") + "nats://127.0.0.1:" + std::to_string(route);
      args.insert(args.end(), {"--cluster", "nats://127.0.0.1:" + std::to_string(cluster_port_), "--cluster_name",
                               cluster_, "--routes", routes});
    }
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string log_path = dir_ + "/" + name_ + ".log";
    pid_ = fork();
    if (pid_ == 0) {
      const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      execvp("nats-server", argv.data());
      _exit(127);
    }
  }
  // Until /healthz says JetStream is ready (in a cluster: a meta leader).
  bool wait_ready(std::chrono::milliseconds deadline = 30s) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (http_get(monitor_, "/healthz").status == 200) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  bool start() {
    spawn();
    return wait_ready();
  }
  void stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Whether the tracer's connection is to this node.
  bool serves_tracer() const {
    const HttpAnswer connz = http_get(monitor_, "/connz");
    if (connz.status != 200) return false;
    const Json connections = Json::parse(connz.body).value("connections", Json::array());
    for (const Json& connection : connections)
      if (connection.value("name", "") == "tracer") return true;
    return false;
  }

 private:
  std::string name_;
  std::string dir_;
  std::string cluster_;
  std::vector<uint16_t> routes_;
  std::vector<std::string> extra_;
  uint16_t port_ = 0;
  uint16_t monitor_ = 0;
  uint16_t cluster_port_ = 0;
  pid_t pid_ = -1;
};

// A JetStream context of the test's own, to make and read streams.
class JetStream {
 public:
  explicit JetStream(const std::string& urls) {
    if (natsConnection_ConnectTo(&connection_, urls.c_str()) == NATS_OK)
      natsConnection_JetStream(&js_, connection_, nullptr);
  }
  ~JetStream() {
    if (js_) jsCtx_Destroy(js_);
    if (connection_) natsConnection_Destroy(connection_);
  }
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;
  bool ok() const { return js_ != nullptr; }

  bool add_stream(const std::string& name, const std::string& subject) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    const char* subjects[] = {subject.c_str()};
    config.Name = name.c_str();
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    jsStreamInfo* info = nullptr;
    const natsStatus status = js_AddStream(&info, js_, &config, nullptr, nullptr);
    if (info) jsStreamInfo_Destroy(info);
    return status == NATS_OK;
  }
  // Messages stored and replicas; nothing when the stream is not there.
  std::optional<std::pair<uint64_t, int64_t>> stream_state(const std::string& name) {
    jsStreamInfo* info = nullptr;
    if (!js_ || js_GetStreamInfo(&info, js_, name.c_str(), nullptr, nullptr) != NATS_OK) return {};
    const std::pair<uint64_t, int64_t> state{info->State.Msgs, info->Config->Replicas};
    jsStreamInfo_Destroy(info);
    return state;
  }
  bool publish(const std::string& subject, const std::string& body) {
    jsPubAck* ack = nullptr;
    const natsStatus status = js_Publish(&ack, js_, subject.c_str(), body.data(), int(body.size()), nullptr, nullptr);
    if (ack) jsPubAck_Destroy(ack);
    return status == NATS_OK;
  }
  bool delete_message(const std::string& stream, uint64_t seq) {
    return js_DeleteMsg(js_, stream.c_str(), seq, nullptr, nullptr) == NATS_OK;
  }
  struct Message {
    std::string id;
    std::string body;
    uint64_t seq = 0;
  };
  std::vector<Message> read_all(const std::string& name) {
    std::vector<Message> messages;
    jsStreamInfo* info = nullptr;
    if (js_GetStreamInfo(&info, js_, name.c_str(), nullptr, nullptr) != NATS_OK) return messages;
    const uint64_t first = info->State.FirstSeq, last = info->State.LastSeq;
    jsStreamInfo_Destroy(info);
    for (uint64_t seq = first; seq <= last && first > 0; ++seq) {
      natsMsg* message = nullptr;
      if (js_GetMsg(&message, js_, name.c_str(), seq, nullptr, nullptr) != NATS_OK) continue;
      const char* id = nullptr;
      natsMsgHeader_Get(message, "Nats-Msg-Id", &id);
      messages.push_back(
          {id ? id : "", std::string(natsMsg_GetData(message), size_t(natsMsg_GetDataLength(message))), seq});
      natsMsg_Destroy(message);
    }
    return messages;
  }

 private:
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
};

// Until the stream holds `count` messages; what it holds then.
uint64_t wait_for_messages(const std::string& urls, const std::string& stream, uint64_t count,
                           std::chrono::seconds deadline = 60s) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  uint64_t held = 0;
  while (std::chrono::steady_clock::now() < end) {
    JetStream js(urls);
    if (auto state = js.stream_state(stream)) held = state->first;
    if (held >= count) return held;
    std::this_thread::sleep_for(100ms);
  }
  return held;
}

// The marker of each record, in stream order, and every message id.
struct StreamContent {
  std::vector<std::string> markers;
  std::set<std::string> ids;
};
// Read back from the stream, they are checked against the schema with the
// records the other tests read from stdout.
StreamContent read_markers(const std::string& urls, const std::string& stream) {
  StreamContent content;
  JetStream js(urls);
  const char* log_path = std::getenv("TRACER_E2E_RECORD_LOG");
  std::ofstream log;
  if (log_path) log.open(log_path, std::ios::app);
  for (const JetStream::Message& message : js.read_all(stream)) {
    if (log_path) log << message.body << '\n';
    const Json record = Json::parse(message.body);
    const std::vector<std::string> argv = argv_of(record);
    content.markers.push_back(argv.size() > 1 ? argv[1] : "");
    content.ids.insert(message.id);
  }
  return content;
}

// The records of `expected` that come after a later one of it.
size_t count_out_of_order(const StreamContent& content, const std::vector<std::string>& expected) {
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < expected.size(); ++i) position[expected[i]] = i;
  size_t last = 0, out_of_order = 0;
  for (const std::string& marker : content.markers) {
    if (!position.count(marker)) continue;
    out_of_order += position[marker] < last;
    last = position[marker];
  }
  return out_of_order;
}

// Every marker of `expected` exactly once, and, when `ordered`, in its order.
void expect_exactly_once(const StreamContent& content, const std::vector<std::string>& expected, bool ordered) {
  std::map<std::string, int> seen;
  for (const std::string& marker : content.markers) ++seen[marker];
  size_t missing = 0, duplicated = 0;
  for (const std::string& marker : expected) {
    missing += seen[marker] == 0;
    duplicated += seen[marker] > 1;
  }
  EXPECT_EQ(missing, 0u) << "of " << expected.size();
  EXPECT_EQ(duplicated, 0u) << "of " << expected.size();
  EXPECT_EQ(content.ids.size(), content.markers.size()) << "message ids are not unique";
  if (ordered) {
    EXPECT_EQ(count_out_of_order(content, expected), 0u);
  }
}

// Execs of `comm`, each with its own marker, in order.
std::vector<std::string> exec_burst(const std::string& comm, int count, std::chrono::microseconds pause = {}) {
  std::vector<std::string> markers;
  for (int i = 0; i < count; ++i) {
    markers.push_back(unique_marker("nats"));
    run_child({.argv = {"true", markers.back()}, .comm = comm});
    if (pause.count()) std::this_thread::sleep_for(pause);
  }
  return markers;
}

size_t count_lines_with(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

std::string test_comm(const char* tag) { return std::string(tag) + std::to_string(::getpid() % 100000); }

TEST(NatsTest, EveryRecordIsPublishedOnceIntoTheStreamThatCoversTheSubject) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  NatsServer server("one", dir.path());
  ASSERT_TRUE(server.start()) << server.log();
  {
    JetStream js(server.url());
    ASSERT_TRUE(js.ok());
    ASSERT_TRUE(js.add_stream("EXISTING", "tracer.>"));
  }
  const std::string comm = test_comm("nats1");
  auto tracer = start_tracer({"--trace", "comm=" + comm, "--output", "none", "--output",
                              "nats:" + server.url() + "/tracer.host1", "--nats-stream", "UNWANTED"});
  ASSERT_TRUE(tracer);
  const std::vector<std::string> markers = exec_burst(comm, 300);
  // The publishing thread and libnats' threads face the network: no capability.
  size_t threads = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(tracer->pid()) + "/task")) {
    std::istringstream status(read_text(task.path() / "status"));
    for (std::string line; std::getline(status, line);) {
      if (!line.starts_with("CapEff:")) continue;
      EXPECT_EQ(line.substr(line.find_first_not_of(" \t", 7)), "0000000000000000") << task.path();
    }
    ++threads;
  }
  EXPECT_GE(threads, 3u) << "no publishing threads";
  EXPECT_EQ(tracer->stop(SIGTERM), 0) << tracer->err().text();
  // The stop waited for the acknowledgements: everything is there already.
  JetStream js(server.url());
  ASSERT_TRUE(js.stream_state("EXISTING"));
  EXPECT_EQ(js.stream_state("EXISTING")->first, markers.size()) << tracer->err().text();
  EXPECT_FALSE(js.stream_state("UNWANTED"));
  expect_exactly_once(read_markers(server.url(), "EXISTING"), markers, true);
  EXPECT_EQ(tracer->err().text().find("no server takes records"), std::string::npos) << tracer->err().text();

  // A subject no stream covers: the stream is made, with its name.
  auto second = start_tracer({"--trace", "comm=" + comm, "--output", "none", "--output",
                              "nats:" + server.url() + "/fleet.exec", "--nats-stream", "FLEET"});
  ASSERT_TRUE(second);
  const std::vector<std::string> more = exec_burst(comm, 20);
  EXPECT_EQ(second->stop(SIGTERM), 0) << second->err().text();
  expect_exactly_once(read_markers(server.url(), "FLEET"), more, true);
}

TEST(NatsTest, AServerDownForTenSecondsCostsNothingTheSpoolSendsInOrderOnce) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  NatsServer server("outage", dir.path());
  ASSERT_TRUE(server.start()) << server.log();
  const std::string comm = test_comm("nats2");
  auto tracer = start_tracer({"--trace", "comm=" + comm, "--output", "none", "--output", "nats:" + server.url(),
                              "--nats-spool", dir.path() + "/spool", "--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(tracer);
  std::vector<std::string> markers = exec_burst(comm, 300);
  server.stop(SIGTERM);
  const auto outage_end = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < outage_end) {
    const std::vector<std::string> during = exec_burst(comm, 50, 2ms);
    markers.insert(markers.end(), during.begin(), during.end());
  }
  ASSERT_TRUE(server.start()) << server.log();
  const std::vector<std::string> after = exec_burst(comm, 300);
  markers.insert(markers.end(), after.begin(), after.end());
  EXPECT_EQ(wait_for_messages(server.url(), "TRACER", markers.size()), markers.size()) << tracer->err().text();
  EXPECT_EQ(tracer->stop(SIGTERM), 0);
  expect_exactly_once(read_markers(server.url(), "TRACER"), markers, true);
  const std::string err = tracer->err().text();
  EXPECT_EQ(count_lines_with(err, "no server takes records"), 1u) << err;
  EXPECT_EQ(count_lines_with(err, "publishing again"), 1u) << err;
  EXPECT_NE(err.find("tracer: " + std::to_string(markers.size()) + " events emitted, 0 lost"), std::string::npos)
      << err;
}

// The markers of the whole records in the spool's segments.
std::set<std::string> spooled_markers(const std::string& spool) {
  std::set<std::string> markers;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(spool, ignored)) {
    std::istringstream lines(read_text(entry.path()));
    for (std::string line; std::getline(lines, line);) {
      const size_t at = line.find("tracer-e2e-nats-");
      if (at != std::string::npos && lines.good()) markers.insert(line.substr(at, line.find('"', at) - at));
    }
  }
  return markers;
}

TEST(NatsTest, ATracerKilledMidBurstLosesNothingThatReachedTheSpool) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  const std::string spool = dir.path() + "/spool";
  NatsServer server("killed", dir.path());
  ASSERT_TRUE(server.start()) << server.log();
  const std::string comm = test_comm("nats3");
  const std::vector<std::string> args = {"--trace",  "comm=" + comm,         "--output",     "none",
                                         "--output", "nats:" + server.url(), "--nats-spool", spool};
  auto first = start_tracer(args);
  ASSERT_TRUE(first);
  const std::vector<std::string> acked = exec_burst(comm, 200);
  ASSERT_EQ(wait_for_messages(server.url(), "TRACER", acked.size()), acked.size());
  server.stop(SIGTERM);
  std::atomic<bool> running{true};
  std::thread burst([&] {
    while (running) exec_burst(comm, 10);
  });
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (spooled_markers(spool).size() < 300 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(first->stop(SIGKILL), SIGKILL);
  running = false;
  burst.join();
  const std::set<std::string> in_spool = spooled_markers(spool);
  ASSERT_GE(in_spool.size(), 300u) << first->err().text();

  ASSERT_TRUE(server.start()) << server.log();
  auto second = start_tracer(args);
  ASSERT_TRUE(second);
  const std::vector<std::string> later = exec_burst(comm, 50);
  std::vector<std::string> expected = acked;
  expected.insert(expected.end(), in_spool.begin(), in_spool.end());
  expected.insert(expected.end(), later.begin(), later.end());
  EXPECT_GE(wait_for_messages(server.url(), "TRACER", expected.size()), expected.size()) << second->err().text();
  EXPECT_EQ(second->stop(SIGTERM), 0);
  expect_exactly_once(read_markers(server.url(), "TRACER"), expected, false);
}

// tests/e2e/programs/exec_loop in the background: `count` execs of `comm`,
// markers PREFIX-0 ... PREFIX-(count-1), and its progress read as it goes.
class ExecStorm {
 public:
  ExecStorm(const std::string& comm, std::string prefix, int count) : prefix_(std::move(prefix)), count_(count) {
    pid_ = spawn_piped({TRACER_EXEC_LOOP, comm, prefix_, std::to_string(count)}, &fd_);
  }
  ~ExecStorm() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  ExecStorm(const ExecStorm&) = delete;
  ExecStorm& operator=(const ExecStorm&) = delete;

  // Until it says `done` execs are done; false when it stops short or the
  // deadline passes.
  bool wait_for(int done, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (done_ < done) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      pollfd readable{fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&readable, 1, int(left.count())) != 1) return false;
      char chunk[256];
      const ssize_t got = ::read(fd_, chunk, sizeof(chunk));
      if (got <= 0) return false;
      unread_.append(chunk, size_t(got));
      for (size_t newline; (newline = unread_.find('\n')) != std::string::npos; unread_.erase(0, newline + 1))
        done_ = std::stoi(unread_.substr(0, newline));
    }
    return true;
  }
  int done() const { return done_; }
  // Its exit status, once it has done them all.
  int finish() {
    int status = -1;
    if (wait_for(count_, 120s) && waitpid(pid_, &status, 0) == pid_) pid_ = -1;
    return status;
  }
  std::vector<std::string> markers() const {
    std::vector<std::string> markers;
    for (int i = 0; i < count_; ++i) markers.push_back(prefix_ + "-" + std::to_string(i));
    return markers;
  }

 private:
  std::string prefix_;
  int count_ = 0;
  pid_t pid_ = -1;
  int fd_ = -1;
  int done_ = 0;
  std::string unread_;
};

TEST(NatsTest, AClusterNodeKilledAndRestartedMidBurstCostsNoRecordAndDuplicatesNone) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  std::vector<std::unique_ptr<NatsServer>> nodes;
  for (int i = 0; i < 3; ++i)
    nodes.push_back(std::make_unique<NatsServer>("node" + std::to_string(i), dir.path(), "e2e"));
  std::string urls;
  for (auto& node : nodes) {
    std::vector<uint16_t> routes;
    for (auto& other : nodes)
      if (other != node) routes.push_back(other->cluster_port());
    node->set_routes(routes);
    node->spawn();
    urls += std::string(urls.empty() ? "" : ",") + node->url();
  }
  for (auto& node : nodes) ASSERT_TRUE(node->wait_ready(60s)) << node->log();
  const std::string comm = test_comm("nats4");
  auto tracer = start_tracer({"--trace", "comm=" + comm, "--output", "none", "--output", "nats:" + urls,
                              "--nats-replicas", "3", "--nats-spool", dir.path() + "/spool"});
  ASSERT_TRUE(tracer);
  constexpr int kExecs = 10000;
  const auto started = std::chrono::steady_clock::now();
  ExecStorm storm(comm, unique_marker("nats"), kExecs);
  // The node the tracer talks to dies a third of the way in, and comes back
  // at two thirds, while the execs go on.
  ASSERT_TRUE(storm.wait_for(kExecs / 3, 120s)) << storm.done();
  NatsServer* serving = nullptr;
  for (auto& node : nodes)
    if (node->serves_tracer()) serving = node.get();
  ASSERT_NE(serving, nullptr) << "no node serves the tracer";
  serving->stop(SIGKILL);
  ASSERT_TRUE(storm.wait_for(2 * kExecs / 3, 120s)) << storm.done();
  ASSERT_TRUE(serving->start()) << serving->log();
  const int done_at_restart = storm.done();
  ASSERT_EQ(storm.finish(), 0);
  const auto burst = std::chrono::steady_clock::now() - started;
  const std::vector<std::string> markers = storm.markers();
  EXPECT_EQ(wait_for_messages(urls, "TRACER", markers.size(), 120s), markers.size()) << tracer->err().text();
  EXPECT_EQ(tracer->stop(SIGTERM), 0);
  JetStream js(urls);
  ASSERT_TRUE(js.stream_state("TRACER"));
  EXPECT_EQ(js.stream_state("TRACER")->second, 3);
  // In order but for a failover's (docs/fleet.md): verify puts that right.
  const StreamContent content = read_markers(urls, "TRACER");
  expect_exactly_once(content, markers, false);
  EXPECT_NE(tracer->err().text().find("tracer: " + std::to_string(kExecs) + " events emitted, 0 lost"),
            std::string::npos)
      << tracer->err().text();
  std::printf(
      "[ cluster  ] %d execs in %.1f s (the node back at %d), all in the stream after %.1f s, %zu out of order\n",
      kExecs, std::chrono::duration<double>(burst).count(), done_at_restart,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
      count_out_of_order(content, markers));
}

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

Completed verify(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"verify"};
  all.insert(all.end(), args.begin(), args.end());
  return run_tracer_to_completion(all);
}

// The stream's message bodies, one a line (what a consumer writing bodies out
// makes), with `edit` applied to each.
std::string export_stream(const std::vector<JetStream::Message>& messages,
                          const std::function<std::string(size_t, const std::string&)>& edit) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string body = edit(i, messages[i].body);
    if (!body.empty()) out += body + "\n";
  }
  return out;
}

// The index of the message holding record `seq` of the chain.
size_t message_of_seq(const std::vector<JetStream::Message>& messages, uint64_t seq) {
  const std::string needle = R"(,"seq":)" + std::to_string(seq) + R"(,"prev":")";
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].body.find(needle) != std::string::npos) return i;
  return messages.size();
}

TEST(NatsTest, TheAuditChainTravelsAndVerifyOverTheStreamNamesTheHostAndSeqOfAChange) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  NatsServer server("chain", dir.path());
  ASSERT_TRUE(server.start()) << server.log();
  const std::string comm = test_comm("nats5");
  const std::string log = dir.path() + "/audit.log";
  auto tracer = start_tracer({"--trace", "comm=" + comm, "--output", "none", "--output", "audit-log:" + log, "--output",
                              "nats:" + server.url() + "/tracer.audit", "--nats-stream", "AUDIT"});
  ASSERT_TRUE(tracer);
  const std::vector<std::string> markers = exec_burst(comm, 40);
  EXPECT_EQ(tracer->stop(SIGTERM), 0) << tracer->err().text();

  // Every line of the log left the host, in order, chain and all, and the
  // log's head after the last one.
  const std::string local = read_text(log);
  std::vector<std::string> lines;
  for (std::istringstream stream(local); std::getline(stream, lines.emplace_back());) {
  }
  lines.pop_back();
  const size_t records = lines.size();
  ASSERT_GE(records, markers.size() + 2) << local;
  JetStream js(server.url());
  const std::vector<JetStream::Message> messages = js.read_all("AUDIT");
  const std::string host = host_name();
  const std::string chain = R"(,"chain":{"host":")" + host + R"(","log":")";
  std::ofstream record_log;
  if (const char* path = std::getenv("TRACER_E2E_RECORD_LOG")) record_log.open(path, std::ios::app);
  size_t next = 0;
  for (const JetStream::Message& message : messages) {
    const std::string& body = message.body;
    ASSERT_NE(body.find(chain), std::string::npos) << body;
    if (body.find(R"("event":"tracer-head")") != std::string::npos) continue;
    ASSERT_LT(next, records);
    EXPECT_EQ(body.substr(0, body.find(chain)) + "}", lines[next++]);
    if (body.find(R"("event":"tracer-)") == std::string::npos && record_log) record_log << body << '\n';
  }
  EXPECT_EQ(next, records);
  EXPECT_NE(messages.back().body.find(R"("event":"tracer-head","seq":)" + std::to_string(records) + ","),
            std::string::npos)
      << messages.back().body;

  const Completed local_verified = verify({log});
  ASSERT_EQ(local_verified.status, 0) << local_verified.out;
  const std::string head = local_verified.out.substr(local_verified.out.find("head ") + 5, 64);
  const Completed verified = verify({server.url() + "/AUDIT"});
  EXPECT_EQ(verified.status, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("OK: 1 chain(s), " + std::to_string(messages.size()) + " message(s)\nhost " + host +
                              ", chain "),
            std::string::npos)
      << verified.out;
  EXPECT_NE(verified.out.find("OK: " + std::to_string(records) + " records, head " + head), std::string::npos)
      << verified.out;

  // An export of the stream, untouched, verifies; one record edited, or one
  // missing, fails naming the host and the seq.
  const std::string dump = dir.path() + "/stream.jsonl";
  std::ofstream(dump) << export_stream(messages, [](size_t, const std::string& body) { return body; });
  EXPECT_EQ(verify({"--nats-export", dump}).status, 0) << verify({"--nats-export", dump}).out;
  const size_t edited = message_of_seq(messages, 11);
  ASSERT_LT(edited, messages.size());
  std::ofstream(dump, std::ios::trunc) << export_stream(messages, [&](size_t i, const std::string& body) {
    return i == edited ? std::string(body).replace(body.find(markers[0].substr(0, 4)), 1, "X") : body;
  });
  Completed failed = verify({"--nats-export", dump});
  EXPECT_EQ(WEXITSTATUS(failed.status), 1);
  EXPECT_NE(failed.out.find("host " + host + ", chain "), std::string::npos) << failed.out;
  EXPECT_NE(
      failed.out.find(": FAIL: seq 11 (line " + std::to_string(edited + 1) + ", a record that says seq 11): modified"),
      std::string::npos)
      << failed.out;
  std::ofstream(dump, std::ios::trunc) << export_stream(
      messages, [&](size_t i, const std::string& body) { return i == edited ? std::string() : body; });
  failed = verify({"--nats-export", dump});
  EXPECT_EQ(WEXITSTATUS(failed.status), 1);
  EXPECT_NE(failed.out.find(": FAIL: seq 11 (line " + std::to_string(message_of_seq(messages, 12)) +
                            ", a record that says seq 12): deleted"),
            std::string::npos)
      << failed.out;

  // In the stream itself: a modified copy published, then a record deleted.
  std::string forged = messages[message_of_seq(messages, 5)].body;
  forged.replace(forged.find(markers[0].substr(0, 4)), 1, "X");
  ASSERT_TRUE(js.publish("tracer.audit", forged));
  failed = verify({server.url() + "/AUDIT"});
  EXPECT_EQ(WEXITSTATUS(failed.status), 1);
  EXPECT_NE(failed.out.find("host " + host + ", chain "), std::string::npos) << failed.out;
  const uint64_t forged_seq = messages.back().seq + 1;
  EXPECT_NE(failed.out.find(" (stream seq " + std::to_string(forged_seq) + ", a record that says seq 5): modified"),
            std::string::npos)
      << failed.out;
  ASSERT_TRUE(js.delete_message("AUDIT", forged_seq));
  ASSERT_EQ(verify({server.url() + "/AUDIT"}).status, 0);
  ASSERT_TRUE(js.delete_message("AUDIT", messages[message_of_seq(messages, 7)].seq));
  failed = verify({server.url() + "/AUDIT"});
  EXPECT_EQ(WEXITSTATUS(failed.status), 1);
  EXPECT_NE(failed.out.find(": FAIL: seq 7 (stream seq " + std::to_string(messages[message_of_seq(messages, 8)].seq) +
                            ", a record that says seq 8): deleted"),
            std::string::npos)
      << failed.out;

  // The host cuts its log's tail: the state the stream gave says so.
  const std::string state = dir.path() + "/state.json";
  const size_t state_at = verified.out.find("state: ");
  ASSERT_NE(state_at, std::string::npos) << verified.out;
  std::ofstream(state) << verified.out.substr(state_at + 7, verified.out.find('\n', state_at) - state_at - 7);
  EXPECT_EQ(verify({log, "--from-state", state}).status, 0);
  std::string cut = local;
  cut.erase(cut.rfind('\n', cut.size() - 2) + 1);
  std::ofstream(log, std::ios::trunc) << cut;
  const Completed truncated = verify({log, "--from-state", state});
  EXPECT_EQ(WEXITSTATUS(truncated.status), 1);
  EXPECT_NE(truncated.out.find("truncated tail"), std::string::npos) << truncated.out;
}

// A throwaway CA, and a server and a client certificate it signs, for
// 127.0.0.1: ca.pem, server.pem/.key, client.pem/.key in dir.
bool make_tls_files(const std::string& dir) {
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::ofstream(dir + "/server.ext") << "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
  std::ofstream(dir + "/client.ext") << "extendedKeyUsage=clientAuth\n";
  const std::string script = "cd '" + dir + "' && { openssl req -x509 " + ec +
                             " -keyout ca.key -out ca.pem -days 1 -subj /CN=tracer-e2e-ca && "
                             "for who in server client; do openssl req " +
                             ec +
                             " -keyout $who.key -out $who.csr -subj /CN=127.0.0.1 && "
                             "openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
                             "-extfile $who.ext -out $who.pem || exit 1; done; } >openssl.log 2>&1";
  return std::system(script.c_str()) == 0;
}

// Records published with `connect` (the audit chain on), then read back by
// verify with the same options; verify without them is refused by the server.
void expect_verify_connects_as_publishing_did(const std::string& dir, const std::string& url,
                                              const std::vector<std::string>& connect,
                                              const std::vector<std::vector<std::string>>& refused_connects) {
  const std::string comm = test_comm("nats6");
  std::vector<std::string> args = {"--trace",       "comm=" + comm,
                                   "--output",      "none",
                                   "--output",      "audit-log:" + dir + "/audit.log",
                                   "--output",      "nats:" + url + "/tracer.audit",
                                   "--nats-stream", "AUDIT"};
  args.insert(args.end(), connect.begin(), connect.end());
  auto tracer = start_tracer(args);
  ASSERT_TRUE(tracer);
  exec_burst(comm, 5);
  EXPECT_EQ(tracer->stop(SIGTERM), 0) << tracer->err().text();
  EXPECT_EQ(tracer->err().text().find("no server takes records"), std::string::npos) << tracer->err().text();
  std::vector<std::string> verify_args = {url + "/AUDIT"};
  verify_args.insert(verify_args.end(), connect.begin(), connect.end());
  const Completed verified = verify(verify_args);
  EXPECT_EQ(verified.status, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("OK: 1 chain(s), "), std::string::npos) << verified.out;
  const std::string log = read_text(dir + "/audit.log");
  const size_t records = size_t(std::count(log.begin(), log.end(), '\n'));
  EXPECT_GE(records, 7u) << log;  // the start, 5 execs, the stop
  EXPECT_NE(verified.out.find("OK: " + std::to_string(records) + " records"), std::string::npos) << verified.out;
  for (const std::vector<std::string>& wrong : refused_connects) {
    std::vector<std::string> refused_args = {url + "/AUDIT"};
    refused_args.insert(refused_args.end(), wrong.begin(), wrong.end());
    const Completed refused = verify(refused_args);
    EXPECT_NE(refused.status, 0) << refused.out;
    EXPECT_NE(refused.err.find("NATS: cannot connect to " + url), std::string::npos) << refused.err;
  }
}

TEST(NatsTest, VerifyOverTheStreamTakesAUserAndPasswordOrAToken) {
  TRACER_E2E_REQUIRE_ROOT();
  {
    TempDir dir;
    std::ofstream(dir.path() + "/auth.conf")
        << "authorization { users = [ {user: tracer, password: \"pw-of-tracer\"}, {user: other, password: x} ] }\n";
    NatsServer server("users", dir.path());
    server.add_args({"-c", dir.path() + "/auth.conf"});
    ASSERT_TRUE(server.start()) << server.log();
    expect_verify_connects_as_publishing_did(dir.path(), server.url(),
                                             {"--nats-user", "tracer", "--nats-password", "pw-of-tracer"},
                                             {{}, {"--nats-user", "tracer", "--nats-password", "wrong"}});
  }
  TempDir dir;
  NatsServer server("token", dir.path());
  server.add_args({"--auth", "t0k3n-of-the-e2e"});
  ASSERT_TRUE(server.start()) << server.log();
  expect_verify_connects_as_publishing_did(dir.path(), server.url(), {"--nats-token", "t0k3n-of-the-e2e"},
                                           {{}, {"--nats-token", "another"}});
}

TEST(NatsTest, VerifyOverTheStreamTakesTlsWithAClientCertificate) {
  TRACER_E2E_REQUIRE_ROOT();
  TempDir dir;
  ASSERT_TRUE(make_tls_files(dir.path())) << read_text(dir.path() + "/openssl.log");
  NatsServer server("tls", dir.path());
  server.add_args({"--tlsverify", "--tlscert", dir.path() + "/server.pem", "--tlskey", dir.path() + "/server.key",
                   "--tlscacert", dir.path() + "/ca.pem"});
  ASSERT_TRUE(server.start()) << server.log();
  const std::string url = "tls://127.0.0.1:" + std::to_string(server.port());
  const std::string ca = dir.path() + "/ca.pem";
  expect_verify_connects_as_publishing_did(
      dir.path(), url,
      {"--nats-tls-ca", ca, "--nats-tls-cert", dir.path() + "/client.pem", "--nats-tls-key",
       dir.path() + "/client.key"},
      {{"--nats-tls-ca", ca},
       {"--nats-tls-cert", dir.path() + "/client.pem", "--nats-tls-key", dir.path() + "/client.key"}});
}

}  // namespace
}  // namespace tracer::e2e
