#pragma once
// The hash chain of the audit log, in memory: sealing a record, the
// forward-secure key schedule, and verifying a log line by line. No file I/O
// here (see audit_log.cpp).
//
// A record is the event's JSON object (as --output json prints it) with "seq" and "prev" added:
//   canonical = {...event...,"seq":N,"prev":"<hex of the previous hash>"}
// and its digest appended as the last field:
//   line      = {...event...,"seq":N,"prev":"...","hash":"<hex>"}\n
// hash = SHA-256(canonical). With a key, the record also names its key epoch
//   canonical = {...event...,"key_epoch":E,"seq":N,"prev":"..."}
// and the digest is HMAC-SHA-256(K_E, canonical), named "hmac", where K_0 is
// the key file's bytes and K_{E+1} = HMAC-SHA-256(K_E, "tracer epoch"): one
// way, so whoever holds K_E cannot seal a record of an earlier epoch.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/result.hpp"

namespace tracer {

inline const std::string kGenesisHash(64, '0');  // "prev" of record 1

// Key bytes that are erased (OPENSSL_cleanse) when replaced or destroyed, and
// never copied.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string_view bytes);
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes() { erase(); }

  const unsigned char* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  void erase();

 private:
  std::vector<unsigned char> bytes_;
};

// The key of one epoch.
struct SealingKey {
  SecretBytes key;
  uint64_t epoch = 0;
};

// K_{E+1} from K_E; K_E is erased.
void advance_sealing_key(SealingKey& key);

// The key file: either the operator's initial key (any bytes: epoch 0) or a
// key the tracer evolved, "tracer-sealing-key v1 epoch=E key=<hex>\n".
Result<SealingKey> parse_key_file(std::string_view content);
std::string format_key_file(const SealingKey& key);

// Epochs beyond this are refused (deriving that far would be a denial of
// service); one per 15 minutes lasts 500 years.
constexpr uint64_t kMaxKeyEpoch = uint64_t{1} << 24;

class AuditChain {
 public:
  AuditChain() = default;  // plain SHA-256
  explicit AuditChain(SealingKey key) : key_(std::move(key)), keyed_(true) {}

  // Continues after a record (seq, hash); a new log starts at (0, genesis).
  void continue_after(uint64_t seq, std::string hash) {
    seq_ = seq;
    head_ = std::move(hash);
  }

  // event_json: one event as a JSON object, "{...}" (a trailing newline is ignored).
  // Appends the sealed line, newline included, to out.
  void seal(std::string_view event_json, std::string& out);
  // The next record is sealed in the next epoch; the current key is erased.
  void advance_epoch() { advance_sealing_key(key_); }

  bool keyed() const { return keyed_; }
  uint64_t seq() const { return seq_; }              // the last sealed record's
  const std::string& head() const { return head_; }  // and its digest
  const SealingKey& key() const { return key_; }
  // Hex digest of bytes under this chain's algorithm and current key.
  std::string digest(std::string_view bytes) const;

 private:
  SealingKey key_;
  bool keyed_ = false;
  uint64_t seq_ = 0;
  std::string head_ = kGenesisHash;
};

// Hex digests compared in constant time.
bool same_digest(std::string_view a, std::string_view b);

// One sealed line split into its parts; nullopt when the line is not shaped
// like one (bad JSON for the verifier).
struct SealedLine {
  std::string canonical;  // the bytes the digest covers
  std::string digest;     // hex, as stated in the line
  bool keyed;             // "hmac" rather than "hash"
};
std::optional<SealedLine> split_sealed_line(std::string_view line);

// seq, prev and key_epoch of a sealed record's canonical bytes; nullopt when
// they are missing or the record is not JSON.
struct RecordPosition {
  uint64_t seq = 0;
  std::string prev;
  std::optional<uint64_t> key_epoch;
};
std::optional<RecordPosition> parse_record_position(std::string_view canonical);

struct VerifyState {  // what --save-state writes and --from-state reads
  uint64_t seq = 0;
  std::string head;
};

// The tracer's own records in a log ("event":"tracer-start", "tracer-stop",
// "tracer-loss", "tracer-epoch": the hyphen is in no traced event's name),
// tallied, so that a chain that verifies still shows the gaps in coverage.
struct AuditStory {
  uint64_t starts = 0;
  uint64_t stops = 0;
  uint64_t loss_records = 0;
  uint64_t records_lost = 0;  // the sum of the loss records' counts
  std::optional<uint64_t> first_epoch, last_epoch;
  std::vector<std::string> notes;  // gaps and losses, the first kMaxNotes
  uint64_t notes_left_off = 0;
  static constexpr size_t kMaxNotes = 20;
};

struct VerifyReport {
  bool ok = false;
  uint64_t records = 0;      // verified before the first problem
  std::string head;          // hash of the last good record
  uint64_t failed_seq = 0;   // the seq expected where the chain breaks
  uint64_t failed_line = 0;  // 1-based line number
  std::string reason;        // modified, deleted, reordered, inserted, truncated tail, bad JSON, ...
  AuditStory story;
  std::string summary() const;  // "OK: N records, head H" or "FAIL: ..."
  // The summary, and when OK the runs, key epochs, gaps and losses: what
  // `tracer verify` prints.
  std::string full_report() const;
};

// Verifies a log fed one line at a time, in constant memory.
class LogVerifier {
 public:
  // key: nullopt for a plain SHA-256 log.
  LogVerifier(std::optional<SealingKey> key, std::optional<VerifyState> from);
  ~LogVerifier();
  LogVerifier(const LogVerifier&) = delete;
  LogVerifier& operator=(const LogVerifier&) = delete;

  // One complete line, without its newline.
  void add_line(std::string_view line);
  // The log ends with bytes and no newline: an interrupted write.
  void add_torn_tail();
  // A line too long to be a record, cut short by the reader.
  void add_oversized_line();
  // So far: records that chained (seq 1 to this), and whether it failed.
  uint64_t records() const;
  bool failed() const;
  VerifyReport finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Verifies a whole log held in memory (tests).
VerifyReport verify_log(std::string_view content, std::optional<SealingKey> key,
                        const std::optional<VerifyState>& from);

Result<VerifyState> parse_verify_state(std::string_view text);
std::string format_verify_state(const VerifyState& state);

}  // namespace tracer
