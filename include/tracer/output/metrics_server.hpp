#pragma once
// The HTTP side of --metrics (libmicrohttpd, one internal thread): GET
// /metrics renders the last published snapshot; GET /healthz answers 200 only
// while the ring buffer is being consumed (a heartbeat younger than five
// seconds; the loop beats at least every 100 ms), 503 otherwise. The event
// loop publishes and beats; the server only reads.
//
// Two steps, because capabilities belong to threads: listen() binds the
// socket while the tracer still holds CAP_NET_BIND_SERVICE (a port below
// 1024); serve() starts the HTTP thread after the run has dropped its
// capabilities and installed its seccomp filter, so that thread never holds
// a capability. libmicrohttpd is loaded by listen(), only for runs with
// --metrics.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "tracer/core/fd.hpp"
#include "tracer/core/result.hpp"
#include "tracer/output/metrics.hpp"

namespace tracer {

class MetricsServer {
 public:
  // Binds and listens on address (port 0: any free port, see port()).
  static Result<std::unique_ptr<MetricsServer>> listen(const MetricsAddress& address);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Starts answering on the socket listen() bound.
  Status serve();
  uint16_t port() const { return port_; }
  // The counters as they are now (the loop calls this a few times a second).
  void publish(MetricsSnapshot snapshot);
  // The loop has consumed the ring buffer.
  void heartbeat() { last_consumed_ns_.store(now_ns(), std::memory_order_relaxed); }

  // Answers for the HTTP thread: status and body.
  std::pair<unsigned, std::string> answer(std::string_view path) const;

 private:
  struct Http;  // the loaded library and its daemon
  MetricsServer();
  static int64_t now_ns();
  static constexpr int64_t kHealthyWithinNs = 5'000'000'000;

  mutable std::mutex mutex_;
  MetricsSnapshot snapshot_;
  std::atomic<int64_t> last_consumed_ns_{0};
  UniqueFd socket_;
  std::unique_ptr<Http> http_;
  uint16_t port_ = 0;
};

}  // namespace tracer
