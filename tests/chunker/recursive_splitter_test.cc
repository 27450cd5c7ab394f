#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "llmkit/chunker.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using Texts = std::vector<std::string>;

Texts SplitTexts(const SplitterOptions& options, std::string_view text) {
  auto splitter = RecursiveCharacterSplitter::Create(options);
  EXPECT_TRUE(splitter.ok()) << splitter.status();
  auto texts = splitter->SplitText(text);
  EXPECT_TRUE(texts.ok()) << texts.status();
  return texts.ok() ? *texts : Texts{};
}

SplitterOptions Sized(size_t size, size_t overlap) {
  SplitterOptions options;
  options.chunk_size = size;
  options.chunk_overlap = overlap;
  return options;
}

// Expected outputs in this file were produced by LangChain.js @langchain/textsplitters 1.0.2.
TEST(RecursiveCharacterSplitter, MatchesLangChainOnMixedText) {
  const std::string text =
      "Hi.\n\nI'm Harrison.\n\nHow? Are? You?\nOkay then f f f f.\nThis is a weird text to "
      "write, but gotta test the splittingggg some how.\n\nBye!\n\n-H.";
  EXPECT_EQ(SplitTexts(Sized(10, 1), text),
            (Texts{"Hi.", "I'm", "Harrison.", "How? Are?", "You?", "Okay then", "f f f f.",
                   "This is a", "weird", "text to", "write,", "but gotta", "test the", "splitting",
                   "gggg", "some how.", "Bye!", "-H."}));
}

TEST(RecursiveCharacterSplitter, OverlappingSeparatorOccurrencesCutLikeLangChainJs) {
  EXPECT_EQ(SplitTexts(Sized(4, 0), "a\n\n\nb\n\n\n\nccc dd\n\nee"),
            (Texts{"a", "b", "ccc", "dd", "ee"}));
}

TEST(RecursiveCharacterSplitter, OverlapRepeatsWholePieces) {
  EXPECT_EQ(SplitTexts(Sized(12, 6), "word1 word2 word3 word4 word5 word6 word7 word8"),
            (Texts{"word1 word2", "word2 word3", "word3 word4", "word4 word5", "word5 word6",
                   "word6 word7", "word7 word8"}));
}

TEST(RecursiveCharacterSplitter, LanguagePresetsMatchLangChain) {
  SplitterOptions options = Sized(30, 0);
  auto python = RecursiveCharacterSplitter::FromLanguage("python", options);
  ASSERT_TRUE(python.ok());
  EXPECT_EQ(*python->SplitText(
                "def f():\n    return 1\n\nclass A:\n    def g(self):\n        pass\n\ndef h():\n"
                "    x = 1\n"),
            (Texts{"def f():\n    return 1", "class A:\n    def g(self):", "pass",
                   "def h():\n    x = 1"}));
  auto html = RecursiveCharacterSplitter::FromLanguage("html", Sized(25, 0));
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(*html->SplitText("<body><div><p>Hello world</p><p>Second paragraph here</p></div>"
                             "<div>More</div></body>"),
            (Texts{"<body>", "<div><p>Hello world</p>", "<p>Second paragraph", "here</p></div>",
                   "<div>More</div></body>"}));
  for (const char* language :
       {"markdown", "python", "cpp", "c", "js", "ts", "java", "go", "rust", "html", "latex", "php",
        "proto", "rst", "ruby", "scala", "swift", "sol"}) {
    auto separators = RecursiveCharacterSplitter::SeparatorsForLanguage(language);
    ASSERT_TRUE(separators.ok()) << language;
    EXPECT_EQ(separators->back(), "") << language;
  }
  auto unknown = RecursiveCharacterSplitter::FromLanguage("cobol", {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("known: c, cpp"), absl::string_view::npos);
}

TEST(RecursiveCharacterSplitter, OffsetsAreExactAndTrimmed) {
  const std::string text = "  Alpha beta.\n\n  Gamma delta epsilon.  \n\nZeta.";
  auto splitter = RecursiveCharacterSplitter::Create(Sized(20, 0));
  auto chunks = splitter->Split(text);
  ASSERT_TRUE(chunks.ok());
  std::vector<std::string> texts;
  for (const Chunk& chunk : *chunks) {
    EXPECT_EQ(text.substr(chunk.begin, chunk.end - chunk.begin), chunk.text);
    EXPECT_TRUE(chunk.metadata.is_null());
    texts.push_back(chunk.text);
  }
  EXPECT_EQ(texts, (Texts{"Alpha beta.", "Gamma delta", "epsilon.", "Zeta."}));
  EXPECT_EQ((*chunks)[0].begin, 2u);
  EXPECT_EQ((*chunks)[1].begin, 17u);
  EXPECT_EQ((*chunks)[2].begin, 29u);
  EXPECT_EQ((*chunks)[3].begin, 41u);
}

TEST(RecursiveCharacterSplitter, KeepSeparatorModes) {
  SplitterOptions options = Sized(7, 0);
  options.separators = {"."};
  options.keep_separator = KeepSeparator::kStart;
  EXPECT_EQ(SplitTexts(options, "aa.bb.cc.dd"), (Texts{"aa.bb", ".cc.dd"}));
  options.keep_separator = KeepSeparator::kEnd;
  EXPECT_EQ(SplitTexts(options, "aa.bb.cc.dd"), (Texts{"aa.bb.", "cc.dd"}));
  options.keep_separator = KeepSeparator::kNone;
  // Pieces "aa","bb","cc","dd" with a 1-long separator: "aa.bb" (5) + "." + "cc" = 8 > 7.
  EXPECT_EQ(SplitTexts(options, "aa.bb.cc.dd"), (Texts{"aa.bb", "cc.dd"}));
}

TEST(RecursiveCharacterSplitter, RegexSeparators) {
  SplitterOptions options = Sized(12, 0);
  options.separators = {"[.!?]\\s+", ""};
  options.is_separator_regex = true;
  options.keep_separator = KeepSeparator::kEnd;
  EXPECT_EQ(SplitTexts(options, "One two. Three four! Five six? Seven."),
            (Texts{"One two.", "Three four!", "Five six?", "Seven."}));
  options.separators = {"("};
  EXPECT_EQ(RecursiveCharacterSplitter::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  // `^` anchors at the start of each piece, as Python's re on the piece string.
  options.separators = {"^x", ""};
  options.keep_separator = KeepSeparator::kStart;
  EXPECT_EQ(SplitTexts(options, "xaaaaaaaaaaaaaaxb").size(), 2u);
}

TEST(RecursiveCharacterSplitter, LengthUnits) {
  // "😀😁 😂😃": 5 code points, 9 UTF-16 units, 17 bytes.
  const std::string e0 = "\xf0\x9f\x98\x80", e1 = "\xf0\x9f\x98\x81", e2 = "\xf0\x9f\x98\x82",
                    e3 = "\xf0\x9f\x98\x83";
  const std::string text = e0 + e1 + " " + e2 + e3;
  SplitterOptions options = Sized(5, 0);
  EXPECT_EQ(SplitTexts(options, text), (Texts{text}));
  options.length_unit = LengthUnit::kUtf16;  // LangChain.js gives exactly this.
  EXPECT_EQ(SplitTexts(options, text), (Texts{e0 + e1, e2 + e3}));
  options.length_unit = LengthUnit::kBytes;
  options.chunk_size = 8;
  EXPECT_EQ(SplitTexts(options, text), (Texts{e0 + e1, e2, e3}));
  options.length_function = [](std::string_view piece) {  // Counts letters only.
    return static_cast<size_t>(
        std::count_if(piece.begin(), piece.end(), [](char c) { return c != ' '; }));
  };
  options.chunk_size = 3;
  EXPECT_EQ(SplitTexts(options, "a b c d e"), (Texts{"a b c", "d e"}));
}

TEST(RecursiveCharacterSplitter, EmptySeparatorCutsCodePointsNotBytes) {
  SplitterOptions options = Sized(2, 0);
  std::string text = "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x82\xac";  // ééé€
  EXPECT_EQ(SplitTexts(options, text), (Texts{"\xc3\xa9\xc3\xa9", "\xc3\xa9\xe2\x82\xac"}));
}

TEST(RecursiveCharacterSplitter, HardLimitCapsEveryChunk) {
  SplitterOptions options = Sized(10, 2);
  options.separators = {"\n\n", "\n"};  // No " " or "": LangChain leaves long lines whole.
  const std::string text = "short\n\nthis line is much longer than ten\nok";
  Texts loose = SplitTexts(options, text);
  // As LangChain, a piece with no finer separator is kept whole and untrimmed.
  EXPECT_EQ(loose, (Texts{"short", "\nthis line is much longer than ten", "ok"}));
  options.hard_limit = true;
  auto splitter = RecursiveCharacterSplitter::Create(options);
  auto chunks = splitter->Split(text);
  ASSERT_TRUE(chunks.ok());
  for (const Chunk& chunk : *chunks) {
    EXPECT_LE(chunk.text.size(), 10u) << chunk.text;
    EXPECT_EQ(text.substr(chunk.begin, chunk.end - chunk.begin), chunk.text);
  }
  EXPECT_EQ(chunks->front().text, "short");
  EXPECT_EQ(chunks->back().text, "ok");
  // A single code point longer than the limit cannot be honoured.
  options.length_unit = LengthUnit::kBytes;
  options.chunk_size = 3;
  options.chunk_overlap = 0;
  auto bytes = RecursiveCharacterSplitter::Create(options);
  auto failed = bytes->Split("ab \xf0\x9f\x98\x80");
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetByteOffset(failed.status()), 3);
}

TEST(RecursiveCharacterSplitter, HardLimitWithANonAdditiveLength) {
  // Length grows faster than the sum of its parts (bytes squared): merging single code points
  // still overshoots, so the longest fitting prefixes are taken.
  SplitterOptions options = Sized(16, 0);
  options.separators = {"\n"};
  options.hard_limit = true;
  options.length_function = [](std::string_view piece) { return piece.size() * piece.size(); };
  EXPECT_EQ(SplitTexts(options, "abcdefghij"), (Texts{"abcd", "efgh", "ij"}));
}

TEST(RecursiveCharacterSplitter, InvalidUtf8NamesTheOffset) {
  auto splitter = RecursiveCharacterSplitter::Create({});
  auto result = splitter->Split("valid text \xe2\x82 broken");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetByteOffset(result.status()), 11);
  EXPECT_NE(result.status().message().find("byte offset 11"), absl::string_view::npos);
}

TEST(RecursiveCharacterSplitter, RejectsBadOptions) {
  EXPECT_EQ(RecursiveCharacterSplitter::Create(Sized(0, 0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RecursiveCharacterSplitter::Create(Sized(10, 10)).status().code(),
            absl::StatusCode::kInvalidArgument);
  SplitterOptions options;
  options.separators.clear();
  EXPECT_EQ(RecursiveCharacterSplitter::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RecursiveCharacterSplitter, EmptyAndBlankInput) {
  EXPECT_TRUE(SplitTexts({}, "").empty());
  EXPECT_TRUE(SplitTexts({}, " \n\n \t ").empty());
  SplitterOptions keep_blank;
  keep_blank.strip_whitespace = false;
  EXPECT_EQ(SplitTexts(keep_blank, " \n "), (Texts{" \n "}));
}

}  // namespace
}  // namespace llmkit
