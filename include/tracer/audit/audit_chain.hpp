#pragma once
// The hash chain of the audit log, in memory: sealing a record and verifying
// a whole log. No file I/O here (see audit_log.cpp).
//
// A record is the event's JSON object (as --output json prints it) with "seq" and "prev" added:
//   canonical = {...event...,"seq":N,"prev":"<hex of the previous hash>"}
// and its digest appended as the last field:
//   line      = {...event...,"seq":N,"prev":"...","hash":"<hex>"}\n
// hash = SHA-256(canonical), or with a key HMAC-SHA-256(key, canonical), then
// named "hmac". The digest covers the exact bytes, so any change to a record,
// its seq or its link to the previous one shows.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/result.hpp"

namespace tracer {

inline const std::string kGenesisHash(64, '0');  // "prev" of record 1

class AuditChain {
 public:
  // key: HMAC key bytes; empty for plain SHA-256.
  explicit AuditChain(std::string key = {}) : key_(std::move(key)) {}

  // Continues after a record (seq, hash); a new log starts at (0, genesis).
  void continue_after(uint64_t seq, std::string hash) {
    seq_ = seq;
    head_ = std::move(hash);
  }

  // event_json: one event as a JSON object, "{...}" (a trailing newline is ignored).
  // Appends the sealed line, newline included, to out.
  void seal(std::string_view event_json, std::string& out);

  bool keyed() const { return !key_.empty(); }
  uint64_t seq() const { return seq_; }  // the last sealed record's
  // Hex digest of bytes under this chain's algorithm.
  std::string digest(std::string_view bytes) const;

 private:
  std::string key_;
  uint64_t seq_ = 0;
  std::string head_ = kGenesisHash;
};

// One sealed line split into its parts; nullopt when the line is not shaped
// like one (bad JSON for the verifier).
struct SealedLine {
  std::string canonical;  // the bytes the digest covers
  std::string digest;     // hex, as stated in the line
  bool keyed;             // "hmac" rather than "hash"
};
std::optional<SealedLine> split_sealed_line(std::string_view line);

struct VerifyState {  // what --save-state writes and --from-state reads
  uint64_t seq = 0;
  std::string head;
};

struct VerifyReport {
  bool ok = false;
  uint64_t records = 0;         // verified before the first problem
  std::string head;             // hash of the last good record
  uint64_t failed_seq = 0;      // the seq expected where the chain breaks
  uint64_t failed_line = 0;     // 1-based line number
  std::string reason;           // modified, deleted, reordered, inserted, truncated tail, bad JSON, ...
  std::string summary() const;  // "OK: N records, head H" or "FAIL: ..."
};

// Verifies a whole log (the file's content). key: empty unless HMAC.
VerifyReport verify_log(std::string_view content, const std::string& key, const std::optional<VerifyState>& from);

Result<VerifyState> parse_verify_state(std::string_view text);
std::string format_verify_state(const VerifyState& state);

}  // namespace tracer
