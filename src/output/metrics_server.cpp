#include "tracer/output/metrics_server.hpp"

#include <arpa/inet.h>
#ifdef TRACER_HAVE_MICROHTTPD
#include <microhttpd.h>
#endif
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>

namespace tracer {

#ifdef TRACER_HAVE_MICROHTTPD
namespace {

MHD_Result handle_request(void* context, MHD_Connection* connection, const char* url, const char* method, const char*,
                          const char*, size_t*, void**) {
  const auto& server = *static_cast<const MetricsServer*>(context);
  auto [status, body] = std::strcmp(method, "GET") == 0 && url
                            ? server.answer(url)
                            : std::pair<unsigned, std::string>{MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n"};
  MHD_Response* response = MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                          status == MHD_HTTP_OK && std::strcmp(url, "/metrics") == 0
                              ? "text/plain; version=0.0.4; charset=utf-8"
                              : "text/plain; charset=utf-8");
  const MHD_Result queued = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const MetricsAddress& address) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  sockaddr_storage storage{};
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(address.port);
  } else if (inet_pton(AF_INET6, address.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(address.port);
    flags |= MHD_USE_IPv6;
  } else {
    return usage_error("--metrics " + address.host + ": not an IP address");
  }
  server->daemon_ =
      MHD_start_daemon(flags, address.port, nullptr, nullptr, &handle_request, server.get(), MHD_OPTION_SOCK_ADDR,
                       reinterpret_cast<sockaddr*>(&storage), MHD_OPTION_CONNECTION_LIMIT, 16u,
                       MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (!server->daemon_)
    return errno_error("cannot serve metrics on " + address.host + ":" + std::to_string(address.port));
  const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info ? info->port : address.port;
  return server;
}

MetricsServer::~MetricsServer() {
  if (daemon_) MHD_stop_daemon(daemon_);
}

int64_t MetricsServer::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void MetricsServer::publish(MetricsSnapshot snapshot) {
  const std::lock_guard lock(mutex_);
  snapshot_ = std::move(snapshot);
}

std::pair<unsigned, std::string> MetricsServer::answer(std::string_view path) const {
  if (path == "/metrics") {
    const std::lock_guard lock(mutex_);
    return {MHD_HTTP_OK, render_prometheus(snapshot_)};
  }
  if (path == "/healthz") {
    const int64_t last = last_consumed_ns_.load(std::memory_order_relaxed);
    const bool consuming = last != 0 && now_ns() - last < kHealthyWithinNs;
    return consuming ? std::pair<unsigned, std::string>{MHD_HTTP_OK, "ok\n"}
                     : std::pair<unsigned, std::string>{MHD_HTTP_SERVICE_UNAVAILABLE,
                                                        "the ring buffer is not being consumed\n"};
  }
  return {MHD_HTTP_NOT_FOUND, "not found: /metrics or /healthz\n"};
}

#else

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const MetricsAddress&) {
  return usage_error("--metrics: this tracer was built without it (the static build has no libmicrohttpd)");
}
MetricsServer::~MetricsServer() = default;
void MetricsServer::publish(MetricsSnapshot) {}
std::pair<unsigned, std::string> MetricsServer::answer(std::string_view) const { return {404, ""}; }
int64_t MetricsServer::now_ns() { return 0; }

#endif

}  // namespace tracer
