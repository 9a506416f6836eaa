#pragma once
// sha256 on exec records, and --capture exec. The ring-buffer consumer calls
// annotate() for each exec record on its way to the sinks: it opens the file
// that ran at once (/proc/PID/exe while the process lives, else the path,
// checked against the record's dev and inode) and answers from the cache; a
// file not hashed yet goes to the worker, the record goes out with
// "sha256_pending": true, and an exec_hash record (same exec_id) follows when
// the worker is done. So a large file delays no record.

#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tracer/capture/file_digest.hpp"
#include "tracer/capture/hash_worker.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

struct ExecHashSettings {
  bool capture = false;  // --capture exec
  uint64_t capture_limit_bytes = 0;
  size_t cache_entries = 4096;
  size_t max_pending_files = 256;  // fds held for the worker
  size_t max_waiting_execs = 16384;
};

// What the outputs could not carry, for the loss report and the metrics.
struct CaptureCounters {
  uint64_t execs_not_hashed = 0;     // the file that ran could not be opened or read
  uint64_t captures_over_limit = 0;  // not saved: --capture-limit reached
  uint64_t captures_saved = 0;
  uint64_t capture_bytes = 0;
};

// How the file that ran was opened.
struct RanFile {
  UniqueFd fd;
  struct stat status {};
  std::string_view source;  // "exe" (/proc/PID/exe) or "path"
};
// The file the record says ran (dev, inode): through /proc/pid/exe, else
// path; an empty fd when neither is that file any more.
RanFile open_ran_file(uint32_t pid, uint64_t dev, uint64_t inode, std::string_view path);
// A #! script, by its path (relative to the caller's cwd); the record has no
// inode to check it against, so it is always "path".
RanFile open_script(uint32_t pid, std::string_view path, std::string_view cwd);

struct HashArgNames;

class ExecHasher {
 public:
  // store: --capture exec's directory, opened before the run was confined;
  // nullopt: hashing only. Starts the worker thread.
  ExecHasher(const ExecHashSettings& settings, std::optional<CaptureStore> store);

  // Adds sha256 and sha256_source, or sha256_pending, or sha256_error, to a
  // successful exec record (and script_sha256... for a #! script). The
  // strings live until the next call.
  void annotate(Event& event);
  // The exec_hash and exec_capture records of what the worker finished.
  Status emit_finished(const std::function<Status(const Event&)>& emit);
  int ready_fd() const { return worker_.ready_fd(); }
  // At stop: lets the worker finish what it has, up to the deadline.
  void finish(std::chrono::steady_clock::time_point deadline) { worker_.wait_idle(deadline); }
  const CaptureCounters& counters() const { return counters_; }
  // A line for stderr, once: the capture limit was reached.
  std::optional<std::string> take_notice() { return std::exchange(notice_, std::nullopt); }

 private:
  // An exec record whose hash follows: what its exec_hash record repeats.
  struct Waiter {
    TaskContext task;
    std::string comm;
    std::string container_id;
    std::string path;
    std::string_view source;
    std::string_view file;  // "exe" or "script"
  };
  bool from_cache(Event& event, uint64_t dev, uint64_t inode, std::string_view path);
  void hash_file(Event& event, RanFile file, std::string_view path, const HashArgNames& names, std::string& hex);
  Status emit_result(const HashResult& result, std::vector<Waiter>& waiters,
                     const std::function<Status(const Event&)>& emit);

  ExecHashSettings settings_;
  HashWorker worker_;
  DigestCache cache_;
  std::unordered_map<FileKey, std::vector<Waiter>, FileKeyHash> pending_;
  size_t waiting_ = 0;
  std::unordered_set<std::string> indexed_;  // digests with an exec_capture record in this run
  std::string hex_;                          // the annotated record's sha256s
  std::string script_hex_;
  CaptureCounters counters_;
  std::optional<std::string> notice_;
  bool limit_noticed_ = false;
};

}  // namespace tracer
