#include "tracer/core/clock.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <cstdint>
#include <string>

namespace tracer {
namespace {

TEST(Clock, ConvertsWithOffset) {
  BootToWallClock clock(1'000'000'000'000'000'000);
  WallTime wall = clock.to_wall(1'500'000'001);
  EXPECT_EQ(wall.seconds, 1'000'000'001);
  EXPECT_EQ(wall.nanoseconds, 500'000'001u);
}

// Found by fuzzing (tests/fuzz/decode): a record time beyond any boot time
// overflowed the signed sum (UBSan); it saturates at the latest time.
TEST(Clock, TimeBeyondAnyBootSaturates) {
  const BootToWallClock clock(1'795'408'230'000'000'000);
  for (const uint64_t boot_ns : {uint64_t{7'598'814'338'620'246'651u}, ~uint64_t{0}}) {
    const WallTime wall = clock.to_wall(boot_ns);
    EXPECT_EQ(wall.seconds, INT64_MAX / 1'000'000'000);
    EXPECT_EQ(wall.nanoseconds, uint32_t{INT64_MAX % 1'000'000'000});
  }
  std::string text;
  Rfc3339Formatter().append(text, clock.to_wall(~uint64_t{0}));
  EXPECT_FALSE(text.empty());
}

TEST(Clock, NegativeRemainderBorrowsASecond) {
  BootToWallClock clock(-1);
  WallTime wall = clock.to_wall(1'000'000'000);
  EXPECT_EQ(wall.seconds, 0);
  EXPECT_EQ(wall.nanoseconds, 999'999'999u);
}

TEST(Clock, CalibrationMatchesRealtime) {
  BootToWallClock clock = BootToWallClock::calibrate();
  timespec boot{}, real{};
  clock_gettime(CLOCK_BOOTTIME, &boot);
  clock_gettime(CLOCK_REALTIME, &real);
  const WallTime wall = clock.to_wall(uint64_t(boot.tv_sec) * 1'000'000'000 + uint64_t(boot.tv_nsec));
  const int64_t difference_ns =
      (int64_t{real.tv_sec} - wall.seconds) * 1'000'000'000 + (int64_t{real.tv_nsec} - int64_t{wall.nanoseconds});
  EXPECT_LT(std::llabs(difference_ns), 50'000'000);  // same instant, well within 50 ms
}

TEST(Clock, Rfc3339) {
  Rfc3339Formatter formatter;
  std::string out;
  formatter.append(out, WallTime{1'795'408'230, 123'456'789});
  EXPECT_EQ(out, "2026-11-23T04:30:30.123456789Z");
  out.clear();
  formatter.append(out, WallTime{1'795'408'230, 5});  // cached second
  EXPECT_EQ(out, "2026-11-23T04:30:30.000000005Z");
  out.clear();
  formatter.append(out, WallTime{0, 0});
  EXPECT_EQ(out, "1970-01-01T00:00:00.000000000Z");
}

TEST(Clock, LocalTimeOfDay) {
  setenv("TZ", "UTC", 1);
  tzset();
  std::string out;
  append_local_time_of_day(out, WallTime{1'795'408'230, 123'456'789});
  EXPECT_EQ(out, "04:30:30.123456");
}

}  // namespace
}  // namespace tracer
