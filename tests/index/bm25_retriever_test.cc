// Bm25Index (analyzer, Porter stemmer, Lucene BM25 arithmetic, incremental writes equal a fresh
// build) and Retriever (fusion arithmetic, filters on both sides, MMR, errors).

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/bm25.h"
#include "llmkit/index.h"
#include "llmkit/retriever.h"

namespace llmkit {
namespace {

using Strings = std::vector<std::string>;

TEST(Bm25Analyzer, UnicodeWordsLowercaseStopWordsStemming) {
  auto plain_owner = Bm25Index::Create({.english_stop_words = false, .stemming = false}).value();
  Bm25Index& plain = *plain_owner;
  EXPECT_EQ(plain.Analyze("The ÉCOLE of Straße, x_y 42nd—naïvé ΑΘΗΝΑ!"),
            (Strings{"the", "école", "of", "straße", "x_y", "42nd", "naïvé", "αθηνα"}));
  EXPECT_EQ(plain.Analyze("  \t\n"), Strings{});
  EXPECT_EQ(plain.Analyze("日本語 テキスト"), (Strings{"日本語", "テキスト"}));
  auto english_owner = Bm25Index::Create().value();
  Bm25Index& english = *english_owner;  // Defaults: stop words and stemming.
  EXPECT_EQ(english.Analyze("The connections of the connected networks are connecting"),
            (Strings{"connect", "connect", "network", "connect"}));
  // Invalid UTF-8 is replaced when analyzing, rejected when indexing or searching.
  EXPECT_EQ(plain.Analyze("ab\xff"
                          "cd"),
            (Strings{"ab", "cd"}));
  Strings ids = {"x"}, texts = {"bad \xc3"};
  EXPECT_EQ(english.Add(ids, texts).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(english.Search("\xff").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PorterStemmer, ReferenceExamples) {
  const std::map<std::string, std::string> cases = {{"caresses", "caress"},
                                                    {"ponies", "poni"},
                                                    {"ties", "ti"},
                                                    {"caress", "caress"},
                                                    {"cats", "cat"},
                                                    {"feed", "feed"},
                                                    {"agreed", "agre"},
                                                    {"plastered", "plaster"},
                                                    {"bled", "bled"},
                                                    {"motoring", "motor"},
                                                    {"sing", "sing"},
                                                    {"hopping", "hop"},
                                                    {"falling", "fall"},
                                                    {"hissing", "hiss"},
                                                    {"fizzed", "fizz"},
                                                    {"failing", "fail"},
                                                    {"filing", "file"},
                                                    {"happy", "happi"},
                                                    {"sky", "sky"},
                                                    {"relational", "relat"},
                                                    {"conditional", "condit"},
                                                    {"rational", "ration"},
                                                    {"generalizations", "gener"},
                                                    {"oscillators", "oscil"},
                                                    {"connection", "connect"},
                                                    {"is", "is"},
                                                    {"a", "a"},
                                                    {"controlling", "control"},
                                                    {"roll", "roll"},
                                                    {"electrical", "electr"}};
  for (const auto& [word, stem] : cases) EXPECT_EQ(internal::PorterStem(word), stem) << word;
  EXPECT_EQ(internal::PorterStem("Ünïcode"), "Ünïcode");  // Non-ASCII words stay.
}

// Lucene BM25 computed independently for a small corpus.
TEST(Bm25Index, ScoresFollowTheFormula) {
  Strings ids = {"d1", "d2", "d3", "d4"};
  Strings texts = {"apple banana apple", "banana cherry", "cherry cherry cherry date", "elder"};
  auto bm25_owner = Bm25Index::Create({.english_stop_words = false, .stemming = false}).value();
  Bm25Index& bm25 = *bm25_owner;
  ASSERT_TRUE(bm25.Add(ids, texts).ok());
  auto hits = bm25.Search("apple cherry", {.k = 10});
  ASSERT_TRUE(hits.ok());
  const double n = 4, avg = (3 + 2 + 4 + 1) / 4.0, k1 = 1.2, b = 0.75;
  auto term = [&](double df, double tf, double len) {
    double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
    return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg));
  };
  std::map<std::string, double> expected = {
      {"d1", term(1, 2, 3)}, {"d2", term(2, 1, 2)}, {"d3", term(2, 3, 4)}};
  ASSERT_EQ(hits->size(), 3u);
  for (const Bm25Hit& hit : *hits) EXPECT_NEAR(hit.score, expected[hit.id], 1e-5) << hit.id;
  EXPECT_GE((*hits)[0].score, (*hits)[1].score);
  // A repeated query term counts twice.
  auto twice = bm25.Search("apple apple");
  ASSERT_TRUE(twice.ok());
  EXPECT_NEAR((*twice)[0].score, 2 * expected["d1"], 1e-5);
  // No query term known: no hits. k limits.
  EXPECT_TRUE(bm25.Search("zebra")->empty());
  EXPECT_EQ(bm25.Search("banana cherry", {.k = 1})->size(), 1u);
  EXPECT_EQ(bm25.Search("x", {.k = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  // Filter.
  auto filtered =
      bm25.Search("cherry", {.k = 10, .filter = [](std::string_view id) { return id != "d3"; }});
  ASSERT_EQ(filtered->size(), 1u);
  EXPECT_EQ((*filtered)[0].id, "d2");
  EXPECT_EQ(bm25.Add(ids, texts).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Bm25Index::Create({.k1 = -1}).status().code(), absl::StatusCode::kInvalidArgument);
}

// Deletes and upserts leave exactly the scores of an index built from the survivors.
TEST(Bm25Index, IncrementalWritesEqualAFreshBuild) {
  Strings ids, texts;
  for (int i = 0; i < 400; ++i) {
    ids.push_back("d" + std::to_string(i));
    std::string text;
    for (int w = 0; w < 5 + i % 17; ++w) text += "w" + std::to_string((i * 7 + w * 13) % 50) + " ";
    texts.push_back(text);
  }
  auto incremental_owner = Bm25Index::Create().value();
  Bm25Index& incremental = *incremental_owner;
  ASSERT_TRUE(incremental.Add(ids, texts).ok());
  Strings gone;
  for (int i = 0; i < 400; i += 3) gone.push_back(ids[i]);
  EXPECT_EQ(incremental.Delete(gone), gone.size());  // A third: compaction runs too.
  Strings changed_ids = {"d1", "d2"}, changed_texts = {"w1 w1 w1", "w2 w3"};
  ASSERT_TRUE(incremental.Upsert(changed_ids, changed_texts).ok());

  auto fresh_owner = Bm25Index::Create().value();
  Bm25Index& fresh = *fresh_owner;
  Strings keep_ids, keep_texts;
  for (int i = 0; i < 400; ++i) {
    if (i % 3 == 0 || i == 1 || i == 2) continue;
    keep_ids.push_back(ids[i]);
    keep_texts.push_back(texts[i]);
  }
  keep_ids.insert(keep_ids.end(), changed_ids.begin(), changed_ids.end());
  keep_texts.insert(keep_texts.end(), changed_texts.begin(), changed_texts.end());
  ASSERT_TRUE(fresh.Add(keep_ids, keep_texts).ok());
  EXPECT_EQ(incremental.Size(), fresh.Size());
  for (const char* query : {"w1", "w2 w3", "w7 w20 w33", "w49 w0"}) {
    auto a = incremental.Search(query, {.k = 400});
    auto b = fresh.Search(query, {.k = 400});
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), b->size()) << query;
    std::map<std::string, float> scores;
    for (const Bm25Hit& h : *b) scores[h.id] = h.score;
    for (const Bm25Hit& h : *a) {
      ASSERT_TRUE(scores.count(h.id)) << h.id;
      EXPECT_NEAR(h.score, scores[h.id], 1e-5) << query << " " << h.id;
    }
  }
}

// A batch big enough to be analyzed by several threads gives exactly the index that small
// batches (one thread each) give: same hits, same order, same scores.
TEST(Bm25Index, LargeBatchEqualsSmallBatches) {
  Strings ids, texts;
  for (int i = 0; i < 9000; ++i) {
    ids.push_back("d" + std::to_string(i));
    std::string text;
    for (int w = 0; w < 3 + i % 23; ++w) {
      text += "W" + std::to_string((i * 31 + w * 17) % 700) + (w % 5 == 0 ? " running " : " ");
    }
    texts.push_back(text);
  }
  auto whole_owner = Bm25Index::Create().value();
  Bm25Index& whole = *whole_owner;
  auto pieces_owner = Bm25Index::Create().value();
  Bm25Index& pieces = *pieces_owner;
  ASSERT_TRUE(whole.Add(ids, texts).ok());
  for (size_t at = 0; at < ids.size(); at += 100) {
    Strings some_ids(ids.begin() + at, ids.begin() + at + 100);
    Strings some_texts(texts.begin() + at, texts.begin() + at + 100);
    ASSERT_TRUE(pieces.Add(some_ids, some_texts).ok());
  }
  for (const char* query : {"w1", "w5 w77", "w42 runs w699", "w300"}) {
    auto a = whole.Search(query, {.k = 50});
    auto b = pieces.Search(query, {.k = 50});
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), b->size()) << query;
    ASSERT_FALSE(a->empty()) << query;
    for (size_t i = 0; i < a->size(); ++i) {
      EXPECT_EQ((*a)[i].id, (*b)[i].id) << query << " #" << i;
      EXPECT_EQ((*a)[i].score, (*b)[i].score) << query << " #" << i;
    }
  }
}

struct Fixture {
  std::unique_ptr<Collection> col;
  std::unique_ptr<Bm25Index> bm25 =
      Bm25Index::Create({.english_stop_words = false, .stemming = false}).value();
};

// Four documents on a line in 2-D, with texts chosen so the two sides disagree.
Fixture Make() {
  Fixture f;
  f.col = Collection::Create({.dim = 2, .metric = Metric::kInnerProduct}).value();
  std::vector<Document> docs = {
      {"a", "red apple", Json::Parse(R"({"lang": "en"})").value(), {1.0f, 0.0f}},
      {"b", "green apple apple", Json::Parse(R"({"lang": "fr"})").value(), {0.8f, 0.0f}},
      {"c", "blue sky", Json::Parse(R"({"lang": "en"})").value(), {0.5f, 0.0f}},
      {"d", "apple", Json::Parse(R"({"lang": "en"})").value(), {0.1f, 0.0f}}};
  EXPECT_TRUE(f.col->Add(docs).ok());
  Strings ids = {"a", "b", "c", "d"},
          texts = {"red apple", "green apple apple", "blue sky", "apple"};
  EXPECT_TRUE(f.bm25->Add(ids, texts).ok());
  return f;
}

TEST(Retriever, RelativeScoreFusionArithmetic) {
  Fixture f = Make();
  std::vector<float> q = {1, 0};
  auto lexical = f.bm25->Search("apple", {.k = 10}).value();  // b, then d and a.
  std::map<std::string, double> lex;
  double lo = 1e9, hi = -1e9;
  for (const Bm25Hit& h : lexical) {
    lex[h.id] = h.score;
    lo = std::min<double>(lo, h.score);
    hi = std::max<double>(hi, h.score);
  }
  // Vector scores 1, .8, .5, .1 normalize to 1, 7/9, 4/9, 0.
  std::map<std::string, double> vec = {{"a", 1}, {"b", 7.0 / 9}, {"c", 4.0 / 9}, {"d", 0}};
  for (double alpha : {0.5, 0.8}) {
    Retriever r = Retriever::Create(f.col.get(), f.bm25.get(), {.alpha = alpha}).value();
    auto hits = r.Search({.text = "apple", .vector = q, .k = 4});
    ASSERT_TRUE(hits.ok()) << hits.status();
    ASSERT_EQ(hits->size(), 4u);
    for (const RetrievedHit& h : *hits) {
      double l = lex.count(h.id) ? (lex[h.id] - lo) / (hi - lo) : 0;
      EXPECT_NEAR(h.score, alpha * vec[h.id] + (1 - alpha) * l, 1e-6) << h.id;
      EXPECT_FALSE(h.text.empty());
    }
    for (size_t i = 1; i < hits->size(); ++i) EXPECT_GE((*hits)[i - 1].score, (*hits)[i].score);
  }
}

TEST(Retriever, ReciprocalRankFusionArithmetic) {
  Fixture f = Make();
  std::vector<float> q = {1, 0};
  Retriever r =
      Retriever::Create(f.col.get(), f.bm25.get(),
                        {.fusion = Fusion::kReciprocalRank, .rrf_k = 60, .vector_weight = 2})
          .value();
  auto hits = r.Search({.text = "apple", .vector = q, .k = 4});
  ASSERT_TRUE(hits.ok());
  for (const RetrievedHit& h : *hits) {
    double expected = (h.vector_rank ? 2.0 / (60 + h.vector_rank) : 0) +
                      (h.lexical_rank ? 1.0 / (60 + h.lexical_rank) : 0);
    EXPECT_NEAR(h.score, expected, 1e-12) << h.id;
  }
  EXPECT_EQ((*hits)[0].id, "a");  // Vector rank 1 (weight 2), lexical rank 3.
  EXPECT_EQ((*hits)[0].vector_rank, 1);
}

TEST(Retriever, FiltersApplyToBothSides) {
  Fixture f = Make();
  std::vector<float> q = {1, 0};
  Json en = Json::Parse(R"({"lang": "en"})").value();
  for (RetrievalMode mode :
       {RetrievalMode::kVector, RetrievalMode::kLexical, RetrievalMode::kHybrid}) {
    Retriever r = Retriever::Create(f.col.get(), f.bm25.get(), {.mode = mode}).value();
    auto hits = r.Search({.text = "apple", .vector = q, .k = 10, .where = en});
    ASSERT_TRUE(hits.ok()) << hits.status();
    for (const RetrievedHit& h : *hits) {
      EXPECT_NE(h.id, "b") << int(mode);  // "b" is fr: best lexical hit, filtered out.
      EXPECT_EQ(h.metadata.Find("lang")->as_string(), "en");
    }
    EXPECT_FALSE(hits->empty());
  }
  Retriever lexical_only =
      Retriever::Create(nullptr, f.bm25.get(), {.mode = RetrievalMode::kLexical}).value();
  EXPECT_EQ(lexical_only.Search({.text = "apple", .where = en}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto plain = lexical_only.Search({.text = "apple", .k = 2});
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->size(), 2u);
  auto direct = f.bm25->Search("apple", {.k = 2}).value();
  EXPECT_EQ((*plain)[0].id, direct[0].id);
  EXPECT_EQ((*plain)[1].id, direct[1].id);
  EXPECT_TRUE(plain->at(0).text.empty());  // No collection: ids and scores only.
}

TEST(Retriever, MmrPrefersDiverseResults) {
  auto col = Collection::Create({.dim = 2}).value();
  std::vector<Document> docs = {{"x1", "", Json(), {1.0f, 0.0f}},
                                {"x2", "", Json(), {0.999f, 0.01f}},
                                {"y", "", Json(), {0.7f, 0.7f}}};
  ASSERT_TRUE(col->Add(docs).ok());
  std::vector<float> q = {1, 0};
  Retriever plain = Retriever::Create(col.get(), nullptr, {.mode = RetrievalMode::kVector}).value();
  auto a = plain.Search({.vector = q, .k = 2});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)[1].id, "x2");
  Retriever mmr =
      Retriever::Create(col.get(), nullptr,
                        {.mode = RetrievalMode::kVector, .mmr = true, .mmr_lambda = 0.3})
          .value();
  auto b = mmr.Search({.vector = q, .k = 2});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].id, "x1");
  EXPECT_EQ((*b)[1].id, "y");  // The near-duplicate x2 loses to the different y.
  Retriever only_relevance =
      Retriever::Create(col.get(), nullptr,
                        {.mode = RetrievalMode::kVector, .mmr = true, .mmr_lambda = 1})
          .value();
  EXPECT_EQ(only_relevance.Search({.vector = q, .k = 2})->at(1).id, "x2");
}

TEST(Retriever, Errors) {
  Fixture f = Make();
  std::vector<float> q = {1, 0};
  Retriever hybrid = Retriever::Create(f.col.get(), f.bm25.get()).value();
  EXPECT_EQ(hybrid.Search({.text = "apple"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hybrid.Search({.vector = q}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hybrid.Search({.text = "a", .vector = q, .k = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Options and the indexes the mode needs are checked when the retriever is built.
  auto bad = Retriever::Create(f.col.get(), f.bm25.get(), {.alpha = 1.5});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("alpha"));
  for (const RetrieverOptions& o :
       {RetrieverOptions{.rrf_k = 0}, RetrieverOptions{.vector_weight = -1},
        RetrieverOptions{.candidates = 0}, RetrieverOptions{.mmr_lambda = 2}}) {
    EXPECT_EQ(Retriever::Create(f.col.get(), f.bm25.get(), o).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  auto no_bm25 = Retriever::Create(f.col.get(), nullptr);
  EXPECT_EQ(no_bm25.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_bm25.status().message(), ::testing::HasSubstr("BM25"));
  EXPECT_EQ(Retriever::Create(nullptr, f.bm25.get(), {.mode = RetrievalMode::kLexical, .mmr = true})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  auto k1 = Bm25Index::Create({.k1 = std::nan("")});
  EXPECT_THAT(k1.status().message(), ::testing::HasSubstr("k1"));
  EXPECT_THAT(Bm25Index::Create({.b = 1.5}).status().message(),
              ::testing::HasSubstr("Bm25Options::b"));
}

}  // namespace
}  // namespace llmkit
