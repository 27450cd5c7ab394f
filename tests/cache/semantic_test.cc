// The semantic response cache: the false-hit guard's rules, the labelled question pairs of
// tests/cache/semantic_pairs.jsonl scored with the local embedder (hit rate on paraphrases,
// false-hit rate on pairs that must miss: 0), and similar questions served through WithCache
// against the OpenAI client and a scripted server on 127.0.0.1.

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "../http/test_server.h"
#include "cache/prepared_embedder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/cache.h"
#include "llmkit/openai.h"
#include "llmkit/rag.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Reply;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;

TEST(FalseHitGuard, EachRuleRefusesItsKindOfDifference) {
  EXPECT_EQ(FalseHitReason("How do I reset my password?", "How can I reset my password?"), "");
  EXPECT_EQ(FalseHitReason("What is the capital of France?", "What is France's capital city?"), "");
  EXPECT_THAT(FalseHitReason("Is the museum open on Monday?", "Isn't the museum open on Monday?"),
              HasSubstr("negations"));
  EXPECT_THAT(FalseHitReason("How do I log in with a password?", "How do I log in without one?"),
              HasSubstr("negations"));
  EXPECT_THAT(FalseHitReason("What is 15% of 200?", "What is 20% of 200?"), HasSubstr("numbers"));
  EXPECT_THAT(FalseHitReason("Set a timer for ten minutes.", "Set a timer for twenty minutes."),
              HasSubstr("numbers"));
  EXPECT_THAT(FalseHitReason("Translate 'good morning'.", "Translate 'good night'."),
              HasSubstr("quoted"));
  EXPECT_THAT(FalseHitReason("How do I call get_user_by_id?", "How do I call get_user_by_email?"),
              HasSubstr("identifiers"));
  EXPECT_THAT(FalseHitReason("Why does useEffect run twice?", "Why does useMemo run twice?"),
              HasSubstr("identifiers"));
  EXPECT_THAT(FalseHitReason("How do I enable 2FA?", "How do I disable 2FA?"),
              HasSubstr("operations"));
  EXPECT_THAT(FalseHitReason("How do I turn on dark mode?", "How do I turn off dark mode?"),
              HasSubstr("operations"));
  EXPECT_THAT(FalseHitReason("What is the capital of France?", "What is the capital of Germany?"),
              HasSubstr("names"));
  EXPECT_THAT(FalseHitReason("Paris weather tomorrow", "London weather tomorrow"),
              HasSubstr("names"));
  EXPECT_THAT(FalseHitReason("Flights from Berlin to Rome", "Flights from Rome to Berlin"),
              HasSubstr("names"));
  // Adversarial input ends quickly and never crashes.
  std::string hostile(200000, '\'');
  hostile += std::string(100000, '"') + std::string(100000, '-') + "\xff\xfe\xe2\x80";
  EXPECT_EQ(FalseHitReason(hostile, hostile), "");
  EXPECT_EQ(FalseHitReason("", ""), "");
}

struct Pair {
  std::string a, b, expect, kind;
};

std::vector<Pair> ReadPairs() {
  std::vector<Pair> pairs;
  std::ifstream in(std::string(LLMKIT_SOURCE_DIR) + "/tests/cache/semantic_pairs.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    absl::StatusOr<Json> j = Json::Parse(line);
    if (!j.ok()) continue;
    pairs.push_back({j->Find("a")->as_string(), j->Find("b")->as_string(),
                     j->Find("expect")->as_string(), j->Find("kind")->as_string()});
  }
  return pairs;
}

double Cosine(const std::vector<float>& x, const std::vector<float>& y) {
  double dot = 0, nx = 0, ny = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    dot += double(x[i]) * y[i];
    nx += double(x[i]) * x[i];
    ny += double(y[i]) * y[i];
  }
  return dot / std::sqrt(nx * ny);
}

// The rates of the labelled set at each threshold, with and without the guard, over all pairs
// and over the even/odd halves (the default threshold was chosen on the even half).
TEST(SemanticPairs, NoPairThatMustMissHitsAtTheDefaultThreshold) {
  std::vector<Pair> pairs = ReadPairs();
  ASSERT_GE(pairs.size(), 150u) << "tests/cache/semantic_pairs.jsonl";
  auto embedder = NewLocalEmbeddingModel().value();
  std::vector<double> similarity;
  std::vector<bool> guarded;  // The guard lets the pair through.
  for (const Pair& p : pairs) {
    std::vector<std::string> texts = {p.a, p.b};
    Embeddings e = embedder->Embed(texts).value();
    std::vector<float> x(e.values.begin(), e.values.begin() + e.dimensions);
    std::vector<float> y(e.values.begin() + e.dimensions, e.values.end());
    similarity.push_back(Cosine(x, y));
    guarded.push_back(FalseHitReason(p.a, p.b).empty());
  }
  std::printf("threshold  guard  paraphrase hits (all/even/odd)   false hits (all/even/odd)\n");
  const double default_threshold = SemanticCacheOptions().threshold;
  // The default is the threshold with the best Youden index (hit rate minus false-hit rate) of
  // the embedder alone (no guard) on the even half: the guard then comes on top.
  double chosen = 0, best_j = -2;
  for (double threshold : {0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95}) {
    int hits = 0, paraphrases = 0, false_hits = 0, misses = 0;
    for (size_t i = 0; i < pairs.size(); i += 2) {
      bool hit = similarity[i] >= threshold;
      if (pairs[i].expect == "hit") {
        ++paraphrases;
        hits += hit;
      } else {
        ++misses;
        false_hits += hit;
      }
    }
    double j = double(hits) / paraphrases - double(false_hits) / misses;
    std::printf("even half, no guard, %.2f: Youden index %.3f\n", threshold, j);
    if (j > best_j) {
      best_j = j;
      chosen = threshold;
    }
  }
  EXPECT_EQ(chosen, default_threshold)
      << "SemanticCacheOptions::threshold is not the even half's choice";
  for (double threshold : {0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95}) {
    for (bool guard : {false, true}) {
      int hits[3] = {0, 0, 0}, paraphrases[3] = {0, 0, 0};
      int false_hits[3] = {0, 0, 0}, misses[3] = {0, 0, 0};
      for (size_t i = 0; i < pairs.size(); ++i) {
        bool hit = similarity[i] >= threshold && (!guard || guarded[i]);
        for (int part : {0, 1 + int(i % 2)}) {
          if (pairs[i].expect == "hit") {
            ++paraphrases[part];
            hits[part] += hit;
          } else {
            ++misses[part];
            false_hits[part] += hit;
          }
        }
      }
      std::printf("%9.2f  %5s  %3d/%d %3d/%d %3d/%d           %3d/%d %3d/%d %3d/%d\n", threshold,
                  guard ? "on" : "off", hits[0], paraphrases[0], hits[1], paraphrases[1], hits[2],
                  paraphrases[2], false_hits[0], misses[0], false_hits[1], misses[1], false_hits[2],
                  misses[2]);
      if (guard && threshold == default_threshold) {
        EXPECT_EQ(false_hits[0], 0) << "a pair that must miss hits at the default threshold";
        EXPECT_GE(hits[2] * 10, paraphrases[2] * 7) << "fewer than 70% of held-out paraphrases hit";
      }
    }
  }
  // Whatever the threshold, the guard alone refuses most pairs that must miss.
  int refused = 0, wrongly = 0, must_miss = 0, paraphrases = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (pairs[i].expect == "miss") {
      ++must_miss;
      refused += !guarded[i];
    } else {
      ++paraphrases;
      wrongly += !guarded[i];
      if (!guarded[i]) {
        std::printf("guard refuses paraphrase: %s | %s: %s\n", pairs[i].a.c_str(),
                    pairs[i].b.c_str(), FalseHitReason(pairs[i].a, pairs[i].b).c_str());
      }
    }
  }
  std::printf("guard alone: refuses %d/%d pairs that must miss, %d/%d paraphrases\n", refused,
              must_miss, wrongly, paraphrases);
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (pairs[i].expect == "miss" && guarded[i]) {
      std::printf("guard lets through (similarity %.3f): %s | %s\n", similarity[i],
                  pairs[i].a.c_str(), pairs[i].b.c_str());
    }
  }
}

constexpr char kAnswer[] = R"({"id": "c1", "model": "gpt-4o-mini",
  "choices": [{"index": 0, "finish_reason": "stop",
               "message": {"role": "assistant", "content": "Use Settings > Security."}}],
  "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}})";

ChatRequest Ask(std::string question, std::string system = "Be brief.") {
  ChatRequest request;
  request.temperature = 0;
  request.messages = {{.role = "system", .content = std::move(system)},
                      {.role = "user", .content = std::move(question)}};
  return request;
}

TEST(SemanticCache, ASimilarQuestionIsAnsweredAndADifferentOneIsNot) {
  TestServer server([](const ServerRequest&) { return Reply(200, kAnswer); });
  OpenAIOptions client;
  client.base_url = server.Url("/v1");
  client.api_key = "sk-test";
  client.model = "gpt-4o-mini";
  std::shared_ptr<ChatModel> model(*NewOpenAIClient(client));
  auto cache = ResponseCache::Create().value();
  WithCacheOptions options;
  options.semantic.embedder = std::shared_ptr<EmbeddingModel>(NewLocalEmbeddingModel().value());
  std::shared_ptr<ChatModel> cached(WithCache(model, cache, options).value());

  ASSERT_TRUE(cached->Complete(Ask("How do I reset my password?")).ok());
  absl::StatusOr<ChatResponse> similar = cached->Complete(Ask("How can I reset my password?"));
  ASSERT_TRUE(similar.ok()) << similar.status();
  EXPECT_TRUE(similar->cache_hit);
  EXPECT_GT(similar->cache_similarity, 0.85);
  EXPECT_LT(similar->cache_similarity, 1.0);
  EXPECT_EQ(similar->text, "Use Settings > Security.");
  EXPECT_EQ(server.requests(), 1);
  // Exact repeats are exact hits.
  EXPECT_EQ(cached->Complete(Ask("How do I reset my password?"))->cache_similarity, 1.0);
  // Similar words, another question: the guard refuses, the provider answers.
  EXPECT_FALSE(cached->Complete(Ask("How do I not reset my password?"))->cache_hit);
  EXPECT_GE(cache->stats().guard_rejections, 1);
  // Another system prompt, another tenant: other scopes.
  EXPECT_FALSE(cached->Complete(Ask("How can I reset my password?", "Be detailed."))->cache_hit);
  CallContext other;
  other.tags = {{"tenant", "globex"}};
  EXPECT_FALSE(cached->Complete(Ask("How can I reset my password?"), other)->cache_hit);
  // A question that is not similar enough.
  EXPECT_FALSE(cached->Complete(Ask("What are your opening hours?"))->cache_hit);
  ResponseCacheStats stats = cache->stats();
  EXPECT_EQ(stats.semantic_hits, 1);
  EXPECT_EQ(server.requests(), 5);
  // Streamed, a semantic hit replays the entry.
  std::string streamed;
  absl::StatusOr<ChatResponse> replay =
      cached->Stream(Ask("How can I reset my password?"), [&](const StreamEvent& e) {
        streamed += e.text;
        return true;
      });
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->cache_hit);
  EXPECT_EQ(streamed, "Use Settings > Security.");
  EXPECT_EQ(server.requests(), 5);
  // Evicted entries leave the vector index too: after Clear nothing similar is found.
  cache->Clear();
  EXPECT_FALSE(cached->Complete(Ask("How can I reset my password?"))->cache_hit);
}

// More entries than one batch: the first ones live in the HNSW collection, the newest in the
// exact pending list; both are found, and evicted entries are found no more.
TEST(SemanticCache, ManyEntriesAreFoundWhereverTheirVectorsAre) {
  TestServer server([](const ServerRequest&) { return Reply(200, kAnswer); });
  OpenAIOptions client;
  client.base_url = server.Url("/v1");
  client.api_key = "sk-test";
  client.model = "gpt-4o-mini";
  std::shared_ptr<ChatModel> model(*NewOpenAIClient(client));
  auto cache = ResponseCache::Create({.max_entries = 500}).value();
  WithCacheOptions options;
  options.semantic.embedder = std::make_shared<::llmkit::testing::PreparedEmbedder>();
  options.semantic.threshold = 0.9;
  std::shared_ptr<ChatModel> cached(WithCache(model, cache, options).value());
  constexpr int kEntries = 600;  // Many batches of 64, and past max_entries.
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(cached->Complete(Ask("question " + std::to_string(i))).ok());
  }
  EXPECT_EQ(server.requests(), kEntries);
  // Evicted (the oldest 100), in the collection, and still pending.
  for (int i : {0, 50, 99}) {
    EXPECT_FALSE(cached->Complete(Ask("question " + std::to_string(i) + ", again"))->cache_hit)
        << i;
  }
  for (int i : {103, 300, 511, 512, 590, 599}) {  // 100-102 went for the 3 misses above.
    absl::StatusOr<ChatResponse> r =
        cached->Complete(Ask("question " + std::to_string(i) + ", again"));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->cache_hit) << i;
    EXPECT_GT(r->cache_similarity, 0.95) << i;
    EXPECT_LT(r->cache_similarity, 1.0) << i;
  }
}

}  // namespace
}  // namespace llmkit
