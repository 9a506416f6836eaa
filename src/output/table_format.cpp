#include <fmt/format.h>

#include <charconv>

#include "tracer/core/escape.hpp"
#include "tracer/decode/event_table.hpp"
#include "tracer/decode/value_visit.hpp"
#include "tracer/output/format.hpp"
#include "tracer/syscalls/syscall_decode.hpp"

namespace tracer {
namespace {

// Ends the column that starts at `start` in out: spaces up to width, and one
// after the text in any case.
void pad_column(std::string& out, size_t start, size_t width) {
  const size_t length = out.size() - start;
  out.append(length < width ? width - length + 1 : 1, ' ');
}

void append_padded(std::string& out, std::string_view text, size_t width) {
  const size_t start = out.size();
  out += text;
  pad_column(out, start, width);
}

template <typename Integer>
void append_number(std::string& out, Integer value) {
  char digits[24];
  out.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof(digits), value).ptr - digits));
}

template <typename Integer>
void append_number_padded(std::string& out, Integer value, size_t width) {
  const size_t start = out.size();
  append_number(out, value);
  pad_column(out, start, width);
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
    append_number(out, value);
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
void append_return(std::string& out, const Event& event) {
  if (!event.ret) {
    out += '-';
    return;
  }
  const std::string_view event_name = event.definition->name;
  if (event.syscall || event_name == "execve" || event_name == "execveat")
    if (std::optional<std::string_view> name = errno_name_of_return(*event.ret)) {
      out += *name;
      return;
    }
  append_number(out, *event.ret);
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
  // Columns written in place and padded after: no string per column.
  size_t start = out.size();
  append_local_time_of_day(out, clock_.to_wall(event.boot_ns));
  pad_column(out, start, kTimeWidth);
  append_number_padded(out, event.task.uid, kUidWidth);
  start = out.size();
  append_terminal_safe(out, event.task.comm);
  pad_column(out, start, kCommWidth);
  append_number_padded(out, event.task.pid, kPidWidth);
  append_number_padded(out, event.task.tid, kPidWidth);
  start = out.size();
  append_return(out, event);
  pad_column(out, start, kRetWidth);
  append_padded(out, event.definition->name, kEventWidth);
  append_args(out, event);
  out += '\n';
}

}  // namespace tracer
