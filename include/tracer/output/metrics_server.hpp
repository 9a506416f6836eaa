#pragma once
// The HTTP side of --metrics (libmicrohttpd, one internal thread): GET
// /metrics renders the last published snapshot; GET /healthz answers 200 only
// while the ring buffer is being consumed (a heartbeat younger than five
// seconds; the loop beats at least every 100 ms), 503 otherwise. The event
// loop publishes and beats; the server only reads.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "tracer/core/result.hpp"
#include "tracer/output/metrics.hpp"

struct MHD_Daemon;

namespace tracer {

class MetricsServer {
 public:
  // Listens on address (port 0: any free port, see port()).
  static Result<std::unique_ptr<MetricsServer>> start(const MetricsAddress& address);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const { return port_; }
  // The counters as they are now (the loop calls this a few times a second).
  void publish(MetricsSnapshot snapshot);
  // The loop has consumed the ring buffer.
  void heartbeat() { last_consumed_ns_.store(now_ns(), std::memory_order_relaxed); }

  // Answers for the HTTP thread: status and body.
  std::pair<unsigned, std::string> answer(std::string_view path) const;

 private:
  MetricsServer() = default;
  static int64_t now_ns();
  static constexpr int64_t kHealthyWithinNs = 5'000'000'000;

  mutable std::mutex mutex_;
  MetricsSnapshot snapshot_;
  std::atomic<int64_t> last_consumed_ns_{0};
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
};

}  // namespace tracer
