#include "tracer/views/log_filter.hpp"

#include <algorithm>

#include "tracer/decode/event_table.hpp"

namespace tracer {
namespace {

// The kernel keys exact comms by their first 15 bytes, as the task's comm is.
bool comm_pattern_matches(const Pattern& pattern, std::string_view comm) {
  if (pattern.kind != TRACER_PATTERN_EXACT) return pattern.matches(comm);
  return comm == std::string_view(pattern.text).substr(0, TRACER_COMM_LEN - 1);
}

bool text_allows(const TextConstraint& constraint, std::string_view value) {
  const auto matches = [&](const Pattern& pattern) { return comm_pattern_matches(pattern, value); };
  if (std::any_of(constraint.exclude.begin(), constraint.exclude.end(), matches)) return false;
  return constraint.include.empty() || std::any_of(constraint.include.begin(), constraint.include.end(), matches);
}

uint64_t field_value(const TaskContext& task, uint32_t field) {
  switch (field) {
    case TRACER_FIELD_UID: return task.uid;
    case TRACER_FIELD_GID: return task.gid;
    case TRACER_FIELD_PID: return task.pid;
    case TRACER_FIELD_TID: return task.tid;
    case TRACER_FIELD_PPID: return task.ppid;
    case TRACER_FIELD_MNTNS: return task.mntns;
    case TRACER_FIELD_PIDNS: return task.pidns;
    case TRACER_FIELD_EUID: return task.euid;
    case TRACER_FIELD_AUID: return task.auid.value_or(TRACER_ID_UNSET);
    case TRACER_FIELD_TTY: return task.tty_dev;
    default: return task.cgroup_id;
  }
}

std::optional<uint32_t> forked_child(const Event& event) {
  if (event.definition->id != TRACER_EVENT_SCHED_PROCESS_FORK) return std::nullopt;
  const Arg* child = event.args.find("child_pid");
  if (!child) return std::nullopt;
  const auto* pid = std::get_if<uint64_t>(&child->value);
  if (!pid || *pid == event.task.pid) return std::nullopt;  // a new thread
  return static_cast<uint32_t>(*pid);
}

}  // namespace

Result<LogFilter> LogFilter::make(const FilterSpec& spec) {
  if (spec.exe.active())
    return usage_error(
        "exe= needs the kernel: a saved record does not name the caller's executable (filter execs by "
        "execve.exe= or execve.filename= instead)");
  if (spec.container_new)
    return usage_error("container=new needs the kernel: a saved record does not say when its container started");
  LogFilter filter(spec);
  filter.lifecycle_needed_ = spec.only_new || spec.follow;
  return filter;
}

bool LogFilter::numeric_matches(const TaskContext& task) const {
  for (uint32_t field = 0; field < TRACER_FIELD_COUNT; ++field) {
    const NumericConstraint& constraint = spec_.numeric[field];
    if (!constraint.active()) continue;
    const uint64_t value = field_value(task, field);
    if (value < constraint.min || value > constraint.max) return false;
    if (constraint.has_in && !constraint.in.contains(value)) return false;
    if (!constraint.has_in && constraint.not_in.contains(value)) return false;
  }
  return true;
}

bool LogFilter::container_matches(const Event& event) const {
  const bool in_container = !event.container_id.empty();
  switch (spec_.container) {
    case ContainerScope::any: return true;
    case ContainerScope::host: return !in_container;
    case ContainerScope::only: break;
  }
  if (!in_container) return false;
  if (spec_.container_ids.empty()) return true;
  return std::any_of(spec_.container_ids.begin(), spec_.container_ids.end(),
                     [&](const std::string& prefix) { return event.container_id.starts_with(prefix); });
}

bool LogFilter::context_matches(const Event& event) const {
  const TaskContext& task = event.task;
  if (!numeric_matches(task)) return false;
  if (spec_.only_new && !new_.contains(task.pid)) return false;
  if (!container_matches(event)) return false;
  return text_allows(spec_.comm, task.comm);
}

void LogFilter::observe_lifecycle(const Event& event, bool parent_selected) {
  if (event.definition->id == TRACER_EVENT_SCHED_PROCESS_EXIT) {
    new_.erase(event.task.pid);
    matched_.erase(event.task.pid);
    followed_.erase(event.task.pid);
    return;
  }
  if (const std::optional<uint32_t> child = forked_child(event)) {
    if (spec_.only_new) new_.insert(*child);
    if (spec_.follow && parent_selected) followed_.insert(*child);
  }
}

bool LogFilter::selects(const Event& event) {
  const uint32_t pid = event.task.pid;
  // Without fork records a child shows by its ppid: the first record of a
  // process whose parent is new (or selected) makes it new (or followed).
  if (spec_.only_new && !new_.contains(pid) && new_.contains(event.task.ppid)) new_.insert(pid);
  bool selected = context_matches(event);
  if (spec_.follow) {
    if (selected) {
      matched_.insert(pid);
    } else if (followed_.contains(pid)) {
      selected = true;
    } else if (matched_.contains(event.task.ppid) || followed_.contains(event.task.ppid)) {
      followed_.insert(pid);
      selected = true;
    }
  }
  if (lifecycle_needed_) observe_lifecycle(event, selected);
  if (!selected) return false;
  if (spec_.events_given && !spec_.wants(event.definition->id)) return false;
  return passes_argument_filters(spec_, event);
}

}  // namespace tracer
