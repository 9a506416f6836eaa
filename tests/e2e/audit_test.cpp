// End-to-end: the audit log written while real execs happen, and `tracer
// verify` on it, tampered with as an attacker would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "exec_helpers.hpp"
#include "tracer_process.hpp"

namespace tracer::e2e {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream content;
  content << file.rdbuf();
  return content.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << content;
}

std::vector<std::string> lines_of(const std::string& content) {
  std::vector<std::string> lines;
  std::istringstream stream(content);
  for (std::string line; std::getline(stream, line);) lines.push_back(line + "\n");
  return lines;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TRACER_E2E_REQUIRE_ROOT();
    log_ = dir_.path() + "/audit.log";
  }
  // Runs a tracer writing the audit log while `execs` marker execs happen.
  std::vector<std::string> trace_execs(int execs, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--output", "none", "--output", "audit-log:" + log_};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string why;
    auto tracer = TracerProcess::start(args, why);
    EXPECT_TRUE(tracer) << why;
    if (!tracer) return {};
    std::vector<std::string> markers;
    for (int i = 0; i < execs; ++i) {
      markers.push_back(unique_marker("audit"));
      run_execve("/bin/true", {"true", markers.back()});
    }
    EXPECT_EQ(tracer->stop(), 0) << tracer->err().text();
    stderr_ = tracer->err().text();
    return markers;
  }
  Completed verify(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"verify", log_};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_tracer_to_completion(args);
  }
  TempDir dir_;
  std::string log_;
  std::string stderr_;
};

TEST_F(AuditLogTest, LogOfRealExecsVerifies) {
  const std::vector<std::string> markers = trace_execs(5);
  const std::string content = read_file(log_);
  for (const std::string& marker : markers) EXPECT_NE(content.find(marker), std::string::npos) << marker;
  const std::vector<std::string> lines = lines_of(content);
  ASSERT_GE(lines.size(), markers.size());
  EXPECT_NE(lines[0].find(R"("seq":1,"prev":")" + std::string(64, '0') + R"(","hash":")"), std::string::npos);
  const Completed verified = verify();
  EXPECT_EQ(verified.status, 0) << verified.out;
  EXPECT_TRUE(verified.out.starts_with("OK: " + std::to_string(lines.size()) + " records, head ")) << verified.out;
  struct stat info {};
  ASSERT_EQ(stat(log_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0640u);
}

TEST_F(AuditLogTest, EditedArgvFailsAtThatRecord) {
  const std::vector<std::string> markers = trace_execs(5);
  std::vector<std::string> lines = lines_of(read_file(log_));
  size_t edited = lines.size();
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find(markers[2]) != std::string::npos) edited = i;
  ASSERT_LT(edited, lines.size());
  // What `sed -i 's/<marker>/innocent/'` does to the file.
  const size_t at = lines[edited].find(markers[2]);
  lines[edited].replace(at, markers[2].size(), "innocent");
  std::string content;
  for (const std::string& line : lines) content += line;
  write_file(log_, content);

  const Completed verified = verify();
  ASSERT_TRUE(WIFEXITED(verified.status));
  EXPECT_EQ(WEXITSTATUS(verified.status), 1);
  EXPECT_EQ(verified.out, "FAIL: seq " + std::to_string(edited + 1) + " (line " + std::to_string(edited + 1) +
                              "): modified (hash mismatch)\n");
}

TEST_F(AuditLogTest, SavedStateCatchesTruncatedThenExtendedLog) {
  trace_execs(12);
  const std::string state = dir_.path() + "/state.json";
  const Completed saved = verify({"--save-state", state});
  ASSERT_EQ(saved.status, 0) << saved.out;
  const size_t records = lines_of(read_file(log_)).size();

  // Truncate back by 10 records, then let a tracer continue the chain with
  // 10 new records: a consistent chain of the same length, different history.
  std::vector<std::string> lines = lines_of(read_file(log_));
  lines.resize(lines.size() - 10);
  std::string content;
  for (const std::string& line : lines) content += line;
  write_file(log_, content);
  while (lines_of(read_file(log_)).size() < records) trace_execs(1);
  EXPECT_EQ(verify().status, 0) << "the rewritten chain is consistent on its own";

  const Completed checked = verify({"--from-state", state});
  ASSERT_TRUE(WIFEXITED(checked.status));
  EXPECT_EQ(WEXITSTATUS(checked.status), 1);
  EXPECT_NE(checked.out.find("rewritten (record " + std::to_string(records) + " does not match the saved head)"),
            std::string::npos)
      << checked.out;

  // And a plain truncation.
  write_file(log_, content);
  const Completed truncated = verify({"--from-state", state});
  EXPECT_NE(truncated.out.find("truncated tail"), std::string::npos) << truncated.out;
}

TEST_F(AuditLogTest, TornLastLineIsReportedThenRepairedOnRestart) {
  trace_execs(3);
  const size_t records = lines_of(read_file(log_)).size();
  {
    std::ofstream append(log_, std::ios::app | std::ios::binary);
    append << R"({"timestamp":"2026-11-23T04:30:30.0Z","event":"execve","pid":1,"ti)";  // a crash mid-write
  }
  const Completed torn = verify();
  EXPECT_EQ(WEXITSTATUS(torn.status), 1);
  EXPECT_NE(torn.out.find("(line " + std::to_string(records + 1) + "): torn last line"), std::string::npos) << torn.out;

  trace_execs(2);
  EXPECT_NE(stderr_.find("removed a torn last line"), std::string::npos) << stderr_;
  const Completed repaired = verify();
  EXPECT_EQ(repaired.status, 0) << repaired.out;
  // The cut is sealed into the chain, not only said on stderr.
  EXPECT_NE(repaired.out.find("gap: 66 bytes of a torn record (an interrupted write) were cut off before seq " +
                              std::to_string(records + 1) + "\n"),
            std::string::npos)
      << repaired.out;
}

TEST_F(AuditLogTest, HmacNeedsTheKey) {
  const std::string key = dir_.path() + "/key";
  write_file(key, "an hmac key that only the operator can read");
  chmod(key.c_str(), 0600);
  trace_execs(3, {"--audit-key", key, "--audit-sync", "always"});
  EXPECT_NE(read_file(log_).find(R"(,"hmac":")"), std::string::npos);
  EXPECT_EQ(verify({"--audit-key", key}).status, 0);
  const Completed without = verify();
  EXPECT_EQ(WEXITSTATUS(without.status), 1);
  EXPECT_NE(without.out.find("give --audit-key"), std::string::npos) << without.out;
  const std::string wrong = dir_.path() + "/wrong";
  write_file(wrong, "another key");
  chmod(wrong.c_str(), 0600);
  EXPECT_EQ(WEXITSTATUS(verify({"--audit-key", wrong}).status), 1);
}

TEST_F(AuditLogTest, TamperedLastRecordIsNotContinued) {
  trace_execs(2);
  std::string content = read_file(log_);
  content[content.size() - 10] = content[content.size() - 10] == 'a' ? 'b' : 'a';  // inside the last hash
  write_file(log_, content);
  const Completed refused = run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + log_});
  ASSERT_TRUE(WIFEXITED(refused.status));
  EXPECT_EQ(WEXITSTATUS(refused.status), 1);
  EXPECT_EQ(refused.err, "tracer: audit log " + log_ +
                             ": its last record does not verify (modified, or a wrong key); not continuing it\n");
  EXPECT_EQ(read_file(log_), content);  // untouched
}

TEST_F(AuditLogTest, AFileThatIsNotALogIsRefusedUntouched) {
  // What `cp /bin/true v` gives: no newline at its end, no sealed record.
  const std::string original = read_file("/bin/true");
  ASSERT_FALSE(original.empty());
  write_file(log_, original);
  chmod(log_.c_str(), 0640);
  const Completed refused = run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + log_});
  ASSERT_TRUE(WIFEXITED(refused.status));
  EXPECT_EQ(WEXITSTATUS(refused.status), 1);
  EXPECT_EQ(refused.err, "tracer: audit log " + log_ +
                             " is not an audit log (it ends with bytes that are not a record); not touching it\n");
  EXPECT_EQ(read_file(log_), original);

  // Lines of text that are not records: refused too, whatever their end.
  write_file(log_, "line one\nline two\ntail");
  const Completed text = run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + log_});
  EXPECT_EQ(WEXITSTATUS(text.status), 1);
  EXPECT_EQ(read_file(log_), "line one\nline two\ntail");
  write_file(log_, "line one\nline two\n");
  const Completed lines = run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + log_});
  EXPECT_EQ(WEXITSTATUS(lines.status), 1);
  EXPECT_EQ(lines.err, "tracer: audit log " + log_ + ": its last line is not a sealed record; not continuing it\n");
  EXPECT_EQ(read_file(log_), "line one\nline two\n");
}

TEST_F(AuditLogTest, SymlinksWideModesAndOtherOwnersAreRefused) {
  const std::string target = dir_.path() + "/target";
  write_file(target, "precious\n");
  ASSERT_EQ(symlink(target.c_str(), log_.c_str()), 0);
  const Completed linked = run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + log_});
  EXPECT_EQ(WEXITSTATUS(linked.status), 1);
  EXPECT_EQ(linked.err, "tracer: audit log " + log_ + " is a symbolic link; not following it\n");
  EXPECT_EQ(read_file(target), "precious\n");

  const std::string wide = dir_.path() + "/wide.log";
  write_file(wide, "");
  ASSERT_EQ(chmod(wide.c_str(), 0666), 0);
  const Completed widely = run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + wide});
  EXPECT_EQ(WEXITSTATUS(widely.status), 1);
  EXPECT_EQ(widely.err,
            "tracer: audit log " + wide + " has mode 0666; an audit log has mode 0640 or less (chmod it)\n");

  const std::string foreign = dir_.path() + "/foreign.log";
  write_file(foreign, "");
  ASSERT_EQ(chmod(foreign.c_str(), 0600), 0);
  ASSERT_EQ(chown(foreign.c_str(), 65534, 65534), 0);
  const Completed owned = run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + foreign});
  EXPECT_EQ(WEXITSTATUS(owned.status), 1);
  EXPECT_EQ(owned.err, "tracer: audit log " + foreign + " belongs to uid 65534, not to the tracer's (uid 0)\n");
}

TEST_F(AuditLogTest, ASecondTracerCannotWriteTheSameLog) {
  std::string why;
  auto first = TracerProcess::start({"--output", "none", "--output", "audit-log:" + log_}, why);
  ASSERT_TRUE(first) << why;
  const Completed second = run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + log_});
  ASSERT_TRUE(WIFEXITED(second.status));
  EXPECT_EQ(WEXITSTATUS(second.status), 1);
  EXPECT_EQ(second.err, "tracer: audit log " + log_ + " is in use by another tracer (locked)\n");
  EXPECT_EQ(first->stop(), 0);
  // One chain, one writer (the first tracer recorded the second's exec).
  const Completed verified = verify();
  EXPECT_EQ(verified.status, 0) << verified.out;
  EXPECT_NE(verified.out.find("\nruns: 1 started, 1 stopped;"), std::string::npos) << verified.out;
}

TEST_F(AuditLogTest, StartAndStopAreSealedAndAKilledRunShowsAsAGap) {
  trace_execs(2);
  std::vector<std::string> lines = lines_of(read_file(log_));
  ASSERT_GE(lines.size(), 4u);
  const auto first = Json::parse(lines.front());
  EXPECT_EQ(first["event"], "tracer-start");
  EXPECT_EQ(first["version"].get<std::string>().empty(), false);
  EXPECT_EQ(first["boot_id"].get<std::string>().size(), 36u);
  EXPECT_EQ(first["options"]["audit_log"], log_);
  const auto last = Json::parse(lines.back());
  EXPECT_EQ(last["event"], "tracer-stop");
  EXPECT_GE(last["events_emitted"].get<uint64_t>(), 2u);

  // A run that dies without its stop record.
  {
    std::string why;
    auto killed = TracerProcess::start({"--output", "none", "--output", "audit-log:" + log_}, why);
    ASSERT_TRUE(killed) << why;
    killed->stop(SIGKILL);
  }
  trace_execs(1);
  const Completed verified = verify();
  EXPECT_EQ(verified.status, 0) << verified.out;
  EXPECT_NE(verified.out.find("\nruns: 3 started, 2 stopped; no loss recorded\n"), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("ended without a tracer-stop record"), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("gap: not running from "), std::string::npos) << verified.out;
}

TEST_F(AuditLogTest, RingBufferLossesAreSealedIntoTheChain) {
  std::string why;
  auto tracer =
      TracerProcess::start({"--output", "none", "--output", "audit-log:" + log_, "--ring-buffer-kib", "64"}, why);
  ASSERT_TRUE(tracer) << why;
  // A stopped consumer: the 64 KiB ring buffer fills with these execs' argv.
  ASSERT_EQ(kill(tracer->pid(), SIGSTOP), 0);
  const std::string big(4000, 'x');
  for (int i = 0; i < 100; ++i) run_execve("/bin/true", {"true", big, big, big});
  ASSERT_EQ(kill(tracer->pid(), SIGCONT), 0);
  // The running loss report (once a second) is where the audit log learns of them.
  ASSERT_TRUE(tracer->err().wait_for([](const std::string& line) { return line.find("lost") != std::string::npos; },
                                     std::chrono::seconds(10)))
      << tracer->err().text();
  EXPECT_EQ(tracer->stop(), 0);
  const Completed verified = verify();
  EXPECT_EQ(verified.status, 0) << verified.out;
  EXPECT_NE(verified.out.find("loss: "), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find(" lost (ring_buffer_full) between "), std::string::npos) << verified.out;
  bool sealed_loss = false;
  for (const std::string& line : lines_of(read_file(log_)))
    sealed_loss |= line.find(R"("event":"tracer-loss")") != std::string::npos;
  EXPECT_TRUE(sealed_loss);
}

TEST_F(AuditLogTest, KeysEvolvePerEpochAndVerifyNeedsTheInitialKey) {
  const std::string key = dir_.path() + "/key", initial = dir_.path() + "/initial-key";
  const std::string secret = "the initial key, a copy kept off the host";
  write_file(key, secret);
  write_file(initial, secret);
  chmod(key.c_str(), 0600);
  chmod(initial.c_str(), 0600);
  trace_execs(1, {"--audit-key", key});
  EXPECT_EQ(read_file(key), secret);  // one run, within its first epoch
  trace_execs(1, {"--audit-key", key});
  // The second run sealed with K_1 and erased K_0 from the key file.
  EXPECT_TRUE(read_file(key).starts_with("tracer-sealing-key v1 epoch=1 key=")) << read_file(key);

  // A period: a new epoch every second, while running.
  {
    std::string why;
    auto tracer = TracerProcess::start(
        {"--output", "none", "--output", "audit-log:" + log_, "--audit-key", key, "--audit-epoch", "1"}, why);
    ASSERT_TRUE(tracer) << why;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!read_file(key).starts_with("tracer-sealing-key v1 epoch=4 ") && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(read_file(key).starts_with("tracer-sealing-key v1 epoch=4 ")) << read_file(key);
    EXPECT_EQ(tracer->stop(), 0);
  }
  const Completed verified = verify({"--audit-key", initial});
  EXPECT_EQ(verified.status, 0) << verified.out;
  EXPECT_NE(verified.out.find("; key epochs 0 to "), std::string::npos) << verified.out;
  const Completed evolved = verify({"--audit-key", key});
  EXPECT_EQ(WEXITSTATUS(evolved.status), 1);
  EXPECT_NE(evolved.out.find("verify needs the initial key"), std::string::npos) << evolved.out;
}

TEST_F(AuditLogTest, KeyFilesOthersCanReadAreRefused) {
  const std::string key = dir_.path() + "/key";
  write_file(key, "a key");
  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  const Completed refused =
      run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + log_, "--audit-key", key});
  EXPECT_EQ(WEXITSTATUS(refused.status), 1);
  EXPECT_EQ(refused.err, "tracer: audit key file " + key + ": mode 0644 lets group or others read it; chmod 600 it\n");
  ASSERT_EQ(chmod(key.c_str(), 0640), 0);
  EXPECT_EQ(WEXITSTATUS(verify({"--audit-key", key}).status), 1);
}

TEST_F(AuditLogTest, InputsMustBeBoundedRegularFiles) {
  const auto one_line = [](const Completed& completed, int status, const std::string& line) {
    EXPECT_TRUE(WIFEXITED(completed.status));
    EXPECT_EQ(WEXITSTATUS(completed.status), status) << completed.err;
    EXPECT_EQ(completed.err, line);
  };
  one_line(run_tracer_to_completion({"verify", "/dev/zero"}), 1,
           "tracer: audit log /dev/zero: not a regular file (a character device)\n");
  one_line(run_tracer_to_completion({"verify", dir_.path()}), 1,
           "tracer: audit log " + dir_.path() + ": not a regular file (a directory)\n");
  write_file(log_, "");
  const Completed empty = verify();
  EXPECT_EQ(WEXITSTATUS(empty.status), 1);
  EXPECT_EQ(empty.out, "FAIL: seq 1 (line 1): empty (not an audit log)\n");
  write_file(log_, "not a log\n");
  EXPECT_EQ(verify().out, "FAIL: seq 1 (line 1): bad JSON (not a sealed record)\n");

  one_line(run_tracer_to_completion({"--output", "none", "--output", "audit-log:" + log_, "--audit-key", "/dev/zero"}),
           1, "tracer: audit key file /dev/zero: not a regular file (a character device)\n");
  one_line(run_tracer_to_completion({"--config", "/dev/zero"}), 2,
           "tracer: --config /dev/zero: not a regular file (a character device)\n");
  const std::string fifo = dir_.path() + "/config.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  one_line(run_tracer_to_completion({"--config", fifo}), 2,
           "tracer: --config " + fifo + ": not a regular file (a FIFO)\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// A sealed SHA-256 log of about `bytes`, as the tracer writes one.
void write_large_log(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string head(64, '0'), line;
  const std::string padding(400, 'p');
  size_t written = 0;
  for (uint64_t seq = 1; written < bytes; ++seq) {
    const std::string event = seq == 1 ? R"({"timestamp":"2026-11-23T04:30:30.000000000Z","event":"tracer-start")"
                                       : R"({"timestamp":"2026-11-23T04:30:30.000000000Z","event":"execve","pid":)" +
                                             std::to_string(seq) + R"(,"args":{"argv":["true",")" + padding + R"("]})";
    line = event + R"(,"seq":)" + std::to_string(seq) + R"(,"prev":")" + head + "\"}";
    unsigned char digest[32];
    EVP_Digest(line.data(), line.size(), digest, nullptr, EVP_sha256(), nullptr);
    head.clear();
    for (unsigned char byte : digest) head += "0123456789abcdef"[byte >> 4], head += "0123456789abcdef"[byte & 15];
    line.pop_back();
    line += R"(,"hash":")" + head + "\"}\n";
    out << line;
    written += line.size();
  }
}

// verify streams: its peak RSS does not follow the log's size.
TEST_F(AuditLogTest, VerifyMemoryDoesNotGrowWithTheLog) {
  const char* size_mb = std::getenv("TRACER_VERIFY_LOG_MB");  // a 1 GB run: =1024
  const size_t megabytes = size_mb ? std::strtoul(size_mb, nullptr, 10) : 50;
  write_large_log(log_, megabytes << 20);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execl(TRACER_BINARY, "tracer", "verify", log_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  ASSERT_EQ(wait4(pid, &status, 0, &usage), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const long peak_kib = usage.ru_maxrss;
  std::printf("verify of a %zu MiB log: peak RSS %ld KiB\n", megabytes, peak_kib);
  EXPECT_LT(peak_kib, 32 * 1024) << "verify held the log in memory";
}

}  // namespace
}  // namespace tracer::e2e
