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

}  // namespace

BashWatcher::BashWatcher(TracerBpf& bpf, uint32_t slot, bool verbose) : bpf_(bpf), slot_(slot), verbose_(verbose) {
  bpf_.on_sweep([this] { sweep(); });
}

BashWatcher::~BashWatcher() { bpf_.on_sweep(nullptr); }

void BashWatcher::on_new_executable(const tracer_executable_record& record) {
  std::string path;
  const ExecutableId id{record.inode, record.dev};
  const uint32_t pid = record.header.task.tgid;
  std::optional<ResolvedUserFunction> target = bash_readline_of_process(pid, id, slot_, path);
  if (!target) return;
  // Allowed before the probes attach: no call of theirs waits for a verdict.
  for (const ExecutableId& executable : target->executables) bpf_.judge_executable(slot_, executable, true);
  if (probed_.size() >= kMaxProbedExecutables) sweep();
  if (probed_.size() >= kMaxProbedExecutables) {
    probes_not_attached_ += 2 * target->points.size();
    bpf_.forget_executable(id);  // probed at a later first run, once there is room
    std::fprintf(stderr,
                 "tracer: bash_readline: %s is a bash too (pid %u), not probed: %zu copies are probed already\n",
                 terminal_safe(path).c_str(), pid, kMaxProbedExecutables);
    return;
  }
  probe(*target, id, path, pid);
  if (verbose_)
    std::fprintf(stderr, "tracer: bash_readline: probed %.1f ms after its first exec\n",
                 double(boot_clock_now_ns() - record.header.boot_ns) / 1e6);
}

void BashWatcher::probe(const ResolvedUserFunction& target, const ExecutableId& id, const std::string& path,
                        uint32_t pid) {
  size_t attached = 0;
  const std::vector<AttachOutcome> outcomes = bpf_.attach_user_function(target, id);
  for (const AttachOutcome& outcome : outcomes) {
    if (outcome.attached) {
      ++attached;
      continue;
    }
    ++probes_not_attached_;
    std::fprintf(stderr, "tracer: bash_readline: %s could not be attached (%s)\n", terminal_safe(outcome.hook).c_str(),
                 terminal_safe(outcome.error).c_str());
  }
  if (attached > 0) probed_.push_back({id, pid});
  if (attached == outcomes.size()) {
    // None to attach: its readline is one probed already (a library's).
    std::fprintf(stderr, "tracer: bash_readline: %s is a bash too (pid %u): its readline is probed from now on\n",
                 terminal_safe(path).c_str(), pid);
    return;
  }
  if (attached == 0) {
    bpf_.release_user_probes(id);
    bpf_.forget_executable(id);  // tried again at its next first run
  }
  std::fprintf(stderr, "tracer: bash_readline: %s is a bash too (pid %u), but its readline is %s\n",
               terminal_safe(path).c_str(), pid, attached == 0 ? "not probed" : "probed only in part");
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
  for (Probed& probed : probed_)
    if (executable_of(probed.pid) != probed.id) gone.push_back(&probed);
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
