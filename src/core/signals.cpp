#include "tracer/core/signals.hpp"

#include <sys/signalfd.h>

#include <csignal>

namespace tracer {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

Status block_handled_signals() {
  const sigset_t set = handled_signals();
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return errno_error("cannot block signals");
  std::signal(SIGPIPE, SIG_IGN);
  return ok_status();
}

Result<UniqueFd> handled_signals_fd(std::string_view what) {
  const sigset_t set = handled_signals();
  UniqueFd fd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return errno_error(what);
  return fd;
}

}  // namespace tracer
