#pragma once
// The audit chain as it travels: with --output audit-log and --output nats
// both on, each sealed record is published as it is on the host's disk, with
// the chain it belongs to after its digest,
//   {...event...,"seq":N,"prev":"…","hash":"…","chain":{"host":"web-1","log":"<hash of record 1>"}}
// and, every few seconds when the chain grew, the chain's head,
//   {"timestamp":"…","event":"tracer-head","seq":N,"head":"<digest of record N>","chain":{…}}
// StreamVerifier checks every chain of a stream (or of a dump of its message
// bodies) with the log's own LogVerifier. Pure: no I/O here.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/audit/audit_chain.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

// A host's chain: its host name and the digest of its log's first record
// (a new log, a new chain; a continued log keeps it).
struct ChainId {
  std::string host;
  std::string log;
  auto operator<=>(const ChainId&) const = default;
};

// ,"chain":{"host":H,"log":"L"}} : what takes a sealed line's closing brace.
std::string chain_suffix(const ChainId& chain);
// A sealed line (no '\n') as published, '\n' included.
void append_published_record(std::string& out, std::string_view sealed_line, std::string_view suffix);
void append_published_head(std::string& out, std::string_view timestamp, uint64_t seq, std::string_view head,
                           std::string_view suffix);

// A message body split into its chain and the line of the log (a sealed
// record) or the head; nullopt for a message that carries no chain.
struct PublishedMessage {
  ChainId chain;
  std::string line;  // the sealed line exactly as in the log, or the head without its chain
  bool head = false;
};
std::optional<PublishedMessage> split_published(std::string_view body);

// The key that verifies a chain: nullopt for a plain SHA-256 one.
using ChainKeys = std::function<Result<std::optional<SealingKey>>(const ChainId&)>;

struct ChainReport {
  ChainId chain;
  VerifyReport report;
  uint64_t messages = 0;
  uint64_t duplicates = 0;  // byte-identical copies of a record (a resend JetStream no longer dropped)
  uint64_t heads = 0;
  uint64_t heads_unchecked = 0;  // naming a record too far back to compare
  std::string failed_at;         // where in the stream the chain breaks
  std::string head_failure;      // a published head the records contradict
  std::string key_error;         // no key to verify it with
  bool ok() const { return report.ok && head_failure.empty() && key_error.empty(); }
  std::string text() const;
};

struct StreamReport {
  std::vector<ChainReport> chains;  // by host, then chain
  uint64_t messages = 0;
  uint64_t unchained = 0;  // messages without a chain: not verified
  bool ok() const;
  std::string text() const;  // what `tracer verify` prints
};

class StreamVerifier {
 public:
  // position_name: how a message's position reads ("stream seq", "line").
  StreamVerifier(ChainKeys keys, std::string position_name);
  ~StreamVerifier();
  StreamVerifier(const StreamVerifier&) = delete;
  StreamVerifier& operator=(const StreamVerifier&) = delete;

  void add_message(std::string_view body, uint64_t position);
  StreamReport finish();

 private:
  struct Chain;
  ChainKeys keys_;
  std::string position_name_;
  std::map<ChainId, std::unique_ptr<Chain>> chains_;
  uint64_t messages_ = 0;
  uint64_t unchained_ = 0;
};

}  // namespace tracer
