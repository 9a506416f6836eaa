#include "tracer/core/escape.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tracer {
namespace {

std::string json_body(std::string_view bytes, bool* had_invalid = nullptr) {
  std::string out;
  const bool invalid = append_json_string_body(out, bytes);
  if (had_invalid) *had_invalid = invalid;
  return out;
}

std::string terminal(std::string_view bytes) {
  std::string out;
  append_terminal_safe(out, bytes);
  return out;
}

TEST(JsonEscape, PlainAsciiUnchanged) { EXPECT_EQ(json_body("ls -la /tmp"), "ls -la /tmp"); }

TEST(JsonEscape, Rfc8259Escapes) {
  EXPECT_EQ(json_body("a\"b\\c"), R"(a\"b\\c)");
  EXPECT_EQ(json_body("\n\t\r\b\f"), R"(\n\t\r\b\f)");
  EXPECT_EQ(json_body(std::string_view("\x00\x01\x1f\x7f", 4)), R"(\u0000\u0001\u001f\u007f)");
  EXPECT_EQ(json_body("\x1b[31mred"), R"(\u001b[31mred)");
}

TEST(JsonEscape, ValidUtf8PassesThrough) {
  bool invalid = true;
  EXPECT_EQ(json_body("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", &invalid),
            "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_FALSE(invalid);
}

// Found by fuzzing (tests/fuzz/escape seed c1_bidi): valid UTF-8 that a
// terminal acts on went into JSON lines raw; escaped, it reads back the same.
TEST(JsonEscape, C1ControlsAndBidiOverridesEscaped) {
  bool invalid = true;
  const std::string body = json_body(
      "\xc2\x9b"
      "31m\xe2\x80\xae"
      "txt\xe2\x81\xa6",
      &invalid);
  EXPECT_EQ(body, R"(\u009b31m\u202etxt\u2066)");
  EXPECT_FALSE(invalid);
  EXPECT_EQ(nlohmann::json::parse("\"" + body + "\"").get<std::string>(),
            "\xc2\x9b"
            "31m\xe2\x80\xae"
            "txt\xe2\x81\xa6");
}

TEST(JsonEscape, InvalidBytesEscapedOnePerByte) {
  bool invalid = false;
  EXPECT_EQ(json_body("\xff\xfe", &invalid), R"(\u00ff\u00fe)");
  EXPECT_TRUE(invalid);
  EXPECT_EQ(json_body("a\xc3"), R"(a\u00c3)");                              // cut short
  EXPECT_EQ(json_body("\xc0\xaf"), R"(\u00c0\u00af)");                      // overlong '/'
  EXPECT_EQ(json_body("\xed\xa0\x80"), R"(\u00ed\u00a0\u0080)");            // surrogate
  EXPECT_EQ(json_body("\xf4\x90\x80\x80"), R"(\u00f4\u0090\u0080\u0080)");  // > U+10FFFF
  EXPECT_EQ(json_body("\xe2\x82"), R"(\u00e2\u0082)");
}

TEST(JsonEscape, EveryByteStringMakesValidJson) {
  for (int first = 0; first < 256; ++first) {
    for (int second = 0; second < 256; second += 7) {
      const char raw[3] = {static_cast<char>(first), static_cast<char>(second), '"'};
      // Appended, not "\"" + body: gcc 12.2's -O3 -Wrestrict misreads that.
      std::string document = "\"";
      document += json_body(std::string_view(raw, 3));
      document += '"';
      EXPECT_TRUE(nlohmann::json::accept(document)) << first << " " << second;
      EXPECT_EQ(document.find('\n'), std::string::npos);
    }
  }
}

TEST(Utf8, SequenceLengths) {
  EXPECT_EQ(utf8_sequence_length("a"), 1u);
  EXPECT_EQ(utf8_sequence_length("\xc3\xa9"), 2u);
  EXPECT_EQ(utf8_sequence_length("\xe2\x82\xac"), 3u);
  EXPECT_EQ(utf8_sequence_length("\xf0\x9f\x98\x80"), 4u);
  EXPECT_EQ(utf8_sequence_length("\x80"), 0u);
  EXPECT_EQ(utf8_sequence_length("\xc1\xbf"), 0u);
  EXPECT_EQ(utf8_sequence_length("\xe0\x80\x80"), 0u);
  EXPECT_EQ(utf8_sequence_length(""), 0u);
}

TEST(TerminalEscape, ControlsAndEscapesAreShownNotInterpreted) {
  EXPECT_EQ(terminal("a\nb\tc\rd"), R"(a\nb\tc\rd)");
  EXPECT_EQ(terminal("\x1b[2J"), R"(\x1b[2J)");
  EXPECT_EQ(terminal("back\\slash"), R"(back\\slash)");
  EXPECT_EQ(terminal("\x7f"), R"(\x7f)");
  EXPECT_EQ(terminal("\xff"), R"(\xff)");
  EXPECT_EQ(terminal("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(TerminalEscape, C1ControlsAndBidiOverridesEscaped) {
  EXPECT_EQ(terminal("\xc2\x9b"
                     "31m"),
            R"(\u{009b}31m)");  // 8-bit CSI
  EXPECT_EQ(terminal("\xe2\x80\xae"
                     "txt"),
            R"(\u{202e}txt)");  // right-to-left override
}

// A message on stderr shows untrusted text as the table does.
TEST(TerminalEscape, TerminalSafeIsTheTablesEscaping) {
  EXPECT_EQ(terminal_safe("/tmp/x\ntracer: 0 lost\x1b[2J"), R"(/tmp/x\ntracer: 0 lost\x1b[2J)");
  EXPECT_EQ(terminal_safe(""), "");
}

TEST(TerminalEscape, OutputNeverHoldsControlBytes) {
  for (int byte = 0; byte < 256; ++byte) {
    const char raw = static_cast<char>(byte);
    for (char c : terminal(std::string_view(&raw, 1))) {
      const auto u = static_cast<unsigned char>(c);
      EXPECT_FALSE(u < 0x20 || u == 0x7f || u >= 0x80) << byte;
    }
  }
}

}  // namespace
}  // namespace tracer
