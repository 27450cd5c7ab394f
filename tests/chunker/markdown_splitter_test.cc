#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llmkit/chunker.h"

namespace llmkit {
namespace {

std::vector<Chunk> SplitMarkdown(const MarkdownSplitterOptions& options, std::string_view text) {
  auto splitter = MarkdownSplitter::Create(options);
  EXPECT_TRUE(splitter.ok()) << splitter.status();
  auto chunks = splitter->Split(text);
  EXPECT_TRUE(chunks.ok()) << chunks.status();
  for (const Chunk& chunk : *chunks) {
    EXPECT_EQ(text.substr(chunk.begin, chunk.end - chunk.begin), chunk.text);
  }
  return chunks.ok() ? *chunks : std::vector<Chunk>{};
}

std::vector<std::string> Headings(const Chunk& chunk) {
  std::vector<std::string> path;
  for (const Json& heading : chunk.metadata.Find("headings")->as_array()) {
    path.push_back(heading.as_string());
  }
  return path;
}

TEST(MarkdownSplitter, CutsAtHeadingsAndRecordsThePath) {
  const std::string text =
      "Intro text.\n\n# Installing\n\nRun the installer.\n\n## From source\n\nBuild it. ##\n\n"
      "### Details ###\n\nMore.\n\n## Binary\n\nDownload.\n\n# Usage\nUse it.\n";
  std::vector<Chunk> chunks = SplitMarkdown({}, text);
  ASSERT_EQ(chunks.size(), 6u);
  EXPECT_EQ(chunks[0].text, "Intro text.");
  EXPECT_TRUE(Headings(chunks[0]).empty());
  EXPECT_EQ(chunks[1].text, "# Installing\n\nRun the installer.");
  EXPECT_EQ(Headings(chunks[1]), (std::vector<std::string>{"Installing"}));
  EXPECT_EQ(Headings(chunks[2]), (std::vector<std::string>{"Installing", "From source"}));
  EXPECT_EQ(Headings(chunks[3]),
            (std::vector<std::string>{"Installing", "From source", "Details"}));
  EXPECT_EQ(Headings(chunks[4]), (std::vector<std::string>{"Installing", "Binary"}));
  EXPECT_EQ(Headings(chunks[5]), (std::vector<std::string>{"Usage"}));
}

TEST(MarkdownSplitter, HashInsideFencedCodeIsText) {
  const std::string text =
      "# Script\n\n```bash\n# not a heading\necho hi\n```\n\n~~~\n## also not\n~~~\nAfter.\n";
  std::vector<Chunk> chunks = SplitMarkdown({}, text);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(Headings(chunks[0]), (std::vector<std::string>{"Script"}));
}

TEST(MarkdownSplitter, NeverCutsInsideAFenceThatFits) {
  std::string code = "```python\n";
  for (int i = 0; i < 8; ++i)
    code += "x" + std::to_string(i) + " = compute(" + std::to_string(i) + ")\n\n";
  code += "```";
  const std::string text = "# Code\n\nSome words before the block.\n\n" + code + "\n\nWords after.";
  MarkdownSplitterOptions options;
  options.chunk_size = 200;
  options.chunk_overlap = 0;
  ASSERT_LE(code.size(), 200u);
  std::vector<Chunk> chunks = SplitMarkdown(options, text);
  size_t fence = text.find("```python");
  bool whole = false;
  for (const Chunk& chunk : chunks) {
    EXPECT_FALSE(chunk.begin > fence && chunk.begin < fence + code.size()) << chunk.text;
    EXPECT_FALSE(chunk.end > fence && chunk.end < fence + code.size()) << chunk.text;
    whole |= chunk.text.find(code) != std::string::npos;
  }
  EXPECT_TRUE(whole);
}

TEST(MarkdownSplitter, CutsAFenceLongerThanTheChunk) {
  std::string code = "```\n";
  for (int i = 0; i < 50; ++i) code += "line " + std::to_string(i) + "\n";
  code += "```\n";
  MarkdownSplitterOptions options;
  options.chunk_size = 100;
  options.chunk_overlap = 0;
  std::vector<Chunk> chunks = SplitMarkdown(options, "# Big\n" + code);
  EXPECT_GT(chunks.size(), 3u);
  for (const Chunk& chunk : chunks) EXPECT_LE(chunk.text.size(), 100u);
}

TEST(MarkdownSplitter, MaxHeadingLevel) {
  MarkdownSplitterOptions options;
  options.max_heading_level = 1;
  std::vector<Chunk> chunks = SplitMarkdown(options, "# A\n\ntext\n\n## B\n\nmore\n");
  ASSERT_EQ(chunks.size(), 1u);
  options.max_heading_level = 7;
  EXPECT_EQ(MarkdownSplitter::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MarkdownSplitter, HeadingLookalikes) {
  // "#hashtag" needs a space; 4-space indent is code; 7 #s is not a heading.
  std::vector<Chunk> chunks =
      SplitMarkdown({}, "#hashtag\n    # indented\n####### seven\n#\tTab heading\n");
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(Headings(chunks[1]), (std::vector<std::string>{"Tab heading"}));
}

TEST(MarkdownSplitter, InvalidUtf8) {
  auto splitter = MarkdownSplitter::Create({});
  EXPECT_EQ(splitter->Split("# ok\n\xff").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmkit
