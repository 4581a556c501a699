#include "common/names.h"

#include <gtest/gtest.h>

namespace permsentry {
namespace {

TEST(EscapeBytes, ValidUtf8Untouched) {
  EXPECT_EQ(EscapeBytes("/etc/caf\xc3\xa9").text, "/etc/caf\xc3\xa9");
  EXPECT_FALSE(EscapeBytes("/a\\b").escaped);  // valid: backslash left for the JSON writer
}

TEST(EscapeBytes, InvalidBytesEscapedAndReversible) {
  for (const std::string s : {std::string("\xff"), std::string("a\\x41\xc3"),
                              std::string("\xf4\x90\x80\x80"), std::string("\xc0\xaf")}) {
    EscapedBytes e = EscapeBytes(s);
    EXPECT_TRUE(e.escaped) << s;
    EXPECT_EQ(UnescapeBytes(e.text), s);
  }
}

TEST(EscapeForText, ControlAndInvalid) {
  EXPECT_EQ(EscapeForText("a\nb\"c\\\xff"), "a\\nb\\\"c\\\\\\xff");
  EXPECT_EQ(EscapeForText("caf\xc3\xa9"), "caf\xc3\xa9");
}

// The block-at-a-time checks agree with the byte-by-byte definitions, for
// every byte at every position of strings up to 40 bytes: one padded block,
// whole blocks, and an overlapping last block after one and after two.
TEST(ByteChecks, AgreeWithTheirDefinitions) {
  const auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x7f && c != '\\' && c != '"'; };
  for (size_t len = 1; len <= 40; ++len) {
    for (size_t at = 0; at < len; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'x');
        s[at] = static_cast<char>(b);
        ASSERT_EQ(IsAscii(s), b < 0x80) << len << " " << at << " " << b;
        ASSERT_EQ(IsPlainText(s), plain(static_cast<unsigned char>(b)))
            << len << " " << at << " " << b;
      }
    }
  }
  EXPECT_TRUE(IsAscii(""));
  EXPECT_TRUE(IsPlainText(""));
  std::string out = "x";
  AppendForText(&out, "a\nb");
  EXPECT_EQ(out, "xa\\nb");
}

TEST(ErrnoName, KnownAndUnknown) {
  EXPECT_EQ(ErrnoName(2), "ENOENT");
  EXPECT_EQ(ErrnoName(1), "EPERM");
  EXPECT_EQ(ErrnoName(9999), "E9999");
}

TEST(NameCache, RootAndMissing) {
  NameCache c;
  EXPECT_EQ(c.UserName(0), "root");
  EXPECT_EQ(c.GroupName(0), "root");
  EXPECT_FALSE(c.UserName(4000000000u).has_value());
}

}  // namespace
}  // namespace permsentry
