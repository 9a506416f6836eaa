#include "tracer/user_functions/bash_watcher.hpp"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "tracer/core/escape.hpp"
#include "tracer/kernel/features.hpp"
#include "tracer/user_functions/resolve.hpp"

namespace tracer {
namespace {

std::optional<ExecutableId> executable_of(uint32_t pid) {
  return executable_id("/proc/" + std::to_string(pid) + "/exe");
}

struct DirDeleter {
  void operator()(DIR* dir) const { closedir(dir); }
};

// The processes now running, by pid.
std::vector<uint32_t> running_pids() {
  std::vector<uint32_t> pids;
  std::unique_ptr<DIR, DirDeleter> proc(opendir("/proc"));
  if (!proc) return pids;
  while (const dirent* entry = readdir(proc.get()))
    if (std::isdigit(static_cast<unsigned char>(entry->d_name[0])))
      pids.push_back(static_cast<uint32_t>(std::strtoul(entry->d_name, nullptr, 10)));
  return pids;
}

// A copy the gate probed whose exec the kernel has not reported (a failed
// exec) keeps its probes this long.
constexpr auto kReleaseGrace = std::chrono::seconds(5);

}  // namespace

BashWatcher::BashWatcher(TracerBpf& bpf, uint32_t slot, bool verbose) : bpf_(bpf), slot_(slot), verbose_(verbose) {
  bpf_.on_sweep([this] { sweep(); });
}

BashWatcher::~BashWatcher() { bpf_.on_sweep(nullptr); }

void BashWatcher::on_new_executable(const tracer_executable_record& record) {
  std::string path;
  const ExecutableId id{record.inode, record.dev};
  const uint32_t pid = record.header.task.tgid;
  // The gate held its exec and judged it already.
  for (Probed& probed : probed_)
    if (probed.id == id) {
      probed.running = true;
      return;
    }
  if (refused_by_gate_ == id) {
    refused_by_gate_.reset();
    return;
  }
  std::optional<ResolvedUserFunction> target = bash_readline_of_process(pid, id, slot_, path);
  if (!target) return;
  take(*target, id, path, pid);
  if (verbose_)
    std::fprintf(stderr, "tracer: bash_readline: probed %.1f ms after its first exec\n",
                 double(boot_clock_now_ns() - record.header.boot_ns) / 1e6);
}

bool BashWatcher::on_exec_opened(int file_fd, uint32_t pid) {
  const std::string link = "/proc/self/fd/" + std::to_string(file_fd);
  const std::optional<ExecutableId> id = executable_id(link);
  if (!id || is_probed(*id)) return false;  // a copy's probes go when no process runs it: ask again then
  const std::string path = path_of_link(link, *id);
  std::optional<ResolvedUserFunction> target = bash_readline_in(path, slot_);
  if (!target) return true;                        // not a bash: no need to ask again
  if (take(*target, *id, path, pid)) return true;  // probed from the start
  for (Probed& probed : probed_)
    if (probed.id == *id) probed.running = false;  // until the kernel reports its exec
  if (!is_probed(*id)) refused_by_gate_ = *id;
  return false;
}

bool BashWatcher::take(const ResolvedUserFunction& target, const ExecutableId& id, const std::string& path,
                       uint32_t pid) {
  // Allowed before the probes attach: no call of theirs waits for a verdict.
  for (const ExecutableId& executable : target.executables) bpf_.judge_executable(slot_, executable, true);
  if (probed_.size() >= kMaxProbedExecutables) sweep();
  if (probed_.size() >= kMaxProbedExecutables) {
    probes_not_attached_ += 2 * target.points.size() + target.accept_points.size();
    bpf_.forget_executable(id);  // probed at a later first run, once there is room
    std::fprintf(stderr,
                 "tracer: bash_readline: %s is a bash too (pid %u), not probed: %zu copies are probed already\n",
                 terminal_safe(path).c_str(), pid, kMaxProbedExecutables);
    return false;
  }
  return probe(target, id, path, pid);
}

bool BashWatcher::is_probed(const ExecutableId& id) const {
  return std::ranges::any_of(probed_, [&](const Probed& probed) { return probed.id == id; });
}

bool BashWatcher::probe(const ResolvedUserFunction& target, const ExecutableId& id, const std::string& path,
                        uint32_t pid) {
  size_t attached = 0;
  const std::vector<AttachOutcome> outcomes = bpf_.attach_user_function(target, id);
  // Every probe of it in place already: an installed bash, or one linked with
  // a libreadline probed already (its verdict above lets it through).
  if (outcomes.empty()) return true;
  for (const AttachOutcome& outcome : outcomes) {
    if (outcome.attached) {
      ++attached;
      continue;
    }
    ++probes_not_attached_;
    std::fprintf(stderr, "tracer: bash_readline: %s could not be attached (%s)\n", terminal_safe(outcome.hook).c_str(),
                 terminal_safe(outcome.error).c_str());
  }
  if (attached > 0) probed_.push_back({id, pid, std::chrono::steady_clock::now()});
  if (attached == outcomes.size()) {
    std::fprintf(stderr, "tracer: bash_readline: %s is a bash too (pid %u): its readline is probed from now on\n",
                 terminal_safe(path).c_str(), pid);
    return false;
  }
  if (attached == 0) {
    bpf_.release_user_probes(id);
    bpf_.forget_executable(id);  // tried again at its next first run
  }
  std::fprintf(stderr, "tracer: bash_readline: %s is a bash too (pid %u), but its readline is %s\n",
               terminal_safe(path).c_str(), pid, attached == 0 ? "not probed" : "probed only in part");
  return false;
}

bool BashWatcher::admit_unverified(const Event& event) {
  const ExecutableId id{event.unverified_executable->inode, event.unverified_executable->kernel_dev};
  std::string path;
  const bool bash = bash_readline_of_process(event.task.pid, id, slot_, path).has_value();
  bpf_.judge_executable(slot_, id, bash);
  return bash;
}

void BashWatcher::sweep() {
  // Cheap in the common case: one stat of the first process seen running
  // each copy; /proc is walked only when one of those is gone.
  std::vector<Probed*> gone;
  const auto settled = std::chrono::steady_clock::now() - kReleaseGrace;
  for (Probed& probed : probed_)
    if ((probed.running || probed.since < settled) && executable_of(probed.pid) != probed.id) gone.push_back(&probed);
  if (gone.empty()) return;
  for (const uint32_t pid : running_pids()) {
    const std::optional<ExecutableId> running = executable_of(pid);
    if (!running) continue;
    for (Probed*& probed : gone)
      if (probed && probed->id == *running) {
        probed->pid = pid;
        probed = nullptr;
      }
  }
  std::vector<ExecutableId> released;
  for (const Probed* probed : gone)
    if (probed) released.push_back(probed->id);
  for (const ExecutableId& id : released) {
    bpf_.release_user_probes(id);
    bpf_.forget_executable(id);
  }
  std::erase_if(probed_, [&](const Probed& probed) { return std::ranges::count(released, probed.id) > 0; });
}

}  // namespace tracer
