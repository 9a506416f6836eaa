#pragma once
// The --trace grammar parsed into one FilterSpec: context filters (run
// in the kernel, see filter_compile.hpp) and argument filters (run here, on
// decoded events).

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/abi.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"

namespace tracer {

// "text", "text*", "*text", "*text*": exact, prefix, suffix, contains.
struct Pattern {
  tracer_pattern_kind kind = TRACER_PATTERN_EXACT;
  std::string text;
  bool matches(std::string_view value) const;
  bool operator==(const Pattern&) const = default;
};

// A numeric field: value in [min, max], and in `in` (when has_in) and not in
// `not_in`.
struct NumericConstraint {
  uint64_t min = 0;
  uint64_t max = UINT64_MAX;
  bool has_in = false;
  std::set<uint64_t> in;
  std::set<uint64_t> not_in;
  bool active() const { return has_in || !not_in.empty() || min != 0 || max != UINT64_MAX; }
};

// comm or exe: must match some include (when there are includes) and no exclude.
struct TextConstraint {
  std::vector<Pattern> include;
  std::vector<Pattern> exclude;
  bool active() const { return !include.empty() || !exclude.empty(); }
};

// EVENT.ARG=VALUE[,VALUE] or !=: on string args a pattern, on numbers a value;
// on a list (argv) it holds when some element matches (= ) / none does (!=).
struct ArgumentFilter {
  uint16_t event_id = 0;
  std::string argument;
  bool negate = false;
  std::vector<Pattern> patterns;
  std::string expression;  // as the user wrote it, for messages
};

// container, !container, container=new, container=ID[,ID].
enum class ContainerScope { any, only, host };

struct FilterSpec {
  std::array<NumericConstraint, TRACER_FIELD_COUNT> numeric;
  TextConstraint comm;
  TextConstraint exe;
  bool only_new = false;  // pid=new
  bool follow = false;
  ContainerScope container = ContainerScope::any;
  bool container_new = false;                                   // container=new
  std::vector<std::string> container_ids;                       // container=ID: lowercase hex prefixes
  uint64_t wanted_events = 0;                                   // bit per built-in event id
  std::bitset<TRACER_SYSCALL_NR_MAX> wanted_syscalls;           // syscall events, by number
  std::bitset<TRACER_USER_FUNCTION_MAX> wanted_user_functions;  // user tracers, by slot
  bool events_given = false;                                    // an event= expression was given
  std::vector<ArgumentFilter> argument_filters;

  bool wants(uint16_t event_id) const {
    if (event_id >= TRACER_EVENT_USER_FUNCTION_BASE)
      return event_id < TRACER_EVENT_USER_FUNCTION_BASE + TRACER_USER_FUNCTION_MAX &&
             wanted_user_functions.test(event_id - TRACER_EVENT_USER_FUNCTION_BASE);
    if (event_id >= TRACER_EVENT_SYSCALL_BASE)
      return event_id < TRACER_EVENT_SYSCALL_BASE + TRACER_SYSCALL_NR_MAX &&
             wanted_syscalls.test(event_id - TRACER_EVENT_SYSCALL_BASE);
    return event_id < 64 && (wanted_events & (uint64_t{1} << event_id));
  }
};

class UserFunctions;

// Parses every --trace expression. An error names the expression and what is
// wrong in one line: "--trace 'uid>abc': uid needs a number". Events are the
// built-in ones, syscalls and user_functions' tables (configured ones are
// produced by default, like execve); without it, bash_readline only.
Result<FilterSpec> parse_filters(const std::vector<std::string>& expressions);
Result<FilterSpec> parse_filters(const std::vector<std::string>& expressions, const UserFunctions& user_functions);

// Argument filters, on a decoded event: true when the event passes.
bool passes_argument_filters(const FilterSpec& filters, const Event& event);

}  // namespace tracer
