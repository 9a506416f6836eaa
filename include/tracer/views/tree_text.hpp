#pragma once
// A ProcessTree as text, one row per process image, failed exec or typed
// line, drawn with box characters:
//
//   4200 bash -i                                   exit 0  12.3s
//   │ $ make
//   └─ 4211 make                                   exit 2   3.0s
//      ├─ 4212 cc -c a.c                            exit 0   0.4s
//      └─ ✗ exec /usr/bin/nope: ENOENT
//
// Untrusted text (argv, typed lines) is escaped for the terminal.

#include <cstddef>
#include <optional>
#include <string>

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

std::string render_tree_text(const ProcessTree& tree, const TreeTextOptions& options);

// "1.234s", "12.3s", "2m03s", "1h02m".
std::string format_duration(int64_t ns);

}  // namespace tracer
