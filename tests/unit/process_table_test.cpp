#include "tracer/process/process_table.hpp"

#include <gtest/gtest.h>

#include <map>

#include "record_builder.hpp"
#include "tracer/decode/decode.hpp"

namespace tracer {
namespace {

using testing::build_exec_record;
using testing::build_exit_record;
using testing::build_fork_record;
using testing::ExecRecordSpec;
using testing::nul_joined;
using testing::TaskSpec;

constexpr uint64_t kTickNs = 10'000'000;

// Records are decoded from bytes kept alive for the table's lifetime here.
class ProcessTableTest : public ::testing::Test {
 protected:
  ProcessTableTest()
      : table_(
            ProcessTable::Limits{}, [this](uint32_t pid) { return from_proc(pid); }, kTickNs) {}

  std::optional<ProcessEntry> from_proc(uint32_t pid) {
    ++proc_reads_;
    auto it = proc_.find(pid);
    if (it == proc_.end()) return std::nullopt;
    return it->second;
  }
  Event apply(std::vector<std::byte> bytes) {
    records_.push_back(std::move(bytes));
    Result<Event> event = decode(records_.back(), {});
    EXPECT_TRUE(event.ok());
    table_.apply(*event);
    return *event;
  }
  // A process `pid` (child of ppid) that execs `path` with argv.
  static TaskSpec task(uint32_t pid, uint32_t ppid, uint64_t start, uint64_t parent_start, uint64_t now) {
    TaskSpec spec;
    spec.tgid = spec.tid = pid;
    spec.ppid = ppid;
    spec.start_boot_ns = start;
    spec.parent_start_boot_ns = parent_start;
    spec.boot_ns = now;
    return spec;
  }
  Event exec(const TaskSpec& caller, const std::string& path, const std::vector<std::string>& argv) {
    ExecRecordSpec spec;
    spec.task = caller;
    spec.task.exec_gen = caller.exec_gen + 1;
    spec.pathname = spec.filename = spec.exe = path;
    spec.argv = nul_joined(argv);
    return apply(build_exec_record(spec));
  }
  static std::vector<uint32_t> pids(std::span<const ProcessSummary> lineage) {
    std::vector<uint32_t> out;
    for (const ProcessSummary& process : lineage) out.push_back(process.pid);
    return out;
  }

  std::map<uint32_t, ProcessEntry> proc_;
  int proc_reads_ = 0;
  std::vector<std::vector<std::byte>> records_;
  ProcessTable table_;
};

TEST_F(ProcessTableTest, ParentIsKnownAfterItExited) {
  // 100 (seeded) forks 200, 200 execs sh, forks 300 and exits; 300 execs ls.
  table_.seed({100, 1, 50 * kTickNs, false, std::nullopt, "bash", "/usr/bin/bash", nul_joined({"bash"}), false, {}});
  const TaskSpec bash = task(100, 1, 50 * kTickNs + 123, 0, 600'000'000);
  apply(build_fork_record(bash, 200, 610'000'000));
  const TaskSpec child = task(200, 100, 610'000'000, bash.start_boot_ns, 620'000'000);
  exec(child, "/bin/sh", {"sh", "-c", "ls"});
  TaskSpec shell = child;
  shell.exec_gen = 4;
  apply(build_fork_record(shell, 300, 630'000'000));
  apply(build_exit_record(shell, 0, 0));
  // 300's exec, made before 200 exited, looked up after its exit was applied.
  Event ls = exec(task(300, 200, 630'000'000, 610'000'000, 640'000'000), "/bin/ls", {"ls"});
  const auto lineage = table_.lineage(ls, 8);
  ASSERT_EQ(pids(lineage), (std::vector<uint32_t>{200, 100}));
  EXPECT_EQ(lineage[0].comm, "sh");
  EXPECT_EQ(lineage[0].exe, "/bin/sh");
  EXPECT_EQ(lineage[0].argv.nul_separated, nul_joined({"sh", "-c", "ls"}));
  EXPECT_EQ(lineage[0].exec_gen, 4u);
  EXPECT_EQ(lineage[1].comm, "bash");
  EXPECT_EQ(proc_reads_, 1) << "only pid 1, which no record and no seed told of";
}

TEST_F(ProcessTableTest, ForkCopiesTheParentImage) {
  const TaskSpec parent = task(10, 1, 100, 0, 1000);
  exec(parent, "/usr/bin/python3", {"python3", "app.py"});
  apply(build_fork_record(parent, 11, 1500));
  Event child_record = apply(build_exit_record(task(11, 10, 1500, 100, 2000), 0, 0));
  const auto lineage = table_.lineage(child_record, 1);
  ASSERT_EQ(pids(lineage), std::vector<uint32_t>{10});
  EXPECT_EQ(lineage[0].comm, "python3");
}

TEST_F(ProcessTableTest, UnknownParentIsReadFromProcAndCheckedByStartTime) {
  proc_[77] = {77, 1, 30 * kTickNs, false, std::nullopt, "sshd", "/usr/sbin/sshd", nul_joined({"sshd"}), false, {}};
  // Same tick as /proc's start time: the same process.
  Event record = apply(build_exit_record(task(78, 77, 900, 30 * kTickNs + 5, 1000), 0, 0));
  ASSERT_EQ(pids(table_.lineage(record, 1)), std::vector<uint32_t>{77});
  // A parent whose start differs is a reused pid: not reported.
  Event other = apply(build_exit_record(task(79, 77, 900, 31 * kTickNs, 1000), 0, 0));
  EXPECT_TRUE(table_.lineage(other, 1).empty());
}

TEST_F(ProcessTableTest, PidReuseReplacesTheEntry) {
  exec(task(50, 1, 100, 0, 1000), "/bin/old", {"old"});
  apply(build_exit_record(task(50, 1, 100, 0, 2000), 0, 0));
  exec(task(50, 1, 3000, 0, 4000), "/bin/new", {"new"});
  Event child = apply(build_exit_record(task(51, 50, 5000, 3000, 6000), 0, 0));
  const auto lineage = table_.lineage(child, 1);
  ASSERT_EQ(lineage.size(), 1u);
  EXPECT_EQ(lineage[0].exe, "/bin/new");
}

TEST_F(ProcessTableTest, ExitedProcessesAreEvictedAfterTheGracePeriodOrTheCap) {
  ProcessTable::Limits limits;
  limits.exit_grace_ns = 1'000;
  limits.max_exited = 100;
  ProcessTable table(limits, nullptr, kTickNs);
  std::vector<std::vector<std::byte>> keep;
  const auto feed = [&](std::vector<std::byte> bytes) {
    keep.push_back(std::move(bytes));
    table.apply(*decode(keep.back(), {}));
  };
  // 10,000 short-lived children, each exiting at once, within the grace.
  for (uint32_t i = 0; i < 10'000; ++i) {
    const uint32_t pid = 1000 + i;
    feed(build_fork_record(task(10, 1, 5, 0, 100 + i), pid, 100 + i));
    feed(build_exit_record(task(pid, 10, 100 + i, 5, 100 + i), 0, 0));
  }
  EXPECT_LE(table.peak_size(), 102u) << "the parent, at most 100 exited, and the one being added";
  // Past the grace period, they all go.
  feed(build_exit_record(task(10, 1, 5, 0, 1'000'000), 0, 0));
  feed(build_fork_record(task(1, 0, 0, 0, 2'000'000), 2, 2'000'000));
  EXPECT_LE(table.size(), 3u);
}

TEST_F(ProcessTableTest, LongArgvIsCutAtAWholeArgumentAndFlagged) {
  const std::string long_arg(2000, 'x');
  exec(task(60, 1, 100, 0, 1000), "/bin/cmd", {"cmd", "short", long_arg});
  Event child = apply(build_exit_record(task(61, 60, 2000, 100, 3000), 0, 0));
  const auto lineage = table_.lineage(child, 1);
  ASSERT_EQ(lineage.size(), 1u);
  EXPECT_EQ(lineage[0].argv.nul_separated, nul_joined({"cmd", "short"}));
  EXPECT_TRUE(lineage[0].argv_truncated);
}

}  // namespace
}  // namespace tracer
