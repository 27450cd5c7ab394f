// Properties every chunker output must have, on random and real text:
//   - text == input.substr(begin, end - begin), offsets on code point boundaries;
//   - chunks in input order (ends never decrease; begins never decrease either, except that
//     hard_limit re-splits an over-long chunk while the next chunk keeps its LangChain overlap);
//   - nothing but whitespace (and dropped separators) is lost;
//   - with hard_limit, no chunk is longer than chunk_size.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "llmkit/chunker.h"

namespace llmkit {
namespace {

bool IsBoundary(std::string_view text, size_t offset) {
  return offset == text.size() || (static_cast<unsigned char>(text[offset]) & 0xC0) != 0x80;
}

bool IsAsciiSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

void CheckChunks(std::string_view text, const std::vector<Chunk>& chunks, size_t limit,
                 bool lossless, LengthUnit unit) {
  size_t previous_begin = 0, previous_end = 0;
  std::vector<bool> covered(text.size(), false);
  for (const Chunk& chunk : chunks) {
    ASSERT_LE(chunk.end, text.size());
    ASSERT_LT(chunk.begin, chunk.end);
    ASSERT_EQ(text.substr(chunk.begin, chunk.end - chunk.begin), chunk.text);
    ASSERT_TRUE(IsBoundary(text, chunk.begin) && IsBoundary(text, chunk.end));
    if (limit == 0) {
      ASSERT_GE(chunk.begin, previous_begin);
    }
    ASSERT_GE(chunk.end, previous_end);
    previous_begin = chunk.begin;
    previous_end = chunk.end;
    if (limit > 0) {
      ASSERT_LE(TextLength(chunk.text, unit), limit);
    }
    std::fill(covered.begin() + chunk.begin, covered.begin() + chunk.end, true);
  }
  if (!lossless) return;
  for (size_t i = 0; i < text.size(); ++i) {
    // Only ASCII whitespace and the multi-byte whitespace of the test alphabet may be dropped.
    if (!covered[i] && !IsAsciiSpace(text[i]) && static_cast<unsigned char>(text[i]) < 0x80) {
      FAIL() << "byte " << i << " lost: '" << text[i] << "'";
    }
  }
}

std::string RandomText(std::mt19937& random, size_t pieces) {
  static const char* kAlphabet[] = {"a",
                                    "word",
                                    "The",
                                    "\n",
                                    "\n\n",
                                    "\n\n\n",
                                    " ",
                                    "  ",
                                    "\t",
                                    ".",
                                    "#",
                                    "```\n",
                                    "\xc3\xa9",
                                    "\xe2\x82\xac",
                                    "\xf0\x9f\x98\x80",
                                    "\xe3\x80\x80",
                                    "\xc2\xa0",
                                    "class ",
                                    "\ndef ",
                                    "<p>",
                                    "x"};
  std::string text;
  for (size_t i = 0; i < pieces; ++i) text += kAlphabet[random() % std::size(kAlphabet)];
  return text;
}

TEST(ChunkOffsetsProperty, RandomTextAndOptions) {
  std::mt19937 random(20261123);
  const char* languages[] = {"python", "markdown", "html", "cpp", "latex"};
  for (int round = 0; round < 3000; ++round) {
    std::string text = RandomText(random, random() % 400);
    SplitterOptions options;
    options.chunk_size = 1 + random() % 60;
    options.chunk_overlap = random() % options.chunk_size;
    options.length_unit = static_cast<LengthUnit>(random() % 3);
    options.keep_separator = static_cast<KeepSeparator>(random() % 3);
    options.strip_whitespace = random() % 4 != 0;
    options.hard_limit = random() % 2 == 0;
    if (options.length_unit == LengthUnit::kBytes && options.chunk_size < 4) options.chunk_size = 4;
    if (options.length_unit == LengthUnit::kUtf16 && options.chunk_size < 2) options.chunk_size = 2;
    options.chunk_overlap = std::min(options.chunk_overlap, options.chunk_size - 1);
    absl::StatusOr<RecursiveCharacterSplitter> splitter =
        round % 3 == 0 ? RecursiveCharacterSplitter::FromLanguage(languages[round % 5], options)
                       : RecursiveCharacterSplitter::Create(options);
    ASSERT_TRUE(splitter.ok()) << splitter.status();
    auto chunks = splitter->Split(text);
    ASSERT_TRUE(chunks.ok()) << chunks.status();
    SCOPED_TRACE(testing::Message() << "round " << round << " size " << options.chunk_size);
    CheckChunks(text, *chunks, options.hard_limit ? options.chunk_size : 0,
                options.keep_separator != KeepSeparator::kNone, options.length_unit);
    // Code points are counted by the separator sweep; a length function takes the general
    // path (each piece measured on its own) and must give the same chunks.
    if (options.length_unit == LengthUnit::kCodePoints && !options.is_separator_regex) {
      SplitterOptions measured = splitter->options();
      measured.length_function = [](std::string_view piece) {
        return TextLength(piece, LengthUnit::kCodePoints);
      };
      auto general = RecursiveCharacterSplitter::Create(measured)->Split(text);
      ASSERT_TRUE(general.ok()) << general.status();
      ASSERT_EQ(general->size(), chunks->size());
      for (size_t i = 0; i < chunks->size(); ++i) {
        ASSERT_EQ((*general)[i].begin, (*chunks)[i].begin) << i;
        ASSERT_EQ((*general)[i].end, (*chunks)[i].end) << i;
      }
    }
    // SplitViews: the same chunks, as views into the text.
    absl::StatusOr<std::vector<std::string_view>> views = splitter->SplitViews(text);
    ASSERT_TRUE(views.ok()) << views.status();
    ASSERT_EQ(views->size(), chunks->size());
    for (size_t i = 0; i < views->size(); ++i) {
      ASSERT_EQ(static_cast<size_t>((*views)[i].data() - text.data()), (*chunks)[i].begin);
      ASSERT_EQ((*views)[i], (*chunks)[i].text);
    }

    MarkdownSplitterOptions markdown;
    markdown.chunk_size = options.chunk_size;
    markdown.chunk_overlap = options.chunk_overlap;
    markdown.length_unit = options.length_unit;
    markdown.hard_limit = options.hard_limit;
    auto markdown_chunks = MarkdownSplitter::Create(markdown)->Split(text);
    ASSERT_TRUE(markdown_chunks.ok()) << markdown_chunks.status();
    CheckChunks(text, *markdown_chunks, options.hard_limit ? options.chunk_size : 0, true,
                options.length_unit);
  }
}

TEST(ChunkOffsetsProperty, RealDocuments) {
  const std::filesystem::path root = "/usr/share/doc/python3.11/html/_sources";
  if (!std::filesystem::exists(root)) {
    GTEST_SKIP() << root << " is absent: install python3.11-doc (scripts/install-deps.sh does)";
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 400u);
  auto recursive = RecursiveCharacterSplitter::Create({});
  SplitterOptions hard;
  hard.chunk_size = 300;
  hard.chunk_overlap = 30;
  hard.hard_limit = true;
  hard.separators = {"\n\n", "\n"};
  auto hard_splitter = RecursiveCharacterSplitter::Create(hard);
  auto markdown = MarkdownSplitter::Create({});
  for (size_t i = 0; i < files.size(); i += 3) {
    std::ifstream file(files[i], std::ios::binary);
    std::stringstream buffer;
    buffer << file.rdbuf();
    const std::string text = buffer.str();
    SCOPED_TRACE(files[i].string());
    auto chunks = recursive->Split(text);
    ASSERT_TRUE(chunks.ok()) << chunks.status();
    CheckChunks(text, *chunks, 0, true, LengthUnit::kCodePoints);
    auto hard_chunks = hard_splitter->Split(text);
    ASSERT_TRUE(hard_chunks.ok()) << hard_chunks.status();
    CheckChunks(text, *hard_chunks, 300, true, LengthUnit::kCodePoints);
    auto markdown_chunks = markdown->Split(text);
    ASSERT_TRUE(markdown_chunks.ok()) << markdown_chunks.status();
    CheckChunks(text, *markdown_chunks, 0, true, LengthUnit::kCodePoints);
  }
}

}  // namespace
}  // namespace llmkit
