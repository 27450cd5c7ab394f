// PgVectorStore against a real PostgreSQL wire-protocol server with pgvector 0.8 (pglite-server):
// round trips, the same results as the local store's exact search for every filter operator,
// k rows from selective filters, injection attempts, existing tables, errors and deadlines.

#include <libpq-fe.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "llmkit/bm25.h"
#include "llmkit/index.h"
#include "llmkit/pgvector.h"
#include "llmkit/retriever.h"
#include "stores/peer_server.h"
#include "stores/rag_on_store.h"
#include "stores/random_documents.h"

namespace llmkit {
namespace {

class PgVectorStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::PeerServer(testing::PeerServer::Pglite()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!server_->ok()) GTEST_SKIP() << server_->why();
  }

  // A store over a fresh table named after the test.
  std::unique_ptr<PgVectorStore> Open(int dim, Metric metric = Metric::kCosine,
                                      const std::string& suffix = "") {
    PgVectorStoreOptions options;
    options.dsn = server_->PostgresUrl();
    options.table =
        std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + suffix;
    options.dim = dim;
    options.metric = metric;
    options.pool_size = 1;
    absl::StatusOr<std::unique_ptr<PgVectorStore>> store = PgVectorStore::Connect(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Runs SQL directly (libpq, blocking), as another program would.
  static std::string Sql(const std::string& sql) {
    // pglite-server serves one connection at a time: wait until the last one is closed.
    PGconn* conn = PQconnectdb(server_->PostgresUrl().c_str());
    for (int i = 0; i < 50 && PQstatus(conn) != CONNECTION_OK; ++i) {
      PQfinish(conn);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      conn = PQconnectdb(server_->PostgresUrl().c_str());
    }
    PGresult* r = PQexec(conn, sql.c_str());
    std::string out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    if (PQresultStatus(r) == PGRES_FATAL_ERROR) out = std::string("ERROR ") + PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
    return out;
  }

  static testing::PeerServer* server_;
};

testing::PeerServer* PgVectorStoreTest::server_ = nullptr;

using testing::RandomDocuments;

TEST_F(PgVectorStoreTest, RoundTripsDocuments) {
  auto store = Open(4);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->kind(), "pgvector");
  EXPECT_EQ(store->pgvector_version().substr(0, 3), "0.8");
  std::vector<Document> docs = {
      {.id = "a",
       .text = "first",
       .metadata = Json::Parse(R"({"n": 1, "s": "x"})").value(),
       .vector = {1, 0, 0, 0}},
      {.id = "b", .text = "second", .vector = {0, 2, 0, 0}},
      {.id = "c", .text = "ünïcode ✓", .vector = {0, 0, 3, 4}},
  };
  ASSERT_TRUE(store->Add(docs).ok());
  EXPECT_EQ(*store->Count(), 3u);
  absl::Status again = store->Add({docs[0]});
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_EQ(*store->Count(), 3u);

  GetOptions with_vectors;
  with_vectors.include_vectors = true;
  absl::StatusOr<std::vector<Document>> got = store->Get({"c", "missing", "a"}, with_vectors);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].id, "c");
  EXPECT_EQ((*got)[0].text, "ünïcode ✓");
  // Stored L2-normalized under cosine, as the local store does: (0, 0, 0.6, 0.8).
  EXPECT_EQ((*got)[0].vector, (std::vector<float>{0, 0, 0.6f, 0.8f}));
  EXPECT_EQ((*got)[1].metadata, docs[0].metadata);

  ASSERT_TRUE(store->Upsert({{.id = "b", .text = "replaced", .vector = {0, 0, 0, 1}}}).ok());
  EXPECT_EQ((*store->Get({"b"}))[0].text, "replaced");
  EXPECT_EQ(*store->ListIds(), (std::vector<std::string>{"a", "b", "c"}));
  absl::StatusOr<std::vector<SearchHit>> hits = store->Search({0, 0, 0, 1}, {.k = 2});
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].id, "b");
  EXPECT_NEAR((*hits)[0].score, 1.0, 1e-6);
  EXPECT_EQ((*hits)[1].id, "c");
  EXPECT_NEAR((*hits)[1].score, 0.8, 1e-6);

  EXPECT_EQ(*store->Delete({"a", "missing"}), 1u);
  EXPECT_EQ(*store->Count(), 2u);
  EXPECT_EQ(*store->DeleteWhere(Json::Parse(R"({"kind": "none"})").value()), 0u);

  // Bad input changes nothing: the whole batch is refused before anything is sent.
  std::vector<Document> bad = {{.id = "d", .vector = {1, 0, 0, 0}},
                               {.id = "e", .vector = {1, 0, 0}}};
  EXPECT_EQ(store->Add(bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Add({{.id = "z", .vector = {0, 0, 0, 0}}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Add({{.id = std::string("n\0ul", 4), .vector = {1, 0, 0, 0}}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store->Add({{.id = "x", .vector = {1, 0, 0, 0}}, {.id = "x", .vector = {1, 0, 0, 0}}}).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*store->Count(), 2u);
  EXPECT_EQ(store->Search({1, 0, 0, 0}, {.k = 1, .nprobe = 4}).status().code(),
            absl::StatusCode::kUnimplemented);
}

// Every filter operator gives the same hits, in the same order with the same scores, as the
// local store's exact search.
TEST_F(PgVectorStoreTest, FiltersAndScoresMatchTheLocalStore) {
  constexpr int kDim = 16;
  for (Metric metric : {Metric::kCosine, Metric::kInnerProduct, Metric::kL2}) {
    auto store = Open(kDim, metric, std::string(MetricName(metric)));
    ASSERT_NE(store, nullptr);
    auto local = Collection::Create({.dim = kDim, .metric = metric});
    std::vector<Document> docs = RandomDocuments(600, kDim, 7);
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
        R"({"kind": {"$gt": "beta"}})",
        R"({"kind": {"$lt": "alpha"}})",
        R"({"kind": {"$nin": ["alpha", "beta"]}})",
        R"({"flag": true})",
        R"({"flag": {"$ne": true}})",
        R"({"mixed": 7})",
        R"({"mixed": "7"})",
        R"({"mixed": {"$gt": 6}})",
        R"({"mixed": {"$in": [7, "x"]}})",
        R"({"$not": {"score": {"$gt": 1}}})",
        R"({"$or": [{"flag": false}, {"$and": [{"year": 2000}, {"kind": "Beta"}]}]})",
        R"({"$not": {"$or": [{"kind": "alpha"}, {"year": {"$lt": 2015}}]}})",
    };
    std::mt19937_64 rng(11);
    std::normal_distribution<float> normal;
    for (const char* text : filters) {
      Json where = Json::Parse(text).value();
      for (int q = 0; q < 3; ++q) {
        std::vector<float> query;
        for (int j = 0; j < kDim; ++j) query.push_back(normal(rng));
        SearchOptions options{.k = 10, .where = where, .exact = true};
        auto want = (*local)->Search(query, options);
        auto got = store->Search(query, options);
        ASSERT_TRUE(want.ok() && got.ok()) << text << " " << got.status();
        ASSERT_EQ(got->size(), want->size()) << text;
        for (size_t i = 0; i < want->size(); ++i) {
          EXPECT_EQ((*got)[i].id, (*want)[i].id) << text << " rank " << i;
          EXPECT_NEAR((*got)[i].score, (*want)[i].score, 1e-4 * (1 + std::abs((*want)[i].score)))
              << text;
        }
      }
      // The same documents match on both sides (DeleteWhere counts, MatchingIds agrees).
      auto matches = store->MatchingIds(where);
      ASSERT_TRUE(matches.ok()) << matches.status();
      auto local_matches = (*local)->MatchingIds(where);
      for (const Document& d : docs) {
        ASSERT_EQ((*matches)(d.id), (*local_matches)(d.id)) << text << " " << d.id;
      }
    }
  }
}

// pgvector's top complaint: a filtered HNSW search returning fewer than k rows. Here every
// filtered search through the index returns k whenever k match, and the exact top k.
TEST_F(PgVectorStoreTest, SelectiveFilterThroughTheIndexReturnsK) {
  constexpr int kDim = 8;
  auto store = Open(kDim);
  ASSERT_NE(store, nullptr);
  std::vector<Document> docs = RandomDocuments(3000, kDim, 3);
  for (size_t i = 0; i < docs.size(); ++i) {
    Json::Object meta;
    meta.emplace_back("bucket", Json(int64_t(i % 200)));  // 0.5% per bucket.
    docs[i].metadata = Json(std::move(meta));
  }
  ASSERT_TRUE(store->Add(docs).ok());
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal;
  for (int q = 0; q < 10; ++q) {
    std::vector<float> query;
    for (int j = 0; j < kDim; ++j) query.push_back(normal(rng));
    Json where = Json::Parse(R"({"bucket": )" + std::to_string(q * 17) + "}").value();
    auto approximate = store->Search(query, {.k = 10, .where = where});
    auto exact = store->Search(query, {.k = 10, .where = where, .exact = true});
    ASSERT_TRUE(approximate.ok() && exact.ok()) << approximate.status();
    ASSERT_EQ(approximate->size(), 10u);
    for (size_t i = 0; i < 10; ++i) EXPECT_EQ((*approximate)[i].id, (*exact)[i].id);
  }
  // 15 match; k = 20 gives all 15.
  auto all = store->Search(std::vector<float>(kDim, 1),
                           {.k = 20, .where = Json::Parse(R"({"bucket": 3})").value()});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 15u);
}

TEST_F(PgVectorStoreTest, InjectionThroughIdsKeysAndValuesIsJustData) {
  auto store = Open(2);
  ASSERT_NE(store, nullptr);
  const std::string evil_id = "x'); DROP TABLE \"InjectionThroughIdsKeysAndValuesIsJustData\"; --";
  const std::string evil_key = "k' || pg_sleep(5) || '\"}";
  const std::string evil_value = "'; DELETE FROM pg_class; --\\";
  Json::Object meta;
  meta.emplace_back(evil_key, Json(evil_value));
  ASSERT_TRUE(
      store
          ->Add({{.id = evil_id, .text = evil_value, .metadata = Json(meta), .vector = {1, 1}},
                 {.id = "plain", .vector = {1, 0}}})
          .ok());
  Json::Object where;
  where.emplace_back(evil_key, Json(evil_value));
  auto hits = store->Search({1, 1}, {.k = 5, .where = Json(where)});
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].id, evil_id);
  EXPECT_EQ((*hits)[0].text, evil_value);
  EXPECT_EQ((*hits)[0].metadata, Json(meta));
  EXPECT_EQ((*store->Get({evil_id}))[0].id, evil_id);
  EXPECT_EQ(*store->Delete({evil_id, "x' OR '1'='1"}), 1u);
  EXPECT_EQ(*store->Count(), 1u);
  // Filter values go to the server as literals quoted by libpq; a NUL byte cannot be one (nor a
  // parameter: it would be cut there and match the prefix), so it is refused.
  Json::Object nul;
  nul.emplace_back("k", Json(std::string("a\0b", 3)));
  auto refused = store->Search({1, 1}, {.k = 5, .where = Json(nul)});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
}

TEST_F(PgVectorStoreTest, ExistingTableWithItsOwnColumnNames) {
  ASSERT_EQ(Sql("CREATE EXTENSION IF NOT EXISTS vector; CREATE TABLE \"Their Docs\" (\"Key\" text "
                "PRIMARY KEY, body text, attrs jsonb, emb vector(3)); INSERT INTO \"Their Docs\" "
                "VALUES ('r1', 'from SQL', '{\"lang\": \"en\"}', '[1,0,0]')"),
            "");
  PgVectorStoreOptions options;
  options.dsn = server_->PostgresUrl();
  options.table = "Their Docs";
  options.columns = {.id = "Key", .text = "body", .metadata = "attrs", .embedding = "emb"};
  options.create = false;
  auto store = PgVectorStore::Connect(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->dim(), 3);  // Read from the column.
  auto hits =
      (*store)->Search({1, 0, 0}, {.k = 1, .where = Json::Parse(R"({"lang": "en"})").value()});
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].text, "from SQL");
  // Rows written by llmkit are read back by plain SQL.
  ASSERT_TRUE((*store)->Upsert({{.id = "r2", .text = "from llmkit", .vector = {0, 1, 0}}}).ok());
  store->reset();  // pglite-server serves one connection at a time.
  EXPECT_EQ(Sql("SELECT body FROM \"Their Docs\" WHERE \"Key\" = 'r2'"), "from llmkit");

  options.dim = 5;
  auto mismatch = PgVectorStore::Connect(options);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(mismatch.status().message().find("vector(3)"), std::string::npos);
  options.dim = 0;
  options.columns.embedding = "nope";
  EXPECT_EQ(PgVectorStore::Connect(options).status().code(), absl::StatusCode::kFailedPrecondition);
  options.table = "no such table";
  EXPECT_EQ(PgVectorStore::Connect(options).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PgVectorStoreTest, ErrorsNameTheServerNeverThePassword) {
  PgVectorStoreOptions options;
  options.dim = 3;
  options.dsn = "postgresql://app:hunter2-secret@127.0.0.1:1/rag";  // Nothing listens on port 1.
  options.max_retries = 0;
  auto refused = PgVectorStore::Connect(options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("127.0.0.1:1/rag"), std::string::npos)
      << refused.status();
  EXPECT_EQ(refused.status().ToString().find("hunter2"), std::string::npos);
  options.dsn = "postgresql://app:hunter2-secret@127.0.0.1:1/rag?bogus_option=1";
  auto malformed = PgVectorStore::Connect(options);
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(malformed.status().ToString().find("hunter2"), std::string::npos);
  options.dsn = server_->PostgresUrl();
  options.hnsw_m = 1;
  auto bad = PgVectorStore::Connect(options);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("hnsw_m"), std::string::npos);
}

TEST_F(PgVectorStoreTest, DeadlineAndCancellation) {
  auto store = Open(2);
  ASSERT_NE(store, nullptr);
  CallContext late = CallContext::WithTimeout(std::chrono::nanoseconds(0));
  EXPECT_EQ(store->Count(late).status().code(), absl::StatusCode::kDeadlineExceeded);
  CallContext cancelled;
  cancelled.cancellation = std::make_shared<Cancellation>();
  cancelled.cancellation->Cancel();
  EXPECT_EQ(store->Search({1, 0}, {}, cancelled).status().code(), absl::StatusCode::kCancelled);
  // A deadline in the middle of a long write: 20,000 rows take far longer than 50 ms here.
  CallContext short_call = CallContext::WithTimeout(std::chrono::milliseconds(50));
  auto start = std::chrono::steady_clock::now();
  std::vector<Document> many = RandomDocuments(20000, 2, 1);
  absl::Status status = store->Add(many, short_call);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_EQ(*store->Count(), 0u);  // All or none.
  // The store works after a stopped call (a fresh connection).
  EXPECT_TRUE(store->Add({{.id = "after", .vector = {1, 0}}}).ok());
  EXPECT_GE(*store->Count(), 1u);
}

// The hybrid retriever over the pgvector store gives what it gives over the local store.
TEST_F(PgVectorStoreTest, RetrieverOverPgVectorEqualsLocal) {
  constexpr int kDim = 8;
  auto store = Open(kDim);
  ASSERT_NE(store, nullptr);
  auto local = Collection::Create({.dim = kDim});
  std::vector<Document> docs = RandomDocuments(400, kDim, 9);
  const char* words[] = {"solar", "wind", "hydro", "coal", "nuclear", "tidal"};
  auto bm25 = Bm25Index::Create();
  ASSERT_TRUE(bm25.ok());
  std::vector<std::string> ids, texts;
  for (size_t i = 0; i < docs.size(); ++i) {
    docs[i].text = std::string(words[i % 6]) + " power plant " + words[(i * 5 + i / 6) % 6];
    ids.push_back(docs[i].id);
    texts.push_back(docs[i].text);
  }
  ASSERT_TRUE((*bm25)->Add(ids, texts).ok());
  ASSERT_TRUE(store->Add(docs).ok());
  ASSERT_TRUE((*local)->Add(docs).ok());
  for (bool mmr : {false, true}) {
    RetrieverOptions options{.mode = RetrievalMode::kHybrid, .alpha = 0.4, .mmr = mmr};
    auto remote_retriever = Retriever::Create(store.get(), bm25->get(), options);
    auto local_retriever = Retriever::Create(local->get(), bm25->get(), options);
    ASSERT_TRUE(remote_retriever.ok() && local_retriever.ok());
    std::vector<float> query(kDim, 0.5f);
    query[2] = -1;
    RetrievalQuery q{.text = "wind power",
                     .vector = query,
                     .k = 8,
                     .where = Json::Parse(R"({"year": {"$gte": 2000}})").value()};
    auto want = local_retriever->Search(q);
    auto got = remote_retriever->Search(q);
    ASSERT_TRUE(want.ok() && got.ok()) << got.status();
    ASSERT_EQ(got->size(), want->size());
    for (size_t i = 0; i < want->size(); ++i) {
      EXPECT_EQ((*got)[i].id, (*want)[i].id) << "mmr " << mmr << " rank " << i;
      EXPECT_EQ((*got)[i].text, (*want)[i].text);
    }
  }
}

TEST_F(PgVectorStoreTest, ManyThreadsShareThePool) {
  constexpr int kDim = 4;
  PgVectorStoreOptions options;
  options.dsn = server_->PostgresUrl();
  options.table = "ManyThreadsShareThePool";
  options.dim = kDim;
  options.pool_size = 1;  // pglite-server serves one connection at a time.
  auto store = PgVectorStore::Connect(options);
  ASSERT_TRUE(store.ok()) << store.status();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!(*store)->Upsert({{.id = id, .vector = {1, float(t), float(i), 1}}}).ok()) ++failures;
        if (!(*store)->Search({1, 1, 1, 1}, {.k = 3}).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*(*store)->Count(), 120u);
}

// A lost connection (the server restarted) is a transient failure: the call is retried on a
// fresh connection and reaches the new server (whose in-memory database no longer has the
// table: kNotFound, not kUnavailable).
TEST_F(PgVectorStoreTest, LostConnectionIsRetriedOnAFreshOne) {
  auto store = Open(2);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Add({{.id = "a", .vector = {1, 0}}}).ok());
  ASSERT_TRUE(server_->Restart()) << server_->why();
  absl::StatusOr<size_t> count = store->Count();
  EXPECT_EQ(count.status().code(), absl::StatusCode::kNotFound) << count.status();
  // Without retries the dropped connection itself is the error.
  PgVectorStoreOptions options;
  options.dsn = server_->PostgresUrl();
  options.table = "AfterRestart";
  options.dim = 2;
  options.pool_size = 1;
  options.max_retries = 0;
  store.reset();
  // pglite-server takes the next connection once it has seen the last one close.
  auto fresh = PgVectorStore::Connect(options);
  for (int i = 0; i < 50 && !fresh.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    fresh = PgVectorStore::Connect(options);
  }
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  ASSERT_TRUE(server_->Restart()) << server_->why();
  EXPECT_EQ((*fresh)->Count().status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PgVectorStoreTest, RagPipelineOnPgVector) {
  // One handle for every "open": pglite-server serves one connection at a time, and one pooled
  // connection is held while a handle lives. The pipelines still see the store alone.
  PgVectorStoreOptions options;
  options.dsn = server_->PostgresUrl();
  options.table = "rag_chunks";
  options.dim = 256;
  options.pool_size = 1;
  auto connected = PgVectorStore::Connect(options);
  ASSERT_TRUE(connected.ok()) << connected.status();
  std::shared_ptr<VectorStore> store = *std::move(connected);
  testing::CheckRagPipelineOnStore([&] { return store; });
}

}  // namespace
}  // namespace llmkit
