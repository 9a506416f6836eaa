#include "tracer/capture/exec_hasher.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <time.h>

#include "tracer/core/abi.hpp"
#include "tracer/decode/event_table.hpp"

namespace tracer {
namespace {

constexpr size_t kMaxIndexed = 65536;

// Only a successful exec names a file that ran. security_bprm_check comes
// before the exec can still fail, and /proc/PID/exe is then the old image.
bool names_ran_file(const Event& event) {
  const uint16_t id = event.definition->id;
  if (id != TRACER_EVENT_EXECVE && id != TRACER_EVENT_EXECVEAT && id != TRACER_EVENT_SCHED_PROCESS_EXEC) return false;
  return !event.ret || *event.ret == 0;
}

std::optional<uint64_t> number_arg(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  if (!arg || !std::holds_alternative<uint64_t>(arg->value)) return std::nullopt;
  return std::get<uint64_t>(arg->value);
}

std::string_view text_arg(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  if (!arg || !std::holds_alternative<std::string_view>(arg->value)) return {};
  return std::get<std::string_view>(arg->value);
}

// O_NONBLOCK: a path swapped for a FIFO must not block the consumer.
UniqueFd open_matching(const std::string& path, uint64_t dev, uint64_t inode, struct stat& status) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd || ::fstat(fd.get(), &status) != 0) return {};
  if (!S_ISREG(status.st_mode) || status.st_dev != dev || status.st_ino != inode) return {};
  return fd;
}

uint64_t boot_ns_now() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace

RanFile open_script(uint32_t pid, std::string_view path, std::string_view cwd) {
  RanFile file;
  file.source = "path";
  std::string full(path);
  if (!path.starts_with('/')) {
    if (cwd.empty()) return file;
    full = std::string(cwd) + "/" + full;
  }
  // The caller's root first: a script in a container is in its mounts.
  for (const std::string& candidate : {fmt::format("/proc/{}/root{}", pid, full), full}) {
    file.fd = UniqueFd(::open(candidate.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (file.fd && ::fstat(file.fd.get(), &file.status) == 0 && S_ISREG(file.status.st_mode)) return file;
    file.fd.reset();
  }
  return file;
}

RanFile open_ran_file(uint32_t pid, uint64_t dev, uint64_t inode, std::string_view path) {
  RanFile file;
  file.fd = open_matching(fmt::format("/proc/{}/exe", pid), dev, inode, file.status);
  file.source = "exe";
  if (file.fd || path.empty() || !path.starts_with('/')) return file;
  file.fd = open_matching(std::string(path), dev, inode, file.status);
  file.source = "path";
  return file;
}

ExecHasher::ExecHasher(const ExecHashSettings& settings, std::optional<CaptureStore> store)
    : settings_(settings), worker_(std::move(store), settings.max_pending_files), cache_(settings.cache_entries) {}

// The argument names of one file's hash on an exec record.
struct HashArgNames {
  std::string_view file, sha256, source, pending, error;
};
constexpr HashArgNames kExeArgs{"exe", "sha256", "sha256_source", "sha256_pending", "sha256_error"};
constexpr HashArgNames kScriptArgs{"script", "script_sha256", "script_sha256_source", "script_sha256_pending",
                                   "script_sha256_error"};

void ExecHasher::annotate(Event& event) {
  if (!names_ran_file(event)) return;
  const std::optional<uint64_t> dev = number_arg(event, "dev");
  const std::optional<uint64_t> inode = number_arg(event, "inode");
  if (!dev || !inode) return;
  std::string_view path = text_arg(event, "exe");
  if (path.empty()) path = text_arg(event, "filename");
  if (!from_cache(event, *dev, *inode, path))
    hash_file(event, open_ran_file(event.task.pid, *dev, *inode, path), path, kExeArgs, hex_);
  // A #! script: filename is the script, the image is its interpreter.
  const std::string_view script = text_arg(event, "filename");
  if (text_arg(event, "interpreter").empty() || script.empty() || script.starts_with("/dev/fd/")) return;
  hash_file(event, open_script(event.task.pid, script, event.cwd.value_or("")), script, kScriptArgs, script_hex_);
}

// A hot binary: a stat (through /proc/PID/exe, else the path), no open.
bool ExecHasher::from_cache(Event& event, uint64_t dev, uint64_t inode, std::string_view path) {
  const auto cached = [&](const std::string& name) -> const Sha256Digest* {
    struct stat status {};
    if (::stat(name.c_str(), &status) != 0 || !S_ISREG(status.st_mode) || status.st_dev != dev ||
        status.st_ino != inode)
      return nullptr;
    return cache_.find(file_key_of(status));
  };
  std::string_view source = "exe";
  const Sha256Digest* digest = cached(fmt::format("/proc/{}/exe", event.task.pid));
  if (!digest && path.starts_with('/')) {
    digest = cached(std::string(path));
    source = "path";
  }
  if (!digest) return false;
  hex_ = sha256_hex(*digest);
  event.args.add(kExeArgs.sha256, std::string_view(hex_));
  event.args.add(kExeArgs.source, source);
  return true;
}

void ExecHasher::hash_file(Event& event, RanFile file, std::string_view path, const HashArgNames& names,
                           std::string& hex) {
  const auto fail = [&](std::string_view why) {
    event.args.add(names.error, why);
    ++counters_.execs_not_hashed;
  };
  if (!file.fd) return fail("gone");  // exited, and the path holds another file or none
  const FileKey key = file_key_of(file.status);
  if (const Sha256Digest* digest = cache_.find(key)) {
    hex = sha256_hex(*digest);
    event.args.add(names.sha256, std::string_view(hex));
    event.args.add(names.source, file.source);
    return;
  }
  if (waiting_ >= settings_.max_waiting_execs) return fail("queue_full");
  auto pending = pending_.find(key);
  if (pending == pending_.end()) {
    if (!worker_.submit(HashJob{key, std::move(file.fd), settings_.capture})) return fail("queue_full");
    pending = pending_.emplace(key, std::vector<Waiter>{}).first;
  }
  pending->second.push_back(Waiter{event.task, std::string(event.task.comm), std::string(event.container_id),
                                   std::string(path), file.source, names.file});
  ++waiting_;
  event.args.add(names.pending, true);
}

Status ExecHasher::emit_finished(const std::function<Status(const Event&)>& emit) {
  for (const HashResult& result : worker_.take_results()) {
    auto node = pending_.extract(result.key);
    if (node.empty()) continue;
    waiting_ -= node.mapped().size();
    if (result.file) cache_.insert(result.key, result.file->digest);
    if (Status status = emit_result(result, node.mapped(), emit); !status) return status;
  }
  return ok_status();
}

Status ExecHasher::emit_result(const HashResult& result, std::vector<Waiter>& waiters,
                               const std::function<Status(const Event&)>& emit) {
  const std::string hex = result.file ? sha256_hex(result.file->digest) : std::string();
  const auto event_for = [](const EventDefinition& definition, Waiter& waiter) {
    Event event;
    event.definition = &definition;
    event.boot_ns = boot_ns_now();
    event.task = waiter.task;
    event.task.comm = waiter.comm;
    event.container_id = waiter.container_id;
    event.args.add("path", std::string_view(waiter.path));
    return event;
  };
  for (Waiter& waiter : waiters) {
    Event event = event_for(exec_hash_definition(), waiter);
    event.args.add("file", waiter.file);
    if (result.file) {
      event.args.add("sha256", std::string_view(hex));
      event.args.add("sha256_source", waiter.source);
      event.args.add("size", result.file->size);
    } else {
      ++counters_.execs_not_hashed;
      event.args.add("sha256_error", std::string_view("read_failed"));
    }
    if (Status status = emit(event); !status) return status;
  }
  if (!result.file || waiters.empty()) return ok_status();
  const CaptureState state = result.file->capture;
  if (state == CaptureState::over_limit) {
    ++counters_.captures_over_limit;
    if (!std::exchange(limit_noticed_, true))
      notice_ = fmt::format("capture limit of {} bytes reached: executables are no longer saved (tracing goes on)",
                            settings_.capture_limit_bytes);
  }
  if (state != CaptureState::saved && (state != CaptureState::present || indexed_.contains(hex))) return ok_status();
  if (state == CaptureState::saved) {
    ++counters_.captures_saved;
    counters_.capture_bytes += result.file->size;
  }
  if (indexed_.size() < kMaxIndexed) indexed_.insert(hex);
  const std::string capture_path = worker_.capture_directory() + "/exec/" + hex;
  Event event = event_for(exec_capture_definition(), waiters.front());
  event.args.add("sha256", std::string_view(hex));
  event.args.add("size", result.file->size);
  event.args.add("capture", std::string_view(capture_path));
  event.args.add("existing", state == CaptureState::present);
  return emit(event);
}

}  // namespace tracer
