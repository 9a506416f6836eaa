#include "tracer/core/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tracer {
namespace {

std::string base64(std::string_view bytes) {
  std::string out;
  append_base64(out, bytes);
  return out;
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64("\xe9"), "6Q==");
  EXPECT_EQ(base64("\xc3\xa9"), "w6k=");
  EXPECT_EQ(base64("\xff\xfe\xfd"), "//79");
}

TEST(Base64, EveryByteRoundTrips) {
  std::string all;
  for (int byte = 0; byte < 256; ++byte) all += static_cast<char>(byte);
  for (size_t length = 0; length <= all.size(); ++length) {
    const std::string bytes = all.substr(all.size() - length);
    EXPECT_EQ(decode_base64(base64(bytes)), bytes) << length;
  }
}

TEST(Base64, RejectsWhatNoEncodingGives) {
  EXPECT_EQ(decode_base64("Zg="), std::nullopt);   // not a multiple of 4
  EXPECT_EQ(decode_base64("Z==="), std::nullopt);  // too much padding
  EXPECT_EQ(decode_base64("Zg=a"), std::nullopt);  // padding in the middle
  EXPECT_EQ(decode_base64("Zg==Zg=="), std::nullopt);
  EXPECT_EQ(decode_base64("Zh=="), std::nullopt);  // nonzero padded bits
  EXPECT_EQ(decode_base64("Zm9-"), std::nullopt);  // URL alphabet
  EXPECT_EQ(decode_base64("Zm9v"), "foo");
}

}  // namespace
}  // namespace tracer
