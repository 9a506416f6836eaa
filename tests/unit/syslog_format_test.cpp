// RFC 5424 messages framed by octet counting: the exact bytes a syslog
// receiver gets, whatever the record holds.
#include "tracer/output/syslog_format.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tracer {
namespace {

using namespace std::string_literals;

constexpr WallTime kTime{1764806400, 123456789};  // 2025-12-04T00:00:00.123456789Z

// The frame's length prefix, checked against what follows it: the message.
std::string message_of(const std::string& frame) {
  const size_t space = frame.find(' ');
  EXPECT_NE(space, std::string::npos) << frame;
  EXPECT_EQ(std::stoul(frame.substr(0, space)), frame.size() - space - 1) << frame;
  return frame.substr(space + 1);
}

TEST(SyslogFormat, OneRecordIsOneOctetCountedRfc5424Message) {
  SyslogFramer framer({kSyslogFacilityUser, "host-1.example", 4242});
  std::string out;
  const std::string json = R"({"timestamp":"2025-12-04T00:00:00.123456789Z","event":"execve"})";
  framer.append(out, kTime, "execve", json);
  const std::string message = "<14>1 2025-12-04T00:00:00.123456Z host-1.example tracer 4242 execve - " + json;
  EXPECT_EQ(out, std::to_string(message.size()) + " " + message);
  EXPECT_EQ(message_of(out), message);
}

// The length counts bytes: newlines, NULs and bytes that are not UTF-8 are
// carried as they are and cannot end a message early.
TEST(SyslogFormat, TheLengthCountsEveryByteOfTheRecord) {
  SyslogFramer framer({kSyslogFacilityUser, "h", 1});
  const std::string hostile = "{\"a\":\"x\ny\0z\xff\"}"s;
  std::string out;
  framer.append(out, kTime, "openat", hostile);
  framer.append(out, kTime, "openat", std::string(100 * 1024, 'a'));
  const size_t space = out.find(' ');
  const size_t first = std::stoul(out.substr(0, space));
  const std::string first_message = out.substr(space + 1, first);
  EXPECT_TRUE(first_message.ends_with(" openat - " + hostile)) << first_message;
  const std::string second = out.substr(space + 1 + first);
  EXPECT_TRUE(message_of(second).ends_with(" openat - " + std::string(100 * 1024, 'a')));
}

TEST(SyslogFormat, FacilityAndOddHeaderFieldsKeepTheFrameValid) {
  std::string out;
  SyslogFramer({16, "", 7}).append(out, {0, 999999999}, "", "{}");
  EXPECT_EQ(message_of(out), "<134>1 1970-01-01T00:00:00.999999Z - tracer 7 - - {}");
  out.clear();
  SyslogFramer({kSyslogFacilityUser, "bad host\xc3\xa9", 7})
      .append(out, kTime, "a_name_longer_than_thirty_two_characters", "{}");
  EXPECT_EQ(message_of(out),
            "<14>1 2025-12-04T00:00:00.123456Z bad_host__ tracer 7 a_name_longer_than_thirty_two_ch - {}");
}

TEST(SyslogFormat, FacilitiesByName) {
  EXPECT_EQ(syslog_facility_named("user"), 1);
  EXPECT_EQ(syslog_facility_named("auth"), 4);
  EXPECT_EQ(syslog_facility_named("authpriv"), 10);
  EXPECT_EQ(syslog_facility_named("local0"), 16);
  EXPECT_EQ(syslog_facility_named("local7"), 23);
  EXPECT_FALSE(syslog_facility_named("local8"));
  EXPECT_FALSE(syslog_facility_named("kern"));
  EXPECT_FALSE(syslog_facility_named(""));
}

TEST(SyslogFormat, Targets) {
  EXPECT_EQ(*parse_syslog_target("tcp://127.0.0.1:514"), (SyslogTarget{"127.0.0.1", 514, {}}));
  EXPECT_EQ(*parse_syslog_target("tcp://logs.example:6514"), (SyslogTarget{"logs.example", 6514, {}}));
  EXPECT_EQ(*parse_syslog_target("tcp://[::1]:514"), (SyslogTarget{"::1", 514, {}}));
  EXPECT_EQ(*parse_syslog_target("unix:/run/tracer.sock"), (SyslogTarget{{}, 0, "/run/tracer.sock"}));
  EXPECT_EQ(syslog_target_name(*parse_syslog_target("tcp://[::1]:514")), "syslog:tcp://[::1]:514");
  EXPECT_EQ(syslog_target_name(*parse_syslog_target("tcp://127.0.0.1:514")), "syslog:tcp://127.0.0.1:514");
  EXPECT_EQ(syslog_target_name(*parse_syslog_target("unix:/run/x")), "syslog:unix:/run/x");
  for (const char* refused : {"tcp://127.0.0.1", "tcp://:514", "tcp://host:0", "tcp://host:65536", "tcp://host:51x",
                              "tcp://host:", "tcp://a/b:514", "udp://host:514", "unix:", "/dev/log", ""}) {
    const Result<SyslogTarget> target = parse_syslog_target(refused);
    EXPECT_FALSE(target) << refused;
    if (!target) {
      EXPECT_EQ(target.error().kind, ExitKind::usage) << refused;
    }
  }
  EXPECT_FALSE(parse_syslog_target("unix:/" + std::string(200, 'x')));
}

}  // namespace
}  // namespace tracer
