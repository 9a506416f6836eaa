#include "tracer/capture/file_digest.hpp"

#include <openssl/evp.h>

#include <functional>
#include <new>

namespace tracer {

struct Sha256::State {
  EVP_MD_CTX* context;
};

Sha256::Sha256() : state_(new State{EVP_MD_CTX_new()}) {
  if (!state_->context || EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(state_->context);
  delete state_;
}

void Sha256::update(std::span<const std::byte> bytes) { EVP_DigestUpdate(state_->context, bytes.data(), bytes.size()); }

Sha256Digest Sha256::finish() {
  Sha256Digest digest{};
  unsigned length = 0;
  EVP_DigestFinal_ex(state_->context, digest.data(), &length);
  return digest;
}

std::string sha256_hex(const Sha256Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (const uint8_t byte : digest) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xf];
  }
  return out;
}

FileKey file_key_of(const struct stat& status) {
  constexpr int64_t kNs = 1'000'000'000;
  return FileKey{static_cast<uint64_t>(status.st_dev), static_cast<uint64_t>(status.st_ino),
                 static_cast<uint64_t>(status.st_size), status.st_mtim.tv_sec * kNs + status.st_mtim.tv_nsec,
                 status.st_ctim.tv_sec * kNs + status.st_ctim.tv_nsec};
}

size_t FileKeyHash::operator()(const FileKey& key) const {
  size_t seed = 0;
  for (const uint64_t part :
       {key.dev, key.inode, key.size, static_cast<uint64_t>(key.mtime_ns), static_cast<uint64_t>(key.ctime_ns)})
    seed ^= std::hash<uint64_t>{}(part) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
}

const Sha256Digest* DigestCache::find(const FileKey& key) const {
  const auto found = digests_.find(key);
  return found == digests_.end() ? nullptr : &found->second;
}

void DigestCache::insert(const FileKey& key, const Sha256Digest& digest) {
  if (capacity_ == 0) return;
  if (const auto [it, inserted] = digests_.emplace(key, digest); !inserted) return;
  order_.push_back(key);
  if (order_.size() > capacity_) {
    digests_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace tracer
