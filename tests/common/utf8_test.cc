#include "unicode/utf8.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include "unicode/py_text.h"

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

// Long texts cross the vector loop's 255-step folds (4080 bytes) and its 8- and 1-byte tails.
TEST(Count, MatchesAScalarCountOnLongText) {
  std::mt19937 random(11);
  const char* pieces[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\n"};
  for (size_t target : {15u, 16u, 17u, 31u, 4079u, 4080u, 4081u, 4095u, 4096u, 8161u, 100003u}) {
    std::string text;
    size_t code_points = 0, utf16 = 0;
    while (text.size() < target) {
      int k = random() % 8 < 6 ? 0 : random() % std::size(pieces);
      if (text.size() + std::strlen(pieces[k]) > target) k = 0;
      text += pieces[k];
      code_points += 1;
      utf16 += k == 3 ? 2 : 1;
    }
    ASSERT_EQ(CountCodePoints(text), code_points) << target;
    ASSERT_EQ(CountUtf16Units(text), utf16) << target;
    std::string all_continuation(target, '\x80');  // Not valid UTF-8; counting still holds.
    ASSERT_EQ(CountCodePoints(all_continuation), 0u) << target;
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

// FindSubstring / RFindSubstring (linear-time str.find/rfind for the template engine) agree with
// std::string_view's find/rfind on random text over a small alphabet (many partial matches),
// for short needles and for long ones (memmem and the backwards KMP), at every start position.
TEST(PyText, SubstringSearchMatchesStringView) {
  std::mt19937 rng(17);
  for (int round = 0; round < 400; ++round) {
    std::string hay(rng() % 120, 'a'), needle(rng() % 40, 'a');
    for (char& c : hay) c = "ab"[rng() % 2];
    for (char& c : needle) c = "ab"[rng() % 2];
    if (round % 3 == 0 && hay.size() > 30) needle = hay.substr(rng() % 10, 17 + rng() % 12);
    std::string_view h(hay), n(needle);
    for (size_t pos = 0; pos <= hay.size() + 1; ++pos) {
      ASSERT_EQ(llmkit::internal::FindSubstring(h, n, pos), h.find(n, pos)) << hay << " " << needle;
      ASSERT_EQ(llmkit::internal::RFindSubstring(h, n, pos), h.rfind(n, pos))
          << hay << " " << needle << " " << pos;
    }
    ASSERT_EQ(llmkit::internal::RFindSubstring(h, n), h.rfind(n));
  }
  // Empty views may have a null data() (UBSan checks what reaches memmem).
  EXPECT_EQ(llmkit::internal::FindSubstring(std::string_view(), "a"), std::string_view::npos);
  EXPECT_EQ(llmkit::internal::FindSubstring(std::string_view(), ""), 0u);
  EXPECT_EQ(llmkit::internal::FindSubstring("abc", std::string_view()), 0u);
  EXPECT_EQ(llmkit::internal::RFindSubstring(std::string_view(), "a"), std::string_view::npos);
}
