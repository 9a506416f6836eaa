#include "tracer/audit/audit_chain.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <charconv>
#include <nlohmann/json.hpp>

namespace tracer {
namespace {

constexpr std::string_view kHashField = R"(,"hash":")";
constexpr std::string_view kHmacField = R"(,"hmac":")";
constexpr size_t kHexDigest = 64;
// ,"hash":" + 64 hex + "}
constexpr size_t kTailSize = kHashField.size() + kHexDigest + 2;

std::string to_hex(const unsigned char* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

bool is_hex_digest(std::string_view text) {
  return text.size() == kHexDigest && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

struct ParsedRecord {
  uint64_t seq = 0;
  std::string prev;
};

// seq and prev from the tail every sealed record ends with:
// ,"seq":N,"prev":"<64 hex>"} — and the whole record must be JSON.
std::optional<ParsedRecord> parse_record(std::string_view canonical) {
  constexpr std::string_view kPrev = R"(,"prev":")";
  constexpr std::string_view kSeq = R"(,"seq":)";
  const size_t prev_tail = kPrev.size() + kHexDigest + 2;
  if (canonical.size() < prev_tail || !canonical.ends_with("\"}")) return std::nullopt;
  const size_t prev_at = canonical.size() - prev_tail;
  if (canonical.substr(prev_at, kPrev.size()) != kPrev) return std::nullopt;
  const std::string_view prev = canonical.substr(prev_at + kPrev.size(), kHexDigest);
  const size_t seq_at = canonical.rfind(kSeq, prev_at);
  if (seq_at == std::string_view::npos || !is_hex_digest(prev)) return std::nullopt;
  const std::string_view digits = canonical.substr(seq_at + kSeq.size(), prev_at - seq_at - kSeq.size());
  ParsedRecord record;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), record.seq);
  if (error != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  if (!nlohmann::json::accept(canonical)) return std::nullopt;
  record.prev = std::string(prev);
  return record;
}

}  // namespace

std::string AuditChain::digest(std::string_view bytes) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t length = 0;
  if (key_.empty()) {
    unsigned int digest_length = 0;
    EVP_Digest(bytes.data(), bytes.size(), out, &digest_length, EVP_sha256(), nullptr);
    length = digest_length;
  } else {
    EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key_.data(), key_.size(),
              reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out, sizeof(out), &length);
  }
  return to_hex(out, length);
}

void AuditChain::seal(std::string_view event_json, std::string& out) {
  if (event_json.ends_with('\n')) event_json.remove_suffix(1);
  if (event_json.ends_with('}')) event_json.remove_suffix(1);
  const size_t start = out.size();
  out += event_json;
  fmt::format_to(std::back_inserter(out), R"(,"seq":{},"prev":"{}"}})", seq_ + 1, head_);
  std::string hash = digest(std::string_view(out).substr(start));
  out.pop_back();  // the closing brace: the digest field goes before it
  out += key_.empty() ? kHashField : kHmacField;
  out += hash;
  out += "\"}\n";
  seq_ += 1;
  head_ = std::move(hash);
}

std::optional<SealedLine> split_sealed_line(std::string_view line) {
  if (line.size() < kTailSize + 2 || !line.ends_with("\"}")) return std::nullopt;
  const std::string_view field = line.substr(line.size() - kTailSize, kHashField.size());
  if (field != kHashField && field != kHmacField) return std::nullopt;
  const std::string_view digest = line.substr(line.size() - kHexDigest - 2, kHexDigest);
  if (!is_hex_digest(digest)) return std::nullopt;
  SealedLine sealed;
  sealed.canonical = std::string(line.substr(0, line.size() - kTailSize)) + "}";
  sealed.digest = std::string(digest);
  sealed.keyed = field == kHmacField;
  return sealed;
}

std::string VerifyReport::summary() const {
  if (ok) return fmt::format("OK: {} records, head {}", records, head.empty() ? kGenesisHash : head);
  return fmt::format("FAIL: seq {} (line {}): {}", failed_seq, failed_line, reason);
}

VerifyReport verify_log(std::string_view content, const std::string& key, const std::optional<VerifyState>& from) {
  const AuditChain chain(key);
  VerifyReport report;
  report.head = kGenesisHash;

  // Lines, and the seq each one claims (0 when it has none), for look-ahead.
  std::vector<std::string_view> lines;
  bool torn = false;
  for (size_t start = 0; start < content.size();) {
    const size_t newline = content.find('\n', start);
    if (newline == std::string_view::npos) {
      lines.push_back(content.substr(start));
      torn = true;
      break;
    }
    lines.push_back(content.substr(start, newline - start));
    start = newline + 1;
  }
  // Parsed on demand: verification stops at the first problem.
  std::vector<std::optional<SealedLine>> sealed(lines.size());
  std::vector<std::optional<ParsedRecord>> parsed(lines.size());
  std::vector<bool> examined(lines.size(), false);
  const auto examine = [&](size_t i) {
    if (examined[i]) return;
    examined[i] = true;
    sealed[i] = split_sealed_line(lines[i]);
    if (sealed[i]) parsed[i] = parse_record(sealed[i]->canonical);
  };

  const auto fail = [&](size_t index, std::string reason, uint64_t seq = 0) {
    report.ok = false;
    report.failed_seq = seq ? seq : report.records + 1;
    report.failed_line = index + 1;
    report.reason = std::move(reason);
    return report;
  };

  uint64_t expected = 1;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (torn && i + 1 == lines.size()) return fail(i, "torn last line (no newline: an interrupted write)");
    examine(i);
    if (!sealed[i] || !parsed[i]) return fail(i, "bad JSON (not a sealed record)");
    if (sealed[i]->keyed != !key.empty())
      return fail(i, sealed[i]->keyed ? "the log is HMAC-authenticated: give --audit-key"
                                      : "the log is not HMAC-authenticated: drop --audit-key");
    if (chain.digest(sealed[i]->canonical) != sealed[i]->digest)
      return fail(i, key.empty() ? "modified (hash mismatch)" : "modified (HMAC mismatch, or a wrong key)");
    const uint64_t seq = parsed[i]->seq;
    if (seq > expected) {
      for (size_t later = i + 1; later < lines.size(); ++later) {
        examine(later);
        if (parsed[later] && parsed[later]->seq == expected)
          return fail(i, fmt::format("reordered (found seq {}, seq {} comes later)", seq, expected));
      }
      return fail(i, fmt::format("deleted (found seq {}: {} record(s) missing)", seq, seq - expected));
    }
    if (seq < expected) return fail(i, fmt::format("inserted (found seq {} again)", seq));
    if (parsed[i]->prev != report.head) return fail(i, "modified (does not chain to the previous record)");
    report.head = sealed[i]->digest;
    report.records = seq;
    ++expected;
  }

  if (from) {
    if (report.records < from->seq)
      return fail(lines.size(), fmt::format("truncated tail (the saved state has {} records, the log {})", from->seq,
                                            report.records));
    const size_t index = from->seq - 1;
    if (from->seq > 0 && (examine(index), sealed[index]->digest != from->head))
      return fail(index, fmt::format("rewritten (record {} does not match the saved head)", from->seq), from->seq);
  }
  report.ok = true;
  return report;
}

Result<VerifyState> parse_verify_state(std::string_view text) {
  nlohmann::json document = nlohmann::json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object() || !document.contains("seq") ||
      !document["seq"].is_number_unsigned() || !document.contains("head") || !document["head"].is_string() ||
      !is_hex_digest(document["head"].get<std::string>()))
    return runtime_error("not a verify state: expected {\"seq\":N,\"head\":\"<64 hex>\"}");
  return VerifyState{document["seq"].get<uint64_t>(), document["head"].get<std::string>()};
}

std::string format_verify_state(const VerifyState& state) {
  return fmt::format(R"({{"seq":{},"head":"{}"}})", state.seq, state.head) + "\n";
}

}  // namespace tracer
