#pragma once
// Loopback networking for the tests that start servers (a Prometheus, NATS
// servers) or query the tracer's own: one HTTP GET, a free port.
#include <cstdint>
#include <string>

namespace tracer::e2e {

// One HTTP/1.0 GET on loopback: status line and body ("" when unreachable).
struct HttpAnswer {
  int status = 0;
  std::string body;
};
HttpAnswer http_get(uint16_t port, const std::string& path);

// A port that was free a moment ago (for servers that must be told one):
// any (0), or the first free one from `first` up.
uint16_t free_port(uint16_t first = 0);

}  // namespace tracer::e2e
