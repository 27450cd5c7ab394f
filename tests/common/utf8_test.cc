#include "unicode/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace llmkit::internal {
namespace {

constexpr size_t npos = std::string_view::npos;

TEST(FindInvalidUtf8, AcceptsValidText) {
  EXPECT_EQ(FindInvalidUtf8(""), npos);
  EXPECT_EQ(FindInvalidUtf8("plain ascii"), npos);
  EXPECT_EQ(FindInvalidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"), npos);
}

TEST(FindInvalidUtf8, NamesTheFirstBadByte) {
  EXPECT_EQ(FindInvalidUtf8("ab\xff"), 2u);
  EXPECT_EQ(FindInvalidUtf8("a\xc3"), 1u);             // Truncated.
  EXPECT_EQ(FindInvalidUtf8("a\xc0\xaf"), 1u);         // Overlong.
  EXPECT_EQ(FindInvalidUtf8("\xe0\x80\xaf"), 0u);      // Overlong 3-byte.
  EXPECT_EQ(FindInvalidUtf8("xy\xed\xa0\x80"), 2u);    // Surrogate U+D800.
  EXPECT_EQ(FindInvalidUtf8("\xf4\x90\x80\x80"), 0u);  // Above U+10FFFF.
  EXPECT_EQ(FindInvalidUtf8("\xc3\xa9\x80"), 2u);      // Stray continuation.
  EXPECT_EQ(FindInvalidUtf8(std::string(100, 'a') + "\xf8"), 100u);
}

TEST(Count, CodePointsAndUtf16Units) {
  std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";  // a é € 😀
  EXPECT_EQ(CountCodePoints(text), 4u);
  EXPECT_EQ(CountUtf16Units(text), 5u);
}

TEST(Count, MatchesAScalarCountOnRandomText) {
  std::mt19937 random(9);
  const char* pieces[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", " ", "\x7f"};
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    size_t code_points = 0, utf16 = 0;
    for (int i = random() % 40; i > 0; --i) {
      int k = random() % std::size(pieces);
      text += pieces[k];
      code_points += 1;
      utf16 += k == 3 ? 2 : 1;
    }
    ASSERT_EQ(CountCodePoints(text), code_points) << text;
    ASSERT_EQ(CountUtf16Units(text), utf16) << text;
  }
}

TEST(JsWhitespace, TrimsTheJavaScriptSet) {
  std::string nbsp = "\xc2\xa0", ideographic = "\xe3\x80\x80", bom = "\xef\xbb\xbf";
  std::string text = " \t\n" + nbsp + ideographic + bom + "x y" + "\r\v\f" + nbsp + "\xe2\x80\xa9";
  EXPECT_EQ(LeadingJsWhitespace(text), 3u + 2 + 3 + 3);
  EXPECT_EQ(TrailingJsWhitespace(text), 3u + 2 + 3);
  EXPECT_EQ(LeadingJsWhitespace("\xc3\xa9 "), 0u);       // é is not whitespace.
  EXPECT_EQ(TrailingJsWhitespace(" \xe2\x80\x8b"), 0u);  // U+200B zero width space is not.
  EXPECT_EQ(LeadingJsWhitespace("   "), 3u);
}

}  // namespace
}  // namespace llmkit::internal
