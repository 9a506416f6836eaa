#pragma once
// --nats-spool DIR: records kept on disk, in order, while no NATS server
// answers, and sent before any newer record once one does. A record leaves
// the spool only when JetStream acknowledged it, so a tracer killed with
// SIGKILL and started again on the same DIR sends what reached it (a record
// sent twice that way keeps its message id: JetStream drops the copy).
// DIR is the tracer's alone (0700, its owner, not a symbolic link); its
// files are numbered segments (0600), named by the spool, never by a record.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"
#include "tracer/output/nats_target.hpp"

namespace tracer {

class NatsSpool {
 public:
  // Creates DIR when missing; takes up the segments a previous run left.
  static Result<NatsSpool> open(const std::string& dir, uint64_t max_bytes);

  bool empty() const { return segments_.empty(); }
  uint64_t bytes() const { return bytes_; }
  uint64_t max_bytes() const { return max_bytes_; }
  const std::string& dir() const { return dir_; }

  struct Appended {
    uint64_t stored = 0;  // the first `stored` records, in order
    int error = 0;        // a failed write (errno); the rest did not fit otherwise
  };
  Appended append(std::span<const SpooledRecord> records);

  // The oldest segment's records (none when the spool is empty). The segment
  // being appended to is closed first: what comes next goes to a new one.
  Result<std::vector<SpooledRecord>> read_oldest();
  // Once every record read_oldest() gave is acknowledged.
  Status remove_oldest();

 private:
  struct Segment {
    uint64_t number = 0;
    uint64_t bytes = 0;
  };
  NatsSpool(std::string dir, UniqueFd dir_fd, uint64_t max_bytes)
      : dir_(std::move(dir)), dir_fd_(std::move(dir_fd)), max_bytes_(max_bytes) {}
  Status open_new_segment();

  std::string dir_;
  UniqueFd dir_fd_;
  uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  std::vector<Segment> segments_;  // oldest first; the last one is appended to while `writing_` is open
  UniqueFd writing_;
  uint64_t next_number_ = 0;
};

}  // namespace tracer
