// The audit chain in published messages, and verifying every host's chain
// of a stream with LogVerifier.
#include "tracer/audit/audit_stream.hpp"

#include <fmt/format.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "tracer/core/escape.hpp"

namespace tracer {
namespace {

constexpr std::string_view kChainField = R"(,"chain":{"host":)";
constexpr std::string_view kLogField = R"(,"log":")";
constexpr std::string_view kHeadPrefix = R"(,"event":"tracer-head","seq":)";
constexpr size_t kHexDigest = 64;
// Records remembered per chain, to tell a resent copy from a forgery and to
// check a head that arrives after later records; and records held back
// while one before them is missing (a failover reorders at most what was in
// flight and what the spool resends).
constexpr size_t kRecentRecords = 4096;

bool is_hex_digest(std::string_view text) {
  return text.size() == kHexDigest && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string short_log(const std::string& log) { return log.substr(0, 12); }

}  // namespace

std::string chain_suffix(const ChainId& chain) {
  std::string out(kChainField);
  out += '"';
  append_json_string_body(out, chain.host);
  return out + "\"" + std::string(kLogField) + chain.log + "\"}}";
}

void append_published_record(std::string& out, std::string_view sealed_line, std::string_view suffix) {
  if (sealed_line.ends_with('}')) sealed_line.remove_suffix(1);
  out += sealed_line;
  out += suffix;
  out += '\n';
}

void append_published_head(std::string& out, std::string_view timestamp, uint64_t seq, std::string_view head,
                           std::string_view suffix) {
  out += R"({"timestamp":")";
  out += timestamp;
  fmt::format_to(std::back_inserter(out), R"("{}{},"head":"{}")", kHeadPrefix, seq, head);
  out += suffix;
  out += '\n';
}

// The chain is the body's last field: after it only the host (a JSON string,
// whose quotes are escaped, so `,"` cannot occur in it) and the log's digest.
std::optional<PublishedMessage> split_published(std::string_view body) {
  if (body.ends_with('\n')) body.remove_suffix(1);
  const size_t at = body.rfind(kChainField);
  const size_t log_tail = kLogField.size() + kHexDigest + 3;
  if (at == std::string_view::npos || body.size() < at + kChainField.size() + log_tail || !body.ends_with("\"}}"))
    return std::nullopt;
  const size_t log_at = body.size() - log_tail;
  if (body.substr(log_at, kLogField.size()) != kLogField) return std::nullopt;
  const std::string_view log = body.substr(log_at + kLogField.size(), kHexDigest);
  const nlohmann::json host =
      nlohmann::json::parse(body.substr(at + kChainField.size(), log_at - at - kChainField.size()), nullptr, false);
  if (!is_hex_digest(log) || !host.is_string()) return std::nullopt;
  PublishedMessage message{{host.get<std::string>(), std::string(log)}, std::string(body.substr(0, at)) + "}"};
  const size_t quote = message.line.find('"', 14);  // after {"timestamp":"
  message.head = message.line.starts_with(R"({"timestamp":")") && quote != std::string::npos &&
                 std::string_view(message.line).substr(quote + 1).starts_with(kHeadPrefix);
  return message;
}

struct StreamVerifier::Chain {
  struct Recent {
    uint64_t seq;
    std::string digest;     // as sealed
    std::string line_hash;  // SHA-256 of the whole line: a copy is byte-identical
  };
  struct Arrival {
    std::string line;
    uint64_t position;
    uint64_t seq;  // 0: not a sealed record
    std::string digest;
    std::string line_hash;
  };
  struct Head {
    std::string digest;
    uint64_t position;
  };

  Chain(ChainId id, Result<std::optional<SealingKey>> key) {
    report.chain = std::move(id);
    if (key)
      verifier.emplace(std::move(*key), std::nullopt);
    else
      report.key_error = key.error().message;
  }

  // A record ahead of the next one is held back (a failover may have stored
  // it before records resent from the spool) until the records before it
  // came, or too many are held: then the verifier sees the gap.
  void add_record(const std::string& line, uint64_t position, const std::string& position_name) {
    const std::optional<SealedLine> sealed = split_sealed_line(line);
    const std::optional<RecordPosition> at =
        sealed ? parse_record_position(sealed->canonical) : std::optional<RecordPosition>();
    Arrival arrival{line, position, at ? at->seq : 0, sealed ? sealed->digest : "", AuditChain().digest(line)};
    if (is_copy(arrival)) return void(++report.duplicates);
    if (at && at->seq > verifier->records() + 1 && !verifier->failed() && held.size() < kRecentRecords) {
      held.emplace(at->seq, std::move(arrival));
      return;
    }
    verify(arrival, position_name);
    release_held(false, position_name);
  }

  // A byte-identical copy of a record already verified, or held.
  bool is_copy(const Arrival& arrival) const {
    if (!arrival.seq || verifier->failed()) return false;
    if (arrival.seq <= verifier->records()) {
      for (const Recent& record : recent)
        if (record.seq == arrival.seq && record.line_hash == arrival.line_hash) return true;
      return false;
    }
    const auto [first, last] = held.equal_range(arrival.seq);
    for (auto it = first; it != last; ++it)
      if (it->second.line_hash == arrival.line_hash) return true;
    return false;
  }

  void release_held(bool all, const std::string& position_name) {
    while (!held.empty() && (all || held.begin()->first == verifier->records() + 1)) {
      const Arrival next = std::move(held.begin()->second);
      held.erase(held.begin());
      verify(next, position_name);
    }
  }

  void verify(const Arrival& arrival, const std::string& position_name) {
    const uint64_t before = verifier->records();
    verifier->add_line(arrival.line);
    // Where it broke, or (a record missing, told only at the end) where the gap shows.
    if (verifier->records() == before && report.failed_at.empty())
      report.failed_at =
          fmt::format("{} {}{}", position_name, arrival.position,
                      arrival.seq ? fmt::format(", a record that says seq {}", arrival.seq) : std::string());
    if (verifier->records() == before || !arrival.seq) return;
    recent.push_back({arrival.seq, arrival.digest, arrival.line_hash});
    if (recent.size() > kRecentRecords) recent.pop_front();
    if (const auto head = pending_heads.find(arrival.seq); head != pending_heads.end()) {
      check_head(arrival.seq, head->second, arrival.digest, position_name);
      pending_heads.erase(head);
    }
  }

  // A head names a record: the same digest once it is seen; one the stream
  // never reaches means records that left the host are missing.
  void add_head(const std::string& line, uint64_t position, const std::string& position_name) {
    ++report.heads;
    const nlohmann::json head = nlohmann::json::parse(line, nullptr, false);
    const uint64_t seq = head.is_object() ? head.value("seq", uint64_t{0}) : 0;
    const std::string digest = head.is_object() ? head.value("head", std::string()) : std::string();
    if (seq == 0 || !is_hex_digest(digest))
      return note_head_failure(fmt::format("{} {}: a tracer-head that is not one", position_name, position));
    if (seq > verifier->records()) {
      pending_heads.emplace(seq, Head{digest, position});
      return;
    }
    for (const Recent& record : recent)
      if (record.seq == seq) return check_head(seq, {digest, position}, record.digest, position_name);
    ++report.heads_unchecked;
  }

  void check_head(uint64_t seq, const Head& head, const std::string& digest, const std::string& position_name) {
    if (!same_digest(head.digest, digest))
      note_head_failure(fmt::format("seq {}: the head published at {} {} does not match the record's digest", seq,
                                    position_name, head.position));
  }
  void note_head_failure(std::string failure) {
    if (report.head_failure.empty()) report.head_failure = std::move(failure);
  }

  ChainReport finish(const std::string& position_name) {
    if (!verifier) return std::move(report);
    release_held(true, position_name);
    report.report = verifier->finish();
    if (report.report.ok && !pending_heads.empty()) {
      const auto& [seq, head] = *pending_heads.begin();
      note_head_failure(fmt::format("seq {}: {} record(s) missing, published before the head at {} {} names seq {}",
                                    report.report.records + 1, seq - report.report.records, position_name,
                                    head.position, seq));
    }
    return std::move(report);
  }

  ChainReport report;
  std::optional<LogVerifier> verifier;
  std::deque<Recent> recent;
  std::multimap<uint64_t, Arrival> held;  // ahead of the next record, by seq
  std::map<uint64_t, Head> pending_heads;
};

StreamVerifier::StreamVerifier(ChainKeys keys, std::string position_name)
    : keys_(std::move(keys)), position_name_(std::move(position_name)) {}

StreamVerifier::~StreamVerifier() = default;

void StreamVerifier::add_message(std::string_view body, uint64_t position) {
  ++messages_;
  std::optional<PublishedMessage> message = split_published(body);
  if (!message) return void(++unchained_);
  auto found = chains_.find(message->chain);
  if (found == chains_.end()) {
    ChainId id = message->chain;
    Result<std::optional<SealingKey>> key = keys_(id);
    found = chains_.emplace(id, std::make_unique<Chain>(id, std::move(key))).first;
  }
  Chain& chain = *found->second;
  ++chain.report.messages;
  if (!chain.verifier) return;
  if (message->head)
    chain.add_head(message->line, position, position_name_);
  else
    chain.add_record(message->line, position, position_name_);
}

StreamReport StreamVerifier::finish() {
  StreamReport report;
  report.messages = messages_;
  report.unchained = unchained_;
  for (auto& [id, chain] : chains_) report.chains.push_back(chain->finish(position_name_));
  return report;
}

std::string ChainReport::text() const {
  std::string out;
  append_terminal_safe(out, fmt::format("host {}, chain {}: ", chain.host, short_log(chain.log)));
  if (!key_error.empty()) return out + "FAIL: " + terminal_safe(key_error) + "\n";
  if (!report.ok)
    return out + fmt::format("FAIL: seq {} ({}): {}\n", report.failed_seq,
                             failed_at.empty() ? "the end of the stream" : failed_at, report.reason);
  if (!head_failure.empty()) return out + "FAIL: " + head_failure + "\n";
  out += report.summary();
  if (duplicates) out += fmt::format("; {} identical copies ignored", duplicates);
  out += fmt::format("; {} heads ({} too far back to compare)\n", heads, heads_unchecked);
  out += "state: " + format_verify_state({report.records, report.head});
  const std::string story = report.full_report();
  return out + story.substr(story.find('\n') + 1);
}

bool StreamReport::ok() const {
  if (chains.empty()) return false;
  for (const ChainReport& chain : chains)
    if (!chain.ok()) return false;
  return true;
}

std::string StreamReport::text() const {
  std::string out;
  size_t failed = 0;
  for (const ChainReport& chain : chains) failed += !chain.ok();
  if (chains.empty())
    out = fmt::format("FAIL: no audit chain in {} message(s)\n", messages);
  else if (failed)
    out = fmt::format("FAIL: {} of {} chain(s) do not verify\n", failed, chains.size());
  else
    out = fmt::format("OK: {} chain(s), {} message(s)\n", chains.size(), messages);
  if (unchained) out += fmt::format("{} message(s) carry no chain: not verified\n", unchained);
  for (const ChainReport& chain : chains) out += chain.text();
  return out;
}

}  // namespace tracer
