#include "tracer/app/service_notify.hpp"

#include <string>

#ifdef TRACER_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace tracer {

void notify_ready([[maybe_unused]] std::string_view status) {
#ifdef TRACER_HAVE_SYSTEMD
  const std::string message = "READY=1\nSTATUS=" + std::string(status);
  sd_notify(0, message.c_str());
#endif
}

void notify_stopping() {
#ifdef TRACER_HAVE_SYSTEMD
  sd_notify(0, "STOPPING=1");
#endif
}

}  // namespace tracer
