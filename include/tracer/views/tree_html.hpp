#pragma once
// A ProcessTree as one self-contained HTML page (script and style inline, no
// network): the rows of the text tree, collapsible, beside a timeline of each
// image's run; a search box (also read from the address: page.html#search=TEXT,
// the count shown in #search-result); the record behind a row on hover or
// click.

#include <string>

#include "tracer/views/process_tree.hpp"
#include "tracer/views/tree_text.hpp"

namespace tracer {

std::string render_tree_html(const ProcessTree& tree, const TreeTextOptions& options, std::string_view title);

}  // namespace tracer
