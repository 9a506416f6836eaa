#include "tracer/user_functions/exec_gate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tracer {
namespace {

TEST(ExecGate, MountPointsThatCanHoldExecutables) {
  const std::string mountinfo =
      "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
      "23 22 0:21 / /proc rw,nosuid - proc proc rw\n"
      "24 22 0:22 / /sys rw shared:2 - sysfs sysfs rw\n"
      "25 22 0:23 / /tmp/with\\040space rw - tmpfs tmpfs rw\n"
      "26 22 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
      "27 22 0:25 / /var/lib/docker/overlay2/x/merged rw master:3 - overlay overlay rw\n"
      "malformed line\n";
  EXPECT_EQ(executable_mount_points(mountinfo),
            (std::vector<std::string>{"/", "/tmp/with space", "/var/lib/docker/overlay2/x/merged"}));
}

}  // namespace
}  // namespace tracer
