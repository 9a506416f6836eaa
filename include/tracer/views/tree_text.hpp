#pragma once
// A ProcessTree as rows, one per process image, failed exec or typed line,
// drawn with box characters; as text:
//
//   4200 bash -i                                   exit 0  12.3s
//   ├─ $ make
//   └─ 4211 make                                   exit 2   3.0s
//      ├─ 4212 cc -c a.c                            exit 0   0.4s
//      └─ ✗ exec /usr/bin/nope: ENOENT
//
// Untrusted text (argv, typed lines) is escaped for the terminal. The same
// rows make the HTML page (tree_html.hpp).

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tracer/views/process_tree.hpp"

namespace tracer {

struct TreeTextOptions {
  size_t width = 0;  // cut rows to this many columns (0: no limit)
  bool color = false;
  // Draw only these roots (default: every root), and from image first_image
  // of the one root --exec-id names.
  std::optional<std::vector<size_t>> roots;
  size_t first_image = 0;
};

enum class TreeStyle { plain, pid, dim, warn, line, failed };
struct TreeSegment {
  std::string text;
  TreeStyle style = TreeStyle::plain;
};

struct TreeRow {
  enum class Kind { process, exec, line, failed_exec, note };
  Kind kind = Kind::process;
  size_t depth = 0;    // 0: a root
  std::string prefix;  // the box-drawing lead
  std::vector<TreeSegment> segments;
  size_t body = 0;     // the segment cut when the row is too wide
  size_t process = 0;  // index in ProcessTree::processes()
  int64_t start_ns = 0;
  std::optional<int64_t> end_ns;
  std::string_view record;  // the JSON line behind the row, when kept
};

// Every row, in drawing order.
void walk_tree(const ProcessTree& tree, const TreeTextOptions& options, const std::function<void(TreeRow&)>& emit);

std::string render_tree_text(const ProcessTree& tree, const TreeTextOptions& options);

// "1.234s", "12.3s", "2m03s", "1h02m".
std::string format_duration(int64_t ns);

}  // namespace tracer
