#include "tracer/syscalls/stats_mode.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>

#include "tracer/core/clock.hpp"
#include "tracer/core/signals.hpp"
#include "tracer/output/output_writer.hpp"
#include "tracer/syscalls/stats_report.hpp"

namespace tracer {
namespace {

std::string now_rfc3339() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const auto nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count();
  std::string out;
  Rfc3339Formatter formatter;
  formatter.append(out, WallTime{nanoseconds / 1'000'000'000, static_cast<uint32_t>(nanoseconds % 1'000'000'000)});
  return out;
}

// The kernel kept a process's comm from its first counted call (often the
// shell's, before its exec): the live one is shown where it still runs.
void refresh_comms(StatsReport& report) {
  for (ProcessRow& row : report.processes) {
    std::ifstream file("/proc/" + std::to_string(row.pid) + "/comm");
    std::string comm;
    if (file && std::getline(file, comm)) row.comm = comm;
  }
}

double seconds_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

Status run_stats_loop(TracerBpf& bpf, const Options& options, uint64_t& counted, LossCounts& losses) {
  Result<OutputWriter> writer =
      options.output_file ? OutputWriter::open_file(*options.output_file) : OutputWriter::open_stdout();
  if (!writer) return writer.take_error();
  Result<UniqueFd> signal_fd = handled_signals_fd("cannot set up the stats loop");
  if (!signal_fd) return signal_fd.take_error();

  const auto print = [&](const SyscallCounts& now, const SyscallCounts& since, double seconds, bool final) -> Status {
    StatsReport report = make_stats_report(now, since, options.stats_top);
    refresh_comms(report);
    if (final) counted = report.calls;
    report.timestamp = now_rfc3339();
    report.seconds = seconds;
    report.final = final;
    writer->buffer() += options.format == OutputFormat::json ? format_stats_json(report) : format_stats_table(report);
    return writer->flush();
  };

  const auto started = std::chrono::steady_clock::now();
  auto interval_start = started;
  SyscallCounts previous;
  Status status = ok_status();
  for (bool stopping = false; !stopping && status;) {
    pollfd waiting{signal_fd->get(), POLLIN, 0};
    const int timeout_ms = options.stats_interval_s ? static_cast<int>(options.stats_interval_s * 1000) : -1;
    const int ready = poll(&waiting, 1, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      status = errno_error("poll");
      break;
    }
    signalfd_siginfo info{};
    while (::read(signal_fd->get(), &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGHUP)
        status = writer->reopen();
      else
        stopping = true;
    }
    if (ready == 0 && options.format != OutputFormat::none) {
      const auto now = std::chrono::steady_clock::now();
      SyscallCounts counts = bpf.read_syscall_counts();
      status = print(counts, previous, seconds_between(interval_start, now), false);
      previous = std::move(counts);
      interval_start = now;
    }
  }
  bpf.detach();
  losses = bpf.read_kernel_losses();
  if (!status) return status;
  if (options.format == OutputFormat::none) return ok_status();
  return print(bpf.read_syscall_counts(), SyscallCounts{}, seconds_between(started, std::chrono::steady_clock::now()),
               true);
}

}  // namespace tracer
