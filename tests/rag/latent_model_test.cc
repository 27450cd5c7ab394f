// The RAG pipeline's latent semantic model (src/rag/latent_model.h): documents found through
// words that co-occur with the question's (on the exact path, up to 512 documents, and the
// randomized one past it), the same model for the same corpus, folding in and deleting, the
// stale rule, save and open, and degenerate input.

#include "rag/latent_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "llmkit/bm25.h"

namespace llmkit::internal {
namespace {

namespace fs = std::filesystem;

// 20 topics of 25 words each ("automobile" is the first topic's first word), each document 12
// words of its topic (document i is of topic i % 20) drawn at random: the corpus spans more
// than the model's 256 dimensions, and words co-occur within a topic only. A topic's document
// lacks "automobile" 61% of the time.
constexpr int kTopics = 20;

std::string Word(int topic, uint32_t index) {
  if (topic == 0 && index == 0) return "automobile";
  return "t" + std::to_string(topic) + "w" + std::to_string(index);
}

std::vector<std::string> Texts(int n) {
  std::mt19937 random(7);  // The engine's sequence is fixed by the standard.
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string text;
    for (int w = 0; w < 12; ++w) text += Word(i % kTopics, random() % 25) + " ";
    out.push_back(text);
  }
  return out;
}

struct Corpus {
  std::vector<std::string> ids;
  std::vector<TermCounts> terms;
  std::vector<std::string> texts;
};

Corpus Make(int n) {
  auto analyzer = Bm25Index::Create().value();
  Corpus c;
  c.texts = Texts(n);
  for (int i = 0; i < n; ++i) {
    c.ids.push_back("d" + std::to_string(i));
    c.terms.push_back(CountTerms(analyzer->Analyze(c.texts[i])));
  }
  return c;
}

std::vector<std::string> Question(std::string_view text) {
  return Bm25Index::Create().value()->Analyze(text);
}

// For "automobile": every document that says it scores above every document of another
// topic, and of the first topic's documents that never say it at least 40% do too (TF-IDF
// cosine would give all of these 0; the exact path, keeping half the corpus's rank, lifts 56%
// of them here, the randomized one most).
void ExpectTopicFound(const LatentModel& model, const Corpus& c) {
  const int n = static_cast<int>(c.ids.size());
  auto hits = model.Search(Question("automobile"), n);
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), static_cast<size_t>(n));
  double best_other = -1;
  std::vector<double> saying, lacking;
  for (const SearchHit& hit : *hits) {
    const int doc = std::stoi(hit.id.substr(1));
    if (c.texts[doc].find("automobile") != std::string::npos) {
      saying.push_back(hit.score);
    } else if (doc % kTopics == 0) {
      lacking.push_back(hit.score);
    } else {
      best_other = std::max(best_other, static_cast<double>(hit.score));
    }
  }
  ASSERT_FALSE(saying.empty());
  for (double score : saying) EXPECT_GT(score, best_other + 1e-4);
  size_t above = 0;
  for (double score : lacking) above += score > best_other + 1e-4;
  EXPECT_GE(above * 10, lacking.size() * 4) << above << " of " << lacking.size();
}

TEST(LatentModel, FindsDocumentsThroughWordsThatCoOccurExactly) {
  Corpus c = Make(500);  // Up to 512 documents: the exact SVD.
  auto model = LatentModel::Fit(c.ids, c.terms);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_NE(*model, nullptr);
  EXPECT_EQ((*model)->Documents(), 500u);
  ExpectTopicFound(**model, c);
}

TEST(LatentModel, FindsThemPastTheExactPathAndGivesTheSameModelEachTime) {
  Corpus c = Make(900);  // Over 512 documents: the randomized SVD.
  auto a = LatentModel::Fit(c.ids, c.terms).value();
  auto b = LatentModel::Fit(c.ids, c.terms).value();
  ASSERT_NE(a, nullptr);
  ExpectTopicFound(*a, c);
  auto x = a->Search(Question("bread oven"), 50).value();
  auto y = b->Search(Question("bread oven"), 50).value();
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].id, y[i].id);
    EXPECT_EQ(x[i].score, y[i].score);
  }
}

TEST(LatentModel, TooSmallACorpusGivesNoModel) {
  Corpus c = Make(2);
  auto none = LatentModel::Fit(c.ids, c.terms);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  auto empty = LatentModel::Fit({}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, nullptr);
  std::vector<std::string> ids = {"a"};
  EXPECT_FALSE(LatentModel::Fit(ids, {}).ok());  // Sizes differ.
}

TEST(LatentModel, FoldsInDeletesAndTurnsStale) {
  Corpus c = Make(400);
  auto model = LatentModel::Fit(c.ids, c.terms).value();
  ASSERT_NE(model, nullptr);
  EXPECT_FALSE(model->Stale());
  auto analyzer = Bm25Index::Create().value();
  std::vector<std::string> id = {"new"};
  std::string text;
  for (int w = 1; w <= 12; ++w) text += Word(0, static_cast<uint32_t>(w)) + " ";
  std::vector<TermCounts> terms = {CountTerms(analyzer->Analyze(text))};
  ASSERT_TRUE(model->Upsert(id, terms).ok());
  EXPECT_FALSE(model->Stale());  // 1 of 400.
  auto hits = model->Search(Question("automobile"), 11).value();
  bool found = false;
  for (const SearchHit& h : hits) found |= h.id == "new";
  EXPECT_TRUE(found) << "a folded-in document is found through the fitted terms";
  model->Delete(id);
  hits = model->Search(Question("automobile"), 401).value();
  for (const SearchHit& h : hits) EXPECT_NE(h.id, "new");
  // Nothing known of a document: it leaves the model (an older version must not stay).
  std::vector<std::string> d0 = {"d0"};
  std::vector<TermCounts> unknown = {CountTerms(analyzer->Analyze("zebra quokka"))};
  ASSERT_TRUE(model->Upsert(d0, unknown).ok());
  EXPECT_EQ(model->Documents(), 399u);
  EXPECT_FALSE(model->Stale());  // 3 changes.
  for (int i = 1; i <= 38; ++i) model->Delete({c.ids[static_cast<size_t>(i)]});
  EXPECT_TRUE(model->Stale());  // 41 changes of 400 fitted: more than a tenth.
  EXPECT_TRUE(model->Search(Question("zebra"), 5).value().empty());
}

TEST(LatentModel, SavedAndOpenedGivesTheSameResults) {
  char pattern[] = "/tmp/llmkit_latent_XXXXXX";
  const std::string dir = mkdtemp(pattern);
  Corpus c = Make(80);
  auto model = LatentModel::Fit(c.ids, c.terms).value();
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(model->Save(dir + "/terms.lkt", dir + "/documents").ok());
  auto opened = LatentModel::Open(dir + "/terms.lkt", dir + "/documents");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)->TermsDigest(), model->TermsDigest());
  EXPECT_EQ((*opened)->DocumentsState(), model->DocumentsState());
  EXPECT_FALSE((*opened)->Stale());
  for (const char* q : {"automobile", "bread oven", "wheel"}) {
    auto a = model->Search(Question(q), 20).value();
    auto b = (*opened)->Search(Question(q), 20).value();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].id, b[i].id);
      EXPECT_EQ(a[i].score, b[i].score);
    }
  }
  EXPECT_FALSE(LatentModel::Open(dir + "/none", dir + "/documents").ok());
  fs::remove_all(dir);
}

TEST(LatentText, CutsLongTextsOnACharacterBoundary) {
  std::string text(LatentModel::kMaxText - 1, 'a');
  text += "\xC3\xA9tude";  // "é" straddles the limit.
  EXPECT_EQ(LatentText(text).size(), LatentModel::kMaxText - 1);
  EXPECT_EQ(LatentText("short"), "short");
}

}  // namespace
}  // namespace llmkit::internal
