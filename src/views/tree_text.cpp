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

struct Segment {
  std::string text;
  const char* color = nullptr;
};

std::string safe(std::string_view bytes) {
  std::string out;
  append_terminal_safe(out, bytes);
  return out;
}

class TextRenderer {
 public:
  TextRenderer(const ProcessTree& tree, const TreeTextOptions& options) : tree_(tree), options_(options) {}

  void process(size_t index, const std::string& lead, const std::string& rest, size_t first_image);
  std::string take() { return std::move(out_); }

 private:
  // One row; the widest segment (the body) is cut to fit the width.
  void row(const std::string& prefix, std::vector<Segment> segments, size_t body);
  void items(const TreeImage& image, const std::string& rest);
  std::vector<Segment> image_segments(const TreeProcess& process, size_t image_index, bool first) const;
  std::string status(const TreeProcess& process, size_t image_index) const;

  const ProcessTree& tree_;
  const TreeTextOptions& options_;
  std::string out_;
};

void TextRenderer::row(const std::string& prefix, std::vector<Segment> segments, size_t body) {
  if (options_.width) {
    size_t used = columns(prefix);
    for (const Segment& segment : segments) used += columns(segment.text);
    if (used > options_.width) {
      const size_t over = used - options_.width + 1;  // and one for the ellipsis
      std::string& text = segments[body].text;
      const size_t have = columns(text);
      text = std::string(first_columns(text, have > over ? have - over : 0)) + "\u2026";
      if (have <= over) {
        // Even without its body the row is too wide: cut it whole.
        std::string plain = prefix;
        for (const Segment& segment : segments) plain += segment.text;
        out_ += first_columns(plain, options_.width - 1);
        out_ += "\u2026\n";
        return;
      }
    }
  }
  out_ += prefix;
  for (const Segment& segment : segments) {
    if (options_.color && segment.color && !segment.text.empty()) {
      out_ += segment.color;
      out_ += segment.text;
      out_ += kReset;
    } else {
      out_ += segment.text;
    }
  }
  out_ += '\n';
}

std::string TextRenderer::status(const TreeProcess& process, size_t image_index) const {
  const TreeImage& image = process.images[image_index];
  const bool last = image_index + 1 == process.images.size();
  std::string out;
  std::optional<int64_t> end_ns;  // unknown while the log holds no end
  if (!last) {
    end_ns = process.images[image_index + 1].start_ns;
  } else if (process.exit_ns) {
    end_ns = *process.exit_ns;
    if (process.signal && *process.signal)
      out = fmt::format("signal {} ({})", *process.signal, symbolic_text({*process.signal, Symbols::signal}));
    else
      out = fmt::format("exit {}", process.exit_code.value_or(0));
  }
  if (end_ns && *end_ns > image.start_ns) out += (out.empty() ? "" : " ") + format_duration(*end_ns - image.start_ns);
  if (!process.container_id.empty() && image_index == 0)
    out += (out.empty() ? "" : " ") + std::string("container ") + process.container_id.substr(0, 12);
  return out;
}

std::vector<Segment> TextRenderer::image_segments(const TreeProcess& process, size_t image_index, bool first) const {
  std::vector<Segment> segments;
  if (first) segments.push_back({std::to_string(process.key.pid), kBold});
  if (process.placeholder) {
    segments.push_back({" (not in the log)", kDim});
    return segments;
  }
  const TreeImage& image = process.images[image_index];
  std::string body = first ? " " : "\u21b3 exec ";
  if (image.exec_seen)
    body += safe(image.argv.empty() ? image.path : image.argv);
  else
    body += "(" + safe(process.comm) + ")";
  segments.push_back({std::move(body), nullptr});
  std::string state = status(process, image_index);
  if (!state.empty()) {
    const bool bad = process.signal.value_or(0) != 0 || process.exit_code.value_or(0) != 0;
    segments.push_back({"  " + state, bad && image_index + 1 == process.images.size() ? kYellow : kDim});
  }
  return segments;
}

void TextRenderer::items(const TreeImage& image, const std::string& rest) {
  for (size_t i = 0; i < image.items.size(); ++i) {
    const TreeItem& item = image.items[i];
    const bool last = i + 1 == image.items.size();
    const std::string lead = rest + (last ? "\u2514\u2500 " : "\u251c\u2500 ");
    const std::string next = rest + (last ? "   " : "\u2502  ");
    switch (item.kind) {
      case TreeItem::Kind::child: process(item.child, lead, next, 0); break;
      case TreeItem::Kind::line: row(lead, {{"$ ", kCyan}, {safe(item.text), kCyan}}, 1); break;
      case TreeItem::Kind::failed_exec: {
        const std::optional<std::string_view> error = errno_name_of_return(item.ret);
        row(lead,
            {{"\u2717 exec ", kRed},
             {safe(item.text), kRed},
             {": " + (error ? std::string(*error) : std::to_string(item.ret)), kRed}},
            1);
        break;
      }
    }
  }
}

void TextRenderer::process(size_t index, const std::string& lead, const std::string& rest, size_t first_image) {
  const TreeProcess& process = tree_.processes()[index];
  if (process.images.empty() || process.placeholder) {
    row(lead, image_segments(process, 0, true), process.placeholder ? 1 : 0);
    for (const TreeImage& image : process.images) items(image, rest);
    return;
  }
  for (size_t image = first_image; image < process.images.size(); ++image) {
    row(image == first_image ? lead : rest, image_segments(process, image, image == first_image), 1);
    items(process.images[image], rest);
  }
  if (process.lines_dropped)
    row(rest, {{fmt::format("({} more typed lines not kept)", process.lines_dropped), kDim}}, 0);
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

std::string render_tree_text(const ProcessTree& tree, const TreeTextOptions& options) {
  TextRenderer renderer(tree, options);
  const std::vector<size_t>& roots = options.roots ? *options.roots : tree.roots();
  for (size_t root : roots) renderer.process(root, "", "", options.roots ? options.first_image : 0);
  return renderer.take();
}

}  // namespace tracer
