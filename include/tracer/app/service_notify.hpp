#pragma once
// systemd's readiness protocol (Type=notify, through libsystemd's sd_notify):
// READY=1 once every program is attached and the tracer consumes its ring
// buffer, STOPPING=1 when a stop signal arrives. Nothing happens outside
// systemd (no NOTIFY_SOCKET) or in the static build (no libsystemd).

#include <string_view>

namespace tracer {

// status: one line systemctl status shows, e.g. "tracing execve, execveat".
void notify_ready(std::string_view status);
void notify_stopping();

}  // namespace tracer
