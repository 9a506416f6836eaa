#include "tracer/syscalls/stats_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "tracer/core/escape.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"

namespace tracer {
namespace {

std::string_view syscall_name_of(uint16_t number) {
  const EventDefinition* definition = syscall_event(number);
  return definition ? definition->name : std::string_view("?");
}

template <typename Row>
void keep_busiest(std::vector<Row>& rows, size_t top) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.calls > b.calls; });
  if (rows.size() > top) rows.resize(top);
}

}  // namespace

StatsReport make_stats_report(const SyscallCounts& now, const SyscallCounts& since, size_t top) {
  StatsReport report;
  for (size_t number = 0; number < now.by_syscall.size(); ++number) {
    SyscallRow row;
    row.number = static_cast<uint16_t>(number);
    row.calls = now.by_syscall[number].calls;
    row.errors = now.by_syscall[number].errors;
    if (number < since.by_syscall.size()) {
      row.calls -= std::min<uint64_t>(row.calls, since.by_syscall[number].calls);
      row.errors -= std::min<uint64_t>(row.errors, since.by_syscall[number].errors);
    }
    if (row.calls == 0) continue;
    report.calls += row.calls;
    report.errors += row.errors;
    report.syscalls.push_back(row);
  }
  std::unordered_map<uint32_t, const tracer_process_stats*> earlier;
  for (const auto& [pid, counts] : since.by_process) earlier[pid] = &counts;
  for (const auto& [pid, counts] : now.by_process) {
    ProcessRow row;
    row.pid = pid;
    row.comm.assign(counts.comm, strnlen(counts.comm, sizeof(counts.comm)));
    row.calls = counts.calls;
    row.errors = counts.errors;
    if (const auto found = earlier.find(pid); found != earlier.end()) {
      row.calls -= std::min<uint64_t>(row.calls, found->second->calls);
      row.errors -= std::min<uint64_t>(row.errors, found->second->errors);
    }
    if (row.calls) report.processes.push_back(std::move(row));
  }
  report.syscalls_seen = report.syscalls.size();
  report.processes_seen = report.processes.size();
  keep_busiest(report.syscalls, top);
  keep_busiest(report.processes, top);
  return report;
}

std::string format_stats_table(const StatsReport& report) {
  std::string out;
  fmt::format_to(std::back_inserter(out), "{} {}: {:.1f} s, {} calls, {} errors, {} syscalls, {} processes\n",
                 report.timestamp, report.final ? "total" : "interval", report.seconds, report.calls, report.errors,
                 report.syscalls_seen, report.processes_seen);
  fmt::format_to(std::back_inserter(out), "{:<24} {:>12} {:>10}\n", "SYSCALL", "CALLS", "ERRORS");
  for (const SyscallRow& row : report.syscalls)
    fmt::format_to(std::back_inserter(out), "{:<24} {:>12} {:>10}\n", syscall_name_of(row.number), row.calls,
                   row.errors);
  fmt::format_to(std::back_inserter(out), "{:<8} {:<16} {:>12} {:>10}\n", "PID", "COMM", "CALLS", "ERRORS");
  for (const ProcessRow& row : report.processes) {
    std::string comm;
    append_terminal_safe(comm, row.comm);
    fmt::format_to(std::back_inserter(out), "{:<8} {:<16} {:>12} {:>10}\n", row.pid, comm, row.calls, row.errors);
  }
  out += '\n';
  return out;
}

std::string format_stats_json(const StatsReport& report) {
  std::string out;
  fmt::format_to(std::back_inserter(out),
                 R"({{"timestamp":"{}","event":"syscall_stats","final":{},"seconds":{:.3f},"calls":{},"errors":{},)"
                 R"("syscalls_seen":{},"processes_seen":{},"syscalls":[)",
                 report.timestamp, report.final, report.seconds, report.calls, report.errors, report.syscalls_seen,
                 report.processes_seen);
  for (size_t i = 0; i < report.syscalls.size(); ++i) {
    const SyscallRow& row = report.syscalls[i];
    fmt::format_to(std::back_inserter(out), R"({}{{"name":"{}","nr":{},"calls":{},"errors":{}}})", i ? "," : "",
                   syscall_name_of(row.number), row.number, row.calls, row.errors);
  }
  out += R"(],"processes":[)";
  for (size_t i = 0; i < report.processes.size(); ++i) {
    const ProcessRow& row = report.processes[i];
    fmt::format_to(std::back_inserter(out), R"({}{{"pid":{},"comm":")", i ? "," : "", row.pid);
    append_json_string_body(out, row.comm);
    fmt::format_to(std::back_inserter(out), R"(","calls":{},"errors":{}}})", row.calls, row.errors);
  }
  out += "]}\n";
  return out;
}

}  // namespace tracer
