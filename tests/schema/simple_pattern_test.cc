// SimplePattern: which patterns take the fast path, and — the oracle being RE2 on the same
// pattern translated by EcmaToRe2, as the validator ran every pattern before — the same answer
// on random patterns and texts (anchors, classes, ranges, every quantifier, non-ASCII text).

#include "schema/simple_pattern.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "re2/re2.h"
#include "schema/program.h"

namespace llmkit::internal::schema {
namespace {

bool Re2Search(const std::string& pattern, const std::string& text) {
  absl::StatusOr<std::string> translated = EcmaToRe2(pattern);
  EXPECT_TRUE(translated.ok()) << pattern;
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(*translated, options);
  EXPECT_TRUE(re.ok()) << pattern << ": " << re.error();
  return RE2::PartialMatch(text, re);
}

TEST(SimplePattern, TakesTheShapesSchemasUse) {
  for (const char* p :
       {"^[A-Z]{3}$", "^[A-Z]{2}$", "^\\d{4}-\\d{2}-\\d{2}$", "^[a-z0-9_-]+$", "^\\+?[0-9]{7,15}$",
        "abc", "", "^$", "[a-c]*x?", "^\\w+@\\w+\\.com$", "a{2,}", "a{0}", "^[-a]", "[a-]", "x+?",
        "\\.\\*\\(\\)\\[\\]\\{\\}", "^\\t\\n$", "[\\d.]"}) {
    EXPECT_TRUE(SimplePattern::Parse(p).has_value()) << p;
  }
}

TEST(SimplePattern, LeavesEverythingElseToRe2) {
  for (const char* p :
       {"a|b",    "(ab)+",   "(?:a)", "^.$", "[^a]",    "\\s",    "\\S",   "\\D",   "\\W", "\\b",
        "\\p{L}", "\\u0041", "é",     "[é]", "a**",     "a{3,2}", "a{",    "{",     "}",   "]",
        "a$b",    "a^",      "[]",    "[a",  "[\\w-z]", "[z-a]",  "[\\-]", "a{64}", "\\1", "\\"}) {
    EXPECT_FALSE(SimplePattern::Parse(p).has_value()) << p;
  }
}

TEST(SimplePattern, AnswersAsRe2OnExamples) {
  struct Case {
    const char* pattern;
    const char* text;
  };
  for (const Case& c : std::initializer_list<Case>{{"^[A-Z]{3}$", "EUR"},
                                                   {"^[A-Z]{3}$", "EURO"},
                                                   {"^[A-Z]{3}$", "euro"},
                                                   {"^[A-Z]{3}$", "EU"},
                                                   {"^[A-Z]{3}$", "EUR\n"},
                                                   {"[A-Z]{3}", "xxEURxx"},
                                                   {"^a*$", ""},
                                                   {"^a*$", "aaab"},
                                                   {"a*", "bbb"},
                                                   {"^\\d+$", "0123"},
                                                   {"^\\d+$", "١٢٣"},
                                                   {"^\\w+$", "naïve"},
                                                   {"^x.?$", "x"},
                                                   {"^a{2,3}$", "aaaa"},
                                                   {"^a{2,3}$", "aaa"},
                                                   {"^ab?c$", "ac"},
                                                   {"^ab?c$", "abbc"},
                                                   {"b$", "ab"},
                                                   {"^$", ""},
                                                   {"^$", "a"},
                                                   {"", "anything"},
                                                   {"^[a-z0-9_-]+$", "a-b_c"},
                                                   {"^[a-z0-9_-]+$", "a b"},
                                                   {"é|e", "é"}}) {
    std::optional<SimplePattern> p = SimplePattern::Parse(c.pattern);
    if (!p.has_value()) continue;  // "^x.?$" and "é|e" stay with RE2.
    EXPECT_EQ(p->Search(c.text), Re2Search(c.pattern, c.text)) << c.pattern << " on " << c.text;
  }
}

// A random pattern over a small alphabet, so that matches are frequent; some are not simple
// (a dot, a group) and are skipped.
std::string RandomPattern(std::mt19937& random) {
  static const char* kAtoms[] = {"a",   "b",      "-",   "[ab]", "[a-c]", "[-b]", "\\d",
                                 "\\w", "[0-9a]", "\\.", ".",    "(a)",   "[b-]", "_"};
  static const char* kQuantifiers[] = {"",    "",      "",     "*",     "+",  "?",
                                       "{2}", "{0,2}", "{1,}", "{2,3}", "*?", "{0}"};
  std::string p;
  if (random() % 2) p += '^';
  const int atoms = static_cast<int>(random() % 5);
  for (int i = 0; i < atoms; ++i) {
    p += kAtoms[random() % std::size(kAtoms)];
    p += kQuantifiers[random() % std::size(kQuantifiers)];
  }
  if (random() % 2) p += '$';
  return p;
}

std::string RandomText(std::mt19937& random) {
  static const char* kPieces[] = {"a", "b", "c", "-", "_", "0", "7", ".", "é", "\n", "ab", "aa"};
  std::string t;
  const int pieces = static_cast<int>(random() % 8);
  for (int i = 0; i < pieces; ++i) t += kPieces[random() % std::size(kPieces)];
  return t;
}

TEST(SimplePattern, AnswersAsRe2OnRandomPatternsAndTexts) {
  std::mt19937 random(20261203);
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string pattern = RandomPattern(random);
    std::optional<SimplePattern> p = SimplePattern::Parse(pattern);
    if (!p.has_value()) continue;
    for (int j = 0; j < 20; ++j) {
      const std::string text = RandomText(random);
      ASSERT_EQ(p->Search(text), Re2Search(pattern, text)) << pattern << " on \"" << text << "\"";
      ++compared;
    }
  }
  EXPECT_GT(compared, 20000);
}

TEST(SimplePattern, IsLinearOnALongText) {
  std::optional<SimplePattern> p = SimplePattern::Parse("a*a*a*a*a*a*a*a*b");
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->Search(std::string(1 << 20, 'a')));
  EXPECT_TRUE(p->Search(std::string(1 << 20, 'a') + "b"));
}

}  // namespace
}  // namespace llmkit::internal::schema
