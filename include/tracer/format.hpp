#pragma once
// Event → text: JSON lines (§4) and the table (§5).

#include <string>

#include "tracer/clock.hpp"
#include "tracer/event.hpp"

namespace tracer {

class JsonFormatter {
 public:
  explicit JsonFormatter(const BootToWallClock& clock) : clock_(clock) {}
  // Appends one line, '\n' included.
  void append(std::string& out, const Event& event);

 private:
  const BootToWallClock& clock_;
  Rfc3339Formatter timestamps_;
  std::string args_buffer_;  // reused: no allocation per event
};

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
