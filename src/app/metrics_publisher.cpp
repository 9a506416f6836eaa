#include "tracer/app/metrics_publisher.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "tracer/decode/event_table.hpp"
#include "tracer/syscalls/syscall_catalog.hpp"
#include "tracer/user_functions/user_function.hpp"

namespace tracer {
namespace {

constexpr auto kPublishInterval = std::chrono::milliseconds(250);

std::string event_name(uint16_t id, const UserFunctions* user_functions) {
  if (const EventDefinition* definition = event_by_id(id)) return std::string(definition->name);
  if (const std::optional<uint16_t> number = syscall_of_event(id))
    if (const EventDefinition* definition = syscall_event(*number)) return std::string(definition->name);
  if (user_functions)
    if (const EventDefinition* definition = user_functions->by_id(id)) return std::string(definition->name);
  return "event_" + std::to_string(id);
}

}  // namespace

MetricsPublisher::MetricsPublisher(MetricsServer& server, Sources sources)
    : server_(server), sources_(std::move(sources)) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  start_time_seconds_ = double(now.tv_sec) + double(now.tv_nsec) / 1e9;
  // A BPF ring buffer map's first page holds the consumer position, the
  // second the producer's: their difference is what waits to be consumed.
  const long page = sysconf(_SC_PAGESIZE);
  void* consumer = mmap(nullptr, size_t(page), PROT_READ, MAP_SHARED, sources_.ring_buffer_fd, 0);
  void* producer = mmap(nullptr, size_t(page), PROT_READ, MAP_SHARED, sources_.ring_buffer_fd, page);
  if (consumer != MAP_FAILED) consumer_pos_ = static_cast<const volatile uint64_t*>(consumer);
  if (producer != MAP_FAILED) producer_pos_ = static_cast<const volatile uint64_t*>(producer);
}

MetricsPublisher::~MetricsPublisher() {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  if (consumer_pos_) munmap(const_cast<uint64_t*>(consumer_pos_), page);
  if (producer_pos_) munmap(const_cast<uint64_t*>(producer_pos_), page);
}

uint64_t MetricsPublisher::ring_buffer_used() const {
  if (!consumer_pos_ || !producer_pos_) return 0;
  const uint64_t consumer = __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE);
  const uint64_t producer = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
  return producer > consumer ? producer - consumer : 0;
}

void MetricsPublisher::beat(const RunTotals& totals) {
  server_.heartbeat();
  const auto now = std::chrono::steady_clock::now();
  if (now < next_publish_) return;
  next_publish_ = now + kPublishInterval;
  publish(totals);
}

void MetricsPublisher::publish(const RunTotals& totals) {
  MetricsSnapshot snapshot;
  snapshot.version = TRACER_VERSION;
  snapshot.start_time_seconds = start_time_seconds_;
  for (size_t id = 0; id < totals.events_by_id.size(); ++id)
    if (totals.events_by_id[id])
      snapshot.events.push_back(
          {event_name(static_cast<uint16_t>(id), sources_.user_functions), totals.events_by_id[id]});
  for (const LossCause& cause : loss_causes())
    (cause.whole_record ? snapshot.lost : snapshot.incomplete)
        .push_back({std::string(cause.label), totals.losses.kernel[cause.cause]});
  snapshot.lost.push_back({"undecodable", totals.losses.undecodable});
  for (const UserspaceLossCause& cause : userspace_loss_causes())
    snapshot.incomplete.push_back({std::string(cause.label), totals.losses.*cause.count});
  snapshot.ring_buffer_size_bytes = sources_.ring_buffer_bytes;
  snapshot.ring_buffer_used_bytes = ring_buffer_used();
  if (sources_.process_table_entries) snapshot.process_table_entries = sources_.process_table_entries();
  if (sources_.attach_failures) snapshot.attach_failures = sources_.attach_failures();
  if (sources_.outputs) sources_.outputs(snapshot);
  server_.publish(std::move(snapshot));
}

}  // namespace tracer
