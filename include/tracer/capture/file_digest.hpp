#pragma once
// What identifies the bytes of an executed file: its SHA-256, and the stat
// fields that say whether a file seen again is the file already hashed.

#include <sys/stat.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <unordered_map>

namespace tracer {

using Sha256Digest = std::array<uint8_t, 32>;

// 64 lowercase hex digits: the only name a capture file ever gets.
std::string sha256_hex(const Sha256Digest& digest);

// An incremental SHA-256 (libcrypto).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const std::byte> bytes);
  Sha256Digest finish();

 private:
  struct State;
  State* state_;
};

// A file's identity and version: a rewrite changes size, mtime or ctime, a
// replacement the inode.
struct FileKey {
  uint64_t dev = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileKey&) const = default;
};
FileKey file_key_of(const struct stat& status);

struct FileKeyHash {
  size_t operator()(const FileKey& key) const;
};

// Digests of files already hashed, at most `capacity`: the oldest goes first
// (a binary run again only after `capacity` others is hashed again).
class DigestCache {
 public:
  explicit DigestCache(size_t capacity) : capacity_(capacity) {}
  const Sha256Digest* find(const FileKey& key) const;
  void insert(const FileKey& key, const Sha256Digest& digest);
  size_t size() const { return digests_.size(); }

 private:
  size_t capacity_;
  std::unordered_map<FileKey, Sha256Digest, FileKeyHash> digests_;
  std::deque<FileKey> order_;  // insertion order, for eviction
};

}  // namespace tracer
