#include "tracer/audit/audit_chain.hpp"

#include <gtest/gtest.h>

#include <random>

namespace tracer {
namespace {

std::string event_json(int i) {
  return R"({"timestamp":"2026-11-23T04:30:30.000000001Z","event":"execve","pid":)" + std::to_string(1000 + i) +
         R"(,"tid":1,"uid":1000,"comm":"bash","ret":0,"flags":[],"args":{"pathname":"/bin/ls","argv":["ls","-)" +
         std::to_string(i) + R"("]}})" + "\n";
}

std::optional<SealingKey> key_of(const std::string& key) {
  if (key.empty()) return std::nullopt;
  return SealingKey{SecretBytes(key), 0};
}

AuditChain chain_of(const std::string& key) { return key.empty() ? AuditChain() : AuditChain(*key_of(key)); }

std::vector<std::string> sealed_lines(int count, const std::string& key = {}) {
  AuditChain chain = chain_of(key);
  std::vector<std::string> lines;
  for (int i = 1; i <= count; ++i) {
    std::string line;
    chain.seal(event_json(i), line);
    lines.push_back(line);
  }
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line;
  return out;
}

VerifyReport verify(const std::string& log, const std::string& key = {},
                    const std::optional<VerifyState>& from = std::nullopt) {
  return verify_log(log, key_of(key), from);
}

class AuditChainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { lines_ = new std::vector<std::string>(sealed_lines(1000)); }
  static void TearDownTestSuite() { delete lines_; }
  static const std::vector<std::string>& lines() { return *lines_; }
  static inline std::vector<std::string>* lines_ = nullptr;
};

TEST_F(AuditChainTest, SealedRecordIsTheEventPlusSeqPrevHash) {
  const std::string& first = lines()[0];
  const std::string event = event_json(1);
  EXPECT_TRUE(first.starts_with(event.substr(0, event.size() - 2)));
  EXPECT_NE(first.find(R"(,"seq":1,"prev":")" + kGenesisHash + R"(","hash":")"), std::string::npos);
  EXPECT_TRUE(first.ends_with("\"}\n"));
  const std::optional<SealedLine> sealed = split_sealed_line(std::string_view(first).substr(0, first.size() - 1));
  ASSERT_TRUE(sealed);
  EXPECT_EQ(AuditChain().digest(sealed->canonical), sealed->digest);
  EXPECT_NE(lines()[1].find(R"("seq":2,"prev":")" + sealed->digest + "\""), std::string::npos);
}

TEST_F(AuditChainTest, IntactLogVerifies) {
  const VerifyReport report = verify(join(lines()));
  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(report.records, 1000u);
  EXPECT_EQ(report.summary(),
            "OK: 1000 records, head " + split_sealed_line(lines()[999].substr(0, lines()[999].size() - 1))->digest);
  // An empty file is no evidence of anything.
  EXPECT_EQ(verify("").summary(), "FAIL: seq 1 (line 1): empty (not an audit log)");
}

void expect_failure_at(const std::string& log, uint64_t seq, std::string_view reason_start) {
  const VerifyReport report = verify(log);
  ASSERT_FALSE(report.ok);
  EXPECT_EQ(report.failed_seq, seq) << report.summary();
  EXPECT_TRUE(report.reason.starts_with(reason_start)) << report.summary();
}

TEST_F(AuditChainTest, EverySingleByteModificationIsDetectedAtItsRecord) {
  const std::string log = join(lines());
  std::vector<size_t> line_start(lines().size() + 1, 0);
  for (size_t i = 0; i < lines().size(); ++i) line_start[i + 1] = line_start[i] + lines()[i].size();
  const auto check = [&](size_t record) {  // record: 0-based
    for (size_t at = line_start[record]; at < line_start[record + 1]; ++at) {
      std::string modified = log;
      modified[at] = static_cast<char>(modified[at] ^ 0x20);
      const VerifyReport report = verify(modified);
      ASSERT_FALSE(report.ok) << "byte " << at;
      ASSERT_EQ(report.failed_seq, record + 1) << "byte " << at << ": " << report.summary();
    }
  };
  for (size_t record : {size_t{0}, size_t{1}, size_t{499}, size_t{998}, size_t{999}}) check(record);
  // And random bytes anywhere else.
  std::mt19937 random(7);
  for (int sample = 0; sample < 300; ++sample) {
    const size_t at = random() % log.size();
    std::string modified = log;
    modified[at] = static_cast<char>(modified[at] + 1 + random() % 250);
    const size_t record = std::upper_bound(line_start.begin(), line_start.end(), at) - line_start.begin() - 1;
    const VerifyReport report = verify(modified);
    ASSERT_FALSE(report.ok);
    ASSERT_EQ(report.failed_seq, record + 1) << report.summary();
  }
}

TEST_F(AuditChainTest, DeletionSwapInsertionAreNamed) {
  std::vector<std::string> deleted = lines();
  deleted.erase(deleted.begin() + 499);
  expect_failure_at(join(deleted), 500, "deleted");

  std::vector<std::string> swapped = lines();
  std::swap(swapped[499], swapped[500]);
  expect_failure_at(join(swapped), 500, "reordered");

  std::vector<std::string> inserted = lines();
  inserted.insert(inserted.begin() + 500, lines()[9]);
  expect_failure_at(join(inserted), 501, "inserted");

  std::vector<std::string> first_deleted = lines();
  first_deleted.erase(first_deleted.begin());
  expect_failure_at(join(first_deleted), 1, "deleted");
}

TEST_F(AuditChainTest, TornLastLineIsReported) {
  std::string log = join(lines());
  log.resize(log.size() - 20);
  expect_failure_at(log, 1000, "torn last line");
}

TEST_F(AuditChainTest, SavedStateCatchesTruncationAndRewrittenHistory) {
  const VerifyReport full = verify(join(lines()));
  const VerifyState state{full.records, full.head};
  EXPECT_TRUE(verify(join(lines()), {}, state).ok);

  // Truncated back by 10 records: the chain itself is still consistent...
  std::vector<std::string> truncated(lines().begin(), lines().end() - 10);
  EXPECT_TRUE(verify(join(truncated)).ok);
  // ...but not with what was verified before.
  const VerifyReport short_report = verify(join(truncated), {}, state);
  EXPECT_FALSE(short_report.ok);
  EXPECT_TRUE(short_report.reason.starts_with("truncated tail")) << short_report.summary();

  // Then extended by 10 forged records with a recomputed chain.
  AuditChain forger;
  const VerifyReport prefix = verify(join(truncated));
  forger.continue_after(prefix.records, prefix.head);
  std::vector<std::string> forged = truncated;
  for (int i = 0; i < 10; ++i) {
    std::string line;
    forger.seal(event_json(5000 + i), line);
    forged.push_back(line);
  }
  EXPECT_TRUE(verify(join(forged)).ok);  // undetectable without a saved state or a key
  const VerifyReport rewritten = verify(join(forged), {}, state);
  EXPECT_FALSE(rewritten.ok);
  EXPECT_EQ(rewritten.failed_seq, 1000u);
  EXPECT_TRUE(rewritten.reason.starts_with("rewritten")) << rewritten.summary();
}

TEST_F(AuditChainTest, ContinuedLogVerifiesEndToEnd) {
  const std::vector<std::string> first = sealed_lines(10);
  const VerifyReport head = verify(join(first));
  AuditChain continued;
  continued.continue_after(head.records, head.head);
  std::string log = join(first);
  for (int i = 11; i <= 20; ++i) continued.seal(event_json(i), log);
  const VerifyReport report = verify(log);
  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(report.records, 20u);
}

TEST(AuditChainHmac, KeyedLogNeedsTheRightKey) {
  const std::string key = "0123456789abcdef0123456789abcdef";
  const std::string log = join(sealed_lines(50, key));
  EXPECT_NE(log.find(R"(,"hmac":")"), std::string::npos);
  EXPECT_TRUE(verify(log, key).ok);
  const VerifyReport wrong = verify(log, "another key of the same length!!");
  EXPECT_FALSE(wrong.ok);
  EXPECT_EQ(wrong.failed_seq, 1u);
  EXPECT_TRUE(wrong.reason.starts_with("modified")) << wrong.summary();
  const VerifyReport keyless = verify(log);
  EXPECT_FALSE(keyless.ok);
  EXPECT_EQ(keyless.reason, "the log is HMAC-authenticated: give --audit-key");
  EXPECT_FALSE(verify(join(sealed_lines(5)), key).ok);
}

TEST(AuditChainHmac, ForgedRecordWithoutTheKeyIsModified) {
  const std::string key = "secret key material, 32 bytes..";
  std::vector<std::string> lines = sealed_lines(20, key);
  const VerifyReport prefix = verify(join(std::vector<std::string>(lines.begin(), lines.begin() + 10)), key);
  AuditChain forger = chain_of("not the key");
  forger.continue_after(prefix.records, prefix.head);
  std::string forged;
  forger.seal(event_json(999), forged);
  lines[10] = forged;
  const VerifyReport report = verify(join(lines), key);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.failed_seq, 11u);
}

TEST(AuditChainState, RoundTripAndRejects) {
  const VerifyState state{42, std::string(64, 'a')};
  Result<VerifyState> parsed = parse_verify_state(format_verify_state(state));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->seq, 42u);
  EXPECT_EQ(parsed->head, state.head);
  EXPECT_FALSE(parse_verify_state("{}").ok());
  EXPECT_FALSE(parse_verify_state(R"({"seq":1,"head":"xyz"})").ok());
  EXPECT_FALSE(parse_verify_state("not json").ok());
}

TEST(AuditChainLines, NotSealedShapes) {
  EXPECT_FALSE(split_sealed_line(""));
  EXPECT_FALSE(split_sealed_line(R"({"a":1})"));
  EXPECT_FALSE(split_sealed_line(R"({"a":1,"hash":"zz"})"));
  const std::string bad_hex = R"({"a":1,"hash":")" + std::string(64, 'g') + "\"}";
  EXPECT_FALSE(split_sealed_line(bad_hex));
  const std::string good = R"({"a":1,"hash":")" + std::string(64, 'a') + "\"}";
  ASSERT_TRUE(split_sealed_line(good));
  EXPECT_EQ(split_sealed_line(good)->canonical, R"({"a":1})");
}

}  // namespace
}  // namespace tracer
