#include "tracer/output/syslog_format.hpp"

#include <sys/un.h>

#include <array>
#include <charconv>
#include <utility>

namespace tracer {
namespace {

constexpr std::string_view kTcpPrefix = "tcp://";
constexpr std::string_view kUnixPrefix = "unix:";
constexpr size_t kHostnameMax = 255;  // RFC 5424's limits
constexpr size_t kMsgidMax = 32;
constexpr std::string_view kTimeCut = "000Z";  // the nanoseconds' last three digits, and the 'Z' kept

constexpr std::array<std::pair<std::string_view, uint8_t>, 19> kFacilities{{
    {"user", 1},    {"mail", 2},    {"daemon", 3},    {"auth", 4},    {"syslog", 5},  {"lpr", 6},     {"news", 7},
    {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17}, {"local2", 18},
    {"local3", 19}, {"local4", 20}, {"local5", 21},   {"local6", 22}, {"local7", 23},
}};

// RFC 5424's header fields are printable US-ASCII without spaces; anything
// else is replaced, so an odd hostname or event name cannot break the frame.
void append_header_field(std::string& out, std::string_view field, size_t max) {
  if (field.empty()) {
    out += '-';
    return;
  }
  for (const char c : field.substr(0, max)) out += (c >= 33 && c <= 126) ? c : '_';
}

Result<SyslogTarget> parse_tcp(std::string_view text, std::string_view whole) {
  const std::string error = "syslog:" + std::string(whole) + ": expected tcp://HOST:PORT";
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return usage_error(error);
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host.find_first_of("[]/ ") != std::string_view::npos) return usage_error(error);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, parsed] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || parsed != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535)
    return usage_error(error + " with PORT 1-65535");
  return SyslogTarget{std::string(host), static_cast<uint16_t>(port), {}};
}

}  // namespace

Result<SyslogTarget> parse_syslog_target(std::string_view text) {
  if (text.starts_with(kTcpPrefix)) return parse_tcp(text.substr(kTcpPrefix.size()), text);
  if (text.starts_with(kUnixPrefix)) {
    const std::string_view path = text.substr(kUnixPrefix.size());
    if (path.empty()) return usage_error("syslog:unix: needs the path of a unix stream socket");
    if (path.size() >= sizeof(sockaddr_un::sun_path))
      return usage_error("syslog:" + std::string(text) + ": a unix socket path has at most " +
                         std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
    return SyslogTarget{{}, 0, std::string(path)};
  }
  return usage_error("syslog:" + std::string(text) + ": expected syslog:tcp://HOST:PORT or syslog:unix:/PATH");
}

std::string syslog_target_name(const SyslogTarget& target) {
  if (!target.socket_path.empty()) return "syslog:unix:" + target.socket_path;
  const bool ipv6 = target.host.find(':') != std::string::npos;
  return "syslog:tcp://" + (ipv6 ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port);
}

std::optional<uint8_t> syslog_facility_named(std::string_view name) {
  for (const auto& [facility_name, code] : kFacilities)
    if (facility_name == name) return code;
  return std::nullopt;
}

// Built by appends: gcc 12 at -O3 reports a false -Wrestrict on
// `"literal" + std::to_string(...)`.
SyslogFramer::SyslogFramer(const SyslogHeader& header) {
  priority_ += '<';
  priority_ += std::to_string(header.facility * 8 + kSyslogSeverityInfo);
  priority_ += ">1 ";
  after_time_ += ' ';
  append_header_field(after_time_, header.hostname, kHostnameMax);
  after_time_ += " tracer ";
  after_time_ += std::to_string(header.procid);
  after_time_ += ' ';
}

void SyslogFramer::append(std::string& out, WallTime time, std::string_view msgid, std::string_view msg) {
  stamp_.clear();
  timestamps_.append(stamp_, time);
  stamp_.resize(stamp_.size() - kTimeCut.size());
  stamp_ += 'Z';
  const size_t msgid_size = msgid.empty() ? 1 : std::min(msgid.size(), kMsgidMax);
  const size_t length = priority_.size() + stamp_.size() + after_time_.size() + msgid_size + 3 + msg.size();
  std::array<char, 24> digits{};
  const auto [end, error] = std::to_chars(digits.data(), digits.data() + digits.size(), length);
  out.append(digits.data(), end);
  out += ' ';
  out += priority_;
  out += stamp_;
  out += after_time_;
  append_header_field(out, msgid, kMsgidMax);
  out += " - ";  // no structured data: the record is the message
  out += msg;
}

}  // namespace tracer
