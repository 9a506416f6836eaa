#include "tracer/output/metrics_server.hpp"

#include <arpa/inet.h>
#ifdef TRACER_HAVE_MICROHTTPD
#include <microhttpd.h>
#endif
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>

#include "tracer/core/shared_library.hpp"

namespace tracer {

#ifdef TRACER_HAVE_MICROHTTPD

// libmicrohttpd's functions, typed by its header, bound at run time.
struct MetricsServer::Http {
  explicit Http(SharedLibrary loaded) : library(std::move(loaded)) {}
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  SharedLibrary library;
  const MetricsServer* server = nullptr;
  MHD_Daemon* daemon = nullptr;
  decltype(&MHD_start_daemon) start_daemon = nullptr;
  decltype(&MHD_stop_daemon) stop_daemon = nullptr;
  decltype(&MHD_create_response_from_buffer) create_response_from_buffer = nullptr;
  decltype(&MHD_add_response_header) add_response_header = nullptr;
  decltype(&MHD_queue_response) queue_response = nullptr;
  decltype(&MHD_destroy_response) destroy_response = nullptr;

  ~Http() {
    if (daemon) stop_daemon(daemon);
  }

  static Result<std::unique_ptr<Http>> load() {
    constexpr const char* kSoname = "libmicrohttpd.so.12";
    Result<SharedLibrary> library = SharedLibrary::open(kSoname);
    if (!library) return library.take_error();
    auto http = std::make_unique<Http>(std::move(*library));
    const SharedLibrary& lib = http->library;
    if (!lib.bind("MHD_start_daemon", http->start_daemon) || !lib.bind("MHD_stop_daemon", http->stop_daemon) ||
        !lib.bind("MHD_create_response_from_buffer", http->create_response_from_buffer) ||
        !lib.bind("MHD_add_response_header", http->add_response_header) ||
        !lib.bind("MHD_queue_response", http->queue_response) ||
        !lib.bind("MHD_destroy_response", http->destroy_response))
      return runtime_error(std::string(kSoname) + " lacks a function --metrics uses");
    return http;
  }

  static MHD_Result handle_request(void* context, MHD_Connection* connection, const char* url, const char* method,
                                   const char*, const char*, size_t*, void**) {
    const Http& http = *static_cast<const Http*>(context);
    auto [status, body] = std::strcmp(method, "GET") == 0 && url
                              ? http.server->answer(url)
                              : std::pair<unsigned, std::string>{MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n"};
    MHD_Response* response = http.create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    http.add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                             status == MHD_HTTP_OK && std::strcmp(url, "/metrics") == 0
                                 ? "text/plain; version=0.0.4; charset=utf-8"
                                 : "text/plain; charset=utf-8");
    const MHD_Result queued = http.queue_response(connection, status, response);
    http.destroy_response(response);
    return queued;
  }
};

namespace {

Result<UniqueFd> listening_socket(const MetricsAddress& address, uint16_t& port) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(address.port);
    length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(address.port);
    length = sizeof(sockaddr_in6);
  } else {
    return usage_error("--metrics " + address.host + ": not an IP address");
  }
  const std::string where = "cannot serve metrics on " + address.host + ":" + std::to_string(address.port);
  UniqueFd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno_error(where);
  const int on = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (storage.ss_family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0 || ::listen(fd.get(), 16) != 0)
    return errno_error(where);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&storage), &length) != 0) return errno_error(where);
  port = ntohs(storage.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  return fd;
}

}  // namespace

MetricsServer::MetricsServer() = default;

Result<std::unique_ptr<MetricsServer>> MetricsServer::listen(const MetricsAddress& address) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  Result<UniqueFd> socket = listening_socket(address, server->port_);
  if (!socket) return socket.take_error();
  server->socket_ = std::move(*socket);
  Result<std::unique_ptr<Http>> http = Http::load();
  if (!http) return http.take_error();
  server->http_ = std::move(*http);
  server->http_->server = server.get();
  return server;
}

Status MetricsServer::serve() {
  // The daemon owns the socket from here on (it closes it when stopped).
  const int socket = socket_.release();
  http_->daemon =
      http_->start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, nullptr, nullptr, &Http::handle_request,
                          http_.get(), MHD_OPTION_LISTEN_SOCKET, socket, MHD_OPTION_CONNECTION_LIMIT, 16u,
                          MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (!http_->daemon) {
    ::close(socket);
    return errno_error("cannot serve metrics on port " + std::to_string(port_));
  }
  return ok_status();
}

MetricsServer::~MetricsServer() = default;

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

struct MetricsServer::Http {};
MetricsServer::MetricsServer() = default;
Result<std::unique_ptr<MetricsServer>> MetricsServer::listen(const MetricsAddress&) {
  return usage_error("--metrics: this tracer was built without it (the static build has no libmicrohttpd)");
}
Status MetricsServer::serve() { return ok_status(); }
MetricsServer::~MetricsServer() = default;
void MetricsServer::publish(MetricsSnapshot) {}
std::pair<unsigned, std::string> MetricsServer::answer(std::string_view) const { return {404, ""}; }
int64_t MetricsServer::now_ns() { return 0; }

#endif

}  // namespace tracer
