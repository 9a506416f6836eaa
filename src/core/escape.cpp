#include "tracer/core/escape.hpp"

#include <cstdint>

namespace tracer {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex_byte(std::string& out, const char* prefix, unsigned char byte) {
  out += prefix;
  out += kHex[byte >> 4];
  out += kHex[byte & 0xf];
}

// prefix and four hex digits: the code points escaped are all below U+10000.
void append_code_point(std::string& out, const char* prefix, uint32_t code_point) {
  out += prefix;
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(code_point >> shift) & 0xf];
}

uint32_t decode_code_point(std::string_view sequence) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(sequence[i]); };
  switch (sequence.size()) {
    case 1: return byte(0);
    case 2: return (byte(0) & 0x1fu) << 6 | (byte(1) & 0x3fu);
    case 3: return (byte(0) & 0x0fu) << 12 | (byte(1) & 0x3fu) << 6 | (byte(2) & 0x3fu);
    default: return (byte(0) & 0x07u) << 18 | (byte(1) & 0x3fu) << 12 | (byte(2) & 0x3fu) << 6 | (byte(3) & 0x3fu);
  }
}

// Code points a terminal may act on although they are printable UTF-8.
bool is_terminal_hazard(uint32_t code_point) {
  return (code_point >= 0x80 && code_point <= 0x9f) ||      // C1 controls, e.g. CSI
         (code_point >= 0x202a && code_point <= 0x202e) ||  // bidi embeddings/overrides
         (code_point >= 0x2066 && code_point <= 0x2069);    // bidi isolates
}

// Two-character escapes shared by JSON and the terminal view.
const char* whitespace_escape(unsigned char c) {
  switch (c) {
    case '\n': return "\\n";
    case '\t': return "\\t";
    case '\r': return "\\r";
    default: return nullptr;
  }
}

// RFC 8259's short escapes.
const char* json_short_escape(unsigned char c) {
  switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default: return whitespace_escape(c);
  }
}

}  // namespace

size_t utf8_sequence_length(std::string_view bytes) {
  if (bytes.empty()) return 0;
  const auto lead = static_cast<unsigned char>(bytes[0]);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xbf;  // allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // UTF-16 surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (bytes.size() < length) return 0;
  const auto second = static_cast<unsigned char>(bytes[1]);
  if (second < low || second > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    const auto next = static_cast<unsigned char>(bytes[i]);
    if (next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}

bool append_json_string_body(std::string& out, std::string_view bytes) {
  bool had_invalid = false;
  size_t i = 0;
  while (i < bytes.size()) {
    // Copy a run of plain printable ASCII at once.
    size_t run = i;
    while (run < bytes.size()) {
      const auto c = static_cast<unsigned char>(bytes[run]);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') break;
      ++run;
    }
    out.append(bytes.data() + i, run - i);
    i = run;
    if (i == bytes.size()) break;

    const auto c = static_cast<unsigned char>(bytes[i]);
    if (const char* escape = json_short_escape(c)) {
      out += escape;
      ++i;
      continue;
    }
    if (c < 0x80) {  // other control characters and DEL
      append_hex_byte(out, "\\u00", c);
      ++i;
      continue;
    }
    const size_t length = utf8_sequence_length(bytes.substr(i));
    if (length == 0) {
      append_hex_byte(out, "\\u00", c);
      had_invalid = true;
      ++i;
      continue;
    }
    // JSON lines are read on terminals too: the same string, written so
    // that no terminal acts on it.
    if (const uint32_t code_point = decode_code_point(bytes.substr(i, length)); is_terminal_hazard(code_point)) {
      append_code_point(out, "\\u", code_point);
    } else {
      out.append(bytes.data() + i, length);
    }
    i += length;
  }
  return had_invalid;
}

void append_terminal_safe(std::string& out, std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (const char* escape = whitespace_escape(c)) {
      out += escape;
      ++i;
      continue;
    }
    const size_t length = c < 0x80 ? 0 : utf8_sequence_length(bytes.substr(i));
    if (length == 0) {
      append_hex_byte(out, "\\x", c);
      ++i;
      continue;
    }
    const std::string_view sequence = bytes.substr(i, length);
    const uint32_t code_point = decode_code_point(sequence);
    if (is_terminal_hazard(code_point)) {
      append_code_point(out, "\\u{", code_point);
      out += '}';
    } else {
      out.append(sequence);
    }
    i += length;
  }
}

std::string terminal_safe(std::string_view bytes) {
  std::string out;
  append_terminal_safe(out, bytes);
  return out;
}

void append_hex(std::string& out, std::string_view bytes) {
  constexpr char kDigits[] = "0123456789abcdef";
  for (char byte : bytes) {
    const auto value = static_cast<unsigned char>(byte);
    out += kDigits[value >> 4];
    out += kDigits[value & 0xf];
  }
}

}  // namespace tracer
