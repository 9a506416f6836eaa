#include "tracer/output/nats_output.hpp"

#ifdef TRACER_HAVE_NATS
#include "tracer/output/nats_api.hpp"
#endif

#include <linux/capability.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tracer/core/clock.hpp"
#include "tracer/core/escape.hpp"
#include "tracer/core/shared_library.hpp"
#include "tracer/output/nats_spool.hpp"
#include "tracer/output/output_writer.hpp"

namespace tracer {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

#ifdef TRACER_HAVE_NATS

namespace {

constexpr size_t kQueueBytes = 1024 * 1024;
constexpr auto kPoll = std::chrono::milliseconds(20);
// How long an acknowledgement may take before the message counts as not
// stored (it is then spooled and resent: its id makes the resend harmless).
constexpr int64_t kAckWaitMs = 5000;
// After a failed publish on a connection that looks up, the next try waits
// this long: a stream that refuses is not hammered.
constexpr auto kRetryAfterFailure = std::chrono::seconds(1);
constexpr auto kDrainSlice = std::chrono::milliseconds(200);
// How long a record waits for room in the window before, with a spool, it
// goes there instead.
constexpr auto kRoomPatience = std::chrono::milliseconds(100);

// This thread, and libnats' threads it starts (they inherit from it), talk to
// the network: they hold no capability, whatever the rest of the run keeps.
void drop_thread_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  syscall(SYS_capset, &header, data);
}

struct InFlight {
  std::string id;
  std::string body;  // empty for a record of the spool, which keeps it
  bool from_spool = false;
};

}  // namespace

// The writer thread's side, and what libnats' callbacks report to it.
class NatsChannel {
 public:
  NatsChannel(const NatsApi& api, NatsSettings settings, std::string prefix, std::optional<NatsSpool> spool)
      : api_(api), settings_(std::move(settings)), prefix_(std::move(prefix)), spool_(std::move(spool)) {}
  NatsChannel(const NatsChannel&) = delete;
  NatsChannel& operator=(const NatsChannel&) = delete;
  ~NatsChannel() { close_connection(); }

  void run();
  // What the thread's connect() said (it connects, or goes on trying).
  Status wait_connected();
  void give(OutputBatch& filling);
  void drain(Clock::time_point deadline);
  bool stop(Clock::duration grace);
  OutputMetrics counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
  }

 private:
  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck*, jsPubAckErr* error, void* closure);
  static void on_connection_change(natsConnection*, void* closure);
  Status connect();
  Status set_options(natsOptions* options);
  void close_connection();

  void step();
  void collect_acks();
  void update_state();
  Status ensure_stream();
  void drain_spool_segment();
  bool wait_for_acks(Clock::time_point deadline);
  void spool_pending_batches();
  void abandon_in_flight();
  bool wait_for_room(bool draining);
  void route(const OutputBatch& batch);
  bool publish(const std::string& id, std::string_view body);
  void go_offline(const std::string& why);
  void note_delivered(uint64_t records, uint64_t bytes);
  void spool_records(std::span<const SpooledRecord> records);
  void finish();
  void count(uint64_t OutputMetrics::*field, uint64_t records) {
    std::lock_guard lock(mutex_);
    counters_.*field += records;
  }

  const NatsApi& api_;
  const NatsSettings settings_;
  const std::string prefix_;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;

  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable progress_;
  // Under mutex_:
  OutputBatch pending_;
  OutputMetrics counters_;
  size_t in_flight_ = 0;  // window_'s size, for drain()
  bool busy_ = false;
  bool stop_ = false;
  bool stalled_at_stop_ = false;
  bool exited_ = false;
  bool connection_changed_ = false;
  std::optional<Status> connected_;

  // Under ack_mutex_ (libnats' threads write them):
  std::mutex ack_mutex_;
  std::condition_variable acked_;
  std::unordered_set<std::string> acked_ids_;
  std::string ack_error_;

  // The writer thread's own:
  std::optional<NatsSpool> spool_;
  OutputBatch writing_;
  std::deque<InFlight> window_;
  uint64_t next_number_ = 0;
  bool online_ = false;
  bool stream_ready_ = false;
  bool outage_reported_ = false;
  Clock::time_point retry_at_{};
};

void NatsChannel::on_ack(jsCtx*, natsMsg* msg, jsPubAck*, jsPubAckErr* error, void* closure) {
  auto& channel = *static_cast<NatsChannel*>(closure);
  const char* id = nullptr;
  if (msg && channel.api_.natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK) id = nullptr;
  {
    std::lock_guard lock(channel.ack_mutex_);
    if (error)
      channel.ack_error_ = error->ErrText ? error->ErrText : channel.api_.natsStatus_GetText(error->Err);
    else if (id)
      channel.acked_ids_.insert(id);
  }
  channel.acked_.notify_all();
  channel.api_.natsMsg_Destroy(msg);
}

void NatsChannel::on_connection_change(natsConnection*, void* closure) {
  auto& channel = *static_cast<NatsChannel*>(closure);
  {
    std::lock_guard lock(channel.mutex_);
    channel.connection_changed_ = true;
  }
  channel.work_.notify_one();
}

Status NatsChannel::set_options(natsOptions* options) {
  if (Status set = set_nats_connection_options(api_, options, settings_, "tracer"); !set)
    return runtime_error("--output " + set.error().message);
  natsStatus status = api_.natsOptions_SetMaxReconnect(options, -1);
  if (status == NATS_OK) status = api_.natsOptions_SetReconnectWait(options, 500);
  // With a spool, a record published while libnats reconnects is refused
  // (its buffer holds one byte) and goes to the spool, behind the records in
  // flight: libnats would otherwise send it on reconnecting, ahead of them.
  if (status == NATS_OK && spool_) status = api_.natsOptions_SetReconnectBufSize(options, 1);
  if (status == NATS_OK)
    status = api_.natsOptions_SetRetryOnFailedConnect(options, true, &NatsChannel::on_connection_change, this);
  if (status == NATS_OK) status = api_.natsOptions_SetDisconnectedCB(options, &NatsChannel::on_connection_change, this);
  if (status == NATS_OK) status = api_.natsOptions_SetReconnectedCB(options, &NatsChannel::on_connection_change, this);
  if (status != NATS_OK) return runtime_error("--output nats: " + api_.error_text(status));
  return ok_status();
}

// Connects, or goes on trying in the background: a tracer started while no
// server answers spools from its first record.
Status NatsChannel::connect() {
  natsOptions* options = nullptr;
  if (natsStatus status = api_.natsOptions_Create(&options); status != NATS_OK)
    return runtime_error("--output nats: " + api_.error_text(status));
  Status set = set_options(options);
  natsStatus status = set ? api_.natsConnection_Connect(&connection_, options) : NATS_OK;
  api_.natsOptions_Destroy(options);
  if (!set) return set;
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED)
    return runtime_error("--output nats: cannot connect to " + settings_.servers.front() + ": " +
                         api_.error_text(status));
  jsOptions js_options;
  api_.jsOptions_Init(&js_options);
  js_options.Wait = kAckWaitMs;
  js_options.PublishAsync.MaxPending = kNatsMaxInFlight;
  js_options.PublishAsync.AckHandler = &NatsChannel::on_ack;
  js_options.PublishAsync.AckHandlerClosure = this;
  if (status = api_.natsConnection_JetStream(&js_, connection_, &js_options); status != NATS_OK)
    return runtime_error("--output nats: JetStream: " + api_.error_text(status));
  return ok_status();
}

void NatsChannel::close_connection() {
  if (js_) api_.jsCtx_Destroy(std::exchange(js_, nullptr));
  if (connection_) {
    api_.natsConnection_Close(connection_);
    api_.natsConnection_Destroy(std::exchange(connection_, nullptr));
  }
}

Status NatsChannel::wait_connected() {
  std::unique_lock lock(mutex_);
  progress_.wait(lock, [&] { return connected_.has_value(); });
  return *connected_;
}

void NatsChannel::run() {
  drop_thread_capabilities();
  Status connected = connect();
  std::unique_lock lock(mutex_);
  connected_ = connected;
  progress_.notify_all();
  if (!connected) {
    exited_ = true;
    return;
  }
  for (;;) {
    work_.wait_for(lock, in_flight_ ? kPoll : kPoll * 5,
                   [&] { return !pending_.empty() || stop_ || connection_changed_; });
    if (stop_ && pending_.empty()) break;
    connection_changed_ = false;
    std::swap(pending_, writing_);
    busy_ = true;
    lock.unlock();
    step();
    lock.lock();
    writing_.clear();
    in_flight_ = window_.size();
    busy_ = false;
    progress_.notify_all();
  }
  lock.unlock();
  finish();
  lock.lock();
  exited_ = true;
  progress_.notify_all();
}

void NatsChannel::step() {
  collect_acks();
  update_state();
  // The spool drains a segment at a time, for a while, then the thread
  // takes the consumer's next batch (into the spool, behind the rest).
  const auto until = Clock::now() + kDrainSlice;
  while (online_ && spool_ && !spool_->empty() && window_.empty() && Clock::now() < until) drain_spool_segment();
  if (!writing_.empty()) route(writing_);
}

// What was acknowledged, oldest first; a refusal or a lost ack takes the
// connection offline for a moment (what is in flight is spooled).
void NatsChannel::collect_acks() {
  std::string error;
  uint64_t written = 0, bytes = 0;
  {
    std::lock_guard lock(ack_mutex_);
    while (!window_.empty() && acked_ids_.erase(window_.front().id)) {
      if (!window_.front().from_spool) {
        ++written;
        bytes += window_.front().body.size() + 1;
      }
      window_.pop_front();
    }
    if (window_.empty()) acked_ids_.clear();  // late acks of records already given up
    error = std::exchange(ack_error_, {});
  }
  if (written) note_delivered(written, bytes);
  if (!error.empty() && online_) go_offline(error);
}

void NatsChannel::update_state() {
  const bool connected = api_.natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED;
  if (online_ && !connected) go_offline("disconnected");
  if (online_ || !connected || Clock::now() < retry_at_) return;
  if (!stream_ready_) {
    if (Status status = ensure_stream(); !status) {
      go_offline(status.error().message);
      return;
    }
    stream_ready_ = true;
  }
  online_ = true;
}

// The end of an outage is said once a record is acknowledged again (a server
// that takes connections before its JetStream is ready has not ended it).
void NatsChannel::note_delivered(uint64_t records, uint64_t bytes) {
  count(&OutputMetrics::records_written, records);
  count(&OutputMetrics::bytes_written, bytes);
  if (!outage_reported_) return;
  std::fprintf(stderr, "tracer: NATS %s: publishing again\n", terminal_safe(settings_.subject).c_str());
  outage_reported_ = false;
}

// The stream that covers the subject, or a new one when none does.
Status NatsChannel::ensure_stream() {
  jsOptions options;
  api_.jsOptions_Init(&options);
  options.Stream.Info.SubjectsFilter = settings_.subject.c_str();
  jsStreamNamesList* names = nullptr;
  jsErrCode code{};
  natsStatus status = api_.js_StreamNames(&names, js_, &options, &code);
  const bool found = status == NATS_OK && names && names->Count > 0;
  if (names) api_.jsStreamNamesList_Destroy(names);
  if (found) return ok_status();
  if (status != NATS_OK && status != NATS_NOT_FOUND)
    return runtime_error("cannot list the streams: " + api_.error_text(status));
  jsStreamConfig config;
  api_.jsStreamConfig_Init(&config);
  const char* subjects[] = {settings_.subject.c_str()};
  config.Name = settings_.stream.c_str();
  config.Subjects = subjects;
  config.SubjectsLen = 1;
  config.Replicas = settings_.replicas;
  config.Storage = js_FileStorage;
  jsStreamInfo* info = nullptr;
  status = api_.js_AddStream(&info, js_, &config, nullptr, &code);
  if (info) api_.jsStreamInfo_Destroy(info);
  if (status != NATS_OK)
    return runtime_error("cannot create stream " + settings_.stream + ": " + api_.error_text(status));
  return ok_status();
}

// One segment of the spool, published and acknowledged whole before the
// next (and before any newer record), then removed.
void NatsChannel::drain_spool_segment() {
  Result<std::vector<SpooledRecord>> records = spool_->read_oldest();
  if (!records) {
    go_offline(records.error().message);
    return;
  }
  for (const SpooledRecord& record : *records) {
    if (!wait_for_room(true) || !publish(record.id, record.body)) return;
    window_.push_back({record.id, {}, true});
  }
  wait_for_acks(Clock::now() + std::chrono::milliseconds(kAckWaitMs));
  if (!online_ || !window_.empty()) {
    if (online_) go_offline("acknowledgements missing");
    return;
  }
  if (Status status = spool_->remove_oldest(); !status)
    std::fprintf(stderr, "tracer: %s\n", terminal_safe(status.error().message).c_str());
  uint64_t bytes = 0;
  for (const SpooledRecord& record : *records) bytes += record.body.size() + 1;
  note_delivered(records->size(), bytes);
}

// Until the window is acknowledged, or the deadline. Meanwhile what the
// consumer hands over goes to the spool (behind the segment being sent),
// so its queue never fills while a failover makes the acks slow.
bool NatsChannel::wait_for_acks(Clock::time_point deadline) {
  for (;;) {
    collect_acks();
    if (!online_ || window_.empty()) return online_;
    if (Clock::now() >= deadline) return false;
    spool_pending_batches();
    std::unique_lock lock(ack_mutex_);
    acked_.wait_for(lock, kPoll);
  }
}

void NatsChannel::spool_pending_batches() {
  OutputBatch batch;
  {
    std::lock_guard lock(mutex_);
    if (pending_.empty()) return;
    std::swap(pending_, batch);
  }
  route(batch);  // the spool is not empty: every record goes to it, in order
}

// Records given up (spooled, or lost without a spool) are dropped from
// libnats' own list too: no late timeout of theirs takes the connection
// offline again, and no stale one holds a slot of MaxPending.
void NatsChannel::abandon_in_flight() {
  natsMsgList abandoned{};
  if (api_.js_PublishAsyncGetPendingList(&abandoned, js_) == NATS_OK) api_.natsMsgList_Destroy(&abandoned);
  std::lock_guard lock(ack_mutex_);
  acked_ids_.clear();
  ack_error_.clear();
}

// Until fewer than kNatsMaxInFlight await their acknowledgement. While the
// spool is being sent, what the consumer hands over meanwhile goes behind it;
// otherwise, with a spool, a record that finds no room soon goes to it (and
// the rest of its batch after it): the thread is back at the consumer's
// queue before that fills.
bool NatsChannel::wait_for_room(bool draining) {
  const auto patience = Clock::now() + kRoomPatience;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kAckWaitMs);
  while (online_ && window_.size() >= static_cast<size_t>(kNatsMaxInFlight)) {
    if (draining)
      spool_pending_batches();
    else if (spool_ && Clock::now() >= patience)
      return false;
    {
      std::unique_lock lock(ack_mutex_);
      acked_.wait_for(lock, kPoll);
    }
    collect_acks();
    if (online_ && Clock::now() >= deadline) go_offline("acknowledgements missing");
  }
  return online_;
}

bool NatsChannel::publish(const std::string& id, std::string_view body) {
  jsPubOptions options;
  api_.jsPubOptions_Init(&options);
  options.MsgId = id.c_str();
  options.MaxWait = kAckWaitMs;
  const natsStatus status =
      api_.js_PublishAsync(js_, settings_.subject.c_str(), body.data(), static_cast<int>(body.size()), &options);
  if (status != NATS_OK) go_offline(api_.error_text(status));
  return status == NATS_OK;
}

// Each record of the batch numbered, then published (the spool empty and a
// server answering), else spooled, else lost.
void NatsChannel::route(const OutputBatch& batch) {
  std::vector<SpooledRecord> to_spool;
  uint32_t start = 0;
  for (const uint32_t end : batch.record_ends) {
    std::string_view body = std::string_view(batch.bytes).substr(start, end - start);
    start = end;
    if (body.ends_with('\n')) body.remove_suffix(1);
    std::string id = nats_message_id(prefix_, next_number_++);
    if (online_ && to_spool.empty() && (!spool_ || spool_->empty()) && wait_for_room(false) && publish(id, body)) {
      window_.push_back({std::move(id), std::string(body), false});
      continue;
    }
    to_spool.push_back({std::move(id), std::string(body)});
  }
  spool_records(to_spool);
}

void NatsChannel::spool_records(std::span<const SpooledRecord> records) {
  if (records.empty()) return;
  if (!spool_) {
    count(&OutputMetrics::records_unreachable, records.size());
    return;
  }
  const NatsSpool::Appended appended = spool_->append(records);
  const uint64_t rest = records.size() - appended.stored;
  if (appended.error) {
    std::fprintf(stderr, "tracer: NATS spool %s: %s\n", terminal_safe(spool_->dir()).c_str(),
                 errno_text(appended.error).c_str());
    count(&OutputMetrics::records_lost, rest);
  } else {
    count(&OutputMetrics::records_spool_full, rest);
  }
}

// Said once per outage; what is in flight and not acknowledged is spooled
// (or lost, without a spool), ahead of anything newer.
void NatsChannel::go_offline(const std::string& why) {
  online_ = false;
  retry_at_ = Clock::now() + kRetryAfterFailure;
  if (!outage_reported_) {
    std::fprintf(
        stderr, "tracer: NATS %s: no server takes records (%s); %s until one does\n",
        terminal_safe(settings_.subject).c_str(), terminal_safe(why).c_str(),
        spool_ ? ("they go to the spool " + terminal_safe(spool_->dir())).c_str() : "they are counted as lost");
    count(&OutputMetrics::write_errors, 1);
    outage_reported_ = true;
  }
  std::vector<SpooledRecord> unacked;
  for (InFlight& record : window_)
    if (!record.from_spool) unacked.push_back({std::move(record.id), std::move(record.body)});
  window_.clear();
  abandon_in_flight();
  spool_records(unacked);
}

// At exit: what is still not acknowledged goes to the spool for the next run
// (or is lost, counted).
void NatsChannel::finish() {
  collect_acks();
  std::vector<SpooledRecord> unacked;
  for (InFlight& record : window_)
    if (!record.from_spool) unacked.push_back({std::move(record.id), std::move(record.body)});
  window_.clear();
  if (spool_)
    spool_records(unacked);
  else
    count(&OutputMetrics::records_stalled, unacked.size());
  close_connection();
}

void NatsChannel::give(OutputBatch& filling) {
  std::unique_lock lock(mutex_);
  const uint64_t records = filling.records();
  if (hand_off_batch(filling, pending_, kQueueBytes) == HandOff::dropped) counters_.records_stalled += records;
  lock.unlock();
  work_.notify_one();
}

void NatsChannel::drain(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  work_.notify_one();
  if (progress_.wait_until(lock, deadline, [&] { return (pending_.empty() && !busy_ && !in_flight_) || exited_; }))
    return;
  stalled_at_stop_ = true;
  counters_.records_stalled += pending_.records();
  pending_.clear();
}

bool NatsChannel::stop(Clock::duration grace) {
  std::unique_lock lock(mutex_);
  stop_ = true;
  work_.notify_one();
  const auto deadline = Clock::now() + (stalled_at_stop_ ? std::chrono::milliseconds(200) : grace);
  return progress_.wait_until(lock, deadline, [&] { return exited_; });
}

Result<NatsWriter> NatsWriter::open(const NatsSettings& settings, std::string run_prefix) {
  Result<const NatsApi*> api = NatsApi::load();
  if (!api) return runtime_error("--output nats: " + api.error().message + " (install libnats3.4)");
  std::optional<NatsSpool> spool;
  if (settings.spool_dir) {
    Result<NatsSpool> opened = NatsSpool::open(*settings.spool_dir, settings.spool_bytes);
    if (!opened) return opened.take_error();
    spool = std::move(*opened);
  }
  auto channel = std::make_shared<NatsChannel>(**api, settings, std::move(run_prefix), std::move(spool));
  NatsWriter writer(channel, "nats:" + settings.servers.front() + "/" + settings.subject);
  if (Status status = channel->wait_connected(); !status) return status.take_error();
  return writer;
}

#else

class NatsChannel {
 public:
  void give(OutputBatch&) {}
  void drain(std::chrono::steady_clock::time_point) {}
  bool stop(std::chrono::steady_clock::duration) { return true; }
  Status wait_connected() { return ok_status(); }
  void run() {}
  OutputMetrics counters() const { return {}; }
};

Result<NatsWriter> NatsWriter::open(const NatsSettings&, std::string) {
  return runtime_error("--output nats: this tracer was built without libnats");
}

#endif

std::string nats_run_prefix(std::string_view boot_tag) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return std::string(boot_tag) + "-" + std::to_string(static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec) +
         "-" + std::to_string(getpid());
}

NatsWriter::NatsWriter(std::shared_ptr<NatsChannel> channel, std::string name)
    : channel_(std::move(channel)),
      // The thread holds the channel too: one stuck on the network is left
      // behind at exit, never freed under it.
      thread_([channel = channel_] { channel->run(); }),
      name_(std::move(name)),
      pacer_(std::chrono::steady_clock::now()) {}

NatsWriter::~NatsWriter() {
  if (!channel_) return;  // moved from
  if (channel_->stop(kOutputStopDeadline))
    thread_.join();
  else
    thread_.detach();
}

void NatsWriter::hand_off() {
  if (filling_.bytes.empty()) return;
  pacer_.handed_off(true, std::chrono::steady_clock::now());
  channel_->give(filling_);
}

void NatsWriter::end_of_batch() {
  if (pacer_.due(filling_, Clock::now())) hand_off();
}

void NatsWriter::write_if_full() {
  if (filling_.full()) hand_off();
}

void NatsWriter::flush(std::chrono::steady_clock::time_point deadline) {
  hand_off();
  channel_->drain(deadline);
}

OutputMetrics NatsWriter::counters() const { return channel_->counters(); }

void NatsWriter::add_metrics(MetricsSnapshot& snapshot) const {
  OutputMetrics metrics = counters();
  metrics.name = name_;
  metrics.format = "nats";
  snapshot.outputs.push_back(std::move(metrics));
}

}  // namespace tracer
