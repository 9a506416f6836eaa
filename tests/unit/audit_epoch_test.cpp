// Forward-secure sealing keys and the story a log tells (runs, gaps, losses).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <numeric>

#include "tracer/audit/audit_chain.hpp"

namespace tracer {
namespace {

const std::string kInitialKey = "the operator's initial key, kept off the host";

SealingKey initial_key() { return SealingKey{SecretBytes(kInitialKey), 0}; }

std::string exec_json(int i) {
  return R"({"timestamp":"2026-11-23T04:30:)" + std::to_string(10 + i % 50) +
         R"(.000000001Z","event":"execve","pid":)" + std::to_string(1000 + i) + "}";
}

std::string own_json(const std::string& event, const std::string& fields = "", int second = 0) {
  return R"({"timestamp":"2026-11-23T05:00:)" + std::to_string(10 + second) + R"(.000000000Z","event":"tracer-)" +
         event + "\"" + fields + "}";
}

// count records, a new key epoch every `per_epoch`, each begun by a
// tracer-epoch record.
std::vector<std::string> epoch_log(int count, int per_epoch) {
  AuditChain chain(initial_key());
  std::vector<std::string> lines;
  for (int i = 1; i <= count; ++i) {
    const bool new_epoch = i > 1 && (i - 1) % per_epoch == 0;
    if (new_epoch) chain.advance_epoch();
    chain.seal(new_epoch ? own_json("epoch", R"(,"reason":"period")") : exec_json(i), lines.emplace_back());
  }
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  return std::accumulate(lines.begin(), lines.end(), std::string());
}

SealingKey key_at(uint64_t epoch) {
  SealingKey key = initial_key();
  while (key.epoch < epoch) advance_sealing_key(key);
  return key;
}

// A line re-sealed by someone holding `key`, with its seq and prev kept.
std::string reseal(const std::string& line, SealingKey key, uint64_t claimed_epoch, const std::string& new_pid) {
  const std::optional<SealedLine> sealed = split_sealed_line(std::string_view(line).substr(0, line.size() - 1));
  const std::optional<RecordPosition> position = parse_record_position(sealed->canonical);
  std::string event = sealed->canonical.substr(0, sealed->canonical.find(R"(,"key_epoch":)")) + "}";
  event.replace(event.find("\"pid\":") + 6, 4, new_pid);
  key.epoch = claimed_epoch;
  AuditChain forger(std::move(key));
  forger.continue_after(position->seq - 1, position->prev);
  std::string out;
  forger.seal(event, out);
  return out;
}

TEST(SealingKey, NextKeyIsHmacOfTheLabelUnderTheCurrentKey) {
  SealingKey key = initial_key();
  unsigned char expected[32];
  size_t length = 0;
  ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, kInitialKey.data(), kInitialKey.size(),
                      reinterpret_cast<const unsigned char*>("tracer epoch"), 12, expected, sizeof(expected), &length),
            nullptr);
  advance_sealing_key(key);
  EXPECT_EQ(key.epoch, 1u);
  ASSERT_EQ(key.key.size(), 32u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(key.key.data()), 32),
            std::string(reinterpret_cast<const char*>(expected), 32));
}

TEST(SealingKey, KeyFileRoundTripsAndRawBytesAreEpochZero) {
  const SealingKey evolved = key_at(7);
  Result<SealingKey> parsed = parse_key_file(format_key_file(evolved));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->epoch, 7u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(parsed->key.data()), parsed->key.size()),
            std::string(reinterpret_cast<const char*>(evolved.key.data()), evolved.key.size()));
  Result<SealingKey> raw = parse_key_file(kInitialKey);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->epoch, 0u);
  EXPECT_EQ(raw->key.size(), kInitialKey.size());
  EXPECT_FALSE(parse_key_file(""));
  EXPECT_FALSE(parse_key_file("tracer-sealing-key v1 epoch=x key=00\n"));
  EXPECT_FALSE(parse_key_file("tracer-sealing-key v1 epoch=1 key=0\n"));
  EXPECT_FALSE(parse_key_file("tracer-sealing-key v1 epoch=99999999999 key=00\n"));
}

TEST(SealingKey, SecretBytesAreErasedOnMoveAndReset) {
  SecretBytes bytes("secret");
  SecretBytes moved(std::move(bytes));
  EXPECT_TRUE(bytes.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(moved.size(), 6u);
  moved.erase();
  EXPECT_TRUE(moved.empty());
}

TEST(AuditEpochs, VerifyFromTheInitialKeyPassesAcrossEpochs) {
  const std::vector<std::string> lines = epoch_log(50, 10);
  EXPECT_NE(lines[0].find(R"(,"key_epoch":0,"seq":1,)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[49].find(R"(,"key_epoch":4,"seq":50,)"), std::string::npos) << lines[49];
  const VerifyReport report = verify_log(join(lines), initial_key(), std::nullopt);
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(report.records, 50u);
  EXPECT_EQ(report.story.first_epoch, 0u);
  EXPECT_EQ(report.story.last_epoch, 4u);
  EXPECT_NE(report.full_report().find("key epochs 0 to 4"), std::string::npos) << report.full_report();
}

TEST(AuditEpochs, ARecordOfEpochKResealedWithKeyKPlusOneFails) {
  std::vector<std::string> lines = epoch_log(50, 10);
  // Record 15 is of epoch 1; the attacker holds K_2 (and every later key).
  std::vector<std::string> same_epoch = lines;
  same_epoch[14] = reseal(lines[14], key_at(2), 1, "6666");
  const VerifyReport claimed_old = verify_log(join(same_epoch), initial_key(), std::nullopt);
  ASSERT_FALSE(claimed_old.ok);
  EXPECT_EQ(claimed_old.failed_seq, 15u);
  EXPECT_EQ(claimed_old.reason, "modified (HMAC mismatch, or a wrong key)");

  std::vector<std::string> next_epoch = lines;
  next_epoch[14] = reseal(lines[14], key_at(2), 2, "6666");
  const VerifyReport claimed_new = verify_log(join(next_epoch), initial_key(), std::nullopt);
  ASSERT_FALSE(claimed_new.ok);
  EXPECT_EQ(claimed_new.failed_seq, 15u);
  EXPECT_EQ(claimed_new.reason, "key epoch 2 begins with a record that is not a tracer-epoch or tracer-start")
      << claimed_new.summary();
}

TEST(AuditEpochs, HistoryCutAndResealedWithALaterKeyFails) {
  // The attacker took the host in epoch 4: cuts the log inside epoch 1 and
  // appends records of his own under K_4.
  const std::vector<std::string> lines = epoch_log(50, 10);
  std::vector<std::string> forged(lines.begin(), lines.begin() + 15);
  const VerifyReport prefix = verify_log(join(forged), initial_key(), std::nullopt);
  ASSERT_TRUE(prefix.ok);
  AuditChain forger(key_at(4));
  forger.continue_after(prefix.records, prefix.head);
  for (int i = 0; i < 35; ++i) {
    std::string line;
    forger.seal(exec_json(100 + i), line);
    forged.push_back(line);
  }
  const VerifyReport report = verify_log(join(forged), initial_key(), std::nullopt);
  ASSERT_FALSE(report.ok);
  EXPECT_EQ(report.failed_seq, 16u);
  EXPECT_EQ(report.reason, "key epoch jumps from 1 to 4");
}

TEST(AuditEpochs, AnEvolvedKeyVerifiesItsEpochOnwardOnly) {
  const std::vector<std::string> lines = epoch_log(30, 10);
  const VerifyReport report = verify_log(join(lines), key_at(1), std::nullopt);
  ASSERT_FALSE(report.ok);
  EXPECT_EQ(report.failed_seq, 1u);
  EXPECT_EQ(report.reason, "sealed in key epoch 0, before the key's epoch 1: verify needs the initial key");
  // A log begun with an evolved key (a new log after rotation) verifies from
  // the initial key.
  AuditChain chain(key_at(3));
  std::string log;
  for (int i = 1; i <= 5; ++i) chain.seal(exec_json(i), log);
  EXPECT_TRUE(verify_log(log, initial_key(), std::nullopt).ok);
}

TEST(AuditEpochs, ARecordWithoutEpochInAKeyedLogFails) {
  std::vector<std::string> lines = epoch_log(3, 10);
  const size_t at = lines[1].find(R"("key_epoch":0,)");
  lines[1].erase(at, 14);
  EXPECT_FALSE(verify_log(join(lines), initial_key(), std::nullopt).ok);
}

TEST(AuditStory, StartsStopsLossesAndGapsAreReported) {
  AuditChain chain;
  std::string log;
  chain.seal(own_json("start", R"(,"version":"1.0")"), log);
  chain.seal(exec_json(1), log);
  chain.seal(own_json("loss", R"(,"cause":"ring buffer full","count":7,"from":"A","to":"B")", 1), log);
  chain.seal(own_json("stop", R"(,"events_emitted":1)", 2), log);
  chain.seal(own_json("start", "", 5), log);  // not running from :12 to :15
  chain.seal(exec_json(2), log);
  chain.seal(own_json("start", "", 9), log);  // the run before ended abruptly
  chain.seal(exec_json(3), log);
  const VerifyReport report = verify_log(log, std::nullopt, std::nullopt);
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(report.story.starts, 3u);
  EXPECT_EQ(report.story.stops, 1u);
  EXPECT_EQ(report.story.records_lost, 7u);
  EXPECT_EQ(report.full_report(), report.summary() + "\n" +
                                      "runs: 3 started, 1 stopped; 7 record(s) lost (1 loss records)\n"
                                      "loss: 7 record(s) lost (ring buffer full) between A and B (seq 3)\n"
                                      "gap: not running from 2026-11-23T05:00:12.000000000Z (seq 4) to "
                                      "2026-11-23T05:00:15.000000000Z (seq 5)\n"
                                      "gap: the run started at seq 5 ended without a tracer-stop record after seq 6 "
                                      "(2026-11-23T04:30:12.000000001Z); the next run starts at seq 7 "
                                      "(2026-11-23T05:00:19.000000000Z)\n"
                                      "gap: the run started at seq 7 has no tracer-stop record: still running, or it "
                                      "ended abruptly after seq 8 (2026-11-23T04:30:13.000000001Z)\n");
}

TEST(AuditStory, ALogNotBegunByAStartSaysSo) {
  AuditChain chain;
  std::string log;
  chain.seal(exec_json(1), log);
  const VerifyReport report = verify_log(log, std::nullopt, std::nullopt);
  ASSERT_TRUE(report.ok);
  ASSERT_EQ(report.story.notes.size(), 1u);
  EXPECT_EQ(report.story.notes[0], "gap: the log does not begin with a tracer-start record");
}

TEST(AuditStory, NotesAreCapped) {
  AuditChain chain;
  std::string log;
  chain.seal(own_json("start"), log);
  for (int i = 0; i < 30; ++i) chain.seal(own_json("loss", R"(,"cause":"c","count":1,"from":"A","to":"B")"), log);
  chain.seal(own_json("stop"), log);
  const VerifyReport report = verify_log(log, std::nullopt, std::nullopt);
  ASSERT_TRUE(report.ok);
  EXPECT_EQ(report.story.notes.size(), AuditStory::kMaxNotes);
  EXPECT_EQ(report.story.notes_left_off, 10u);
  EXPECT_EQ(report.story.records_lost, 30u);
  EXPECT_NE(report.full_report().find("... and 10 more gaps and losses\n"), std::string::npos);
}

TEST(AuditDigest, ComparedWhole) {
  EXPECT_TRUE(same_digest("abcd", "abcd"));
  EXPECT_FALSE(same_digest("abcd", "abce"));
  EXPECT_FALSE(same_digest("abcd", "abc"));
}

}  // namespace
}  // namespace tracer
