#pragma once
// Kernel event times are boot-clock nanoseconds (bpf_ktime_get_boot_ns); users
// read wall-clock time. The offset between the two is measured, and measured
// again while running so that clock steps (NTP, settimeofday) are followed.

#include <chrono>
#include <cstdint>
#include <string>

namespace tracer {

// How long a record may wait on its way to the outputs: the kernel wakes the
// consumer for the first record after this much quiet, the consumer polls at
// this pace while records flow, and file outputs get a batch at least this
// often. A quiet tracer shows an event at once; under traffic records batch
// within it. 5 ms cost 9x the CPU per exec at 300 execs/s (a wakeup, a
// hand-off and a write per few records); at 100 ms the storm costs what it
// did before the first-record wakeup existed.
inline constexpr std::chrono::milliseconds kDeliveryInterval{100};
// A record that comes after this long without records goes out at once,
// even within kDeliveryInterval of the last delivery: sparse traffic is
// not traffic to batch. Steady traffic (a record every few ms, a storm)
// never leaves such a gap and still batches.
inline constexpr std::chrono::milliseconds kQuietGap{10};

struct WallTime {
  int64_t seconds = 0;  // since the Unix epoch, UTC
  uint32_t nanoseconds = 0;
};

class BootToWallClock {
 public:
  explicit BootToWallClock(int64_t offset_ns) : offset_ns_(offset_ns) {}
  // Samples CLOCK_REALTIME around CLOCK_BOOTTIME and keeps the tightest pair.
  static BootToWallClock calibrate();

  WallTime to_wall(uint64_t boot_ns) const;

 private:
  int64_t offset_ns_;
};

// "2026-11-23T04:30:30.123456789Z" (RFC 3339, UTC, nanoseconds). Caches the
// calendar part of the last second it formatted.
class Rfc3339Formatter {
 public:
  void append(std::string& out, WallTime time);

 private:
  int64_t cached_second_ = -1;
  char cached_prefix_[64] = {};  // "YYYY-MM-DDTHH:MM:SS"
};

// "HH:MM:SS.ffffff" in local time (the table's TIME column).
void append_local_time_of_day(std::string& out, WallTime time);

}  // namespace tracer
