// Collection: writes, exact and approximate search against a brute-force oracle, filters (every
// operator; k hits whenever k match, for every index kind), deletion, upserts, compaction.

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/index.h"

namespace llmkit {
namespace {

// Clustered vectors: HNSW and IVF are meaningful on them (uniform noise is not).
std::vector<float> Clustered(size_t n, size_t dim, uint32_t seed, size_t clusters = 16) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> centers(clusters * dim);
  for (float& c : centers) c = normal(rng);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    size_t c = rng() % clusters;
    for (size_t j = 0; j < dim; ++j) out[i * dim + j] = centers[c * dim + j] + 0.3f * normal(rng);
  }
  return out;
}

std::vector<std::string> Ids(size_t n, size_t first = 0) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back("doc" + std::to_string(first + i));
  return ids;
}

std::vector<Json> Metas(size_t n) {
  std::vector<Json> metas;
  for (size_t i = 0; i < n; ++i) {
    Json m = Json::MakeObject();
    m.Set("year", static_cast<int64_t>(2000 + i % 25));
    m.Set("kind", i % 3 == 0 ? "paper" : i % 3 == 1 ? "note" : "book");
    m.Set("score", static_cast<double>(i % 10) / 10);
    if (i % 2 == 0) m.Set("even", true);
    metas.push_back(std::move(m));
  }
  return metas;
}

// The oracle: score every vector in double precision.
std::vector<size_t> BruteForce(const std::vector<float>& base, size_t dim, const float* q, size_t k,
                               Metric metric, const std::vector<bool>& allowed = {}) {
  size_t n = base.size() / dim;
  std::vector<std::pair<double, size_t>> scored;
  double qn = 0;
  for (size_t j = 0; j < dim; ++j) qn += double(q[j]) * q[j];
  for (size_t i = 0; i < n; ++i) {
    if (!allowed.empty() && !allowed[i]) continue;
    double dot = 0, l2 = 0, xn = 0;
    for (size_t j = 0; j < dim; ++j) {
      double x = base[i * dim + j];
      dot += x * q[j];
      l2 += (x - q[j]) * (x - q[j]);
      xn += x * x;
    }
    double s = metric == Metric::kL2       ? -l2
               : metric == Metric::kCosine ? dot / std::sqrt(xn * qn)
                                           : dot;
    scored.emplace_back(-s, i);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<size_t> out;
  for (size_t i = 0; i < std::min(k, scored.size()); ++i) out.push_back(scored[i].second);
  return out;
}

size_t IdNumber(const std::string& id) { return std::stoul(id.substr(3)); }

double Recall(const std::vector<SearchHit>& hits, const std::vector<size_t>& truth) {
  size_t found = 0;
  for (const SearchHit& hit : hits) {
    found += std::count(truth.begin(), truth.end(), IdNumber(hit.id));
  }
  return truth.empty() ? 1 : double(found) / truth.size();
}

std::unique_ptr<Collection> Make(const CollectionOptions& options) {
  absl::StatusOr<std::unique_ptr<Collection>> col = Collection::Create(options);
  EXPECT_TRUE(col.ok()) << col.status();
  return *std::move(col);
}

CollectionOptions Options(IndexKind kind, Metric metric, int dim) {
  CollectionOptions o;
  o.dim = dim;
  o.metric = metric;
  o.index = kind;
  o.ivf_nlist = 16;
  o.ivf_nprobe = 4;
  return o;
}

TEST(Collection, AddGetSizeAndErrors) {
  auto col = Make({.dim = 3});
  std::vector<Document> docs = {{"a", "alpha", Json::Parse(R"({"x": 1})").value(), {1, 0, 0}},
                                {"b", "beta", Json(), {0, 1, 0}}};
  ASSERT_TRUE(col->Add(docs).ok());
  EXPECT_EQ(col->Size(), 2u);
  absl::StatusOr<Document> a = col->Get("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->text, "alpha");
  EXPECT_EQ(a->metadata.Dump(), R"({"x":1})");
  EXPECT_EQ(col->Get("zz").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(col->Add(docs).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(col->Size(), 2u);  // All or nothing.

  std::vector<Document> bad = {{"c", "", Json(), {1, 2}}};
  EXPECT_EQ(col->Add(bad).code(), absl::StatusCode::kInvalidArgument);
  bad = {{"c", "", Json(), {0, 0, 0}}};  // Zero vector under cosine.
  EXPECT_EQ(col->Add(bad).code(), absl::StatusCode::kInvalidArgument);
  bad = {{"c", "", Json(), {NAN, 0, 1}}};
  EXPECT_EQ(col->Add(bad).code(), absl::StatusCode::kInvalidArgument);
  bad = {{"c", "", Json("not an object"), {1, 0, 1}}};
  EXPECT_EQ(col->Add(bad).code(), absl::StatusCode::kInvalidArgument);
  bad = {{"c", "", Json(), {1, 0, 1}}, {"c", "", Json(), {1, 1, 1}}};
  EXPECT_EQ(col->Add(bad).code(), absl::StatusCode::kInvalidArgument);
  bad = {{"", "", Json(), {1, 0, 1}}};
  EXPECT_EQ(col->Add(bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(col->Size(), 2u);

  std::vector<float> q = {1, 2};
  EXPECT_EQ(col->Search(q).status().code(), absl::StatusCode::kInvalidArgument);
  q = {1, 0, 0};
  EXPECT_EQ(col->Search(q, {.k = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Collection::Create({.dim = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Collection::Create({.dim = 4, .index = IndexKind::kHnsw, .float16 = true}).status().code(),
      absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::vector<SearchHit>> hits = col->Search(q, {.k = 5});
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].id, "a");
  EXPECT_NEAR((*hits)[0].score, 1.0, 1e-6);
  EXPECT_EQ((*hits)[0].text, "alpha");
  EXPECT_EQ((*hits)[1].id, "b");
  EXPECT_NEAR((*hits)[1].score, 0.0, 1e-6);
}

// Exact search equals the double-precision oracle for every metric, single and batched, f32.
TEST(Collection, ExactMatchesBruteForce) {
  const size_t n = 3000, dim = 40, k = 10;
  std::vector<float> base = Clustered(n, dim, 1);
  std::vector<float> queries = Clustered(20, dim, 2);
  for (Metric metric : {Metric::kCosine, Metric::kInnerProduct, Metric::kL2}) {
    auto col = Make(Options(IndexKind::kFlat, metric, dim));
    ASSERT_TRUE(col->Add(Ids(n), base).ok());
    absl::StatusOr<std::vector<std::vector<SearchHit>>> batch =
        col->SearchBatch(queries, {.k = int(k)});
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (size_t q = 0; q < 20; ++q) {
      std::vector<size_t> truth = BruteForce(base, dim, &queries[q * dim], k, metric);
      absl::StatusOr<std::vector<SearchHit>> hits =
          col->Search(absl::MakeSpan(&queries[q * dim], dim), {.k = int(k)});
      ASSERT_TRUE(hits.ok());
      ASSERT_EQ(hits->size(), k);
      EXPECT_GE(Recall(*hits, truth), 0.9) << "metric " << int(metric);
      EXPECT_EQ(IdNumber((*hits)[0].id), truth[0]);
      ASSERT_EQ((*batch)[q].size(), k);
      for (size_t i = 0; i < k; ++i) {
        EXPECT_EQ((*batch)[q][i].id, (*hits)[i].id);
        EXPECT_NEAR((*batch)[q][i].score, (*hits)[i].score,
                    1e-3 * (1 + std::fabs((*hits)[i].score)));
      }
      for (size_t i = 1; i < k; ++i) {
        if (metric == Metric::kL2) {
          EXPECT_LE((*hits)[i - 1].score, (*hits)[i].score);
        } else {
          EXPECT_GE((*hits)[i - 1].score, (*hits)[i].score);
        }
      }
    }
  }
}

TEST(Collection, ApproximateIndexesReachHighRecall) {
  const size_t n = 5000, dim = 32, k = 10;
  // Queries come from the same distribution as the documents (the last 50 rows).
  std::vector<float> base = Clustered(n + 50, dim, 3);
  std::vector<float> queries(base.end() - 50 * dim, base.end());
  base.resize(n * dim);
  for (IndexKind kind : {IndexKind::kHnsw, IndexKind::kIvf}) {
    for (Metric metric : {Metric::kCosine, Metric::kL2}) {
      CollectionOptions o = Options(kind, metric, dim);
      o.ivf_nprobe = 8;
      auto col = Make(o);
      ASSERT_TRUE(col->Add(Ids(n), base).ok());
      double recall = 0;
      for (size_t q = 0; q < 50; ++q) {
        auto hits = col->Search(absl::MakeSpan(&queries[q * dim], dim), {.k = int(k)});
        ASSERT_TRUE(hits.ok()) << hits.status();
        ASSERT_EQ(hits->size(), k);
        recall += Recall(*hits, BruteForce(base, dim, &queries[q * dim], k, metric));
      }
      EXPECT_GE(recall / 50, 0.9) << "kind " << int(kind) << " metric " << int(metric);
      EXPECT_TRUE(col->SetSearchEffort(kind == IndexKind::kHnsw ? 128 : 16).ok());
      EXPECT_EQ(col->SetSearchEffort(0).code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(kind != IndexKind::kIvf || col->Stats().ivf_trained);
    }
  }
}

// A filter nested far deeper than any real one is refused at the limit (1024 levels, as
// Json::Parse refuses text), never parsed by unbounded recursion; up to the limit it works.
TEST(Filter, NestingIsBoundedLikeJsonText) {
  auto nested = [](int levels) {
    Json where = Json::Parse(R"({"year": 2021})").value();
    for (int i = 0; i < levels; ++i) {
      Json outer = Json::MakeObject();
      if (i % 2 == 0) {
        outer.Set("$not", std::move(where));
      } else {
        Json::Array one;
        one.push_back(std::move(where));
        outer.Set("$and", Json(std::move(one)));
      }
      where = std::move(outer);
    }
    return where;
  };
  Json meta = Json::Parse(R"({"year": 2021})").value();
  absl::StatusOr<Filter> ok = Filter::Parse(nested(1000));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->Matches(meta));  // 500 $not: an even count.
  absl::StatusOr<Filter> deep = Filter::Parse(nested(5000));
  EXPECT_EQ(deep.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(deep.status().message(), testing::HasSubstr("deeper than 1024 levels"));
}

TEST(Filter, EveryOperator) {
  Json meta = Json::Parse(R"({"year": 2021, "kind": "paper", "score": 0.5, "ok": true})").value();
  auto matches = [&](const char* where) {
    absl::StatusOr<Filter> f = Filter::Parse(Json::Parse(where).value());
    EXPECT_TRUE(f.ok()) << where << ": " << f.status();
    return f.ok() && f->Matches(meta);
  };
  EXPECT_TRUE(matches(R"({"year": 2021})"));
  EXPECT_TRUE(matches(R"({"year": 2021.0})"));
  EXPECT_FALSE(matches(R"({"year": "2021"})"));
  EXPECT_TRUE(matches(R"({"year": {"$eq": 2021}})"));
  EXPECT_TRUE(matches(R"({"year": {"$ne": 2020}})"));
  EXPECT_TRUE(matches(R"({"missing": {"$ne": 1}})"));
  EXPECT_FALSE(matches(R"({"missing": {"$eq": 1}})"));
  EXPECT_TRUE(matches(R"({"year": {"$gt": 2020}})"));
  EXPECT_FALSE(matches(R"({"year": {"$gt": 2021}})"));
  EXPECT_TRUE(matches(R"({"year": {"$gte": 2021}})"));
  EXPECT_TRUE(matches(R"({"score": {"$lt": 0.6}})"));
  EXPECT_FALSE(matches(R"({"score": {"$lt": 0.5}})"));
  EXPECT_TRUE(matches(R"({"score": {"$lte": 0.5}})"));
  EXPECT_TRUE(matches(R"({"kind": {"$gt": "note"}})"));
  EXPECT_FALSE(matches(R"({"kind": {"$gt": 3}})"));
  EXPECT_TRUE(matches(R"({"kind": {"$in": ["book", "paper"]}})"));
  EXPECT_FALSE(matches(R"({"kind": {"$nin": ["book", "paper"]}})"));
  EXPECT_TRUE(matches(R"({"missing": {"$nin": ["x"]}})"));
  EXPECT_FALSE(matches(R"({"missing": {"$in": ["x"]}})"));
  EXPECT_TRUE(matches(R"({"ok": true})"));
  EXPECT_TRUE(matches(R"({"$and": [{"year": 2021}, {"kind": "paper"}]})"));
  EXPECT_FALSE(matches(R"({"$and": [{"year": 2021}, {"kind": "note"}]})"));
  EXPECT_TRUE(matches(R"({"$or": [{"year": 1999}, {"kind": "paper"}]})"));
  EXPECT_FALSE(matches(R"({"$or": [{"year": 1999}, {"kind": "note"}]})"));
  EXPECT_TRUE(matches(R"({"$not": {"kind": "note"}})"));
  EXPECT_FALSE(matches(R"({"$not": {"kind": "paper"}})"));
  EXPECT_TRUE(matches(R"({"year": 2021, "kind": "paper"})"));
  EXPECT_FALSE(matches(R"({"year": 2021, "kind": "note"})"));
  EXPECT_TRUE(matches(R"({})"));

  for (const char* bad :
       {R"({"year": {"$gtx": 1}})", R"({"$and": {}})", R"({"$and": []})", R"({"year": {"$in": 3}})",
        R"({"year": {"$gt": true}})", R"({"year": [1, 2]})", R"({"$nope": 1})", R"([1])",
        R"({"year": {"$eq": 1, "$ne": 2}})"}) {
    absl::StatusOr<Filter> f = Filter::Parse(Json::Parse(bad).value());
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::StatusOr<Filter> f =
      Filter::Parse(Json::Parse(R"({"$and": [{"a": 1}, {"b": {"$gtx": 1}}]})").value());
  EXPECT_EQ(f.status().message(), "where.$and[1].b: unknown operator $gtx");
}

// The promise: a filtered search returns k hits whenever k documents match, on every index,
// however selective the filter — and exactly the oracle's top k among the matches.
TEST(Collection, FilteredSearchReturnsKForEveryKind) {
  const size_t n = 6000, dim = 32;
  std::vector<float> base = Clustered(n, dim, 5);
  std::vector<Json> metas = Metas(n);
  std::vector<float> queries = Clustered(10, dim, 6);
  const char* filters[] = {
      R"({"year": 2003})",                                                       // 4% match
      R"({"$and": [{"year": 2003}, {"kind": "paper"}]})",                        // ~1.3%
      R"({"year": {"$in": [2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008]}})",  // 32%
      R"({"$not": {"year": 2003}})",                                             // 96%
      R"({"$or": [{"year": {"$lt": 2001}}, {"score": {"$gte": 0.9}}]})",
  };
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvf}) {
    auto col = Make(Options(kind, Metric::kCosine, dim));
    ASSERT_TRUE(col->Add(Ids(n), base, {}, metas).ok());
    for (const char* where_text : filters) {
      Json where = Json::Parse(where_text).value();
      Filter filter = Filter::Parse(where).value();
      std::vector<bool> allowed(n);
      size_t matching = 0;
      for (size_t i = 0; i < n; ++i) matching += allowed[i] = filter.Matches(metas[i]);
      for (int k : {1, 10, 100}) {
        for (size_t q = 0; q < 10; ++q) {
          auto hits = col->Search(absl::MakeSpan(&queries[q * dim], dim), {.k = k, .where = where});
          ASSERT_TRUE(hits.ok()) << hits.status();
          ASSERT_EQ(hits->size(), std::min<size_t>(k, matching)) << where_text;
          for (const SearchHit& hit : *hits) ASSERT_TRUE(filter.Matches(hit.metadata));
          if (kind == IndexKind::kFlat) {
            std::vector<size_t> truth =
                BruteForce(base, dim, &queries[q * dim], k, Metric::kCosine, allowed);
            EXPECT_GE(Recall(*hits, truth), 0.95);
          }
        }
      }
    }
    // A filter matching 3 documents returns those 3 for k = 10.
    Json rare =
        Json::Parse(R"({"$and": [{"year": 2003}, {"kind": "paper"}, {"score": 0.3}]})").value();
    size_t expected = 0;
    Filter rare_filter = Filter::Parse(rare).value();
    for (const Json& m : metas) expected += rare_filter.Matches(m);
    auto hits = col->Search(absl::MakeSpan(&queries[0], dim), {.k = 1000, .where = rare});
    ASSERT_TRUE(hits.ok());
    EXPECT_EQ(hits->size(), expected);
    // Nothing matches: empty, not an error.
    hits = col->Search(absl::MakeSpan(&queries[0], dim),
                       {.k = 5, .where = Json::Parse(R"({"year": 1})").value()});
    ASSERT_TRUE(hits.ok());
    EXPECT_TRUE(hits->empty());
    EXPECT_EQ(col->Search(absl::MakeSpan(&queries[0], dim),
                          {.where = Json::Parse(R"({"y": {"$bad": 1}})").value()})
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(Collection, DeleteUpsertAndCompactForEveryKind) {
  const size_t n = 3000, dim = 16;
  std::vector<float> base = Clustered(n, dim, 7);
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvf}) {
    CollectionOptions o = Options(kind, Metric::kL2, dim);
    o.compact_deleted_fraction = 0.5;
    auto col = Make(o);
    ASSERT_TRUE(col->Add(Ids(n), base, {}, Metas(n)).ok());
    // Each query is a stored vector: it finds itself first, until deleted.
    std::vector<std::string> victims = {"doc5", "doc17", "doc2999", "nope"};
    EXPECT_EQ(*col->Delete(victims), 3u);
    EXPECT_EQ(col->Size(), n - 3);
    EXPECT_FALSE(col->Contains("doc5"));
    EXPECT_EQ(col->Stats().tombstones, 3u);
    for (size_t i : {5, 17, 2999}) {
      auto hits = col->Search(absl::MakeSpan(&base[i * dim], dim), {.k = 50});
      ASSERT_TRUE(hits.ok());
      EXPECT_EQ(hits->size(), 50u);
      for (const SearchHit& hit : *hits) EXPECT_NE(hit.id, "doc" + std::to_string(i));
    }
    // Upsert moves doc6 onto doc100's vector: searching that vector finds both.
    std::vector<std::string> ids = {"doc6"};
    std::vector<std::string> texts = {"moved"};
    ASSERT_TRUE(col->Upsert(ids, absl::MakeSpan(&base[100 * dim], dim), texts).ok());
    EXPECT_EQ(col->Size(), n - 3);
    auto hits = col->Search(absl::MakeSpan(&base[100 * dim], dim), {.k = 2});
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 2u);
    std::vector<std::string> got = {(*hits)[0].id, (*hits)[1].id};
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"doc100", "doc6"}));
    EXPECT_EQ(col->Get("doc6")->text, "moved");
    // Upserting a new id adds it.
    ids = {"fresh"};
    ASSERT_TRUE(col->Upsert(ids, absl::MakeSpan(&base[0], dim)).ok());
    EXPECT_EQ(col->Size(), n - 2);
    // Delete by filter: every 2003 document, then a search for them finds none.
    absl::StatusOr<size_t> gone = col->DeleteWhere(Json::Parse(R"({"year": 2003})").value());
    ASSERT_TRUE(gone.ok());
    EXPECT_EQ(*gone, 120u);
    hits = col->Search(absl::MakeSpan(&base[3 * dim], dim),
                       {.k = 10, .where = Json::Parse(R"({"year": 2003})").value()});
    ASSERT_TRUE(hits.ok());
    EXPECT_TRUE(hits->empty());
    // Deleting most documents compacts automatically; results stay right.
    std::vector<std::string> most;
    for (size_t i = 0; i < 2000; ++i) most.push_back("doc" + std::to_string(i));
    ASSERT_TRUE(col->Delete(most).ok());
    EXPECT_EQ(col->Stats().tombstones, 0u) << "compaction expected";
    size_t live = col->Size();
    hits = col->Search(absl::MakeSpan(&base[2500 * dim], dim), {.k = 5});
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 5u);
    EXPECT_EQ((*hits)[0].id, "doc2500");
    ASSERT_TRUE(col->Compact().ok());
    EXPECT_EQ(col->Size(), live);
    // Add after compaction keeps working (HNSW graph and IVF lists rebuilt).
    ids = {"late"};
    std::vector<float> v(dim, 0.5f);
    ASSERT_TRUE(col->Add(ids, v).ok());
    hits = col->Search(v, {.k = 1});
    ASSERT_TRUE(hits.ok());
    EXPECT_EQ((*hits)[0].id, "late");
  }
}

TEST(Collection, IvfSearchesExactlyUntilTrained) {
  CollectionOptions o = Options(IndexKind::kIvf, Metric::kCosine, 8);
  o.ivf_train_size = 200;
  auto col = Make(o);
  std::vector<float> base = Clustered(300, 8, 9);
  ASSERT_TRUE(col->Add(Ids(100), absl::MakeSpan(base.data(), 800)).ok());
  EXPECT_FALSE(col->Stats().ivf_trained);
  auto hits = col->Search(absl::MakeSpan(&base[0], 8), {.k = 3});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].id, "doc0");
  ASSERT_TRUE(col->Add(Ids(200, 100), absl::MakeSpan(&base[800], 1600)).ok());
  EXPECT_TRUE(col->Stats().ivf_trained);
  hits = col->Search(absl::MakeSpan(&base[250 * 8], 8), {.k = 3});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].id, "doc250");
}

TEST(Collection, Float16HalvesMemoryWithSmallRecallLoss) {
  const size_t n = 4000, dim = 64, k = 10;
  std::vector<float> base = Clustered(n, dim, 11);
  std::vector<float> queries = Clustered(30, dim, 12);
  auto f32 = Make(Options(IndexKind::kFlat, Metric::kCosine, dim));
  CollectionOptions o = Options(IndexKind::kFlat, Metric::kCosine, dim);
  o.float16 = true;
  auto f16 = Make(o);
  EXPECT_EQ(f16->SetSearchEffort(8).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(f32->Add(Ids(n), base).ok());
  ASSERT_TRUE(f16->Add(Ids(n), base).ok());
  EXPECT_EQ(f16->Stats().vector_bytes * 2, f32->Stats().vector_bytes);
  double recall = 0;
  for (size_t q = 0; q < 30; ++q) {
    auto a = f32->Search(absl::MakeSpan(&queries[q * dim], dim), {.k = int(k)});
    auto b = f16->Search(absl::MakeSpan(&queries[q * dim], dim), {.k = int(k)});
    ASSERT_TRUE(a.ok() && b.ok());
    std::vector<size_t> truth;
    for (const SearchHit& h : *a) truth.push_back(IdNumber(h.id));
    recall += Recall(*b, truth);
    EXPECT_NEAR((*a)[0].score, (*b)[0].score, 2e-3);
  }
  EXPECT_GE(recall / 30, 0.95);
  auto batch = f16->SearchBatch(absl::MakeSpan(queries.data(), 10 * dim), {.k = int(k)});
  ASSERT_TRUE(batch.ok());
  auto one = f16->Search(absl::MakeSpan(queries.data(), dim), {.k = int(k)});
  EXPECT_EQ((*batch)[0][0].id, (*one)[0].id);
}

}  // namespace
}  // namespace llmkit
