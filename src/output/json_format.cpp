#include <fmt/format.h>

#include "tracer/core/escape.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/output/format.hpp"
#include "tracer/process/exec_id.hpp"
#include "tracer/syscalls/syscall_decode.hpp"

namespace tracer {
namespace {

template <typename Integer>
void append_number(std::string& out, Integer value) {
  fmt::format_to(std::back_inserter(out), "{}", value);
}

// Returns true when the string held bytes that are not valid UTF-8.
bool append_json_string(std::string& out, std::string_view bytes) {
  out += '"';
  const bool had_invalid = append_json_string_body(out, bytes);
  out += '"';
  return had_invalid;
}

bool append_socket_address(std::string& out, const SocketAddress& address);

bool append_value(std::string& out, const Value& value) {
  bool had_invalid = false;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string_view>) {
          had_invalid = append_json_string(out, v);
        } else if constexpr (std::is_same_v<T, StringList>) {
          out += '[';
          bool first = true;
          v.for_each([&](std::string_view item) {
            if (!first) out += ',';
            first = false;
            had_invalid |= append_json_string(out, item);
          });
          out += ']';
        } else if constexpr (std::is_same_v<T, SymbolicValue>) {
          if (json_shows_number(v))
            append_number(out, v.raw);
          else
            append_json_string(out, symbolic_text(v));
        } else if constexpr (std::is_same_v<T, SocketAddress>) {
          had_invalid = append_socket_address(out, v);
        } else if constexpr (std::is_same_v<T, ByteArray>) {
          out += '"';
          append_hex(out, v.bytes);
          out += '"';
        } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
          out += "null";
        } else {
          append_number(out, v);
        }
      },
      value);
  return had_invalid;
}

// {"family":"AF_INET","address":"127.0.0.1","port":443} or
// {"family":"AF_UNIX","path":"/run/x.sock"} (abstract: "abstract":true).
bool append_socket_address(std::string& out, const SocketAddress& address) {
  const SocketAddressFields fields = describe_socket_address(address.bytes);
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
    had_invalid = append_json_string(out, *fields.path);
    if (fields.abstract) out += R"(,"abstract":true)";
  }
  out += '}';
  return had_invalid;
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

}  // namespace

// {"pid":..,"exec_id":..,"comm":..,"exe":..,"argv":[..]}; true when a string
// held bytes that are not valid UTF-8.
bool JsonFormatter::append_process(std::string& out, const ProcessSummary& process) const {
  out += R"({"pid":)";
  append_number(out, process.pid);
  if (process.exec_gen) {
    out += R"(,"exec_id":")";
    append_exec_id(out, options_.boot_tag, process.pid, process.start_boot_ns, *process.exec_gen);
    out += '"';
  }
  out += R"(,"comm":)";
  bool had_invalid = append_json_string(out, process.comm);
  out += R"(,"exe":)";
  had_invalid |= append_json_string(out, process.exe);
  out += R"(,"argv":)";
  had_invalid |= append_value(out, process.argv);
  out += R"(,"argv_truncated":)";
  out += process.argv_truncated ? "true" : "false";
  out += '}';
  return had_invalid;
}

void JsonFormatter::append(std::string& out, const Event& event) {
  const TaskContext& task = event.task;
  out += R"({"timestamp":")";
  timestamps_.append(out, clock_.to_wall(event.boot_ns));
  out += R"(","event":")";
  out += event.definition->name;
  out += R"(","pid":)";
  append_number(out, task.pid);
  out += R"(,"tid":)";
  append_number(out, task.tid);
  out += R"(,"ppid":)";
  append_number(out, task.ppid);
  out += R"(,"ns_pid":)";
  append_number(out, task.ns_pid);
  out += R"(,"uid":)";
  append_number(out, task.uid);
  out += R"(,"gid":)";
  append_number(out, task.gid);
  out += R"(,"comm":)";
  bool had_invalid = append_json_string(out, task.comm);
  out += R"(,"cgroup_id":)";
  append_number(out, task.cgroup_id);
  out += R"(,"mntns":)";
  append_number(out, task.mntns);
  out += R"(,"pidns":)";
  append_number(out, task.pidns);
  if (event.container_id.empty()) {
    out += R"(,"container_id":null)";
  } else {
    out += R"(,"container_id":)";
    had_invalid |= append_json_string(out, event.container_id);
  }
  out += R"(,"exec_id":")";
  append_exec_id(out, options_.boot_tag, task.pid, task.start_boot_ns, task.exec_gen);
  out += '"';
  if (task.ppid == 0) {
    out += R"(,"parent_exec_id":null)";
  } else {
    out += R"(,"parent_exec_id":")";
    append_exec_id(out, options_.boot_tag, task.ppid, task.parent_start_boot_ns, task.parent_exec_gen);
    out += '"';
  }
  if (event.cwd) {
    out += R"(,"cwd":)";
    had_invalid |= append_json_string(out, *event.cwd);
  }
  if (!event.lineage.empty()) {
    out += R"(,"parent":)";
    had_invalid |= append_process(out, event.lineage.front());
    if (options_.ancestors) {
      out += R"(,"ancestors":[)";
      for (size_t i = 0; i < event.lineage.size(); ++i) {
        if (i) out += ',';
        had_invalid |= append_process(out, event.lineage[i]);
      }
      out += ']';
    }
  }
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

  // args first into a side buffer: whether any string was invalid UTF-8 is a
  // flag, and flags come before args.
  std::string& args = args_buffer_;
  args.clear();
  args += R"(,"args":{)";
  bool first = true;
  for (const Arg& arg : event.args) {
    if (!first) args += ',';
    first = false;
    args += '"';
    args += arg.name;
    args += R"(":)";
    had_invalid |= append_value(args, arg.value);
  }
  args += "}}\n";

  out += R"(,"flags":[)";
  first = true;
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
  out += args;
}

}  // namespace tracer
