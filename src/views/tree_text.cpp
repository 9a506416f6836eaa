#include "tracer/views/tree_text.hpp"

#include <fmt/format.h>

#include <cstring>

#include "tracer/core/escape.hpp"
#include "tracer/syscalls/syscall_decode.hpp"

namespace tracer {
namespace {

constexpr const char* kBold = "\033[1m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kCyan = "\033[36m";
constexpr const char* kYellow = "\033[33m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kReset = "\033[0m";

size_t columns(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

// The first `keep` columns of text.
std::string_view first_columns(std::string_view text, size_t keep) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (count++ == keep) return text.substr(0, i);
  }
  return text;
}

std::string safe(std::string_view bytes) {
  std::string out;
  append_terminal_safe(out, bytes);
  return out;
}

// Walks the tree depth first and hands out its rows.
class RowWalker {
 public:
  RowWalker(const ProcessTree& tree, const std::function<void(TreeRow&)>& emit) : tree_(tree), emit_(emit) {}

  void process(size_t index, const std::string& lead, const std::string& rest, size_t depth, size_t first_image);

 private:
  void items(const TreeImage& image, const std::string& rest, size_t depth, size_t process);
  TreeRow image_row(size_t index, size_t image_index, bool first) const;
  std::string status(const TreeProcess& process, size_t image_index, std::optional<int64_t>& end_ns) const;

  const ProcessTree& tree_;
  const std::function<void(TreeRow&)>& emit_;
};

std::string RowWalker::status(const TreeProcess& process, size_t image_index, std::optional<int64_t>& end_ns) const {
  const TreeImage& image = process.images[image_index];
  std::string out;
  if (image_index + 1 < process.images.size()) {
    end_ns = process.images[image_index + 1].start_ns;
  } else if (process.exit_ns) {
    end_ns = *process.exit_ns;
    if (process.signal && *process.signal)
      out = fmt::format("signal {} ({})", *process.signal, symbolic_text({*process.signal, Symbols::signal}));
    else
      out = fmt::format("exit {}", process.exit_code.value_or(0));
  }
  // Appends only: gcc 12 at -O3 reports a false -Wrestrict on `"x" + std::string`.
  const auto add = [&out](std::string_view part) {
    if (!out.empty()) out += ' ';
    out += part;
  };
  if (end_ns && *end_ns > image.start_ns) add(format_duration(*end_ns - image.start_ns));
  if (!process.container_id.empty() && image_index == 0)
    add(fmt::format("container {}", std::string_view(process.container_id).substr(0, 12)));
  return out;
}

TreeRow RowWalker::image_row(size_t index, size_t image_index, bool first) const {
  const TreeProcess& process = tree_.processes()[index];
  TreeRow row;
  row.kind = first ? TreeRow::Kind::process : TreeRow::Kind::exec;
  row.process = index;
  row.start_ns = process.first_ns;
  if (first) row.segments.push_back({std::to_string(process.key.pid), TreeStyle::pid});
  row.body = row.segments.size();
  if (process.placeholder || process.images.empty()) {
    row.segments.push_back(
        {process.placeholder ? " (not in the log)" : " (" + safe(process.comm) + ")", TreeStyle::dim});
    return row;
  }
  const TreeImage& image = process.images[image_index];
  row.start_ns = image.start_ns;
  row.record = image.record;
  std::string body = first ? " " : "\u21b3 exec ";
  if (image.exec_seen)
    body += safe(image.argv.empty() ? image.path : image.argv);
  else
    body.append("(").append(safe(process.comm)).append(")");
  row.segments.push_back({std::move(body), TreeStyle::plain});
  std::string state = status(process, image_index, row.end_ns);
  if (!state.empty()) {
    const bool last = image_index + 1 == process.images.size();
    const bool bad = process.signal.value_or(0) != 0 || process.exit_code.value_or(0) != 0;
    row.segments.push_back({"  " + state, bad && last ? TreeStyle::warn : TreeStyle::dim});
    if (last && row.record.empty()) row.record = process.exit_record;
  }
  return row;
}

// A failed exec repeated at once (a program trying each directory of a
// search path for `as`): one row with the count.
size_t repeats_of(const std::vector<TreeItem>& items, size_t at) {
  size_t count = 1;
  const TreeItem& first = items[at];
  while (at + count < items.size() && items[at + count].kind == TreeItem::Kind::failed_exec &&
         items[at + count].text == first.text && items[at + count].ret == first.ret)
    ++count;
  return count;
}

void RowWalker::items(const TreeImage& image, const std::string& rest, size_t depth, size_t process) {
  for (size_t i = 0; i < image.items.size(); ++i) {
    const TreeItem& item = image.items[i];
    const size_t repeats = item.kind == TreeItem::Kind::failed_exec ? repeats_of(image.items, i) : 1;
    i += repeats - 1;
    const bool last = i + 1 == image.items.size();
    const std::string lead = rest + (last ? "\u2514\u2500 " : "\u251c\u2500 ");
    const std::string next = rest + (last ? "   " : "\u2502  ");
    if (item.kind == TreeItem::Kind::child) {
      this->process(item.child, lead, next, depth + 1, 0);
      continue;
    }
    TreeRow row;
    row.depth = depth + 1;
    row.prefix = lead;
    row.process = process;
    row.start_ns = item.time_ns;
    row.record = item.record;
    row.body = 1;
    if (item.kind == TreeItem::Kind::line) {
      row.kind = TreeRow::Kind::line;
      row.segments = {{"$ ", TreeStyle::line}, {safe(item.text), TreeStyle::line}};
    } else {
      const std::optional<std::string_view> error = errno_name_of_return(item.ret);
      row.kind = TreeRow::Kind::failed_exec;
      row.segments = {{"\u2717 exec ", TreeStyle::failed},
                      {safe(item.text), TreeStyle::failed},
                      {": " + (error ? std::string(*error) : std::to_string(item.ret)), TreeStyle::failed}};
      if (repeats > 1) row.segments.push_back({fmt::format(" \u00d7{}", repeats), TreeStyle::dim});
    }
    emit_(row);
  }
}

void RowWalker::process(size_t index, const std::string& lead, const std::string& rest, size_t depth,
                        size_t first_image) {
  const TreeProcess& process = tree_.processes()[index];
  if (process.images.empty() || process.placeholder) {
    TreeRow row = image_row(index, 0, true);
    row.prefix = lead;
    row.depth = depth;
    emit_(row);
    for (const TreeImage& image : process.images) items(image, rest, depth, index);
    return;
  }
  for (size_t image = first_image; image < process.images.size(); ++image) {
    TreeRow row = image_row(index, image, image == first_image);
    row.prefix = image == first_image ? lead : rest;
    row.depth = depth;
    emit_(row);
    items(process.images[image], rest, depth, index);
  }
  if (process.lines_dropped) {
    TreeRow row;
    row.kind = TreeRow::Kind::note;
    row.depth = depth + 1;
    row.prefix = rest;
    row.process = index;
    row.segments = {{fmt::format("({} more typed lines not kept)", process.lines_dropped), TreeStyle::dim}};
    emit_(row);
  }
}

const char* ansi_color(TreeStyle style) {
  switch (style) {
    case TreeStyle::plain: return nullptr;
    case TreeStyle::pid: return kBold;
    case TreeStyle::dim: return kDim;
    case TreeStyle::warn: return kYellow;
    case TreeStyle::line: return kCyan;
    case TreeStyle::failed: return kRed;
  }
  return nullptr;
}

// One row as text; the body segment is cut to fit the width.
void append_row(std::string& out, TreeRow& row, const TreeTextOptions& options) {
  if (options.width) {
    size_t used = columns(row.prefix);
    for (const TreeSegment& segment : row.segments) used += columns(segment.text);
    if (used > options.width) {
      const size_t over = used - options.width + 1;  // and one for the ellipsis
      std::string& text = row.segments[row.body].text;
      const size_t have = columns(text);
      if (have <= over) {
        // Even without its body the row is too wide: cut it whole.
        std::string plain = row.prefix;
        for (const TreeSegment& segment : row.segments) plain += segment.text;
        out += first_columns(plain, options.width - 1);
        out += "\u2026\n";
        return;
      }
      text = std::string(first_columns(text, have - over)) + "\u2026";
    }
  }
  out += row.prefix;
  for (const TreeSegment& segment : row.segments) {
    const char* color = options.color ? ansi_color(segment.style) : nullptr;
    if (color && !segment.text.empty()) {
      out += color;
      out += segment.text;
      out += kReset;
    } else {
      out += segment.text;
    }
  }
  out += '\n';
}

}  // namespace

std::string format_duration(int64_t ns) {
  const double seconds = static_cast<double>(ns) / 1e9;
  if (seconds < 10) return fmt::format("{:.3f}s", seconds);
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const int64_t whole = ns / 1'000'000'000;
  if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  return fmt::format("{}h{:02}m", whole / 3600, whole / 60 % 60);
}

void walk_tree(const ProcessTree& tree, const TreeTextOptions& options, const std::function<void(TreeRow&)>& emit) {
  RowWalker walker(tree, emit);
  const std::vector<size_t>& roots = options.roots ? *options.roots : tree.roots();
  for (size_t root : roots) walker.process(root, "", "", 0, options.roots ? options.first_image : 0);
}

std::string render_tree_text(const ProcessTree& tree, const TreeTextOptions& options) {
  std::string out;
  walk_tree(tree, options, [&](TreeRow& row) { append_row(out, row, options); });
  return out;
}

}  // namespace tracer
