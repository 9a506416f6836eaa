#include "tracer/user_functions/user_function.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "tracer/syscalls/syscall_catalog.hpp"

namespace tracer {
namespace {

constexpr std::string_view kUserHooks = "uprobe + uretprobe on the function (its file's inode: every process)";
constexpr std::string_view kBashReadlineHooks =
    "uprobe + uretprobe on readline in bash (or in the libreadline it uses, for bash only)";

struct TypeName {
  std::string_view name;
  ParamType type;
  uint8_t size;  // bytes of an integer; 8 for a pointer
};
constexpr TypeName kTypes[] = {
    {"String", ParamType::string, 0},        {"Int8", ParamType::int8, 1},
    {"Int16", ParamType::int16, 2},          {"Int32", ParamType::int32, 4},
    {"Int64", ParamType::int64, 8},          {"UInt8", ParamType::uint8, 1},
    {"UInt16", ParamType::uint16, 2},        {"UInt32", ParamType::uint32, 4},
    {"UInt64", ParamType::uint64, 8},        {"Pointer", ParamType::pointer, 8},
    {"ByteArray", ParamType::byte_array, 0},
};
constexpr std::string_view kTypeList =
    "String, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Pointer, ByteArray";

uint8_t size_of(ParamType type) {
  for (const TypeName& entry : kTypes)
    if (entry.type == type) return entry.size;
  return 0;
}

bool is_identifier(std::string_view name, bool lowercase_only) {
  if (name.empty() || name.size() > 64) return false;
  const auto allowed = [&](char c, bool first) {
    if (c == '_' || (c >= 'a' && c <= 'z')) return true;
    if (!lowercase_only && c >= 'A' && c <= 'Z') return true;
    return !first && c >= '0' && c <= '9';
  };
  for (size_t i = 0; i < name.size(); ++i)
    if (!allowed(name[i], i == 0)) return false;
  return true;
}

UserFunction bash_readline_function() {
  UserFunction function;
  function.table_name = kBashReadline;
  function.path = "bash";
  function.function_name = "readline";
  function.builtin = true;
  function.origin = kBashReadline;
  function.params.push_back(UserParameter{"prompt", ParamType::string, ParamMode::in, 0, false, 0});
  function.params.push_back(UserParameter{"line", ParamType::string, ParamMode::out, 0, true, 0});
  return function;
}

// Where a parameter's value comes from and what is read for it.
tracer_user_param_spec param_spec(const UserParameter& param) {
  tracer_user_param_spec spec{};
  spec.source = param.is_return ? TRACER_USER_SOURCE_RETURN : param.argument;
  // The return value exists only at return.
  spec.at_return = param.mode == ParamMode::out || param.is_return;
  if (param.type == ParamType::string) {
    spec.capture = TRACER_USER_CAPTURE_STRING;
  } else if (param.type == ParamType::byte_array) {
    spec.capture = TRACER_USER_CAPTURE_BYTES;
    spec.size = static_cast<uint16_t>(param.length);
  } else if (param.mode == ParamMode::out && !param.is_return) {
    // A number or pointer written through the parameter: read what it points to.
    spec.capture = TRACER_USER_CAPTURE_BYTES;
    spec.size = size_of(param.type);
  } else {
    spec.capture = TRACER_USER_CAPTURE_VALUE;
  }
  return spec;
}

// A number of `type` from the low bytes of raw, sign-extended for signed types.
Value number_of(ParamType type, uint64_t raw) {
  switch (type) {
    case ParamType::int8: return int64_t{static_cast<int8_t>(raw)};
    case ParamType::int16: return int64_t{static_cast<int16_t>(raw)};
    case ParamType::int32: return int64_t{static_cast<int32_t>(raw)};
    case ParamType::int64: return static_cast<int64_t>(raw);
    case ParamType::uint8: return uint64_t{static_cast<uint8_t>(raw)};
    case ParamType::uint16: return uint64_t{static_cast<uint16_t>(raw)};
    case ParamType::uint32: return uint64_t{static_cast<uint32_t>(raw)};
    case ParamType::pointer: return SymbolicValue{static_cast<int64_t>(raw), Symbols::address};
    default: return raw;
  }
}

class EntryError {
 public:
  EntryError(size_t index, const nlohmann::json& entry) {
    prefix_ = "user_tracers[" + std::to_string(index) + "]";
    if (entry.is_object() && entry.contains("table_name") && entry["table_name"].is_string())
      prefix_ += " (" + entry["table_name"].get<std::string>() + ")";
    prefix_ += ": ";
  }
  Error operator()(const std::string& what) const { return usage_error(prefix_ + what); }

 private:
  std::string prefix_;
};

Result<std::string> required_string(const nlohmann::json& object, const char* key, const EntryError& fail) {
  if (!object.contains(key)) return fail(std::string("missing \"") + key + "\"");
  if (!object[key].is_string() || object[key].get<std::string>().empty())
    return fail(std::string("\"") + key + "\" must be a non-empty string");
  return object[key].get<std::string>();
}

Result<UserParameter> parse_parameter(const nlohmann::json& entry, const EntryError& fail) {
  if (!entry.is_object()) return fail("each parameter_list entry must be an object");
  for (const auto& [key, value] : entry.items())
    if (key != "name" && key != "type" && key != "mode" && key != "length")
      return fail("parameter: unknown key \"" + key + "\" (expected name, type, mode, length)");
  Result<std::string> name = required_string(entry, "name", fail);
  if (!name) return name.take_error();
  UserParameter param;
  param.name = *name;
  const std::string where = "parameter '" + param.name + "': ";
  param.is_return = param.name == "EXIT_CODE";
  if (!param.is_return && !is_identifier(param.name, false))
    return fail(where + "a name is letters, digits and _ (at most 64)");
  Result<std::string> type = required_string(entry, "type", fail);
  if (!type) return type.take_error();
  const auto known = std::find_if(std::begin(kTypes), std::end(kTypes),
                                  [&](const TypeName& candidate) { return candidate.name == *type; });
  if (known == std::end(kTypes))
    return fail(where + "unknown type '" + *type + "' (expected " + std::string(kTypeList) + ")");
  param.type = known->type;
  std::string mode = "In";
  if (entry.contains("mode")) {
    if (!entry["mode"].is_string()) return fail(where + "\"mode\" must be \"In\" or \"Out\"");
    mode = entry["mode"].get<std::string>();
  }
  if (mode == "In")
    param.mode = ParamMode::in;
  else if (mode == "Out")
    param.mode = ParamMode::out;
  else
    return fail(where + "unknown mode '" + mode + "' (expected In or Out)");
  if (param.type == ParamType::byte_array) {
    if (!entry.contains("length") || !entry["length"].is_number_unsigned() || entry["length"].get<uint64_t>() == 0 ||
        entry["length"].get<uint64_t>() > TRACER_USER_BYTES_MAX)
      return fail(where + "a ByteArray needs \"length\", 1 to " + std::to_string(TRACER_USER_BYTES_MAX));
    param.length = entry["length"].get<uint32_t>();
  } else if (entry.contains("length")) {
    return fail(where + "\"length\" applies to ByteArray only");
  }
  return param;
}

Result<UserFunction> parse_function(size_t index, const nlohmann::json& entry) {
  const EntryError fail(index, entry);
  if (!entry.is_object()) return fail("must be an object");
  for (const auto& [key, value] : entry.items())
    if (key != "table_name" && key != "path" && key != "function_name" && key != "parameter_list")
      return fail("unknown key \"" + key + "\" (expected table_name, path, function_name, parameter_list)");
  UserFunction function;
  Result<std::string> table = required_string(entry, "table_name", fail);
  if (!table) return table.take_error();
  function.table_name = *table;
  function.origin = "user_tracers[" + std::to_string(index) + "] (" + function.table_name + ")";
  if (!is_identifier(function.table_name, true))
    return fail("table_name must be snake_case: a-z, 0-9 and _ (at most 64)");
  if (find_event(function.table_name) || function.table_name == kBashReadline)
    return fail("table_name '" + function.table_name + "' is already an event of the tracer");
  Result<std::string> path = required_string(entry, "path", fail);
  if (!path) return path.take_error();
  function.path = *path;
  Result<std::string> name = required_string(entry, "function_name", fail);
  if (!name) return name.take_error();
  function.function_name = *name;

  std::optional<UserParameter> return_param;
  std::set<std::string> names;
  if (entry.contains("parameter_list")) {
    if (!entry["parameter_list"].is_array()) return fail("\"parameter_list\" must be an array");
    for (const nlohmann::json& item : entry["parameter_list"]) {
      Result<UserParameter> param = parse_parameter(item, fail);
      if (!param) return param.take_error();
      if (param->is_return) {
        if (return_param) return fail("EXIT_CODE is given twice");
        param->name = kReturnValue;
        return_param = std::move(*param);
        continue;
      }
      if (param->name == kReturnValue) return fail("parameter '" + param->name + "': the name is the return value's");
      if (!names.insert(param->name).second) return fail("parameter '" + param->name + "' is given twice");
      if (function.params.size() == TRACER_SYSCALL_ARGS)
        return fail("at most " + std::to_string(TRACER_SYSCALL_ARGS) +
                    " parameters (the arguments passed in registers), besides EXIT_CODE");
      param->argument = static_cast<uint8_t>(function.params.size());
      function.params.push_back(std::move(*param));
    }
  }
  if (!return_param)
    return_param = UserParameter{std::string(kReturnValue), ParamType::int64, ParamMode::out, 0, true, 0};
  function.params.push_back(std::move(*return_param));
  return function;
}

}  // namespace

tracer_user_function_spec capture_spec(const UserFunction& function) {
  tracer_user_function_spec spec{};
  spec.param_count = static_cast<uint8_t>(std::min<size_t>(function.params.size(), TRACER_USER_PARAMS_MAX));
  for (size_t i = 0; i < spec.param_count; ++i) spec.params[i] = param_spec(function.params[i]);
  return spec;
}

UserFunctions::UserFunctions(std::vector<UserFunction> configured) {
  functions_.push_back(bash_readline_function());
  for (UserFunction& function : configured) functions_.push_back(std::move(function));
  argument_names_.resize(functions_.size());
  for (size_t slot = 0; slot < functions_.size(); ++slot) {
    const UserFunction& function = functions_[slot];
    for (const UserParameter& param : function.params) argument_names_[slot].push_back(param.name);
    definitions_.push_back(EventDefinition{static_cast<uint16_t>(TRACER_EVENT_USER_FUNCTION_BASE + slot),
                                           function.table_name, function.builtin ? kBashReadlineHooks : kUserHooks,
                                           !function.builtin, true, argument_names_[slot]});
  }
}

const EventDefinition* UserFunctions::find(std::string_view name) const {
  for (const EventDefinition& definition : definitions_)
    if (definition.name == name) return &definition;
  return nullptr;
}

const EventDefinition* UserFunctions::by_id(uint16_t event_id) const {
  const std::optional<uint32_t> slot = user_slot_of_event(event_id);
  return slot && *slot < definitions_.size() ? &definitions_[*slot] : nullptr;
}

const UserFunction* UserFunctions::function_of_event(uint16_t event_id) const {
  const std::optional<uint32_t> slot = user_slot_of_event(event_id);
  return slot && *slot < functions_.size() ? &functions_[*slot] : nullptr;
}

std::optional<uint32_t> user_slot_of_event(uint16_t event_id) {
  if (event_id < TRACER_EVENT_USER_FUNCTION_BASE ||
      event_id >= TRACER_EVENT_USER_FUNCTION_BASE + TRACER_USER_FUNCTION_MAX)
    return std::nullopt;
  return event_id - TRACER_EVENT_USER_FUNCTION_BASE;
}

Result<std::vector<UserFunction>> parse_user_functions(const nlohmann::json& list) {
  if (!list.is_array()) return usage_error("user_tracers must be an array");
  if (list.size() >= TRACER_USER_FUNCTION_MAX)
    return usage_error("user_tracers: at most " + std::to_string(TRACER_USER_FUNCTION_MAX - 1) + " entries");
  std::vector<UserFunction> functions;
  std::set<std::string> tables;
  for (size_t index = 0; index < list.size(); ++index) {
    Result<UserFunction> function = parse_function(index, list[index]);
    if (!function) return function.take_error();
    if (!tables.insert(function->table_name).second)
      return EntryError(index, list[index])("table_name '" + function->table_name + "' is given twice");
    functions.push_back(std::move(*function));
  }
  return functions;
}

Result<Event> decode_user_function(std::span<const std::byte> record, Event event, const UserFunction& function) {
  if (record.size() < sizeof(tracer_user_function_record))
    return runtime_error("user function record of " + std::to_string(record.size()) + " bytes is too short");
  tracer_user_function_record raw;
  std::memcpy(&raw, record.data(), sizeof(raw));
  const std::string_view data(reinterpret_cast<const char*>(record.data()) + sizeof(raw), record.size() - sizeof(raw));
  const size_t count = std::min<size_t>(function.params.size(), TRACER_USER_PARAMS_MAX);

  // The captures: those read at entry first, then those read at return.
  std::array<std::string_view, TRACER_USER_PARAMS_MAX> captured{};
  size_t offset = 0;
  for (const bool at_return : {false, true}) {
    for (size_t i = 0; i < count; ++i) {
      const bool read_at_return = param_spec(function.params[i]).at_return || (raw.read_at_return & (1u << i));
      if (read_at_return != at_return) continue;
      const size_t length = raw.capture_len[i];
      if (length > data.size() - offset) return runtime_error("user function record lengths overrun the record");
      captured[i] = data.substr(offset, length);
      offset += length;
    }
  }

  if (raw.flags & TRACER_USER_RECORD_UNVERIFIED_EXE) event.unverified_executable = {raw.exe_inode, raw.exe_dev};
  for (size_t i = 0; i < count; ++i) {
    const UserParameter& param = function.params[i];
    const tracer_user_param_spec spec = param_spec(param);
    const uint64_t register_value =
        spec.source == TRACER_USER_SOURCE_RETURN ? raw.return_value : raw.args[spec.source % TRACER_SYSCALL_ARGS];
    const uint8_t bit = uint8_t(1u << i);
    if (spec.capture == TRACER_USER_CAPTURE_VALUE) {
      event.args.add(param.name, number_of(param.type, register_value));
      continue;
    }
    if (raw.pointer_null & bit) {
      event.args.add(param.name, nullptr);
      continue;
    }
    if (raw.capture_failed & bit) {
      event.set(EventFlag::argument_read_failed);
      event.args.add(param.name, SymbolicValue{static_cast<int64_t>(register_value), Symbols::address});
      continue;
    }
    if (raw.capture_truncated & bit) event.set(EventFlag::argument_truncated);
    if (spec.capture == TRACER_USER_CAPTURE_STRING) {
      event.args.add(param.name, captured[i]);
    } else if (param.type == ParamType::byte_array) {
      event.args.add(param.name, ByteArray{captured[i]});
    } else {
      // A number read through a pointer, in this machine's byte order.
      uint64_t value = 0;
      std::memcpy(&value, captured[i].data(), std::min(captured[i].size(), sizeof(value)));
      event.args.add(param.name, number_of(param.type, value));
    }
  }
  return event;
}

}  // namespace tracer
