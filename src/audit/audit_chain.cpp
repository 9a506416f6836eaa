#include "tracer/audit/audit_chain.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
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
constexpr std::string_view kEpochLabel = "tracer epoch";
constexpr std::string_view kKeyFileMagic = "tracer-sealing-key v1 epoch=";

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

std::optional<uint64_t> parse_number(std::string_view digits) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// HMAC-SHA-256 into out (32 bytes).
void hmac(const SecretBytes& key, std::string_view bytes, unsigned char* out, size_t out_size, size_t& length) {
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
            reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out, out_size, &length);
}

}  // namespace

SecretBytes::SecretBytes(std::string_view bytes) : bytes_(bytes.begin(), bytes.end()) {}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    erase();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

void SecretBytes::erase() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

void advance_sealing_key(SealingKey& key) {
  unsigned char next[EVP_MAX_MD_SIZE];
  size_t length = 0;
  hmac(key.key, kEpochLabel, next, sizeof(next), length);
  key.key = SecretBytes(std::string_view(reinterpret_cast<const char*>(next), length));
  OPENSSL_cleanse(next, sizeof(next));
  ++key.epoch;
}

Result<SealingKey> parse_key_file(std::string_view content) {
  SealingKey parsed;
  if (!content.starts_with(kKeyFileMagic)) {
    if (content.empty()) return runtime_error("is empty");
    parsed.key = SecretBytes(content);
    return parsed;
  }
  content.remove_prefix(kKeyFileMagic.size());
  const size_t space = content.find(" key=");
  const std::optional<uint64_t> epoch = parse_number(content.substr(0, space));
  if (space == std::string_view::npos || !epoch || *epoch > kMaxKeyEpoch || !content.ends_with('\n'))
    return runtime_error("is not a tracer sealing key (\"tracer-sealing-key v1 epoch=E key=<hex>\")");
  const std::string_view hex = content.substr(space + 5, content.size() - space - 6);
  if (hex.empty() || hex.size() % 2 || hex.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return runtime_error("is not a tracer sealing key (its key is not lowercase hex)");
  std::vector<unsigned char> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, bytes[i], 16);
  parsed.key = SecretBytes(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  parsed.epoch = *epoch;
  return parsed;
}

std::string format_key_file(const SealingKey& key) {
  return std::string(kKeyFileMagic) + std::to_string(key.epoch) + " key=" + to_hex(key.key.data(), key.key.size()) +
         "\n";
}

bool same_digest(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string AuditChain::digest(std::string_view bytes) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t length = 0;
  if (!keyed_) {
    unsigned int digest_length = 0;
    EVP_Digest(bytes.data(), bytes.size(), out, &digest_length, EVP_sha256(), nullptr);
    length = digest_length;
  } else {
    hmac(key_.key, bytes, out, sizeof(out), length);
  }
  return to_hex(out, length);
}

void AuditChain::seal(std::string_view event_json, std::string& out) {
  if (event_json.ends_with('\n')) event_json.remove_suffix(1);
  if (event_json.ends_with('}')) event_json.remove_suffix(1);
  const size_t start = out.size();
  out += event_json;
  if (keyed_) fmt::format_to(std::back_inserter(out), R"(,"key_epoch":{})", key_.epoch);
  fmt::format_to(std::back_inserter(out), R"(,"seq":{},"prev":"{}"}})", seq_ + 1, head_);
  std::string hash = digest(std::string_view(out).substr(start));
  out.pop_back();  // the closing brace: the digest field goes before it
  out += keyed_ ? kHmacField : kHashField;
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

// The tail every sealed record ends with: [,"key_epoch":E],"seq":N,"prev":"<64 hex>"}
// — and the whole record must be JSON. A quote inside a JSON string is
// escaped, so `,"seq":` found from the end is the record's own field.
std::optional<RecordPosition> parse_record_position(std::string_view canonical) {
  constexpr std::string_view kPrev = R"(,"prev":")";
  constexpr std::string_view kSeq = R"(,"seq":)";
  constexpr std::string_view kEpoch = R"(,"key_epoch":)";
  const size_t prev_tail = kPrev.size() + kHexDigest + 2;
  if (canonical.size() < prev_tail || !canonical.ends_with("\"}")) return std::nullopt;
  const size_t prev_at = canonical.size() - prev_tail;
  if (canonical.substr(prev_at, kPrev.size()) != kPrev) return std::nullopt;
  const std::string_view prev = canonical.substr(prev_at + kPrev.size(), kHexDigest);
  const size_t seq_at = canonical.rfind(kSeq, prev_at);
  if (seq_at == std::string_view::npos || !is_hex_digest(prev)) return std::nullopt;
  const std::optional<uint64_t> seq =
      parse_number(canonical.substr(seq_at + kSeq.size(), prev_at - seq_at - kSeq.size()));
  if (!seq || !nlohmann::json::accept(canonical)) return std::nullopt;
  RecordPosition position{*seq, std::string(prev), std::nullopt};
  if (const size_t epoch_at = canonical.rfind(kEpoch, seq_at); epoch_at != std::string_view::npos)
    position.key_epoch = parse_number(canonical.substr(epoch_at + kEpoch.size(), seq_at - epoch_at - kEpoch.size()));
  return position;
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
