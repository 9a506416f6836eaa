#include <fmt/format.h>

#include "tracer/core/escape.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/decode/value_visit.hpp"
#include "tracer/output/format.hpp"
#include "tracer/syscalls/syscall_decode.hpp"

namespace tracer {
namespace {

void append_padded(std::string& out, std::string_view text, size_t width) {
  out += text;
  out.append(text.size() < width ? width - text.size() + 1 : 1, ' ');
}

template <typename Integer>
void append_number_padded(std::string& out, Integer value, size_t width) {
  append_padded(out, fmt::format("{}", value), width);
}

// Shell-style quoting, so that an argument with spaces stays one argument.
void append_quoted_argument(std::string& out, std::string_view argument) {
  const bool plain = !argument.empty() && argument.find_first_of(" \t\n'\"\\$`;&|<>()*?!#~") == std::string_view::npos;
  if (plain) {
    append_terminal_safe(out, argument);
    return;
  }
  out += '\'';
  for (char c : argument) {
    if (c == '\'')
      out += "'\\''";
    else
      append_terminal_safe(out, std::string_view(&c, 1));
  }
  out += '\'';
}

// 127.0.0.1:443, [::1]:443, /run/x.sock, @abstract, AF_NETLINK.
void append_socket_address(std::string& out, const SocketAddressFields& fields) {
  if (fields.address && fields.port) {
    if (fields.family == "AF_INET6")
      fmt::format_to(std::back_inserter(out), "[{}]:{}", *fields.address, *fields.port);
    else
      fmt::format_to(std::back_inserter(out), "{}:{}", *fields.address, *fields.port);
  } else if (fields.path) {
    if (fields.abstract) out += '@';
    append_quoted_argument(out, *fields.path);
  } else {
    out += fields.family;
  }
}

// Writes one value as the table shows it: argv as a shell would read it.
struct TableValue {
  std::string& out;

  template <typename Integer>
  void number(Integer value) {
    fmt::format_to(std::back_inserter(out), "{}", value);
  }
  void boolean(bool value) { out += value ? "true" : "false"; }
  void text(std::string_view value) { append_quoted_argument(out, value); }
  void list_item(std::string_view item, bool first) {
    if (!first) out += ' ';
    append_quoted_argument(out, item);
  }
  void symbolic(const SymbolicValue& value) { out += symbolic_text(value); }
  void address(const SocketAddressFields& fields) { append_socket_address(out, fields); }
  void bytes(std::string_view value) { append_hex(out, value); }
  void null() { out += "NULL"; }
};

void append_value(std::string& out, const Value& value) {
  TableValue writer{out};
  visit_value(value, writer);
}

// execve: "PATHNAME ARGV..." like execsnoop; other events: name=value pairs.
void append_args(std::string& out, const Event& event) {
  const Arg* pathname = event.args.find("pathname");
  const Arg* argv = event.args.find("argv");
  if (argv) {
    if (pathname) {
      append_value(out, pathname->value);
      out += "  ";
    }
    append_value(out, argv->value);
    if (const Arg* interpreter = event.args.find("interpreter")) {
      out += "  interpreter=";
      append_value(out, interpreter->value);
    }
  } else {
    bool first = true;
    for (const Arg& arg : event.args) {
      if (!first) out += ' ';
      first = false;
      out += arg.name;
      out += '=';
      append_value(out, arg.value);
    }
  }
  for (auto [flag, name] : kEventFlagNames) {
    if (event.has(flag) && flag != EventFlag::compat_syscall) {
      out += " [";
      out += name;
      out += ']';
    }
  }
}

// A syscall's or an exec's error by name (ENOENT), as JSON's "errno" names
// it; other values (a user function's return) as numbers.
std::string return_text(const Event& event) {
  if (!event.ret) return "-";
  const std::string_view event_name = event.definition->name;
  if (event.syscall || event_name == "execve" || event_name == "execveat")
    if (std::optional<std::string_view> name = errno_name_of_return(*event.ret)) return std::string(*name);
  return fmt::format("{}", *event.ret);
}

// RET holds ENOENT, EVENT bash_readline; COMM is at most 15 characters.
constexpr size_t kTimeWidth = 15, kUidWidth = 5, kCommWidth = 15, kPidWidth = 7, kRetWidth = 6, kEventWidth = 13;

}  // namespace

void append_fitted(std::string& out, std::string_view line, size_t width) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  // Columns counted as UTF-8 characters: the line is escaped, so every
  // character is printable (a wide one may still take two columns).
  size_t columns = 0, cut = line.size();
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;
    if (++columns == width) cut = i;
  }
  if (width == 0 || columns <= width) {
    out += line;
  } else {
    out += line.substr(0, cut);
    out += "\u2026";  // …: the line goes on
  }
  out += '\n';
}

std::string TableFormatter::header() {
  std::string out;
  append_padded(out, "TIME", kTimeWidth);
  append_padded(out, "UID", kUidWidth);
  append_padded(out, "COMM", kCommWidth);
  append_padded(out, "PID", kPidWidth);
  append_padded(out, "TID", kPidWidth);
  append_padded(out, "RET", kRetWidth);
  append_padded(out, "EVENT", kEventWidth);
  out += "ARGS\n";
  return out;
}

void TableFormatter::append(std::string& out, const Event& event) const {
  std::string time;
  append_local_time_of_day(time, clock_.to_wall(event.boot_ns));
  append_padded(out, time, kTimeWidth);
  append_number_padded(out, event.task.uid, kUidWidth);
  std::string comm;
  append_terminal_safe(comm, event.task.comm);
  append_padded(out, comm, kCommWidth);
  append_number_padded(out, event.task.pid, kPidWidth);
  append_number_padded(out, event.task.tid, kPidWidth);
  append_padded(out, return_text(event), kRetWidth);
  append_padded(out, event.definition->name, kEventWidth);
  append_args(out, event);
  out += '\n';
}

}  // namespace tracer
