// Escaping of hostile bytes. JSON: the escaped body, quoted, is valid JSON
// that reads back as the input (when it was valid UTF-8). Terminal: no byte
// a terminal acts on, valid UTF-8, and reversible (unescaping gives the
// input back, so no two inputs look alike). Hex: two digits per byte.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"

namespace tracer::fuzz {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x800) {
    out += static_cast<char>(0xc0 | (code_point >> 6));
  } else {
    out += static_cast<char>(0xe0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
  }
  out += static_cast<char>(0x80 | (code_point & 0x3f));
}

// The inverse of append_terminal_safe: \\ \n \t \r \xNN \u{NNNN}.
std::string terminal_unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    require(i + 1 < text.size(), "a backslash starts an escape", text);
    const char kind = text[++i];
    if (kind == '\\' || kind == 'n' || kind == 't' || kind == 'r') {
      out += kind == '\\' ? '\\' : kind == 'n' ? '\n' : kind == 't' ? '\t' : '\r';
    } else if (kind == 'x') {
      require(i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0,
              "\\x has two hex digits", text);
      out += static_cast<char>(hex_digit(text[i + 1]) << 4 | hex_digit(text[i + 2]));
      i += 2;
    } else {
      require(kind == 'u' && i + 6 < text.size() && text[i + 1] == '{' && text[i + 6] == '}', "\\u{NNNN}", text);
      uint32_t code_point = 0;
      for (size_t digit = i + 2; digit < i + 6; ++digit) {
        require(hex_digit(text[digit]) >= 0, "\\u{} holds hex digits", text);
        code_point = code_point << 4 | static_cast<uint32_t>(hex_digit(text[digit]));
      }
      append_utf8(out, code_point);
      i += 6;
    }
  }
  return out;
}

void check_json(std::string_view input) {
  std::string quoted = "\"";
  const bool had_invalid = append_json_string_body(quoted, input);
  quoted += '"';
  require(is_utf8(quoted) && terminal_inert(quoted), "escaped JSON is printable UTF-8", quoted);
  require(is_utf8(input) != had_invalid, "invalid UTF-8 is reported exactly when present");
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(quoted);
  } catch (const nlohmann::json::exception&) {
    require(false, "escaped JSON parses", quoted);
  }
  require(parsed.is_string(), "escaped JSON is a string", quoted);
  if (!had_invalid) require(parsed.get<std::string>() == input, "valid UTF-8 reads back as itself", quoted);
}

void check_terminal(std::string_view input) {
  std::string shown;
  append_terminal_safe(shown, input);
  require(terminal_inert(shown), "terminal-safe text has no control byte", shown);
  require(is_utf8(shown), "terminal-safe text is UTF-8", shown);
  require(terminal_unescape(shown) == input, "terminal-safe text unescapes to the input", shown);
  require(terminal_safe(input) == shown, "terminal_safe() is append_terminal_safe()", shown);
}

void check_hex(std::string_view input) {
  std::string hex;
  append_hex(hex, input);
  require(hex.size() == 2 * input.size(), "two hex digits per byte", hex);
  for (size_t i = 0; i < input.size(); ++i)
    require((hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1])) == static_cast<unsigned char>(input[i]),
            "hex reads back", hex);
}

}  // namespace
}  // namespace tracer::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = tracer::fuzz::text_of(data, size);
  tracer::fuzz::check_json(input);
  tracer::fuzz::check_terminal(input);
  tracer::fuzz::check_hex(input);
  return 0;
}
