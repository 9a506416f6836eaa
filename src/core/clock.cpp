#include "tracer/core/clock.hpp"

#include <time.h>

#include <cstdint>
#include <cstdio>

namespace tracer {
namespace {

int64_t read_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void append_digits(std::string& out, uint64_t value, int width) {
  char buffer[24];
  for (int i = width - 1; i >= 0; --i) {
    buffer[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buffer, width);
}

}  // namespace

BootToWallClock BootToWallClock::calibrate() {
  int64_t best_window = INT64_MAX;
  int64_t best_offset = 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int64_t before = read_ns(CLOCK_REALTIME);
    const int64_t boot = read_ns(CLOCK_BOOTTIME);
    const int64_t after = read_ns(CLOCK_REALTIME);
    if (after - before < best_window) {
      best_window = after - before;
      best_offset = before + (after - before) / 2 - boot;
    }
  }
  return BootToWallClock(best_offset);
}

WallTime BootToWallClock::to_wall(uint64_t boot_ns) const {
  // A record's time is the kernel's word: one beyond any real boot time
  // (found by fuzzing) saturates rather than overflows.
  int64_t wall_ns = 0;
  if (boot_ns > static_cast<uint64_t>(INT64_MAX) ||
      __builtin_add_overflow(static_cast<int64_t>(boot_ns), offset_ns_, &wall_ns))
    wall_ns = INT64_MAX;
  int64_t seconds = wall_ns / 1'000'000'000;
  int64_t nanoseconds = wall_ns % 1'000'000'000;
  if (nanoseconds < 0) {
    nanoseconds += 1'000'000'000;
    seconds -= 1;
  }
  return WallTime{seconds, static_cast<uint32_t>(nanoseconds)};
}

void Rfc3339Formatter::append(std::string& out, WallTime time) {
  if (time.seconds != cached_second_) {
    const time_t seconds = static_cast<time_t>(time.seconds);
    tm calendar{};
    gmtime_r(&seconds, &calendar);
    std::snprintf(cached_prefix_, sizeof(cached_prefix_), "%04d-%02d-%02dT%02d:%02d:%02d", calendar.tm_year + 1900,
                  calendar.tm_mon + 1, calendar.tm_mday, calendar.tm_hour, calendar.tm_min, calendar.tm_sec);
    cached_second_ = time.seconds;
  }
  out += cached_prefix_;
  out += '.';
  append_digits(out, time.nanoseconds, 9);
  out += 'Z';
}

void append_local_time_of_day(std::string& out, WallTime time) {
  const time_t seconds = static_cast<time_t>(time.seconds);
  tm calendar{};
  localtime_r(&seconds, &calendar);
  append_digits(out, calendar.tm_hour, 2);
  out += ':';
  append_digits(out, calendar.tm_min, 2);
  out += ':';
  append_digits(out, calendar.tm_sec, 2);
  out += '.';
  append_digits(out, time.nanoseconds / 1000, 6);
}

}  // namespace tracer
