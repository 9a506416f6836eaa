// End-to-end: the audit log written while real execs happen, and `tracer
// verify` on it, tampered with as an attacker would.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

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
}

TEST_F(AuditLogTest, HmacNeedsTheKey) {
  const std::string key = dir_.path() + "/key";
  write_file(key, "an hmac key that only the operator can read");
  trace_execs(3, {"--audit-key", key, "--audit-sync", "always"});
  EXPECT_NE(read_file(log_).find(R"(,"hmac":")"), std::string::npos);
  EXPECT_EQ(verify({"--audit-key", key}).status, 0);
  const Completed without = verify();
  EXPECT_EQ(WEXITSTATUS(without.status), 1);
  EXPECT_NE(without.out.find("give --audit-key"), std::string::npos) << without.out;
  const std::string wrong = dir_.path() + "/wrong";
  write_file(wrong, "another key");
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

}  // namespace
}  // namespace tracer::e2e
