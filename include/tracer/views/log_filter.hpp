#pragma once
// The --trace filters over a saved log. Live, the kernel judges the context
// (uid, pid, comm, container, pid=new, follow) and userspace the arguments;
// here both judge each record from its own fields. pid=new and follow are
// relative to the log: a process is new when the log holds its fork (a
// sched_process_fork record naming it, or a parent that was new), and follow
// takes in the children of a selected process from the fork records and the
// records' ppid. A filter on what only the kernel knew (exe=, container=new)
// is a usage error.

#include <cstdint>
#include <unordered_set>

#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"
#include "tracer/filter/filter.hpp"

namespace tracer {

class LogFilter {
 public:
  static Result<LogFilter> make(const FilterSpec& spec);

  // Whether the record passes; records it sees update what pid=new and
  // follow know (forks and exits), whether or not they pass.
  bool selects(const Event& event);

 private:
  explicit LogFilter(const FilterSpec& spec) : spec_(spec) {}
  bool context_matches(const Event& event) const;
  bool numeric_matches(const TaskContext& task) const;
  bool container_matches(const Event& event) const;
  // pid=new and follow: the fork and exit records of the log.
  void observe_lifecycle(const Event& event, bool parent_selected);

  FilterSpec spec_;
  bool lifecycle_needed_ = false;
  std::unordered_set<uint32_t> new_;       // tgids the log saw forked
  std::unordered_set<uint32_t> matched_;   // tgids whose records matched the context
  std::unordered_set<uint32_t> followed_;  // tgids descended from a selected one
};

}  // namespace tracer
