// Verifying a log line by line (LogVerifier) and telling its story: runs,
// key epochs, gaps and losses.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tracer/audit/audit_chain.hpp"
#include "tracer/core/escape.hpp"

namespace tracer {
namespace {

constexpr std::string_view kTimestampPrefix = R"({"timestamp":")";
constexpr std::string_view kOwnEventPrefix = R"(,"event":"tracer-)";

// Records start {"timestamp":"T","event":"NAME" (the JSON formatter's order,
// and the audit log's own records'). The timestamp, and NAME's tail when NAME
// is one of the tracer's own ("tracer-start": "start").
struct RecordHead {
  std::string_view timestamp;
  std::string_view own_event;
};
std::optional<RecordHead> record_head(std::string_view canonical) {
  if (!canonical.starts_with(kTimestampPrefix)) return std::nullopt;
  const size_t quote = canonical.find('"', kTimestampPrefix.size());
  if (quote == std::string_view::npos) return std::nullopt;
  RecordHead head{canonical.substr(kTimestampPrefix.size(), quote - kTimestampPrefix.size()), {}};
  const std::string_view rest = canonical.substr(quote + 1);
  if (rest.starts_with(kOwnEventPrefix)) {
    const std::string_view name = rest.substr(kOwnEventPrefix.size());
    head.own_event = name.substr(0, name.find('"'));
  }
  return head;
}

// Where the tracer's own records say it ran, stopped and lost records.
class StoryTeller {
 public:
  explicit StoryTeller(AuditStory& story) : story_(story) {}

  void observe(std::string_view canonical, uint64_t seq, std::optional<uint64_t> epoch) {
    if (epoch) {
      if (!story_.first_epoch) story_.first_epoch = epoch;
      story_.last_epoch = epoch;
    }
    const std::optional<RecordHead> head = record_head(canonical);
    if (!head) return;
    if (seq == 1 && head->own_event != "start") note("gap: the log does not begin with a tracer-start record");
    const std::string timestamp(head->timestamp);
    if (!head->own_event.empty()) observe_own(nlohmann::json::parse(canonical, nullptr, false), seq, timestamp);
    last_seq_ = seq;
    last_timestamp_ = timestamp;
  }

  void finish() {
    if (run_start_)
      note(
          fmt::format("gap: the run started at seq {} has no tracer-stop record: still running, or it ended "
                      "abruptly after seq {} ({})",
                      *run_start_, last_seq_, last_timestamp_));
  }

 private:
  void observe_own(const nlohmann::json& record, uint64_t seq, const std::string& timestamp) {
    const std::string event = record.value("event", "");
    if (event == "tracer-start") {
      ++story_.starts;
      if (run_start_)
        note(
            fmt::format("gap: the run started at seq {} ended without a tracer-stop record after seq {} ({}); "
                        "the next run starts at seq {} ({})",
                        *run_start_, last_seq_, last_timestamp_, seq, timestamp));
      else if (last_stop_seq_)
        note(fmt::format("gap: not running from {} (seq {}) to {} (seq {})", last_stop_timestamp_, *last_stop_seq_,
                         timestamp, seq));
      if (const uint64_t torn = record.value("torn_bytes_removed", uint64_t{0}))
        note(
            fmt::format("gap: {} bytes of a torn record (an interrupted write) were cut off before seq {}", torn, seq));
      run_start_ = seq;
    } else if (event == "tracer-stop") {
      ++story_.stops;
      if (!run_start_) note(fmt::format("gap: a tracer-stop record at seq {} without a start", seq));
      run_start_.reset();
      last_stop_seq_ = seq;
      last_stop_timestamp_ = timestamp;
    } else if (event == "tracer-loss") {
      ++story_.loss_records;
      const uint64_t count = record.value("count", uint64_t{0});
      // Not whole: records that went out with a part missing (flagged).
      const bool whole = record.value("whole", true);
      if (whole) story_.records_lost += count;
      // A write the disk cut short: the audit log's own record, cut off.
      const uint64_t torn = record.value("torn_bytes_removed", uint64_t{0});
      note(fmt::format("loss: {} record(s) {} ({}) between {} and {} (seq {}){}", count, whole ? "lost" : "incomplete",
                       record.value("cause", std::string("?")), record.value("from", std::string("?")),
                       record.value("to", std::string("?")), seq,
                       torn ? fmt::format(", {} bytes of a torn record cut off", torn) : std::string()));
    }
  }

  // Printed on a terminal: what a forged record says must not drive it.
  void note(std::string_view text) {
    if (story_.notes.size() >= AuditStory::kMaxNotes) {
      ++story_.notes_left_off;
      return;
    }
    std::string safe;
    append_terminal_safe(safe, text);
    story_.notes.push_back(std::move(safe));
  }

  AuditStory& story_;
  std::optional<uint64_t> run_start_;  // the open run's tracer-start seq
  std::optional<uint64_t> last_stop_seq_;
  std::string last_stop_timestamp_;
  uint64_t last_seq_ = 0;
  std::string last_timestamp_;
};

}  // namespace

struct LogVerifier::State {
  enum class Phase { verifying, searching, done };

  State(std::optional<SealingKey> key, std::optional<VerifyState> from_state)
      : chain(key ? AuditChain(std::move(*key)) : AuditChain()), from(std::move(from_state)), story(report.story) {
    report.head = kGenesisHash;
  }

  void fail(uint64_t index, std::string reason, uint64_t seq = 0) {
    report.ok = false;
    report.failed_seq = seq ? seq : report.records + 1;
    report.failed_line = index + 1;
    report.reason = std::move(reason);
    phase = Phase::done;
  }

  // A record's key epoch: at most one more than the previous record's, never
  // before the key's; the key is derived forward to it.
  // A new epoch begins with a tracer-epoch or tracer-start record, so that a
  // record of epoch E cannot be passed off as the first of epoch E+1.
  bool follow_epoch(uint64_t index, std::optional<uint64_t> epoch, std::string_view canonical) {
    if (!epoch) return fail(index, "no key_epoch (not sealed with a tracer key schedule)"), false;
    if (last_epoch && *epoch != *last_epoch && *epoch != *last_epoch + 1)
      return fail(index, fmt::format("key epoch jumps from {} to {}", *last_epoch, *epoch)), false;
    if (last_epoch && *epoch == *last_epoch + 1) {
      const std::optional<RecordHead> head = record_head(canonical);
      if (!head || (head->own_event != "epoch" && head->own_event != "start"))
        return fail(index, fmt::format("key epoch {} begins with a record that is not a tracer-epoch or tracer-start",
                                       *epoch)),
               false;
    }
    if (*epoch < chain.key().epoch)
      return fail(index, fmt::format("sealed in key epoch {}, before the key's epoch {}: verify needs the initial key",
                                     *epoch, chain.key().epoch)),
             false;
    if (*epoch > kMaxKeyEpoch) return fail(index, fmt::format("key epoch {} is out of range", *epoch)), false;
    while (chain.key().epoch < *epoch) chain.advance_epoch();
    last_epoch = epoch;
    return true;
  }

  void verify(uint64_t index, std::string_view line) {
    const std::optional<SealedLine> sealed = split_sealed_line(line);
    const std::optional<RecordPosition> position =
        sealed ? parse_record_position(sealed->canonical) : std::optional<RecordPosition>();
    if (!position) return fail(index, "bad JSON (not a sealed record)");
    if (sealed->keyed != chain.keyed())
      return fail(index, sealed->keyed ? "the log is HMAC-authenticated: give --audit-key"
                                       : "the log is not HMAC-authenticated: drop --audit-key");
    if (chain.keyed() && !follow_epoch(index, position->key_epoch, sealed->canonical)) return;
    if (!same_digest(chain.digest(sealed->canonical), sealed->digest))
      return fail(index, chain.keyed() ? "modified (HMAC mismatch, or a wrong key)" : "modified (hash mismatch)");
    const uint64_t seq = position->seq;
    if (seq > expected) {
      // Deleted, unless seq `expected` comes later (reordered): look on.
      phase = Phase::searching;
      found_seq = seq;
      found_index = index;
      return;
    }
    if (seq < expected) return fail(index, fmt::format("inserted (found seq {} again)", seq));
    if (position->prev != report.head) return fail(index, "modified (does not chain to the previous record)");
    report.head = sealed->digest;
    report.records = seq;
    ++expected;
    if (from && seq == from->seq) from_digest = sealed->digest;
    story.observe(sealed->canonical, seq, position->key_epoch);
  }

  void search(std::string_view line) {
    const std::optional<SealedLine> sealed = split_sealed_line(line);
    if (!sealed) return;
    const std::optional<RecordPosition> position = parse_record_position(sealed->canonical);
    if (position && position->seq == expected)
      fail(found_index, fmt::format("reordered (found seq {}, seq {} comes later)", found_seq, expected));
  }

  VerifyReport finish() {
    if (phase == Phase::searching)
      fail(found_index, fmt::format("deleted (found seq {}: {} record(s) missing)", found_seq, found_seq - expected));
    if (phase == Phase::done) return report;
    if (lines == 0) {
      fail(0, "empty (not an audit log)");
      return report;
    }
    if (from && report.records < from->seq)
      fail(lines,
           fmt::format("truncated tail (the saved state has {} records, the log {})", from->seq, report.records));
    else if (from && from->seq > 0 && !same_digest(from_digest, from->head))
      fail(from->seq - 1, fmt::format("rewritten (record {} does not match the saved head)", from->seq), from->seq);
    if (phase == Phase::done) return report;
    story.finish();
    report.ok = true;
    return report;
  }

  AuditChain chain;
  std::optional<VerifyState> from;
  VerifyReport report;
  StoryTeller story;
  Phase phase = Phase::verifying;
  uint64_t lines = 0;
  uint64_t expected = 1;
  std::optional<uint64_t> last_epoch;
  uint64_t found_seq = 0;    // while searching: the seq found instead of `expected`
  uint64_t found_index = 0;  // and its line
  std::string from_digest;   // the digest of record from->seq
};

LogVerifier::LogVerifier(std::optional<SealingKey> key, std::optional<VerifyState> from)
    : state_(std::make_unique<State>(std::move(key), std::move(from))) {}

LogVerifier::~LogVerifier() = default;

void LogVerifier::add_line(std::string_view line) {
  const uint64_t index = state_->lines++;
  if (state_->phase == State::Phase::verifying)
    state_->verify(index, line);
  else if (state_->phase == State::Phase::searching)
    state_->search(line);
}

void LogVerifier::add_torn_tail() {
  const uint64_t index = state_->lines++;
  if (state_->phase == State::Phase::verifying)
    state_->fail(index, "torn last line (no newline: an interrupted write)");
}

void LogVerifier::add_oversized_line() {
  const uint64_t index = state_->lines++;
  if (state_->phase == State::Phase::verifying) state_->fail(index, "bad JSON (a line too long to be a record)");
}

uint64_t LogVerifier::records() const { return state_->report.records; }

bool LogVerifier::failed() const { return state_->phase == State::Phase::done; }

VerifyReport LogVerifier::finish() { return state_->finish(); }

VerifyReport verify_log(std::string_view content, std::optional<SealingKey> key,
                        const std::optional<VerifyState>& from) {
  LogVerifier verifier(std::move(key), from);
  for (size_t start = 0; start < content.size();) {
    const size_t newline = content.find('\n', start);
    if (newline == std::string_view::npos) {
      verifier.add_torn_tail();
      break;
    }
    verifier.add_line(content.substr(start, newline - start));
    start = newline + 1;
  }
  return verifier.finish();
}

std::string VerifyReport::summary() const {
  if (ok) return fmt::format("OK: {} records, head {}", records, head.empty() ? kGenesisHash : head);
  return fmt::format("FAIL: seq {} (line {}): {}", failed_seq, failed_line, reason);
}

std::string VerifyReport::full_report() const {
  std::string out = summary() + "\n";
  if (!ok) return out;
  out += fmt::format("runs: {} started, {} stopped", story.starts, story.stops);
  if (story.first_epoch) out += fmt::format("; key epochs {} to {}", *story.first_epoch, *story.last_epoch);
  out += story.loss_records
             ? fmt::format("; {} record(s) lost ({} loss records)\n", story.records_lost, story.loss_records)
             : std::string("; no loss recorded\n");
  for (const std::string& note : story.notes) out += note + "\n";
  if (story.notes_left_off) out += fmt::format("... and {} more gaps and losses\n", story.notes_left_off);
  return out;
}

}  // namespace tracer
