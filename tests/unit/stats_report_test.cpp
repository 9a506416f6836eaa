#include "tracer/syscalls/stats_report.hpp"

#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <cstring>
#include <nlohmann/json.hpp>

namespace tracer {
namespace {

SyscallCounts counts(std::vector<std::pair<uint16_t, tracer_syscall_stats>> syscalls,
                     std::vector<std::tuple<uint32_t, const char*, uint64_t, uint64_t>> processes) {
  SyscallCounts out;
  out.by_syscall.resize(TRACER_SYSCALL_NR_MAX);
  for (const auto& [number, stats] : syscalls) out.by_syscall[number] = stats;
  for (const auto& [pid, comm, calls, errors] : processes) {
    tracer_process_stats stats{};
    stats.calls = calls;
    stats.errors = errors;
    std::strncpy(stats.comm, comm, sizeof(stats.comm) - 1);
    out.by_process.emplace_back(pid, stats);
  }
  return out;
}

TEST(StatsReport, BusiestFirstAndTop) {
  const SyscallCounts now =
      counts({{0, {10, 1}}, {1, {30, 0}}, {257, {20, 5}}}, {{100, "cat", 5, 0}, {200, "bash", 55, 6}});
  const StatsReport report = make_stats_report(now, SyscallCounts{}, 2);
  EXPECT_EQ(report.calls, 60u);
  EXPECT_EQ(report.errors, 6u);
  EXPECT_EQ(report.syscalls_seen, 3u);
  ASSERT_EQ(report.syscalls.size(), 2u);
  EXPECT_EQ(report.syscalls[0].number, 1);
  EXPECT_EQ(report.syscalls[1].number, 257);
  EXPECT_EQ(report.syscalls[1].errors, 5u);
  ASSERT_EQ(report.processes.size(), 2u);
  EXPECT_EQ(report.processes[0].comm, "bash");
}

TEST(StatsReport, IntervalIsTheDifference) {
  const SyscallCounts before = counts({{1, {30, 0}}}, {{200, "bash", 30, 0}});
  const SyscallCounts after = counts({{1, {45, 2}}, {3, {4, 0}}}, {{200, "bash", 40, 2}, {300, "new", 9, 0}});
  const StatsReport report = make_stats_report(after, before, 10);
  EXPECT_EQ(report.calls, 19u);
  ASSERT_EQ(report.syscalls.size(), 2u);
  EXPECT_EQ(report.syscalls[0].calls, 15u);
  EXPECT_EQ(report.syscalls[0].errors, 2u);
  ASSERT_EQ(report.processes.size(), 2u);
  EXPECT_EQ(report.processes[0].pid, 200u);
  EXPECT_EQ(report.processes[0].calls, 10u);
}

TEST(StatsReport, JsonLineAndTable) {
  StatsReport report = make_stats_report(counts({{__NR_getppid, {7, 0}}}, {{42, "a\"b", 7, 0}}), SyscallCounts{}, 5);
  report.timestamp = "2026-11-23T00:00:00.000000000Z";
  report.seconds = 2;
  report.final = true;
  const std::string line = format_stats_json(report);
  ASSERT_EQ(line.back(), '\n');
  const auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["event"], "syscall_stats");
  EXPECT_EQ(json["syscalls"][0]["name"], "getppid");
  EXPECT_EQ(json["syscalls"][0]["calls"], 7);
  EXPECT_EQ(json["processes"][0]["comm"], "a\"b");
  const std::string table = format_stats_table(report);
  EXPECT_NE(table.find("getppid"), std::string::npos);
  EXPECT_NE(table.find("total: 2.0 s, 7 calls, 0 errors"), std::string::npos) << table;
}

}  // namespace
}  // namespace tracer
