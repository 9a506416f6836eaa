#include "tracer/output/syslog_connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "tracer/core/escape.hpp"

namespace tracer {
namespace {

using namespace std::chrono_literals;

constexpr auto kFirstBackoff = 500ms;
constexpr auto kLongestBackoff = 30s;
// A host that drops our SYNs must not hold the writer thread for the
// kernel's two minutes.
constexpr int kConnectTimeoutMs = 5000;

// Connects fd without blocking longer than the timeout, then makes it
// blocking again (sends block in the writer thread, like a file's writes).
int connect_within_timeout(int fd, const sockaddr* address, socklen_t length) {
  if (::connect(fd, address, length) != 0) {
    if (errno != EINPROGRESS) return errno;
    pollfd waiting{fd, POLLOUT, 0};
    int ready = 0;
    do ready = ::poll(&waiting, 1, kConnectTimeoutMs);
    while (ready < 0 && errno == EINTR);
    if (ready == 0) return ETIMEDOUT;
    int error = 0;
    socklen_t size = sizeof(error);
    if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) return errno;
    if (error) return error;
  }
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return errno;
  return 0;
}

Result<UniqueFd> connect_tcp(const SyslogTarget& target) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(target.port);
  if (const int error = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found); error != 0)
    return runtime_error("cannot resolve " + target.host + ": " + gai_strerror(error));
  const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
  int error = 0;
  for (const addrinfo* address = found; address; address = address->ai_next) {
    UniqueFd socket(::socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket) {
      error = errno;
      continue;
    }
    error = connect_within_timeout(socket.get(), address->ai_addr, address->ai_addrlen);
    if (error == 0) return socket;
  }
  return errno_error("connect", error);
}

Result<UniqueFd> connect_unix(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket) return errno_error("socket");
  const int error = connect_within_timeout(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  if (error == EPROTOTYPE)
    return runtime_error(
        "connect: a datagram socket (such as /dev/log); a record can exceed a datagram, so the syslog output "
        "needs a stream socket (rsyslog: imptcp with path=, or imtcp)");
  if (error) return errno_error("connect", error);
  return socket;
}

}  // namespace

SyslogConnection::SyslogConnection(SyslogTarget target)
    : target_(std::move(target)), name_(terminal_safe(syslog_target_name(target_))) {}

void SyslogConnection::connect_now() {
  if (socket_) return;
  Result<UniqueFd> connected = target_.socket_path.empty() ? connect_tcp(target_) : connect_unix(target_.socket_path);
  if (!connected) {
    failed(connected.error().message);
    return;
  }
  socket_ = std::move(*connected);
  backoff_ = {};
  if (unreachable_) std::fprintf(stderr, "tracer: %s is reachable again\n", name_.c_str());
  unreachable_ = false;
}

void SyslogConnection::failed(const std::string& why) {
  if (!unreachable_)
    std::fprintf(stderr,
                 "tracer: %s: %s; its records are counted as lost (output unreachable) until it is back "
                 "(reconnecting)\n",
                 name_.c_str(), terminal_safe(why).c_str());
  unreachable_ = true;
  backoff_ = backoff_ == Clock::duration{} ? Clock::duration(kFirstBackoff)
                                           : std::min<Clock::duration>(backoff_ * 2, kLongestBackoff);
  next_attempt_ = Clock::now() + backoff_;
}

// A server that went away (restarted, killed) closed its end: found before
// sending, so the batch goes to a new connection instead of into one that
// can only fail.
void SyslogConnection::drop_if_closed_by_peer() {
  if (!socket_) return;
  pollfd state{socket_.get(), POLLIN | POLLRDHUP, 0};
  if (::poll(&state, 1, 0) <= 0) return;
  char byte = 0;
  if ((state.revents & (POLLRDHUP | POLLHUP | POLLERR)) ||
      ::recv(socket_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
    socket_.reset();
}

bool SyslogConnection::ensure_connected() {
  drop_if_closed_by_peer();
  if (!socket_ && Clock::now() >= next_attempt_) connect_now();
  return static_cast<bool>(socket_);
}

BatchWritten SyslogConnection::write(const OutputBatch& batch) {
  if (!ensure_connected()) return {0, 0, {0, batch.records(), false}, true};
  size_t done = 0;
  while (done < batch.bytes.size()) {
    const ssize_t sent = ::send(socket_.get(), batch.bytes.data() + done, batch.bytes.size() - done, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) {
      const int error = errno;
      PartialWrite judged = judge_partial_write(batch, done);
      judged.torn = false;  // the connection is dropped: the next message starts a new stream
      socket_.reset();
      failed("send: " + errno_text(error));
      return {done, error, judged, true};
    }
    done += static_cast<size_t>(sent);
  }
  return {done, 0, {batch.records(), 0, false}, false};
}

}  // namespace tracer
