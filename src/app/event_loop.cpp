#include "tracer/app/event_loop.hpp"

#include <bpf/libbpf.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>

#include "tracer/app/metrics_publisher.hpp"
#include "tracer/capture/exec_hasher.hpp"
#include "tracer/capture/mem_capture.hpp"
#include "tracer/capture/write_capture.hpp"
#include "tracer/core/clock.hpp"
#include "tracer/core/fd.hpp"
#include "tracer/decode/event_table.hpp"

namespace tracer {
namespace {

using Clock = std::chrono::steady_clock;
// Idle, the loop wakes for records (the kernel wakes it for the first one
// after a quiet spell), signals, and this timer (loss reports, the clock).
constexpr int kIdlePollMs = 100;
constexpr int kBusyPollMs = static_cast<int>(kDeliveryInterval.count());
constexpr auto kLossReportInterval = std::chrono::seconds(1);
constexpr auto kClockRecalibration = std::chrono::seconds(10);
// Records consumed before the loop looks at signals, timers and the outputs
// again: under a load the consumer cannot keep up with the ring buffer never
// runs empty, and a stop must still be heard.
constexpr uint64_t kMaxBatchRecords = 4096;
constexpr auto kHashStopDeadline = std::chrono::seconds(5);

struct RingBufferDeleter {
  void operator()(ring_buffer* buffer) const { ring_buffer__free(buffer); }
};

// State the ring-buffer callback works on.
struct Consumer {
  Sink& sink;
  const DecodeOptions& decode_options;
  const FilterSpec& filters;
  Enricher& enricher;
  RunTotals& totals;
  const ExecutableHooks& executable_hooks;
  ExecHasher* hasher;
  WriteCapture* write_capture;
  MemCapture* mem_capture;
  Status sink_status = ok_status();
  uint64_t batch_records = 0;
  bool batch_full = false;  // consuming stopped with records left

  Status write(const Event& event) {
    if (Status status = sink.write(event); !status) return status;
    ++totals.events_emitted;
    const uint16_t id = event.definition->id;
    if (id >= totals.events_by_id.size()) totals.events_by_id.resize(size_t(id) + 1);
    ++totals.events_by_id[id];
    return ok_status();
  }

  static int on_record(void* context, void* data, size_t size) {
    auto& self = *static_cast<Consumer*>(context);
    const int answer = self.consume(data, size);
    // The record is consumed: libbpf moves past it before it stops.
    if (answer == 0 && ++self.batch_records >= kMaxBatchRecords) {
      self.batch_full = true;
      return -1;
    }
    return answer;
  }

  int consume(void* data, size_t size) {
    Consumer& self = *this;
    if (size >= sizeof(tracer_executable_record) &&
        static_cast<const tracer_record_header*>(data)->kind == TRACER_RECORD_EXECUTABLE) {
      tracer_executable_record record;
      std::memcpy(&record, data, sizeof(record));
      if (self.executable_hooks.on_new_executable) self.executable_hooks.on_new_executable(record);
      return 0;
    }
    Result<Event> event = decode({static_cast<const std::byte*>(data), size}, self.decode_options);
    if (!event) {
      ++self.totals.losses.undecodable;
      return 0;
    }
    if (event->unverified_executable && self.executable_hooks.admit_unverified &&
        !self.executable_hooks.admit_unverified(*event))
      return 0;  // not a program this event is about (e.g. readline, not in bash)
    self.enricher.observe(*event);
    if (event->context_only) return 0;
    if (!self.filters.argument_filters.empty() && !passes_argument_filters(self.filters, *event)) return 0;
    if (event->definition->id == kWriteCaptureEventId &&
        (!self.write_capture || !self.write_capture->annotate(*event, {static_cast<const std::byte*>(data), size})))
      return 0;  // outside the globs: the kernel matched their prefix only
    if (event->definition->id == kMemCaptureEventId &&
        (!self.mem_capture || !self.mem_capture->annotate(*event, {static_cast<const std::byte*>(data), size})))
      return 0;  // not the call's last chunk
    self.enricher.enrich(*event);
    if (self.hasher) self.hasher->annotate(*event);
    if (Status status = self.write(*event); !status) {
      self.sink_status = std::move(status);
      return -1;  // stop consuming; the loop reports the error
    }
    return 0;
  }
};

// The write captures' counts for the loss report, and their notices.
void note_write_captures(Consumer& consumer) {
  WriteCapture* capture = consumer.write_capture;
  if (!capture) return;
  consumer.totals.losses.write_captures_not_saved = capture->counters().chunks_not_saved;
  if (std::optional<std::string> notice = capture->take_notice()) std::fprintf(stderr, "tracer: %s\n", notice->c_str());
}

// The memory captures' count for the loss report, and their notices.
void note_mem_captures(Consumer& consumer) {
  MemCapture* capture = consumer.mem_capture;
  if (!capture) return;
  consumer.totals.losses.mem_captures_not_saved = capture->not_saved();
  if (std::optional<std::string> notice = capture->take_notice()) std::fprintf(stderr, "tracer: %s\n", notice->c_str());
}

// The hash records the worker finished, and its counts for the loss report.
Status emit_hashes(Consumer& consumer) {
  ExecHasher* hasher = consumer.hasher;
  if (!hasher) return ok_status();
  Status status = hasher->emit_finished([&consumer](const Event& event) { return consumer.write(event); });
  consumer.totals.losses.execs_not_hashed = hasher->counters().execs_not_hashed;
  consumer.totals.losses.captures_over_limit = hasher->counters().captures_over_limit;
  if (std::optional<std::string> notice = hasher->take_notice()) std::fprintf(stderr, "tracer: %s\n", notice->c_str());
  return status;
}

std::vector<OutputMetrics> output_counters(const Sink& sink) {
  MetricsSnapshot snapshot;
  sink.add_metrics(snapshot);
  return std::move(snapshot.outputs);
}

// Stop: no new records, then drain what the kernel already wrote.
Status stop(TracerBpf& bpf, Sink& sink, RunTotals& totals, ExecHasher* hasher, const std::function<Status()>& consume) {
  bpf.detach();
  if (Status status = consume(); !status) return status;
  if (hasher) {
    // The hashes of the execs already written follow them, within a bound.
    hasher->finish(Clock::now() + kHashStopDeadline);
    if (Status status = consume(); !status) return status;
  }
  const LossCounts userspace = totals.losses;
  totals.losses = bpf.read_kernel_losses();
  totals.losses.keep_userspace_counts(userspace);
  sink.note_stop(totals.events_emitted, totals.losses);
  Status flushed = sink.flush();  // bounded in time, whatever the readers do
  totals.outputs = output_counters(sink);
  return flushed;
}

// Adds each fd that is set (>= 0) to the epoll set, for input.
Status watch_for_input(int epoll_fd, std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd < 0) continue;
    epoll_event interest{};
    interest.events = EPOLLIN;
    interest.data.fd = fd;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &interest) != 0) return errno_error("cannot set up the event loop");
  }
  return ok_status();
}

// What epoll reported: the exec gate's requests, SIGHUP (reopen the outputs)
// and the stop signals. Sets stopping when a stop signal came.
Status handle_ready(const epoll_event* ready, int count, int signal_fd, const ExecutableHooks& executable_hooks,
                    Sink& sink, bool& stopping) {
  for (int i = 0; i < count; ++i) {
    if (ready[i].data.fd == executable_hooks.gate_fd) executable_hooks.on_gate_ready();
    if (ready[i].data.fd != signal_fd) continue;
    signalfd_siginfo info{};
    while (::read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo != SIGHUP) {
        stopping = true;
      } else if (Status status = sink.reopen(); !status) {
        return status;
      }
    }
  }
  return ok_status();
}

// Once a second the losses (kernel and userspace) go to the outputs and, when
// they changed, to stderr; every 10 s the clock is calibrated again and stale
// user calls are swept.
class PeriodicReports {
 public:
  void tick(TracerBpf& bpf, Sink& sink, RunTotals& totals, BootToWallClock& clock) {
    const auto now = Clock::now();
    if (now >= next_loss_report_) {
      next_loss_report_ = now + kLossReportInterval;
      report_losses(bpf, sink, totals);
    }
    if (now >= next_calibration_) {
      next_calibration_ = now + kClockRecalibration;
      clock = BootToWallClock::calibrate();
      bpf.sweep_user_calls();
    }
  }

 private:
  void report_losses(TracerBpf& bpf, Sink& sink, RunTotals& totals) {
    const LossCounts userspace = totals.losses;
    totals.losses = bpf.read_kernel_losses();
    totals.losses.keep_userspace_counts(userspace);
    sink.note_losses(totals.losses);
    if (!(totals.losses == reported_)) {
      std::fprintf(stderr, "tracer: %s\n", describe_losses(totals.losses).c_str());
      reported_ = totals.losses;
    }
    // An output that cannot keep up, or cannot write, costs only its own records.
    if (std::string outputs = describe_output_losses(output_counters(sink)); outputs != reported_outputs_) {
      if (!outputs.empty()) std::fprintf(stderr, "tracer: %s\n", outputs.c_str());
      reported_outputs_ = std::move(outputs);
    }
  }

  LossCounts reported_;
  std::string reported_outputs_;
  Clock::time_point next_loss_report_ = Clock::now() + kLossReportInterval;
  Clock::time_point next_calibration_ = Clock::now() + kClockRecalibration;
};

}  // namespace

Status run_event_loop(TracerBpf& bpf, Sink& sink, const DecodeOptions& decode_options, const FilterSpec& filters,
                      Enricher& enricher, BootToWallClock& clock, RunTotals& totals,
                      const ExecutableHooks& executable_hooks, MetricsPublisher* metrics, ExecHasher* hasher,
                      WriteCapture* write_capture, MemCapture* mem_capture) {
  Consumer consumer{sink,   decode_options, filters,    enricher, totals, executable_hooks,
                    hasher, write_capture,  mem_capture};
  std::unique_ptr<ring_buffer, RingBufferDeleter> ring(
      ring_buffer__new(bpf.ring_buffer_fd(), &Consumer::on_record, &consumer, nullptr));
  if (!ring) return errno_error("cannot map the ring buffer");

  Result<UniqueFd> signal_fd = handled_signals_fd("cannot set up the event loop");
  if (!signal_fd) return signal_fd.take_error();
  UniqueFd epoll_fd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) return errno_error("cannot set up the event loop");
  if (Status status = watch_for_input(epoll_fd.get(), {signal_fd->get(), ring_buffer__epoll_fd(ring.get()),
                                                       hasher ? hasher->ready_fd() : -1, executable_hooks.gate_fd});
      !status)
    return status;

  // Records flowing: the kernel does not wake the loop for each one, so it
  // polls at the delivery pace until the ring and the outputs are quiet.
  bool busy = false;
  const auto consume = [&]() -> Status {
    consumer.batch_records = 0;
    consumer.batch_full = false;
    if (ring_buffer__consume(ring.get()) < 0 && consumer.sink_status.ok() && !consumer.batch_full)
      return errno_error("reading the ring buffer");
    busy = consumer.batch_records > 0;
    if (!consumer.sink_status) return std::move(consumer.sink_status);
    if (Status status = emit_hashes(consumer); !status) return status;
    note_write_captures(consumer);
    note_mem_captures(consumer);
    Status status = sink.end_of_batch();
    busy = busy || sink.holds_lines();
    return status;
  };

  PeriodicReports reports;
  bool stopping = false;
  while (!stopping) {
    epoll_event ready[4];
    // Records left in the ring buffer may not wake epoll again: no wait then.
    const int timeout_ms = consumer.batch_full ? 0 : busy ? kBusyPollMs : kIdlePollMs;
    const int count = epoll_wait(epoll_fd.get(), ready, 4, timeout_ms);
    if (count < 0 && errno != EINTR) return errno_error("epoll_wait");
    if (Status status = handle_ready(ready, count, signal_fd->get(), executable_hooks, sink, stopping); !status)
      return status;
    if (Status status = consume(); !status) return status;
    if (metrics) metrics->beat(totals);
    reports.tick(bpf, sink, totals, clock);
  }

  if (executable_hooks.close_gate) executable_hooks.close_gate();
  // All of it at the stop: nothing new comes after detach.
  const auto drain = [&]() -> Status {
    do {
      if (Status status = consume(); !status) return status;
    } while (consumer.batch_full);
    return ok_status();
  };
  return stop(bpf, sink, totals, hasher, drain);
}

}  // namespace tracer
