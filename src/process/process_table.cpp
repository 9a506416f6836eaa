#include "tracer/process/process_table.hpp"

#include <algorithm>

#include "tracer/core/abi.hpp"
#include "tracer/decode/event_table.hpp"

namespace tracer {
namespace {

std::string_view string_arg(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  if (!arg) return {};
  if (const auto* text = std::get_if<std::string_view>(&arg->value)) return *text;
  return {};
}

std::string_view argv_arg(const Event& event) {
  const Arg* arg = event.args.find("argv");
  if (!arg) return {};
  if (const auto* list = std::get_if<StringList>(&arg->value)) return list->nul_separated;
  return {};
}

uint64_t number_arg(const Event& event, std::string_view name) {
  const Arg* arg = event.args.find(name);
  if (!arg) return 0;
  if (const auto* number = std::get_if<uint64_t>(&arg->value)) return *number;
  return 0;
}

// The comm the kernel gives an exec'd image: the file name's last component.
std::string comm_of_filename(std::string_view filename) {
  const size_t slash = filename.rfind('/');
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  return std::string(filename.substr(0, TRACER_COMM_LEN - 1));
}

}  // namespace

ProcessTable::ProcessTable(Limits limits, ProcReader reader, uint64_t clock_tick_ns)
    : limits_(limits), reader_(std::move(reader)), clock_tick_ns_(clock_tick_ns ? clock_tick_ns : 1) {}

void ProcessTable::keep_argv(ProcessEntry& entry, std::string_view argv, bool truncated) const {
  entry.argv_truncated = truncated || argv.size() > limits_.argv_bytes;
  if (argv.size() > limits_.argv_bytes) {
    // Whole strings only: cut after the last NUL that fits.
    const size_t end = argv.substr(0, limits_.argv_bytes).rfind('\0');
    argv = argv.substr(0, end == std::string_view::npos ? 0 : end + 1);
  }
  entry.argv.assign(argv);
}

bool ProcessTable::same_start(const ProcessEntry& entry, uint64_t start_boot_ns) const {
  if (entry.start_exact) return entry.start_boot_ns == start_boot_ns;
  return entry.start_boot_ns / clock_tick_ns_ == start_boot_ns / clock_tick_ns_;
}

void ProcessTable::seed(ProcessEntry entry) {
  if (entry.argv.size() > limits_.argv_bytes) {
    const std::string argv = std::move(entry.argv);
    keep_argv(entry, argv, entry.argv_truncated);
  }
  const uint32_t pid = entry.pid;
  by_pid_.insert_or_assign(pid, std::move(entry));
  peak_size_ = std::max(peak_size_, by_pid_.size());
}

// The entry of pid, when it is that process (same start, when one is given);
// else asks /proc.
ProcessEntry* ProcessTable::find(uint32_t pid, std::optional<uint64_t> start_boot_ns) {
  if (pid == 0) return nullptr;
  auto it = by_pid_.find(pid);
  if (it != by_pid_.end() && (!start_boot_ns || same_start(it->second, *start_boot_ns))) return &it->second;
  if (!reader_) return nullptr;
  std::optional<ProcessEntry> fresh = reader_(pid);
  if (!fresh || (start_boot_ns && !same_start(*fresh, *start_boot_ns))) return nullptr;
  seed(std::move(*fresh));
  return &by_pid_.at(pid);
}

// The calling task's own entry, created or corrected from its context.
ProcessEntry& ProcessTable::learn_task(const TaskContext& task) {
  auto it = by_pid_.find(task.pid);
  if (it == by_pid_.end() || !same_start(it->second, task.start_boot_ns)) {
    if (!find(task.pid, task.start_boot_ns)) {  // not in /proc either: what the record says
      ProcessEntry entry;
      entry.pid = task.pid;
      entry.start_boot_ns = task.start_boot_ns;
      entry.comm = std::string(task.comm);
      seed(std::move(entry));
    }
    it = by_pid_.find(task.pid);
  }
  ProcessEntry& entry = it->second;
  entry.ppid = task.ppid;
  entry.start_boot_ns = task.start_boot_ns;
  entry.start_exact = true;
  if (!entry.exited_boot_ns) entry.exec_gen = task.exec_gen;
  return entry;
}

void ProcessTable::apply_fork(const Event& event, const ProcessEntry& parent) {
  const auto child_pid = static_cast<uint32_t>(number_arg(event, "child_pid"));
  if (child_pid == 0 || child_pid == event.task.pid) return;  // a thread: same process
  ProcessEntry child;
  child.pid = child_pid;
  child.ppid = event.task.pid;
  child.start_boot_ns = event.child_start_boot_ns;
  child.start_exact = true;
  child.exec_gen = parent.exec_gen;
  child.comm = parent.comm;
  child.exe = parent.exe;
  child.argv = parent.argv;
  child.argv_truncated = parent.argv_truncated;
  seed(std::move(child));
}

void ProcessTable::apply_exec(const Event& event, ProcessEntry& entry) {
  const std::string_view filename = string_arg(event, "filename");
  entry.exec_gen = event.task.exec_gen;
  entry.comm = event.definition->id == TRACER_EVENT_SCHED_PROCESS_EXEC ? std::string(event.task.comm)
                                                                       : comm_of_filename(filename);
  const std::string_view exe = string_arg(event, "exe");
  entry.exe = std::string(exe.empty() ? filename : exe);
  keep_argv(entry, argv_arg(event), event.has(EventFlag::argv_truncated));
}

void ProcessTable::apply_exit(const Event& event, ProcessEntry& entry) {
  entry.exited_boot_ns = event.boot_ns;
  exited_.push_back({entry.pid, entry.start_boot_ns, event.boot_ns});
}

void ProcessTable::apply(const Event& event) {
  const uint16_t id = event.definition->id;
  const bool exec_succeeded = (id == TRACER_EVENT_EXECVE || id == TRACER_EVENT_EXECVEAT) && event.ret == 0 &&
                              event.args.find("filename") != nullptr;
  ProcessEntry& entry = learn_task(event.task);
  if (id == TRACER_EVENT_SCHED_PROCESS_FORK)
    apply_fork(event, entry);
  else if (exec_succeeded || id == TRACER_EVENT_SCHED_PROCESS_EXEC)
    apply_exec(event, by_pid_.at(event.task.pid));
  else if (id == TRACER_EVENT_SCHED_PROCESS_EXIT)
    apply_exit(event, entry);
  evict(event.boot_ns);
}

void ProcessTable::evict(uint64_t now_boot_ns) {
  while (!exited_.empty()) {
    const Exited& oldest = exited_.front();
    const bool expired = oldest.exited_boot_ns + limits_.exit_grace_ns < now_boot_ns;
    if (!expired && exited_.size() <= limits_.max_exited) break;
    auto it = by_pid_.find(oldest.pid);
    // Only if the pid still names that exited process (not a reuse of it).
    if (it != by_pid_.end() && it->second.exited_boot_ns && it->second.start_boot_ns == oldest.start_boot_ns)
      by_pid_.erase(it);
    exited_.pop_front();
  }
}

std::span<const ProcessSummary> ProcessTable::lineage(const Event& event, size_t depth) {
  lineage_.clear();
  depth = std::min(depth, limits_.max_depth);
  // The parent is known exactly (pid and start from the kernel); further up, a
  // parent must have started before its child.
  const ProcessEntry* current = find(event.task.ppid, event.task.parent_start_boot_ns);
  while (current && lineage_.size() < depth) {
    ProcessSummary summary;
    summary.pid = current->pid;
    summary.start_boot_ns = current->start_boot_ns;
    summary.exec_gen = current->exec_gen;
    summary.comm = current->comm;
    summary.exe = current->exe;
    summary.argv = StringList{current->argv};
    summary.argv_truncated = current->argv_truncated;
    lineage_.push_back(summary);
    if (current->pid == 1 || current->ppid == 0) break;
    const uint64_t child_start = current->start_boot_ns;
    current = find(current->ppid, std::nullopt);
    if (current && current->start_boot_ns > child_start && current->start_exact) current = nullptr;
  }
  return lineage_;
}

}  // namespace tracer
