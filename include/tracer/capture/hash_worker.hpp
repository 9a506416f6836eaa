#pragma once
// The thread that reads executables: hashing (and saving) a 100 MB binary
// takes it a while, never the ring-buffer consumer. Jobs carry an fd opened
// by the consumer when it saw the exec (the file that ran, even if the
// process has exited since); results wake the event loop through an eventfd.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tracer/capture/capture_store.hpp"
#include "tracer/capture/file_digest.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

struct HashJob {
  FileKey key;
  UniqueFd file;
  bool save = false;
};

struct HashResult {
  FileKey key;
  std::optional<DigestedFile> file;  // nullopt: reading failed
  std::string error;
};

class HashWorker {
 public:
  // store: where --capture saves; nullopt for hashing only.
  HashWorker(std::optional<CaptureStore> store, size_t max_queued);
  ~HashWorker();
  HashWorker(const HashWorker&) = delete;
  HashWorker& operator=(const HashWorker&) = delete;

  // false when max_queued jobs wait already (the fd is then closed).
  bool submit(HashJob job);
  std::vector<HashResult> take_results();
  // Readable when results are waiting.
  int ready_fd() const { return ready_.get(); }
  // Waits until every submitted job has its result, or the deadline.
  void wait_idle(std::chrono::steady_clock::time_point deadline);
  std::string capture_directory() const;

 private:
  void run();

  std::optional<CaptureStore> store_;
  size_t max_queued_;
  UniqueFd ready_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<HashJob> jobs_;
  std::vector<HashResult> results_;
  size_t busy_ = 0;  // jobs taken and not finished
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tracer
