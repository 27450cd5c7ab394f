// TokenSplitter, SentenceSplitter and TokenLength through the C++ API (the Python tests compare
// them with LangChain; these run under the sanitizers too).

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/chunker.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

std::shared_ptr<const Tokenizer> LoadCl100k() {
  const char* dir = std::getenv("LLMKIT_TEST_RANKS_DIR");
  if (dir == nullptr) dir = LLMKIT_TEST_RANKS_DIR_DEFAULT;
  if (dir == nullptr) return nullptr;
  std::string path = std::string(dir) + "/cl100k_base.tiktoken";
  if (!std::filesystem::exists(path)) return nullptr;
  auto tokenizer = Tokenizer::FromFile(path, *BuiltinEncoding("cl100k_base"));
  return tokenizer.ok() ? *tokenizer : nullptr;
}

#define LOAD_OR_SKIP(var)                                                          \
  std::shared_ptr<const Tokenizer> var = LoadCl100k();                             \
  if (var == nullptr) {                                                            \
    if (std::getenv("LLMKIT_REQUIRE_PEERS") != nullptr) FAIL() << "no rank files"; \
    GTEST_SKIP() << "no rank files: run scripts/install-test-peers.sh";            \
  }

std::string RandomText(std::mt19937& rng, size_t pieces) {
  static const std::vector<std::string> kPieces = {
      "word",      " ",     "  ",           "\n", "\n\n",
      "Sentence.", " End!", "日本語。",     "é",  "👩🏽‍💻",
      "x",         "42",    "(quoted.)\" ", "\t"};
  std::string text;
  for (size_t i = 0; i < pieces; ++i) text += kPieces[rng() % kPieces.size()];
  return text;
}

TEST(TokenSplitter, TilesTheTextWithoutBreakingCharacters) {
  LOAD_OR_SKIP(tokenizer);
  std::mt19937 rng(1);
  for (size_t size : {1, 2, 5, 40}) {
    auto splitter = TokenSplitter::Create(tokenizer, {.chunk_size = size, .chunk_overlap = 0});
    ASSERT_TRUE(splitter.ok());
    for (int round = 0; round < 20; ++round) {
      std::string text = RandomText(rng, 60);
      auto chunks = splitter->Split(text);
      ASSERT_TRUE(chunks.ok());
      std::string joined;
      for (const Chunk& chunk : *chunks) {
        EXPECT_EQ(text.substr(chunk.begin, chunk.end - chunk.begin), chunk.text);
        EXPECT_TRUE(ValidateUtf8(chunk.text).ok());
        joined += chunk.text;
      }
      EXPECT_EQ(joined, text);
    }
  }
}

TEST(TokenSplitter, OverlapRepeatsTokens) {
  LOAD_OR_SKIP(tokenizer);
  auto splitter = TokenSplitter::Create(tokenizer, {.chunk_size = 4, .chunk_overlap = 2});
  auto chunks = splitter->Split("one two three four five six seven eight");
  ASSERT_TRUE(chunks.ok());
  ASSERT_GE(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[0].text, "one two three four");
  EXPECT_EQ((*chunks)[1].text, " three four five six");
  EXPECT_EQ(TokenSplitter::Create(tokenizer, {.chunk_size = 4, .chunk_overlap = 4}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenSplitter::Create(nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SentenceSplitter, NeverOverTheLimitAndNothingLost) {
  LOAD_OR_SKIP(tokenizer);
  std::mt19937 rng(2);
  for (size_t size : {4, 9, 30, 200}) {
    auto splitter =
        SentenceSplitter::Create(tokenizer, {.chunk_size = size, .chunk_overlap = size / 4});
    ASSERT_TRUE(splitter.ok());
    for (int round = 0; round < 20; ++round) {
      std::string text = RandomText(rng, 120);
      auto chunks = splitter->Split(text);
      ASSERT_TRUE(chunks.ok()) << chunks.status();
      std::vector<bool> covered(text.size(), false);
      for (const Chunk& chunk : *chunks) {
        EXPECT_EQ(text.substr(chunk.begin, chunk.end - chunk.begin), chunk.text);
        EXPECT_LE(tokenizer->CountValidUtf8(chunk.text), size);
        for (size_t i = chunk.begin; i < chunk.end; ++i) covered[i] = true;
      }
      for (size_t i = 0; i < text.size(); ++i) {
        if (!covered[i]) {
          EXPECT_TRUE(std::string(" \t\n").find(text[i]) != std::string::npos) << i;
        }
      }
    }
  }
}

TEST(SentenceSplitter, ErrorsNameTheOffset) {
  LOAD_OR_SKIP(tokenizer);
  auto splitter = SentenceSplitter::Create(tokenizer, {.chunk_size = 1, .chunk_overlap = 0});
  auto chunks = splitter->Split("ab \xF0\x90\x8D\x88");  // U+10348: four tokens.
  EXPECT_EQ(chunks.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetByteOffset(chunks.status()), 3);
  EXPECT_EQ(splitter->Split("a\xff").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenLength, SizesRecursiveChunksInTokens) {
  LOAD_OR_SKIP(tokenizer);
  SplitterOptions options;
  options.chunk_size = 20;
  options.chunk_overlap = 5;
  options.length_function = TokenLength(tokenizer);
  auto splitter = RecursiveCharacterSplitter::Create(options);
  ASSERT_TRUE(splitter.ok());
  std::mt19937 rng(3);
  std::string text = RandomText(rng, 400);
  auto chunks = splitter->Split(text);
  ASSERT_TRUE(chunks.ok());
  EXPECT_GT(chunks->size(), 10u);
  for (const Chunk& chunk : *chunks) EXPECT_LE(tokenizer->CountValidUtf8(chunk.text), 20u);
}

}  // namespace
}  // namespace llmkit
