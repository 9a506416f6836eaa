#pragma once
// User functions: user-space functions traced by uprobes, each an event named by
// its table_name (osquery's "user tracers"). The built-in bash_readline is
// slot 0; the functions of --config (its user_tracers) follow. Pure: parsing, the capture specs the
// kernel is given, and decoding their records. Finding the functions in ELF
// files is resolve.hpp's job (with elf_symbols.hpp), attaching the kernel side's.

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/core/abi.hpp"
#include "tracer/core/result.hpp"
#include "tracer/decode/event.hpp"
#include "tracer/decode/event_table.hpp"

namespace tracer {

enum class ParamType : uint8_t {
  string,
  int8,
  int16,
  int32,
  int64,
  uint8,
  uint16,
  uint32,
  uint64,
  pointer,
  byte_array,
};
// In: read when the function is entered. Out: read when it returns; for a
// parameter, the memory it points to at return.
enum class ParamMode : uint8_t { in, out };

struct UserParameter {
  std::string name;
  ParamType type = ParamType::int64;
  ParamMode mode = ParamMode::in;
  uint32_t length = 0;     // byte_array: bytes to read
  bool is_return = false;  // EXIT_CODE: the return value
  uint8_t argument = 0;    // which argument (0..5), when not the return value
};

struct UserFunction {
  std::string table_name;  // the event's name
  std::string path;        // executable or shared library, as configured
  std::string function_name;
  // The arguments in order, then the return value (always last, always present).
  std::vector<UserParameter> params;
  bool builtin = false;  // bash_readline: its binary is found, not configured
  std::string origin;    // for messages: "--config FILE: user_tracers[0] (bash_events)"
};

inline constexpr std::string_view kBashReadline = "bash_readline";
inline constexpr std::string_view kReturnValue = "return_value";

// The kernel's capture spec for a user function's parameters.
tracer_user_function_spec capture_spec(const UserFunction& function);

// Every user function this run knows (slot = index): bash_readline first, then
// the configured ones, each with its event definition. Not copyable: the
// definitions view its strings.
class UserFunctions {
 public:
  explicit UserFunctions(std::vector<UserFunction> configured);
  UserFunctions(const UserFunctions&) = delete;
  UserFunctions& operator=(const UserFunctions&) = delete;

  std::span<const UserFunction> all() const { return functions_; }
  std::span<const EventDefinition> definitions() const { return definitions_; }
  const EventDefinition* find(std::string_view name) const;
  const EventDefinition* by_id(uint16_t event_id) const;
  const UserFunction* function_of_event(uint16_t event_id) const;

 private:
  std::vector<UserFunction> functions_;
  std::vector<std::vector<std::string_view>> argument_names_;
  std::vector<EventDefinition> definitions_;
};

// The slot of a user function event id, if it is one.
std::optional<uint32_t> user_slot_of_event(uint16_t event_id);

// The `user_tracers` array of a configuration file. An error is one line
// naming the entry ("user_tracers[1] (bash_events): ...").
Result<std::vector<UserFunction>> parse_user_functions(const nlohmann::json& list);

// A user function record → Event (header fields set already). Bytes are
// untrusted: lengths are checked against the record.
Result<Event> decode_user_function(std::span<const std::byte> record, Event event, const UserFunction& function);

}  // namespace tracer
