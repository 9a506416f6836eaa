#pragma once
// Base64 (RFC 4648, standard alphabet, padded): the exact bytes of a string
// that JSON cannot hold losslessly, beside its escaped text.

#include <optional>
#include <string>
#include <string_view>

namespace tracer {

void append_base64(std::string& out, std::string_view bytes);

// The bytes, or nullopt when text is not padded base64 of the standard alphabet.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace tracer
