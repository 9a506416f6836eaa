#include "net_helpers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

namespace tracer::e2e {

HttpAnswer http_get(uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  HttpAnswer answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      std::string response;
      char buffer[65536];
      for (ssize_t got; (got = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) response.append(buffer, size_t(got));
      std::sscanf(response.c_str(), "HTTP/%*s %d", &answer.status);
      if (const size_t body = response.find("\r\n\r\n"); body != std::string::npos)
        answer.body = response.substr(body + 4);
    }
  }
  ::close(fd);
  return answer;
}

uint16_t free_port(uint16_t first) {
  for (uint32_t port = first; port <= 65535; ++port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    socklen_t length = sizeof(address);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    ::close(fd);
    if (bound) return ntohs(address.sin_port);
  }
  return 0;
}

}  // namespace tracer::e2e
