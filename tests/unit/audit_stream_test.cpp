#include "tracer/audit/audit_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace tracer {
namespace {

std::string event_json(int i) {
  return R"({"timestamp":"2026-11-23T04:30:30.000000001Z","event":"execve","pid":)" + std::to_string(1000 + i) +
         R"(,"comm":"bash","args":{"argv":["ls","-)" + std::to_string(i) + R"("]}})";
}

// One host's audit log as it is published: its sealed records, with its
// chain, and a head after every `head_every` records.
struct PublishedChain {
  ChainId id;
  std::vector<std::string> messages;
};
PublishedChain publish(const std::string& host, int count, int head_every = 0) {
  AuditChain chain;
  std::vector<std::string> lines;
  std::string suffix;
  PublishedChain published;
  for (int i = 1; i <= count; ++i) {
    std::string line;
    chain.seal(event_json(i), line);
    line.pop_back();
    if (i == 1) published.id = {host, chain.head()}, suffix = chain_suffix(published.id);
    std::string message;
    append_published_record(message, line, suffix);
    published.messages.push_back(message);
    if (head_every && i % head_every == 0) {
      std::string head;
      append_published_head(head, "2026-11-23T04:30:31Z", chain.seq(), chain.head(), suffix);
      published.messages.push_back(head);
    }
  }
  return published;
}

StreamReport verify(const std::vector<std::string>& messages) {
  StreamVerifier verifier([](const ChainId&) { return Result<std::optional<SealingKey>>(std::nullopt); }, "line");
  uint64_t line = 0;
  for (const std::string& message : messages) verifier.add_message(message, ++line);
  return verifier.finish();
}

// Two hosts' messages, alternating, as one stream holds them.
std::vector<std::string> interleave(const PublishedChain& a, const PublishedChain& b) {
  std::vector<std::string> out;
  for (size_t i = 0; i < std::max(a.messages.size(), b.messages.size()); ++i) {
    if (i < a.messages.size()) out.push_back(a.messages[i]);
    if (i < b.messages.size()) out.push_back(b.messages[i]);
  }
  return out;
}

TEST(AuditStreamTest, APublishedRecordSplitsBackIntoTheSealedLineAndItsChain) {
  const PublishedChain chain = publish("web-\"1\"", 2, 2);
  ASSERT_EQ(chain.messages.size(), 3u);
  const std::optional<PublishedMessage> record = split_published(chain.messages[0]);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->chain, chain.id);
  EXPECT_FALSE(record->head);
  EXPECT_TRUE(split_sealed_line(record->line));
  EXPECT_EQ(chain.messages[0].find(R"(,"chain":{"host":"web-\"1\"","log":")"),
            chain.messages[0].find(R"("hash":")") + 73);
  const std::optional<PublishedMessage> head = split_published(chain.messages[2]);
  ASSERT_TRUE(head);
  EXPECT_TRUE(head->head);
  EXPECT_FALSE(split_published(event_json(1)));
  EXPECT_FALSE(split_published(R"({"a":1,"chain":{"host":"h","log":"00"}})"));
}

TEST(AuditStreamTest, EveryHostsChainVerifiesInAnInterleavedStream) {
  std::vector<std::string> stream = interleave(publish("web-1", 50, 10), publish("web-2", 30, 7));
  stream.push_back(event_json(99));  // a record of a host without the audit log
  const StreamReport report = verify(stream);
  ASSERT_TRUE(report.ok()) << report.text();
  ASSERT_EQ(report.chains.size(), 2u);
  EXPECT_EQ(report.chains[0].chain.host, "web-1");
  EXPECT_EQ(report.chains[0].report.records, 50u);
  EXPECT_EQ(report.chains[0].heads, 5u);
  EXPECT_EQ(report.chains[1].report.records, 30u);
  EXPECT_EQ(report.unchained, 1u);
  EXPECT_NE(report.text().find("host web-2, chain "), std::string::npos) << report.text();
  EXPECT_NE(report.text().find("state: {\"seq\":30,\"head\":\"" + report.chains[1].report.head), std::string::npos);
}

TEST(AuditStreamTest, AnEditedRecordFailsItsHostsChainAtItsSeq) {
  PublishedChain web1 = publish("web-1", 20), web2 = publish("web-2", 20);
  web2.messages[11].replace(web2.messages[11].find("\"-12\""), 5, "\"-xx\"");
  const StreamReport report = verify(interleave(web1, web2));
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(report.chains[0].ok());
  EXPECT_FALSE(report.chains[1].ok());
  EXPECT_NE(report.text().find("host web-2, chain " + web2.id.log.substr(0, 12) +
                               ": FAIL: seq 12 (line 24, a record that says seq 12): modified (hash mismatch)"),
            std::string::npos)
      << report.text();
}

TEST(AuditStreamTest, AMissingRecordFailsNamingTheSeqThatIsMissing) {
  PublishedChain web1 = publish("web-1", 20);
  web1.messages.erase(web1.messages.begin() + 6);
  const StreamReport report = verify(web1.messages);
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.text().find("host web-1, chain " + web1.id.log.substr(0, 12) +
                               ": FAIL: seq 7 (line 7, a record that says seq 8): deleted"),
            std::string::npos)
      << report.text();
}

TEST(AuditStreamTest, AnIdenticalResendIsIgnoredAModifiedCopyIsNot) {
  PublishedChain web1 = publish("web-1", 20);
  std::vector<std::string> stream = web1.messages;
  stream.push_back(web1.messages[4]);
  const StreamReport resent = verify(stream);
  ASSERT_TRUE(resent.ok()) << resent.text();
  EXPECT_EQ(resent.chains[0].duplicates, 1u);

  std::string forged = web1.messages[4];
  forged.replace(forged.find("\"-5\""), 4, "\"-X\"");
  stream.push_back(forged);
  const StreamReport report = verify(stream);
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.text().find("FAIL: seq 21 (line 22, a record that says seq 5): modified"), std::string::npos)
      << report.text();
}

TEST(AuditStreamTest, APublishedHeadCatchesATailMissingFromTheStreamAndAForgedHead) {
  PublishedChain web1 = publish("web-1", 20, 10);
  // Records 16 to 20 and the head naming 20 gone, the head naming 10 kept: fine.
  std::vector<std::string> cut(web1.messages.begin(), web1.messages.begin() + 16);
  EXPECT_TRUE(verify(cut).ok());
  // Records 16 to 20 gone, the head naming 20 kept: they left the host.
  cut.push_back(web1.messages.back());
  const StreamReport report = verify(cut);
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.text().find("FAIL: seq 16: 5 record(s) missing, published before the head at line 17 names seq 20"),
            std::string::npos)
      << report.text();

  std::string head = web1.messages[10];
  const size_t digest = head.find("\"head\":\"") + 8;
  head[digest] = head[digest] == '0' ? '1' : '0';
  web1.messages[10] = head;
  EXPECT_FALSE(verify(web1.messages).ok());
}

TEST(AuditStreamTest, RecordsAFailoverReorderedArePutBackInOrder) {
  PublishedChain web1 = publish("web-1", 20);
  std::rotate(web1.messages.begin() + 5, web1.messages.begin() + 9, web1.messages.begin() + 10);  // seq 10 before 6
  const StreamReport report = verify(web1.messages);
  EXPECT_TRUE(report.ok()) << report.text();
  EXPECT_EQ(report.chains[0].report.records, 20u);
}

TEST(AuditStreamTest, NoChainAtAllFails) {
  const StreamReport report = verify({event_json(1), event_json(2)});
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.text(), "FAIL: no audit chain in 2 message(s)\n2 message(s) carry no chain: not verified\n");
}

TEST(AuditStreamTest, AChainWithoutItsKeyFails) {
  StreamVerifier verifier(
      [](const ChainId& id) { return Result<std::optional<SealingKey>>(runtime_error("no key for " + id.host)); },
      "line");
  for (const std::string& message : publish("web-1", 3).messages) verifier.add_message(message, 1);
  const StreamReport report = verifier.finish();
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.text().find(": FAIL: no key for web-1\n"), std::string::npos) << report.text();
}

}  // namespace
}  // namespace tracer
