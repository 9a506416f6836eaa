#pragma once
// Byte strings from the kernel are hostile: they may hold any byte. These
// functions make them safe for a JSON string or a terminal (the table).

#include <string>
#include <string_view>

namespace tracer {

// Length of the valid UTF-8 sequence at the start of bytes (1-4), or 0 when
// it is not valid UTF-8 (overlong, surrogate, beyond U+10FFFF, cut short).
size_t utf8_sequence_length(std::string_view bytes);

// Appends bytes as the inside of a JSON string: RFC 8259 escapes, control
// characters as \u00XX, each byte that is not valid UTF-8 as \u00XX, and
// the code points a terminal acts on (C1 controls, bidi overrides) as \uXXXX.
// Returns true when some byte was not valid UTF-8.
bool append_json_string_body(std::string& out, std::string_view bytes);

// Appends bytes so that a terminal shows them and interprets none: \\, \n, \t,
// \r, other control bytes and invalid UTF-8 as \xNN, C1 controls and bidi
// overrides as \u{NNNN}.
void append_terminal_safe(std::string& out, std::string_view bytes);
// The same, as a string of its own: for untrusted text (a path, a comm, a
// value the user gave) in a message on stderr.
std::string terminal_safe(std::string_view bytes);

// Appends bytes as lowercase hex, two digits per byte.
void append_hex(std::string& out, std::string_view bytes);

}  // namespace tracer
