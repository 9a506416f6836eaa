#include "tracer/capture/hash_worker.hpp"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

namespace tracer {
namespace {

constexpr int kWorkerNice = 10;

}  // namespace

HashWorker::HashWorker(std::optional<CaptureStore> store, size_t max_queued)
    : store_(std::move(store)), max_queued_(max_queued), ready_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  thread_ = std::thread([this] { run(); });
}

HashWorker::~HashWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

bool HashWorker::submit(HashJob job) {
  {
    std::lock_guard lock(mutex_);
    if (jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
  }
  changed_.notify_all();
  return true;
}

std::vector<HashResult> HashWorker::take_results() {
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t drained = ::read(ready_.get(), &count, sizeof(count));
  std::lock_guard lock(mutex_);
  return std::exchange(results_, {});
}

void HashWorker::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [this] { return jobs_.empty() && busy_ == 0; });
}

std::string HashWorker::capture_directory() const { return store_ ? store_->directory() : std::string(); }

void HashWorker::run() {
  // Reading a large file must not take the CPU from the ring buffer's reader.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kWorkerNice);
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    HashJob job = std::move(jobs_.front());
    jobs_.pop_front();
    ++busy_;
    lock.unlock();
    HashResult result{job.key, std::nullopt, {}};
    Result<DigestedFile> file = store_ ? store_->digest(job.file.get(), job.save) : digest_fd(job.file.get());
    if (file)
      result.file = *file;
    else
      result.error = file.error().message;
    job.file.reset();
    lock.lock();
    results_.push_back(std::move(result));
    --busy_;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t woke = ::write(ready_.get(), &one, sizeof(one));
    changed_.notify_all();
  }
}

}  // namespace tracer
