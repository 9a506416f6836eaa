#include "tracer/views/tree_command.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "tracer/views/json_record.hpp"
#include "tracer/views/line_reader.hpp"
#include "tracer/views/process_tree.hpp"
#include "tracer/views/tree_html.hpp"
#include "tracer/views/tree_text.hpp"

namespace tracer {
namespace {

bool session_matches(const SessionFields& fields, const std::string& wanted) {
  const auto number = [&](const std::optional<uint64_t>& value) { return value && std::to_string(*value) == wanted; };
  return number(fields.sid) || number(fields.auid) || (fields.tty && *fields.tty == wanted);
}

bool has_session(const SessionFields& fields) { return fields.sid || fields.auid || fields.tty; }

// The records of the log that --since, --until and --session keep.
Status read_tree(const Options& options, ProcessTree& tree) {
  const TreeOptions& wanted = options.tree;
  bool any_session = false;
  Status status = for_each_record(
      options.view_input, *options.user_functions,
      [&](const Event& event, const JsonRecordReader& reader, const LineReader& input) -> Status {
        const auto time_ns = static_cast<int64_t>(event.boot_ns);
        if ((wanted.since_ns && time_ns < *wanted.since_ns) || (wanted.until_ns && time_ns > *wanted.until_ns))
          return ok_status();
        if (wanted.session) {
          any_session |= has_session(reader.session());
          if (!session_matches(reader.session(), *wanted.session)) return ok_status();
        }
        tree.add(event, reader.boot_tag(), input.line());
        return ok_status();
      });
  if (!status) return status;
  if (wanted.session && !any_session)
    return usage_error("--session " + *wanted.session +
                       ": the log's records carry no tty, sid or auid; select by --pid or --exec-id");
  tree.finish();
  return ok_status();
}

// --pid and --exec-id: where the drawing starts.
Status choose_roots(const Options& options, const ProcessTree& tree, TreeTextOptions& text) {
  if (options.tree.exec_id) {
    const auto found = tree.find_exec_id(*options.tree.exec_id);
    if (!found) return usage_error("--exec-id " + *options.tree.exec_id + ": no such image in the log");
    text.roots = std::vector<size_t>{found->first};
    text.first_image = found->second;
  } else if (options.tree.pid) {
    std::vector<size_t> roots;
    for (size_t i = 0; i < tree.processes().size(); ++i)
      if (tree.processes()[i].key.pid == *options.tree.pid && !tree.processes()[i].placeholder) roots.push_back(i);
    if (roots.empty())
      return usage_error("--pid " + std::to_string(*options.tree.pid) + ": no such process in the log");
    text.roots = std::move(roots);
  }
  return ok_status();
}

size_t terminal_width() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

Status write_all(int fd, std::string_view bytes, const std::string& name) {
  while (!bytes.empty()) {
    const ssize_t wrote = ::write(fd, bytes.data(), bytes.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0 && errno == EPIPE) return Error{"", ExitKind::reader_gone};
    if (wrote < 0) return errno_error("cannot write " + name);
    bytes.remove_prefix(static_cast<size_t>(wrote));
  }
  return ok_status();
}

// --html PATH: the page, written whole to a new file.
Status write_page(const Options& options, const ProcessTree& tree, const TreeTextOptions& text) {
  const std::string& path = *options.tree.html;
  UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!file) return errno_error("cannot create " + path);
  const std::string title = options.view_input == "-" ? "stdin" : options.view_input;
  return write_all(file.get(), render_tree_html(tree, text, title), path);
}

}  // namespace

Status run_tree(const Options& options) {
  ProcessTree tree(options.tree.html.has_value());
  if (Status status = read_tree(options, tree); !status) return status;
  TreeTextOptions text;
  if (Status status = choose_roots(options, tree, text); !status) return status;
  if (options.tree.html) return write_page(options, tree, text);
  const bool terminal = isatty(STDOUT_FILENO);
  text.color = terminal;
  text.width = options.tree.width ? options.tree.width : (terminal ? terminal_width() : 0);
  return write_all(STDOUT_FILENO, render_tree_text(tree, text), "stdout");
}

}  // namespace tracer
