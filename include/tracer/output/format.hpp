#pragma once
// Event → text: one JSON object per line, or the human-readable table (TIME
// UID COMM PID TID RET EVENT ARGS; 75 columns before ARGS). Untrusted bytes
// are escaped in both.

#include <optional>
#include <string>
#include <string_view>

#include "tracer/core/clock.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

struct JsonOptions {
  std::string boot_tag = std::string(16, '0');  // exec_id's first part: read_boot_tag()
  bool ancestors = false;                       // print the event's whole lineage, not only its parent
};

// The task's part of a JSON line, "pid" to "parent_exec_id": the same for
// every record of one thread until a field in it changes, so a storm of one
// thread's syscalls formats it once. Holds the last one and what it was made of.
class TaskFragmentCache {
 public:
  // Appends the fragment for event; true when a string in it held bytes that
  // are not valid UTF-8.
  bool append(std::string& out, const Event& event, std::string_view boot_tag);

 private:
  bool holds(const Event& event) const;
  void keep(const Event& event);

  bool valid_ = false;
  TaskContext task_;  // its comm views comm_
  std::string comm_;
  std::string container_id_;
  std::optional<std::string> host_;
  std::optional<std::string> tty_;
  std::string fragment_;
  bool had_invalid_ = false;
};

class JsonFormatter {
 public:
  explicit JsonFormatter(const BootToWallClock& clock, JsonOptions options = {})
      : clock_(clock), options_(std::move(options)) {}
  // Appends one line, '\n' included.
  void append(std::string& out, const Event& event);

 private:
  const BootToWallClock& clock_;
  JsonOptions options_;
  Rfc3339Formatter timestamps_;
  std::string args_buffer_;  // reused: no allocation per event
  TaskFragmentCache task_fragment_;
};

// One table line, cut to width columns (0: no limit) with "…" where it was
// cut, so that a terminal shows it on one row rather than wrapping.
void append_fitted(std::string& out, std::string_view line, size_t width);

class TableFormatter {
 public:
  explicit TableFormatter(const BootToWallClock& clock) : clock_(clock) {}
  static std::string header();
  // Appends one line, '\n' included.
  void append(std::string& out, const Event& event) const;

 private:
  const BootToWallClock& clock_;
};

}  // namespace tracer
