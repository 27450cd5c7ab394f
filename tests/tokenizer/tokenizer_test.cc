// Tokenizer: rank file parsing errors, special token policies, counting, batches, offsets and
// lossy decoding. Exactness against tiktoken is the Python differential test's job
// (bindings/python/tests/test_tiktoken_parity.py); these pin the C++ API's contracts.

#include "llmkit/tokenizer.h"

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/status.h"
#include "tokenizer/bpe.h"

namespace llmkit {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const Tokenizer> Load(const std::string& name) {
  const char* dir = std::getenv("LLMKIT_TEST_RANKS_DIR");
  if (dir == nullptr) dir = LLMKIT_TEST_RANKS_DIR_DEFAULT;
  std::string path = std::string(dir ? dir : "") + "/" + name + ".tiktoken";
  if (dir == nullptr || !std::filesystem::exists(path)) return nullptr;
  auto spec = BuiltinEncoding(name);
  EXPECT_TRUE(spec.ok());
  auto tokenizer = Tokenizer::FromFile(path, *spec);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *tokenizer : nullptr;
}

#define LOAD_OR_SKIP(var, name)                                                    \
  std::shared_ptr<const Tokenizer> var = Load(name);                               \
  if (var == nullptr) {                                                            \
    if (std::getenv("LLMKIT_REQUIRE_PEERS") != nullptr) FAIL() << "no rank files"; \
    GTEST_SKIP() << "no rank files: run scripts/install-test-peers.sh";            \
  }

EncodingSpec TinySpec() {
  EncodingSpec spec;
  spec.name = "tiny";
  spec.pre_split = PreSplit::kCl100k;
  spec.special_tokens = {{"<|endoftext|>", 10}};
  return spec;
}

TEST(FromRanks, ReportsTheBadLine) {
  auto bad_base64 = Tokenizer::FromRanks("YQ== 0\nY!== 1\n", TinySpec());
  EXPECT_EQ(bad_base64.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(bad_base64.status().message(), HasSubstr("line 2"));
  auto bad_rank = Tokenizer::FromRanks("YQ== 0\nYg== x\n", TinySpec());
  EXPECT_THAT(bad_rank.status().message(), HasSubstr("bad rank"));
  auto duplicate = Tokenizer::FromRanks("YQ== 0\nYQ== 1\n", TinySpec());
  EXPECT_THAT(duplicate.status().message(), HasSubstr("duplicate"));
  auto empty = Tokenizer::FromRanks("\n\n", TinySpec());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kDataLoss);
  auto no_space = Tokenizer::FromRanks("YQ==\n", TinySpec());
  EXPECT_THAT(no_space.status().message(), HasSubstr("line 1"));
}

TEST(FromRanks, RanksAreBoundedAndUnique) {
  // A rank of 999999999 would size the decoding table at 8 GB; two tokens with one rank could
  // not both decode (tiktoken refuses them too).
  auto huge = Tokenizer::FromRanks("YQ== 0\nYg== 999999999\n", TinySpec());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(huge.status().message(), HasSubstr("line 2: rank 999999999 is too large"));
  auto same_rank = Tokenizer::FromRanks("YQ== 0\nYg== 0\n", TinySpec());
  EXPECT_EQ(same_rank.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(same_rank.status().message(), HasSubstr("line 2: duplicate token or rank"));
}

TEST(FromRanks, ChecksumMismatchIsDataLoss) {
  EncodingSpec spec = TinySpec();
  spec.sha256 = std::string(64, '0');
  auto tokenizer = Tokenizer::FromRanks("YQ== 0\nYg== 1\n", spec);
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tokenizer.status().message(), HasSubstr("SHA-256"));
}

// Every byte (ranks 0-255, base64 of one byte) plus the merges "ab" (256) and "abc" (257).
std::string TinyRanks() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string ranks;
  for (int b = 0; b < 256; ++b) {
    ranks += kAlphabet[b >> 2];
    ranks += kAlphabet[(b & 3) << 4];
    ranks += "== " + std::to_string(b) + "\n";
  }
  return ranks + "YWI= 256\nYWJj 257\n";
}

TEST(FromRanks, TinyVocabularyMergesByRank) {
  EncodingSpec spec = TinySpec();
  spec.special_tokens = {{"<|endoftext|>", 300}};
  auto tokenizer = Tokenizer::FromRanks(TinyRanks(), spec);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(*(*tokenizer)->EncodeOrdinary("abcab"), (std::vector<Token>{257, 256}));
  EXPECT_EQ(*(*tokenizer)->EncodeOrdinary("cba"), (std::vector<Token>{'c', 'b', 'a'}));
  EXPECT_EQ((*tokenizer)->n_vocab(), 301u);
  EXPECT_EQ((*tokenizer)->eot_token(), 300u);
  EXPECT_EQ(*(*tokenizer)->Decode(std::vector<Token>{257, 300}), "abc<|endoftext|>");
  EXPECT_EQ((*tokenizer)->Decode(std::vector<Token>{299}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FromRanks, EveryByteNeedsAToken) {
  // Without one, some text could not be encoded (tiktoken panics there).
  auto tokenizer = Tokenizer::FromRanks("YQ== 0\nYg== 1\n", TinySpec());
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tokenizer.status().message(), HasSubstr("byte 0x00"));
}

TEST(Tokenizer, UnknownEncodingAndModel) {
  EXPECT_EQ(BuiltinEncoding("gpt9").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(BuiltinEncoding("gpt9").status().message(), HasSubstr("o200k_base"));
  EXPECT_EQ(*EncodingNameForModel("gpt-4o-mini"), "o200k_base");
  EXPECT_EQ(*EncodingNameForModel("gpt-3.5-turbo-0125"), "cl100k_base");
  EXPECT_EQ(*EncodingNameForModel("text-davinci-003"), "p50k_base");
  EXPECT_EQ(EncodingNameForModel("claude-3").status().code(), absl::StatusCode::kNotFound);
}

TEST(Tokenizer, RoundTripsAndKnownIds) {
  LOAD_OR_SKIP(cl100k, "cl100k_base");
  EXPECT_EQ(*cl100k->EncodeOrdinary("hello world"), (std::vector<Token>{15339, 1917}));
  std::string text = "Tokenizers 🤖 split text — 日本語 too.\r\n\t  ";
  auto ids = cl100k->EncodeOrdinary(text);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*cl100k->Decode(*ids), text);
  EXPECT_EQ(*cl100k->Count(text), ids->size());
}

TEST(Tokenizer, InvalidUtf8IsAnErrorWithItsOffset) {
  LOAD_OR_SKIP(cl100k, "cl100k_base");
  auto ids = cl100k->EncodeOrdinary("abc\xff");
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetByteOffset(ids.status()), 3);
  EXPECT_EQ(cl100k->Count("\xc3").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Tokenizer, SpecialTokenPolicies) {
  LOAD_OR_SKIP(cl100k, "cl100k_base");
  const std::string text = "a<|endoftext|>b<|fim_prefix|>";
  auto denied = cl100k->Encode(text);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetByteOffset(denied.status()), 1);
  EXPECT_THAT(denied.status().message(), HasSubstr("<|endoftext|>"));

  auto all = cl100k->Encode(text, SpecialTokenPolicy::AllowAll());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<Token>{64, 100257, 65, 100258}));

  SpecialTokenPolicy only_eot;
  only_eot.allowed = {"<|endoftext|>"};
  auto partial = cl100k->Encode(text, only_eot);
  EXPECT_EQ(GetByteOffset(partial.status()), 15);  // <|fim_prefix|> is still disallowed.
  only_eot.disallow_all = false;
  auto as_text = cl100k->Encode(text, only_eot);
  ASSERT_TRUE(as_text.ok());
  EXPECT_EQ((*as_text)[1], 100257u);
  EXPECT_EQ(*cl100k->Decode(*as_text), text);

  EXPECT_EQ(*cl100k->Encode(text, SpecialTokenPolicy::AllowNone()), *cl100k->EncodeOrdinary(text));
}

TEST(Tokenizer, CountUpToStopsEarly) {
  LOAD_OR_SKIP(o200k, "o200k_base");
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "word ";
  size_t total = *o200k->Count(text);
  EXPECT_EQ(*o200k->CountUpTo(text, total), total);
  EXPECT_EQ(*o200k->CountUpTo(text, total + 5), total);
  EXPECT_EQ(*o200k->CountUpTo(text, 10), 11u);
  EXPECT_EQ(*o200k->CountUpTo(text, 0), 1u);
  EXPECT_EQ(*o200k->CountUpTo("", 0), 0u);
}

TEST(Tokenizer, BatchesEqualSingleCalls) {
  LOAD_OR_SKIP(o200k, "o200k_base");
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back("text number " + std::to_string(i * 7919) + "!");
  std::vector<std::string_view> views(texts.begin(), texts.end());
  auto batch = o200k->EncodeOrdinaryBatch(views, 2);
  ASSERT_TRUE(batch.ok());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ((*batch)[i], *o200k->EncodeOrdinary(texts[i]));
  views.push_back("bad \xff");
  EXPECT_EQ(o200k->EncodeOrdinaryBatch(views, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Tokenizer, OffsetsPointAtEachTokensBytes) {
  LOAD_OR_SKIP(o200k, "o200k_base");
  std::string text =
      "Offsets: naïve café, 日本語, emoji 👩🏽‍💻 and a-very-long-word-with-no-token";
  std::vector<Token> tokens;
  std::vector<size_t> offsets;
  ASSERT_TRUE(o200k->EncodeOrdinaryWithOffsets(text, &tokens, &offsets).ok());
  ASSERT_EQ(tokens.size(), offsets.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    size_t end = i + 1 < tokens.size() ? offsets[i + 1] : text.size();
    EXPECT_EQ(text.substr(offsets[i], end - offsets[i]), *o200k->TokenBytes(tokens[i]));
  }
}

// A rank table over every byte plus random merges of a four-letter alphabet, so that random
// pieces over it merge into many parts and collide in the merge cache's slots.
std::unique_ptr<internal::RankTable> RandomTable(uint32_t seed, std::vector<std::string>* tokens) {
  auto table = std::make_unique<internal::RankTable>();
  Token rank = 0;
  for (int b = 0; b < 256; ++b) table->Add(std::string(1, static_cast<char>(b)), rank++);
  std::mt19937 random(seed);
  std::vector<std::string> known = {"a", "b", "c", "d"};
  while (rank < 3000) {
    std::string merged = known[random() % known.size()] + known[random() % known.size()];
    if (merged.size() <= 40 && table->Add(merged, rank)) {
      known.push_back(merged);
      ++rank;
    }
  }
  table->Finish();
  *tokens = known;
  return table;
}

std::vector<internal::Part> Cached(internal::MergeCache& cache, const internal::RankTable& table,
                                   std::string_view piece) {
  std::vector<internal::Part> scratch;
  if (piece.size() > internal::MergeCache::kMaxPiece)
    return cache.MergeLong(table, piece, &scratch);
  const internal::MergeCache::Entry* entry = cache.Merge(table, piece, &scratch);
  if (entry == nullptr) return scratch;
  std::vector<internal::Part> parts;
  for (size_t i = 0; i < entry->count; ++i) parts.push_back({entry->starts[i], entry->tokens[i]});
  return parts;
}

TEST(MergeCache, AlwaysEqualsAFreshMerge) {
  // Two tables with different merges share one cache, as two encodings share a thread: a piece
  // merged with one must never be served for the other. Pieces repeat (hits), collide in the
  // direct-mapped slots, have more parts than an entry holds, and pass every length limit.
  std::vector<std::string> tokens_a, tokens_b;
  auto a = RandomTable(1, &tokens_a);
  auto b = RandomTable(2, &tokens_b);
  internal::MergeCache cache;
  std::mt19937 random(3);
  std::vector<std::string> pieces;
  for (int i = 0; i < 3000; ++i) {
    std::string piece;
    size_t length = std::vector<size_t>{1, 3, 8, 17, 31, 32, 33, 100, 1024, 1025, 3000}[i % 11];
    while (piece.size() < length) piece += static_cast<char>('a' + random() % 4);
    pieces.push_back(piece.substr(0, length));
  }
  size_t compared = 0;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < pieces.size(); ++i) {
      const internal::RankTable& table = (i + round) % 2 ? *a : *b;
      std::vector<internal::Part> fresh;
      internal::BytePairMerge(table, pieces[i], &fresh);
      ASSERT_EQ(Cached(cache, table, pieces[i]), fresh) << "piece " << i << " round " << round;
      ++compared;
    }
  }
  // A table made after another one died (perhaps at its address) gets its own merges too.
  a.reset();
  std::vector<std::string> tokens_c;
  auto c = RandomTable(4, &tokens_c);
  for (const std::string& piece : pieces) {
    std::vector<internal::Part> fresh;
    internal::BytePairMerge(*c, piece, &fresh);
    ASSERT_EQ(Cached(cache, *c, piece), fresh);
  }
  EXPECT_EQ(compared, 9000u);
}

TEST(Utf8Lossy, MaximalSubpartsAsPython) {
  // Expected values are Python's bytes.decode("utf-8", "replace").
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Utf8Lossy("ok"), "ok");
  EXPECT_EQ(Utf8Lossy("\xF0\x9F\x98"), fffd);
  EXPECT_EQ(Utf8Lossy("\xE0\x80"), fffd + fffd);
  EXPECT_EQ(Utf8Lossy("\xED\xA0\x80"), fffd + fffd + fffd);
  EXPECT_EQ(Utf8Lossy("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);
  EXPECT_EQ(Utf8Lossy("a\xC3"), "a" + fffd);
  EXPECT_EQ(Utf8Lossy("\xC3\xA9\x80z"), "\xC3\xA9" + fffd + "z");
}

}  // namespace
}  // namespace llmkit
