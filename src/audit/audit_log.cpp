#include "tracer/audit/audit_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "tracer/audit/audit_chain.hpp"
#include "tracer/audit/audit_stream.hpp"
#include "tracer/core/bounded_file.hpp"
#include "tracer/core/escape.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/output/format.hpp"
#include "tracer/output/nats_stream.hpp"
#include "tracer/output/output_writer.hpp"

namespace tracer {
namespace {

constexpr size_t kMaxKeyFileBytes = 4096;
constexpr size_t kMaxStateFileBytes = 4096;
// No record comes near this (argv is at most 32 KiB, escaped at most 6
// bytes a byte); a longer line is not a record.
constexpr size_t kMaxRecordBytes = size_t{4} << 20;
// The mode an audit log is created with, and the most it may have.
constexpr mode_t kLogMode = 0640;
// Written then, whether the batch ended or not.
constexpr size_t kPendingHighWater = 256 * 1024;
// How often a log that cannot be written is tried again.
constexpr auto kRetryInterval = std::chrono::milliseconds(100);

// The bytes of [begin, end) of fd.
Result<std::string> read_range(int fd, off_t begin, off_t end) {
  std::string bytes(static_cast<size_t>(end - begin), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = pread(fd, bytes.data() + done, bytes.size() - done, begin + static_cast<off_t>(done));
    if (got <= 0) return runtime_error("reading: " + (got < 0 ? errno_text(errno) : std::string("short read")));
    done += static_cast<size_t>(got);
  }
  return bytes;
}

// Offset just after the last '\n' before `end`, looking back at most `limit`
// bytes; nullopt when there is none that close.
Result<std::optional<off_t>> start_of_line_ending_at(int fd, off_t end, off_t limit) {
  constexpr off_t kChunk = 64 * 1024;
  off_t position = end;
  while (position > 0 && end - position < limit) {
    const off_t begin = position > kChunk ? position - kChunk : 0;
    Result<std::string> chunk = read_range(fd, begin, position);
    if (!chunk) return chunk.take_error();
    const size_t newline = chunk->rfind('\n');
    if (newline != std::string::npos) return std::optional<off_t>(begin + static_cast<off_t>(newline) + 1);
    position = begin;
  }
  if (position == 0) return std::optional<off_t>(0);
  return std::optional<off_t>();
}

std::string wall_clock_now() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  std::string out;
  Rfc3339Formatter().append(out, WallTime{now.tv_sec, static_cast<uint32_t>(now.tv_nsec)});
  return out;
}

// {"timestamp":"<now>","event":"tracer-NAME" + fields + }
std::string own_record(std::string_view name, const nlohmann::json& fields) {
  std::string record = R"({"timestamp":")" + wall_clock_now() + R"(","event":"tracer-)" + std::string(name) + "\"";
  for (const auto& [key, value] : fields.items())
    record +=
        "," + nlohmann::json(key).dump() + ":" + value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return record + "}";
}

// The key file: a regular file no one but its owner can read (as ssh wants
// of a private key), of at most 4 KiB.
Result<SealingKey> read_key_file(const std::string& path) {
  const std::string what = "audit key file " + path;
  Result<RegularFile> file = open_regular_file(path);
  if (!file) return runtime_error(what + ": " + file.error().message);
  if (const mode_t mode = file->info.st_mode & 07777; mode & 077)
    return runtime_error(fmt::format("{}: mode {:04o} lets group or others read it; chmod 600 it", what, mode));
  Result<std::string> content = read_bounded_file(*file, kMaxKeyFileBytes);
  if (!content) return runtime_error(what + ": " + content.error().message);
  Result<SealingKey> key = parse_key_file(*content);
  OPENSSL_cleanse(content->data(), content->size());
  if (!key) return runtime_error(what + ": " + key.error().message);
  return key;
}

// Overwrites the key file in place with the current epoch's key, so that the
// earlier key is gone from the disk as it is from memory. Its blocks are
// rewritten rather than a new file renamed over it: the old key must not
// survive in a freed block.
Status store_key_file(const std::string& path, const SealingKey& key) {
  std::string content = format_key_file(key);
  UniqueFd file(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  Status status = ok_status();
  if (!file || pwrite(file.get(), content.data(), content.size(), 0) != static_cast<ssize_t>(content.size()) ||
      ftruncate(file.get(), static_cast<off_t>(content.size())) != 0 || fdatasync(file.get()) != 0)
    status = errno_error("cannot update the audit key file " + path);
  OPENSSL_cleanse(content.data(), content.size());
  return status;
}

class AuditLogSink final : public Sink {
 public:
  AuditLogSink(UniqueFd file, const AuditLogOptions& options, AuditChain chain, uint64_t key_file_epoch,
               const BootToWallClock& clock, std::optional<NatsWriter> publisher)
      : file_(std::move(file)),
        nats_(std::move(publisher)),
        path_(options.path),
        key_file_(options.key_file.value_or("")),
        chain_(std::move(chain)),
        sync_interval_(options.sync_interval_ms),
        epoch_length_(std::chrono::seconds(options.epoch_seconds)),
        formatter_(clock, options.json),
        last_sync_(std::chrono::steady_clock::now()),
        epoch_started_(last_sync_),
        key_file_epoch_(key_file_epoch),
        losses_since_(wall_clock_now()) {}

  // The tracer-start record, on disk before anything else happens; it says
  // how many bytes of a torn last line were cut off before it. first_digest:
  // a continued log's record 1 (its chain's identity).
  Status start(const AuditLogOptions& options, uint64_t torn_bytes_removed, const std::string& first_digest) {
    char host[HOST_NAME_MAX + 1] = {};
    gethostname(host, sizeof(host) - 1);
    Result<std::string> boot_id = read_bounded_file("/proc/sys/kernel/random/boot_id", 64);
    std::string boot = boot_id ? *boot_id : "";
    if (boot.ends_with('\n')) boot.pop_back();
    nlohmann::json fields = {{"version", TRACER_VERSION},
                             {"host", host},
                             {"boot_id", boot},
                             {"pid", getpid()},
                             {"uid", geteuid()},
                             {"epoch_seconds", options.epoch_seconds},
                             {"continued_after", chain_.seq()},
                             {"torn_bytes_removed", torn_bytes_removed}};
    nlohmann::json run_options = nlohmann::json::parse(options.run_options_json, nullptr, false);
    fields["options"] = run_options.is_discarded() ? nlohmann::json() : std::move(run_options);
    struct stat info {};
    if (fstat(file_.get(), &info) != 0) return errno_error("audit log " + path_);
    size_ = info.st_size;
    on_disk_ = {chain_.seq(), chain_.head(), chain_.key().epoch};
    seal_own("start", fields);
    chain_suffix_ = chain_suffix({host, first_digest.empty() ? chain_.head() : first_digest});
    // Without its start record on disk there is no run to speak of: not starting.
    if (!write_and_sync()) return errno_error("writing the audit log " + path_, last_error_);
    started_ = true;
    store_key();
    return ok_status();
  }

  // A write that fails costs records, counted; it never ends the run, nor
  // stops the other outputs.
  Status write(const Event& event) override {
    if (failing_) {
      lose_record();
      return ok_status();
    }
    event_json_.clear();
    formatter_.append(event_json_, event);
    chain_.seal(event_json_, pending_);
    ++pending_records_;
    if (sync_interval_.count() == 0)
      write_and_sync();
    else if (pending_.size() >= kPendingHighWater)
      write_pending();  // a batch that does not end must not grow without bound
    return ok_status();
  }
  Status end_of_batch() override {
    write_batch();
    if (nats_) {
      publish_head(false);
      nats_->end_of_batch();
    }
    return ok_status();
  }
  Status flush() override {
    const auto deadline = std::chrono::steady_clock::now() + kOutputStopDeadline;
    if (!failing_ || recover(true)) write_and_sync();
    if (nats_) {
      publish_head(true);
      nats_->flush(deadline);
    }
    return ok_status();
  }
  bool holds_lines() const override { return nats_ && nats_->holds_lines(); }
  // The audit log is one chain: it is not reopened on SIGHUP.
  Status reopen() override { return ok_status(); }
  void add_metrics(MetricsSnapshot& snapshot) const override {
    OutputMetrics metrics = counters_;
    metrics.name = path_;
    metrics.format = "audit-log";
    snapshot.outputs.push_back(std::move(metrics));
    snapshot.audit_log_sequence = chain_.seq();
    if (nats_) nats_->add_metrics(snapshot);
  }

  // One tracer-loss record per cause that grew since the last call, with the
  // time range it grew in.
  void note_losses(const LossCounts& losses) override {
    // Sealed once the log can be written again: the counts keep growing till then.
    if (failing_) return;
    const std::string now = wall_clock_now();
    for (const LossCause& cause : loss_causes())
      if (const uint64_t grown = losses.kernel[cause.cause] - sealed_losses_.kernel[cause.cause])
        seal_own("loss", {{"cause", std::string(cause.label)},
                          {"whole", cause.whole_record},
                          {"count", grown},
                          {"from", losses_since_},
                          {"to", now}});
    if (const uint64_t grown = losses.undecodable - sealed_losses_.undecodable)
      seal_own("loss",
               {{"cause", "undecodable"}, {"whole", true}, {"count", grown}, {"from", losses_since_}, {"to", now}});
    sealed_losses_ = losses;
    losses_since_ = now;
  }
  void note_stop(uint64_t events_emitted, const LossCounts& losses) override {
    if (failing_) recover(true);
    note_losses(losses);
    nlohmann::json lost = nlohmann::json::object();
    for (const LossCause& cause : loss_causes()) lost[std::string(cause.label)] = losses.kernel[cause.cause];
    lost["undecodable"] = losses.undecodable;
    seal_own("stop", {{"events_emitted", events_emitted},
                      {"records_lost", losses.records_lost()},
                      {"records_partial", losses.records_partial()},
                      {"lost", lost}});
  }

 private:
  void write_batch() {
    if (failing_ && !recover(false)) return;
    if (!write_pending()) return;
    if (chain_.keyed() && std::chrono::steady_clock::now() - epoch_started_ >= epoch_length_) {
      next_epoch();
    } else if (unsynced_ && std::chrono::steady_clock::now() - last_sync_ >= sync_interval_) {
      sync();
    }
  }
  // What reached the disk, and went through its fdatasync, is published: the
  // stream never holds a record the log does not.
  void publish_synced() {
    for (std::string_view lines = unpublished_; !lines.empty();) {
      const size_t newline = lines.find('\n');
      published_.clear();
      append_published_record(published_, lines.substr(0, newline), chain_suffix_);
      nats_->append_record(published_);
      nats_->write_if_full();
      lines.remove_prefix(newline == std::string_view::npos ? lines.size() : newline + 1);
    }
    unpublished_.clear();
    published_seq_ = on_disk_.seq;
    published_head_ = on_disk_.head;
  }
  // The head of what was published, after it, when it moved (at most every
  // kChainHeadInterval, unless at the stop).
  void publish_head(bool now) {
    const auto time = std::chrono::steady_clock::now();
    if (published_seq_ == head_seq_ || (!now && time - last_head_ < kChainHeadInterval)) return;
    last_head_ = time;
    head_seq_ = published_seq_;
    published_.clear();
    append_published_head(published_, wall_clock_now(), published_seq_, published_head_, chain_suffix_);
    nats_->append_record(published_);
  }
  void seal_own(std::string_view name, const nlohmann::json& fields) {
    if (failing_) return lose_record();
    chain_.seal(own_record(name, fields), pending_);
    ++pending_records_;
  }
  void lose_record() {
    ++counters_.records_lost;
    ++lost_while_failing_;
  }
  // The next key: the first record of its epoch reaches the disk before the
  // key file forgets the previous key, so that a crash between the two
  // leaves a key that can still be derived forward to the log's.
  void next_epoch() {
    chain_.advance_epoch();
    epoch_started_ = std::chrono::steady_clock::now();
    seal_own("epoch", {{"reason", "period"}});
    if (write_and_sync()) store_key();
  }
  // Said once when it fails: the run goes on with the key in memory.
  void store_key() {
    if (key_file_epoch_ == chain_.key().epoch || on_disk_.epoch != chain_.key().epoch) return;
    if (Status status = store_key_file(key_file_, chain_.key()); !status) {
      if (!key_file_warned_)
        std::fprintf(stderr,
                     "tracer: %s; it keeps the key of epoch %llu: records sealed since are not protected "
                     "from whoever can read it\n",
                     terminal_safe(status.error().message).c_str(), static_cast<unsigned long long>(key_file_epoch_));
      key_file_warned_ = true;
      return;
    }
    key_file_epoch_ = chain_.key().epoch;
  }
  // Whether what was pending reached the file (its sync may still fail).
  bool write_and_sync(bool counted = true) {
    if (!write_pending(counted)) return false;
    sync();
    return true;
  }
  // Writes pending_ whole: true when all of it reached the file. Otherwise
  // see lose_unwritten.
  bool write_pending(bool counted = true) {
    size_t done = 0;
    while (done < pending_.size()) {
      const ssize_t written = ::write(file_.get(), pending_.data() + done, pending_.size() - done);
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) {
        last_error_ = errno;
        lose_unwritten(done, counted);
        return false;
      }
      done += static_cast<size_t>(written);
    }
    counters_.bytes_written += done;
    size_ += static_cast<off_t>(done);
    unsynced_ |= done > 0;
    counters_.records_written += std::exchange(pending_records_, 0);
    if (nats_) unpublished_ += pending_;
    pending_.clear();
    on_disk_ = {chain_.seq(), chain_.head(), chain_.key().epoch};
    return true;
  }
  // A write failed after `done` bytes of pending_: the whole records among
  // them stay, the rest is lost (counted, unless it is the recovery's own
  // records, sealed anew at the next try). The chain goes back to the last
  // record on disk, so the next record written chains onto it, and a torn
  // record is cut off: the log never holds a line that is not a record.
  void lose_unwritten(size_t done, bool counted) {
    ++counters_.write_errors;
    counters_.bytes_written += done;
    const std::string_view written = std::string_view(pending_).substr(0, done);
    const size_t last_newline = written.rfind('\n');
    const size_t whole = last_newline == std::string_view::npos ? 0 : last_newline + 1;
    const auto records_written = static_cast<uint64_t>(std::count(written.begin(), written.begin() + whole, '\n'));
    if (whole) note_on_disk(written.substr(0, whole - 1));
    if (nats_) unpublished_ += written.substr(0, whole);
    size_ += static_cast<off_t>(whole);
    unsynced_ |= whole > 0;
    counters_.records_written += records_written;
    if (counted) {
      const uint64_t lost = pending_records_ - records_written;
      counters_.records_lost += lost;
      lost_while_failing_ += lost;
    }
    pending_records_ = 0;
    pending_.clear();
    chain_.continue_after(on_disk_.seq, on_disk_.head);
    if (const size_t fragment = done - whole) {
      torn_bytes_ += fragment;
      cut_to_ = size_;
      size_ += static_cast<off_t>(fragment);
      cut_fragment();
    }
    if (failing_ || !started_) return;
    failing_ = true;
    failing_since_ = wall_clock_now();
    next_retry_ = std::chrono::steady_clock::now() + kRetryInterval;
    std::fprintf(stderr,
                 "tracer: writing the audit log %s: %s; its records are counted as lost until a write succeeds, "
                 "then sealed as a tracer-loss record\n",
                 terminal_safe(path_).c_str(), errno_text(last_error_).c_str());
  }
  // The last whole line a failed write left (ours, so a sealed record).
  void note_on_disk(std::string_view written) {
    const size_t line_start = written.rfind('\n');
    const std::optional<SealedLine> sealed =
        split_sealed_line(line_start == std::string_view::npos ? written : written.substr(line_start + 1));
    const std::optional<RecordPosition> position =
        sealed ? parse_record_position(sealed->canonical) : std::optional<RecordPosition>();
    if (position) on_disk_ = {position->seq, sealed->digest, position->key_epoch.value_or(0)};
  }
  bool cut_fragment() {
    if (!cut_to_) return true;
    if (ftruncate(file_.get(), *cut_to_) != 0) return false;
    size_ = *std::exchange(cut_to_, std::nullopt);
    return true;
  }
  // Tries to write again (at most every kRetryInterval unless forced): a
  // tracer-loss record, after a tracer-epoch record when the key went on to
  // an epoch with no record on disk, says what the gap lost. False while the
  // log still cannot be written.
  bool recover(bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now < next_retry_) return false;
    next_retry_ = now + kRetryInterval;
    if (!cut_fragment()) return false;
    const bool new_epoch = chain_.keyed() && on_disk_.epoch != chain_.key().epoch;
    if (new_epoch) chain_.seal(own_record("epoch", {{"reason", "period"}}), pending_);
    chain_.seal(own_record("loss", {{"cause", "output_write_error"},
                                    {"whole", true},
                                    {"count", lost_while_failing_},
                                    {"from", failing_since_},
                                    {"to", wall_clock_now()},
                                    {"torn_bytes_removed", torn_bytes_}}),
                pending_);
    pending_records_ = new_epoch ? 2 : 1;
    if (!write_and_sync(false)) return false;
    failing_ = false;
    lost_while_failing_ = 0;
    torn_bytes_ = 0;
    std::fprintf(stderr, "tracer: writing the audit log %s works again\n", terminal_safe(path_).c_str());
    store_key();
    return true;
  }
  void sync() {
    if (!unsynced_) return;
    unsynced_ = false;
    last_sync_ = std::chrono::steady_clock::now();
    const bool synced = fdatasync(file_.get()) == 0;
    if (nats_) publish_synced();
    if (synced) return;
    // What the page cache held may be lost: counted as a write error, said once.
    ++counters_.write_errors;
    if (!sync_warned_)
      std::fprintf(stderr, "tracer: syncing the audit log %s: %s\n", terminal_safe(path_).c_str(),
                   errno_text(errno).c_str());
    sync_warned_ = true;
  }

  UniqueFd file_;
  // --output nats: the records on disk not yet handed to it, and the chain
  // they are published with.
  std::optional<NatsWriter> nats_;
  std::string chain_suffix_;
  std::string unpublished_;
  std::string published_;  // reused
  uint64_t published_seq_ = 0;
  std::string published_head_;
  uint64_t head_seq_ = 0;
  std::chrono::steady_clock::time_point last_head_{};
  std::string path_;
  std::string key_file_;
  AuditChain chain_;
  std::chrono::milliseconds sync_interval_;
  std::chrono::steady_clock::duration epoch_length_;
  JsonFormatter formatter_;
  std::string event_json_;
  std::string pending_;
  uint64_t pending_records_ = 0;  // sealed into pending_
  OutputMetrics counters_;        // for --metrics
  bool unsynced_ = false;
  std::chrono::steady_clock::time_point last_sync_;
  std::chrono::steady_clock::time_point epoch_started_;
  uint64_t key_file_epoch_;  // the epoch of the key on disk
  bool key_file_warned_ = false;
  LossCounts sealed_losses_;  // what the loss records so far add up to
  std::string losses_since_;  // when they were last looked at
  // The last record on disk: the chain goes back to it when a write fails.
  struct OnDisk {
    uint64_t seq = 0;
    std::string head;
    uint64_t epoch = 0;
  };
  OnDisk on_disk_;
  off_t size_ = 0;  // of the file, a torn record included
  int last_error_ = 0;
  bool sync_warned_ = false;
  // From a failed write until one succeeds again:
  bool started_ = false;  // its start record is on disk
  bool failing_ = false;
  uint64_t lost_while_failing_ = 0;
  uint64_t torn_bytes_ = 0;      // cut off
  std::optional<off_t> cut_to_;  // a torn record still to cut off: the size to cut to
  std::string failing_since_;
  std::chrono::steady_clock::time_point next_retry_;
};

// Opens (or creates) the log without following a symlink, and refuses a file
// that is not a regular file owned by us with at most kLogMode. Locked, so
// that a second tracer cannot fork the chain. Nothing in the file changes.
Result<UniqueFd> open_log_file(const std::string& path) {
  const std::string what = "audit log " + path;
  UniqueFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, kLogMode));
  if (!file && errno == ELOOP) return runtime_error(what + " is a symbolic link; not following it");
  if (!file) return errno_error("cannot open the " + what);
  struct stat info {};
  if (fstat(file.get(), &info) != 0) return errno_error("cannot open the " + what);
  if (!S_ISREG(info.st_mode)) return runtime_error(what + " is not a regular file");
  if (info.st_uid != geteuid())
    return runtime_error(
        fmt::format("{} belongs to uid {}, not to the tracer's (uid {})", what, info.st_uid, geteuid()));
  if (const mode_t mode = info.st_mode & 07777; mode & ~kLogMode)
    return runtime_error(
        fmt::format("{} has mode {:04o}; an audit log has mode {:04o} or less (chmod it)", what, mode, kLogMode));
  if (fcntl(file.get(), F_SETFL, O_RDWR | O_APPEND) != 0) return errno_error("cannot open the " + what);
  if (flock(file.get(), LOCK_EX | LOCK_NB) != 0)
    return errno == EWOULDBLOCK ? runtime_error(what + " is in use by another tracer (locked)")
                                : errno_error("cannot lock the " + what);
  return file;
}

// Where an existing log ends: the last record, checked under the key (derived
// forward to the record's epoch), and the length of a torn last line after
// it. Reads only.
struct LogEnd {
  uint64_t seq = 0;
  std::string head;
  off_t complete_size = 0;  // up to the last newline
};
Result<std::optional<LogEnd>> examine_log_end(int fd, const std::string& path, AuditChain& chain) {
  const std::string what = "audit log " + path;
  const std::string not_log = what + " is not an audit log";
  struct stat info {};
  if (fstat(fd, &info) != 0) return errno_error(what);
  if (info.st_size == 0) return std::optional<LogEnd>();
  Result<std::optional<off_t>> end = start_of_line_ending_at(fd, info.st_size, kMaxRecordBytes);
  if (!end) return runtime_error(what + ": " + end.error().message);
  if (!*end || **end == 0) return runtime_error(not_log + " (it has no complete record); not touching it");
  Result<std::string> torn = read_range(fd, **end, info.st_size);
  if (!torn) return runtime_error(what + ": " + torn.error().message);
  if (!torn->empty() && !torn->starts_with("{\""))
    return runtime_error(not_log + " (it ends with bytes that are not a record); not touching it");
  Result<std::optional<off_t>> start = start_of_line_ending_at(fd, **end - 1, kMaxRecordBytes);
  if (!start) return runtime_error(what + ": " + start.error().message);
  if (!*start) return runtime_error(not_log + " (its last line is too long to be a record); not touching it");
  Result<std::string> line = read_range(fd, **start, **end - 1);
  if (!line) return runtime_error(what + ": " + line.error().message);

  const std::optional<SealedLine> sealed = split_sealed_line(*line);
  const std::optional<RecordPosition> position =
      sealed ? parse_record_position(sealed->canonical) : std::optional<RecordPosition>();
  if (!position) return runtime_error(what + ": its last line is not a sealed record; not continuing it");
  if (sealed->keyed != chain.keyed())
    return runtime_error(what + (sealed->keyed ? ": is HMAC-authenticated; give --audit-key"
                                               : ": is not HMAC-authenticated; drop --audit-key"));
  if (chain.keyed()) {
    const uint64_t key_epoch = chain.key().epoch;
    if (!position->key_epoch || *position->key_epoch < key_epoch || *position->key_epoch > kMaxKeyEpoch)
      return runtime_error(
          fmt::format("{}: its last record is not of the key file's epoch ({}) or later: not the key "
                      "of this log; not continuing it",
                      what, key_epoch));
    while (chain.key().epoch < *position->key_epoch) chain.advance_epoch();
  }
  if (!same_digest(chain.digest(sealed->canonical), sealed->digest))
    return runtime_error(what + ": its last record does not verify (modified, or a wrong key); not continuing it");
  return std::optional<LogEnd>(LogEnd{position->seq, sealed->digest, **end});
}

// The digest of a log's first record: its chain's identity (empty for an
// empty log).
Result<std::string> first_record_digest(int fd, const std::string& path) {
  struct stat info {};
  if (fstat(fd, &info) != 0) return errno_error("audit log " + path);
  std::string line;
  for (off_t at = 0; at < info.st_size && line.find('\n') == std::string::npos;) {
    const off_t end = std::min<off_t>(info.st_size, at + 64 * 1024);
    if (end > static_cast<off_t>(kMaxRecordBytes)) break;
    Result<std::string> chunk = read_range(fd, at, end);
    if (!chunk) return runtime_error("audit log " + path + ": " + chunk.error().message);
    line += *chunk;
    at = end;
  }
  if (line.empty()) return std::string();
  const std::optional<SealedLine> sealed = split_sealed_line(std::string_view(line).substr(0, line.find('\n')));
  if (!sealed) return runtime_error("audit log " + path + ": its first line is not a sealed record; not publishing it");
  return sealed->digest;
}

// Continues an existing log after its last record: only once that record
// verifies is a torn last line (an interrupted write) cut off. How many bytes
// were, for the tracer-start record.
Result<uint64_t> continue_existing_log(int fd, const std::string& path, AuditChain& chain) {
  Result<std::optional<LogEnd>> end = examine_log_end(fd, path, chain);
  if (!end) return end.take_error();
  if (!*end) return uint64_t{0};
  struct stat info {};
  if (fstat(fd, &info) != 0) return errno_error("audit log " + path);
  const auto removed = static_cast<uint64_t>(info.st_size - (*end)->complete_size);
  if (removed) {
    if (ftruncate(fd, (*end)->complete_size) != 0) return errno_error("cannot repair the audit log " + path);
    std::fprintf(stderr, "tracer: audit log %s: removed a torn last line (%lld bytes, an interrupted write)\n",
                 terminal_safe(path).c_str(), static_cast<long long>(info.st_size - (*end)->complete_size));
  }
  chain.continue_after((*end)->seq, (*end)->head);
  if (chain.keyed()) chain.advance_epoch();  // each run seals with a key of its own
  return removed;
}

// Feeds a log to the verifier a chunk at a time: memory does not grow with
// the log, only with its longest line (cut at kMaxRecordBytes).
template <typename Verifier>
Status stream_lines(int fd, Verifier& verifier) {
  constexpr size_t kChunk = 1 << 20;
  std::string buffer;
  std::vector<char> chunk(kChunk);
  bool skipping = false;  // inside a line too long to be a record
  while (true) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_error("reading");
    if (got == 0) break;
    std::string_view data(chunk.data(), static_cast<size_t>(got));
    while (!data.empty()) {
      const size_t newline = data.find('\n');
      const std::string_view piece = data.substr(0, newline);
      if (!skipping) buffer += piece;
      if (!skipping && buffer.size() > kMaxRecordBytes) {
        verifier.add_oversized_line();
        skipping = true;
        buffer.clear();
      }
      if (newline == std::string_view::npos) break;
      if (!skipping) verifier.add_line(buffer);
      skipping = false;
      buffer.clear();
      data.remove_prefix(newline + 1);
    }
  }
  if (!buffer.empty()) verifier.add_torn_tail();
  return ok_status();
}

// A dump of a stream's message bodies, one a line, numbered from 1.
class ExportLines {
 public:
  explicit ExportLines(StreamVerifier& verifier) : verifier_(verifier) {}
  void add_line(std::string_view line) { verifier_.add_message(line, ++lines_); }
  void add_torn_tail() { verifier_.add_message({}, ++lines_); }
  void add_oversized_line() { verifier_.add_message({}, ++lines_); }

 private:
  StreamVerifier& verifier_;
  uint64_t lines_ = 0;
};

// The key of each chain: --audit-key FILE for all, or --audit-key DIR with a
// key file per host, DIR/HOST.
ChainKeys chain_keys(const std::optional<std::string>& key_path) {
  return [key_path](const ChainId& chain) -> Result<std::optional<SealingKey>> {
    if (!key_path) return std::optional<SealingKey>();
    std::string path = *key_path;
    struct stat info {};
    if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
      if (chain.host.empty() || chain.host.find('/') != std::string::npos || chain.host.starts_with('.'))
        return runtime_error("no key file for host name '" + chain.host + "'");
      path += "/" + chain.host;
    }
    Result<SealingKey> key = read_key_file(path);
    if (!key) return key.take_error();
    return std::optional<SealingKey>(std::move(*key));
  };
}

// tracer verify nats://URL[/STREAM], or --nats-export FILE: every chain in
// the stream.
Result<bool> verify_stream(const VerifyOptions& options) {
  if (options.from_state || options.save_state)
    return usage_error("tracer verify: --from-state and --save-state are for a log, not a stream");
  const bool from_nats = !options.nats_export;
  StreamVerifier verifier(chain_keys(options.key_file), from_nats ? "stream seq" : "line");
  if (from_nats) {
    Result<NatsStreamSource> source =
        options.stream ? Result<NatsStreamSource>(*options.stream) : parse_nats_stream_source(options.path);
    if (!source) return source.take_error();
    if (Status status =
            read_nats_stream(*source, [&](std::string_view body, uint64_t seq) { verifier.add_message(body, seq); });
        !status)
      return status.take_error();
  } else {
    Result<RegularFile> dump = open_regular_file(options.path);
    if (!dump) return runtime_error(options.path + ": " + dump.error().message);
    ExportLines lines(verifier);
    if (Status status = stream_lines(dump->fd.get(), lines); !status)
      return runtime_error(options.path + ": " + status.error().message);
  }
  const StreamReport report = verifier.finish();
  std::fputs(report.text().c_str(), stdout);
  return report.ok();
}

}  // namespace

std::string audit_run_options(const Options& options) {
  nlohmann::json outputs = nlohmann::json::array();
  for (const OutputSpec& output : options.outputs) {
    const char* format = output.format == OutputFormat::json    ? "json"
                         : output.format == OutputFormat::table ? "table"
                                                                : "none";
    outputs.push_back(output.path ? std::string(format) + ":" + *output.path : std::string(format));
  }
  nlohmann::json described = {{"trace", options.trace_expressions},
                              {"outputs", outputs},
                              {"audit_log", options.audit_log.value_or("")},
                              {"audit_key", options.audit_key_file.has_value()},
                              {"audit_sync_ms", options.audit_sync_interval_ms},
                              {"max_args", options.max_args},
                              {"ring_buffer_kib", options.ring_buffer_kib},
                              {"syscall_hook", options.syscall_hook},
                              {"config", options.config_file.value_or("")}};
  return described.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::unique_ptr<Sink>> open_audit_log(const AuditLogOptions& options, const BootToWallClock& clock,
                                             std::optional<NatsWriter> publisher) {
  AuditChain chain;
  uint64_t key_file_epoch = 0;
  if (options.key_file) {
    Result<SealingKey> key = read_key_file(*options.key_file);
    if (!key) return key.take_error();
    key_file_epoch = key->epoch;
    chain = AuditChain(std::move(*key));
  }
  Result<UniqueFd> file = open_log_file(options.path);
  if (!file) return file.take_error();
  Result<uint64_t> torn_bytes = continue_existing_log(file->get(), options.path, chain);
  if (!torn_bytes) return torn_bytes.take_error();
  Result<std::string> first_digest = publisher ? first_record_digest(file->get(), options.path) : std::string();
  if (!first_digest) return first_digest.take_error();
  auto sink = std::make_unique<AuditLogSink>(std::move(*file), options, std::move(chain), key_file_epoch, clock,
                                             std::move(publisher));
  if (Status status = sink->start(options, *torn_bytes, *first_digest); !status) return status.take_error();
  return std::unique_ptr<Sink>(std::move(sink));
}

Result<bool> verify_audit_log(const VerifyOptions& options) {
  if (options.stream || options.nats_export || options.path.starts_with("nats://") ||
      options.path.starts_with("tls://"))
    return verify_stream(options);
  Result<RegularFile> log = open_regular_file(options.path);
  if (!log) return runtime_error("audit log " + options.path + ": " + log.error().message);
  std::optional<SealingKey> key;
  if (options.key_file) {
    Result<SealingKey> read = read_key_file(*options.key_file);
    if (!read) return read.take_error();
    key = std::move(*read);
  }
  std::optional<VerifyState> from;
  if (options.from_state) {
    Result<std::string> text = read_bounded_file(*options.from_state, kMaxStateFileBytes);
    if (!text) return runtime_error("state file " + *options.from_state + ": " + text.error().message);
    Result<VerifyState> state = parse_verify_state(*text);
    if (!state) return runtime_error(*options.from_state + ": " + state.error().message);
    from = std::move(*state);
  }
  LogVerifier verifier(std::move(key), from);
  if (Status status = stream_lines(log->fd.get(), verifier); !status)
    return runtime_error("audit log " + options.path + ": " + status.error().message);
  const VerifyReport report = verifier.finish();
  std::fputs(report.full_report().c_str(), stdout);
  if (report.ok && options.save_state) {
    std::ofstream state(*options.save_state, std::ios::trunc);
    state << format_verify_state({report.records, report.head});
    if (!state) return runtime_error("cannot write the state file " + *options.save_state);
  }
  return report.ok;
}

}  // namespace tracer
