#include <array>
#include <charconv>
#include <utility>
#include <vector>

#include "tracer/core/base64.hpp"
#include "tracer/core/escape.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/decode/value_visit.hpp"
#include "tracer/output/format.hpp"
#include "tracer/process/exec_id.hpp"
#include "tracer/syscalls/syscall_decode.hpp"

namespace tracer {
namespace {

template <typename Integer>
void append_number(std::string& out, Integer value) {
  char digits[24];
  out.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof(digits), value).ptr - digits));
}

// Returns true when the string held bytes that are not valid UTF-8.
bool append_json_string(std::string& out, std::string_view bytes) {
  out += '"';
  const bool had_invalid = append_json_string_body(out, bytes);
  out += '"';
  return had_invalid;
}

// A string that is not valid UTF-8 reads back from its escapes as other
// text (0xE9 as U+00E9, which is C3 A9 too): its exact bytes follow it as
// ,"<key>_b64":"<base64>".
void append_exact_bytes(std::string& out, std::string_view key, std::string_view bytes) {
  out += R"(,")";
  out += key;
  out += R"(_b64":")";
  append_base64(out, bytes);
  out += '"';
}

// The value of the field key, and its exact bytes when they were not valid
// UTF-8; true then.
bool append_json_field(std::string& out, std::string_view key, std::string_view bytes) {
  if (!append_json_string(out, bytes)) return false;
  append_exact_bytes(out, key, bytes);
  return true;
}

// {"family":"AF_INET","address":"127.0.0.1","port":443} or
// {"family":"AF_UNIX","path":"/run/x.sock"} (abstract: "abstract":true).
bool append_socket_address(std::string& out, const SocketAddressFields& fields) {
  bool had_invalid = false;
  out += R"({"family":)";
  append_json_string(out, fields.family);
  if (fields.address) {
    out += R"(,"address":)";
    append_json_string(out, *fields.address);
  }
  if (fields.port) {
    out += R"(,"port":)";
    append_number(out, *fields.port);
  }
  if (fields.path) {
    out += R"(,"path":)";
    had_invalid = append_json_field(out, "path", *fields.path);
    if (fields.abstract) out += R"(,"abstract":true)";
  }
  out += '}';
  return had_invalid;
}

// symbolic_text, remembered: the same few flags and modes come back record
// after record, and naming one builds several strings.
std::string_view remembered_symbolic_text(const SymbolicValue& value) {
  struct Entry {
    int64_t raw = 0;
    Symbols symbols = Symbols::fd;
    bool used = false;
    std::string text;
  };
  thread_local std::array<Entry, 64> remembered;
  const auto key = static_cast<uint64_t>(value.raw) * 31 + static_cast<uint64_t>(value.symbols);
  Entry& entry = remembered[(key ^ (key >> 7)) % remembered.size()];
  if (!entry.used || entry.raw != value.raw || entry.symbols != value.symbols) {
    entry.raw = value.raw;
    entry.symbols = value.symbols;
    entry.used = true;
    entry.text = symbolic_text(value);
  }
  return entry.text;
}

// Writes the value of the field key as JSON, with the exact bytes of each
// string that was not valid UTF-8: a list's as ,"<key>_b64":{"<index>":..}.
struct JsonValue {
  std::string& out;
  std::string_view key;
  bool had_invalid = false;
  size_t index = 0;
  std::vector<std::pair<size_t, std::string_view>> invalid_items{};

  template <typename Integer>
  void number(Integer value) {
    append_number(out, value);
  }
  void boolean(bool value) { out += value ? "true" : "false"; }
  void text(std::string_view value) { had_invalid |= append_json_field(out, key, value); }
  void list_begin() { out += '['; }
  void list_item(std::string_view item, bool first) {
    if (!first) out += ',';
    if (append_json_string(out, item)) invalid_items.emplace_back(index, item);
    ++index;
  }
  void list_end() {
    out += ']';
    if (invalid_items.empty()) return;
    had_invalid = true;
    out += R"(,")";
    out += key;
    out += R"(_b64":{)";
    for (const auto& [item_index, item] : invalid_items) {
      if (item_index != invalid_items.front().first) out += ',';
      out += '"';
      append_number(out, item_index);
      out += R"(":")";
      append_base64(out, item);
      out += '"';
    }
    out += '}';
  }
  void symbolic(const SymbolicValue& value) {
    if (json_shows_number(value))
      append_number(out, value.raw);
    else
      append_json_string(out, remembered_symbolic_text(value));
  }
  void address(const SocketAddressFields& fields) { had_invalid |= append_socket_address(out, fields); }
  void bytes(std::string_view value) {
    out += '"';
    append_hex(out, value);
    out += '"';
  }
  void null() { out += "null"; }
};

bool append_value(std::string& out, std::string_view key, const Value& value) {
  JsonValue writer{out, key};
  visit_value(value, writer);
  return writer.had_invalid;
}

// "syscall":{"nr":257,"raw_args":[-100,140737488346112,524288,0],"duration_ns":1234}
void append_syscall(std::string& out, const SyscallRaw& syscall) {
  out += R"(,"syscall":{"nr":)";
  append_number(out, syscall.number);
  out += R"(,"raw_args":[)";
  for (uint8_t i = 0; i < syscall.count; ++i) {
    if (i) out += ',';
    if (syscall.signed_mask & (1u << i))
      append_number(out, static_cast<int64_t>(syscall.args[i]));
    else
      append_number(out, syscall.args[i]);
  }
  out += ']';
  if (!syscall.no_return) {
    out += R"(,"duration_ns":)";
    append_number(out, syscall.duration_ns);
  }
  out += '}';
}

// Unsigned fields in a row; each key with its punctuation: ,"tid":
struct NumberField {
  std::string_view key;
  uint64_t value;
};
void append_number_fields(std::string& out, std::initializer_list<NumberField> fields) {
  for (const NumberField& field : fields) {
    out += field.key;
    append_number(out, field.value);
  }
}

// {"pid":..,"exec_id":..,"comm":..,"exe":..,"argv":[..]}; true when a string
// held bytes that are not valid UTF-8.
bool append_process(std::string& out, const ProcessSummary& process, std::string_view boot_tag) {
  out += R"({"pid":)";
  append_number(out, process.pid);
  if (process.exec_gen) {
    out += R"(,"exec_id":")";
    append_exec_id(out, boot_tag, process.pid, process.start_boot_ns, *process.exec_gen);
    out += '"';
  }
  out += R"(,"comm":)";
  bool had_invalid = append_json_field(out, "comm", process.comm);
  out += R"(,"exe":)";
  had_invalid |= append_json_field(out, "exe", process.exe);
  out += R"(,"argv":)";
  had_invalid |= append_value(out, "argv", process.argv);
  out += R"(,"argv_truncated":)";
  out += process.argv_truncated ? "true" : "false";
  out += '}';
  return had_invalid;
}

void append_optional_number(std::string& out, std::string_view key, std::optional<uint32_t> value) {
  out += key;
  if (value)
    append_number(out, *value);
  else
    out += "null";
}

// key is the bare name: "tty".
bool append_optional_string(std::string& out, std::string_view key, std::optional<std::string_view> value) {
  out += R"(,")";
  out += key;
  out += R"(":)";
  if (value) return append_json_field(out, key, *value);
  out += "null";
  return false;
}

// Who the caller acts as and where: "euid" to "host".
bool append_identity(std::string& out, const Event& event) {
  const TaskContext& task = event.task;
  append_number_fields(out, {{R"(,"euid":)", task.euid}, {R"(,"egid":)", task.egid}});
  append_optional_number(out, R"(,"auid":)", task.auid);
  append_optional_number(out, R"(,"sessionid":)", task.sessionid);
  append_number_fields(out, {{R"(,"sid":)", task.sid}});
  bool had_invalid = append_optional_string(out, "tty", event.tty);
  return had_invalid | append_optional_string(out, "host", event.host);
}

// Who made the call: "pid" to "host".
bool append_task(std::string& out, const Event& event) {
  const TaskContext& task = event.task;
  append_number_fields(out, {{R"(,"pid":)", task.pid},
                             {R"(,"tid":)", task.tid},
                             {R"(,"ppid":)", task.ppid},
                             {R"(,"ns_pid":)", task.ns_pid},
                             {R"(,"uid":)", task.uid},
                             {R"(,"gid":)", task.gid}});
  out += R"(,"comm":)";
  bool had_invalid = append_json_field(out, "comm", task.comm);
  append_number_fields(
      out, {{R"(,"cgroup_id":)", task.cgroup_id}, {R"(,"mntns":)", task.mntns}, {R"(,"pidns":)", task.pidns}});
  if (event.container_id.empty()) {
    out += R"(,"container_id":null)";
  } else {
    out += R"(,"container_id":)";
    had_invalid |= append_json_field(out, "container_id", event.container_id);
  }
  return had_invalid | append_identity(out, event);
}

void append_exec_ids(std::string& out, const TaskContext& task, std::string_view boot_tag) {
  out += R"(,"exec_id":")";
  append_exec_id(out, boot_tag, task.pid, task.start_boot_ns, task.exec_gen);
  out += '"';
  if (task.ppid == 0) {
    out += R"(,"parent_exec_id":null)";
  } else {
    out += R"(,"parent_exec_id":")";
    append_exec_id(out, boot_tag, task.ppid, task.parent_start_boot_ns, task.parent_exec_gen);
    out += '"';
  }
}

// "cwd", and the lineage enrichment added: "parent" and "ancestors".
bool append_surroundings(std::string& out, const Event& event, const JsonOptions& options) {
  bool had_invalid = false;
  if (event.cwd) {
    out += R"(,"cwd":)";
    had_invalid |= append_json_field(out, "cwd", *event.cwd);
  }
  if (event.lineage.empty()) return had_invalid;
  out += R"(,"parent":)";
  had_invalid |= append_process(out, event.lineage.front(), options.boot_tag);
  if (options.ancestors) {
    out += R"(,"ancestors":[)";
    for (size_t i = 0; i < event.lineage.size(); ++i) {
      if (i) out += ',';
      had_invalid |= append_process(out, event.lineage[i], options.boot_tag);
    }
    out += ']';
  }
  return had_invalid;
}

// "ret", its "errno" name for a syscall, and "syscall".
void append_result(std::string& out, const Event& event) {
  if (event.ret) {
    out += R"(,"ret":)";
    append_number(out, *event.ret);
    if (event.syscall)
      if (std::optional<std::string_view> name = errno_name_of_return(*event.ret)) {
        out += R"(,"errno":")";
        out += *name;
        out += '"';
      }
  }
  if (event.syscall) append_syscall(out, *event.syscall);
}

// ,"args":{..}}\n: the end of the line.
bool append_args(std::string& out, const ArgList& args) {
  bool had_invalid = false;
  out += R"(,"args":{)";
  bool first = true;
  for (const Arg& arg : args) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += arg.name;
    out += R"(":)";
    had_invalid |= append_value(out, arg.name, arg.value);
  }
  out += "}}\n";
  return had_invalid;
}

void append_flags(std::string& out, const Event& event, bool had_invalid) {
  out += R"(,"flags":[)";
  bool first = true;
  for (auto [flag, name] : kEventFlagNames) {
    if (!event.has(flag)) continue;
    if (!first) out += ',';
    first = false;
    out += '"';
    out += name;
    out += '"';
  }
  if (had_invalid) out += first ? R"("invalid_utf8")" : R"(,"invalid_utf8")";
  out += ']';
}

bool same_optional(const std::optional<std::string>& kept, std::optional<std::string_view> value) {
  return kept.has_value() == value.has_value() && (!kept || *kept == *value);
}

std::optional<std::string> owned(std::optional<std::string_view> value) {
  if (!value) return std::nullopt;
  return std::string(*value);
}

}  // namespace

bool TaskFragmentCache::holds(const Event& event) const {
  return valid_ && event.task == task_ && event.container_id == container_id_ && same_optional(host_, event.host) &&
         same_optional(tty_, event.tty);
}

void TaskFragmentCache::keep(const Event& event) {
  task_ = event.task;
  comm_.assign(event.task.comm);
  task_.comm = comm_;
  container_id_.assign(event.container_id);
  host_ = owned(event.host);
  tty_ = owned(event.tty);
  valid_ = true;
}

bool TaskFragmentCache::append(std::string& out, const Event& event, std::string_view boot_tag) {
  if (!holds(event)) {
    fragment_.clear();
    had_invalid_ = append_task(fragment_, event);
    append_exec_ids(fragment_, event.task, boot_tag);
    keep(event);
  }
  out += fragment_;
  return had_invalid_;
}

void JsonFormatter::append(std::string& out, const Event& event) {
  out += R"({"timestamp":")";
  timestamps_.append(out, clock_.to_wall(event.boot_ns));
  out += R"(","event":")";
  out += event.definition->name;
  out += '"';
  bool had_invalid = task_fragment_.append(out, event, options_.boot_tag);
  had_invalid |= append_surroundings(out, event, options_);
  append_result(out, event);
  // args first into a side buffer: whether any string was invalid UTF-8 is a
  // flag, and flags come before args.
  args_buffer_.clear();
  had_invalid |= append_args(args_buffer_, event.args);
  append_flags(out, event, had_invalid);
  out += args_buffer_;
}

}  // namespace tracer
