#include "tracer/audit/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "tracer/audit/audit_chain.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/output/format.hpp"

namespace tracer {
namespace {

Result<std::string> read_whole_file(const std::string& path, const char* what) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return errno_error(std::string("cannot read ") + what + " " + path);
  std::ostringstream content;
  content << file.rdbuf();
  return content.str();
}

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

// Offset just after the last '\n' at or before `end` (0 when none).
Result<off_t> start_of_line_ending_at(int fd, off_t end) {
  constexpr off_t kChunk = 64 * 1024;
  off_t position = end;
  while (position > 0) {
    const off_t begin = position > kChunk ? position - kChunk : 0;
    Result<std::string> chunk = read_range(fd, begin, position);
    if (!chunk) return chunk.take_error();
    const size_t newline = chunk->rfind('\n');
    if (newline != std::string::npos) return begin + static_cast<off_t>(newline) + 1;
    position = begin;
  }
  return off_t{0};
}

class AuditLogSink final : public Sink {
 public:
  AuditLogSink(UniqueFd file, std::string path, AuditChain chain, int sync_interval_ms, const BootToWallClock& clock,
               JsonOptions json)
      : file_(std::move(file)),
        path_(std::move(path)),
        chain_(std::move(chain)),
        sync_interval_(sync_interval_ms),
        formatter_(clock, std::move(json)),
        last_sync_(std::chrono::steady_clock::now()) {}
  Status write(const Event& event) override {
    event_json_.clear();
    formatter_.append(event_json_, event);
    chain_.seal(event_json_, pending_);
    ++pending_records_;
    if (sync_interval_.count() == 0) return write_and_sync();
    return ok_status();
  }
  Status end_of_batch() override {
    if (Status status = write_pending(); !status) return status;
    if (unsynced_ && std::chrono::steady_clock::now() - last_sync_ >= sync_interval_) return sync();
    return ok_status();
  }
  Status flush() override { return write_and_sync(); }
  // The audit log is one chain: it is not reopened on SIGHUP.
  Status reopen() override { return ok_status(); }
  void add_metrics(MetricsSnapshot& snapshot) const override {
    OutputMetrics metrics = counters_;
    metrics.name = path_;
    metrics.format = "audit-log";
    snapshot.outputs.push_back(std::move(metrics));
    snapshot.audit_log_sequence = chain_.seq();
  }

 private:
  Status write_and_sync() {
    if (Status status = write_pending(); !status) return status;
    return sync();
  }
  Status write_pending() {
    std::string_view bytes = pending_;
    while (!bytes.empty()) {
      const ssize_t written = ::write(file_.get(), bytes.data(), bytes.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        ++counters_.write_errors;
        counters_.records_lost += std::exchange(pending_records_, 0);
        return errno_error("writing the audit log " + path_);
      }
      counters_.bytes_written += static_cast<uint64_t>(written);
      bytes.remove_prefix(static_cast<size_t>(written));
    }
    unsynced_ |= !pending_.empty();
    counters_.records_written += std::exchange(pending_records_, 0);
    pending_.clear();
    return ok_status();
  }
  Status sync() {
    if (!unsynced_) return ok_status();
    if (fdatasync(file_.get()) != 0) return errno_error("syncing the audit log " + path_);
    unsynced_ = false;
    last_sync_ = std::chrono::steady_clock::now();
    return ok_status();
  }

  UniqueFd file_;
  std::string path_;
  AuditChain chain_;
  std::chrono::milliseconds sync_interval_;
  JsonFormatter formatter_;
  std::string event_json_;
  std::string pending_;
  uint64_t pending_records_ = 0;  // sealed into pending_
  OutputMetrics counters_;        // for --metrics
  bool unsynced_ = false;
  std::chrono::steady_clock::time_point last_sync_;
};

// Positions an existing log for continuation: repairs a torn last line (an
// interrupted write: truncated, never rewritten), verifies the last record and
// continues the chain after it.
Status continue_existing_log(int fd, const std::string& path, AuditChain& chain) {
  struct stat info {};
  if (fstat(fd, &info) != 0) return errno_error("audit log " + path);
  off_t size = info.st_size;
  if (size == 0) return ok_status();

  Result<std::string> last_byte = read_range(fd, size - 1, size);
  if (!last_byte) return runtime_error("audit log " + path + ": " + last_byte.error().message);
  if (*last_byte != "\n") {
    Result<off_t> keep = start_of_line_ending_at(fd, size);
    if (!keep) return runtime_error("audit log " + path + ": " + keep.error().message);
    if (ftruncate(fd, *keep) != 0) return errno_error("cannot repair the audit log " + path);
    std::fprintf(stderr, "tracer: audit log %s: removed a torn last line (%lld bytes, an interrupted write)\n",
                 path.c_str(), static_cast<long long>(size - *keep));
    size = *keep;
    if (size == 0) return ok_status();
  }

  Result<off_t> line_start = start_of_line_ending_at(fd, size - 1);
  if (!line_start) return runtime_error("audit log " + path + ": " + line_start.error().message);
  Result<std::string> line = read_range(fd, *line_start, size);
  if (!line) return runtime_error("audit log " + path + ": " + line.error().message);
  // The last record must verify on its own before anything is chained to it.
  const std::optional<SealedLine> sealed = split_sealed_line(std::string_view(*line).substr(0, line->size() - 1));
  if (!sealed) return runtime_error("audit log " + path + ": its last line is not a sealed record; not continuing it");
  if (sealed->keyed != chain.keyed())
    return runtime_error("audit log " + path +
                         (sealed->keyed ? ": is HMAC-authenticated; give --audit-key"
                                        : ": is not HMAC-authenticated; drop --audit-key"));
  if (chain.digest(sealed->canonical) != sealed->digest)
    return runtime_error("audit log " + path + ": its last record does not verify (modified, or a wrong key); " +
                         "not continuing it");
  const auto document = nlohmann::json::parse(sealed->canonical, nullptr, false);
  if (document.is_discarded() || !document.contains("seq") || !document["seq"].is_number_unsigned())
    return runtime_error("audit log " + path + ": its last record has no seq; not continuing it");
  chain.continue_after(document["seq"].get<uint64_t>(), sealed->digest);
  return ok_status();
}

Result<std::string> read_key_file(const std::string& path) {
  Result<std::string> key = read_whole_file(path, "key file");
  if (!key) return key;
  if (key->empty()) return runtime_error("key file " + path + " is empty");
  return key;
}

}  // namespace

Result<std::unique_ptr<Sink>> open_audit_log(const AuditLogOptions& options, const BootToWallClock& clock) {
  std::string key;
  if (options.key_file) {
    Result<std::string> read = read_key_file(*options.key_file);
    if (!read) return read.take_error();
    key = std::move(*read);
  }
  UniqueFd file(::open(options.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!file) return errno_error("cannot open the audit log " + options.path);
  AuditChain chain(std::move(key));
  if (Status status = continue_existing_log(file.get(), options.path, chain); !status) return status.take_error();
  return std::unique_ptr<Sink>(std::make_unique<AuditLogSink>(std::move(file), options.path, std::move(chain),
                                                              options.sync_interval_ms, clock, options.json));
}

Result<bool> verify_audit_log(const VerifyOptions& options) {
  Result<std::string> content = read_whole_file(options.path, "audit log");
  if (!content) return content.take_error();
  std::string key;
  if (options.key_file) {
    Result<std::string> read = read_key_file(*options.key_file);
    if (!read) return read.take_error();
    key = std::move(*read);
  }
  std::optional<VerifyState> from;
  if (options.from_state) {
    Result<std::string> text = read_whole_file(*options.from_state, "state file");
    if (!text) return text.take_error();
    Result<VerifyState> state = parse_verify_state(*text);
    if (!state) return runtime_error(*options.from_state + ": " + state.error().message);
    from = std::move(*state);
  }
  const VerifyReport report = verify_log(*content, key, from);
  std::printf("%s\n", report.summary().c_str());
  if (report.ok && options.save_state) {
    std::ofstream state(*options.save_state, std::ios::trunc);
    state << format_verify_state({report.records, report.head});
    if (!state) return runtime_error("cannot write the state file " + *options.save_state);
  }
  return report.ok;
}

}  // namespace tracer
