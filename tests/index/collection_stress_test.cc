// Many concurrent searches beside one writer (adds, upserts, deletes, compactions, saves) on
// every index kind; run under ThreadSanitizer by `make test`. Every search must succeed and
// return only live, matching documents.

#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "llmkit/bm25.h"
#include "llmkit/index.h"
#include "llmkit/retriever.h"

namespace llmkit {
namespace {

TEST(CollectionStress, SearchersBesideOneWriter) {
  const int dim = 16;
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvf}) {
    CollectionOptions o;
    o.dim = dim;
    o.index = kind;
    o.ivf_nlist = 8;
    o.compact_deleted_fraction = 0.3;
    auto col = Collection::Create(o).value();
    std::unique_ptr<Bm25Index> bm25 = Bm25Index::Create().value();
    Retriever retriever = Retriever::Create(col.get(), bm25.get()).value();
    std::atomic<bool> done{false};
    std::atomic<int> searches{0}, failures{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t) {
      readers.emplace_back([&, t] {
        std::mt19937 rng(t);
        std::normal_distribution<float> normal;
        std::vector<float> q(dim);
        Json where = Json::Parse(R"({"even": true})").value();
        while (!done.load()) {
          for (float& x : q) x = normal(rng);
          bool filtered = rng() % 2;
          auto hits = col->Search(q, {.k = 5, .where = filtered ? where : Json()});
          if (!hits.ok()) {
            ++failures;
            continue;
          }
          for (const SearchHit& hit : *hits) {
            if (filtered && !hit.metadata.Find("even")) ++failures;
          }
          if (rng() % 8 == 0) (void)col->SearchBatch(std::vector<float>(4 * dim, 0.25f), {.k = 3});
          if (rng() % 8 == 0) (void)col->Get("w7");
          auto fused = retriever.Search(
              {.text = "alpha beta", .vector = q, .k = 5, .where = filtered ? where : Json()});
          if (!fused.ok()) ++failures;
          ++searches;
        }
      });
    }
    std::mt19937 rng(99);
    std::normal_distribution<float> normal;
    std::string dir = ::testing::TempDir() + "llmkit_stress_" + std::to_string(int(kind));
    for (int round = 0; round < 60; ++round) {
      std::vector<std::string> ids;
      std::vector<float> v;
      std::vector<Json> metas;
      for (int i = 0; i < 50; ++i) {
        int id = static_cast<int>(rng() % 1500);
        if (std::find(ids.begin(), ids.end(), "w" + std::to_string(id)) != ids.end()) continue;
        ids.push_back("w" + std::to_string(id));
        Json m = Json::MakeObject();
        if (id % 2 == 0) m.Set("even", true);
        metas.push_back(m);
        for (int j = 0; j < dim; ++j) v.push_back(normal(rng));
      }
      ASSERT_TRUE(col->Upsert(ids, v, {}, metas).ok());
      std::vector<std::string> texts(ids.size(), round % 2 ? "alpha gamma" : "beta delta");
      ASSERT_TRUE(bm25->Upsert(ids, texts).ok());
      std::vector<std::string> gone;
      for (int i = 0; i < 20; ++i) gone.push_back("w" + std::to_string(rng() % 1500));
      ASSERT_TRUE(col->Delete(gone).ok());
      bm25->Delete(gone);
      if (round % 20 == 19) {
        ASSERT_TRUE(col->Compact().ok());
        ASSERT_TRUE(col->Save(dir).ok());
      }
    }
    done = true;
    for (auto& r : readers) r.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_GT(searches.load(), 0);
    EXPECT_EQ(Collection::Load(dir).value()->Size(), col->Size());
  }
}

}  // namespace
}  // namespace llmkit
