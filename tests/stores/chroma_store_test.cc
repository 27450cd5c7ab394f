// ChromaStore against a real Chroma 1.x server (npm chromadb's `chroma run`): round trips with
// replacing upserts and metadata beyond scalars, the local store's results for every filter
// Chroma can express, kUnimplemented for what it cannot, batches above max_batch_size, errors.

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "llmkit/bm25.h"
#include "llmkit/chroma.h"
#include "llmkit/index.h"
#include "llmkit/retriever.h"
#include "stores/peer_server.h"
#include "stores/rag_on_store.h"
#include "stores/random_documents.h"

namespace llmkit {
namespace {

class ChromaStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::PeerServer(testing::PeerServer::Chroma()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!server_->ok()) GTEST_SKIP() << server_->why();
  }

  std::unique_ptr<ChromaStore> Open(int dim, Metric metric = Metric::kCosine,
                                    const std::string& suffix = "") {
    ChromaStoreOptions options;
    options.url = server_->HttpUrl();
    options.collection =
        std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + suffix;
    options.dim = dim;
    options.metric = metric;
    absl::StatusOr<std::unique_ptr<ChromaStore>> store = ChromaStore::Connect(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  static testing::PeerServer* server_;
};

testing::PeerServer* ChromaStoreTest::server_ = nullptr;

using testing::RandomDocuments;

TEST_F(ChromaStoreTest, RoundTripsWithReplacingUpserts) {
  auto store = Open(4);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->kind(), "chroma");
  EXPECT_GT(store->max_batch_size(), 0);
  Json nested =
      Json::Parse(R"({"n": 1, "list": [1, "two"], "obj": {"a": null}, "none": null})").value();
  std::vector<Document> docs = {
      {.id = "a", .text = "first", .metadata = nested, .vector = {1, 0, 0, 0}},
      {.id = "b",
       .text = "second",
       .metadata = Json::Parse(R"({"k": "v", "m": 2})").value(),
       .vector = {0, 2, 0, 0}},
      {.id = "c", .text = "ünïcode ✓", .vector = {0, 0, 3, 4}},
  };
  ASSERT_TRUE(store->Add(docs).ok());
  EXPECT_EQ(*store->Count(), 3u);
  absl::Status again = store->Add({docs[0]});
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;

  GetOptions with_vectors;
  with_vectors.include_vectors = true;
  auto got = store->Get({"c", "missing", "a"}, with_vectors);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].text, "ünïcode ✓");
  EXPECT_EQ((*got)[0].vector, (std::vector<float>{0, 0, 0.6f, 0.8f}));
  EXPECT_EQ((*got)[1].metadata, nested);  // Lists, objects and nulls kept whole.

  // Upsert replaces: the dropped key "m" is gone, not merged (Chroma's own upsert merges).
  ASSERT_TRUE(store
                  ->Upsert({{.id = "b",
                             .text = "replaced",
                             .metadata = Json::Parse(R"({"k": "w"})").value(),
                             .vector = {0, 0, 0, 1}}})
                  .ok());
  auto b = store->Get({"b"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].text, "replaced");
  EXPECT_EQ((*b)[0].metadata, Json::Parse(R"({"k": "w"})").value());
  // From nested (with llmkit:json) to scalars only: the JSON copy goes too.
  ASSERT_TRUE(
      store
          ->Upsert(
              {{.id = "a", .metadata = Json::Parse(R"({"n": 2})").value(), .vector = {1, 0, 0, 0}}})
          .ok());
  EXPECT_EQ((*store->Get({"a"}))[0].metadata, Json::Parse(R"({"n": 2})").value());

  EXPECT_EQ(*store->ListIds(), (std::vector<std::string>{"a", "b", "c"}));
  auto hits = store->Search({0, 0, 0, 1}, {.k = 2});
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].id, "b");
  EXPECT_NEAR((*hits)[0].score, 1.0, 1e-5);
  EXPECT_EQ((*hits)[1].id, "c");
  EXPECT_NEAR((*hits)[1].score, 0.8, 1e-5);

  EXPECT_EQ(*store->Delete({"a", "missing"}), 1u);
  EXPECT_EQ(*store->DeleteWhere(Json::Parse(R"({"k": "w"})").value()), 1u);
  EXPECT_EQ(*store->Count(), 1u);

  EXPECT_EQ(store
                ->Add({{.id = "x",
                        .metadata = Json::Parse(R"({"llmkit:json": "1"})").value(),
                        .vector = {1, 0, 0, 0}}})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Add({{.id = "z", .vector = {1, 0, 0}}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*store->Count(), 1u);
}

// Every filter Chroma can express gives the local store's hits (Chroma's HNSW over a few
// hundred vectors with ef_search 100 is exact) and the same matching documents.
TEST_F(ChromaStoreTest, FiltersAndScoresMatchTheLocalStore) {
  constexpr int kDim = 16;
  for (Metric metric : {Metric::kCosine, Metric::kInnerProduct, Metric::kL2}) {
    auto store = Open(kDim, metric, std::string(MetricName(metric)));
    ASSERT_NE(store, nullptr);
    auto local = Collection::Create({.dim = kDim, .metric = metric});
    std::vector<Document> docs = RandomDocuments(300, kDim, 7);
    ASSERT_TRUE(store->Add(docs).ok());
    ASSERT_TRUE((*local)->Add(docs).ok());
    const char* filters[] = {
        "null",
        R"({"kind": "beta"})",
        R"({"kind": {"$ne": "beta"}})",
        R"({"year": {"$gt": 2010}})",
        R"({"year": {"$gte": 2010.0}})",
        R"({"year": {"$lt": 1995}, "kind": {"$in": ["alpha", "gamma"]}})",
        R"({"score": {"$lte": 0.5}})",
        R"({"kind": {"$nin": ["alpha", "beta"]}})",
        R"({"flag": true})",
        R"({"flag": {"$ne": true}})",
        R"({"mixed": 7})",
        R"({"mixed": "7"})",
        R"({"mixed": {"$in": [7, "7"]}})",
        R"({"mixed": {"$nin": [7, "x"]}})",
        R"({"tags": "x"})",
        R"({"kind": {"$in": []}})",
        R"({"$not": {"kind": {"$in": ["alpha", "beta"]}}})",
        R"({"$not": {"$or": [{"kind": "alpha"}, {"flag": false}]}})",
        R"({"$or": [{"flag": false}, {"$and": [{"year": 2000}, {"kind": "Beta"}]}]})",
        R"({"$not": {"$not": {"year": {"$gt": 2015}}}})",
    };
    std::mt19937_64 rng(11);
    std::normal_distribution<float> normal;
    for (const char* text : filters) {
      Json where = Json::Parse(text).value();
      std::vector<float> query;
      for (int j = 0; j < kDim; ++j) query.push_back(normal(rng));
      auto want = (*local)->Search(query, {.k = 10, .where = where, .exact = true});
      auto got = store->Search(query, {.k = 10, .where = where});
      ASSERT_TRUE(want.ok() && got.ok()) << text << " " << got.status();
      ASSERT_EQ(got->size(), want->size()) << text;
      for (size_t i = 0; i < want->size(); ++i) {
        EXPECT_EQ((*got)[i].id, (*want)[i].id) << text << " rank " << i;
        EXPECT_NEAR((*got)[i].score, (*want)[i].score, 1e-4 * (1 + std::abs((*want)[i].score)))
            << text;
      }
      auto matches = store->MatchingIds(where);
      ASSERT_TRUE(matches.ok()) << text << " " << matches.status();
      auto local_matches = (*local)->MatchingIds(where);
      for (const Document& d : docs) {
        ASSERT_EQ((*matches)(d.id), (*local_matches)(d.id)) << text << " " << d.id;
      }
    }
    // What Chroma cannot express is refused, never approximated.
    for (const char* text :
         {R"({"kind": {"$gt": "beta"}})", R"({"$not": {"year": {"$gt": 2000}}})"}) {
      EXPECT_EQ(store->Search(std::vector<float>(kDim, 1), {.where = Json::Parse(text).value()})
                    .status()
                    .code(),
                absl::StatusCode::kUnimplemented)
          << text;
    }
    EXPECT_EQ(store->Search(std::vector<float>(kDim, 1), {.exact = true}).status().code(),
              absl::StatusCode::kUnimplemented);
    // One request for a batch of queries.
    std::vector<float> two(2 * kDim, 0.5f);
    auto batch = store->SearchBatch(two, {.k = 3});
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ(batch->size(), 2u);
  }
}

TEST_F(ChromaStoreTest, WritesAboveTheServersBatchLimit) {
  auto store = Open(2);
  ASSERT_NE(store, nullptr);
  const int n = store->max_batch_size() + 100;
  std::vector<Document> docs = RandomDocuments(n, 2, 5);
  ASSERT_TRUE(store->Add(docs).ok());
  EXPECT_EQ(*store->Count(), static_cast<size_t>(n));
  EXPECT_EQ(store->ListIds()->size(), static_cast<size_t>(n));
}

TEST_F(ChromaStoreTest, RetrieverOverChromaEqualsLocal) {
  constexpr int kDim = 8;
  auto store = Open(kDim);
  ASSERT_NE(store, nullptr);
  auto local = Collection::Create({.dim = kDim});
  std::vector<Document> docs = RandomDocuments(300, kDim, 9);
  const char* words[] = {"solar", "wind", "hydro", "coal", "nuclear", "tidal"};
  std::vector<std::string> ids, texts;
  for (size_t i = 0; i < docs.size(); ++i) {
    docs[i].text = std::string(words[i % 6]) + " power plant " + words[(i * 5 + i / 6) % 6];
    ids.push_back(docs[i].id);
    texts.push_back(docs[i].text);
  }
  auto bm25 = Bm25Index::Create();
  ASSERT_TRUE(bm25.ok() && (*bm25)->Add(ids, texts).ok());
  ASSERT_TRUE(store->Add(docs).ok());
  ASSERT_TRUE((*local)->Add(docs).ok());
  RetrieverOptions options{.mode = RetrievalMode::kHybrid, .alpha = 0.4};
  auto remote = Retriever::Create(store.get(), bm25->get(), options);
  auto near = Retriever::Create(local->get(), bm25->get(), options);
  std::vector<float> query(kDim, 0.5f);
  RetrievalQuery q{.text = "wind power",
                   .vector = query,
                   .k = 8,
                   .where = Json::Parse(R"({"year": {"$gte": 2000}})").value()};
  auto want = near->Search(q);
  auto got = remote->Search(q);
  ASSERT_TRUE(want.ok() && got.ok()) << got.status();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < want->size(); ++i) EXPECT_EQ((*got)[i].id, (*want)[i].id);
}

TEST_F(ChromaStoreTest, Errors) {
  ASSERT_NE(Open(3, Metric::kCosine, "Space"), nullptr);
  ChromaStoreOptions options;
  options.url = server_->HttpUrl();
  options.collection = "ErrorsSpace";
  options.metric = Metric::kL2;
  options.dim = 3;
  EXPECT_EQ(ChromaStore::Connect(options).status().code(), absl::StatusCode::kFailedPrecondition);
  options.metric = Metric::kCosine;
  options.dim = 5;
  ASSERT_TRUE(ChromaStore::Connect(options).ok());  // Empty: no dimension yet.
  options.collection = "x";
  EXPECT_EQ(ChromaStore::Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.collection = "NoSuchCollection";
  options.create = false;
  EXPECT_EQ(ChromaStore::Connect(options).status().code(), absl::StatusCode::kNotFound);
  options.url = "http://127.0.0.1:1";
  options.token = "tok-secret-123";
  options.max_retries = 0;
  auto refused = ChromaStore::Connect(options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_EQ(refused.status().ToString().find("tok-secret"), std::string::npos);
  CallContext late = CallContext::WithTimeout(std::chrono::nanoseconds(0));
  auto store = Open(2);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Count(late).status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ChromaStoreTest, RagPipelineOnChroma) {
  testing::CheckRagPipelineOnStore([&]() -> std::shared_ptr<VectorStore> {
    ChromaStoreOptions options;
    options.url = server_->HttpUrl();
    options.collection = "rag-chunks";
    options.dim = 256;
    auto store = ChromaStore::Connect(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::shared_ptr<VectorStore>(*std::move(store)) : nullptr;
  });
}

}  // namespace
}  // namespace llmkit
