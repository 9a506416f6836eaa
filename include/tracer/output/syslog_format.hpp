#pragma once
// Syslog messages as RFC 5424 describes them, framed by octet counting
// (RFC 6587): "LEN SP <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG".
// The length, not a newline, ends a message: one record is one message
// whatever its bytes, so a record's JSON line is carried as it is. Pure: the
// socket is src/output/syslog_connection.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tracer/core/clock.hpp"
#include "tracer/core/result.hpp"

namespace tracer {

// Where --output syslog:... sends: a TCP server or a unix stream socket.
struct SyslogTarget {
  std::string host;  // tcp: a name or an address
  uint16_t port = 0;
  std::string socket_path;  // unix: set instead of host and port
  bool operator==(const SyslogTarget&) const = default;
};

// What follows "syslog:": "tcp://HOST:PORT" ("tcp://[::1]:514" for an IPv6
// address) or "unix:/PATH". The error says what is wrong, for a usage error.
Result<SyslogTarget> parse_syslog_target(std::string_view text);
// "syslog:tcp://127.0.0.1:514": the output's name in messages and metrics.
std::string syslog_target_name(const SyslogTarget& target);

// user: what auditd's syslog plugin and Falco send with by default.
constexpr uint8_t kSyslogFacilityUser = 1;
constexpr uint8_t kSyslogSeverityInfo = 6;
// A facility's code by its name: "user", "daemon", "auth", "authpriv",
// "local0" ... "local7" and the other names of RFC 5424's table.
std::optional<uint8_t> syslog_facility_named(std::string_view name);

// What every message of a run shares.
struct SyslogHeader {
  uint8_t facility = kSyslogFacilityUser;
  std::string hostname;  // "-" when empty
  uint32_t procid = 0;   // the tracer's pid
};

class SyslogFramer {
 public:
  explicit SyslogFramer(const SyslogHeader& header);
  // Appends one framed message of severity info: time (cut to microseconds,
  // RFC 5424's limit), msgid (the event's name; printable ASCII, at most 32
  // characters) and msg as it is (a JSON line, without its '\n').
  void append(std::string& out, WallTime time, std::string_view msgid, std::string_view msg);

 private:
  std::string priority_;    // "<14>1 "
  std::string after_time_;  // " HOSTNAME tracer PROCID "
  Rfc3339Formatter timestamps_;
  std::string stamp_;  // reused: no allocation per message
};

}  // namespace tracer
