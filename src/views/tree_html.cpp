#include "tracer/views/tree_html.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>

#include "tracer/core/escape.hpp"

namespace tracer {
namespace {

constexpr std::string_view kStyle = R"(
body{font:13px/1.4 ui-monospace,monospace;margin:0;color:#222;background:#fff}
header{position:sticky;top:0;background:#f4f4f4;border-bottom:1px solid #ccc;padding:6px 10px;display:flex;gap:12px;align-items:center;z-index:1}
#search{width:28em;font:inherit;padding:2px 4px}
main{display:flex}
#rows{flex:1;min-width:0}
.row{display:flex;white-space:pre;cursor:pointer}
.row:hover{background:#eef3ff}
.row.hit .label{background:#ffe97a}
.row.hidden{display:none}
.label{flex:0 0 60%;overflow:hidden;text-overflow:ellipsis}
.time{flex:1;position:relative;border-left:1px solid #ddd}
.bar{position:absolute;top:4px;height:10px;background:#7aa7e8;min-width:2px}
.row.line .bar,.row.failed .bar{background:#e89a7a;width:2px}
.toggle{display:inline-block;width:1.2em;color:#666}
.pid{font-weight:bold}.dim{color:#777}.warn{color:#b36b00}.line .label{color:#087}.failed .label{color:#c00}
#detail{flex:0 0 32%;margin:0;padding:8px;border-left:1px solid #ccc;background:#fafafa;position:sticky;top:40px;height:calc(100vh - 56px);overflow:auto;white-space:pre-wrap;word-break:break-all}
)";

constexpr std::string_view kScript = R"(
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const rowsBox = document.getElementById("rows");
const detail = document.getElementById("detail");
const span = Math.max(1, data.end - data.start);
const kinds = {p: "proc", x: "exec", l: "line", f: "failed", n: "note"};
const elements = data.rows.map((row, i) => {
  const div = document.createElement("div");
  div.className = "row " + kinds[row.k];
  div.dataset.depth = row.d;
  const label = document.createElement("span");
  label.className = "label";
  const toggle = document.createElement("span");
  toggle.className = "toggle";
  const next = data.rows[i + 1];
  if (row.k === "p" && next && next.d > row.d) {
    toggle.textContent = "\u25be";
    toggle.addEventListener("click", (event) => { event.stopPropagation(); collapse(i, toggle); });
  }
  label.append(row.x, toggle);
  for (const [text, style] of row.s) {
    const part = document.createElement("span");
    if (style) part.className = style;
    part.textContent = text;
    label.append(part);
  }
  const time = document.createElement("span");
  time.className = "time";
  const bar = document.createElement("span");
  bar.className = "bar";
  bar.style.left = (100 * (row.a - data.start) / span) + "%";
  if (row.b >= row.a) bar.style.width = (100 * (row.b - row.a) / span) + "%";
  time.append(bar);
  div.append(label, time);
  const show = () => { detail.textContent = describe(row); };
  div.addEventListener("mouseenter", show);
  div.addEventListener("click", show);
  rowsBox.append(div);
  return div;
});
function describe(row) {
  if (!row.r) return row.s.map(([text]) => text).join("");
  try { return JSON.stringify(JSON.parse(row.r), null, 2); } catch (error) { return row.r; }
}
function collapse(index, toggle) {
  const depth = data.rows[index].d;
  const hide = toggle.textContent === "\u25be";
  toggle.textContent = hide ? "\u25b8" : "\u25be";
  for (let i = index + 1; i < data.rows.length && data.rows[i].d > depth; i++)
    elements[i].classList.toggle("hidden", hide);
}
function search(text) {
  const wanted = text.toLowerCase();
  let count = 0;
  data.rows.forEach((row, i) => {
    const hit = wanted !== "" && (row.s.map(([t]) => t).join("") + " " + (row.r || "")).toLowerCase().includes(wanted);
    elements[i].classList.toggle("hit", hit);
    if (hit) {
      count++;
      for (let j = i; j >= 0; j--) elements[j].classList.remove("hidden");
    }
  });
  const result = document.getElementById("search-result");
  result.dataset.count = count;
  result.textContent = wanted === "" ? "" : count + (count === 1 ? " match" : " matches");
  const first = document.querySelector(".row.hit");
  if (first) first.scrollIntoView({block: "center"});
}
const box = document.getElementById("search");
box.addEventListener("input", () => search(box.value));
function fromHash() {
  const match = /^#search=(.*)$/.exec(location.hash);
  if (match) { box.value = decodeURIComponent(match[1]); search(box.value); }
}
window.addEventListener("hashchange", fromHash);
fromHash();
document.getElementById("count").textContent = data.processes + " processes";
)";

const char* css_class(TreeStyle style) {
  switch (style) {
    case TreeStyle::plain: return "";
    case TreeStyle::pid: return "pid";
    case TreeStyle::dim: return "dim";
    case TreeStyle::warn: return "warn";
    case TreeStyle::line: return "line";
    case TreeStyle::failed: return "failed";
  }
  return "";
}

char kind_letter(TreeRow::Kind kind) {
  switch (kind) {
    case TreeRow::Kind::process: return 'p';
    case TreeRow::Kind::exec: return 'x';
    case TreeRow::Kind::line: return 'l';
    case TreeRow::Kind::failed_exec: return 'f';
    case TreeRow::Kind::note: return 'n';
  }
  return 'n';
}

void append_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_string_body(out, text);
  out += '"';
}

// {"k":kind,"d":depth,"x":prefix,"s":[[text,class]...],"a":start ms,"b":end ms,"r":record}
void append_row(std::string& out, const TreeRow& row, int64_t origin_ns) {
  out += fmt::format(R"({{"k":"{}","d":{},"x":)", kind_letter(row.kind), row.depth);
  append_string(out, row.prefix);
  out += R"(,"s":[)";
  for (size_t i = 0; i < row.segments.size(); ++i) {
    if (i) out += ',';
    out += '[';
    append_string(out, row.segments[i].text);
    out += ',';
    append_string(out, css_class(row.segments[i].style));
    out += ']';
  }
  const auto ms = [&](int64_t ns) { return static_cast<double>(ns - origin_ns) / 1e6; };
  out += fmt::format(R"(],"a":{:.3f},"b":{:.3f},"r":)", ms(row.start_ns), row.end_ns ? ms(*row.end_ns) : -1.0);
  append_string(out, row.record);
  out += '}';
}

// Inside <script type="application/json">: no "</script>" may appear.
std::string script_safe(std::string json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

std::string html_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_tree_html(const ProcessTree& tree, const TreeTextOptions& options, std::string_view title) {
  std::vector<TreeRow> rows;
  walk_tree(tree, options, [&](TreeRow& row) { rows.push_back(std::move(row)); });
  int64_t first = INT64_MAX, last = INT64_MIN;
  size_t processes = 0;
  for (const TreeRow& row : rows) {
    first = std::min(first, row.start_ns);
    last = std::max({last, row.start_ns, row.end_ns.value_or(row.start_ns)});
    processes += row.kind == TreeRow::Kind::process;
  }
  if (rows.empty()) first = last = 0;
  std::string data = fmt::format(R"({{"start":0,"end":{:.3f},"processes":{},"rows":[)",
                                 static_cast<double>(last - first) / 1e6, processes);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) data += ",\n";
    append_row(data, rows[i], first);
  }
  data += "]}";
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>";
  page += html_text(title);
  page += "</title>\n<style>";
  page += kStyle;
  page += "</style></head><body>\n<header><b>tracer tree</b> <span>";
  page += html_text(title);
  page +=
      "</span> <span id=\"count\"></span> <input id=\"search\" type=\"search\" placeholder=\"search argv, "
      "lines, records\"> <span id=\"search-result\" data-count=\"0\"></span></header>\n"
      "<main><div id=\"rows\"></div><pre id=\"detail\">Hover or click a row for its record.</pre></main>\n"
      "<script type=\"application/json\" id=\"data\">";
  page += script_safe(std::move(data));
  page += "</script>\n<script>";
  page += kScript;
  page += "</script></body></html>\n";
  return page;
}

}  // namespace tracer
